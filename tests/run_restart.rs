//! `readmit run` as an operator runs it: the real binary with a config file, fed a few
//! thousand simulated ADT messages (2% malformed records, sprinkled duplicates, updates,
//! cancelled discharges and merges), stopped with SIGTERM while it works through the second
//! half, and started again with the same group.
//!
//! The oracle is the same pipeline driven in-process over the same records (it is pure), so
//! the test knows exactly which risk-score records, alerts per collaborative topic, outcomes
//! and dead letters must exist. It checks: every expected score, alert and outcome is there, on
//! the right topic, and nothing else; every malformed record is in the DLQ, byte for byte; no
//! output is duplicated (a graceful stop drains and commits); the two runs' `Stopped.` log
//! lines account for every input exactly once. It prints the measured figures (messages,
//! scores, alerts per topic, DLQ, duplicates, shutdown and restart time).
//!
//! Runs on the in-process mock cluster (it listens on real TCP, so the child process can reach
//! it) or on the broker in `KAFKA_BOOTSTRAP_SERVERS` (e.g. tansu).

mod common;
#[path = "common/e2e.rs"]
mod e2e;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use readmit::config::Settings;
use readmit::model::Scorer;
use readmit::pipeline::records::RiskScoreRecord;
use readmit::runtime::InboundMessage;
use readmit::service;
use readmit::simulate::{load_rows, RecordKind, SimConfig, Simulator};
use readmit::state::PartitionState;

use common::{Record, TestKafka};

/// Patients simulated: a few thousand messages, below the pipeline's housekeeping sweep
/// (10 000 messages per partition) so the single-state oracle sweeps exactly when the
/// service does (never).
const PATIENTS: usize = 450;

fn q(s: &str) -> String {
    // A JSON string is a valid TOML basic string.
    serde_json::to_string(s).unwrap()
}

/// The config file `readmit run --config` reads, from the test settings.
fn config_toml(s: &Settings) -> String {
    let t = &s.topics;
    let c = &s.consumer;
    let p = &s.producer;
    let model = s.model.path.as_ref().unwrap().display().to_string();
    let mut out = format!(
        "[kafka]\nbootstrap_servers = {}\ngroup_id = {}\nclient_id = \"readmit-run-test\"\n\n\
         [topics]\ninput = {}\nrisk_scores = {}\nalerts_prefix = {}\nunrouted = {}\ndlq = {}\n\
         changelog = {}\noutcomes = {}\ncreate = false\n\n\
         [consumer]\nsession_timeout_ms = {}\ndrain_timeout_ms = {}\nmax_poll_interval_ms = {}\n\
         auto_commit_interval_ms = {}\nrestore_idle_ms = {}\nrestore_stall_timeout_ms = {}\n\
         request_timeout_ms = {}\n\n\
         [producer]\nlinger_ms = {}\ncompression = \"none\"\nretry_backoff_initial_ms = {}\n\
         retry_backoff_max_ms = {}\nflush_timeout_ms = {}\n\n\
         [model]\npath = {}\n\n[pseudonym]\nkey = {}\n\n[metrics]\nlisten = \"\"\n\n\
         [log]\nformat = \"json\"\nlevel = \"info\"\n\n",
        q(&s.kafka.bootstrap_servers),
        q(&s.kafka.group_id),
        q(&t.input),
        q(&t.risk_scores),
        q(&t.alerts_prefix),
        q(&t.unrouted),
        q(&t.dlq),
        q(&t.changelog),
        q(&t.outcomes),
        c.session_timeout_ms,
        c.drain_timeout_ms,
        c.max_poll_interval_ms,
        c.auto_commit_interval_ms,
        c.restore_idle_ms,
        c.restore_stall_timeout_ms,
        c.request_timeout_ms,
        p.linger_ms,
        p.retry_backoff_initial_ms,
        p.retry_backoff_max_ms,
        p.flush_timeout_ms,
        q(&model),
        q(s.pseudonym.key.as_ref().unwrap().expose()),
    );
    for col in &s.alerts.routing.collaboratives {
        let tiers: Vec<String> = col.tiers.iter().map(|t| q(t.as_str())).collect();
        out.push_str(&format!(
            "[[alerts.routing.collaboratives]]\nname = {}\ntiers = [{}]\n\n",
            q(&col.name),
            tiers.join(", ")
        ));
    }
    let list = |v: &[String]| v.iter().map(|x| q(x)).collect::<Vec<_>>().join(", ");
    for rule in &s.alerts.routing.rules {
        out.push_str(&format!(
            "[[alerts.routing.rules]]\ncollaboratives = [{}]\nfacilities = [{}]\nzips = [{}]\n\n",
            list(&rule.collaboratives),
            list(&rule.facilities),
            list(&rule.zips),
        ));
    }
    out
}

/// A `readmit run` child process logging JSON to a file.
struct Service {
    child: Child,
    log: PathBuf,
}

impl Service {
    fn start(config: &Path, log: PathBuf) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_readmit"))
            .arg("run")
            .arg("--config")
            .arg(config)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(File::create(log.with_extension("out")).unwrap())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("readmit binary starts");
        Self { child, log }
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit; returns how long it took.
    fn terminate(mut self) -> (Duration, Stopped) {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM delivered");
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("readmit run did not stop within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = started.elapsed();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(
            exit.success(),
            "readmit run exited with {exit}; log:\n{log}"
        );
        (took, Stopped::from_log(&log))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // A failed assertion must not leave the child running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The figures of the final `Stopped.` log line.
#[derive(Debug, Default)]
struct Stopped {
    messages: u64,
    dead_lettered: u64,
    restored_records: u64,
    slowest_restore_ms: u64,
    abandoned_in_flight: u64,
    outcomes: String,
}

impl Stopped {
    fn from_log(log: &str) -> Self {
        for line in log.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let fields = v.get("fields").unwrap_or(&v);
            if fields.get("message").and_then(|m| m.as_str()) != Some("Stopped.") {
                continue;
            }
            let n = |k: &str| fields.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
            return Self {
                messages: n("messages"),
                dead_lettered: n("dead_lettered"),
                restored_records: n("restored_records"),
                slowest_restore_ms: n("slowest_restore_ms"),
                abandoned_in_flight: n("abandoned_in_flight"),
                outcomes: fields
                    .get("outcomes")
                    .and_then(|x| x.as_str())
                    .unwrap_or_default()
                    .to_string(),
            };
        }
        panic!("no `Stopped.` line in the log:\n{log}");
    }
}

/// What the pipeline must publish, per topic, as `(key, payload)` pairs.
fn oracle(s: &Settings, items: &[(Vec<u8>, Vec<u8>)]) -> BTreeMap<String, Vec<Record>> {
    let scorer: Arc<dyn Scorer> = service::load_scorer(s).expect("model");
    let pipeline = service::build_pipeline(s, scorer).expect("pipeline");
    let mut state = PartitionState::default();
    let mut out: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for (i, (key, payload)) in items.iter().enumerate() {
        let msg = InboundMessage {
            topic: s.topics.input.as_str().into(),
            partition: 0,
            offset: i as i64,
            key: Some(key.clone()),
            payload: Some(payload.clone()),
            timestamp_ms: Some(0),
            headers: Vec::new(),
        };
        for r in pipeline.handle(&mut state, &msg).records {
            out.entry(r.topic.to_string()).or_default().push(Record {
                partition: 0,
                offset: i as i64,
                key: r.key,
                payload: r.payload,
                headers: BTreeMap::new(),
            });
        }
    }
    out
}

/// A risk-score record's identity: alert ID, kind and the control ID of the message that
/// caused it (a re-sent A03 after an A13 is a new discharge record of the same alert).
fn score_key(r: &RiskScoreRecord) -> (String, String, Option<String>) {
    (
        r.alert_id.clone(),
        format!("{:?}", r.kind),
        r.source.control_id.clone(),
    )
}

/// `(key, payload)` pairs, sorted (a multiset: an A03 re-sent after an A13 legitimately
/// repeats its alert).
fn pairs(records: &[Record]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.key.clone().unwrap_or_default(),
                r.payload.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Produces `(key, payload)` records partitioned by key, one record per batch, and returns
/// per partition the offset after the last record written there.
///
/// One record per batch because tansu 0.6 (memory storage) returns nothing for a fetch that
/// starts in the middle of a record batch, so a consumer group whose committed offset falls
/// inside a batch — exactly what a stop in the middle leaves — never gets the rest of it.
/// Kafka returns the whole batch and the client skips what it already had.
async fn produce_one_per_batch(
    kafka: &TestKafka,
    topic: &str,
    items: &[(Vec<u8>, Vec<u8>)],
) -> BTreeMap<i32, i64> {
    send_all(
        &one_per_batch_producer(kafka.bootstrap_servers()),
        topic,
        items,
    )
    .await
}

/// A producer that sends one record per request (see `produce_one_per_batch`).
fn one_per_batch_producer(bootstrap: &str) -> rdkafka::producer::FutureProducer {
    rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "0")
        .set("batch.num.messages", "1")
        .create()
        .expect("producer")
}

/// Sends `items` and returns each partition's end offset after them.
async fn send_all(
    producer: &rdkafka::producer::FutureProducer,
    topic: &str,
    items: &[(Vec<u8>, Vec<u8>)],
) -> BTreeMap<i32, i64> {
    use rdkafka::producer::FutureRecord;
    let mut ends = BTreeMap::new();
    let futures: Vec<_> = items
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
    ends
}

async fn read_n(kafka: &TestKafka, topic: &str, expected: usize) -> Vec<Record> {
    e2e::read_until(kafka, topic, Duration::from_secs(2), |rs| {
        rs.len() >= expected
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readmit_run_survives_sigterm_in_the_middle_with_nothing_missing_or_doubled() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/diabetes130/diabetic_data.csv.gz");
    if !data.exists() {
        eprintln!("skipping: {} not found", data.display());
        return;
    }
    let rows = load_rows(&data).unwrap();
    let records: Vec<_> = Simulator::new(
        SimConfig {
            max_patients: Some(PATIENTS),
            malformed: 0.02,
            sprinkle: 0.05,
            seed: 7,
            ..SimConfig::default()
        },
        &rows,
    )
    .unwrap()
    .records()
    .collect();
    let items: Vec<(Vec<u8>, Vec<u8>)> = records
        .iter()
        .map(|r| (r.key.clone(), r.payload.clone()))
        .collect();
    let malformed: Vec<Vec<u8>> = records
        .iter()
        .filter(|r| matches!(r.kind, RecordKind::Malformed(_)))
        .map(|r| r.payload.clone())
        .collect();
    let index_discharges = records
        .iter()
        .filter(|r| r.kind == RecordKind::IndexDischarge)
        .count();
    assert!(!malformed.is_empty());

    let kafka = TestKafka::start(1);
    let s = e2e::settings(&kafka, "runrestart");
    e2e::create_topics(&kafka, &s, 3).await;
    let expected = oracle(&s, &items);
    let want = |topic: &str| expected.get(topic).cloned().unwrap_or_default();
    let north_topic = e2e::alert_topic(&s, e2e::NORTH);
    let south_topic = e2e::alert_topic(&s, e2e::SOUTH);
    let want_scores = e2e::risk_scores(&want(&s.topics.risk_scores));
    let want_score_keys: BTreeSet<_> = want_scores.iter().map(score_key).collect();
    assert_eq!(
        want_score_keys.len(),
        want_scores.len(),
        "oracle score identities are unique"
    );
    assert_eq!(
        want(&s.topics.dlq).len(),
        malformed.len(),
        "the oracle dead-letters exactly the malformed records"
    );

    // Kept after the test (target/tmp) so a failure can be read in the services' logs.
    let dir = tempfile::Builder::new()
        .prefix("run_restart-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    eprintln!("service logs in {}", dir.display());
    let config = dir.join("readmit.toml");
    std::fs::write(&config, config_toml(&s)).unwrap();

    // First run: the first half completely, then the second half arrives and SIGTERM
    // follows a moment later, while it is being processed.
    let half = items.len() / 2;
    let first = Service::start(&config, dir.join("run1.log"));
    let ends1 = produce_one_per_batch(&kafka, &s.topics.input, &items[..half]).await;
    e2e::wait_committed(&kafka, &s.kafka.group_id, &s.topics.input, &ends1).await;
    // The second half arrives paced (about 2 s in all) while SIGTERM follows the first
    // commit past the first half: the service cannot have finished it by then, however
    // fast the machine (an unpaced burst was sometimes all processed before the signal).
    let bootstrap = kafka.bootstrap_servers().to_string();
    let input_topic = s.topics.input.clone();
    let second_half = items[half..].to_vec();
    let second_producer = tokio::spawn(async move {
        let producer = one_per_batch_producer(&bootstrap);
        let mut ends = BTreeMap::new();
        for chunk in second_half.chunks(20) {
            for (p, e) in send_all(&producer, &input_topic, chunk).await {
                let end = ends.entry(p).or_insert(0);
                *end = e.max(*end);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        ends
    });
    // SIGTERM as soon as the group has committed some of the second half.
    let partitions = kafka.partition_count(&s.topics.input).await.unwrap();
    let first_half: i64 = ends1.values().sum();
    let waited = Instant::now();
    loop {
        let committed: i64 = kafka
            .committed(&s.kafka.group_id, &s.topics.input, partitions)
            .await
            .iter()
            .map(|&c| c.max(0))
            .sum();
        if committed > first_half {
            break;
        }
        assert!(waited.elapsed() < e2e::TIMEOUT, "second half never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (shutdown, run1) = tokio::task::spawn_blocking(move || first.terminate())
        .await
        .unwrap();
    let ends2 = second_producer.await.unwrap();

    // Second run, same group: restores state and finishes the rest.
    let restarted_at = Instant::now();
    let second = Service::start(&config, dir.join("run2.log"));
    let mut ends = ends1.clone();
    for (p, e) in ends2 {
        ends.insert(p, e);
    }
    e2e::wait_committed(&kafka, &s.kafka.group_id, &s.topics.input, &ends).await;
    let caught_up = restarted_at.elapsed();
    let (shutdown2, run2) = tokio::task::spawn_blocking(move || second.terminate())
        .await
        .unwrap();

    // Every input accounted for exactly once over the two runs.
    assert_eq!(
        run1.messages + run2.messages,
        items.len() as u64,
        "run 1 {run1:?}\nrun 2 {run2:?}"
    );
    assert!(
        run1.messages > half as u64 && run2.messages > 0,
        "stopped in the middle of the second half: {run1:?}"
    );
    assert!(run2.restored_records > 0, "run 2 restored state: {run2:?}");
    assert_eq!(
        run1.dead_lettered + run2.dead_lettered,
        malformed.len() as u64
    );

    // Scores: exactly the oracle's, none missing, none doubled.
    let got_records = read_n(&kafka, &s.topics.risk_scores, want_scores.len()).await;
    let got_scores = e2e::risk_scores(&got_records);
    let got_keys: BTreeSet<_> = got_scores.iter().map(score_key).collect();
    let score_dups = got_scores.len() - got_keys.len();
    assert_eq!(got_keys, want_score_keys, "risk-score records");
    let want_p: BTreeMap<_, _> = want_scores
        .iter()
        .map(|r| (score_key(r), (r.probability, r.features.clone())))
        .collect();
    for r in &got_scores {
        assert_eq!(
            want_p[&score_key(r)],
            (r.probability, r.features.clone()),
            "a restarted run computes what an undisturbed one does"
        );
    }
    let scored_index = got_scores
        .iter()
        .filter(|r| r.kind == readmit::alerts::AlertKind::Discharge)
        .filter_map(|r| r.visit_number.clone())
        .collect::<BTreeSet<_>>();

    // Alerts: the same records on the same collaborative topics.
    let mut alert_counts = BTreeMap::new();
    let mut alert_dups = 0;
    for topic in [&north_topic, &south_topic, &s.topics.unrouted] {
        let want_alerts = want(topic);
        let got = read_n(&kafka, topic, want_alerts.len()).await;
        let (got_pairs, want_pairs) = (pairs(&got), pairs(&want_alerts));
        let got_set: BTreeSet<_> = got_pairs.iter().collect();
        let want_set: BTreeSet<_> = want_pairs.iter().collect();
        assert!(
            got_set == want_set,
            "alerts on {topic}: {} distinct expected, {} distinct received, {} missing, {} unexpected",
            want_set.len(),
            got_set.len(),
            want_set.difference(&got_set).count(),
            got_set.difference(&want_set).count()
        );
        alert_counts.insert(topic.clone(), got.len());
        alert_dups += got_pairs.len().saturating_sub(want_pairs.len());
        assert!(got_pairs.len() >= want_pairs.len(), "alerts on {topic}");
    }
    assert!(want(&north_topic).len() > 10 && want(&south_topic).len() > 10);
    assert!(want(&s.topics.unrouted).is_empty());

    // Outcomes and dead letters.
    let want_outcomes = want(&s.topics.outcomes);
    let got_outcomes = read_n(&kafka, &s.topics.outcomes, want_outcomes.len()).await;
    let outcome_keys = |records: &[Record]| {
        e2e::outcomes(records)
            .iter()
            .map(|o| {
                (
                    o.alert_id.clone(),
                    format!("{:?}", o.kind),
                    o.days_to_readmission,
                    o.source.control_id.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let got_o = outcome_keys(&got_outcomes);
    let got_o_set: BTreeSet<_> = got_o.iter().cloned().collect();
    let outcome_dups = got_o.len() - got_o_set.len();
    let want_o: BTreeSet<_> = outcome_keys(&want_outcomes).into_iter().collect();
    assert_eq!(got_o_set, want_o, "outcome records");
    let dlq = read_n(&kafka, &s.topics.dlq, malformed.len()).await;
    let mut got_dead: Vec<Vec<u8>> = dlq
        .iter()
        .map(|r| r.payload.clone().unwrap_or_default())
        .collect();
    let mut want_dead = malformed.clone();
    got_dead.sort();
    want_dead.sort();
    assert_eq!(
        got_dead, want_dead,
        "every malformed record dead-lettered, unchanged"
    );

    println!(
        "run_restart: inputs {} ({} malformed, {} index discharges, {} distinct patients) | \
         risk-scores {} ({} distinct, {} discharge visits scored) | alerts {:?} | outcomes {} | \
         DLQ {} | duplicates: scores {score_dups}, alerts {alert_dups}, outcomes {outcome_dups} | \
         run 1 {} msgs, SIGTERM→exit {} ms | run 2 {} msgs, restored {} changelog records \
         (slowest partition {} ms), restart→caught up {} ms, SIGTERM→exit {} ms | \
         outcomes run1 [{}] run2 [{}]",
        items.len(),
        malformed.len(),
        index_discharges,
        PATIENTS,
        got_scores.len(),
        got_keys.len(),
        scored_index.len(),
        alert_counts,
        got_outcomes.len(),
        dlq.len(),
        run1.messages,
        shutdown.as_millis(),
        run2.messages,
        run2.restored_records,
        run2.slowest_restore_ms,
        caught_up.as_millis(),
        shutdown2.as_millis(),
        run1.outcomes,
        run2.outcomes,
    );
    assert_eq!(
        (score_dups, alert_dups, outcome_dups),
        (0, 0, 0),
        "a graceful stop duplicates nothing (abandoned in flight: {} / {})",
        run1.abandoned_in_flight,
        run2.abandoned_in_flight
    );
}
