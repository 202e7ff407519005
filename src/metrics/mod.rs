//! Prometheus metrics: the metric names, the typed [`Metrics`] handles registered once into the
//! service's own [`prometheus::Registry`], and the label sets they accept.
//!
//! Every label comes from a closed set; values outside it are folded into `other` (never
//! passed through), so no patient data and no unbounded cardinality can reach a label:
//!
//! | label | values |
//! |---|---|
//! | `topic` | configured topic names |
//! | `trigger` | `A01`..`A60`, `other`, `unparsed` |
//! | `outcome` | [`OUTCOMES`] + `other` |
//! | `kind` (dead letters) | [`DEAD_LETTER_KINDS`] + `other` |
//! | `kind` (rebalances) | `assign`, `revoke`, `error` |
//! | `collaborative` | configured collaborative names, `unrouted`, `other` |
//! | `tier` | `low`, `moderate`, `high`, `other` |
//! | `stage` | [`Stage`] names |
//! | `partition` | partition numbers of assigned partitions |
//! | `version`, `schema` | the loaded model id and feature schema version (one series) |
//! | `facility` | sending facilities, capped (see [`monitor`]) |
//!
//! Sub-modules: [`names`] (metric names and label sets), [`observer`] (runtime events → metrics), [`lag`] (librdkafka statistics →
//! consumer lag, producer queue), [`monitor`] (live model monitoring), [`http`] (`/metrics`,
//! `/healthz`, `/readyz`).

pub mod http;
pub mod lag;
pub mod monitor;
pub mod names;
pub mod observer;
mod scrape;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

pub use http::{serve, Readiness, ServeError};
pub use lag::StatisticsSink;
pub use monitor::{ModelMonitor, MonitorError, MonitorSettings, ScoreHistogram};
pub use names::*;
pub use observer::MetricsObserver;
pub use scrape::PipelineCounts;

use scrape::{ArcCollector, ScrapeCollector};

/// Errors creating or registering metrics (a duplicate registration is a programming error,
/// reported at start-up).
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The prometheus crate rejected a metric or its registration.
    #[error("metric registration failed: {0}")]
    Register(#[from] prometheus::Error),
}

/// Typed handles of every service metric, registered once into one registry. Share it as
/// `Arc<Metrics>`; all methods take `&self` and are cheap (atomic updates).
pub struct Metrics {
    registry: Registry,
    consumed: IntCounterVec,
    outcomes: IntCounterVec,
    dead_letters: IntCounterVec,
    alerts_published: IntCounterVec,
    end_to_end: Histogram,
    stage_duration: HistogramVec,
    pub(crate) consumer_lag: IntGaugeVec,
    state_patients: IntGaugeVec,
    state_bytes: IntGaugeVec,
    restore_duration: Histogram,
    restored_records: IntCounter,
    pub(crate) producer_queue: IntGauge,
    model_info: IntGaugeVec,
    rebalances: IntCounterVec,
    partitions_assigned: IntGauge,
    commit_failures: IntCounter,
    produce_retries: IntCounter,
    in_flight_abandoned: IntCounter,
    scrape: Arc<ScrapeCollector>,
    collaboratives: Vec<String>,
    topics: Vec<String>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("collaboratives", &self.collaboratives)
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

/// Buckets of per-stage durations: 5 µs … 2.5 s (parse/score take microseconds, publish
/// waits for broker acks).
const STAGE_BUCKETS: &[f64] = &[
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Buckets of end-to-end latency: 5 ms … 5 min.
const END_TO_END_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Buckets of changelog restores: 10 ms … 10 min.
const RESTORE_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Label values known when the service starts; used to pre-create series (so `rate()` sees
/// zeros) and to bound label values.
#[derive(Debug, Clone, Default)]
pub struct LabelSets {
    /// Input topic names (the `topic` label of consumed messages and lag).
    pub topics: Vec<String>,
    /// Collaborative names from the alert routing configuration.
    pub collaboratives: Vec<String>,
}

impl LabelSets {
    /// The label sets of a configuration: the input topic and the configured collaboratives.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        Self {
            topics: vec![settings.topics.input.clone()],
            collaboratives: settings
                .alerts
                .routing
                .collaboratives
                .iter()
                .map(|c| c.name.clone())
                .collect(),
        }
    }
}

impl Metrics {
    /// Creates every metric and registers it into `registry` (a registry of our own, never the
    /// process default). Fails if a name is already registered there.
    pub fn new(registry: &Registry, labels: LabelSets) -> Result<Self, MetricsError> {
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, prometheus::Error>(g)
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, prometheus::Error>(g)
        };
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))?;
            registry.register(Box::new(h.clone()))?;
            Ok::<_, prometheus::Error>(h)
        };

        let scrape = Arc::new(ScrapeCollector::new()?);
        let stage_duration = HistogramVec::new(
            HistogramOpts::new(
                STAGE_DURATION_SECONDS,
                "Time spent per pipeline stage, in seconds.",
            )
            .buckets(STAGE_BUCKETS.to_vec()),
            &["stage"],
        )?;
        registry.register(Box::new(stage_duration.clone()))?;

        let metrics = Self {
            consumed: counter_vec(
                MESSAGES_CONSUMED_TOTAL,
                "Messages consumed, by topic and HL7 trigger event.",
                &["topic", "trigger"],
            )?,
            outcomes: counter_vec(
                MESSAGES_OUTCOME_TOTAL,
                "Messages that reached a final outcome (offset storable), by outcome.",
                &["outcome"],
            )?,
            dead_letters: counter_vec(
                DEAD_LETTERS_TOTAL,
                "Inputs sent to the dead-letter topic, by error kind.",
                &["kind"],
            )?,
            alerts_published: counter_vec(
                ALERTS_PUBLISHED_TOTAL,
                "Alerts acknowledged by the broker, by collaborative and risk tier.",
                &["collaborative", "tier"],
            )?,
            end_to_end: histogram(
                END_TO_END_LATENCY_SECONDS,
                "Record timestamp to every output acknowledged, in seconds.",
                END_TO_END_BUCKETS,
            )?,
            stage_duration,
            consumer_lag: gauge_vec(
                CONSUMER_LAG_MESSAGES,
                "Messages between the processed (stored) position and the high watermark, per assigned partition.",
                &["topic", "partition"],
            )?,
            state_patients: gauge_vec(
                STATE_PATIENTS,
                "Patients held in per-partition history state.",
                &["partition"],
            )?,
            state_bytes: gauge_vec(
                STATE_BYTES,
                "Approximate bytes of per-partition history state.",
                &["partition"],
            )?,
            restore_duration: histogram(
                CHANGELOG_RESTORE_DURATION_SECONDS,
                "Duration of a partition's changelog restore, in seconds.",
                RESTORE_BUCKETS,
            )?,
            restored_records: counter(
                CHANGELOG_RESTORED_RECORDS_TOTAL,
                "Changelog records applied during restores (tombstones included).",
            )?,
            producer_queue: gauge(
                PRODUCER_QUEUE_MESSAGES,
                "Messages waiting in the producer's local queue.",
            )?,
            model_info: gauge_vec(
                MODEL_INFO,
                "The loaded model: always 1, labelled with model id and feature schema version.",
                &["version", "schema"],
            )?,
            rebalances: counter_vec(
                REBALANCES_TOTAL,
                "Consumer group rebalance callbacks, by kind (assign, revoke, error).",
                &["kind"],
            )?,
            partitions_assigned: gauge(
                PARTITIONS_ASSIGNED,
                "Input partitions currently assigned to this instance.",
            )?,
            commit_failures: counter(
                COMMIT_FAILURES_TOTAL,
                "Offset commits that failed (the next commit retries).",
            )?,
            produce_retries: counter(
                PRODUCE_RETRIES_TOTAL,
                "Produce attempts retried after transient failures.",
            )?,
            in_flight_abandoned: counter(
                IN_FLIGHT_ABANDONED_TOTAL,
                "Messages in flight at a drain deadline; they are redelivered to the next owner.",
            )?,
            scrape: scrape.clone(),
            collaboratives: labels.collaboratives,
            topics: labels.topics,
            registry: registry.clone(),
        };
        metrics.registry.register(Box::new(ArcCollector(scrape)))?;
        metrics.pre_register();
        Ok(metrics)
    }

    /// Creates series for every known label value at zero, so dashboards and `rate()` see
    /// them before the first event.
    fn pre_register(&self) {
        for outcome in OUTCOMES {
            let _ = self.outcomes.get_metric_with_label_values(&[outcome]);
        }
        for kind in DEAD_LETTER_KINDS {
            let _ = self.dead_letters.get_metric_with_label_values(&[kind]);
        }
        for stage in Stage::ALL {
            let _ = self
                .stage_duration
                .get_metric_with_label_values(&[stage.as_str()]);
        }
        for kind in ["assign", "revoke", "error"] {
            let _ = self.rebalances.get_metric_with_label_values(&[kind]);
        }
        for collaborative in self
            .collaboratives
            .iter()
            .map(String::as_str)
            .chain([UNROUTED])
        {
            for tier in TIERS {
                let _ = self
                    .alerts_published
                    .get_metric_with_label_values(&[collaborative, tier]);
            }
        }
        for topic in &self.topics {
            for trigger in ["A01", "A03", "A08", OTHER, UNPARSED] {
                let _ = self
                    .consumed
                    .get_metric_with_label_values(&[topic.as_str(), trigger]);
            }
        }
    }

    /// The registry the metrics live in (for `/metrics`).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Counts one consumed message. `trigger` is the raw trigger code (`"A03"`), or `None`
    /// when the message could not be parsed far enough to read it.
    pub fn record_consumed(&self, topic: &str, trigger: Option<&str>) {
        let topic = self.topic_label(topic);
        let trigger = trigger_label(trigger);
        if let Ok(c) = self
            .consumed
            .get_metric_with_label_values(&[topic, trigger])
        {
            c.inc();
        }
    }

    /// Counts a final outcome (normally done by [`MetricsObserver`] from runtime events).
    pub fn record_outcome(&self, outcome: &str) {
        let outcome = closed(outcome, OUTCOMES);
        if let Ok(c) = self.outcomes.get_metric_with_label_values(&[outcome]) {
            c.inc();
        }
    }

    /// Counts one dead-lettered input by error kind (`Poison::kind`); unknown kinds count as
    /// `other`.
    pub fn record_dead_letter(&self, kind: &str) {
        let kind = closed(kind, DEAD_LETTER_KINDS);
        if let Ok(c) = self.dead_letters.get_metric_with_label_values(&[kind]) {
            c.inc();
        }
    }

    /// Counts one alert acknowledged by the broker. `collaborative` is the routed
    /// collaborative's configured name (or [`UNROUTED`]); `tier` is `low|moderate|high`.
    pub fn record_alert_published(&self, collaborative: &str, tier: &str) {
        let collaborative = if collaborative == UNROUTED {
            UNROUTED
        } else {
            self.collaboratives
                .iter()
                .find(|c| c.as_str() == collaborative)
                .map(String::as_str)
                .unwrap_or(OTHER)
        };
        let tier = closed(tier, TIERS);
        if let Ok(c) = self
            .alerts_published
            .get_metric_with_label_values(&[collaborative, tier])
        {
            c.inc();
        }
    }

    /// Records end-to-end latency from the input record's timestamp (ms since the epoch) to
    /// `now`, once every output of the message was acknowledged. Missing/invalid timestamps
    /// (≤ 0) are skipped; a timestamp slightly in the future (clock skew) counts as 0.
    pub fn observe_end_to_end(&self, record_timestamp_ms: i64, now: SystemTime) {
        if record_timestamp_ms <= 0 {
            return;
        }
        let Ok(now) = now.duration_since(UNIX_EPOCH) else {
            return;
        };
        let now_ms = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
        let latency_ms = now_ms.saturating_sub(record_timestamp_ms).max(0);
        self.end_to_end.observe(latency_ms as f64 / 1_000.0);
    }

    /// Records the time one stage took.
    pub fn observe_stage(&self, stage: Stage, elapsed: Duration) {
        if let Ok(h) = self
            .stage_duration
            .get_metric_with_label_values(&[stage.as_str()])
        {
            h.observe(elapsed.as_secs_f64());
        }
    }

    /// Starts a timer that records `stage` when dropped (or when [`StageTimer::stop`] is
    /// called).
    pub fn stage_timer(&self, stage: Stage) -> StageTimer<'_> {
        StageTimer {
            metrics: self,
            stage,
            started: std::time::Instant::now(),
            done: false,
        }
    }

    /// Sets the state size of one partition (call after restore and periodically, e.g. every
    /// N messages).
    pub fn set_state_size(&self, partition: i32, patients: u64, bytes: u64) {
        let p = partition.to_string();
        if let Ok(g) = self.state_patients.get_metric_with_label_values(&[&p]) {
            g.set(i64::try_from(patients).unwrap_or(i64::MAX));
        }
        if let Ok(g) = self.state_bytes.get_metric_with_label_values(&[&p]) {
            g.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
    }

    /// Removes a revoked partition's state and lag series.
    pub fn forget_partition(&self, partition: i32) {
        let p = partition.to_string();
        let _ = self.state_patients.remove_label_values(&[&p]);
        let _ = self.state_bytes.remove_label_values(&[&p]);
        for topic in &self.topics {
            let _ = self.consumer_lag.remove_label_values(&[topic.as_str(), &p]);
        }
    }

    /// Records one finished changelog restore.
    pub fn record_restore(&self, records: u64, duration: Duration) {
        self.restore_duration.observe(duration.as_secs_f64());
        self.restored_records.inc_by(records);
    }

    /// Publishes the loaded model's id (`<name>-v<N>`) and feature schema version; replaces
    /// any previous model's series.
    pub fn set_model_info(&self, version: &str, schema: &str) {
        self.model_info.reset();
        if let Ok(g) = self
            .model_info
            .get_metric_with_label_values(&[version, schema])
        {
            g.set(1);
        }
    }

    /// Counts a rebalance callback and tracks the assigned partition count.
    pub(crate) fn record_rebalance(&self, kind: &'static str, partitions: usize) {
        if let Ok(c) = self.rebalances.get_metric_with_label_values(&[kind]) {
            c.inc();
        }
        let n = i64::try_from(partitions).unwrap_or(i64::MAX);
        match kind {
            "assign" => self.partitions_assigned.add(n),
            "revoke" => {
                let left = (self.partitions_assigned.get() - n).max(0);
                self.partitions_assigned.set(left);
            }
            _ => {}
        }
    }

    pub(crate) fn record_commit_failure(&self) {
        self.commit_failures.inc();
    }

    pub(crate) fn record_produce_retry(&self) {
        self.produce_retries.inc();
    }

    pub(crate) fn record_in_flight_abandoned(&self, n: u64) {
        self.in_flight_abandoned.inc_by(n);
    }

    /// Makes `readmit_ready` follow `readiness` (read at every scrape).
    pub fn watch_readiness(&self, readiness: Arc<Readiness>) {
        let mut slot = self
            .scrape
            .readiness
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *slot = Some(readiness);
    }

    /// Makes the key-mismatch, unrouted-alert and remote-merge counters read `source` at
    /// every scrape (e.g. a closure loading the pipeline's `PipelineCounters` atomics).
    pub fn watch_pipeline_counts(
        &self,
        source: impl Fn() -> PipelineCounts + Send + Sync + 'static,
    ) {
        let mut slot = self
            .scrape
            .source
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *slot = Some(Box::new(source));
    }

    /// The `topic` label for `topic`: a configured topic, or `other`.
    fn topic_label<'a>(&'a self, topic: &'a str) -> &'a str {
        self.topics
            .iter()
            .find(|t| t.as_str() == topic)
            .map(String::as_str)
            .unwrap_or(OTHER)
    }

    /// The `topic` label used for lag (same rules as consumed messages).
    pub(crate) fn lag_topic_label<'a>(&'a self, topic: &'a str) -> &'a str {
        self.topic_label(topic)
    }
}

/// Records a stage's duration when dropped.
#[derive(Debug)]
pub struct StageTimer<'a> {
    metrics: &'a Metrics,
    stage: Stage,
    started: std::time::Instant,
    done: bool,
}

impl StageTimer<'_> {
    /// Records now and returns the elapsed time.
    pub fn stop(mut self) -> Duration {
        self.done = true;
        let elapsed = self.started.elapsed();
        self.metrics.observe_stage(self.stage, elapsed);
        elapsed
    }
}

impl Drop for StageTimer<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.metrics
                .observe_stage(self.stage, self.started.elapsed());
        }
    }
}

#[cfg(test)]
mod tests;
