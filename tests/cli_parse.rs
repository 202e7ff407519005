//! The `readmit parse` binary end to end: stdout lines, stderr, exit status.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn readmit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_readmit"))
}

fn samples_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/hl7-samples");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: {} not found; the HL7 sample corpus lives outside the repository",
            dir.display()
        );
        None
    }
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn two_samples_and_a_malformed_one() {
    let Some(dir) = samples_dir() else { return };
    let a01 = dir.join("cosyte__hl7/test/fixtures/canonical/adt-a01.hl7");
    let batch = dir.join("cosyte__hl7/test/fixtures/batch/single-batch.hl7");
    let bad = dir.join("cosyte__hl7/test/fixtures/malformed/no-msh-segment.hl7");
    let out = readmit()
        .arg("parse")
        .args([&a01, &bad, &batch])
        .output()
        .expect("run readmit");
    assert_eq!(out.status.code(), Some(2), "a bad message exits 2");
    let recs = lines(&out);
    assert_eq!(recs.len(), 4, "1 + 1 error + 2 batch messages");

    assert_eq!(recs[0]["control_id"], "MSG00001");
    assert_eq!(recs[0]["patient_id"], "MRN12345");
    assert_eq!(recs[0]["zip"], "02101");
    assert_eq!(recs[0]["visit_number"], "VISIT001");
    assert_eq!(recs[0]["diagnoses"], Value::Array(vec![]));
    assert_eq!(recs[0]["extra"]["index"], 0);

    assert_eq!(recs[1]["error"]["kind"], "missing_msh");
    assert_eq!(recs[1]["error"]["segment"], "EVN");
    assert_eq!(recs[1]["index"], 0);
    assert_eq!(recs[1]["file"], bad.to_string_lossy().as_ref());
    // The error names no value from the file.
    assert!(!recs[1].to_string().contains("MRN-MAL-001"));

    assert_eq!(recs[2]["control_id"], "MSGA0001");
    assert_eq!(recs[2]["extra"]["index"], 0);
    assert_eq!(recs[3]["control_id"], "MSGA0002");
    assert_eq!(recs[3]["patient_id"], "FAKEMSGA0002");
    assert_eq!(recs[3]["extra"]["index"], 1);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A segment with the given (HL7 field number, raw value) pairs; other fields empty.
fn seg(id: &str, fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|f| f.0).max().unwrap_or(0);
    let mut out = id.to_owned();
    for n in 1..=last {
        out.push('|');
        if let Some((_, v)) = fields.iter().find(|f| f.0 == n) {
            out.push_str(v);
        }
    }
    out.push('\r');
    out
}

/// A synthetic discharge.
fn a03() -> String {
    let pv1 = seg(
        "PV1",
        &[
            (1, "1"),
            (2, "I"),
            (3, "W^1^2^FAC"),
            (4, "E"),
            (14, "7"),
            (19, "V-9"),
            (36, "01"),
            (44, "20260101080000"),
            (45, "20260105100000"),
        ],
    );
    format!(
        "MSH|^~\\&|APP|FAC|||20260101120000||ADT^A03^ADT_A03|CTL-7|P|2.5\r\
         PID|1||M-77^^^HOSP^MR||Doe^Jane||19500101|F|||1 Main^^Town^MA^02139\r\
         {pv1}DG1|1||I21.4^NSTEMI^I10||20260101|F\r"
    )
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = readmit()
        .arg("parse")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn readmit");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("wait readmit")
}

#[test]
fn stdin_json_and_exit_zero() {
    let out = run_stdin(&[], a03().as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let recs = lines(&out);
    assert_eq!(recs.len(), 1);
    let r = &recs[0];
    assert_eq!(r["trigger_event"], "A03");
    assert_eq!(r["patient_id"], "M-77");
    assert_eq!(r["assigning_authority"], "HOSP");
    assert_eq!(r["birth_date"], "19500101");
    assert_eq!(r["admission_type"], "E");
    assert_eq!(r["admit_source"], "7");
    assert_eq!(r["visit_number"], "V-9");
    assert_eq!(r["discharge_disposition"], "01");
    assert_eq!(r["admit_datetime"], "20260101080000");
    assert_eq!(r["discharge_datetime"], "20260105100000");
    assert_eq!(r["diagnoses"][0]["code"], "I21.4");
    assert_eq!(r["diagnoses"][0]["system"], "I10");
    assert_eq!(r["diagnoses"][0]["type"], "F");
    assert_eq!(r["extra"]["file"], Value::Null);
}

#[test]
fn text_format_is_aligned_key_value() {
    let out = run_stdin(&["--format", "text"], a03().as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.lines();
    assert_eq!(it.next(), Some("message 0"));
    assert_eq!(it.next(), Some("  message_type:          ADT"));
    assert!(text.contains("\n  discharge_disposition: 01\n"), "{text}");
    assert!(text.contains("\n  race:                  -\n"), "{text}");
    assert!(text.contains("\n  diagnoses:             1\n"), "{text}");
    assert!(
        text.contains("\n    [1]:                 code=I21.4 system=I10 type=F\n"),
        "{text}"
    );
}

#[test]
fn unreadable_file_is_named_and_the_rest_still_processed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.hl7");
    std::fs::write(&good, a03()).expect("write");
    let missing = dir.path().join("missing.hl7");
    let out = readmit()
        .arg("parse")
        .args([&missing, &good])
        .output()
        .expect("run readmit");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read"), "{stderr}");
    assert!(stderr.contains("missing.hl7"), "{stderr}");
    let recs = lines(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["control_id"], "CTL-7");
}

#[test]
fn non_adt_message_is_an_error_record() {
    let input = "MSH|^~\\&|LAB|FAC|||20260101||ORU^R01|L-1|P|2.5\rPID|1||SECRET-ID\r";
    let out = run_stdin(&[], input.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    let recs = lines(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["error"]["kind"], "not_adt");
    assert_eq!(recs[0]["error"]["segment"], "MSH");
    assert_eq!(recs[0]["error"]["field"], 9);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SECRET-ID"));
}

#[test]
fn batch_count_mismatch_is_a_warning() {
    let Some(dir) = samples_dir() else { return };
    let file = dir.join("cosyte__hl7/test/fixtures/batch/count-mismatch.hl7");
    let out = readmit()
        .arg("parse")
        .arg(&file)
        .output()
        .expect("run readmit");
    assert_eq!(out.status.code(), Some(0), "a count mismatch does not fail");
    let recs = lines(&out);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1]["control_id"], "MSGC0002");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning")
            && stderr.contains("BTS-1 declares 3 messages, the input holds 2"),
        "{stderr}"
    );
}

#[test]
fn text_output_escapes_control_characters_so_a_value_cannot_forge_a_line() {
    // PID-3.1 decodes (\X0A\ is a line feed) to "X\n  sex: M": unescaped, the text output
    // showed a second `sex:` line that is not the message's PID-8 (F).
    let msg = "MSH|^~\\&|APP|FAC|||20260101120000||ADT^A03|C1|P|2.5.1\r\
               PID|1||X\\X0A\\  sex:                   M^^^H^MR|||||F\r";
    let out = run_stdin(&["--format", "text"], msg.as_bytes());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let sex_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("sex:"))
        .collect();
    assert_eq!(sex_lines.len(), 1, "{text}");
    assert!(sex_lines[0].ends_with('F'), "{text}");
    assert!(
        text.contains("X\\n  sex:"),
        "the line feed shows as \\n: {text}"
    );
    // JSON output keeps the decoded value (JSON escapes it).
    let out = run_stdin(&["--format", "json"], msg.as_bytes());
    assert_eq!(
        lines(&out)[0]["patient_id"],
        "X\n  sex:                   M"
    );
}

#[test]
fn a_dash_reads_standard_input_and_help_states_the_exit_codes() {
    let out = run_stdin(&["-"], b"MSH|^~\\&|APP|FAC|||1||ADT^A03|C7|P|2.5.1\r");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&out)[0]["control_id"], "C7");
    let help = readmit().args(["parse", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("Exit status: 0 when every message parsed; 2 when"),
        "{help}"
    );
}
