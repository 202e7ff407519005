//! Slow consumer / backpressure under a simulated stream:
//!
//! * **slow, then unavailable alert topics** (mock cluster): the collaboratives' alert topics
//!   live on a second broker that first answers with 400 ms round trips, then is down for
//!   10 s — longer than the session timeout (6 s) and `max.poll.interval.ms` (7 s). Partition
//!   tasks stop reading at `consumer.max_in_flight_per_partition`; the consumer must stay in
//!   the group (no revocation, no rebalance error before shutdown), the producer queue and
//!   the unfinished messages per partition stay within their limits (librdkafka statistics:
//!   producer `msg_cnt`; consumer `app_offset − stored_offset` per input partition);
//! * **full producer queue**: `producer.queue_buffering_max_messages = 4` (with 50 ms round
//!   trips on the mock), so handing records to the producer keeps hitting QueueFull.
//!
//! Both check counts and invariants against the undisturbed reference.

mod common;
#[path = "common/e2e.rs"]
mod e2e;
#[path = "common/fault.rs"]
mod fault;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::statistics::Statistics;
use readmit::config::Settings;
use readmit::model::Scorer;
use readmit::runtime::{RunSummary, RuntimeEvent, RuntimeObserver};
use readmit::service;
use tokio_util::sync::CancellationToken;

use common::{TestKafka, BOOTSTRAP_ENV};

/// Watches group membership and the memory bounds while the service runs.
#[derive(Default)]
struct Watch {
    input: String,
    stopping: AtomicBool,
    revoked_while_running: AtomicU64,
    rebalance_errors: AtomicU64,
    max_producer_queue: AtomicU64,
    max_unfinished: AtomicI64,
    consumer_reports: AtomicU64,
    producer_reports: AtomicU64,
}

impl RuntimeObserver for Watch {
    fn on_event(&self, event: &RuntimeEvent) {
        match event {
            RuntimeEvent::PartitionsRevoked(p) if !self.stopping.load(Ordering::SeqCst) => {
                self.revoked_while_running
                    .fetch_add(p.len() as u64, Ordering::SeqCst);
            }
            RuntimeEvent::RebalanceError => {
                self.rebalance_errors.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
    }

    fn wants_statistics(&self) -> bool {
        true
    }

    fn on_statistics(&self, st: &Statistics) {
        if st.client_type == "producer" {
            self.producer_reports.fetch_add(1, Ordering::SeqCst);
            self.max_producer_queue
                .fetch_max(st.msg_cnt, Ordering::SeqCst);
        } else if st.client_type == "consumer" {
            self.consumer_reports.fetch_add(1, Ordering::SeqCst);
            if let Some(t) = st.topics.get(&self.input) {
                for p in t.partitions.values() {
                    if p.partition >= 0 && p.app_offset >= 0 && p.stored_offset >= 0 {
                        self.max_unfinished
                            .fetch_max(p.app_offset - p.stored_offset, Ordering::SeqCst);
                    }
                }
            }
        }
    }
}

struct Running {
    token: CancellationToken,
    handle: tokio::task::JoinHandle<Result<RunSummary, service::ServiceError>>,
    watch: Arc<Watch>,
}

fn start(s: &Settings) -> Running {
    let scorer: Arc<dyn Scorer> = service::load_scorer(s).expect("model loads");
    let pipeline = service::build_pipeline(s, scorer).expect("pipeline");
    let token = CancellationToken::new();
    let watch = Arc::new(Watch {
        input: s.topics.input.clone(),
        ..Watch::default()
    });
    let handle = tokio::spawn(service::run(
        s.clone(),
        pipeline,
        token.clone(),
        Some(watch.clone()),
    ));
    Running {
        token,
        handle,
        watch,
    }
}

impl Running {
    async fn stop(self) -> (RunSummary, Arc<Watch>) {
        self.watch.stopping.store(true, Ordering::SeqCst);
        self.token.cancel();
        let summary = tokio::time::timeout(Duration::from_secs(60), self.handle)
            .await
            .expect("stops")
            .expect("task")
            .expect("run");
        (summary, self.watch)
    }
}

fn settings(kafka: &TestKafka, name: &str) -> Settings {
    let mut s = e2e::settings(kafka, name);
    s.consumer.max_in_flight_per_partition = 8;
    s.consumer.max_poll_interval_ms = 7_000;
    s.kafka
        .librdkafka
        .insert("statistics_interval_ms".into(), "250".into());
    s
}

fn assert_bounded(s: &Settings, w: &Watch) {
    let unfinished = w.max_unfinished.load(Ordering::SeqCst);
    let queue = w.max_producer_queue.load(Ordering::SeqCst);
    eprintln!(
        "peak unfinished per partition {unfinished} (limit {}), peak producer queue {queue} (limit {}), statistics reports consumer {} producer {}",
        s.consumer.max_in_flight_per_partition,
        s.producer.queue_buffering_max_messages,
        w.consumer_reports.load(Ordering::SeqCst),
        w.producer_reports.load(Ordering::SeqCst),
    );
    assert!(
        w.consumer_reports.load(Ordering::SeqCst) > 0
            && w.producer_reports.load(Ordering::SeqCst) > 0
    );
    // librdkafka's threads update both positions; a sample may catch the message the task is
    // about to process, hence one of slack.
    assert!(
        unfinished <= s.consumer.max_in_flight_per_partition as i64 + 1,
        "messages handed to the application but not finished stay within the in-flight limit"
    );
    assert!(
        queue <= s.producer.queue_buffering_max_messages,
        "producer queue within its bound"
    );
    assert_eq!(
        w.revoked_while_running.load(Ordering::SeqCst),
        0,
        "the consumer stayed in the group (no partition revoked before shutdown)"
    );
    assert_eq!(w.rebalance_errors.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_then_unavailable_alert_topics_stall_without_leaving_the_group() {
    let kafka = TestKafka::start(2);
    let Some(mock) = kafka.mock() else {
        eprintln!("skipped: slows and stops one mock broker; a real broker ({BOOTSTRAP_ENV}) cannot be slowed from a test");
        return;
    };
    let s = settings(&kafka, "slowalerts");
    e2e::create_topics(&kafka, &s, 3).await;
    let t = &s.topics;
    let alert_topics = [
        e2e::alert_topic(&s, e2e::NORTH),
        e2e::alert_topic(&s, e2e::SOUTH),
        t.unrouted.clone(),
    ];
    for p in 0..3 {
        for topic in [&t.input, &t.changelog, &t.risk_scores, &t.outcomes, &t.dlq] {
            mock.partition_leader(topic, p, Some(1)).unwrap();
        }
        for topic in &alert_topics {
            mock.partition_leader(topic, p, Some(2)).unwrap();
        }
    }
    mock.coordinator(
        rdkafka::mocking::MockCoordinator::Group(s.kafka.group_id.clone()),
        1,
    )
    .unwrap();

    let items = fault::simulated(150, 31, 0.05);
    let total = items.len() as i64;
    let running = start(&s);
    let feeder = fault::feed(
        &kafka,
        &s.topics.input,
        items,
        100,
        Duration::from_millis(100),
    );
    fault::wait_progress(&kafka, &s, 3, total / 10, Duration::from_secs(60)).await;
    mock.broker_round_trip_time(2, Duration::from_millis(400))
        .unwrap();
    let slow_from = fault::committed_total(&kafka, &s, 3).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let slow_to = fault::committed_total(&kafka, &s, 3).await;
    mock.broker_round_trip_time(2, Duration::ZERO).unwrap();
    mock.broker_down(2).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down_from = fault::committed_total(&kafka, &s, 3).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let down_to = fault::committed_total(&kafka, &s, 3).await;
    mock.broker_up(2).unwrap();

    let inputs = tokio::time::timeout(Duration::from_secs(90), feeder)
        .await
        .expect("input produced")
        .unwrap();
    let reference = fault::reference(&s, &inputs);
    fault::wait_committed(&kafka, &s, &fault::ends(&inputs), Duration::from_secs(90)).await;
    let (summary, watch) = running.stop().await;
    eprintln!(
        "committed: slow phase {slow_from}→{slow_to}, alert broker down {down_from}→{down_to} of {total}; {summary:?}"
    );
    assert_bounded(&s, &watch);
    assert!(
        down_to - down_from <= 3 * s.consumer.max_in_flight_per_partition as i64,
        "while alerts cannot be delivered, partitions stop after their in-flight limit"
    );
    let tally = fault::check(
        &kafka,
        &s,
        &reference,
        &inputs,
        "slow (400 ms) then down (10 s) alert topics",
        1,
    )
    .await;
    tally.assert_clean();
    fault::outcomes_match(&summary.outcomes, &reference);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_producer_queue_holds_input_back_and_loses_nothing() {
    let kafka = TestKafka::start(1);
    let mut s = settings(&kafka, "queuefull");
    s.producer.queue_buffering_max_messages = 4;
    e2e::create_topics(&kafka, &s, 3).await;
    match kafka.mock() {
        Some(mock) => mock
            .broker_round_trip_time(-1, Duration::from_millis(50))
            .unwrap(),
        None => eprintln!("real broker ({BOOTSTRAP_ENV}): no round-trip delay injected, only the 4-message producer queue"),
    }
    let items = fault::simulated(60, 41, 0.05);
    let running = start(&s);
    let feeder = fault::feed(
        &kafka,
        &s.topics.input,
        items,
        200,
        Duration::from_millis(50),
    );
    let inputs = tokio::time::timeout(Duration::from_secs(90), feeder)
        .await
        .expect("input produced")
        .unwrap();
    let reference = fault::reference(&s, &inputs);
    fault::wait_committed(&kafka, &s, &fault::ends(&inputs), Duration::from_secs(120)).await;
    let (summary, watch) = running.stop().await;
    eprintln!("{summary:?}");
    assert_bounded(&s, &watch);
    let tally = fault::check(
        &kafka,
        &s,
        &reference,
        &inputs,
        "full producer queue (4 messages)",
        1,
    )
    .await;
    tally.assert_clean();
    fault::outcomes_match(&summary.outcomes, &reference);
}
