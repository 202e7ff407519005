//! Fault-injection harness (tests/fault_*.rs): a simulated ADT stream produced with known
//! partitions, offsets and timestamps; the reference outputs of an undisturbed run (the domain
//! pipeline driven in-process over the same partitions in offset order — exactly what the
//! runtime does, minus Kafka); reading every output topic back; and the check that turns the
//! two into a table row: fault, runs, messages, lost, duplicated (same id), wrong.
//!
//! Because the reference sees each input at the partition and offset it really has, its
//! outputs are byte-identical to what a correct service publishes (risk scores carry the
//! source offset, features and probability; alerts carry the alert ID). So per output topic:
//! a reference record missing from the topic is *lost*; an extra byte-identical copy is a
//! *duplicate* (same alert ID, same probability: the at-least-once window); anything else is
//! *wrong* (e.g. a discharge re-scored on a state that lost history). The compacted changelog's
//! last value per key must equal the reference state, and the group's committed offsets must
//! equal the input's end.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use readmit::config::Settings;
use readmit::model::Scorer;
use readmit::pipeline::records::RiskScoreRecord;
use readmit::runtime::{InboundMessage, Processor};
use readmit::service;
use readmit::simulate::{load_rows, RecordKind, SimConfig, SimRecord, Simulator};

use super::common::{unique, Record, TestKafka};
use super::e2e;

/// Largest input record the fault tests produce (the 10 MB poison record plus headroom).
pub const TEST_MAX_BYTES: usize = 12_000_000;

/// One input record as it landed on the input topic.
#[derive(Clone)]
pub struct Input {
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub timestamp_ms: i64,
    /// Simulator kind, when the record came from the simulator.
    pub kind: Option<RecordKind>,
    /// Simulator encounter, when known.
    pub encounter: Option<u64>,
}

/// A record to produce: key, payload, and what the simulator said it is.
#[derive(Clone)]
pub struct Item {
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub kind: Option<RecordKind>,
    pub encounter: Option<u64>,
}

impl Item {
    pub fn raw(key: &[u8], payload: Vec<u8>) -> Self {
        Self {
            key: key.to_vec(),
            payload,
            kind: None,
            encounter: None,
        }
    }
}

/// The simulated stream of the first `patients` patients (seed `seed`, sprinkles with
/// probability `sprinkle`: A08 updates, exact duplicates, A13 + re-sent A03, A40 merges).
pub fn simulated(patients: usize, seed: u64, sprinkle: f64) -> Vec<Item> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/diabetes130/diabetic_data.csv.gz");
    let rows = load_rows(&data).expect("vendored Diabetes-130 data");
    let sim = Simulator::new(
        SimConfig {
            seed,
            max_patients: Some(patients),
            sprinkle,
            ..SimConfig::default()
        },
        &rows,
    )
    .expect("simulator");
    sim.records().map(item_of).collect()
}

fn item_of(r: SimRecord) -> Item {
    Item {
        key: r.key,
        payload: r.payload,
        kind: Some(r.kind),
        encounter: r.encounter_id,
    }
}

/// A producer for test input that accepts records up to [`TEST_MAX_BYTES`].
///
/// On a real broker (`KAFKA_BOOTSTRAP_SERVERS`, or one a test started) every record goes in its own batch: tansu 0.6
/// returns nothing for a fetch that starts inside a record batch, which is exactly where a
/// crash or stop in the middle leaves the committed offset (tests/run_restart.rs found it;
/// Kafka is not affected).
pub fn input_producer(bootstrap: &str) -> FutureProducer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "2")
        .set("message.max.bytes", TEST_MAX_BYTES.to_string());
    if super::common::is_real_broker(bootstrap) {
        config.set("linger.ms", "0").set("batch.num.messages", "1");
    }
    config.create().expect("input producer")
}

/// Produces `items` (partitioned by key, or to `partition`) with explicit timestamps and
/// returns where each landed. With `pace = Some((n, gap))` it sends `n` records, waits `gap`,
/// and so on (input arriving while the service works); otherwise all at once.
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    partition: Option<i32>,
    items: &[Item],
    pace: Option<(usize, Duration)>,
) -> Vec<Input> {
    let producer = input_producer(bootstrap);
    let base_ts: i64 = 1_790_000_000_000;
    let chunk = pace.map_or(2_000, |(n, _)| n.max(1));
    let mut out = Vec::with_capacity(items.len());
    let mut pending = Vec::new();
    for (c, batch) in items.chunks(chunk).enumerate() {
        if c > 0 {
            if let Some((_, gap)) = pace {
                tokio::time::sleep(gap).await;
            }
        }
        for (i, item) in batch.iter().enumerate() {
            let n = c * chunk + i;
            let ts = base_ts + n as i64;
            let mut r = FutureRecord::to(topic)
                .key(item.key.as_slice())
                .payload(item.payload.as_slice())
                .timestamp(ts);
            if let Some(p) = partition {
                r = r.partition(p);
            }
            // Idempotent producer: records in flight together keep their order.
            let delivery = loop {
                match producer.send_result(r) {
                    Ok(d) => break d,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        r = back;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err((e, _)) => panic!("test produce: {e}"),
                }
            };
            pending.push((n, ts, delivery));
        }
        if pace.is_none() || pending.len() >= 4 * chunk {
            drain_pending(&mut pending, items, &mut out).await;
        }
    }
    drain_pending(&mut pending, items, &mut out).await;
    if out.iter().any(|i| i.offset < 0) {
        resolve_unknown_offsets(bootstrap, topic, &mut out).await;
    }
    out.sort_by_key(|i| (i.partition, i.offset));
    out
}

/// Finds the offsets the producer could not report by reading the records back.
///
/// An idempotent producer whose retry of a batch the broker had already written (a broker
/// killed after writing, before answering) gets "duplicate sequence": the record is stored
/// once, the delivery succeeds, but its offset is unknown (-1). Every test input has its own
/// timestamp, so the record read back at that timestamp in that partition is the one.
pub async fn resolve_unknown_offsets(bootstrap: &str, topic: &str, inputs: &mut [Input]) {
    let unknown: BTreeSet<(i32, i64)> = inputs
        .iter()
        .filter(|i| i.offset < 0)
        .map(|i| (i.partition, i.timestamp_ms))
        .collect();
    let consumer = reader(bootstrap, "fault-offsets");
    let mut tpl = TopicPartitionList::new();
    for p in unknown.iter().map(|(p, _)| *p).collect::<BTreeSet<_>>() {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut found: BTreeMap<(i32, i64), i64> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while found.len() < unknown.len() {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(m)) => {
                let at = (m.partition(), m.timestamp().to_millis().unwrap_or(-1));
                if unknown.contains(&at) {
                    found.entry(at).or_insert(m.offset());
                }
            }
            Ok(Err(e)) => eprintln!("offset reader: {e}"),
            Err(_) => panic!(
                "{} of {} inputs with an unknown offset not found in {topic}",
                unknown.len() - found.len(),
                unknown.len()
            ),
        }
    }
    eprintln!(
        "{} input offset(s) unknown to the producer (duplicate-sequence retries) read back",
        found.len()
    );
    for i in inputs.iter_mut().filter(|i| i.offset < 0) {
        i.offset = found[&(i.partition, i.timestamp_ms)];
    }
}

type PendingSend = (usize, i64, rdkafka::producer::DeliveryFuture);

async fn drain_pending(pending: &mut Vec<PendingSend>, items: &[Item], out: &mut Vec<Input>) {
    for (n, ts, delivery) in pending.drain(..) {
        let (partition, offset) = match delivery.await {
            Ok(Ok(d)) => (d.partition, d.offset),
            Ok(Err((e, _))) => panic!("test produce failed: {e}"),
            Err(_) => panic!("test producer went away"),
        };
        let item = &items[n];
        out.push(Input {
            partition,
            offset,
            key: item.key.clone(),
            payload: item.payload.clone(),
            timestamp_ms: ts,
            kind: item.kind,
            encounter: item.encounter,
        });
    }
}

/// Offset after the last input of each partition (what the group commits when done).
pub fn ends(inputs: &[Input]) -> BTreeMap<i32, i64> {
    let mut ends = BTreeMap::new();
    for i in inputs {
        let e = ends.entry(i.partition).or_insert(0);
        *e = (*e).max(i.offset + 1);
    }
    ends
}

/// Identity of one output record: key, payload and headers (the partition is the
/// partitioner's choice and not compared).
pub type OutKey = (Vec<u8>, Vec<u8>, BTreeMap<String, Vec<u8>>);

/// What an undisturbed run publishes for the inputs.
#[derive(Default)]
pub struct Reference {
    /// Per output topic (changelog excluded): each record and how many times.
    pub outputs: BTreeMap<String, BTreeMap<OutKey, usize>>,
    /// Last changelog value per (partition, key): the restored state of a correct run.
    pub changelog: BTreeMap<(i32, Vec<u8>), Option<Vec<u8>>>,
    /// Outcome label counts.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Outcome per input `(partition, offset)`.
    pub outcome_of: BTreeMap<(i32, i64), &'static str>,
    /// Index discharges (first send) of the simulator, by visit number.
    pub index_visits: BTreeSet<String>,
    /// Index discharges the reference scored, by visit number.
    pub scored_index_visits: BTreeSet<String>,
    /// Features of every scored discharge, by alert ID (discharge records only).
    pub features: BTreeMap<String, Vec<f64>>,
    /// Inputs.
    pub messages: usize,
}

impl Reference {
    /// Number of records expected on `topic`.
    pub fn expected(&self, topic: &str) -> usize {
        self.outputs.get(topic).map_or(0, |m| m.values().sum())
    }

    /// Total expected output records (changelog excluded).
    pub fn total(&self) -> usize {
        self.outputs.values().flat_map(|m| m.values()).sum()
    }
}

/// Drives the service's pipeline (same settings, model, key, routing) over `inputs`, one state
/// per partition, each partition in offset order.
pub fn reference(settings: &Settings, inputs: &[Input]) -> Reference {
    let scorer: Arc<dyn Scorer> = service::load_scorer(settings).expect("model loads");
    let pipeline = service::build_pipeline(settings, scorer).expect("pipeline");
    let topic: Arc<str> = settings.topics.input.as_str().into();
    let mut by_partition: BTreeMap<i32, Vec<&Input>> = BTreeMap::new();
    for i in inputs {
        by_partition.entry(i.partition).or_default().push(i);
    }
    let mut r = Reference {
        messages: inputs.len(),
        ..Reference::default()
    };
    for (&p, list) in &mut by_partition {
        list.sort_by_key(|i| i.offset);
        let mut state = pipeline.new_state(&topic, p);
        for i in list.iter() {
            if i.kind == Some(RecordKind::IndexDischarge) {
                r.index_visits
                    .insert(i.encounter.expect("index encounter").to_string());
            }
            let msg = InboundMessage {
                topic: topic.clone(),
                partition: p,
                offset: i.offset,
                key: Some(i.key.clone()),
                payload: Some(i.payload.clone()),
                timestamp_ms: Some(i.timestamp_ms),
                headers: Vec::new(),
            };
            let processed = pipeline.process(&mut state, &msg);
            *r.outcomes.entry(processed.outcome).or_insert(0) += 1;
            r.outcome_of.insert((p, i.offset), processed.outcome);
            for rec in &processed.records {
                let key: OutKey = (
                    rec.key.clone().unwrap_or_default(),
                    rec.payload.clone().unwrap_or_default(),
                    rec.headers.iter().cloned().collect(),
                );
                *r.outputs
                    .entry(rec.topic.to_string())
                    .or_default()
                    .entry(key)
                    .or_insert(0) += 1;
                if *rec.topic == *settings.topics.risk_scores {
                    let score: RiskScoreRecord =
                        serde_json::from_slice(rec.payload.as_deref().unwrap()).unwrap();
                    if score.kind == readmit::alerts::AlertKind::Discharge {
                        r.features
                            .insert(score.alert_id.clone(), score.features.clone());
                        if i.kind == Some(RecordKind::IndexDischarge) {
                            r.scored_index_visits
                                .insert(score.visit_number.clone().unwrap_or_default());
                        }
                    }
                }
            }
            for rec in &processed.deferred {
                assert_eq!(*rec.topic, *settings.topics.changelog);
                r.changelog.insert(
                    (
                        rec.partition.unwrap_or(p),
                        rec.key.clone().unwrap_or_default(),
                    ),
                    rec.payload.clone(),
                );
            }
        }
    }
    // Every output topic is compared, even when the reference expects nothing there.
    for t in output_topics(settings) {
        r.outputs.entry(t).or_default();
    }
    r
}

/// The topics a run writes to, changelog excluded.
pub fn output_topics(s: &Settings) -> Vec<String> {
    let t = &s.topics;
    vec![
        t.risk_scores.clone(),
        e2e::alert_topic(s, e2e::NORTH),
        e2e::alert_topic(s, e2e::SOUTH),
        t.unrouted.clone(),
        t.outcomes.clone(),
        t.dlq.clone(),
    ]
}

/// A consumer for reading topics back (assigned, never committing), in a fresh group named
/// after `name`, taking records up to the test producer's size.
fn reader(bootstrap: &str, name: &str) -> StreamConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique(name))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.message.max.bytes", TEST_MAX_BYTES.to_string())
        .create()
        .expect("reader")
}

/// Reads every partition of `topics` from the beginning with one consumer until at least
/// `min` records arrived and then none for `idle`, or `timeout` passed.
pub async fn read_topics(
    kafka: &TestKafka,
    topics: &[String],
    min: usize,
    idle: Duration,
    timeout: Duration,
) -> BTreeMap<String, Vec<Record>> {
    let consumer = reader(kafka.bootstrap_servers(), "fault-reader");
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        let n = kafka.partition_count(t).await.unwrap_or(1);
        for p in 0..n {
            tpl.add_partition_offset(t, p, Offset::Beginning).unwrap();
        }
    }
    consumer.assign(&tpl).unwrap();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut out: BTreeMap<String, Vec<Record>> =
        topics.iter().map(|t| (t.clone(), Vec::new())).collect();
    let mut n = 0;
    loop {
        let until = if n >= min {
            deadline.min(tokio::time::Instant::now() + idle)
        } else {
            deadline
        };
        match tokio::time::timeout_at(until, consumer.recv()).await {
            Ok(Ok(m)) => {
                n += 1;
                out.entry(m.topic().to_string()).or_default().push(Record {
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
            }
            Ok(Err(e)) => eprintln!("read: {e}"),
            Err(_) => break,
        }
    }
    tokio::task::spawn_blocking(move || drop(consumer))
        .await
        .unwrap();
    out
}

/// Waits until `group` has committed exactly `ends` on the input (every input done);
/// returns what was committed last (the caller asserts).
pub async fn wait_committed(
    kafka: &TestKafka,
    s: &Settings,
    ends: &BTreeMap<i32, i64>,
    timeout: Duration,
) -> Vec<i64> {
    let partitions = kafka
        .partition_count(&s.topics.input)
        .await
        .expect("input topic");
    let start = Instant::now();
    loop {
        let got = kafka
            .committed(&s.kafka.group_id, &s.topics.input, partitions)
            .await;
        let done = ends
            .iter()
            .all(|(&p, &end)| got.get(p as usize).is_some_and(|&c| c >= end));
        if done || start.elapsed() > timeout {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One row of the fault table.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub fault: String,
    pub runs: u32,
    pub messages: usize,
    pub outputs_expected: usize,
    pub outputs_read: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub wrong: usize,
    /// Index discharges scored / index discharges the undisturbed run scores.
    pub index_scored: (usize, usize),
    /// Changelog keys whose last value differs from the reference state.
    pub state_mismatches: usize,
    /// Problems, one line each (no message content).
    pub problems: Vec<String>,
}

impl Tally {
    /// The table row, printed to stderr (visible with `--nocapture` and on failure) and, when
    /// `FAULT_TABLE` names a file, appended to it (CI prints the table at the end of a run).
    pub fn print(&self) {
        let broker = match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
            Ok(b) if !b.trim().is_empty() => "real broker",
            _ if self.fault.contains("tansu") => "real broker",
            _ => "mock",
        };
        let row = format!(
            "FAULT-TABLE | {} | {broker} | {} | {} | {} | {} | {} |  (outputs expected {}, read {}; index discharges scored {}/{}; state mismatches {})",
            self.fault,
            self.runs,
            self.messages,
            self.lost,
            self.duplicated,
            self.wrong,
            self.outputs_expected,
            self.outputs_read,
            self.index_scored.0,
            self.index_scored.1,
            self.state_mismatches,
        );
        eprintln!("{row}");
        if let Some(path) = std::env::var_os("FAULT_TABLE") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{row}");
            }
        }
        for p in self.problems.iter().take(200) {
            eprintln!("  problem: {p}");
        }
    }

    /// Prints the row and fails unless nothing was lost, wrong or out of step.
    pub fn assert_clean(&self) {
        self.print();
        assert_eq!(self.lost, 0, "{}: outputs lost", self.fault);
        assert_eq!(self.wrong, 0, "{}: wrong outputs", self.fault);
        assert_eq!(
            self.index_scored.0, self.index_scored.1,
            "{}: every index discharge has a risk score",
            self.fault
        );
        assert_eq!(self.state_mismatches, 0, "{}: restored state", self.fault);
        assert!(
            self.problems.is_empty(),
            "{}: {:?}",
            self.fault,
            self.problems
        );
    }
}

/// Reads every output topic and the changelog, and compares them with `reference`; checks the
/// committed offsets equal the input's end.
pub async fn check(
    kafka: &TestKafka,
    s: &Settings,
    reference: &Reference,
    inputs: &[Input],
    fault: &str,
    runs: u32,
) -> Tally {
    let mut tally = Tally {
        fault: fault.to_string(),
        runs,
        messages: reference.messages,
        outputs_expected: reference.total(),
        ..Tally::default()
    };
    let ends = ends(inputs);
    let committed = wait_committed(kafka, s, &ends, Duration::from_secs(5)).await;
    for (&p, &end) in &ends {
        let c = committed.get(p as usize).copied().unwrap_or(-1);
        if c != end {
            tally
                .problems
                .push(format!("partition {p}: committed {c}, input ends at {end}"));
        }
    }
    let topics = output_topics(s);
    let got = read_topics(
        kafka,
        &topics,
        reference.total(),
        Duration::from_millis(1_500),
        Duration::from_secs(60),
    )
    .await;
    for t in &topics {
        let records = &got[t];
        tally.outputs_read += records.len();
        let mut actual: BTreeMap<OutKey, usize> = BTreeMap::new();
        for r in records {
            *actual
                .entry((
                    r.key.clone().unwrap_or_default(),
                    r.payload.clone().unwrap_or_default(),
                    r.headers.clone(),
                ))
                .or_insert(0) += 1;
        }
        let expected = &reference.outputs[t];
        for (k, &n) in expected {
            let a = actual.get(k).copied().unwrap_or(0);
            if a < n {
                tally.lost += n - a;
                tally
                    .problems
                    .push(format!("{}: lost {}", short(t), describe(s, t, k)));
            } else {
                tally.duplicated += a - n;
            }
        }
        for (k, &a) in &actual {
            if !expected.contains_key(k) {
                tally.wrong += a;
                tally.problems.push(format!(
                    "{}: unexpected {}{}",
                    short(t),
                    describe(s, t, k),
                    closest_difference(expected, k)
                ));
            }
        }
        if *t == s.topics.risk_scores {
            let mut scored = BTreeSet::new();
            for r in records {
                let score: RiskScoreRecord =
                    serde_json::from_slice(r.payload.as_deref().unwrap_or_default())
                        .expect("risk-score JSON");
                if score.kind == readmit::alerts::AlertKind::Discharge {
                    if let Some(f) = reference.features.get(&score.alert_id) {
                        if f != &score.features {
                            let differ: Vec<String> = f
                                .iter()
                                .zip(&score.features)
                                .enumerate()
                                .filter(|(_, (a, b))| a != b)
                                .map(|(i, (a, b))| {
                                    format!("{} {a} → {b}", readmit::features::FEATURES[i].name)
                                })
                                .collect();
                            tally.problems.push(format!(
                                "alert {} (source {}/{}): features differ from the undisturbed run: {}",
                                score.alert_id,
                                score.source.partition,
                                score.source.offset,
                                differ.join(", ")
                            ));
                        }
                    }
                    if let Some(v) = &score.visit_number {
                        if reference.index_visits.contains(v) {
                            scored.insert(v.clone());
                        }
                    }
                }
            }
            tally.index_scored = (
                scored.intersection(&reference.scored_index_visits).count(),
                reference.scored_index_visits.len(),
            );
        }
    }
    // The changelog's last value per key is the state a restart restores.
    let changelog = read_topics(
        kafka,
        std::slice::from_ref(&s.topics.changelog),
        reference.changelog.len(),
        Duration::from_millis(1_000),
        Duration::from_secs(60),
    )
    .await;
    let mut records = changelog[&s.topics.changelog].clone();
    records.sort_by_key(|r| (r.partition, r.offset));
    let mut last: BTreeMap<(i32, Vec<u8>), Option<Vec<u8>>> = BTreeMap::new();
    for r in records {
        last.insert((r.partition, r.key.unwrap_or_default()), r.payload);
    }
    for (k, v) in &reference.changelog {
        if last.get(k) != Some(v) {
            tally.state_mismatches += 1;
        }
    }
    tally.state_mismatches += last
        .keys()
        .filter(|k| !reference.changelog.contains_key(*k))
        .count();
    tally
}

/// For an unexpected JSON record: which top-level fields (or headers) differ from the
/// expected record with the same key (alert ID), if there is one.
fn closest_difference(expected: &BTreeMap<OutKey, usize>, k: &OutKey) -> String {
    let Ok(serde_json::Value::Object(got)) = serde_json::from_slice::<serde_json::Value>(&k.1)
    else {
        return String::new();
    };
    let mut best: Option<Vec<String>> = None;
    for e in expected.keys().filter(|e| e.0 == k.0) {
        let Ok(serde_json::Value::Object(want)) = serde_json::from_slice::<serde_json::Value>(&e.1)
        else {
            continue;
        };
        let mut diff: Vec<String> = want
            .iter()
            .filter(|(f, v)| got.get(*f) != Some(*v))
            .map(|(f, v)| {
                let cut = |v: String| v.chars().take(60).collect::<String>();
                let g = got.get(f).cloned().unwrap_or_default().to_string();
                format!("{f}: want {} got {}", cut(v.to_string()), cut(g))
            })
            .collect();
        if e.2 != k.2 {
            diff.push("headers".into());
        }
        if best.as_ref().is_none_or(|b| diff.len() < b.len()) {
            best = Some(diff);
        }
    }
    match best {
        Some(d) => format!(" — vs expected same key: {}", d.join("; ")),
        None => " — no expected record with this key".into(),
    }
}

fn short(topic: &str) -> &str {
    topic.split('-').next().unwrap_or(topic)
}

/// A value-light description of an output record for failure messages.
fn describe(s: &Settings, topic: &str, k: &OutKey) -> String {
    if topic == s.topics.risk_scores {
        if let Ok(r) = serde_json::from_slice::<RiskScoreRecord>(&k.1) {
            return format!(
                "risk score alert {} {:?} p={:?} source {}/{}",
                r.alert_id, r.kind, r.probability, r.source.partition, r.source.offset
            );
        }
    }
    let header = |n: &str| {
        k.2.get(n)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    format!(
        "record of {} bytes (source {}/{}, kind {})",
        k.1.len(),
        header(readmit::runtime::dlq_headers::SOURCE_PARTITION),
        header(readmit::runtime::dlq_headers::SOURCE_OFFSET),
        header(readmit::pipeline::DLQ_KIND),
    )
}

/// Summary outcome counts equal the reference's (an in-process run without redelivery).
pub fn outcomes_match(summary_outcomes: &BTreeMap<&'static str, u64>, reference: &Reference) {
    assert_eq!(
        summary_outcomes, &reference.outcomes,
        "outcome counts of the run vs the undisturbed reference"
    );
}

// ---------------------------------------------------------------------------------------------
// `readmit run` as a child process.

/// The settings as a TOML file `readmit run --config` reads (metrics endpoint off).
pub fn write_config(s: &Settings, dir: &Path) -> PathBuf {
    use toml::{Table, Value};
    let mut root = Table::new();
    let mut kafka = Table::new();
    kafka.insert(
        "bootstrap_servers".into(),
        s.kafka.bootstrap_servers.clone().into(),
    );
    kafka.insert("group_id".into(), s.kafka.group_id.clone().into());
    kafka.insert("client_id".into(), s.kafka.client_id.clone().into());
    let lib: Table = s
        .kafka
        .librdkafka
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    kafka.insert("librdkafka".into(), lib.into());
    root.insert("kafka".into(), kafka.into());
    let t = &s.topics;
    let mut topics = Table::new();
    for (k, v) in [
        ("input", &t.input),
        ("risk_scores", &t.risk_scores),
        ("alerts_prefix", &t.alerts_prefix),
        ("unrouted", &t.unrouted),
        ("dlq", &t.dlq),
        ("changelog", &t.changelog),
        ("outcomes", &t.outcomes),
    ] {
        topics.insert(k.into(), v.clone().into());
    }
    topics.insert("create".into(), t.create.into());
    topics.insert("partitions".into(), i64::from(t.partitions).into());
    topics.insert("replication".into(), i64::from(t.replication).into());
    root.insert("topics".into(), topics.into());
    let c = &s.consumer;
    let mut consumer = Table::new();
    for (k, v) in [
        ("session_timeout_ms", c.session_timeout_ms),
        ("drain_timeout_ms", c.drain_timeout_ms),
        (
            "max_in_flight_per_partition",
            c.max_in_flight_per_partition as u64,
        ),
        ("auto_commit_interval_ms", c.auto_commit_interval_ms),
        ("max_poll_interval_ms", c.max_poll_interval_ms),
        ("restore_idle_ms", c.restore_idle_ms),
        ("restore_stall_timeout_ms", c.restore_stall_timeout_ms),
        ("request_timeout_ms", c.request_timeout_ms),
    ] {
        consumer.insert(k.into(), (v as i64).into());
    }
    consumer.insert(
        "auto_offset_reset".into(),
        c.auto_offset_reset.clone().into(),
    );
    consumer.insert(
        "assignment_strategy".into(),
        c.assignment_strategy.clone().into(),
    );
    root.insert("consumer".into(), consumer.into());
    let p = &s.producer;
    let mut producer = Table::new();
    producer.insert("idempotence".into(), p.idempotence.into());
    producer.insert("compression".into(), p.compression.clone().into());
    for (k, v) in [
        ("linger_ms", p.linger_ms),
        (
            "queue_buffering_max_messages",
            p.queue_buffering_max_messages,
        ),
        ("message_timeout_ms", p.message_timeout_ms),
        ("message_max_bytes", p.message_max_bytes),
        ("retry_backoff_initial_ms", p.retry_backoff_initial_ms),
        ("retry_backoff_max_ms", p.retry_backoff_max_ms),
        ("flush_timeout_ms", p.flush_timeout_ms),
    ] {
        producer.insert(k.into(), (v as i64).into());
    }
    root.insert("producer".into(), producer.into());
    let mut model = Table::new();
    model.insert(
        "path".into(),
        s.model
            .path
            .as_ref()
            .expect("model path")
            .display()
            .to_string()
            .into(),
    );
    root.insert("model".into(), model.into());
    let mut alerts = Table::new();
    alerts.insert(
        "routing".into(),
        Value::try_from(&s.alerts.routing).expect("routing as TOML"),
    );
    root.insert("alerts".into(), alerts.into());
    let mut pseudonym = Table::new();
    pseudonym.insert(
        "key".into(),
        s.pseudonym
            .key
            .as_ref()
            .expect("key")
            .expose()
            .to_string()
            .into(),
    );
    root.insert("pseudonym".into(), pseudonym.into());
    let mut metrics = Table::new();
    metrics.insert("listen".into(), "".into());
    root.insert("metrics".into(), metrics.into());
    let mut log = Table::new();
    log.insert("format".into(), "text".into());
    log.insert("level".into(), "info,librdkafka=warn".into());
    root.insert("log".into(), log.into());
    let path = dir.join(format!("{}.toml", unique("readmit")));
    std::fs::write(&path, toml::to_string(&root).expect("TOML")).expect("write config");
    path
}

/// A `readmit run` child process; its output goes to a log file kept for failure messages.
pub struct ChildRun {
    pub child: Child,
    pub log: PathBuf,
}

impl ChildRun {
    /// Starts `readmit run --config <config>` in `dir` (no `config/default.toml` there: the
    /// built-in defaults under the test's file).
    pub fn spawn(config: &Path, dir: &Path, n: u32) -> Self {
        let log = dir.join(format!("run-{n}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_readmit"))
            .arg("run")
            .arg("--config")
            .arg(config)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn readmit run");
        Self { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if start.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for ChildRun {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sum of committed offsets of the group on the input (negative = nothing committed).
pub async fn committed_total(kafka: &TestKafka, s: &Settings, partitions: i32) -> i64 {
    kafka
        .committed(&s.kafka.group_id, &s.topics.input, partitions)
        .await
        .iter()
        .map(|c| (*c).max(0))
        .sum()
}

/// Waits until the group has committed at least `target` input records in total (or
/// `timeout` passed); returns the total.
pub async fn wait_progress(
    kafka: &TestKafka,
    s: &Settings,
    partitions: i32,
    target: i64,
    timeout: Duration,
) -> i64 {
    let start = Instant::now();
    loop {
        let c = committed_total(kafka, s, partitions).await;
        if c >= target || start.elapsed() > timeout {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Produces `items` in the background in batches of `batch` every `gap`; the handle yields
/// where each landed.
pub fn feed(
    kafka: &TestKafka,
    topic: &str,
    items: Vec<Item>,
    batch: usize,
    gap: Duration,
) -> tokio::task::JoinHandle<Vec<Input>> {
    let bootstrap = kafka.bootstrap_servers().to_string();
    let topic = topic.to_string();
    tokio::spawn(async move { produce(&bootstrap, &topic, None, &items, Some((batch, gap))).await })
}
