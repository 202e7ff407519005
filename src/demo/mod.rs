//! `readmit demo`: the whole service on one machine with no Kafka installed. Starts
//! librdkafka's in-process mock cluster (or uses a given broker), creates the topics, runs the
//! processor with metrics, readiness and the live model monitor, streams the vendored
//! Diabetes-130 test split through the simulator (with a few malformed messages so the
//! dead-letter path shows), serves Prometheus metrics on localhost, and prints each alert as
//! it arrives plus a running summary — then a final summary whose counts come from the
//! runtime's [`RunSummary`](crate::runtime::RunSummary) and the metrics registry.
//!
//! Alerts are printed with the pseudonym only (see [`view::alert_line`]); the demo's
//! collaboratives are not entitled to MRNs or ZIP codes anyway.

pub mod view;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::Registry;
use rand::Rng;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::alerts::{Alert, Collaborative, Routing, Rule, Tier};
use crate::config::{ClientKind, Secret, Settings};
use crate::metrics::{
    ALERTS_PUBLISHED_TOTAL, END_TO_END_LATENCY_SECONDS, MESSAGES_CONSUMED_TOTAL,
    MESSAGES_OUTCOME_TOTAL, PARTITIONS_ASSIGNED,
};
use crate::model::Scorer;
use crate::runtime::{self, RunSummary};
use crate::simulate::{load_rows, SimConfig, Simulator, SplitChoice};

/// Where the vendored dataset lives, relative to the repository root.
pub const DEFAULT_DATA: &str = "data/diabetes130/diabetic_data.csv.gz";

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The vendored dataset is missing or unreadable.
    #[error("dataset: {0} (run readmit demo from the repository root, or pass --data)")]
    Dataset(#[from] crate::simulate::SimError),
    /// The mock cluster could not start.
    #[error("could not start the in-process Kafka mock cluster: {0}")]
    Mock(rdkafka::error::KafkaError),
    /// A Kafka client for the demo could not be created or used.
    #[error("Kafka {what}: {source}")]
    Kafka {
        /// Which client or step.
        what: &'static str,
        /// The client error.
        source: rdkafka::error::KafkaError,
    },
    /// Creating the alert topics failed.
    #[error(
        "no Kafka broker answered at {servers} within {} s (check --bootstrap-servers): {source}",
        crate::runtime::topics::REACHABLE_TIMEOUT.as_secs()
    )]
    Unreachable {
        /// The bootstrap servers tried.
        servers: String,
        /// The metadata request's error.
        source: rdkafka::error::KafkaError,
    },
    #[error("topic {0} could not be created: {1}")]
    Topic(String, RDKafkaErrorCode),
    /// The assembled settings are invalid (a bug in the demo, or a bad option).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The service could not be assembled (model, key).
    #[error(transparent)]
    Service(#[from] crate::service::ServiceError),
    /// Metrics registration failed.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    /// The model monitor could not be set up.
    #[error(transparent)]
    Monitor(#[from] crate::metrics::MonitorError),
    /// The metrics endpoint could not be served.
    #[error(transparent)]
    Serve(#[from] crate::metrics::ServeError),
    /// The runtime stopped with an error.
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
    /// A demo task ended abnormally.
    #[error("demo task failed: {0}")]
    Task(String),
}

/// Demo options (`readmit demo --help`).
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// A real broker instead of the in-process mock cluster.
    pub bootstrap_servers: Option<String>,
    /// Simulator messages per second; 0 = as fast as possible.
    pub rate: f64,
    /// Stop after this many discharges were scored.
    pub discharges: Option<u64>,
    /// Keep running (serving metrics) after `discharges` or the end of the data, until Ctrl-C.
    pub keep_running: bool,
    /// Port of the metrics endpoint on 127.0.0.1; 0 = any free port.
    pub metrics_port: u16,
    /// The dataset file.
    pub data: PathBuf,
    /// Fraction of malformed messages after each real one.
    pub malformed: f64,
    /// The model artifact (default: the service default).
    pub model: Option<PathBuf>,
    /// Seconds between summary lines.
    pub summary_every: Duration,
    /// Whether stdout is a terminal (colour).
    pub color: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            bootstrap_servers: None,
            rate: 20.0,
            discharges: None,
            keep_running: false,
            metrics_port: 9464,
            data: PathBuf::from(DEFAULT_DATA),
            malformed: 0.02,
            model: None,
            summary_every: Duration::from_secs(5),
            color: false,
        }
    }
}

/// Partitions of every demo topic.
pub const PARTITIONS: i32 = 3;

/// The demo's collaboratives and rules: Maryland ZIPs (212xx) and facility `SIM_NORTH` go to
/// `chesapeake`, Ohio ZIPs (440xx/441xx) to `lake-erie`; Texas patients of other facilities
/// match no rule and show the unrouted path. Both subscribe to moderate and high.
pub fn demo_routing() -> Routing {
    let collab = |name: &str| Collaborative {
        name: name.into(),
        tiers: vec![Tier::Moderate, Tier::High],
        receives_mrn: false,
        receives_zip: false,
        format: Default::default(),
    };
    Routing {
        collaboratives: vec![collab("chesapeake"), collab("lake-erie")],
        rules: vec![
            // SIM_NORTH's patients, or anyone living in 212*: two rules (a rule's conditions
            // must all match).
            Rule {
                collaboratives: vec!["chesapeake".into()],
                facilities: vec!["SIM_NORTH".into()],
                zips: vec![],
                counties: vec![],
            },
            Rule {
                collaboratives: vec!["chesapeake".into()],
                facilities: vec![],
                zips: vec!["212".into()],
                counties: vec![],
            },
            Rule {
                collaboratives: vec!["lake-erie".into()],
                facilities: vec![],
                zips: vec!["440".into(), "441".into()],
                counties: vec![],
            },
        ],
    }
}

/// The demo's settings for `bootstrap` (topic names get `prefix`).
pub fn demo_settings(bootstrap: &str, prefix: &str, opts: &DemoOptions) -> Settings {
    let mut s = Settings::default();
    let run: u64 = rand::thread_rng().gen();
    s.kafka.bootstrap_servers = bootstrap.to_string();
    s.kafka.group_id = format!("readmit-demo-{run:016x}");
    s.kafka.client_id = "readmit-demo".into();
    let t = &mut s.topics;
    for name in [
        &mut t.input,
        &mut t.risk_scores,
        &mut t.unrouted,
        &mut t.dlq,
        &mut t.changelog,
        &mut t.outcomes,
    ] {
        *name = format!("{prefix}{name}");
    }
    t.alerts_prefix = format!("{prefix}{}", t.alerts_prefix);
    t.create = true;
    t.partitions = PARTITIONS;
    t.replication = 1;
    let c = &mut s.consumer;
    c.session_timeout_ms = 6_000;
    c.drain_timeout_ms = 4_000;
    c.auto_commit_interval_ms = 1_000;
    c.request_timeout_ms = 10_000;
    s.producer.linger_ms = 5;
    s.producer.compression = "none".into();
    s.producer.flush_timeout_ms = 5_000;
    s.model.path = opts.model.clone();
    s.alerts.routing = demo_routing();
    let key: [u8; 24] = rand::thread_rng().gen();
    s.pseudonym.key = Some(Secret::new(
        key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ));
    s.metrics.listen = format!("127.0.0.1:{}", opts.metrics_port);
    s
}

/// Sum of a counter family's series.
fn counter_sum(registry: &Registry, name: &str) -> u64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}

/// Discharges scored so far: messages whose outcome is `alerted` or `scored`.
fn discharges_scored(registry: &Registry) -> u64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == MESSAGES_OUTCOME_TOTAL)
        .flat_map(|f| f.get_metric().iter())
        .filter(|m| {
            m.get_label()
                .iter()
                .any(|l| l.name() == "outcome" && matches!(l.value(), "alerted" | "scored"))
        })
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}

/// Alerts published per (collaborative, tier).
fn alerts_published(registry: &Registry) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for f in registry.gather() {
        if f.name() != ALERTS_PUBLISHED_TOTAL {
            continue;
        }
        for m in f.get_metric() {
            let label = |n: &str| {
                m.get_label()
                    .iter()
                    .find(|l| l.name() == n)
                    .map(|l| l.value().to_string())
                    .unwrap_or_default()
            };
            let n = m.get_counter().get_value() as u64;
            if n > 0 {
                out.insert((label("collaborative"), label("tier")), n);
            }
        }
    }
    out
}

/// The `q` quantile of the end-to-end latency histogram, seconds.
fn latency_quantile(registry: &Registry, q: f64) -> Option<f64> {
    let families = registry.gather();
    let h = families
        .iter()
        .find(|f| f.name() == END_TO_END_LATENCY_SECONDS)?
        .get_metric()
        .first()?
        .get_histogram();
    let buckets: Vec<(f64, u64)> = h
        .get_bucket()
        .iter()
        .map(|b| (b.upper_bound(), b.cumulative_count()))
        .collect();
    view::histogram_quantile(q, &buckets, h.get_sample_count())
}

/// Creates the per-collaborative alert topics (the runtime's own check covers the others).
async fn create_alert_topics(settings: &Settings, topics: &[String]) -> Result<(), DemoError> {
    let admin: AdminClient<DefaultClientContext> =
        runtime::consumer::base_config(settings, "demo", ClientKind::Admin)
            .create()
            .map_err(|source| DemoError::Kafka {
                what: "admin client",
                source,
            })?;
    let admin = std::sync::Arc::new(admin);
    runtime::topics::broker_answers(&admin)
        .await
        .map_err(|source| DemoError::Unreachable {
            servers: settings.kafka.bootstrap_servers.clone(),
            source,
        })?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, PARTITIONS, TopicReplication::Fixed(1)))
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(new.iter(), &opts)
        .await
        .map_err(|source| DemoError::Kafka {
            what: "create topics",
            source,
        })?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(DemoError::Topic(name, code)),
        }
    }
    let _ = tokio::task::spawn_blocking(move || drop(admin)).await;
    Ok(())
}

/// Produces the simulated stream to `topic` at `rate` messages/s (0 = unpaced) until the data
/// runs out or `stop` is cancelled. Returns the records acknowledged.
async fn simulate(
    settings: Settings,
    rows: Vec<crate::features::dataset::DatasetRow>,
    malformed: f64,
    rate: f64,
    produced: Arc<AtomicU64>,
    stop: CancellationToken,
) -> Result<u64, DemoError> {
    let config = SimConfig {
        split: SplitChoice::Test,
        malformed,
        ..SimConfig::default()
    };
    let sim = Simulator::new(config, &rows)?;
    let producer: FutureProducer =
        runtime::consumer::base_config(&settings, "demo-simulator", ClientKind::Producer)
            .set("linger.ms", "5")
            .set("enable.idempotence", "true")
            .create()
            .map_err(|source| DemoError::Kafka {
                what: "simulator producer",
                source,
            })?;
    let topic = settings.topics.input.clone();
    let start = Instant::now();
    let mut in_flight = std::collections::VecDeque::new();
    let mut acked = 0u64;
    for (sent, record) in sim.records().enumerate() {
        if stop.is_cancelled() {
            break;
        }
        if rate > 0.0 {
            let due = Duration::from_secs_f64(sent as f64 / rate);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
        let delivery = loop {
            match producer.send_result(
                FutureRecord::to(&topic)
                    .key(&record.key)
                    .payload(&record.payload),
            ) {
                Ok(d) => break Some(d),
                Err((e, _))
                    if matches!(e.rdkafka_error_code(), Some(RDKafkaErrorCode::QueueFull)) =>
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((e, _)) => {
                    tracing::warn!(error = %e, "Simulator record not queued.");
                    break None;
                }
            }
        };
        if let Some(d) = delivery {
            in_flight.push_back(d);
        }
        while in_flight.len() > 1_000 || in_flight.front().is_some_and(|_| rate > 0.0) {
            let Some(d) = in_flight.pop_front() else {
                break;
            };
            if matches!(d.await, Ok(Ok(_))) {
                acked += 1;
                produced.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    for d in in_flight {
        if matches!(d.await, Ok(Ok(_))) {
            acked += 1;
            produced.fetch_add(1, Ordering::Relaxed);
        }
    }
    let _ = tokio::task::spawn_blocking(move || drop(producer)).await;
    Ok(acked)
}

/// What one demo run reports.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The runtime's counters.
    pub summary: RunSummary,
    /// The final summary as printed.
    pub summary_view: view::Final,
    /// Where metrics were served.
    pub metrics_addr: SocketAddr,
}

/// `fetch.wait.max.ms` of the demo's consumers on the mock cluster.
const MOCK_FETCH_WAIT_MS: u32 = 10;

/// The mock cluster, when no broker was given.
type Mock = MockCluster<'static, DefaultProducerContext>;

/// Runs the demo until `discharges` were scored (unless `keep_running`) or `shutdown` is
/// cancelled, writing the live view to `out`.
pub async fn run(
    opts: DemoOptions,
    shutdown: CancellationToken,
    out: &mut (dyn Write + Send),
) -> Result<DemoReport, DemoError> {
    let started = Instant::now();
    let rows = load_rows(&opts.data)?;

    // The broker: the mock lives in this frame, i.e. for the whole run.
    let mock: Option<Mock>;
    let (bootstrap, prefix) = match &opts.bootstrap_servers {
        Some(b) => {
            mock = None;
            let run: u32 = rand::thread_rng().gen();
            (b.clone(), format!("readmit-demo-{run:08x}."))
        }
        None => {
            let m = MockCluster::new(1).map_err(DemoError::Mock)?;
            let b = m.bootstrap_servers();
            mock = Some(m);
            (b, String::new())
        }
    };
    let mut settings = demo_settings(&bootstrap, &prefix, &opts);
    // The mock cluster does not implement CreateTopics: create its topics through the mock API.
    settings.topics.create = mock.is_none();
    if mock.is_some() {
        // The mock answers a fetch only when `fetch.wait.max.ms` (librdkafka default 500 ms)
        // runs out, not when data arrives as Kafka does: without this every message waited
        // ~250 ms on average and the demo's latency figures showed the mock, not readmit.
        settings
            .kafka
            .librdkafka
            .entry("fetch.wait.max.ms".into())
            .or_insert_with(|| MOCK_FETCH_WAIT_MS.to_string());
    }
    settings.validate()?;
    let _ = writeln!(
        out,
        "readmit demo: {} ({} partitions per topic), demo pseudonym key (random, not for production)",
        if mock.is_some() {
            format!("in-process Kafka mock cluster at {bootstrap}")
        } else {
            format!("broker {bootstrap}, topics prefixed {prefix}")
        },
        PARTITIONS
    );

    // Topics: the runtime's own (created by its start-up check on a real broker) and the
    // alert topics.
    let scorer = crate::service::load_scorer(&settings)?;
    let pipeline = crate::service::build_pipeline(&settings, scorer.clone())?;
    let alert_topics: Vec<String> = pipeline
        .alert_topics()
        .iter()
        .map(|t| t.to_string())
        .collect();
    if let Some(m) = &mock {
        let t = &settings.topics;
        let mut names: Vec<&String> = vec![
            &t.input,
            &t.changelog,
            &t.risk_scores,
            &t.unrouted,
            &t.outcomes,
            &t.dlq,
        ];
        names.extend(alert_topics.iter().filter(|a| **a != t.unrouted));
        for name in names {
            m.create_topic(name, PARTITIONS, 1)
                .map_err(|source| DemoError::Kafka {
                    what: "mock topic",
                    source,
                })?;
        }
    } else {
        create_alert_topics(&settings, &alert_topics).await?;
    }
    let layout = runtime::topics::ensure_topics(&settings).await?;
    let _ = writeln!(
        out,
        "topics: input {} -> alerts {} | audit {} | DLQ {}{}",
        settings.topics.input,
        alert_topics.join(", "),
        settings.topics.risk_scores,
        settings.topics.dlq,
        if layout.created.is_empty() {
            String::new()
        } else {
            format!(" ({} created)", layout.created.len())
        }
    );
    let _ = writeln!(
        out,
        "routing: SIM_NORTH or ZIP 212* -> chesapeake, ZIP 440*/441* -> lake-erie (moderate+high); others unrouted"
    );

    // Metrics, monitor, readiness: the same wiring `readmit run` uses.
    let observability = crate::service::Observability::new(&settings, scorer.model_id())?;
    // The topic check above fetched metadata: a broker is reachable.
    observability.readiness.set_broker_reachable(true);
    let pipeline = observability.instrument(pipeline);
    let registry = observability.registry.clone();
    let readiness = observability.readiness.clone();
    let serve_stop = CancellationToken::new();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, opts.metrics_port));
    let (bound, server) = crate::metrics::serve(
        addr,
        registry.clone(),
        readiness.clone(),
        serve_stop.clone(),
    )
    .await?;
    let _ = writeln!(
        out,
        "metrics: http://{bound}/metrics  (also /healthz, /readyz)"
    );
    let _ = writeln!(
        out,
        "model: {}; simulator: Diabetes-130 test split, {}, {:.0}% malformed",
        scorer.model_id(),
        if opts.rate > 0.0 {
            format!("{} msg/s", opts.rate)
        } else {
            "as fast as possible".into()
        },
        opts.malformed * 100.0
    );
    let _ = writeln!(out, "Ctrl-C stops cleanly.");
    let _ = out.flush();

    // The processor.
    let run_stop = CancellationToken::new();
    let observer = observability.observer();
    let mut processor = tokio::spawn(runtime::run_with_observer(
        settings.clone(),
        pipeline,
        run_stop.clone(),
        observer,
    ));

    // The watcher: reads alerts, audit and DLQ topics from the beginning (no group).
    let watcher: StreamConsumer =
        runtime::consumer::base_config(&settings, "demo-watcher", ClientKind::Consumer)
            .set("group.id", format!("{}-watcher", settings.kafka.group_id))
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|source| DemoError::Kafka {
                what: "watcher consumer",
                source,
            })?;
    let mut tpl = TopicPartitionList::new();
    let mut watched: Vec<String> = alert_topics.clone();
    watched.push(settings.topics.risk_scores.clone());
    watched.push(settings.topics.dlq.clone());
    for t in &watched {
        for p in 0..PARTITIONS {
            let _ = tpl.add_partition_offset(t, p, Offset::Beginning);
        }
    }
    watcher.assign(&tpl).map_err(|source| DemoError::Kafka {
        what: "watcher assign",
        source,
    })?;

    // The simulator starts once the processor owns its partitions (restored, ready), so the
    // latency figures show processing, not the group join.
    let _ = writeln!(
        out,
        "waiting for the processor to join its consumer group and restore its partitions…"
    );
    let _ = out.flush();
    let ready_by = Instant::now() + Duration::from_secs(30);
    let owns_all = || {
        registry
            .gather()
            .iter()
            .filter(|f| f.name() == PARTITIONS_ASSIGNED)
            .flat_map(|f| f.get_metric().iter())
            .map(|m| m.get_gauge().get_value())
            .sum::<f64>()
            >= f64::from(layout.input_partitions)
    };
    while !(readiness.is_ready() && owns_all())
        && Instant::now() < ready_by
        && !processor.is_finished()
    {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let _ = writeln!(
        out,
        "processor {} after {:.1} s; starting the simulator\n",
        if readiness.is_ready() {
            "ready"
        } else {
            "not ready yet"
        },
        started.elapsed().as_secs_f64()
    );

    // The simulator.
    let sim_stop = CancellationToken::new();
    let produced = Arc::new(AtomicU64::new(0));
    let mut sim = Some(tokio::spawn(simulate(
        settings.clone(),
        rows,
        opts.malformed,
        opts.rate,
        produced.clone(),
        sim_stop.clone(),
    )));

    let mut live = view::Live::default();
    let mut tick = tokio::time::interval(opts.summary_every);
    tick.tick().await;
    let mut check = tokio::time::interval(Duration::from_millis(100));
    let mut processor_result: Option<Result<RunSummary, DemoError>> = None;
    let mut target_reached = false;
    // The simulator finished (its data or a short --data) before the target was reached.
    let mut sim_done = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            r = &mut processor => {
                processor_result = Some(match r {
                    Ok(r) => r.map_err(DemoError::from),
                    Err(e) => Err(DemoError::Task(e.to_string())),
                });
                break;
            }
            r = async {
                match sim.as_mut() {
                    Some(h) => h.await,
                    None => std::future::pending().await,
                }
            }, if sim.is_some() => {
                sim = None;
                match r {
                    Ok(Ok(n)) if opts.discharges.is_some() && !target_reached => { sim_done = true; let _ = writeln!(out, "simulator: all {n} messages sent"); }
                    Ok(Ok(n)) => { let _ = writeln!(out, "simulator: data exhausted after {n} messages; still serving metrics (Ctrl-C to stop)"); }
                    Ok(Err(e)) => { let _ = writeln!(out, "simulator stopped: {e}"); }
                    Err(e) => { let _ = writeln!(out, "simulator task failed: {e}"); }
                }
            }
            _ = check.tick(), if !target_reached => {
                let scored = discharges_scored(&registry);
                // Everything sent was processed and the target cannot be reached any more:
                // stop instead of waiting for discharges that will never come.
                if sim_done
                    && !opts.keep_running
                    && counter_sum(&registry, MESSAGES_CONSUMED_TOTAL) >= produced.load(Ordering::Relaxed)
                {
                    if let Some(n) = opts.discharges.filter(|n| scored < *n) {
                        let _ = writeln!(out, "the simulator ran out of data after {scored} of {n} discharges were scored; stopping");
                        break;
                    }
                }
                if let Some(n) = opts.discharges.filter(|n| scored >= *n) {
                    target_reached = true;
                    if opts.keep_running {
                        sim_stop.cancel();
                        let _ = writeln!(out, "{n} discharges scored; simulator stopped, still serving metrics (Ctrl-C to stop)");
                    } else {
                        break;
                    }
                }
            }
            _ = tick.tick() => {
                live.produced = produced.load(Ordering::Relaxed);
                live.consumed = counter_sum(&registry, MESSAGES_CONSUMED_TOTAL);
                live.scored = live.scored.max(discharges_scored(&registry));
                let _ = writeln!(out, "{}", live.line(started.elapsed().as_secs_f64(), latency_quantile(&registry, 0.99)));
            }
            m = watcher.recv() => {
                let Ok(m) = m else { continue };
                let topic = m.topic();
                if topic == settings.topics.risk_scores {
                    live.scored += 1;
                } else if topic == settings.topics.dlq {
                    live.dead_letters += 1;
                } else if let Some(alert) = m.payload().and_then(|p| serde_json::from_slice::<Alert>(p).ok()) {
                    let tier = alert.tier.map(Tier::as_str).unwrap_or("retraction");
                    if topic == settings.topics.unrouted {
                        live.unrouted += 1;
                    } else {
                        *live.alerts_by_tier.entry(tier.to_string()).or_insert(0) += 1;
                    }
                    if alert.tier != Some(Tier::Low) {
                        let _ = writeln!(out, "{}", view::alert_line(&alert, opts.color));
                    }
                }
            }
        }
        let _ = out.flush();
    }

    // Stop: simulator first, then drain the processor, then the metrics server.
    let _ = writeln!(out, "stopping: draining in-flight messages…");
    sim_stop.cancel();
    if let Some(h) = sim.take() {
        let _ = h.await;
    }
    // Not ready from here on: /readyz answers 503 while the processor drains.
    readiness.begin_stopping();
    run_stop.cancel();
    let summary = match processor_result {
        Some(r) => r?,
        None => match processor.await {
            Ok(r) => r?,
            Err(e) => return Err(DemoError::Task(e.to_string())),
        },
    };
    let _ = tokio::task::spawn_blocking(move || drop(watcher)).await;
    serve_stop.cancel();
    let _ = server.await;

    let final_view = view::Final {
        produced: produced.load(Ordering::Relaxed),
        consumed: counter_sum(&registry, MESSAGES_CONSUMED_TOTAL),
        completed: summary.messages_completed,
        outcomes: summary
            .outcomes
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        alerts: alerts_published(&registry),
        dead_lettered: summary.dead_lettered,
        abandoned: summary.abandoned_in_flight,
        p50: latency_quantile(&registry, 0.5),
        p99: latency_quantile(&registry, 0.99),
        elapsed_s: started.elapsed().as_secs_f64(),
    };
    let _ = write!(out, "\n{}", final_view.render());
    let _ = out.flush();
    drop(mock);
    Ok(DemoReport {
        summary,
        summary_view: final_view,
        metrics_addr: bound,
    })
}
