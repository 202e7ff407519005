//! Shared Kafka test harness.
//!
//! [`TestKafka::start`] picks the broker: when `KAFKA_BOOTSTRAP_SERVERS` is set, that real
//! broker (e.g. tansu 0.6: `tansu broker --listener-url tcp://127.0.0.1:19092
//! --advertised-listener-url tcp://127.0.0.1:19092 --storage-engine memory://tansu/`, then
//! `KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 cargo test --test runtime_pipeline`); otherwise an in-process `rdkafka` `MockCluster`
//! that lives as long as the `TestKafka`. Every test uses fresh random topic and group names
//! ([`unique`]), so tests can run in parallel and against a shared broker.
//!
//! Helpers: create topics, produce, read a topic back until an expected count arrives (never
//! by watermarks: tansu 0.6 reports them approximately), read committed offsets, and build
//! runtime [`Settings`] with short timeouts. [`EchoCounter`] is a small stateful test processor;
//! [`check_changelog_behind_outputs`] checks the runtime's deferred-record ordering.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use readmit::config::Settings;
use readmit::runtime::{InboundMessage, OutboundRecord, Processed, Processor};

/// Environment variable naming a real broker to test against instead of the mock.
pub const BOOTSTRAP_ENV: &str = "KAFKA_BOOTSTRAP_SERVERS";

/// Bootstrap addresses of real brokers a test started itself ([`TestKafka::external`]).
static EXTERNAL: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// True when `bootstrap` is a real broker (from [`BOOTSTRAP_ENV`] or [`TestKafka::external`]),
/// not the in-process mock.
pub fn is_real_broker(bootstrap: &str) -> bool {
    std::env::var(BOOTSTRAP_ENV).is_ok_and(|b| !b.trim().is_empty())
        || EXTERNAL
            .lock()
            .is_ok_and(|e| e.iter().any(|b| b == bootstrap))
}

/// A random name with a readable prefix.
pub fn unique(prefix: &str) -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("{prefix}-{n:016x}")
}

/// One record read back from a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: BTreeMap<String, Vec<u8>>,
}

impl Record {
    pub fn key_str(&self) -> String {
        String::from_utf8_lossy(self.key.as_deref().unwrap_or_default()).into_owned()
    }
    pub fn payload_str(&self) -> String {
        String::from_utf8_lossy(self.payload.as_deref().unwrap_or_default()).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// The broker under test.
pub struct TestKafka {
    mock: Option<MockCluster<'static, DefaultProducerContext>>,
    bootstrap: String,
}

impl TestKafka {
    /// A real broker from `KAFKA_BOOTSTRAP_SERVERS`, or a mock cluster with `brokers` brokers.
    pub fn start(brokers: i32) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        match std::env::var(BOOTSTRAP_ENV) {
            Ok(bootstrap) if !bootstrap.trim().is_empty() => Self {
                mock: None,
                bootstrap,
            },
            _ => {
                let mock = MockCluster::new(brokers).expect("mock cluster");
                let bootstrap = mock.bootstrap_servers();
                Self {
                    mock: Some(mock),
                    bootstrap,
                }
            }
        }
    }

    /// A real broker at `bootstrap` (e.g. one the test started itself).
    pub fn external(bootstrap: String) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        if let Ok(mut e) = EXTERNAL.lock() {
            e.push(bootstrap.clone());
        }
        Self {
            mock: None,
            bootstrap,
        }
    }

    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// The mock cluster, when running on the mock.
    pub fn mock(&self) -> Option<&MockCluster<'static, DefaultProducerContext>> {
        self.mock.as_ref()
    }

    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }

    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        c
    }

    /// Creates a topic (mock API on the mock, AdminClient on a real broker) and waits until
    /// its metadata is visible.
    pub async fn create_topic(&self, name: &str, partitions: i32, compact: bool) {
        if let Some(mock) = &self.mock {
            mock.create_topic(name, partitions, 1).expect("mock topic");
        } else {
            let admin: AdminClient<DefaultClientContext> =
                self.client_config().create().expect("admin client");
            let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
            let topic = if compact {
                topic.set("cleanup.policy", "compact")
            } else {
                topic
            };
            let results = admin
                .create_topics([&topic], &AdminOptions::new())
                .await
                .expect("create_topics");
            for r in results {
                r.expect("topic created");
            }
        }
        self.wait_for_topic(name, partitions).await;
    }

    /// Waits until metadata shows `name` with `partitions` partitions.
    pub async fn wait_for_topic(&self, name: &str, partitions: i32) {
        let start = Instant::now();
        loop {
            if self.partition_count(name).await == Some(partitions) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "topic {name} not visible"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Partition count of `name` per metadata, `None` if unknown.
    pub async fn partition_count(&self, name: &str) -> Option<i32> {
        let consumer: BaseConsumer = self.client_config().create().expect("consumer");
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            let md = consumer.fetch_metadata(None, Duration::from_secs(5)).ok()?;
            md.topics()
                .iter()
                .find(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
                .map(|t| t.partitions().len() as i32)
        })
        .await
        .unwrap()
    }

    /// An idempotent producer for test input.
    pub fn producer(&self) -> FutureProducer {
        self.client_config()
            .set("enable.idempotence", "true")
            .set("linger.ms", "1")
            .create()
            .expect("producer")
    }

    /// Produces one record and waits for its acknowledgement.
    pub async fn produce(
        &self,
        producer: &FutureProducer,
        topic: &str,
        partition: Option<i32>,
        key: &str,
        payload: &str,
    ) {
        let mut record = FutureRecord::to(topic).key(key).payload(payload);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .expect("test produce");
    }

    /// Produces `(key, payload)` pairs, partitioned by key, all acknowledged on return.
    pub async fn produce_all(&self, topic: &str, items: &[(String, String)]) {
        let producer = self.producer();
        let futures: Vec<_> = items
            .iter()
            .map(|(k, v)| {
                producer.send(
                    FutureRecord::to(topic).key(k.as_str()).payload(v.as_str()),
                    Duration::from_secs(30),
                )
            })
            .collect();
        for r in futures::future::join_all(futures).await {
            r.expect("test produce");
        }
        producer.flush(Duration::from_secs(10)).unwrap();
    }

    /// Reads `topic` from the beginning until `expected` records arrived or `timeout` passed;
    /// returns what arrived (callers assert the count).
    pub async fn read_topic(&self, topic: &str, expected: usize, timeout: Duration) -> Vec<Record> {
        self.read_inner(topic, expected, timeout, None).await
    }

    /// Reads `topic` from the beginning until at least `min` records arrived and then none
    /// for `idle` (or `timeout` passed).
    pub async fn read_until_idle(
        &self,
        topic: &str,
        min: usize,
        idle: Duration,
        timeout: Duration,
    ) -> Vec<Record> {
        self.read_inner(topic, usize::MAX, timeout, Some((min, idle)))
            .await
    }

    async fn read_inner(
        &self,
        topic: &str,
        expected: usize,
        timeout: Duration,
        idle_stop: Option<(usize, Duration)>,
    ) -> Vec<Record> {
        let partitions = self.partition_count(topic).await.unwrap_or(1);
        let consumer: StreamConsumer = self
            .client_config()
            .set("group.id", unique("reader"))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .create()
            .expect("reader");
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < expected {
            let wait_until = match idle_stop {
                Some((min, idle)) if out.len() >= min => {
                    deadline.min(tokio::time::Instant::now() + idle)
                }
                _ => deadline,
            };
            match tokio::time::timeout_at(wait_until, consumer.recv()).await {
                Ok(Ok(m)) => out.push(Record {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().map(<[u8]>::to_vec),
                    headers: m
                        .headers()
                        .map(|hs| {
                            hs.iter()
                                .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                                .collect()
                        })
                        .unwrap_or_default(),
                }),
                Ok(Err(e)) => eprintln!("read_topic {topic}: {e}"),
                Err(_) => break,
            }
        }
        tokio::task::spawn_blocking(move || drop(consumer))
            .await
            .unwrap();
        out
    }

    /// Reads until at least `expected` records arrived and then nothing more for `settle`
    /// (to catch duplicates), or `timeout` passed; returns what arrived.
    pub async fn read_settled(
        &self,
        topic: &str,
        expected: usize,
        timeout: Duration,
        settle: Duration,
    ) -> Vec<Record> {
        let first = self.read_topic(topic, expected, timeout).await;
        if first.len() < expected {
            return first;
        }
        tokio::time::sleep(settle).await;
        // Re-read everything; stop once the first count is reached and the topic is idle.
        let again = self
            .read_until_idle(topic, first.len(), settle, timeout)
            .await;
        if again.len() >= first.len() {
            again
        } else {
            first
        }
    }

    /// Committed offsets (next to read) of `group` for each partition of `topic`;
    /// `-1001` (invalid) when nothing is committed.
    pub async fn committed(&self, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("offset reader");
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || {
            let mut tpl = TopicPartitionList::new();
            for p in 0..partitions {
                tpl.add_partition(&topic, p);
            }
            let got = consumer
                .committed_offsets(tpl, Duration::from_secs(10))
                .expect("committed offsets");
            (0..partitions)
                .map(|p| match got.find_partition(&topic, p).unwrap().offset() {
                    Offset::Offset(o) => o,
                    _ => -1001,
                })
                .collect()
        })
        .await
        .unwrap()
    }

    /// Runtime settings for this broker with unique topic and group names and short
    /// timeouts. Topics are not created; see [`TestKafka::create_runtime_topics`].
    pub fn settings(&self, name: &str) -> Settings {
        let mut s = Settings::default();
        s.kafka.bootstrap_servers = self.bootstrap.clone();
        s.kafka.group_id = unique(&format!("{name}-group"));
        s.kafka.client_id = format!("readmit-test-{name}");
        let t = &mut s.topics;
        t.input = unique(&format!("{name}-in"));
        t.changelog = unique(&format!("{name}-changelog"));
        t.risk_scores = unique(&format!("{name}-out"));
        t.unrouted = unique(&format!("{name}-unrouted"));
        t.outcomes = unique(&format!("{name}-outcomes"));
        t.dlq = unique(&format!("{name}-dlq"));
        t.alerts_prefix = format!("{name}.alerts.");
        t.create = false;
        t.partitions = 3;
        t.replication = 1;
        let c = &mut s.consumer;
        c.session_timeout_ms = 6_000;
        c.drain_timeout_ms = 4_000;
        c.max_poll_interval_ms = 30_000;
        c.auto_commit_interval_ms = 500;
        c.restore_idle_ms = 200;
        c.restore_stall_timeout_ms = 10_000;
        c.request_timeout_ms = 5_000;
        let p = &mut s.producer;
        p.linger_ms = 1;
        p.compression = "none".into();
        p.retry_backoff_initial_ms = 50;
        p.retry_backoff_max_ms = 1_000;
        p.flush_timeout_ms = 5_000;
        s.validate().expect("test settings valid");
        s
    }

    /// Creates every topic of `settings` (input and outputs with `partitions`, changelog
    /// compacted with the same count).
    pub async fn create_runtime_topics(&self, settings: &Settings, partitions: i32) {
        let t = &settings.topics;
        self.create_topic(&t.input, partitions, false).await;
        self.create_topic(&t.changelog, partitions, true).await;
        for out in [&t.risk_scores, &t.unrouted, &t.outcomes, &t.dlq] {
            self.create_topic(out, partitions, false).await;
        }
    }
}

/// Test processor: echoes each input to `output` (payload `"<input payload>"`, headers with
/// the source partition/offset and the key's running count) and writes the key's state,
/// `"<count>@<input offset>"`, to the changelog as a deferred record (explicit partition =
/// input partition; headers with the source partition/offset). Inputs whose payload starts
/// with `poison` get an echo larger than `message.max.bytes`, which can never be produced.
///
/// Like the domain processor's de-duplication ring, it skips (outcome `duplicate`, no
/// records) an input whose offset is not above the last offset its key's restored state
/// has seen: a redelivered message that the state already reflects. That is only safe
/// because the runtime produces deferred records after every earlier primary is
/// acknowledged; if it did not, a skipped input's echo could be lost.
#[derive(Clone)]
pub struct EchoCounter {
    pub output: String,
    pub changelog: String,
    /// Per instance: every (partition, key, count) restored, in order.
    pub restored: Arc<Mutex<Vec<(i32, String, u64)>>>,
    /// Partitions for which a state was created, in order.
    pub states_created: Arc<Mutex<Vec<i32>>>,
    /// Inputs processed (duplicates included).
    pub processed: Arc<AtomicU64>,
    /// Inputs skipped as already reflected in the state.
    pub duplicates: Arc<AtomicU64>,
}

/// State of one partition: per key, the count and the last input offset seen.
pub struct EchoState {
    partition: i32,
    counts: HashMap<Vec<u8>, (u64, i64)>,
}

/// Parses a changelog value `"<count>@<offset>"`.
pub fn parse_state(value: &[u8]) -> Option<(u64, i64)> {
    let text = std::str::from_utf8(value).ok()?;
    let (count, offset) = text.split_once('@')?;
    Some((count.parse().ok()?, offset.parse().ok()?))
}

impl EchoCounter {
    pub fn new(settings: &Settings) -> Self {
        Self {
            output: settings.topics.risk_scores.clone(),
            changelog: settings.topics.changelog.clone(),
            restored: Arc::default(),
            states_created: Arc::default(),
            processed: Arc::default(),
            duplicates: Arc::default(),
        }
    }

    /// Last restored count per key (what the state held after restore).
    pub fn restored_counts(&self) -> BTreeMap<String, u64> {
        self.restored
            .lock()
            .unwrap()
            .iter()
            .map(|(_, k, c)| (k.clone(), *c))
            .collect()
    }
}

impl Processor for EchoCounter {
    type State = EchoState;

    fn new_state(&self, _topic: &str, partition: i32) -> EchoState {
        self.states_created.lock().unwrap().push(partition);
        EchoState {
            partition,
            counts: HashMap::new(),
        }
    }

    fn restore(&self, state: &mut EchoState, key: &[u8], value: Option<&[u8]>) {
        match value.and_then(parse_state) {
            Some((count, offset)) => {
                state.counts.insert(key.to_vec(), (count, offset));
                self.restored.lock().unwrap().push((
                    state.partition,
                    String::from_utf8_lossy(key).into_owned(),
                    count,
                ));
            }
            None => {
                state.counts.remove(key);
            }
        }
    }

    fn process(&self, state: &mut EchoState, msg: &InboundMessage) -> Processed {
        self.processed.fetch_add(1, Ordering::SeqCst);
        let key = msg.key.clone().unwrap_or_default();
        let entry = state.counts.entry(key.clone()).or_insert((0, -1));
        if msg.offset <= entry.1 {
            self.duplicates.fetch_add(1, Ordering::SeqCst);
            return Processed::nothing("duplicate");
        }
        entry.0 += 1;
        entry.1 = msg.offset;
        let count = entry.0;
        let payload = msg.payload.clone().unwrap_or_default();
        let echo = if payload.starts_with(b"poison") {
            vec![b'x'; 2_000_000]
        } else {
            payload
        };
        Processed::new("echoed")
            .with_record(
                OutboundRecord::new(self.output.as_str(), Some(key.clone()), Some(echo))
                    .with_header("src-partition", msg.partition.to_string())
                    .with_header("src-offset", msg.offset.to_string())
                    .with_header("count", count.to_string()),
            )
            // The state write is deferred: it goes out only once this echo and every
            // earlier one of the partition are acknowledged.
            .with_deferred(
                OutboundRecord::new(
                    self.changelog.as_str(),
                    Some(key),
                    Some(format!("{count}@{}", msg.offset).into_bytes()),
                )
                .with_partition(msg.partition)
                .with_header("src-partition", msg.partition.to_string())
                .with_header("src-offset", msg.offset.to_string()),
            )
    }
}

/// `n` inputs over `keys` keys: key `k<i % keys>`, payload `m<i>`.
pub fn inputs(n: usize, keys: usize, start: usize) -> Vec<(String, String)> {
    (start..start + n)
        .map(|i| (format!("k{}", i % keys), format!("m{i}")))
        .collect()
}

/// Last value per key in a changelog read back.
pub fn last_per_key(records: &[Record]) -> BTreeMap<String, u64> {
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| (r.partition, r.offset));
    let mut out = BTreeMap::new();
    for r in sorted {
        let (count, _) = parse_state(r.payload.as_deref().unwrap_or_default()).unwrap();
        out.insert(r.key_str(), count);
    }
    out
}

/// Expected count per key for `inputs`.
pub fn counts_per_key(items: &[(String, String)]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (k, _) in items {
        *out.entry(k.clone()).or_insert(0) += 1;
    }
    out
}

/// Produces a header list for tests that need one.
pub fn headers(pairs: &[(&str, &str)]) -> OwnedHeaders {
    let mut h = OwnedHeaders::new();
    for (k, v) in pairs {
        h = h.insert(Header {
            key: k,
            value: Some(*v),
        });
    }
    h
}

/// `(src-partition, src-offset)` of a record written by [`EchoCounter`].
pub fn source_of(r: &Record) -> (i32, i64) {
    (
        r.header("src-partition").unwrap().parse().unwrap(),
        r.header("src-offset").unwrap().parse().unwrap(),
    )
}

/// The runtime's ordering guarantee, checked on what a topic held: for every changelog
/// record written by input `(p, k)`, the echo of every input of partition `p` with offset
/// ≤ `k` is in `outputs`. `outputs` must have been read no earlier than `changelog`.
/// `inputs_per_partition[p]` lists the input offsets of partition `p`. Returns the
/// violations as `(partition, changelog source offset, missing echo offset)`.
pub fn check_changelog_behind_outputs(
    changelog: &[Record],
    outputs: &[Record],
    inputs_per_partition: &BTreeMap<i32, Vec<i64>>,
) -> Vec<(i32, i64, i64)> {
    let echoed: std::collections::BTreeSet<(i32, i64)> = outputs.iter().map(source_of).collect();
    let mut violations = Vec::new();
    for r in changelog {
        let (p, k) = source_of(r);
        for &o in inputs_per_partition
            .get(&p)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if o <= k && !echoed.contains(&(p, o)) {
                violations.push((p, k, o));
            }
        }
    }
    violations
}
