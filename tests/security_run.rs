//! `readmit run` as an operator runs it (the binary, key from the environment, logging at
//! TRACE for every crate) scores and alerts a discharge, then stops on SIGTERM; its whole
//! output must not contain the HMAC key, in clear or hex. Positive control: the alert's
//! pseudonym is the HMAC of the patient under that key, so the key was really loaded and used.
//!
//! Broker: the in-process mock cluster, or `KAFKA_BOOTSTRAP_SERVERS` (see tests/common).

mod common;
#[path = "common/e2e.rs"]
mod e2e;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestKafka;
use readmit::alerts::Pseudonymizer;
use readmit::config::Settings;

const KEY: &str = "sentinel-hmac-key-run-3e8d1f0a9b27";
const MRN: &str = "SECRUN0042";

fn message(trigger: &str, control: &str, discharge: &str) -> Vec<u8> {
    // PV1 by field number (DOMAIN.md §1.3): 2 class, 3 location (facility = PV1-3.4),
    // 4 admission type, 14 admit source, 19 visit number, 36 disposition, 44/45 times.
    let mut pv1 = vec![String::new(); 46];
    pv1[0] = "PV1".into();
    pv1[1] = "1".into();
    pv1[2] = "I".into();
    pv1[3] = "WARD^1^1^NORTH".into();
    pv1[4] = "E".into();
    pv1[14] = "7".into();
    pv1[19] = "VSECRUN1".into();
    pv1[36] = "01".into();
    pv1[44] = "20260101080000".into();
    pv1[45] = discharge.into();
    format!(
        "MSH|^~\\&|EHR|NORTH|READMIT|READMIT|20260101080000||ADT^{trigger}|{control}|P|2.5\r\
         EVN|{trigger}|20260101080000\r\
         PID|1||{MRN}^^^HOSP^MR||DOE^JANE||19500101|F|||1 MAIN ST^^CITY^ST^21201\r\
         {}\r\
         DG1|1||428^Heart failure^I9|||F|||||||||1\r",
        pv1.join("|")
    )
    .into_bytes()
}

/// The settings `readmit run --config` reads; the key is not in the file (environment).
fn write_config(s: &Settings, dir: &Path) -> std::path::PathBuf {
    let t = &s.topics;
    let c = &s.consumer;
    let toml = format!(
        r#"[kafka]
bootstrap_servers = {bootstrap:?}
group_id = {group:?}

[topics]
input = {input:?}
risk_scores = {risk:?}
alerts_prefix = {prefix:?}
unrouted = {unrouted:?}
dlq = {dlq:?}
changelog = {changelog:?}
outcomes = {outcomes:?}
replication = 1

[consumer]
session_timeout_ms = {session}
drain_timeout_ms = {drain}
max_poll_interval_ms = {poll}
auto_commit_interval_ms = 500
restore_stall_timeout_ms = {stall}
request_timeout_ms = {request}

[producer]
linger_ms = 1
compression = "none"

[model]
path = {model:?}

[[alerts.routing.collaboratives]]
name = "{north}"
tiers = ["low", "moderate", "high"]

[[alerts.routing.rules]]
collaboratives = ["{north}"]
facilities = ["*"]

[metrics]
listen = ""

[log]
format = "json"
level = "trace"
"#,
        bootstrap = s.kafka.bootstrap_servers,
        group = s.kafka.group_id,
        input = t.input,
        risk = t.risk_scores,
        prefix = t.alerts_prefix,
        unrouted = t.unrouted,
        dlq = t.dlq,
        changelog = t.changelog,
        outcomes = t.outcomes,
        session = c.session_timeout_ms,
        drain = c.drain_timeout_ms,
        poll = c.max_poll_interval_ms,
        stall = c.restore_stall_timeout_ms,
        request = c.request_timeout_ms,
        model = s.model.path.as_ref().unwrap().display().to_string(),
        north = e2e::NORTH,
    );
    let path = dir.join("readmit.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readmit_run_never_logs_the_hmac_key_it_uses() {
    let kafka = TestKafka::start(1);
    let s = e2e::settings(&kafka, "secrun");
    e2e::create_topics(&kafka, &s, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&s, dir.path());
    let log = dir.path().join("run.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .args(["run", "--config"])
        .arg(&config)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .env("READMIT__PSEUDONYM__KEY", KEY)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("spawn readmit run");

    e2e::produce_bytes(
        &kafka,
        &s.topics.input,
        None,
        &[
            (MRN.into(), message("A01", "S1", "")),
            (MRN.into(), message("A03", "S2", "20260105120000")),
        ],
    )
    .await;
    let alerts = e2e::read_until(
        &kafka,
        &e2e::alert_topic(&s, e2e::NORTH),
        Duration::from_millis(500),
        |r| !r.is_empty(),
    )
    .await;

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("readmit run did not stop within 60 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "readmit run failed:\n{output}");

    // Positive control: the alert carries the HMAC pseudonym under KEY.
    assert_eq!(alerts.len(), 1, "one alert for the one discharge");
    let alert: serde_json::Value =
        serde_json::from_slice(alerts[0].payload.as_deref().unwrap()).expect("alert JSON");
    let expected = Pseudonymizer::new(KEY.as_bytes())
        .unwrap()
        .patient("HOSP", MRN);
    assert_eq!(alert["patient"]["pseudonym"], expected.as_str());
    // The log is the TRACE output of a real run (not empty, not just an error).
    assert!(
        output.lines().count() > 20,
        "expected a TRACE log, got:\n{output}"
    );

    let hex_key: String = KEY.bytes().map(|b| format!("{b:02x}")).collect();
    for (what, needle) in [("key", KEY), ("hex key", hex_key.as_str())] {
        assert!(!output.contains(needle), "the {what} appears in the output");
    }
    assert!(
        !output.contains(&KEY[..16]),
        "a key prefix appears in the output"
    );
}
