//! Runtime end-to-end on one broker (mock by default, `KAFKA_BOOTSTRAP_SERVERS` for a real
//! one): every input yields its output, offsets are committed, state survives a restart
//! through the changelog, unproducible outputs dead-letter the input, and topic checks fail
//! with clear messages.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use readmit::config::Settings;
use std::sync::{Arc, Mutex};

use readmit::runtime::{
    dlq_headers, run, run_with_observer, RunSummary, RuntimeError, RuntimeEvent, RuntimeObserver,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

/// Records every runtime event.
#[derive(Default)]
struct Recorder(Mutex<Vec<RuntimeEvent>>);

impl RuntimeObserver for Recorder {
    fn on_event(&self, event: &RuntimeEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

fn spawn_run(
    settings: Settings,
    processor: EchoCounter,
) -> (
    CancellationToken,
    JoinHandle<Result<RunSummary, RuntimeError>>,
) {
    let token = CancellationToken::new();
    let handle = tokio::spawn(run(settings, processor, token.clone()));
    (token, handle)
}

async fn stop(
    token: CancellationToken,
    handle: JoinHandle<Result<RunSummary, RuntimeError>>,
) -> RunSummary {
    token.cancel();
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .expect("runtime stops in bounded time")
        .expect("runtime task")
        .expect("runtime result")
}

async fn handle_ref(
    handle: &mut JoinHandle<Result<RunSummary, RuntimeError>>,
) -> Result<RunSummary, String> {
    match handle.await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

fn src_offsets(records: &[Record]) -> BTreeSet<(i32, i64)> {
    records
        .iter()
        .map(|r| {
            (
                r.header("src-partition").unwrap().parse().unwrap(),
                r.header("src-offset").unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_is_echoed_and_offsets_are_committed() {
    let kafka = TestKafka::start(1);
    let settings = kafka.settings("echo");
    kafka.create_runtime_topics(&settings, 3).await;
    let items = inputs(300, 17, 0);
    kafka.produce_all(&settings.topics.input, &items).await;

    let processor = EchoCounter::new(&settings);
    let observer = Arc::new(Recorder::default());
    let token = CancellationToken::new();
    let handle = tokio::spawn(run_with_observer(
        settings.clone(),
        processor.clone(),
        token.clone(),
        observer.clone(),
    ));
    let out = kafka
        .read_topic(&settings.topics.risk_scores, items.len(), WAIT)
        .await;
    let summary = stop(token, handle).await;

    assert_eq!(out.len(), 300, "one echo per input");
    // the observer saw every event the summary counts
    let events = observer.0.lock().unwrap().clone();
    let completed = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                RuntimeEvent::MessageCompleted {
                    partition: 0..=2,
                    timestamp_ms: Some(1..),
                    outcome: "echoed",
                    records_produced: 2,
                    dead_lettered: false,
                    publish: Some(_),
                }
            )
        })
        .count();
    assert_eq!(completed, 300);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, RuntimeEvent::Restored(_)))
            .count(),
        3
    );
    let payloads: BTreeSet<String> = out.iter().map(Record::payload_str).collect();
    let expected: BTreeSet<String> = items.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(payloads, expected);
    // keys are preserved and per-key counts run 1..=n in input order
    for (key, n) in counts_per_key(&items) {
        let mut counts: Vec<u64> = out
            .iter()
            .filter(|r| r.key_str() == key)
            .map(|r| r.header("count").unwrap().parse().unwrap())
            .collect();
        counts.sort();
        assert_eq!(counts, (1..=n).collect::<Vec<_>>(), "key {key}");
    }
    assert_eq!(summary.messages_completed, 300);
    assert_eq!(summary.records_produced, 600, "echo + changelog per input");
    assert_eq!(summary.outcomes.get("echoed"), Some(&300));
    assert_eq!(summary.dead_lettered, 0);
    assert_eq!(summary.restores.len(), 3);
    assert!(summary.restores.iter().all(|r| r.records == 0));

    // committed offsets cover every input: sum of (next offset) == number of inputs
    let committed = kafka
        .committed(&settings.kafka.group_id, &settings.topics.input, 3)
        .await;
    let per_partition: Vec<i64> = (0..3)
        .map(|p| {
            out.iter()
                .filter(|r| r.header("src-partition").unwrap() == p.to_string())
                .count() as i64
        })
        .collect();
    assert_eq!(
        committed, per_partition,
        "committed = next offset per partition"
    );

    // changelog writes went to the input's partition number
    let changelog = kafka
        .read_topic(&settings.topics.changelog, 300, WAIT)
        .await;
    assert_eq!(changelog.len(), 300);
    let key_partition: std::collections::BTreeMap<String, i32> = out
        .iter()
        .map(|r| {
            (
                r.key_str(),
                r.header("src-partition").unwrap().parse().unwrap(),
            )
        })
        .collect();
    for r in &changelog {
        assert_eq!(r.partition, key_partition[&r.key_str()]);
        assert_eq!(
            source_of(r).0,
            r.partition,
            "state of an input of this partition"
        );
    }
    assert_eq!(last_per_key(&changelog), counts_per_key(&items));
    // one state write per input
    assert_eq!(
        changelog.iter().map(source_of).collect::<BTreeSet<_>>(),
        src_offsets(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_restores_state_from_changelog_and_loses_nothing() {
    let kafka = TestKafka::start(1);
    let settings = kafka.settings("restart");
    kafka.create_runtime_topics(&settings, 3).await;
    let first = inputs(120, 7, 0);
    let second = inputs(80, 7, 120);
    let all: Vec<_> = first.iter().chain(second.iter()).cloned().collect();

    kafka.produce_all(&settings.topics.input, &first).await;
    let p1 = EchoCounter::new(&settings);
    let (token, handle) = spawn_run(settings.clone(), p1.clone());
    let out1 = kafka
        .read_topic(&settings.topics.risk_scores, first.len(), WAIT)
        .await;
    assert_eq!(out1.len(), 120);
    let s1 = stop(token, handle).await;
    assert_eq!(s1.messages_completed, 120);

    kafka.produce_all(&settings.topics.input, &second).await;
    let p2 = EchoCounter::new(&settings);
    let (token, handle) = spawn_run(settings.clone(), p2.clone());
    let out = kafka
        .read_settled(
            &settings.topics.risk_scores,
            all.len(),
            WAIT,
            Duration::from_millis(500),
        )
        .await;
    let s2 = stop(token, handle).await;

    // every input has an output; the graceful stop committed everything, so no duplicates
    let payloads: BTreeSet<String> = out.iter().map(Record::payload_str).collect();
    let expected: BTreeSet<String> = all.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(payloads, expected);
    assert_eq!(out.len(), 200);
    assert_eq!(
        s2.messages_completed, 80,
        "second run only processed new inputs"
    );
    // the second run restored exactly the first run's final counts
    assert_eq!(p2.restored_counts(), counts_per_key(&first));
    assert_eq!(
        s2.restores.iter().map(|r| r.records).sum::<u64>(),
        120,
        "one changelog record per first-run input"
    );
    // and continued counting from them: the state equals an undisturbed run's
    let changelog = kafka
        .read_topic(&settings.topics.changelog, 200, WAIT)
        .await;
    assert_eq!(last_per_key(&changelog), counts_per_key(&all));
    assert_eq!(src_offsets(&out).len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unproducible_output_dead_letters_the_input_and_advances() {
    let kafka = TestKafka::start(1);
    let settings = kafka.settings("dlq");
    kafka.create_runtime_topics(&settings, 2).await;
    let mut items = inputs(40, 5, 0);
    items[7].1 = "poison-7".into();
    items[23].1 = "poison-23".into();
    kafka.produce_all(&settings.topics.input, &items).await;

    let (token, handle) = spawn_run(settings.clone(), EchoCounter::new(&settings));
    let dlq = kafka.read_topic(&settings.topics.dlq, 2, WAIT).await;
    let out = kafka
        .read_topic(&settings.topics.risk_scores, 38, WAIT)
        .await;
    let summary = stop(token, handle).await;

    assert_eq!(out.len(), 38);
    assert!(out.iter().all(|r| !r.payload_str().starts_with("poison")));
    assert_eq!(dlq.len(), 2);
    let mut dead: Vec<String> = dlq.iter().map(Record::payload_str).collect();
    dead.sort();
    assert_eq!(dead, vec!["poison-23".to_string(), "poison-7".to_string()]);
    for r in &dlq {
        assert_eq!(
            r.header(dlq_headers::REASON).as_deref(),
            Some("unproducible_output")
        );
        assert_eq!(
            r.header(dlq_headers::FAILED_TOPIC).as_deref(),
            Some(settings.topics.risk_scores.as_str())
        );
        assert_eq!(
            r.header(dlq_headers::SOURCE_TOPIC).as_deref(),
            Some(settings.topics.input.as_str())
        );
        assert!(r
            .header(dlq_headers::ERROR)
            .unwrap()
            .contains("MessageSizeTooLarge"));
        assert!(r
            .header(dlq_headers::SOURCE_OFFSET)
            .unwrap()
            .parse::<i64>()
            .is_ok());
    }
    assert_eq!(summary.dead_lettered, 2);
    assert_eq!(summary.messages_completed, 40);
    // the poison inputs changed the state too: their (deferred) state writes were still
    // produced after the dead letter, so the changelog has one record per input
    let changelog = kafka.read_topic(&settings.topics.changelog, 40, WAIT).await;
    assert_eq!(changelog.len(), 40);
    let dead_sources: BTreeSet<(i32, i64)> = dlq
        .iter()
        .map(|r| {
            (
                r.header(dlq_headers::SOURCE_PARTITION)
                    .unwrap()
                    .parse()
                    .unwrap(),
                r.header(dlq_headers::SOURCE_OFFSET)
                    .unwrap()
                    .parse()
                    .unwrap(),
            )
        })
        .collect();
    let state_sources: BTreeSet<(i32, i64)> = changelog.iter().map(source_of).collect();
    assert!(dead_sources.is_subset(&state_sources), "{dead_sources:?}");
    assert_eq!(state_sources.len(), 40);
    assert_eq!(last_per_key(&changelog), counts_per_key(&items));
    // echo + state write for 38 inputs, state write only for the 2 dead-lettered ones
    assert_eq!(summary.records_produced, 38 * 2 + 2);
    // offsets advanced past the poison messages
    let committed = kafka
        .committed(&settings.kafka.group_id, &settings.topics.input, 2)
        .await;
    assert_eq!(committed.iter().sum::<i64>(), 40);
}

/// Adds a collaborative (high tier, pseudonym only) to the routing table.
fn add_collaborative(settings: &mut Settings, name: &str) {
    settings
        .alerts
        .routing
        .collaboratives
        .push(readmit::alerts::Collaborative {
            name: name.into(),
            tiers: vec![readmit::alerts::Tier::High],
            receives_mrn: false,
            receives_zip: false,
            format: readmit::alerts::AlertFormat::Json,
        });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_topics_fail_with_one_message_naming_each() {
    let kafka = TestKafka::start(1);
    let mut settings = kafka.settings("missing");
    // A collaborative whose alert topic is missing is named too (before, it surfaced only at
    // its first alert, which went to the dead-letter topic).
    add_collaborative(&mut settings, "north");
    settings.validate().expect("settings with a collaborative");
    kafka.create_topic(&settings.topics.input, 3, false).await;
    kafka
        .create_topic(&settings.topics.changelog, 2, true)
        .await;
    let err = run(
        settings.clone(),
        EchoCounter::new(&settings),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    let RuntimeError::Topics(problems) = &err else {
        panic!("expected a topic error, got {err}")
    };
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "topic {} (topics.changelog) has 2 partitions but topic {} (topics.input) has 3",
            settings.topics.changelog, settings.topics.input
        )),
        "{text}"
    );
    for (key, name) in [
        ("topics.risk_scores", &settings.topics.risk_scores),
        ("topics.dlq", &settings.topics.dlq),
        ("topics.outcomes", &settings.topics.outcomes),
        ("topics.unrouted", &settings.topics.unrouted),
    ] {
        assert!(
            text.contains(&format!(
                "topic {name} ({key}) does not exist; create it or set topics.create = true"
            )),
            "{text}"
        );
    }
    assert!(
        text.contains(&format!(
            "topic {}north (alerts.routing.collaboratives[0], topics.alerts_prefix + name) does not exist; create it or set topics.create = true",
            settings.topics.alerts_prefix
        )),
        "{text}"
    );
    assert_eq!(problems.len(), 6, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_when_allowed() {
    let kafka = TestKafka::start(1);
    if kafka.is_mock() {
        // librdkafka's mock cluster does not implement CreateTopics (the request times out).
        eprintln!("skipped: needs a real broker; set {BOOTSTRAP_ENV}");
        return;
    }
    let mut settings = kafka.settings("create");
    settings.topics.create = true;
    settings.topics.partitions = 2;
    add_collaborative(&mut settings, "north");
    let north = format!("{}north", settings.topics.alerts_prefix);
    let (token, mut handle) = spawn_run(settings.clone(), EchoCounter::new(&settings));
    // wait until the runtime created the input, then use it
    tokio::select! {
        _ = kafka.wait_for_topic(&settings.topics.input, 2) => {}
        r = handle_ref(&mut handle) => panic!("runtime ended early: {r:?}"),
    }
    kafka.wait_for_topic(&settings.topics.changelog, 2).await;
    let items = inputs(10, 3, 0);
    kafka.produce_all(&settings.topics.input, &items).await;
    let out = kafka
        .read_topic(&settings.topics.risk_scores, 10, WAIT)
        .await;
    let summary = stop(token, handle).await;
    assert_eq!(out.len(), 10);
    assert_eq!(summary.messages_completed, 10);
    for t in [
        &settings.topics.dlq,
        &settings.topics.outcomes,
        &settings.topics.unrouted,
        &north,
    ] {
        assert_eq!(kafka.partition_count(t).await, Some(2), "{t}");
    }
}

/// Panics on the input `boom`; echoes everything else.
struct PanicsOnBoom(EchoCounter);

impl readmit::runtime::Processor for PanicsOnBoom {
    type State = <EchoCounter as readmit::runtime::Processor>::State;
    fn new_state(&self, topic: &str, partition: i32) -> Self::State {
        self.0.new_state(topic, partition)
    }
    fn restore(&self, state: &mut Self::State, key: &[u8], value: Option<&[u8]>) {
        self.0.restore(state, key, value)
    }
    fn process(
        &self,
        state: &mut Self::State,
        msg: &readmit::runtime::InboundMessage,
    ) -> readmit::runtime::Processed {
        assert!(
            msg.payload.as_deref() != Some(&b"boom"[..]),
            "processor bug"
        );
        self.0.process(state, msg)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processor_panic_stops_the_run_without_committing_past_it() {
    let kafka = TestKafka::start(1);
    let settings = kafka.settings("panic");
    kafka.create_runtime_topics(&settings, 1).await;
    let mut items = inputs(20, 3, 0);
    items[10].1 = "boom".into();
    kafka.produce_all(&settings.topics.input, &items).await;

    let result = tokio::time::timeout(
        Duration::from_secs(25),
        run(
            settings.clone(),
            PanicsOnBoom(EchoCounter::new(&settings)),
            CancellationToken::new(),
        ),
    )
    .await
    .expect("the run ends by itself");
    let err = result.unwrap_err();
    assert!(matches!(err, RuntimeError::Task(_)), "{err}");
    assert!(err.to_string().contains("panicked"), "{err}");
    let committed = kafka
        .committed(&settings.kafka.group_id, &settings.topics.input, 1)
        .await;
    assert!(
        committed[0] <= 10,
        "committed {committed:?} past the failed offset 10"
    );
    let out = kafka
        .read_topic(&settings.topics.risk_scores, 10, WAIT)
        .await;
    assert_eq!(out.len(), 10, "inputs before the panic were published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_broker_fails_start_up_with_a_clear_error() {
    let kafka = TestKafka::start(1);
    let mut settings = kafka.settings("unreachable");
    settings.kafka.bootstrap_servers = "127.0.0.1:1".into();
    settings.consumer.request_timeout_ms = 1_000;
    let err = tokio::time::timeout(
        Duration::from_secs(15),
        run(
            settings.clone(),
            EchoCounter::new(&settings),
            CancellationToken::new(),
        ),
    )
    .await
    .expect("start-up fails in bounded time")
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("cluster metadata could not be fetched from kafka.bootstrap_servers"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_settings_are_rejected_before_connecting() {
    let kafka = TestKafka::start(1);
    let mut settings = kafka.settings("invalid");
    settings.consumer.drain_timeout_ms = settings.consumer.session_timeout_ms;
    let err = run(
        settings.clone(),
        EchoCounter::new(&settings),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RuntimeError::Config(_)), "{err}");
    assert!(
        err.to_string().contains(
            "consumer.drain_timeout_ms (6000) must be below consumer.session_timeout_ms (6000)"
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_rekeying_the_changelog_must_match_the_rekeyed_topic() {
    let kafka = TestKafka::start(1);
    let mut settings = kafka.settings("rekeycheck");
    settings.topics.rekey = true;
    settings.topics.rekeyed = common::unique("rekeycheck-rekeyed");
    // Input 2 partitions, changelog 3: fine without re-keying, but the state follows the
    // re-keyed topic, which is missing.
    kafka.create_topic(&settings.topics.input, 2, false).await;
    kafka
        .create_topic(&settings.topics.changelog, 3, true)
        .await;
    for t in [
        &settings.topics.risk_scores,
        &settings.topics.dlq,
        &settings.topics.outcomes,
        &settings.topics.unrouted,
    ] {
        kafka.create_topic(t, 1, false).await;
    }
    let err = run(
        settings.clone(),
        EchoCounter::new(&settings),
        CancellationToken::new(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!(
            "topic {} (topics.rekeyed) does not exist",
            settings.topics.rekeyed
        )),
        "{err}"
    );
    assert!(!err.contains("topics.input) has"), "{err}");
    // A re-keyed topic with another partition count than the changelog is refused by name.
    kafka.create_topic(&settings.topics.rekeyed, 4, false).await;
    let err = run(
        settings.clone(),
        EchoCounter::new(&settings),
        CancellationToken::new(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!(
            "topic {} (topics.changelog) has 3 partitions but topic {} (topics.rekeyed) has 4",
            settings.topics.changelog, settings.topics.rekeyed
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_the_start_up_topic_check_ends_the_run_at_once() {
    // A "broker" that accepts connections and never answers: the topic check's metadata
    // request waits for its whole timeout (8 s here; before this change the run then ended
    // with a topic error, which `stop` below refuses).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let kafka = TestKafka::start(1);
    let mut settings = kafka.settings("silent");
    settings.kafka.bootstrap_servers = addr.to_string();
    settings.consumer.request_timeout_ms = 8_000;
    let (token, handle) = spawn_run(settings.clone(), EchoCounter::new(&settings));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!handle.is_finished(), "still waiting for the cluster");
    // Before: the stop was logged and then ignored until the request timed out, and the run
    // ended with a topic error (exit 1). Now it ends cleanly, having consumed nothing.
    let summary = stop(token, handle).await;
    assert_eq!(summary, RunSummary::default());
}
