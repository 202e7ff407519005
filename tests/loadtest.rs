//! `readmit loadtest` on the in-process mock cluster with a tiny workload: every pre-loaded
//! message comes out of both paths, and every paced message is timed once. Counts only — the
//! harness's timings are never asserted.

use readmit::loadtest::{self, LoadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_load_test_reports_every_message_in_and_out() {
    let opts = LoadOptions {
        messages: 200,
        partitions: 2,
        rates: vec![100.0],
        latency_seconds: 0.5,
        backlog: 0,
        stall_seconds: 60,
        progress: false,
        ..LoadOptions::default()
    };
    let report = loadtest::run(&opts)
        .await
        .expect("load test runs on the mock cluster");
    assert_eq!(report.preloaded, 200);
    assert_eq!(report.passthrough.messages, 200);
    assert_eq!(report.service.messages, 200);
    // 50 paced records per path (100 msg/s for 0.5 s) on top of the 200.
    assert_eq!(
        report.passthrough_produced, 250,
        "passthrough: one output per input"
    );
    assert_eq!(
        report.service_completed, 250,
        "readmit completes every input"
    );
    let outcomes: u64 = report.service_outcomes.iter().map(|(_, n)| n).sum();
    assert_eq!(outcomes, 250);
    assert!(
        report.service_records >= 250,
        "at least one output (audit or changelog) per input: {}",
        report.service_records
    );
    assert_eq!(report.latency.len(), 2);
    for l in &report.latency {
        assert_eq!((l.sent, l.recorded), (50, 50), "{}", l.path);
        assert!(l.p50_us <= l.p99_us && l.p99_us <= l.p999_us && l.p999_us <= l.max_us);
    }
    assert_eq!(report.latency[0].path, "passthrough");
    assert_eq!(report.latency[1].path, "readmit");
    let text = report.render();
    assert!(text.contains("ratio:"), "{text}");
}
