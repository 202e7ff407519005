//! `readmit demo` as a new user runs it: the built binary, the in-process mock cluster, the
//! vendored dataset. Checks the final summary's figures, that alert lines identify patients
//! only by a 32-hex pseudonym (never the simulator's MRN, PID-3 or names), and that the
//! metrics endpoint serves live counters while the demo runs. Skips with a printed reason when
//! the vendored dataset is missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DATA: &str = "data/diabetes130/diabetic_data.csv.gz";
const TIMEOUT: Duration = Duration::from_secs(120);

fn dataset_present() -> bool {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DATA);
    if !path.exists() {
        eprintln!("SKIP: vendored dataset {DATA} is missing");
        return false;
    }
    true
}

fn demo(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_readmit"))
        .arg("demo")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("readmit binary starts")
}

/// Streams the child's stdout lines into a channel.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn number_after(text: &str, label: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{text}"));
    line[label.len()..]
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in {line:?}"))
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn demo_scores_discharges_and_alerts_by_pseudonym_only() {
    if !dataset_present() {
        return;
    }
    let mut child = demo(&["--discharges", "20", "--rate", "0", "--metrics-port", "0"]);
    let rx = lines(&mut child);
    let start = Instant::now();
    let mut out = Vec::new();
    let status = loop {
        while let Ok(line) = rx.try_recv() {
            out.push(line);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "readmit demo did not finish in {TIMEOUT:?}; output:\n{}",
                out.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Drain what is left of stdout.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
        out.push(line);
    }
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut stderr));
    let text = out.join("\n");
    assert!(
        status.success(),
        "exit {status:?}\nstdout:\n{text}\nstderr:\n{stderr}"
    );

    let summary = text
        .split("== readmit demo summary")
        .nth(1)
        .unwrap_or_else(|| panic!("no final summary in:\n{text}"));
    let scored = number_after(summary, "discharges scored:");
    assert!(scored >= 20, "{scored} discharges scored:\n{summary}");
    let alerts = number_after(summary, "alerts:");
    assert!(alerts > 0, "no alerts:\n{summary}");
    // consumed = completed = sum of outcomes.
    let consumed_line = summary
        .lines()
        .find(|l| l.starts_with("messages consumed:"))
        .expect("consumed line");
    let numbers: Vec<u64> = consumed_line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 3, "{consumed_line}");
    assert_eq!(
        numbers[1], numbers[2],
        "completed != sum of outcomes: {consumed_line}"
    );
    let outcomes: u64 = summary
        .lines()
        .find(|l| l.starts_with("outcomes:"))
        .expect("outcomes line")
        .trim_start_matches("outcomes:")
        .split(',')
        .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
        .sum();
    assert_eq!(outcomes, numbers[1], "outcomes do not add up:\n{summary}");

    // Alert lines: a 32-hex pseudonym, never an MRN. The simulator's MRNs are patient_nbr
    // digits sent as PID-3 `<digits>^^^READMIT_SIM^MR`; its fake names never appear either.
    let alert_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("ALERT")).collect();
    assert!(!alert_lines.is_empty(), "no alert lines:\n{text}");
    for line in &alert_lines {
        let pseudonym = line
            .split_whitespace()
            .skip_while(|w| *w != "patient")
            .nth(1)
            .unwrap_or_else(|| panic!("no pseudonym in {line:?}"));
        assert!(is_hex32(pseudonym), "pseudonym {pseudonym:?} in {line:?}");
        assert!(
            !line.contains("MRN") && !line.contains("READMIT_SIM"),
            "{line}"
        );
        // Outside the pseudonym, no run of 5+ digits (MRNs are patient_nbr values, mostly 5–9
        // digits; reasons only hold small counts).
        let longest_digits = line
            .replace(pseudonym, "")
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest_digits < 5, "digit run in {line:?}");
    }
    assert!(!text.contains("^^^"), "a PID-3 value reached stdout");
}

/// GET `path` on 127.0.0.1:`port`; returns the body.
fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("metrics port connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

fn metric_sum(body: &str, name: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn metrics_endpoint_counts_consumed_messages_while_the_demo_runs() {
    if !dataset_present() {
        return;
    }
    let mut child = demo(&[
        "--discharges",
        "1000000",
        "--rate",
        "200",
        "--metrics-port",
        "0",
    ]);
    let rx = lines(&mut child);
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut port = None;
    let mut consumed = 0.0;
    let result = loop {
        if start.elapsed() > TIMEOUT {
            break Err(format!("timed out; output:\n{}", seen.join("\n")));
        }
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if port.is_none() {
                if let Some(url) = line.strip_prefix("metrics: http://127.0.0.1:") {
                    port = url.split('/').next().and_then(|p| p.parse::<u16>().ok());
                }
            }
            seen.push(line);
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!(
                "demo exited early ({status:?}):\n{}",
                seen.join("\n")
            ));
        }
        if let Some(port) = port {
            let body = http_get(port, "/metrics");
            consumed = metric_sum(&body, "readmit_messages_consumed_total");
            if consumed > 0.0 {
                assert!(body.contains("readmit_model_info{"), "model info missing");
                break Ok(());
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(consumed > 0.0);
}
