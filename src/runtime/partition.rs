//! The per-partition task: restore state, then read the partition queue, process each message
//! inline, enqueue its primary records in order, release its deferred (changelog) records once
//! its primaries and every earlier message's are acknowledged, and store the offset once the
//! message and every earlier one are final (see [`offsets`](super::offsets) for the rules).
//!
//! Two kinds of futures share one `FuturesUnordered`: the primaries of a message (many
//! messages at once), and the deferred records of a released message. Deferred records are
//! handed to the producer in offset order, right when the tracker releases them.
//!
//! Backpressure: at most `consumer.max_in_flight_per_partition` messages are unfinished
//! (awaiting acknowledgement of primaries or deferred records, or waiting for release);
//! at the limit the task stops reading its queue (librdkafka then stops fetching the partition
//! once its pre-fetch queue is full) while the main queue keeps being polled, so the consumer
//! stays in the group. The `select!` is biased toward completions.
//!
//! Tracing: each message is processed and published inside its own
//! [`message_span`](crate::telemetry::message_span) (topic, partition, offset; no content).
//!
//! Drain: when its drain token is cancelled (revoke or shutdown), the task stops reading and
//! waits for in-flight messages (releasing and producing their deferred records as usual)
//! until `consumer.drain_timeout_ms` has passed; what is unfinished then is abandoned (not
//! stored) and will be redelivered.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::{Future, StreamExt};
use rdkafka::consumer::stream_consumer::StreamPartitionQueue;
use rdkafka::consumer::Consumer;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span};

use super::consumer::GroupConsumer;
use super::context::RuntimeContext;
use super::offsets::{OffsetError, OffsetTracker};
use super::publisher::{Publisher, SettleError, Settled};
use super::restore::{restore_partition, RestoreError, RestoreStats};
use super::{InboundMessage, OutboundRecord, Processor, RuntimeEvent, Stats};
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
    /// Unfinished when the drain deadline passed.
    pub abandoned: u64,
}

/// What a completed message reports, fixed when it was processed.
#[derive(Debug, Clone, Copy)]
struct Meta {
    outcome: &'static str,
    timestamp_ms: Option<i64>,
    /// When its first output was handed to the producer (`None`: no outputs yet).
    publish_started: Option<Instant>,
}

/// What the tracker keeps for a started message until its deferred records are released.
struct Pending {
    msg: Arc<InboundMessage>,
    meta: Meta,
    deferred: Vec<OutboundRecord>,
    /// Set when the primaries are done.
    primaries: Option<Settled>,
    span: Span,
}

/// A finished future of the partition task.
enum Done {
    /// The primaries of a message settled.
    Primaries {
        offset: i64,
        result: Result<Settled, SettleError>,
    },
    /// The deferred records of a released message settled.
    Deferred {
        offset: i64,
        meta: Meta,
        primaries: Settled,
        result: Result<Settled, SettleError>,
    },
}

type InFlight = Pin<Box<dyn Future<Output = Done> + Send>>;

const NOTHING: Settled = Settled {
    records_produced: 0,
    dead_lettered: false,
    retries: 0,
};

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

/// The mutable bookkeeping of a running partition task.
struct Work {
    tracker: OffsetTracker<Pending>,
    in_flight: FuturesUnordered<InFlight>,
    report: PartitionReport,
}

impl<P: Processor> PartitionTask<P> {
    /// Runs until drained; see the module docs.
    pub(crate) async fn run(self) -> Result<PartitionReport, PartitionError> {
        let mut report = PartitionReport::default();
        let mut state = self.processor.new_state(&self.topic, self.partition);
        // With `topics.rekey` the raw input is re-keyed without state: nothing to restore.
        let stateful = *self.topic == *super::topics::stateful_topic(&self.settings);
        let restore = async {
            if !stateful {
                return Ok(RestoreStats {
                    topic: String::new(),
                    partition: self.partition,
                    records: 0,
                    skipped_without_key: 0,
                    watermarks: (0, 0),
                    duration: Duration::ZERO,
                });
            }
            let processor = self.processor.clone();
            let state = &mut state;
            restore_partition(
                &self.settings,
                &self.settings.topics.changelog,
                self.partition,
                move |k, v| processor.restore(state, k, v),
            )
            .await
        };
        let restored = tokio::select! {
            r = restore => r?,
            _ = self.drain.cancelled() => return Ok(report),
        };
        self.processor.restored(&mut state, self.partition);
        self.stats.record(RuntimeEvent::Restored(restored.clone()));
        report.restore = Some(restored);

        let max_in_flight = self.settings.consumer.max_in_flight_per_partition;
        let mut work = Work {
            tracker: OffsetTracker::new(),
            in_flight: FuturesUnordered::new(),
            report,
        };
        loop {
            tokio::select! {
                biased;
                Some(done) = work.in_flight.next() => {
                    self.on_done(done, &mut work).await?;
                }
                _ = self.drain.cancelled() => break,
                received = self.queue.recv(), if work.tracker.unfinished() < max_in_flight => {
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
                    let span = crate::telemetry::message_span(&self.topic, self.partition, msg.offset);
                    self.start(msg, &mut state, &mut work, span.clone())
                        .instrument(span)
                        .await?;
                }
            }
        }

        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(self.settings.consumer.drain_timeout_ms);
        while !work.in_flight.is_empty() {
            let step = async {
                match work.in_flight.next().await {
                    Some(done) => self.on_done(done, &mut work).await,
                    None => Ok(()),
                }
            };
            match tokio::time::timeout_at(deadline, step).await {
                Ok(result) => result?,
                Err(_) => break,
            }
        }
        let unfinished = work.tracker.unfinished() as u64;
        if unfinished > 0 {
            work.report.abandoned = unfinished;
            tracing::warn!(
                topic = %self.topic,
                partition = self.partition,
                abandoned = unfinished,
                "Drain deadline passed; unfinished messages will be redelivered."
            );
            self.stats
                .record(RuntimeEvent::InFlightAbandoned(unfinished));
        }
        Ok(work.report)
    }

    /// Processes `msg`, tracks it and enqueues its primaries. Runs inside `span`, which
    /// also covers the message's later publishing.
    async fn start(
        &self,
        msg: InboundMessage,
        state: &mut P::State,
        work: &mut Work,
        span: Span,
    ) -> Result<(), PartitionError> {
        let processed = self.processor.process(state, &msg);
        let msg = Arc::new(msg);
        let offset = msg.offset;
        let has_outputs = !processed.records.is_empty() || !processed.deferred.is_empty();
        work.tracker.start(
            offset,
            Pending {
                msg: msg.clone(),
                meta: Meta {
                    outcome: processed.outcome,
                    timestamp_ms: msg.timestamp_ms,
                    publish_started: has_outputs.then(Instant::now),
                },
                deferred: processed.deferred,
                primaries: None,
                span: span.clone(),
            },
        )?;
        if processed.records.is_empty() {
            return self.on_primaries(offset, NOTHING, work).await;
        }
        let mut attempts = Vec::with_capacity(processed.records.len());
        for record in &processed.records {
            attempts.push(self.publisher.enqueue(record).await);
        }
        let publisher = self.publisher.clone();
        let records = processed.records;
        work.in_flight.push(Box::pin(
            async move {
                let result = publisher.settle(&msg, &records, attempts).await;
                Done::Primaries { offset, result }
            }
            .instrument(span),
        ));
        Ok(())
    }

    async fn on_done(&self, done: Done, work: &mut Work) -> Result<(), PartitionError> {
        match done {
            Done::Primaries { offset, result } => {
                let settled = result.map_err(|source| PartitionError::Settle { offset, source })?;
                self.on_primaries(offset, settled, work).await
            }
            Done::Deferred {
                offset,
                meta,
                primaries,
                result,
            } => {
                let deferred =
                    result.map_err(|source| PartitionError::Settle { offset, source })?;
                self.finish(offset, meta, primaries, deferred, work)
            }
        }
    }

    /// The primaries of `offset` are done: hand the deferred records of every message this
    /// releases to the producer, in offset order.
    async fn on_primaries(
        &self,
        offset: i64,
        settled: Settled,
        work: &mut Work,
    ) -> Result<(), PartitionError> {
        if let Some(pending) = work.tracker.payload_mut(offset) {
            pending.primaries = Some(settled);
        }
        for (offset, pending) in work.tracker.primaries_done(offset)? {
            let Pending {
                msg,
                meta,
                deferred,
                primaries,
                span,
            } = pending;
            let primaries = primaries.unwrap_or(NOTHING);
            if deferred.is_empty() {
                self.finish(offset, meta, primaries, NOTHING, work)?;
                continue;
            }
            let mut attempts = Vec::with_capacity(deferred.len());
            for record in &deferred {
                attempts.push(
                    self.publisher
                        .enqueue(record)
                        .instrument(span.clone())
                        .await,
                );
            }
            let publisher = self.publisher.clone();
            work.in_flight.push(Box::pin(
                async move {
                    let result = publisher.settle(&msg, &deferred, attempts).await;
                    Done::Deferred {
                        offset,
                        meta,
                        primaries,
                        result,
                    }
                }
                .instrument(span),
            ));
        }
        Ok(())
    }

    /// Every output of `offset` is acknowledged: count it and store what became storable.
    fn finish(
        &self,
        offset: i64,
        meta: Meta,
        primaries: Settled,
        deferred: Settled,
        work: &mut Work,
    ) -> Result<(), PartitionError> {
        self.stats.record(RuntimeEvent::MessageCompleted {
            partition: self.partition,
            timestamp_ms: meta.timestamp_ms,
            outcome: meta.outcome,
            publish: meta.publish_started.map(|t| t.elapsed()),
            records_produced: primaries.records_produced + deferred.records_produced,
            dead_lettered: primaries.dead_lettered || deferred.dead_lettered,
        });
        work.report.completed += 1;
        if let Some(storable) = work.tracker.finish(offset)? {
            match self
                .consumer
                .store_offset(&self.topic, self.partition, storable)
            {
                Ok(()) => work.report.last_stored = Some(storable),
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
