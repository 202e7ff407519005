//! `readmit loadtest`: the load harness. On one broker (librdkafka's in-process mock cluster by
//! default, or a real one) and in one run it
//!
//! 1. pre-loads N simulated ADT messages (test split, see [`workload`]) into the input topic;
//! 2. measures a plain rdkafka consume → produce **passthrough** of those records with the
//!    service's own consumer and producer settings (acks, linger, idempotence, compression):
//!    the ceiling of any Kafka-in/Kafka-out service;
//! 3. measures the **service** — the processor `readmit run` runs (pipeline with metrics and
//!    the live monitor on the streaming runtime), in process, fresh consumer group — on the
//!    same records, and reports both rates and their ratio;
//! 4. measures **end-to-end latency at fixed offered rates** for both paths: a paced producer
//!    stamps each record with its *intended* send time, and the latency is from that stamp to
//!    the moment every output of the record was acknowledged (the runtime's observer hook for
//!    the service), recorded in an HdrHistogram — a stalled sender or broker shows up as
//!    latency (no coordinated omission);
//! 5. optionally measures **backlog catch-up**: time to drain M queued messages with one
//!    instance on one partition, and two instances on two partitions (a fresh mock cluster
//!    each, so the broker's memory is given back between them).
//!
//! [`memory`] measures the resident memory per patient of [`PartitionState`](crate::state)
//! and the time to restore it from its changelog encoding.

pub mod broker;
pub mod memory;
pub mod paths;
pub mod workload;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::Rng;
use rdkafka::error::RDKafkaErrorCode;

use broker::Broker;
use paths::{Latencies, Passthrough, Service};
use workload::Workload;

use crate::config::{Secret, Settings};

/// Why a load test could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The dataset could not be read or simulated.
    #[error("dataset: {0} (run from the repository root, or pass --data)")]
    Dataset(#[from] crate::simulate::SimError),
    /// A Kafka client failed.
    #[error("Kafka {what}: {source}")]
    Kafka {
        /// Which client or step.
        what: &'static str,
        /// The client error.
        source: rdkafka::error::KafkaError,
    },
    /// No broker answered at the bootstrap servers.
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
    /// A topic could not be created.
    #[error("topic {0} could not be created: {1}")]
    Topic(String, RDKafkaErrorCode),
    /// A changelog record did not restore.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// The settings are invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The service could not be assembled (model, key).
    #[error(transparent)]
    Service(#[from] crate::service::ServiceError),
    /// The runtime stopped with an error.
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
    /// A phase made no progress for too long.
    #[error("{phase}: no progress for {seconds} s ({done} of {expected} messages done)")]
    Stalled {
        /// The phase.
        phase: String,
        /// Seconds without progress.
        seconds: u64,
        /// Messages done.
        done: u64,
        /// Messages expected.
        expected: u64,
    },
    /// A task of the harness ended abnormally.
    #[error("load test task failed: {0}")]
    Task(String),
    /// Options that cannot work.
    #[error("option {option}: {reason}")]
    Option {
        /// The option.
        option: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// More queued messages per partition than the in-process mock broker keeps.
    #[error(
        "option {option} {messages}: about {per_partition} queued messages per partition, but the \
         in-process broker keeps only about {MOCK_MESSAGES_PER_PARTITION} simulated messages per \
         partition (5 MiB of compressed batches; older ones are dropped unread, and the run would \
         stall): use more --partitions, fewer messages, or a real broker (--bootstrap-servers)"
    )]
    MockCapacity {
        /// `--messages` or `--backlog`.
        option: &'static str,
        /// Its value.
        messages: usize,
        /// Messages each partition would queue.
        per_partition: usize,
    },
}

/// Simulated messages (~1 KB each) one partition of librdkafka's mock cluster holds before it
/// drops the oldest: the mock keeps 5 MiB of (LZ4-compressed) batches per partition, which
/// held ~10,400 of them in a run that stalled at 31,188 of 100,000 messages on 3 partitions,
/// and 9,000 on one partition in the backlog runs of BENCHMARKS.md.
pub const MOCK_MESSAGES_PER_PARTITION: usize = 9_000;

/// Refuses, before anything starts, a run whose queued input cannot fit the mock broker.
fn check_mock_capacity(opts: &LoadOptions) -> Result<(), LoadError> {
    if opts.bootstrap_servers.is_some() {
        return Ok(());
    }
    let partitions = usize::try_from(opts.partitions.max(1)).unwrap_or(1);
    // The backlog's one-instance run queues everything on one partition.
    for (option, messages, partitions) in [
        ("--messages", opts.messages, partitions),
        ("--backlog", opts.backlog, 1),
    ] {
        let per_partition = messages.div_ceil(partitions);
        if per_partition > MOCK_MESSAGES_PER_PARTITION {
            return Err(LoadError::MockCapacity {
                option,
                messages,
                per_partition,
            });
        }
    }
    Ok(())
}

/// Options of a load test (`readmit loadtest --help`).
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// A real broker instead of the in-process mock cluster.
    pub bootstrap_servers: Option<String>,
    /// Messages pre-loaded for the throughput comparison.
    pub messages: usize,
    /// Partitions of every topic of the throughput and latency phases.
    pub partitions: i32,
    /// Offered rates of the latency phases (msg/s); empty = skip.
    pub rates: Vec<f64>,
    /// Seconds each latency phase offers its rate.
    pub latency_seconds: f64,
    /// Messages of the backlog phases (0 = skip).
    pub backlog: usize,
    /// The dataset file.
    pub data: PathBuf,
    /// The model artifact (default: the service default).
    pub model: Option<PathBuf>,
    /// Seconds without progress before a phase fails.
    pub stall_seconds: u64,
    /// Print progress lines to stderr.
    pub progress: bool,
    /// `producer.linger_ms` for the service and the passthrough (None = the default).
    pub linger_ms: Option<u64>,
    /// Extra librdkafka properties for every client of the run (the `kafka.librdkafka`
    /// pass-through map), e.g. `fetch.wait.max.ms`.
    pub librdkafka: Vec<(String, String)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            bootstrap_servers: None,
            messages: 20_000,
            partitions: 3,
            rates: vec![1_000.0, 10_000.0],
            latency_seconds: 10.0,
            backlog: 0,
            data: PathBuf::from(crate::demo::DEFAULT_DATA),
            model: None,
            stall_seconds: 120,
            progress: true,
            linger_ms: None,
            librdkafka: Vec::new(),
        }
    }
}

/// Progress lines on stderr with the elapsed time (or nothing).
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    enabled: bool,
}

impl Progress {
    /// Starts the clock.
    pub fn new(enabled: bool) -> Self {
        Self {
            started: Instant::now(),
            enabled,
        }
    }

    /// Prints one line.
    pub fn line(&self, text: &str) {
        if self.enabled {
            eprintln!("[{:7.1}s] {text}", self.started.elapsed().as_secs_f64());
        }
    }
}

/// Messages/s of one path over one batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    /// Messages fully handled.
    pub messages: u64,
    /// Seconds from the first message taken (the service: first partition restored) to the
    /// last one fully handled.
    pub seconds: f64,
    /// Seconds from starting the clients (group join, restore) to the last one handled.
    pub wall_seconds: f64,
}

impl Throughput {
    /// Messages per second over [`seconds`](Self::seconds).
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.messages as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Latency percentiles of one fixed-rate phase of one path.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyFigures {
    /// `passthrough` or `readmit`.
    pub path: &'static str,
    /// Offered rate, msg/s.
    pub rate: f64,
    /// The rate the paced sender achieved.
    pub achieved_rate: f64,
    /// Records sent.
    pub sent: u64,
    /// Latencies recorded.
    pub recorded: u64,
    /// Percentiles and maximum, microseconds.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Maximum.
    pub max_us: u64,
    /// The largest lag of a send behind its schedule.
    pub max_send_lag: Duration,
}

/// One backlog catch-up.
#[derive(Debug, Clone, PartialEq)]
pub struct BacklogFigures {
    /// Instances in the group (= partitions of the input).
    pub instances: usize,
    /// Messages queued.
    pub messages: u64,
    /// Seconds to pre-load them.
    pub preload_seconds: f64,
    /// The drain.
    pub drain: Throughput,
}

/// Everything one load test measured.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// The broker (`in-process mock cluster` or the bootstrap servers).
    pub broker: String,
    /// Partitions of the throughput topics.
    pub partitions: i32,
    /// Messages pre-loaded.
    pub preloaded: u64,
    /// The passthrough over them.
    pub passthrough: Throughput,
    /// Records the passthrough produced in total (throughput and latency phases).
    pub passthrough_produced: u64,
    /// The service over them.
    pub service: Throughput,
    /// Messages the service completed in total (its runtime's own count).
    pub service_completed: u64,
    /// Records the service produced in total (alerts, audit, changelog, …).
    pub service_records: u64,
    /// Outcome counts of the service.
    pub service_outcomes: Vec<(String, u64)>,
    /// Fixed-rate latency phases.
    pub latency: Vec<LatencyFigures>,
    /// Backlog catch-up phases.
    pub backlog: Vec<BacklogFigures>,
}

impl LoadReport {
    /// Service rate / passthrough rate.
    pub fn ratio(&self) -> f64 {
        let p = self.passthrough.rate();
        if p > 0.0 {
            self.service.rate() / p
        } else {
            0.0
        }
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "broker: {} ({} partitions)",
            self.broker, self.partitions
        );
        let _ = writeln!(s, "pre-loaded: {} messages", self.preloaded);
        for (name, t) in [
            ("passthrough", &self.passthrough),
            ("readmit", &self.service),
        ] {
            let _ = writeln!(
                s,
                "{name:>12}: {:>8} msgs in {:>7.2} s = {:>9.0} msg/s (wall incl. join/restore {:.2} s)",
                t.messages,
                t.seconds,
                t.rate(),
                t.wall_seconds
            );
        }
        let _ = writeln!(
            s,
            "       ratio: {:.2}x (readmit / passthrough)",
            self.ratio()
        );
        let _ = writeln!(
            s,
            "readmit outcomes: {} | records produced {}",
            self.service_outcomes
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.service_records
        );
        for l in &self.latency {
            let _ = writeln!(
                s,
                "latency {:>11} @ {:>6.0} msg/s (achieved {:.0}, {} sent, {} recorded): p50 {:.2} ms  p99 {:.2} ms  p999 {:.2} ms  max {:.2} ms  (max send lag {:.1} ms)",
                l.path,
                l.rate,
                l.achieved_rate,
                l.sent,
                l.recorded,
                l.p50_us as f64 / 1000.0,
                l.p99_us as f64 / 1000.0,
                l.p999_us as f64 / 1000.0,
                l.max_us as f64 / 1000.0,
                l.max_send_lag.as_secs_f64() * 1000.0
            );
        }
        for b in &self.backlog {
            let _ = writeln!(
                s,
                "backlog: {} msgs, {} instance(s)/partition(s): drained in {:.1} s ({:.0} msg/s; {:.1} s incl. join/restore), preload {:.1} s",
                b.messages,
                b.instances,
                b.drain.seconds,
                b.drain.rate(),
                b.drain.wall_seconds,
                b.preload_seconds
            );
        }
        s
    }
}

/// The harness's service settings: defaults (so the delivery settings are the shipped ones)
/// with the broker, a fresh group, topics under `prefix`, a random pseudonym key, the demo's
/// routing, and no HTTP endpoint.
pub fn load_settings(
    bootstrap: &str,
    prefix: &str,
    partitions: i32,
    opts: &LoadOptions,
) -> Settings {
    let mut s = Settings::default();
    let run: u64 = rand::thread_rng().gen();
    s.kafka.bootstrap_servers = bootstrap.to_string();
    s.kafka.group_id = format!("readmit-loadtest-{run:016x}");
    s.kafka.client_id = "readmit-loadtest".into();
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
    t.create = false;
    t.partitions = partitions;
    t.replication = 1;
    s.model.path = opts.model.clone();
    s.alerts.routing = crate::demo::demo_routing();
    let key: [u8; 24] = rand::thread_rng().gen();
    s.pseudonym.key = Some(Secret::new(
        key.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ));
    s.metrics.listen = String::new();
    if let Some(linger) = opts.linger_ms {
        s.producer.linger_ms = linger;
    }
    for (k, v) in &opts.librdkafka {
        s.kafka.librdkafka.insert(k.clone(), v.clone());
    }
    s
}

/// Every topic the service of `settings` reads or writes, plus `extra`.
fn all_topics(settings: &Settings, extra: &[String]) -> Result<Vec<String>, LoadError> {
    let scorer = crate::service::load_scorer(settings)?;
    let pipeline = crate::service::build_pipeline(settings, scorer)?;
    let t = &settings.topics;
    let mut topics = vec![
        t.input.clone(),
        t.changelog.clone(),
        t.risk_scores.clone(),
        t.unrouted.clone(),
        t.outcomes.clone(),
        t.dlq.clone(),
    ];
    for a in pipeline.alert_topics() {
        if !topics.iter().any(|x| **x == *a) {
            topics.push(a.to_string());
        }
    }
    topics.extend(extra.iter().cloned());
    Ok(topics)
}

/// Waits until `done()` reaches `expected`; fails when nothing moved for `stall` or
/// `failed()` says the path died.
async fn wait_for(
    phase: &str,
    expected: u64,
    done: impl Fn() -> u64,
    failed: impl Fn() -> bool,
    detail: impl Fn() -> String,
    stall: Duration,
    progress: &Progress,
) -> Result<(), LoadError> {
    let mut last = done();
    let mut last_move = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let now = done();
        if now >= expected {
            return Ok(());
        }
        if now != last {
            last = now;
            last_move = Instant::now();
        }
        if failed() {
            return Err(LoadError::Task(format!("{phase}: the path stopped early")));
        }
        if last_move.elapsed() > stall {
            return Err(LoadError::Stalled {
                phase: phase.to_string(),
                seconds: stall.as_secs(),
                done: now,
                expected,
            });
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            progress.line(&format!("  {phase}: {now}/{expected} {}", detail()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn figures(
    path: &'static str,
    rate: f64,
    sent: &broker::Paced,
    l: Option<Latencies>,
) -> LatencyFigures {
    let h = l.map(|l| l.histogram);
    let q = |q: f64| h.as_ref().map_or(0, |h| h.value_at_quantile(q));
    LatencyFigures {
        path,
        rate,
        achieved_rate: sent.achieved_rate,
        sent: sent.sent,
        recorded: h.as_ref().map_or(0, |h| h.len()),
        p50_us: q(0.5),
        p99_us: q(0.99),
        p999_us: q(0.999),
        max_us: h.as_ref().map_or(0, |h| h.max()),
        max_send_lag: sent.max_send_lag,
    }
}

/// Runs the throughput, latency and (when asked) backlog phases.
pub async fn run(opts: &LoadOptions) -> Result<LoadReport, LoadError> {
    if opts.messages == 0 {
        return Err(LoadError::Option {
            option: "--messages",
            reason: "must be at least 1",
        });
    }
    if opts.partitions < 1 {
        return Err(LoadError::Option {
            option: "--partitions",
            reason: "must be at least 1",
        });
    }
    if opts.rates.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        return Err(LoadError::Option {
            option: "--rates",
            reason: "every rate must be a positive number of messages per second",
        });
    }
    check_mock_capacity(opts)?;
    let progress = Progress::new(opts.progress);
    let stall = Duration::from_secs(opts.stall_seconds.max(1));
    let rows = crate::simulate::load_rows(&opts.data)?;
    let mut workload = Workload::new(&rows);
    drop(rows);

    let broker = Broker::start(opts.bootstrap_servers.as_deref())?;
    let prefix = if broker.is_mock() {
        "lt.".to_string()
    } else {
        let run: u32 = rand::thread_rng().gen();
        format!("readmit-lt-{run:08x}.")
    };
    let settings = load_settings(broker.bootstrap(), &prefix, opts.partitions, opts);
    settings.validate()?;
    let pt_out = format!("{prefix}passthrough.out");
    let pt_latency = format!("{prefix}passthrough.latency-in");
    let topics = all_topics(&settings, &[pt_out.clone(), pt_latency.clone()])?;
    broker
        .create_topics(&settings, &topics, opts.partitions)
        .await?;
    let broker_name = if broker.is_mock() {
        "in-process librdkafka mock cluster (1 broker)".to_string()
    } else {
        broker.bootstrap().to_string()
    };
    progress.line(&format!(
        "broker: {broker_name}; {} topics with {} partitions under {prefix}",
        topics.len(),
        opts.partitions
    ));

    // 1. Pre-load.
    progress.line(&format!(
        "generating and pre-loading {} messages…",
        opts.messages
    ));
    let records = workload.take(opts.messages)?;
    let preloaded = broker::preload(
        &settings,
        &settings.topics.input,
        records.into_iter(),
        opts.messages as u64,
        &progress,
    )
    .await?;
    progress.line(&format!("pre-loaded {preloaded} messages"));

    // 2. Passthrough: throughput, then latency at each rate (on its own latency topic).
    progress.line("passthrough: consume → produce with the service's client settings…");
    let started = Instant::now();
    let pt = Passthrough::start(&settings, &settings.topics.input, &pt_latency, &pt_out)?;
    let c = pt.counters.clone();
    wait_for(
        "passthrough",
        preloaded,
        || c.done.load(std::sync::atomic::Ordering::Relaxed),
        || pt.is_finished(),
        || {
            format!(
                "(received {})",
                c.received.load(std::sync::atomic::Ordering::Relaxed)
            )
        },
        stall,
        &progress,
    )
    .await?;
    let passthrough = Throughput {
        messages: preloaded,
        seconds: c.busy_seconds(),
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    progress.line(&format!("passthrough: {:.0} msg/s", passthrough.rate()));
    let mut latency = Vec::new();
    let mut latency_records = Vec::new();
    for &rate in &opts.rates {
        let n = ((rate * opts.latency_seconds).ceil() as usize).max(1);
        latency_records.push(workload.take(n)?);
    }
    for (i, &rate) in opts.rates.iter().enumerate() {
        progress.line(&format!("passthrough latency at {rate} msg/s…"));
        let before = c.latency_done.load(std::sync::atomic::Ordering::Relaxed);
        c.start_latencies(0)?;
        let sent = broker::paced(
            &settings,
            &pt_latency,
            latency_records[i].clone(),
            rate,
            &progress,
        )
        .await?;
        wait_for(
            "passthrough latency",
            before + sent.sent,
            || c.latency_done.load(std::sync::atomic::Ordering::Relaxed),
            || pt.is_finished(),
            || {
                format!(
                    "(received {})",
                    c.received.load(std::sync::atomic::Ordering::Relaxed)
                )
            },
            stall,
            &progress,
        )
        .await?;
        let f = figures("passthrough", rate, &sent, c.take_latencies());
        progress.line(&format!(
            "  p50 {:.2} ms p99 {:.2} ms p999 {:.2} ms",
            f.p50_us as f64 / 1e3,
            f.p99_us as f64 / 1e3,
            f.p999_us as f64 / 1e3
        ));
        latency.push(f);
    }
    let passthrough_produced = pt.stop().await?;

    // 3. The service: throughput on the same records, then latency at each rate.
    progress.line("readmit: the service's processor on the same records (fresh group)…");
    let started = Instant::now();
    let svc = Service::start(&settings, 1)?;
    let c = svc.counters.clone();
    wait_for(
        "readmit",
        preloaded,
        || c.done.load(std::sync::atomic::Ordering::Relaxed),
        || svc.any_finished(),
        String::new,
        stall,
        &progress,
    )
    .await?;
    let service = Throughput {
        messages: preloaded,
        seconds: c.busy_seconds(),
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    progress.line(&format!(
        "readmit: {:.0} msg/s ({:.2}x the passthrough)",
        service.rate(),
        service.rate() / passthrough.rate().max(f64::MIN_POSITIVE)
    ));
    for (i, &rate) in opts.rates.iter().enumerate() {
        progress.line(&format!("readmit latency at {rate} msg/s…"));
        let before = c.latency_done.load(std::sync::atomic::Ordering::Relaxed);
        c.start_latencies(broker::now_ms())?;
        let sent = broker::paced(
            &settings,
            &settings.topics.input,
            std::mem::take(&mut latency_records[i]),
            rate,
            &progress,
        )
        .await?;
        wait_for(
            "readmit latency",
            before + sent.sent,
            || c.latency_done.load(std::sync::atomic::Ordering::Relaxed),
            || svc.any_finished(),
            String::new,
            stall,
            &progress,
        )
        .await?;
        let f = figures("readmit", rate, &sent, c.take_latencies());
        progress.line(&format!(
            "  p50 {:.2} ms p99 {:.2} ms p999 {:.2} ms",
            f.p50_us as f64 / 1e3,
            f.p99_us as f64 / 1e3,
            f.p999_us as f64 / 1e3
        ));
        latency.push(f);
    }
    let summaries = svc.stop().await?;
    let mut outcomes = std::collections::BTreeMap::new();
    let (mut completed, mut records) = (0, 0);
    for s in &summaries {
        completed += s.messages_completed;
        records += s.records_produced;
        for (k, v) in &s.outcomes {
            *outcomes.entry(k.to_string()).or_insert(0) += v;
        }
    }
    drop(broker);

    // 4. Backlog catch-up.
    let mut backlog = Vec::new();
    if opts.backlog > 0 {
        for instances in [1usize, 2] {
            backlog.push(run_backlog(opts, &mut workload, instances, stall, &progress).await?);
        }
    }

    Ok(LoadReport {
        broker: broker_name,
        partitions: opts.partitions,
        preloaded,
        passthrough,
        passthrough_produced,
        service,
        service_completed: completed,
        service_records: records,
        service_outcomes: outcomes.into_iter().collect(),
        latency,
        backlog,
    })
}

/// Queues `opts.backlog` messages on an input with `instances` partitions and times
/// `instances` service instances draining it.
async fn run_backlog(
    opts: &LoadOptions,
    workload: &mut Workload,
    instances: usize,
    stall: Duration,
    progress: &Progress,
) -> Result<BacklogFigures, LoadError> {
    // A fresh mock cluster per backlog run gives the previous one's memory back.
    let broker = Broker::start(opts.bootstrap_servers.as_deref())?;
    let run: u32 = rand::thread_rng().gen();
    let prefix = format!("readmit-lt-backlog{instances}-{run:08x}.");
    let partitions = instances as i32;
    let settings = load_settings(broker.bootstrap(), &prefix, partitions, opts);
    settings.validate()?;
    let topics = all_topics(&settings, &[])?;
    broker.create_topics(&settings, &topics, partitions).await?;
    progress.line(&format!(
        "backlog ({instances} instance(s)): generating and pre-loading {} messages…",
        opts.backlog
    ));
    let started = Instant::now();
    let total = opts.backlog as u64;
    let mut remaining = opts.backlog;
    let mut source_error = None;
    let records = std::iter::from_fn(|| {
        if remaining == 0 {
            return None;
        }
        remaining -= 1;
        match workload.next_record() {
            Ok(r) => Some(r),
            Err(e) => {
                source_error = Some(e);
                None
            }
        }
    });
    let queued =
        broker::preload(&settings, &settings.topics.input, records, total, progress).await?;
    if let Some(e) = source_error {
        return Err(e.into());
    }
    let preload_seconds = started.elapsed().as_secs_f64();
    progress.line(&format!(
        "backlog: {queued} queued in {preload_seconds:.1} s; starting {instances} instance(s)"
    ));
    let started = Instant::now();
    let svc = Service::start(&settings, instances)?;
    let c = svc.counters.clone();
    wait_for(
        "backlog drain",
        queued,
        || c.done.load(std::sync::atomic::Ordering::Relaxed),
        || svc.any_finished(),
        String::new,
        stall,
        progress,
    )
    .await?;
    let drain = Throughput {
        messages: queued,
        seconds: c.busy_seconds(),
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    progress.line(&format!(
        "backlog ({instances}): drained in {:.1} s ({:.0} msg/s)",
        drain.seconds,
        drain.rate()
    ));
    svc.stop().await?;
    drop(broker);
    Ok(BacklogFigures {
        instances,
        messages: queued,
        preload_seconds,
        drain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_fit_the_mock_broker_and_an_overfull_partition_is_refused_up_front() {
        let defaults = LoadOptions::default();
        check_mock_capacity(&defaults).expect("the defaults fit");
        // 100,000 on 3 partitions (the old default) stalled after ~31,000: refused now,
        // naming the option and the per-partition figure.
        let err = check_mock_capacity(&LoadOptions {
            messages: 100_000,
            ..LoadOptions::default()
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("option --messages 100000: about 33334 queued messages per partition")
                && text.contains("--bootstrap-servers"),
            "{text}"
        );
        // The same on enough partitions fits; exactly the limit fits, one more does not.
        for (messages, partitions, fits) in [
            (100_000, 12, true),
            (MOCK_MESSAGES_PER_PARTITION * 2, 2, true),
            (MOCK_MESSAGES_PER_PARTITION * 2 + 1, 2, false),
        ] {
            let opts = LoadOptions {
                messages,
                partitions,
                ..LoadOptions::default()
            };
            assert_eq!(
                check_mock_capacity(&opts).is_ok(),
                fits,
                "{messages}/{partitions}"
            );
        }
        // The backlog's one-instance run puts everything on one partition.
        let backlog = LoadOptions {
            backlog: MOCK_MESSAGES_PER_PARTITION + 1,
            ..LoadOptions::default()
        };
        assert!(check_mock_capacity(&backlog)
            .unwrap_err()
            .to_string()
            .starts_with("option --backlog"));
        // A real broker is not limited this way.
        let real = LoadOptions {
            bootstrap_servers: Some("127.0.0.1:9092".into()),
            messages: 1_000_000,
            backlog: 1_000_000,
            ..LoadOptions::default()
        };
        check_mock_capacity(&real).expect("no limit on a real broker");
    }
}
