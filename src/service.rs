//! Assembles the running service from [`Settings`]: loads the model and the pseudonym key,
//! builds the [`Pipeline`], and runs it on the Kafka [`runtime`](crate::runtime) until the
//! shutdown token is cancelled. `readmit run` and `readmit demo` both start here; tests call it
//! with their own settings and token.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::alerts::{PseudonymError, Pseudonymizer};
use crate::config::Settings;
use crate::metrics::http::{self, Readiness};
use crate::metrics::monitor::{ModelMonitor, MonitorSettings};
use crate::metrics::{LabelSets, Metrics, MetricsObserver};
use crate::model::scorer::LinearScorer;
use crate::model::{ModelError, Scorer};
use crate::pipeline::{Pipeline, PipelineOptions, Topics};
use crate::runtime::{self, RunSummary, RuntimeError, RuntimeObserver};
use crate::state::EncounterClass;

/// The model artifact used when `model.path` is not set, relative to the working directory.
pub const DEFAULT_MODEL_PATH: &str = crate::model::DEFAULT_ARTIFACT;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No pseudonym key configured.
    #[error(
        "no pseudonym key: set pseudonym.key_file (e.g. READMIT__PSEUDONYM__KEY_FILE=/run/secrets/readmit-key) \
         or pseudonym.key (READMIT__PSEUDONYM__KEY); alerts identify patients only by this keyed hash"
    )]
    MissingPseudonymKey,
    /// The key file could not be read (the path is operator configuration, not PHI).
    #[error("pseudonym.key_file {path} could not be read: {source}")]
    KeyFile {
        /// Configured path.
        path: PathBuf,
        /// I/O error.
        source: std::io::Error,
    },
    /// The key is unusable.
    #[error("pseudonym key: {0}")]
    Key(#[from] PseudonymError),
    /// The model artifact could not be loaded or does not match this build's features.
    #[error("model: {0}")]
    Model(#[from] ModelError),
    /// The Kafka runtime failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// Metrics could not be registered or served.
    #[error("metrics: {0}")]
    Metrics(String),
}

/// Metrics, the live model monitor and readiness, registered in one registry.
pub struct Observability {
    /// The registry `/metrics` serves.
    pub registry: prometheus::Registry,
    /// Typed metric handles.
    pub metrics: Arc<Metrics>,
    /// Live model monitoring from outcomes.
    pub monitor: Arc<ModelMonitor>,
    /// What `/readyz` reports.
    pub readiness: Arc<Readiness>,
}

impl Observability {
    /// Registers everything for a service scoring with `model_id`.
    pub fn new(settings: &Settings, model_id: &str) -> Result<Self, ServiceError> {
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(
            Metrics::new(&registry, LabelSets::from_settings(settings))
                .map_err(|e| ServiceError::Metrics(e.to_string()))?,
        );
        let monitor = Arc::new(
            ModelMonitor::new(
                &registry,
                MonitorSettings::from(&settings.monitor),
                crate::model::artifact::training_score_histogram(settings.model.path.as_deref()),
            )
            .map_err(|e| ServiceError::Metrics(e.to_string()))?,
        );
        // A revoke with no assignment after it stops counting after a session timeout.
        let readiness = Arc::new(Readiness::new().with_rebalance_grace(
            std::time::Duration::from_millis(settings.consumer.session_timeout_ms),
        ));
        metrics.watch_readiness(readiness.clone());
        metrics.set_model_info(
            model_id,
            &crate::features::FEATURE_SCHEMA_VERSION.to_string(),
        );
        readiness.set_model_loaded(true);
        Ok(Self {
            registry,
            metrics,
            monitor,
            readiness,
        })
    }

    /// The runtime observer that feeds these metrics and readiness.
    pub fn observer(&self) -> Arc<dyn RuntimeObserver> {
        Arc::new(MetricsObserver::new(self.metrics.clone()).with_readiness(self.readiness.clone()))
    }

    /// Serves `/metrics`, `/healthz`, `/readyz` on `metrics.listen` (empty = off) until
    /// `shutdown`; returns the bound address.
    pub async fn serve(
        &self,
        settings: &Settings,
        shutdown: CancellationToken,
    ) -> Result<Option<std::net::SocketAddr>, ServiceError> {
        let Some(addr) = http::parse_listen(&settings.metrics.listen)
            .map_err(|e| ServiceError::Metrics(e.to_string()))?
        else {
            return Ok(None);
        };
        let (bound, _task) = http::serve(
            addr,
            self.registry.clone(),
            self.readiness.clone(),
            shutdown,
        )
        .await
        .map_err(|e| ServiceError::Metrics(e.to_string()))?;
        Ok(Some(bound))
    }

    /// Hooks the pipeline's own counters and metrics in.
    pub fn instrument(&self, pipeline: Pipeline) -> Pipeline {
        let counters = pipeline.counters();
        self.metrics.watch_pipeline_counts(move || {
            use std::sync::atomic::Ordering::Relaxed;
            crate::metrics::PipelineCounts {
                key_mismatches: counters.key_mismatches.load(Relaxed),
                unrouted: counters.unrouted.load(Relaxed),
                remote_merges: counters.remote_merges.load(Relaxed),
            }
        });
        pipeline.with_metrics(self.metrics.clone(), Some(self.monitor.clone()))
    }
}

/// Reads the pseudonym key from `pseudonym.key` or `pseudonym.key_file` (trailing newline
/// trimmed); one of them is required.
pub fn pseudonymizer(settings: &Settings) -> Result<Pseudonymizer, ServiceError> {
    let p = &settings.pseudonym;
    if let Some(key) = &p.key {
        return Ok(Pseudonymizer::new(key.expose().as_bytes())?);
    }
    if let Some(path) = &p.key_file {
        let bytes = std::fs::read(path).map_err(|source| ServiceError::KeyFile {
            path: path.clone(),
            source,
        })?;
        let trimmed = bytes
            .strip_suffix(b"\n")
            .map(|b| b.strip_suffix(b"\r").unwrap_or(b))
            .unwrap_or(&bytes);
        return Ok(Pseudonymizer::new(trimmed)?);
    }
    Err(ServiceError::MissingPseudonymKey)
}

/// Loads the scorer named by `model.path` (or [`DEFAULT_MODEL_PATH`]); refuses an artifact
/// whose feature schema differs from this build's.
pub fn load_scorer(settings: &Settings) -> Result<Arc<LinearScorer>, ServiceError> {
    let path = settings
        .model
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL_PATH));
    Ok(Arc::new(LinearScorer::load(Path::new(&path))?))
}

/// The pipeline options the settings describe.
pub fn pipeline_options(settings: &Settings) -> PipelineOptions {
    let t = &settings.topics;
    PipelineOptions {
        topics: Topics {
            risk_scores: t.risk_scores.as_str().into(),
            alerts_prefix: t.alerts_prefix.clone(),
            unrouted: t.unrouted.as_str().into(),
            dlq: t.dlq.as_str().into(),
            changelog: t.changelog.as_str().into(),
            outcomes: t.outcomes.as_str().into(),
        },
        score_classes: settings
            .alerts
            .score_classes
            .iter()
            .map(|c| EncounterClass::from_hl7(Some(c)))
            .collect(),
        routing: settings.alerts.routing.clone(),
        interventions: settings.alerts.interventions.clone(),
        key_check: settings.alerts.key_check,
        rekey_to: t.rekey.then(|| t.rekeyed.as_str().into()),
    }
}

/// Builds the pipeline from settings and an already loaded scorer.
pub fn build_pipeline(
    settings: &Settings,
    scorer: Arc<dyn Scorer>,
) -> Result<Pipeline, ServiceError> {
    Ok(Pipeline::new(
        pipeline_options(settings),
        scorer,
        pseudonymizer(settings)?,
    ))
}

/// Runs the service until `shutdown` is cancelled (drain, flush, commit), passing runtime
/// events to `observer` when given.
pub async fn run(
    settings: Settings,
    pipeline: Pipeline,
    shutdown: CancellationToken,
    observer: Option<Arc<dyn RuntimeObserver>>,
) -> Result<RunSummary, ServiceError> {
    let summary = match observer {
        Some(o) => runtime::run_with_observer(settings, pipeline, shutdown, o).await?,
        None => runtime::run(settings, pipeline, shutdown).await?,
    };
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn a_missing_key_says_how_to_set_it() {
        let err = pseudonymizer(&Settings::default()).unwrap_err();
        assert!(err.to_string().contains("READMIT__PSEUDONYM__KEY_FILE"));
    }

    #[test]
    fn key_files_lose_their_trailing_newline_and_short_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "0123456789abcdef0123\n").unwrap();
        let mut s = Settings::default();
        s.pseudonym.key_file = Some(file.clone());
        let from_file = pseudonymizer(&s).unwrap();
        let mut s2 = Settings::default();
        s2.pseudonym.key = Some(Secret::new("0123456789abcdef0123"));
        assert_eq!(
            from_file.patient("A", "1"),
            pseudonymizer(&s2).unwrap().patient("A", "1")
        );
        std::fs::write(&file, "short\n").unwrap();
        let err = pseudonymizer(&s).unwrap_err().to_string();
        assert!(err.contains("5 bytes"), "{err}");
        assert!(!err.contains("short"), "never echoes the key: {err}");
    }
}
