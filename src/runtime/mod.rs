//! The domain-agnostic Kafka streaming runtime: consume, restore per-partition state, process,
//! publish, and store offsets only after every output of a message was acknowledged.
//!
//! Domain logic plugs in through [`Processor`]; [`run`] drives it until the shutdown token is
//! cancelled. Delivery is at-least-once end to end:
//!
//! * auto-commit is on, auto offset store is off; a partition's offset is stored only when it
//!   and every earlier offset reached a final outcome (all outputs acknowledged with
//!   `acks=all`, or the input dead-lettered) — see [`offsets`];
//! * a message's deferred records (its state changelog write) are produced only after the
//!   primary records of it and of every earlier message of the partition were acknowledged,
//!   in offset order, so restored state never runs ahead of acknowledged outputs — see
//!   [`Processor`];
//! * each assigned partition gets its own task fed by `split_partition_queue`, while a
//!   dedicated thread keeps polling the main queue so rebalance callbacks fire (Vector's design);
//! * on assignment, the partition's state is rebuilt from the changelog topic's partition of the
//!   same number before any input of it is processed ([`restore`]);
//! * on revoke and on shutdown, in-flight work drains (bounded by
//!   `consumer.drain_timeout_ms`, validated below the session timeout), then the consumer
//!   commits synchronously; whatever did not finish is redelivered to the next owner;
//! * transient produce failures are retried with exponential backoff and never advance the
//!   offset; records that can never be produced send the input to the dead-letter topic with
//!   headers saying why; if even that fails the partition — and the run — stops with an error.
//!
//! Module map: [`context`] (rebalance and statistics hooks), [`consumer`] (client config,
//! main-queue driver), [`partition`] (per-partition task), [`offsets`] (in-order ack
//! tracking), [`publisher`] (producer, retries, dead letters), [`restore`] (changelog replay),
//! [`topics`] (start-up topic checks and creation), `coordinator` (the [`run`] loop).

pub mod consumer;
pub mod context;
mod coordinator;
pub mod offsets;
pub mod partition;
pub mod publisher;
pub mod restore;
pub mod topics;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use context::TopicPartition;
pub use coordinator::{run, run_with_observer};
pub use restore::RestoreStats;

/// Header names the runtime sets on dead-letter records.
pub mod dlq_headers {
    /// Why the input was dead-lettered (`unproducible_output`, or a processor's own reason).
    pub const REASON: &str = "readmit.dlq.reason";
    /// The librdkafka error name of the failure, when there was one.
    pub const ERROR: &str = "readmit.dlq.error";
    /// Topic of the output record that could not be produced.
    pub const FAILED_TOPIC: &str = "readmit.dlq.failed_topic";
    /// Topic the input was read from.
    pub const SOURCE_TOPIC: &str = "readmit.dlq.source_topic";
    /// Partition the input was read from (decimal text).
    pub const SOURCE_PARTITION: &str = "readmit.dlq.source_partition";
    /// Offset of the input (decimal text).
    pub const SOURCE_OFFSET: &str = "readmit.dlq.source_offset";
    /// Set when the dead letter could not carry the input's value (larger than
    /// `producer.message_max_bytes`): the value's size in bytes (decimal text); the record
    /// has no value, and the input stays readable at its source offset.
    pub const PAYLOAD_OMITTED: &str = "readmit.dlq.payload_omitted_bytes";
}

/// One consumed message, owned (detached from the consumer). `Debug` shows sizes, never
/// key or payload bytes (they are PHI).
#[derive(Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// Topic the message was read from.
    pub topic: Arc<str>,
    /// Partition number.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Message key (the patient key for ADT input).
    pub key: Option<Vec<u8>>,
    /// Message value.
    pub payload: Option<Vec<u8>>,
    /// Broker or producer timestamp, milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
    /// Headers in order; a header may have no value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl fmt::Debug for InboundMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundMessage")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("key_len", &self.key.as_ref().map(Vec::len))
            .field("payload_len", &self.payload.as_ref().map(Vec::len))
            .field("timestamp_ms", &self.timestamp_ms)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// One record to produce. `payload: None` is a tombstone. `Debug` shows sizes only.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundRecord {
    /// Destination topic.
    pub topic: Arc<str>,
    /// Explicit partition. Changelog writes MUST set the input's partition number: the
    /// restore of input partition `p` reads changelog partition `p`, and librdkafka's default
    /// partitioner differs from Java's murmur2. `None` lets the partitioner choose by key.
    pub partition: Option<i32>,
    /// Record key.
    pub key: Option<Vec<u8>>,
    /// Record value; `None` = tombstone (deletes the key from a compacted topic).
    pub payload: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl OutboundRecord {
    /// A record for `topic` with the given key and value, partitioned by key.
    pub fn new(topic: impl Into<Arc<str>>, key: Option<Vec<u8>>, payload: Option<Vec<u8>>) -> Self {
        Self {
            topic: topic.into(),
            partition: None,
            key,
            payload,
            headers: Vec::new(),
        }
    }

    /// Sets an explicit partition.
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Appends a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A dead-letter record for `msg`: the input's key, value and headers, plus
    /// [`dlq_headers`] naming the source and `reason` (a short, PHI-free label such as
    /// `unparsable`). Processors use it for poison input; the runtime uses it for outputs
    /// that can never be produced.
    pub fn dead_letter(dlq_topic: impl Into<Arc<str>>, msg: &InboundMessage, reason: &str) -> Self {
        let mut headers: Vec<(String, Vec<u8>)> = msg
            .headers
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
            .collect();
        headers.push((dlq_headers::REASON.into(), reason.as_bytes().to_vec()));
        headers.push((
            dlq_headers::SOURCE_TOPIC.into(),
            msg.topic.as_bytes().to_vec(),
        ));
        headers.push((
            dlq_headers::SOURCE_PARTITION.into(),
            msg.partition.to_string().into_bytes(),
        ));
        headers.push((
            dlq_headers::SOURCE_OFFSET.into(),
            msg.offset.to_string().into_bytes(),
        ));
        Self {
            topic: dlq_topic.into(),
            partition: None,
            key: msg.key.clone(),
            payload: msg.payload.clone(),
            headers,
        }
    }
}

impl fmt::Debug for OutboundRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundRecord")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("key_len", &self.key.as_ref().map(Vec::len))
            .field("payload_len", &self.payload.as_ref().map(Vec::len))
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The outcome label of a message the processor sent to the dead-letter topic itself; the
/// runtime counts such messages in [`RunSummary::dead_lettered`].
pub const DEAD_LETTERED_OUTCOME: &str = "dead_lettered";

/// What processing one message produced: records to publish, in two groups, and an outcome
/// label the runtime counts once the message is final. Labels must come from a closed set
/// (they become metric labels), e.g. `alerted`, `history_only`, `dead_lettered`.
///
/// * [`records`](Self::records) (*primaries*: alerts, scores, dead letters) are handed to the
///   producer at once, in this order; primaries of many messages are in flight together.
/// * [`deferred`](Self::deferred) (the changelog write of the processor's state) are handed
///   to the producer only after the primaries of this message and of every earlier message
///   of the partition were acknowledged, in offset order. See [`Processor`] for why.
///
/// Build with [`Processed::new`] / [`Processed::nothing`] and the `with_*` methods, e.g.
/// `Processed::new("alerted").with_record(alert).with_deferred(changelog)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// Primary records, produced immediately.
    pub records: Vec<OutboundRecord>,
    /// Deferred records (state changelog), produced once every primary record of this and
    /// every earlier message of the partition is acknowledged; the input's offset is stored
    /// only after these are acknowledged too.
    pub deferred: Vec<OutboundRecord>,
    /// Outcome label.
    pub outcome: &'static str,
}

impl Processed {
    /// Outcome with no records.
    pub fn nothing(outcome: &'static str) -> Self {
        Self::new(outcome)
    }

    /// Outcome with no records yet; add them with the `with_*` methods.
    pub fn new(outcome: &'static str) -> Self {
        Self {
            records: Vec::new(),
            deferred: Vec::new(),
            outcome,
        }
    }

    /// Appends a primary record.
    pub fn with_record(mut self, record: OutboundRecord) -> Self {
        self.records.push(record);
        self
    }

    /// Appends primary records.
    pub fn with_records(mut self, records: impl IntoIterator<Item = OutboundRecord>) -> Self {
        self.records.extend(records);
        self
    }

    /// Appends a deferred record (a changelog write).
    pub fn with_deferred(mut self, record: OutboundRecord) -> Self {
        self.deferred.push(record);
        self
    }

    /// Appends deferred records.
    pub fn with_deferred_records(
        mut self,
        records: impl IntoIterator<Item = OutboundRecord>,
    ) -> Self {
        self.deferred.extend(records);
        self
    }
}

/// The plug-in point for domain logic.
///
/// One [`State`](Processor::State) exists per assigned input partition and is owned by that
/// partition's task, so no locking is needed. Calls for one partition are sequential and in
/// offset order. `process` is called inline in the partition task: keep it synchronous CPU
/// work (microseconds).
///
/// # Ordering guarantee
///
/// Put state (changelog) writes in [`Processed::deferred`] and every other output in
/// [`Processed::records`]. Per input partition, the runtime guarantees:
///
/// 1. the deferred records of message `k` are handed to the producer only after every
///    primary record of `k` **and of every earlier message** of the partition was
///    acknowledged by the broker (`acks=all`) — or, for a primary that can never be
///    produced, after `k`'s input was acknowledged on the dead-letter topic;
/// 2. deferred records are handed to the producer in offset order (all of `k − 1`'s before
///    any of `k`'s), so with the idempotent producer the changelog partition receives them in
///    processing order;
/// 3. the offset of `k` is stored only after its deferred records are acknowledged too, and
///    never past an earlier message that is not.
///
/// Consequence: **if the state restored from the changelog already reflects message `k`,
/// every primary output of `k` (and of every message before it) was acknowledged.** So a
/// redelivered message that the restored state already knows (for example, its ID is in a
/// de-duplication ring kept in the state) may safely be skipped: its alerts are not lost.
/// The converse does not hold: a message whose primaries were acknowledged but whose
/// changelog write was not is redelivered and processed again on the older state, producing
/// its primaries a second time (at-least-once; give them stable keys so readers can drop
/// duplicates).
///
/// When a primary record can never be produced (too large, topic missing), the input goes
/// to the dead-letter topic and the message's deferred records are still produced
/// afterwards: `process` already changed the in-memory state, later messages of the same
/// key write changelog records that carry the change anyway, and skipping this one would
/// make the restored state depend on whether a later message touched the key. When a
/// deferred record can never be produced, the input is dead-lettered the same way.
///
/// At-least-once: after a crash or an expired drain deadline, messages after the last
/// committed offset are processed again, on the state restored from the changelog. Make
/// state updates idempotent where duplicates would matter (e.g. keyed by message id).
///
/// Caveat: with a finite `producer.message_timeout_ms`, a deferred record the runtime has to
/// re-produce after a timeout can land after a later message's deferred record of the same
/// key; keep the default (0: librdkafka retries in order) for stateful processors.
pub trait Processor: Send + Sync + 'static {
    /// Per-partition state, rebuilt from the changelog on every assignment.
    type State: Send + 'static;

    /// A fresh state for input `topic` / `partition`, before restore.
    fn new_state(&self, topic: &str, partition: i32) -> Self::State;

    /// Applies one changelog record (`value: None` = tombstone), in offset order. Records
    /// without a key are skipped by the runtime.
    fn restore(&self, state: &mut Self::State, key: &[u8], value: Option<&[u8]>);

    /// Told once a partition's state is restored, before its first message (for gauges of
    /// the state's size). Default: nothing.
    fn restored(&self, state: &mut Self::State, partition: i32) {
        let _ = (state, partition);
    }

    /// Processes one input message. Changelog records go in [`Processed::deferred`] and
    /// must target the input's partition number
    /// (`OutboundRecord::with_partition(msg.partition)`).
    fn process(&self, state: &mut Self::State, msg: &InboundMessage) -> Processed;

    /// Told once, after the start-up topic check and before any message, how many partitions
    /// a consumed topic has — for processors that address partitions of it explicitly (the
    /// pipeline's cross-partition merges). Default: ignored.
    fn topic_partitions(&self, topic: &str, partitions: i32) {
        let _ = (topic, partitions);
    }
}

/// Counters of one [`run`], returned when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Messages that reached a final outcome (offset storable).
    pub messages_completed: u64,
    /// Output records acknowledged by the broker (excluding dead letters).
    pub records_produced: u64,
    /// Inputs that ended in the dead-letter topic: those the processor dead-lettered (outcome
    /// [`DEAD_LETTERED_OUTCOME`], e.g. unparsable input) plus those the runtime sent there
    /// because an output could never be produced ([`runtime_dead_lettered`](Self::runtime_dead_lettered)).
    pub dead_lettered: u64,
    /// Of [`dead_lettered`](Self::dead_lettered): inputs the runtime sent to the dead-letter
    /// topic because one of their outputs could never be produced.
    pub runtime_dead_lettered: u64,
    /// Produce attempts retried after transient failures.
    pub produce_retries: u64,
    /// Completed messages per outcome label.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// One entry per partition restore.
    pub restores: Vec<RestoreStats>,
    /// Partitions assigned / revoked over the run.
    pub partitions_assigned: u64,
    /// Partitions revoked over the run.
    pub partitions_revoked: u64,
    /// `Rebalance::Error` callbacks seen.
    pub rebalance_errors: u64,
    /// Offset commits that failed (they are retried by the next commit).
    pub commit_errors: u64,
    /// Messages still in flight when a drain deadline passed; they are redelivered.
    pub abandoned_in_flight: u64,
}

/// Errors that end a [`run`].
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The settings failed validation.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A Kafka client could not be created (bad client option).
    #[error("could not create the Kafka {client}: {source}")]
    Client {
        /// Which client (`consumer`, `producer`, `admin client`, `restore consumer`).
        client: &'static str,
        /// The client error.
        source: rdkafka::error::KafkaError,
    },
    /// Topic checks at start-up failed; each entry names a topic and the problem.
    #[error("topic check failed:\n  - {}", .0.join("\n  - "))]
    Topics(Vec<String>),
    /// Subscribing to the input topic failed.
    #[error("could not subscribe to {topic}: {source}")]
    Subscribe {
        /// The input topic.
        topic: String,
        /// The client error.
        source: rdkafka::error::KafkaError,
    },
    /// A partition stopped with an error; nothing after its last stored offset was committed.
    #[error("partition {topic}/{partition} failed: {source}")]
    Partition {
        /// Input topic.
        topic: String,
        /// Partition number.
        partition: i32,
        /// Why.
        source: Box<partition::PartitionError>,
    },
    /// A message for an assigned partition arrived on the main consumer queue, where the
    /// runtime cannot process it in order.
    #[error("message for {topic}/{partition} arrived outside its partition queue")]
    UnexpectedMessage {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// The producer reported a fatal error.
    #[error("fatal producer error: {0}")]
    FatalProducer(String),
    /// An internal task ended abnormally (panicked or was cancelled).
    #[error("runtime task failed: {0}")]
    Task(String),
}

/// Exponential backoff parameters (doubling, capped).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry number `attempt` (0-based).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// A notable runtime event. [`RunSummary`] counts them; a [`RuntimeObserver`] (metrics,
/// readiness) sees each as it happens. No event carries message content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeEvent {
    /// Partitions were assigned; their tasks start restoring. Recorded by the coordinator
    /// after any earlier task of the same partition finished, so a [`Restored`](Self::Restored)
    /// event that follows belongs to the new assignment.
    PartitionsAssigned(Vec<TopicPartition>),
    /// Partitions are being revoked (recorded before their tasks drain).
    PartitionsRevoked(Vec<TopicPartition>),
    /// A `Rebalance::Error` callback.
    RebalanceError,
    /// An offset commit failed.
    CommitFailed,
    /// A partition's state was restored; [`RestoreStats::partition`] is the input partition
    /// number too (changelog partition `p` holds input partition `p`'s state).
    Restored(RestoreStats),
    /// A message reached its final outcome (offset storable).
    MessageCompleted {
        /// Input partition.
        partition: i32,
        /// The input record's timestamp (ms since the epoch), for end-to-end latency.
        timestamp_ms: Option<i64>,
        /// The processor's outcome label.
        outcome: &'static str,
        /// Output records acknowledged.
        records_produced: u64,
        /// The input went to the dead-letter topic.
        dead_lettered: bool,
        /// From handing the first output to the producer until the last was acknowledged;
        /// `None` when the message had no outputs.
        publish: Option<Duration>,
    },
    /// A produce was retried after a transient failure.
    ProduceRetried,
    /// Messages were still in flight at a drain deadline (they are redelivered).
    InFlightAbandoned(u64),
}

/// `statistics.interval.ms` the runtime sets on its group consumer and producer when the
/// observer [wants statistics](RuntimeObserver::wants_statistics) and the pass-through map
/// (`kafka.librdkafka.statistics_interval_ms`) does not set it. No observer, no statistics:
/// plain runs pay nothing for them.
pub const DEFAULT_STATISTICS_INTERVAL_MS: u64 = 5_000;

/// Receives [`RuntimeEvent`]s as they happen (e.g. to update Prometheus metrics). Called
/// from partition tasks and consumer callbacks: keep it quick and non-blocking.
pub trait RuntimeObserver: Send + Sync + 'static {
    /// One event.
    fn on_event(&self, event: &RuntimeEvent);

    /// Whether the runtime should enable librdkafka statistics on its group consumer and
    /// producer (see [`DEFAULT_STATISTICS_INTERVAL_MS`]) and pass them to
    /// [`on_statistics`](Self::on_statistics). Default: no.
    fn wants_statistics(&self) -> bool {
        false
    }

    /// One librdkafka statistics report of the group consumer (`client_type == "consumer"`)
    /// or the producer (`"producer"`). Called on librdkafka's callback threads.
    fn on_statistics(&self, statistics: &rdkafka::statistics::Statistics) {
        let _ = statistics;
    }
}

/// Run counters shared by the runtime's tasks and callbacks, plus the optional observer.
#[derive(Clone, Default)]
pub(crate) struct Stats {
    summary: Arc<std::sync::Mutex<RunSummary>>,
    observer: Option<Arc<dyn RuntimeObserver>>,
}

impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stats").finish_non_exhaustive()
    }
}

impl Stats {
    pub(crate) fn new(observer: Option<Arc<dyn RuntimeObserver>>) -> Self {
        Self {
            summary: Arc::default(),
            observer,
        }
    }

    /// Counts `event` and passes it to the observer. A poisoned lock (a panicked updater) is
    /// recovered: counters are plain numbers and stay meaningful.
    pub(crate) fn record(&self, event: RuntimeEvent) {
        {
            let mut s = self.summary.lock().unwrap_or_else(|e| e.into_inner());
            match &event {
                RuntimeEvent::PartitionsAssigned(p) => s.partitions_assigned += p.len() as u64,
                RuntimeEvent::PartitionsRevoked(p) => s.partitions_revoked += p.len() as u64,
                RuntimeEvent::RebalanceError => s.rebalance_errors += 1,
                RuntimeEvent::CommitFailed => s.commit_errors += 1,
                RuntimeEvent::Restored(r) => s.restores.push(r.clone()),
                RuntimeEvent::MessageCompleted {
                    outcome,
                    records_produced,
                    dead_lettered,
                    ..
                } => {
                    s.messages_completed += 1;
                    s.records_produced += records_produced;
                    if *dead_lettered {
                        s.runtime_dead_lettered += 1;
                    }
                    if *dead_lettered || *outcome == DEAD_LETTERED_OUTCOME {
                        s.dead_lettered += 1;
                    }
                    *s.outcomes.entry(outcome).or_insert(0) += 1;
                }
                RuntimeEvent::ProduceRetried => s.produce_retries += 1,
                RuntimeEvent::InFlightAbandoned(n) => s.abandoned_in_flight += n,
            }
        }
        if let Some(observer) = &self.observer {
            observer.on_event(&event);
        }
    }

    /// Whether the observer wants librdkafka statistics.
    pub(crate) fn wants_statistics(&self) -> bool {
        self.observer.as_ref().is_some_and(|o| o.wants_statistics())
    }

    /// Passes a statistics report to the observer.
    pub(crate) fn statistics(&self, statistics: &rdkafka::statistics::Statistics) {
        if let Some(observer) = &self.observer {
            observer.on_statistics(statistics);
        }
    }

    /// A copy of the counters.
    pub(crate) fn snapshot(&self) -> RunSummary {
        self.summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
        };
        assert_eq!(b.delay(0), Duration::from_millis(100));
        assert_eq!(b.delay(1), Duration::from_millis(200));
        assert_eq!(b.delay(3), Duration::from_millis(800));
        assert_eq!(b.delay(4), Duration::from_millis(1000));
        assert_eq!(b.delay(60), Duration::from_millis(1000));
    }

    #[test]
    fn the_summary_counts_every_dead_letter() {
        let stats = Stats::new(None);
        let done = |outcome: &'static str, dead_lettered: bool| RuntimeEvent::MessageCompleted {
            partition: 0,
            timestamp_ms: None,
            outcome,
            records_produced: 1,
            dead_lettered,
            publish: None,
        };
        stats.record(done(DEAD_LETTERED_OUTCOME, false)); // the processor's dead letter
        stats.record(done("alerted", true)); // an output could never be produced
        stats.record(done("alerted", false));
        let s = stats.snapshot();
        assert_eq!((s.dead_lettered, s.runtime_dead_lettered), (2, 1));
        assert_eq!(s.messages_completed, 3);
        assert_eq!(s.outcomes.get("alerted"), Some(&2));
    }

    #[test]
    fn debug_never_shows_bytes() {
        let msg = InboundMessage {
            topic: "t".into(),
            partition: 1,
            offset: 7,
            key: Some(b"MRN12345".to_vec()),
            payload: Some(b"PID|||DOE^JOHN".to_vec()),
            timestamp_ms: None,
            headers: vec![("h".into(), Some(b"secret".to_vec()))],
        };
        let out = OutboundRecord::dead_letter("dlq", &msg, "unparsable");
        for text in [format!("{msg:?}"), format!("{out:?}")] {
            assert!(!text.contains("MRN") && !text.contains("DOE") && !text.contains("secret"));
        }
        assert_eq!(out.key.as_deref(), Some(&b"MRN12345"[..]));
        let header = |name: &str| {
            out.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        };
        assert_eq!(header(dlq_headers::REASON).as_deref(), Some("unparsable"));
        assert_eq!(header(dlq_headers::SOURCE_OFFSET).as_deref(), Some("7"));
        assert_eq!(header(dlq_headers::SOURCE_PARTITION).as_deref(), Some("1"));
        assert_eq!(header("h").as_deref(), Some("secret"));
    }
}
