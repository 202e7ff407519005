//! `readmit simulate --topic`: every record is delivered, keyed by the patient's MRN, in each
//! patient's order. Runs against an in-process librdkafka mock cluster; skips when the vendored
//! data set is missing.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::{ClientConfig, Message as _};
use readmit::hl7::Message;

#[test]
fn records_are_produced_keyed_by_mrn_in_patient_order() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/diabetes130/diabetic_data.csv.gz");
    if !data.exists() {
        eprintln!("skipping: {} not found", data.display());
        return;
    }
    let mock: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
    mock.create_topic("adt-sim", 3, 1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.json");
    let out = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .args([
            "simulate",
            "--patients",
            "40",
            "--sprinkle",
            "0.3",
            "--malformed",
            "0.05",
        ])
        .arg("--data")
        .arg(&data)
        .args(["--topic", "adt-sim", "--bootstrap-servers", &bootstrap])
        .arg("--manifest")
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let total = m["records"].as_u64().unwrap() as usize;
    assert!(
        stderr.contains(&format!("{total} records delivered to Kafka, 0 failed")),
        "{stderr}"
    );

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "simulate-test")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["adt-sim"]).unwrap();
    let mut by_key: HashMap<Vec<u8>, Vec<Vec<u8>>> = HashMap::new();
    let mut got = 0usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    while got < total && Instant::now() < deadline {
        if let Some(Ok(msg)) = consumer.poll(Duration::from_millis(200)) {
            by_key
                .entry(msg.key().unwrap().to_vec())
                .or_default()
                .push(msg.payload().unwrap().to_vec());
            got += 1;
        }
    }
    assert_eq!(got, total);
    assert_eq!(by_key.len(), 40);
    for (key, payloads) in &by_key {
        // Every well-formed message of a key is about that MRN (or the duplicate record merged
        // into it), and event times never go backwards.
        let mut last = String::new();
        for p in payloads {
            let Ok(msg) = Message::parse(p) else { continue };
            let Some(pid) = msg.segment("PID") else {
                continue;
            };
            let Some(evn) = msg.segment("EVN") else {
                continue;
            };
            let mrn = pid.value(3, 1).unwrap().into_owned();
            assert!(
                mrn.as_bytes() == key.as_slice()
                    || mrn.strip_prefix('D').map(str::as_bytes) == Some(key.as_slice())
            );
            let t = evn.value(6, 1).unwrap().into_owned();
            assert!(t >= last, "out of order");
            last = t;
        }
    }
}
