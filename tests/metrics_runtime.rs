//! Metrics against real clients (mock cluster by default, `KAFKA_BOOTSTRAP_SERVERS` for a real
//! broker): the runtime driven with a `MetricsObserver` counts outcomes, restores and
//! rebalances, end-to-end latency and publish time, keeps `Readiness` in step with the
//! assignment, and forwards its clients' librdkafka statistics (consumer lag, producer queue
//! depth, broker reachability); librdkafka's own statistics reports feed consumer lag.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use prometheus::proto::MetricType;
use prometheus::Registry;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use readmit::metrics::http::ReadinessStatus;
use readmit::metrics::{LabelSets, Metrics, MetricsObserver, Readiness, StatisticsSink};
use readmit::runtime::{run_with_observer, RuntimeEvent, RuntimeObserver};
use tokio_util::sync::CancellationToken;

/// Sum of the values of `name`'s series whose labels include every pair in `want`.
fn value(registry: &Registry, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let families = registry.gather();
    let family = families.iter().find(|f| f.name() == name)?;
    let mut found = None;
    for m in family.get_metric() {
        let matches = want.iter().all(|(k, v)| {
            m.get_label()
                .iter()
                .any(|l| l.name() == *k && l.value() == *v)
        });
        if matches {
            let v = match family.get_field_type() {
                MetricType::COUNTER => m.get_counter().get_value(),
                MetricType::GAUGE => m.get_gauge().get_value(),
                MetricType::HISTOGRAM => m.get_histogram().get_sample_count() as f64,
                _ => f64::NAN,
            };
            found = Some(found.unwrap_or(0.0) + v);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_events_drive_the_metrics() {
    let kafka = TestKafka::start(1);
    let settings = kafka.settings("metrics-rt");
    kafka.create_runtime_topics(&settings, 2).await;
    let items = inputs(40, 8, 0);
    kafka.produce_all(&settings.topics.input, &items).await;

    let registry = Registry::new();
    let metrics = Arc::new(Metrics::new(&registry, LabelSets::from_settings(&settings)).unwrap());
    let token = CancellationToken::new();
    let handle = tokio::spawn(run_with_observer(
        settings.clone(),
        EchoCounter::new(&settings),
        token.clone(),
        Arc::new(MetricsObserver::new(metrics.clone())),
    ));
    let out = kafka
        .read_topic(
            &settings.topics.risk_scores,
            items.len(),
            Duration::from_secs(20),
        )
        .await;
    token.cancel();
    let summary = tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(out.len(), 40);

    // EchoCounter's outcome label "echoed" is not a pipeline outcome: it counts as `other`.
    let completed = value(&registry, "readmit_messages_outcome_total", &[]).unwrap();
    assert_eq!(completed, summary.messages_completed as f64);
    assert_eq!(
        value(
            &registry,
            "readmit_messages_outcome_total",
            &[("outcome", "other")]
        ),
        Some(summary.messages_completed as f64)
    );
    assert!(summary.messages_completed >= 40);
    assert_eq!(
        value(&registry, "readmit_changelog_restore_duration_seconds", &[]),
        Some(summary.restores.len() as f64)
    );
    assert!(value(&registry, "readmit_rebalances_total", &[("kind", "assign")]).unwrap() >= 1.0);
    assert_eq!(
        value(&registry, "readmit_produce_retries_total", &[]),
        Some(summary.produce_retries as f64)
    );
}

/// Wraps a [`MetricsObserver`] and records the readiness status right after each event.
struct ReadinessLog {
    inner: MetricsObserver,
    readiness: Arc<Readiness>,
    log: Mutex<Vec<(RuntimeEvent, ReadinessStatus)>>,
    statistics: Mutex<Vec<String>>,
}

impl RuntimeObserver for ReadinessLog {
    fn on_event(&self, event: &RuntimeEvent) {
        self.inner.on_event(event);
        let status = self.readiness.status();
        self.log.lock().unwrap().push((event.clone(), status));
    }

    fn wants_statistics(&self) -> bool {
        self.inner.wants_statistics()
    }

    fn on_statistics(&self, statistics: &Statistics) {
        self.inner.on_statistics(statistics);
        self.statistics
            .lock()
            .unwrap()
            .push(statistics.client_type.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_feeds_readiness_latency_lag_and_rebalances() {
    const N: usize = 30;
    let kafka = TestKafka::start(1);
    let mut settings = kafka.settings("metrics-ready");
    // Faster than the runtime's 5 s default, through the pass-through map (which wins).
    settings
        .kafka
        .librdkafka
        .insert("statistics_interval_ms".into(), "200".into());
    kafka.create_runtime_topics(&settings, 1).await;
    let items = inputs(N, 5, 0);
    kafka.produce_all(&settings.topics.input, &items).await;

    let registry = Registry::new();
    let metrics = Arc::new(Metrics::new(&registry, LabelSets::from_settings(&settings)).unwrap());
    let readiness = Arc::new(Readiness::new());
    readiness.set_model_loaded(true);
    let observer = Arc::new(ReadinessLog {
        inner: MetricsObserver::new(metrics.clone()).with_readiness(readiness.clone()),
        readiness: readiness.clone(),
        log: Mutex::default(),
        statistics: Mutex::default(),
    });
    let input = settings.topics.input.clone();
    let lag = |registry: &Registry| {
        value(
            registry,
            "readmit_consumer_lag_messages",
            &[("topic", input.as_str()), ("partition", "0")],
        )
    };
    assert!(!readiness.is_ready(), "no broker seen yet");

    let token = CancellationToken::new();
    let handle = tokio::spawn(run_with_observer(
        settings.clone(),
        EchoCounter::new(&settings),
        token.clone(),
        observer.clone(),
    ));
    let out = kafka
        .read_topic(&settings.topics.risk_scores, N, Duration::from_secs(20))
        .await;
    assert_eq!(out.len(), N);

    // While running and caught up: ready (model loaded, broker UP in the consumer's
    // statistics, partition 0 restored) and the input partition's lag gauge reads 0.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !(readiness.is_ready() && lag(&registry) == Some(0.0)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        readiness.status(),
        ReadinessStatus {
            model_loaded: true,
            broker_reachable: true,
            restoring: vec![],
            rebalancing: false,
            stopping: false,
        }
    );
    assert_eq!(lag(&registry), Some(0.0), "caught up: no lag");
    let seen: Vec<String> = observer.statistics.lock().unwrap().clone();
    assert!(seen.iter().any(|t| t == "consumer"), "{seen:?}");
    assert!(seen.iter().any(|t| t == "producer"), "{seen:?}");

    token.cancel();
    let summary = tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // Every message: one end-to-end latency and one publish-stage sample.
    assert_eq!(summary.messages_completed, N as u64);
    assert_eq!(
        value(&registry, "readmit_end_to_end_latency_seconds", &[]),
        Some(N as f64)
    );
    assert_eq!(
        value(
            &registry,
            "readmit_stage_duration_seconds",
            &[("stage", "publish")]
        ),
        Some(N as f64)
    );
    assert!(value(&registry, "readmit_rebalances_total", &[("kind", "assign")]).unwrap() >= 1.0);

    // Readiness followed the assignment: restoring from assignment until restored, and the
    // revoke (at the latest when the consumer closed) dropped the partition.
    let log = observer.log.lock().unwrap().clone();
    let tp = (input.clone(), 0);
    let assigned = log
        .iter()
        .position(|(e, _)| matches!(e, RuntimeEvent::PartitionsAssigned(p) if p.contains(&tp)))
        .expect("assignment event");
    assert_eq!(log[assigned].1.restoring, vec![0]);
    assert!(!log[assigned].1.is_ready(), "restoring: not ready");
    let restored = log
        .iter()
        .position(|(e, _)| matches!(e, RuntimeEvent::Restored(r) if r.partition == 0))
        .expect("restore event");
    assert!(restored > assigned);
    assert_eq!(log[restored].1.restoring, Vec::<i32>::new());
    let first_completed = log
        .iter()
        .position(|(e, _)| matches!(e, RuntimeEvent::MessageCompleted { .. }))
        .unwrap();
    assert!(first_completed > restored, "no message before restore");
    let revoked = log
        .iter()
        .rposition(|(e, _)| matches!(e, RuntimeEvent::PartitionsRevoked(p) if p.contains(&tp)))
        .expect("revoke event");
    assert!(revoked > restored);
    assert!(log[revoked].1.restoring.is_empty());
    assert!(
        log[revoked].1.rebalancing && !log[revoked].1.is_ready(),
        "revoked and not reassigned: not ready"
    );
    assert_eq!(summary.partitions_revoked, summary.partitions_assigned);
    // The revoked partition's lag series is gone and no partition counts as assigned.
    assert_eq!(lag(&registry), None);
    assert_eq!(
        value(&registry, "readmit_partitions_assigned", &[]),
        Some(0.0)
    );
}

/// A consumer context forwarding librdkafka statistics to the sink.
struct StatsContext(StatisticsSink);

impl ClientContext for StatsContext {
    fn stats(&self, statistics: Statistics) {
        self.0.observe(&statistics);
    }
}

impl ConsumerContext for StatsContext {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_statistics_give_per_partition_lag_from_stored_offsets() {
    let kafka = TestKafka::start(1);
    let topic = unique("metrics-lag");
    let group = unique("metrics-lag-group");
    kafka.create_topic(&topic, 2, false).await;
    let producer = kafka.producer();
    for (partition, n) in [(0, 50), (1, 30)] {
        for i in 0..n {
            kafka
                .produce(&producer, &topic, Some(partition), &format!("k{i}"), "v")
                .await;
        }
    }

    let registry = Registry::new();
    let metrics = Arc::new(
        Metrics::new(
            &registry,
            LabelSets {
                topics: vec![topic.clone()],
                collaboratives: vec![],
            },
        )
        .unwrap(),
    );
    let readiness = Arc::new(Readiness::new());
    let sink = StatisticsSink::new(metrics.clone(), Some(readiness.clone()));
    let consumer: BaseConsumer<StatsContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap_servers())
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("statistics.interval.ms", "100")
        .create_with_context(StatsContext(sink))
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Beginning)
        .unwrap();
    tpl.add_partition_offset(&topic, 1, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let consumer = Arc::new(consumer);
    let polling = consumer.clone();
    let lags = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut stored = false;
        let lag = |p: &str| {
            value(
                &registry,
                "readmit_consumer_lag_messages",
                &[("topic", topic.as_str()), ("partition", p)],
            )
        };
        loop {
            // Poll without consuming far: the position moves, the committed offsets stay.
            let _ = polling.poll(Duration::from_millis(50));
            // As the runtime does: store the offset of the last message that reached a final
            // outcome (the client stores offset + 1), then commit. Storing works once the
            // partitions are fetched.
            if !stored
                && polling.store_offset(&topic, 0, 39).is_ok()
                && polling.store_offset(&topic, 1, 9).is_ok()
            {
                polling.commit_consumer_state(CommitMode::Sync).unwrap();
                stored = true;
            }
            if (lag("0"), lag("1")) == (Some(10.0), Some(20.0)) || Instant::now() > deadline {
                return (lag("0"), lag("1"));
            }
        }
    })
    .await
    .unwrap();
    // lag = high watermark - stored offset: 50 - 40 and 30 - 10, although the consumer has
    // fetched everything (its position is at the high watermark)
    assert_eq!(lags, (Some(10.0), Some(20.0)));
    assert!(readiness.broker_reachable(), "a broker was UP in the stats");
    drop(consumer);
}
