//! The per-partition task: restore state, then read the partition queue, process each message
//! inline, enqueue its records in order, and store the offset once the message and every
//! earlier one are final.
//!
//! Backpressure: at most `consumer.max_in_flight_per_partition` messages await acknowledgement;
//! at the limit the task stops reading its queue (librdkafka then stops fetching the partition
//! once its pre-fetch queue is full) while the main queue keeps being polled, so the consumer
//! stays in the group. The `select!` is biased toward completions.
//!
//! Drain: when its drain token is cancelled (revoke or shutdown), the task stops reading and
//! waits for in-flight messages until `consumer.drain_timeout_ms` has passed; what is still in
//! flight then is abandoned (not stored) and will be redelivered.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::{Future, StreamExt};
use rdkafka::consumer::stream_consumer::StreamPartitionQueue;
use rdkafka::consumer::Consumer;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use tokio_util::sync::CancellationToken;

use super::consumer::GroupConsumer;
use super::context::RuntimeContext;
use super::offsets::{OffsetError, OffsetTracker};
use super::publisher::{Publisher, SettleError, Settled};
use super::restore::{restore_partition, RestoreError, RestoreStats};
use super::{InboundMessage, Processor, RuntimeEvent, Stats};
use crate::config::Settings;

/// Why a partition task stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    /// State restore failed.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// Outputs of a message could not be settled.
    #[error("message at offset {offset}: {source}")]
    Settle {
        /// Input offset.
        offset: i64,
        /// Cause.
        source: SettleError,
    },
    /// Offset bookkeeping failed (a bug).
    #[error(transparent)]
    Offsets(#[from] OffsetError),
    /// Reading the partition failed fatally.
    #[error("consume failed: {0}")]
    Consume(rdkafka::error::KafkaError),
    /// The task panicked (in the processor, most likely).
    #[error("partition task panicked")]
    Panicked,
}

/// What a partition task did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionReport {
    /// Restore figures (absent when drained before restore finished).
    pub restore: Option<RestoreStats>,
    /// Messages completed.
    pub completed: u64,
    /// Last offset stored (next to read is this + 1).
    pub last_stored: Option<i64>,
    /// In flight when the drain deadline passed.
    pub abandoned: u64,
}

type InFlight =
    Pin<Box<dyn Future<Output = (i64, &'static str, Result<Settled, SettleError>)> + Send>>;

/// Everything a partition task needs.
pub(crate) struct PartitionTask<P: Processor> {
    pub processor: Arc<P>,
    pub publisher: Arc<Publisher>,
    pub consumer: Arc<GroupConsumer>,
    pub queue: StreamPartitionQueue<RuntimeContext>,
    pub topic: Arc<str>,
    pub partition: i32,
    pub settings: Arc<Settings>,
    pub stats: Stats,
    pub drain: CancellationToken,
}

impl<P: Processor> PartitionTask<P> {
    /// Runs until drained; see the module docs.
    pub(crate) async fn run(self) -> Result<PartitionReport, PartitionError> {
        let mut report = PartitionReport::default();
        let mut state = self.processor.new_state(&self.topic, self.partition);
        let restore = {
            let processor = self.processor.clone();
            let state = &mut state;
            restore_partition(
                &self.settings,
                &self.settings.topics.changelog,
                self.partition,
                move |k, v| processor.restore(state, k, v),
            )
        };
        let restored = tokio::select! {
            r = restore => r?,
            _ = self.drain.cancelled() => return Ok(report),
        };
        self.stats.record(RuntimeEvent::Restored(restored.clone()));
        report.restore = Some(restored);

        let max_in_flight = self.settings.consumer.max_in_flight_per_partition;
        let mut tracker = OffsetTracker::new();
        let mut in_flight: FuturesUnordered<InFlight> = FuturesUnordered::new();
        loop {
            tokio::select! {
                biased;
                Some(done) = in_flight.next() => {
                    self.complete(done, &mut tracker, &mut report)?;
                }
                _ = self.drain.cancelled() => break,
                received = self.queue.recv(), if in_flight.len() < max_in_flight => {
                    let msg = match received {
                        Ok(m) => detach(&m, &self.topic),
                        Err(error) => {
                            if is_fatal_consume(&error) {
                                return Err(PartitionError::Consume(error));
                            }
                            tracing::warn!(%error, topic = %self.topic, partition = self.partition, "Consume error; continuing.");
                            continue;
                        }
                    };
                    tracker.start(msg.offset)?;
                    let processed = self.processor.process(&mut state, &msg);
                    let mut attempts = Vec::with_capacity(processed.records.len());
                    for record in &processed.records {
                        attempts.push(self.publisher.enqueue(record).await);
                    }
                    let publisher = self.publisher.clone();
                    let outcome = processed.outcome;
                    let records = processed.records;
                    in_flight.push(Box::pin(async move {
                        let r = publisher.settle(&msg, &records, attempts).await;
                        (msg.offset, outcome, r)
                    }));
                }
            }
        }

        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(self.settings.consumer.drain_timeout_ms);
        while !in_flight.is_empty() {
            match tokio::time::timeout_at(deadline, in_flight.next()).await {
                Ok(Some(done)) => self.complete(done, &mut tracker, &mut report)?,
                Ok(None) => break,
                Err(_) => {
                    report.abandoned = in_flight.len() as u64;
                    tracing::warn!(
                        topic = %self.topic,
                        partition = self.partition,
                        abandoned = report.abandoned,
                        "Drain deadline passed; unfinished messages will be redelivered."
                    );
                    self.stats
                        .record(RuntimeEvent::InFlightAbandoned(report.abandoned));
                    break;
                }
            }
        }
        Ok(report)
    }

    fn complete(
        &self,
        (offset, outcome, result): (i64, &'static str, Result<Settled, SettleError>),
        tracker: &mut OffsetTracker,
        report: &mut PartitionReport,
    ) -> Result<(), PartitionError> {
        let settled = result.map_err(|source| PartitionError::Settle { offset, source })?;
        self.stats.record(RuntimeEvent::MessageCompleted {
            outcome,
            records_produced: settled.records_produced,
            dead_lettered: settled.dead_lettered,
        });
        report.completed += 1;
        if let Some(storable) = tracker.complete(offset)? {
            match self
                .consumer
                .store_offset(&self.topic, self.partition, storable)
            {
                Ok(()) => report.last_stored = Some(storable),
                // Not assigned any more (lost in a rebalance): the next owner re-reads.
                Err(error) => tracing::warn!(
                    %error,
                    topic = %self.topic,
                    partition = self.partition,
                    offset = storable,
                    "Offset could not be stored."
                ),
            }
        }
        Ok(())
    }
}

fn is_fatal_consume(error: &rdkafka::error::KafkaError) -> bool {
    matches!(
        error,
        rdkafka::error::KafkaError::MessageConsumptionFatal(_)
    )
}

/// Copies a borrowed message into an owned [`InboundMessage`].
pub(crate) fn detach(m: &BorrowedMessage<'_>, topic: &Arc<str>) -> InboundMessage {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default();
    InboundMessage {
        topic: topic.clone(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
        timestamp_ms: m.timestamp().to_millis(),
        headers,
    }
}
