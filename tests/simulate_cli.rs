//! `readmit simulate` end to end: same arguments → byte-identical file; manifest matches the
//! file; MLLP framing; argument errors. Skips when the vendored data set is missing.

use std::path::Path;
use std::process::Command;

use readmit::hl7::{split_messages, Message};

fn data() -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/diabetes130/diabetic_data.csv.gz");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} not found", p.display());
        None
    }
}

fn simulate(data: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_readmit"))
        .arg("simulate")
        .arg("--data")
        .arg(data)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn same_arguments_give_identical_files_and_a_matching_manifest() {
    let Some(data) = data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.hl7");
    let b = dir.path().join("b.hl7");
    let manifest = dir.path().join("m.json");
    let args = |out: &Path| {
        vec![
            "--split".to_string(),
            "test".into(),
            "--patients".into(),
            "200".into(),
            "--sprinkle".into(),
            "0.3".into(),
            "--malformed".into(),
            "0.05".into(),
            "--seed".into(),
            "5".into(),
            "--output".into(),
            out.display().to_string(),
        ]
    };
    let mut first = args(&a);
    first.extend(["--manifest".to_string(), manifest.display().to_string()]);
    let out = simulate(&data, &first.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("200 patients"), "{stderr}");
    let out = simulate(
        &data,
        &args(&b).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(out.status.success());
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap());

    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let items: Vec<&[u8]> = split_messages(&bytes).collect();
    assert_eq!(m["records"].as_u64().unwrap() as usize, items.len());
    let malformed = m["malformed"].as_array().unwrap();
    assert!(!malformed.is_empty());
    for entry in malformed {
        let i = entry["record"].as_u64().unwrap() as usize;
        let ok = Message::parse(items[i])
            .ok()
            .and_then(|msg| readmit::adt::AdtEvent::from_message(&msg).ok())
            .is_some_and(|ev| ev.patient_key().is_some());
        assert!(!ok, "malformed record {i} parsed");
    }
    let index = m["index_discharges"].as_array().unwrap();
    assert!(index.len() >= 200);
    for e in index {
        assert_eq!(e["patient_nbr"].as_u64().unwrap() % 5, 0);
    }
    // The summary tells the discharges from the index discharges (eligible, scored).
    let eligible = index
        .iter()
        .filter(|e| e["index_eligible"].as_bool() == Some(true))
        .count();
    assert!(eligible < index.len(), "some discharges are not eligible");
    assert!(
        stderr.contains(&format!(
            "{} dataset discharges ({eligible} index discharges;",
            index.len()
        )),
        "{stderr}"
    );
}

#[test]
fn mllp_output_frames_every_record() {
    let Some(data) = data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("p.hl7");
    let framed = dir.path().join("f.mllp");
    let common = ["--patients", "30", "--malformed", "0.2"];
    let out = simulate(
        &data,
        &[&common[..], &["--output", plain.to_str().unwrap()]].concat(),
    );
    assert!(out.status.success());
    let out = simulate(
        &data,
        &[
            &common[..],
            &["--mllp", "--output", framed.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(out.status.success());
    let bytes = std::fs::read(&framed).unwrap();
    assert_eq!(bytes.first(), Some(&0x0B));
    assert_eq!(&bytes[bytes.len() - 2..], &[0x1C, 0x0D]);
    let frames = bytes.iter().filter(|&&b| b == 0x0B).count();
    assert_eq!(frames, split_messages(&bytes).count());
}

#[test]
fn missing_output_is_an_error() {
    let Some(data) = data() else { return };
    let out = simulate(&data, &["--patients", "1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output FILE or --topic"));
    // Zero patients did nothing and exited 0 with an empty file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("none.hl7");
    let out = simulate(
        &data,
        &["--patients", "0", "--output", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'--patients <N>': must be at least 1"));
    assert!(!file.exists());
}

#[test]
fn an_unreachable_broker_fails_fast_naming_the_servers() {
    let Some(data) = data() else { return };
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .args(["simulate", "--patients", "2", "--topic", "adt.events"])
        .args(["--bootstrap-servers", "127.0.0.1:1", "--data"])
        .arg(&data)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no Kafka broker answered at 127.0.0.1:1")
            && stderr.contains("--bootstrap-servers"),
        "{stderr}"
    );
    // One line, no backtrace even with RUST_BACKTRACE=1 (a user error is not a crash).
    assert!(!stderr.contains("Stack backtrace"), "{stderr}");
    // Before: librdkafka's 300 s message timeout, then a count with no reason.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
}
