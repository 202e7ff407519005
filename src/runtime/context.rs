//! The client contexts: rebalance and commit callbacks of the group consumer, and librdkafka
//! statistics of the group consumer and the producer (forwarded to the observer, see
//! [`RuntimeObserver::on_statistics`](super::RuntimeObserver::on_statistics)).
//!
//! Callbacks run on the thread that polls the main consumer queue (the driver thread, see
//! [`super::consumer`]) or on the thread that drops the consumer. They hand assignments and
//! revocations to the coordinator over a bounded channel and block on a rendezvous until it has
//! split the partition queues (assign) or drained the partition tasks (revoke); after a revoke
//! they commit synchronously. They never panic: `Rebalance::Error` and commit failures are
//! logged and counted.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, TopicPartitionList};
use tokio::sync::mpsc::error::TrySendError;

use super::{RuntimeEvent, Stats};

/// A topic-partition pair.
pub type TopicPartition = (String, i32);

/// A rebalance event handed to the coordinator. Dropping `done` releases the callback.
#[derive(Debug)]
pub enum RebalanceEvent {
    /// Partitions about to be assigned: split their queues and start their tasks.
    Assign {
        /// The partitions.
        partitions: Vec<TopicPartition>,
        /// Dropped when the coordinator is done.
        done: SyncSender<()>,
    },
    /// Partitions about to be revoked: drain their tasks (bounded), then release.
    Revoke {
        /// The partitions.
        partitions: Vec<TopicPartition>,
        /// Dropped when the coordinator is done.
        done: SyncSender<()>,
    },
}

/// Consumer context of the runtime's group consumer.
pub struct RuntimeContext {
    events: tokio::sync::mpsc::Sender<RebalanceEvent>,
    stats: Stats,
}

impl RuntimeContext {
    pub(crate) fn new(events: tokio::sync::mpsc::Sender<RebalanceEvent>, stats: Stats) -> Self {
        Self { events, stats }
    }

    /// Sends an event and waits until the coordinator releases it. Returns immediately when
    /// the coordinator is gone (shutdown), so the consumer can close.
    fn hand_over(&self, make: impl FnOnce(SyncSender<()>) -> RebalanceEvent) {
        let (done, released) = sync_channel::<()>(0);
        let mut event = make(done);
        loop {
            match self.events.try_send(event) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    event = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TrySendError::Closed(_)) => return,
            }
        }
        // Err means the coordinator dropped `done`: that is the release signal.
        let _ = released.recv();
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

impl ClientContext for RuntimeContext {
    /// Client-level errors (broker down, transport failures) are retried by librdkafka;
    /// they are logged as warnings, not errors, because no operator action follows from one.
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "Kafka consumer client error; librdkafka retries.");
    }

    /// Statistics arrive only when the observer asked for them (`statistics.interval.ms`).
    fn stats(&self, statistics: Statistics) {
        self.stats.statistics(&statistics);
    }
}

/// Producer context: forwards librdkafka statistics to the observer; errors are logged as
/// librdkafka's default context does.
pub struct RuntimeProducerContext {
    stats: Stats,
}

impl RuntimeProducerContext {
    pub(crate) fn new(stats: Stats) -> Self {
        Self { stats }
    }
}

impl ClientContext for RuntimeProducerContext {
    /// Client-level errors are retried by librdkafka; delivery failures reach the publisher.
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "Kafka producer client error; librdkafka retries.");
    }

    fn stats(&self, statistics: Statistics) {
        self.stats.statistics(&statistics);
    }
}

impl ConsumerContext for RuntimeContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                // Counted by the coordinator once earlier tasks of these partitions are gone.
                let parts = partitions(tpl);
                tracing::info!(partitions = %partition_list(&parts), "Partitions assigned.");
                self.hand_over(|done| RebalanceEvent::Assign {
                    partitions: parts,
                    done,
                });
            }
            Rebalance::Revoke(tpl) => {
                let parts = partitions(tpl);
                tracing::info!(partitions = %partition_list(&parts), "Partitions revoked; draining.");
                self.stats
                    .record(RuntimeEvent::PartitionsRevoked(parts.clone()));
                self.hand_over(|done| RebalanceEvent::Revoke {
                    partitions: parts,
                    done,
                });
                commit_sync(consumer, &self.stats, "revoke");
            }
            Rebalance::Error(error) => {
                tracing::warn!(%error, "Rebalance error; continuing.");
                self.stats.record(RuntimeEvent::RebalanceError);
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(error) = result {
            if !is_no_offset(&error) {
                tracing::warn!(%error, "Offset commit failed; the next commit retries.");
                self.stats.record(RuntimeEvent::CommitFailed);
            }
        }
    }
}

/// `ConsumerCommit(NoOffset)`: nothing new to commit, not a failure.
pub(crate) fn is_no_offset(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)
    )
}

/// Commits stored offsets synchronously; failures are logged and counted.
pub(crate) fn commit_sync<C: Consumer<RuntimeContext>>(consumer: &C, stats: &Stats, when: &str) {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => tracing::debug!(when, "Offsets committed."),
        Err(error) if is_no_offset(&error) => {}
        Err(error) => {
            tracing::warn!(%error, when, "Offset commit failed.");
            stats.record(RuntimeEvent::CommitFailed);
        }
    }
}

/// Partitions for a log field, grouped by topic in order: `adt.events[0,1,2]` (the `Debug` of
/// the list read `[("adt.events", 0), …]` inside a JSON string).
pub(crate) fn partition_list(parts: &[(String, i32)]) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for (topic, p) in parts {
        if current == Some(topic.as_str()) {
            out.push_str(&format!(",{p}"));
        } else {
            if current.is_some() {
                out.push_str("] ");
            }
            out.push_str(&format!("{topic}[{p}"));
            current = Some(topic);
        }
    }
    if current.is_some() {
        out.push(']');
    }
    out
}

#[cfg(test)]
mod partition_list_tests {
    use super::partition_list;

    #[test]
    fn partitions_print_grouped_by_topic() {
        let p = |t: &str, n| (t.to_string(), n);
        assert_eq!(partition_list(&[]), "");
        assert_eq!(
            partition_list(&[p("adt.events", 0), p("adt.events", 2), p("rekeyed", 1)]),
            "adt.events[0,2] rekeyed[1]"
        );
    }
}
