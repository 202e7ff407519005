//! Runtime under group changes and faults: two instances share a group (and hand partitions
//! and their state over when one stops), and a broker outage mid-stream loses nothing.
//! A state (changelog) write never lands before the outputs of its message and of every
//! earlier one are acknowledged. The outage tests need the mock cluster (they take its broker
//! down) and skip with a printed reason on a real broker.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use readmit::config::Settings;
use readmit::runtime::{run, RunSummary, RuntimeError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(25);

type Run = (
    CancellationToken,
    JoinHandle<Result<RunSummary, RuntimeError>>,
);

fn spawn_run(settings: &Settings, processor: &EchoCounter) -> Run {
    let token = CancellationToken::new();
    let handle = tokio::spawn(run(settings.clone(), processor.clone(), token.clone()));
    (token, handle)
}

async fn stop((token, handle): Run) -> RunSummary {
    token.cancel();
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .expect("runtime stops in bounded time")
        .expect("runtime task")
        .expect("runtime result")
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn payloads(records: &[Record]) -> BTreeSet<String> {
    records.iter().map(Record::payload_str).collect()
}

fn expected(items: &[(String, String)]) -> BTreeSet<String> {
    items.iter().map(|(_, v)| v.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_partitions_and_hand_over_state() {
    let kafka = TestKafka::start(1);
    let settings = kafka.settings("group");
    kafka.create_runtime_topics(&settings, 4).await;

    let pa = EchoCounter::new(&settings);
    let a = spawn_run(&settings, &pa);
    wait_until("A owns all partitions", || {
        pa.states_created.lock().unwrap().len() >= 4
    })
    .await;
    let pb = EchoCounter::new(&settings);
    let b = spawn_run(&settings, &pb);
    wait_until("B gets partitions", || {
        !pb.states_created.lock().unwrap().is_empty()
    })
    .await;

    // Phase 1: both instances process.
    let first = inputs(200, 11, 0);
    kafka.produce_all(&settings.topics.input, &first).await;
    let out1 = kafka
        .read_topic(&settings.topics.risk_scores, 200, WAIT)
        .await;
    assert_eq!(payloads(&out1), expected(&first));
    let sb = stop(b).await;
    assert!(sb.messages_completed > 0, "B processed its share");
    let b_partitions: BTreeSet<i32> = pb.states_created.lock().unwrap().iter().copied().collect();
    let a_partitions_before: usize = pa.states_created.lock().unwrap().len();

    // Phase 2: B left; A takes its partitions over, restoring their state first.
    wait_until("A takes over B's partitions", || {
        pa.states_created.lock().unwrap().len() > a_partitions_before
    })
    .await;
    let second = inputs(200, 11, 200);
    kafka.produce_all(&settings.topics.input, &second).await;
    let all: Vec<_> = first.iter().chain(second.iter()).cloned().collect();
    let out = kafka
        .read_settled(
            &settings.topics.risk_scores,
            400,
            WAIT,
            Duration::from_millis(500),
        )
        .await;
    let sa = stop(a).await;

    assert_eq!(payloads(&out), expected(&all), "every input has an output");
    assert_eq!(out.len(), 400, "graceful hand-over produced no duplicates");
    assert_eq!(sa.messages_completed + sb.messages_completed, 400);
    assert!(sa.messages_completed > 200, "A processed phase 2 entirely");
    assert!(
        sa.restores.len() == 4 + b_partitions.len() && sb.restores.len() == b_partitions.len(),
        "cooperative rebalance: only moved partitions are revoked and restored"
    );
    assert!(!b_partitions.is_empty() && b_partitions.len() < 4);
    // A restored what B had counted on B's partitions
    let restored_by_a: u64 = sa
        .restores
        .iter()
        .filter(|r| b_partitions.contains(&r.partition))
        .map(|r| r.records)
        .max()
        .unwrap_or(0);
    assert!(restored_by_a > 0, "A restored B's changelog records");
    // state is as if one instance had processed everything
    let changelog = kafka
        .read_topic(&settings.topics.changelog, 400, WAIT)
        .await;
    assert_eq!(last_per_key(&changelog), counts_per_key(&all));
    let committed = kafka
        .committed(&settings.kafka.group_id, &settings.topics.input, 4)
        .await;
    assert_eq!(committed.iter().sum::<i64>(), 400);
}

/// Produces `items` in the background, one every `gap`; resolves when all are acknowledged.
fn trickle(
    bootstrap: String,
    topic: String,
    items: Vec<(String, String)>,
    gap: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("enable.idempotence", "true")
            .set("linger.ms", "1")
            .create()
            .unwrap();
        let mut pending = Vec::new();
        for (k, v) in items {
            let producer = producer.clone();
            let topic = topic.clone();
            pending.push(tokio::spawn(async move {
                producer
                    .send(
                        rdkafka::producer::FutureRecord::to(&topic)
                            .key(&k)
                            .payload(&v),
                        Duration::from_secs(60),
                    )
                    .await
                    .map(|_| ())
                    .map_err(|(e, _)| e)
            }));
            tokio::time::sleep(gap).await;
        }
        for p in pending {
            p.await.unwrap().expect("trickle produce");
        }
    })
}

/// Three mock brokers: input, changelog, DLQ and the group coordinator on broker 1, the echo
/// output on broker 2. Broker 2 goes down for 3 s mid-stream, so consuming goes on while the
/// echo outputs cannot be delivered.
async fn outage_run(finite_timeout: bool) {
    let kafka = TestKafka::start(3);
    let Some(mock) = kafka.mock() else {
        eprintln!("skipped: takes a mock broker down; runs without {BOOTSTRAP_ENV}");
        return;
    };
    let mut settings = kafka.settings(if finite_timeout { "outage-t" } else { "outage" });
    if finite_timeout {
        settings.producer.message_timeout_ms = 1_000;
    }
    kafka.create_runtime_topics(&settings, 2).await;
    let t = &settings.topics;
    for topic in [&t.input, &t.changelog, &t.dlq, &t.unrouted, &t.outcomes] {
        for p in 0..2 {
            mock.partition_leader(topic, p, Some(1)).unwrap();
        }
    }
    for p in 0..2 {
        mock.partition_leader(&t.risk_scores, p, Some(2)).unwrap();
    }
    mock.coordinator(
        rdkafka::mocking::MockCoordinator::Group(settings.kafka.group_id.clone()),
        1,
    )
    .unwrap();

    let items = inputs(300, 9, 0);
    let processor = EchoCounter::new(&settings);
    let r = spawn_run(&settings, &processor);
    let feeder = trickle(
        kafka.bootstrap_servers().to_string(),
        settings.topics.input.clone(),
        items.clone(),
        Duration::from_millis(10),
    );
    let early = kafka
        .read_topic(&settings.topics.risk_scores, 30, WAIT)
        .await;
    assert_eq!(early.len(), 30);
    mock.broker_down(2).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    mock.broker_up(2).unwrap();
    tokio::time::timeout(WAIT, feeder).await.unwrap().unwrap();

    let out = kafka
        .read_settled(
            &settings.topics.risk_scores,
            300,
            WAIT,
            Duration::from_millis(500),
        )
        .await;
    let summary = stop(r).await;
    eprintln!("{summary:?}");
    assert_eq!(
        payloads(&out),
        expected(&items),
        "nothing lost across the outage"
    );
    let committed = kafka
        .committed(&settings.kafka.group_id, &settings.topics.input, 2)
        .await;
    assert_eq!(
        committed.iter().sum::<i64>(),
        300,
        "all offsets committed after recovery"
    );
    if finite_timeout {
        assert!(
            summary.produce_retries > 0,
            "runtime retried timed-out produces"
        );
        assert!(summary.messages_completed >= 300);
    } else {
        // librdkafka retried internally (idempotent, in order): exactly once each
        assert_eq!(
            out.len(),
            300,
            "no duplicates with the default infinite message timeout"
        );
        assert_eq!(summary.messages_completed, 300);
        assert_eq!(summary.produce_retries, 0);
        let changelog = kafka
            .read_topic(&settings.topics.changelog, 300, WAIT)
            .await;
        assert_eq!(last_per_key(&changelog), counts_per_key(&items));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_loses_nothing() {
    outage_run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_with_finite_message_timeout_retries_and_loses_nothing() {
    outage_run(true).await;
}

/// Shutdown while the output broker is down: `run` returns in bounded time without storing
/// offsets of unacknowledged messages, and a new run after recovery produces every output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_outage_is_bounded_and_the_next_run_finishes() {
    let kafka = TestKafka::start(3);
    let Some(mock) = kafka.mock() else {
        eprintln!("skipped: takes a mock broker down; runs without {BOOTSTRAP_ENV}");
        return;
    };
    let mut settings = kafka.settings("down-stop");
    settings.consumer.drain_timeout_ms = 2_000;
    settings.producer.flush_timeout_ms = 1_000;
    kafka.create_runtime_topics(&settings, 2).await;
    let t = &settings.topics;
    for topic in [&t.input, &t.changelog, &t.dlq, &t.unrouted, &t.outcomes] {
        for p in 0..2 {
            mock.partition_leader(topic, p, Some(1)).unwrap();
        }
    }
    for p in 0..2 {
        mock.partition_leader(&t.risk_scores, p, Some(2)).unwrap();
    }
    mock.coordinator(
        rdkafka::mocking::MockCoordinator::Group(settings.kafka.group_id.clone()),
        1,
    )
    .unwrap();

    let items = inputs(300, 5, 0);
    let processor = EchoCounter::new(&settings);
    let r = spawn_run(&settings, &processor);
    wait_until("partitions assigned", || {
        processor.states_created.lock().unwrap().len() >= 2
    })
    .await;
    let feeder = trickle(
        kafka.bootstrap_servers().to_string(),
        settings.topics.input.clone(),
        items.clone(),
        Duration::from_millis(10),
    );
    let early = kafka
        .read_topic(&settings.topics.risk_scores, 20, WAIT)
        .await;
    assert_eq!(early.len(), 20);
    mock.broker_down(2).unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let started = Instant::now();
    let first = stop(r).await;
    let took = started.elapsed();
    // drain (2 s) + flush (1 s) + commit/close: bounded; a generous limit, not a benchmark.
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    assert!(first.abandoned_in_flight > 0, "{first:?}");
    let committed = kafka
        .committed(&settings.kafka.group_id, &settings.topics.input, 2)
        .await;
    assert!(
        committed.iter().map(|c| (*c).max(0) as u64).sum::<u64>() <= first.messages_completed,
        "no offset stored past an unacknowledged message: {committed:?} vs {first:?}"
    );

    mock.broker_up(2).unwrap();
    tokio::time::timeout(WAIT, feeder).await.unwrap().unwrap();
    let second = spawn_run(&settings, &EchoCounter::new(&settings));
    let out = kafka
        .read_settled(
            &settings.topics.risk_scores,
            300,
            WAIT,
            Duration::from_millis(500),
        )
        .await;
    let second_summary = stop(second).await;
    // EchoCounter skips inputs its restored state already reflects (like the domain's
    // de-duplication ring); nothing is lost only because no state reached the changelog
    // before the echoes of its input and of every earlier input were acknowledged.
    assert_eq!(payloads(&out), expected(&items), "nothing lost");
    eprintln!("second run: {second_summary:?}");
}

/// Input offsets per partition, read back from the input topic.
async fn input_offsets(
    kafka: &TestKafka,
    topic: &str,
    n: usize,
) -> std::collections::BTreeMap<i32, Vec<i64>> {
    let records = kafka.read_topic(topic, n, WAIT).await;
    assert_eq!(records.len(), n, "input read back");
    let mut out: std::collections::BTreeMap<i32, Vec<i64>> = Default::default();
    for r in records {
        out.entry(r.partition).or_default().push(r.offset);
    }
    out
}

/// The changelog never runs ahead of acknowledged outputs. The echo topic's leader (broker 2)
/// goes down while inputs keep arriving and the changelog's leader (broker 1) stays healthy:
/// no changelog record of a message may appear while the echo of it, or of any earlier
/// message of its partition, is unacknowledged. Read back during the outage, the changelog
/// must hold exactly the records of the inputs echoed before it, and every changelog record
/// of input `k` must have the echoes of all inputs ≤ `k` of its partition. Afterwards,
/// everything arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changelog_waits_for_every_earlier_output_to_be_acknowledged() {
    let kafka = TestKafka::start(3);
    let Some(mock) = kafka.mock() else {
        eprintln!("skipped: takes a mock broker down; runs without {BOOTSTRAP_ENV}");
        return;
    };
    let settings = kafka.settings("deferred");
    kafka.create_runtime_topics(&settings, 2).await;
    let t = &settings.topics;
    for topic in [&t.input, &t.changelog, &t.dlq, &t.unrouted, &t.outcomes] {
        for p in 0..2 {
            mock.partition_leader(topic, p, Some(1)).unwrap();
        }
    }
    for p in 0..2 {
        mock.partition_leader(&t.risk_scores, p, Some(2)).unwrap();
    }
    mock.coordinator(
        rdkafka::mocking::MockCoordinator::Group(settings.kafka.group_id.clone()),
        1,
    )
    .unwrap();

    let processor = EchoCounter::new(&settings);
    let r = spawn_run(&settings, &processor);
    wait_until("partitions assigned", || {
        processor.states_created.lock().unwrap().len() >= 2
    })
    .await;

    // Phase A: healthy; everything is echoed and its state written.
    let batch_a = inputs(60, 7, 0);
    kafka.produce_all(&settings.topics.input, &batch_a).await;
    let echoes_a = kafka
        .read_topic(&settings.topics.risk_scores, 60, WAIT)
        .await;
    assert_eq!(echoes_a.len(), 60);
    let changelog_a = kafka.read_topic(&settings.topics.changelog, 60, WAIT).await;
    assert_eq!(changelog_a.len(), 60);

    // Phase B: the echo topic's leader is down; inputs are consumed and processed, but
    // no echo can be acknowledged, so no state of phase B may reach the changelog.
    mock.broker_down(2).unwrap();
    let batch_b = inputs(60, 7, 60);
    kafka.produce_all(&settings.topics.input, &batch_b).await;
    wait_until("phase B processed", || {
        processor
            .processed
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 120
    })
    .await;
    // Give a wrongly early changelog write time to land (not a timing assertion).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let changelog_during = kafka
        .read_until_idle(
            &settings.topics.changelog,
            60,
            Duration::from_millis(1_000),
            WAIT,
        )
        .await;
    let all_inputs = input_offsets(&kafka, &settings.topics.input, 120).await;
    // The echo topic is unreadable now; what it holds is exactly phase A's echoes (nothing
    // can be appended while its leader is down).
    let violations = check_changelog_behind_outputs(&changelog_during, &echoes_a, &all_inputs);
    assert!(
        violations.is_empty(),
        "changelog records ahead of unacknowledged echoes (partition, changelog of, missing echo): {:?}",
        &violations[..violations.len().min(10)]
    );
    let sources: BTreeSet<(i32, i64)> = changelog_during.iter().map(source_of).collect();
    let echoed_a: BTreeSet<(i32, i64)> = echoes_a.iter().map(source_of).collect();
    assert_eq!(sources, echoed_a, "changelog = states of phase A only");
    assert_eq!(changelog_during.len(), 60);

    // Recovery: every echo and every state write arrives, once each.
    mock.broker_up(2).unwrap();
    let out = kafka
        .read_settled(
            &settings.topics.risk_scores,
            120,
            WAIT,
            Duration::from_millis(500),
        )
        .await;
    let changelog = kafka
        .read_settled(
            &settings.topics.changelog,
            120,
            WAIT,
            Duration::from_millis(500),
        )
        .await;
    let summary = stop(r).await;
    let all: Vec<_> = batch_a.iter().chain(batch_b.iter()).cloned().collect();
    assert_eq!(payloads(&out), expected(&all), "every input echoed");
    assert_eq!(out.len(), 120, "counts in == counts out");
    assert_eq!(changelog.len(), 120, "one state write per input");
    assert_eq!(last_per_key(&changelog), counts_per_key(&all));
    assert!(check_changelog_behind_outputs(&changelog, &out, &all_inputs).is_empty());
    assert_eq!(summary.messages_completed, 120);
    assert_eq!(summary.records_produced, 240);
    assert_eq!(summary.outcomes.get("echoed"), Some(&120));
    let committed = kafka
        .committed(&settings.kafka.group_id, &settings.topics.input, 2)
        .await;
    assert_eq!(committed.iter().sum::<i64>(), 120);
}
