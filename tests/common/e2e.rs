//! End-to-end helpers: service settings with the committed model, a pseudonym key and a
//! two-collaborative routing that covers the simulator's default facilities and ZIPs; topic
//! creation for every output; running `readmit::service::run` in a task; decoding outputs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use readmit::alerts::{AlertFormat, Collaborative, Routing, Rule, Tier};
use readmit::config::{Secret, Settings};
use readmit::model::scorer::LinearScorer;
use readmit::model::Scorer;
use readmit::pipeline::records::{OutcomeRecord, RiskScoreRecord};
use readmit::runtime::{RunSummary, RuntimeObserver};
use readmit::service::{self, ServiceError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::common::{unique, Record, TestKafka};

/// Collaborative fed by facility (SIM_NORTH, SIM_RIVER and the hand-built `NORTH`).
pub const NORTH: &str = "north";
/// Collaborative fed by ZIP prefix (every default simulator area).
pub const SOUTH: &str = "south";

/// How long a test waits for outputs before failing.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The committed model artifact.
pub fn model_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(readmit::model::DEFAULT_ARTIFACT)
}

/// The scorer the service loads.
pub fn scorer() -> LinearScorer {
    LinearScorer::load(&model_path()).expect("committed model artifact")
}

fn collaborative(name: &str) -> Collaborative {
    Collaborative {
        name: name.into(),
        tiers: vec![Tier::Low, Tier::Moderate, Tier::High],
        receives_mrn: false,
        receives_zip: false,
        format: AlertFormat::Json,
    }
}

/// Routing: facilities SIM_NORTH / SIM_RIVER / NORTH → `north`; ZIPs 21*, 44*, 78* → `south`.
/// Both subscribe to every tier so every scored discharge is alerted.
pub fn routing() -> Routing {
    Routing {
        collaboratives: vec![collaborative(NORTH), collaborative(SOUTH)],
        rules: vec![
            Rule {
                collaboratives: vec![NORTH.into()],
                facilities: vec!["SIM_NORTH".into(), "SIM_RIVER".into(), "NORTH".into()],
                zips: vec![],
                counties: vec![],
            },
            Rule {
                collaboratives: vec![SOUTH.into()],
                facilities: vec![],
                zips: vec!["21".into(), "44".into(), "78".into()],
                counties: vec![],
            },
        ],
    }
}

/// Service settings for `kafka`: unique topics and group, the committed model, a key, routing.
pub fn settings(kafka: &TestKafka, name: &str) -> Settings {
    let mut s = kafka.settings(name);
    s.topics.alerts_prefix = format!("{}.", unique(&format!("{name}-alerts")));
    s.model.path = Some(model_path());
    s.pseudonym.key = Some(Secret::new("e2e test pseudonym key, 32 bytes+"));
    s.alerts.routing = routing();
    s.validate().expect("e2e settings valid");
    s
}

/// The topic of a collaborative's alerts.
pub fn alert_topic(s: &Settings, collaborative: &str) -> String {
    format!("{}{collaborative}", s.topics.alerts_prefix)
}

/// Creates input, changelog, outputs and both alert topics with `partitions` partitions.
pub async fn create_topics(kafka: &TestKafka, s: &Settings, partitions: i32) {
    kafka.create_runtime_topics(s, partitions).await;
    for c in [NORTH, SOUTH] {
        kafka
            .create_topic(&alert_topic(s, c), partitions, false)
            .await;
    }
}

/// A running service.
pub struct Running {
    pub token: CancellationToken,
    pub handle: JoinHandle<Result<RunSummary, ServiceError>>,
}

impl Running {
    /// Cancels and waits (bounded) for the summary.
    pub async fn stop(self) -> RunSummary {
        self.token.cancel();
        tokio::time::timeout(Duration::from_secs(60), self.handle)
            .await
            .expect("service stops within 60 s")
            .expect("service task")
            .expect("service run")
    }
}

/// Starts `readmit::service::run` in a task.
pub fn start(s: &Settings) -> Running {
    start_with(s, None)
}

/// Partitions an instance holds right now, from its runtime events (assignments are eager:
/// a rebalance revokes everything, then assigns).
#[derive(Default)]
pub struct Assignment(std::sync::atomic::AtomicI64, std::sync::atomic::AtomicU64);

impl Assignment {
    /// Partitions held now.
    pub fn held(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Assignments received so far (one per rebalance that gave this instance partitions).
    pub fn assignments(&self) -> u64 {
        self.1.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl RuntimeObserver for Assignment {
    fn on_event(&self, event: &readmit::runtime::RuntimeEvent) {
        use readmit::runtime::RuntimeEvent;
        use std::sync::atomic::Ordering;
        match event {
            RuntimeEvent::PartitionsAssigned(v) => {
                self.0.fetch_add(v.len() as i64, Ordering::SeqCst);
                self.1.fetch_add(1, Ordering::SeqCst);
            }
            RuntimeEvent::PartitionsRevoked(v) => {
                self.0.fetch_sub(v.len() as i64, Ordering::SeqCst);
            }
            _ => {}
        }
    }
}

/// Starts `readmit::service::run` in a task, reporting its assignment to `assignment`.
pub fn start_observed(s: &Settings, assignment: Arc<Assignment>) -> Running {
    start_with(s, Some(assignment))
}

fn start_with(s: &Settings, observer: Option<Arc<dyn RuntimeObserver>>) -> Running {
    let scorer: Arc<dyn Scorer> = service::load_scorer(s).expect("model loads");
    let pipeline = service::build_pipeline(s, scorer).expect("pipeline");
    let token = CancellationToken::new();
    let handle = tokio::spawn(service::run(s.clone(), pipeline, token.clone(), observer));
    Running { token, handle }
}

/// Produces byte records `(key, payload)` in order (each acknowledged before the next, so the
/// order within a partition is the given order), optionally to an explicit partition.
pub async fn produce_bytes(
    kafka: &TestKafka,
    topic: &str,
    partition: Option<i32>,
    items: &[(Vec<u8>, Vec<u8>)],
) {
    use rdkafka::producer::FutureRecord;
    let producer = kafka.producer();
    // Idempotent producer: in-flight batches keep their order, so send all then await all.
    let futures: Vec<_> = items
        .iter()
        .map(|(k, v)| {
            let mut r = FutureRecord::to(topic)
                .key(k.as_slice())
                .payload(v.as_slice());
            if let Some(p) = partition {
                r = r.partition(p);
            }
            producer.send(r, Duration::from_secs(30))
        })
        .collect();
    for r in futures::future::join_all(futures).await {
        r.expect("test produce");
    }
}

/// Decodes risk-score records.
pub fn risk_scores(records: &[Record]) -> Vec<RiskScoreRecord> {
    records
        .iter()
        .map(|r| serde_json::from_slice(r.payload.as_deref().unwrap()).expect("risk-score JSON"))
        .collect()
}

/// Decodes outcome records.
pub fn outcomes(records: &[Record]) -> Vec<OutcomeRecord> {
    records
        .iter()
        .map(|r| serde_json::from_slice(r.payload.as_deref().unwrap()).expect("outcome JSON"))
        .collect()
}

/// Checks a summary against the number of inputs: every input completed exactly once and the
/// outcome counts add up to it.
pub fn assert_counts(summary: &RunSummary, produced: u64) {
    assert_eq!(
        summary.messages_completed, produced,
        "messages completed vs produced: {summary:?}"
    );
    let sum: u64 = summary.outcomes.values().sum();
    assert_eq!(sum, produced, "outcome counts {:?}", summary.outcomes);
}

/// Adds two summaries' outcome maps.
pub fn merged_outcomes(a: &RunSummary, b: &RunSummary) -> BTreeMap<&'static str, u64> {
    let mut m = a.outcomes.clone();
    for (k, v) in &b.outcomes {
        *m.entry(k).or_insert(0) += v;
    }
    m
}

/// Produces `(key, payload)` records partitioned by key and returns, per partition, the offset
/// after the last record written there (what a consumer group commits once it has done all).
pub async fn produce_tracked(
    kafka: &TestKafka,
    topic: &str,
    items: &[(Vec<u8>, Vec<u8>)],
) -> BTreeMap<i32, i64> {
    use rdkafka::producer::FutureRecord;
    let producer = kafka.producer();
    let mut ends = BTreeMap::new();
    for chunk in items.chunks(5_000) {
        let futures: Vec<_> = chunk
            .iter()
            .map(|(k, v)| {
                producer.send(
                    FutureRecord::to(topic)
                        .key(k.as_slice())
                        .payload(v.as_slice()),
                    Duration::from_secs(60),
                )
            })
            .collect();
        for r in futures::future::join_all(futures).await {
            let d = r.expect("test produce");
            let e = ends.entry(d.partition).or_insert(0);
            *e = (*e).max(d.offset + 1);
        }
    }
    ends
}

/// Waits until `group` has committed at least `ends` on `topic` (every input done), failing
/// after [`TIMEOUT`].
pub async fn wait_committed(
    kafka: &TestKafka,
    group: &str,
    topic: &str,
    ends: &BTreeMap<i32, i64>,
) {
    let partitions = kafka.partition_count(topic).await.expect("input topic");
    let start = std::time::Instant::now();
    loop {
        let got = kafka.committed(group, topic, partitions).await;
        if ends
            .iter()
            .all(|(&p, &end)| got.get(p as usize).is_some_and(|&c| c >= end))
        {
            return;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "group {group} committed {got:?}, expected {ends:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Reads `topic` from the beginning until `done(records so far)` holds, failing after
/// [`TIMEOUT`]; then keeps reading until nothing new arrives for `settle`, to catch extras.
pub async fn read_until<F>(
    kafka: &TestKafka,
    topic: &str,
    settle: Duration,
    mut done: F,
) -> Vec<Record>
where
    F: FnMut(&[Record]) -> bool,
{
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::{Offset, TopicPartitionList};
    let partitions = kafka.partition_count(topic).await.unwrap_or(1);
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap_servers())
        .set("group.id", unique("e2e-reader"))
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
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut out: Vec<Record> = Vec::new();
    let mut satisfied = done(&out);
    loop {
        let until = if satisfied {
            deadline.min(tokio::time::Instant::now() + settle)
        } else {
            deadline
        };
        match tokio::time::timeout_at(until, consumer.recv()).await {
            Ok(Ok(m)) => {
                out.push(Record {
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
                });
                if !satisfied {
                    satisfied = done(&out);
                }
            }
            Ok(Err(e)) => eprintln!("read {topic}: {e}"),
            Err(_) => break,
        }
    }
    tokio::task::spawn_blocking(move || drop(consumer))
        .await
        .unwrap();
    assert!(
        satisfied,
        "{topic}: outputs incomplete after {TIMEOUT:?} ({} records)",
        out.len()
    );
    out
}
