//! The model artifact: fitted parameters plus metadata, stored as JSON in
//! `models/<name>-v<version>/model.json`. Loading refuses an artifact whose feature schema
//! version or feature names differ from this build's. The training score distribution stored
//! here is the reference of the live PSI drift monitor ([`training_score_histogram`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::features::{FEATURE_NAMES, FEATURE_SCHEMA_VERSION, N_FEATURES};
use crate::metrics::monitor::ScoreHistogram;

use super::ModelError;

/// Everything needed to score, and to know what was scored with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Model family name, e.g. `readmit-lr`.
    pub name: String,
    /// Model version (the `v<N>` of the directory name).
    pub model_version: u32,
    /// [`FEATURE_SCHEMA_VERSION`] the model was trained with.
    pub feature_schema_version: u32,
    /// Feature names in model order.
    pub feature_names: Vec<String>,
    /// sha256 of the uncompressed training CSV.
    pub training_data_sha256: String,
    /// The fitted linear model (raw feature space).
    pub linear: LinearModel,
    /// Platt scaling applied to the linear predictor.
    pub calibration: Platt,
    /// Risk tier thresholds on the calibrated probability.
    pub thresholds: Thresholds,
    /// Distributions of the calibrated score and of key inputs on the training split (absent
    /// in artifacts written before they were recorded).
    #[serde(default)]
    pub training_distributions: Option<TrainingDistributions>,
    /// How the model was trained.
    pub params: TrainParams,
    /// Measured performance.
    pub metrics: ArtifactMetrics,
}

/// `z = intercept + Σ coefficients[i] · x[i]` in the raw (unscaled) feature space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearModel {
    /// Intercept.
    pub intercept: f64,
    /// One coefficient per feature.
    pub coefficients: Vec<f64>,
    /// Training means of the features; reasons use `coefficient · (x − mean)`.
    pub means: Vec<f64>,
}

/// `p = sigmoid(a · z + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platt {
    /// Slope on the linear predictor.
    pub a: f64,
    /// Offset.
    pub b: f64,
}

/// Tier cut-offs on the calibrated probability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Below this: Low (the training base rate).
    pub low_below: f64,
    /// At or above this: High (the 90th percentile of out-of-fold training predictions).
    pub high_at_or_above: f64,
}

/// Fixed bins and the share of training rows per bin. Bins are `[edges[i], edges[i+1])`; a
/// value below the first edge or at/above the last falls into the first or last bin (the
/// convention of [`crate::metrics::monitor::ScoreHistogram`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Histogram {
    /// Bin edges, strictly increasing; one more than `fractions`.
    pub edges: Vec<f64>,
    /// Share of rows per bin (sums to 1).
    pub fractions: Vec<f64>,
}

impl Histogram {
    /// Bins `values` (non-finite values are skipped) into the given edges.
    pub fn of(edges: Vec<f64>, values: impl Iterator<Item = f64>) -> Self {
        let bins = edges.len().saturating_sub(1).max(1);
        let inner = if edges.len() > 2 {
            &edges[1..edges.len() - 1]
        } else {
            &[][..]
        };
        let mut counts = vec![0u64; bins];
        for v in values.filter(|v| v.is_finite()) {
            counts[inner.partition_point(|e| *e <= v)] += 1;
        }
        let n = counts.iter().sum::<u64>().max(1) as f64;
        Self {
            edges,
            fractions: counts.iter().map(|c| *c as f64 / n).collect(),
        }
    }

    fn is_valid(&self) -> bool {
        !self.fractions.is_empty()
            && self.edges.len() == self.fractions.len() + 1
            && self.edges.iter().all(|e| e.is_finite())
            && self.edges.windows(2).all(|w| w[0] < w[1])
            && self.fractions.iter().all(|f| f.is_finite() && *f >= 0.0)
            && (self.fractions.iter().sum::<f64>() - 1.0).abs() < 1e-9
    }
}

/// What the training split looked like, for drift monitoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingDistributions {
    /// Calibrated probability of the shipped model on the training split (decile bins).
    pub score: Histogram,
    /// Key inputs (feature name, histogram): age decade, length of stay, prior inpatient.
    pub features: Vec<(String, Histogram)>,
}

/// Training parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    /// Learner of the chosen model.
    pub learner: String,
    /// L2 penalty of the chosen model (linfa-logistic `alpha`, on standardised features).
    pub alpha: f64,
    /// Maximum L-BFGS iterations.
    pub max_iterations: u64,
    /// L-BFGS gradient tolerance, per training row.
    #[serde(default)]
    pub gradient_tolerance_per_row: f64,
    /// Grouped cross-validation folds.
    pub cv_folds: usize,
    /// Rows of the data file used (all when absent).
    pub row_limit: Option<usize>,
    /// Calibration method.
    pub calibration: String,
    /// Cross-validated AUROC of every candidate tried: (candidate, AUROC).
    pub candidates: Vec<(String, f64)>,
    /// Convergence of the logistic fits: (candidate, largest final gradient norm per row over
    /// its CV fits), and the final refit.
    #[serde(default)]
    pub convergence: Vec<(String, f64)>,
}

/// Encounters of the data file that are not index discharges (both splits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusions {
    /// Death or hospice (discharge_disposition_id 11, 13, 14, 19, 20, 21).
    pub death_or_hospice: usize,
    /// Acute care continues: transfer to another short-term hospital (2), neonate to another
    /// hospital (10), still a patient (12).
    pub continued_care: usize,
}

/// Performance measured at training time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactMetrics {
    /// Out-of-fold AUROC of the chosen candidate on the training split.
    pub cv_auroc: f64,
    /// Training encounters.
    pub n_train: usize,
    /// Training prevalence of `<30`.
    pub train_prevalence: f64,
    /// Rows of the data file left out as not index discharges.
    #[serde(default)]
    pub excluded: Exclusions,
    /// Test-split evaluation.
    pub test: super::evaluate::Report,
}

impl Artifact {
    /// Checks the artifact against this build: schema version, feature names, lengths.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.feature_schema_version != FEATURE_SCHEMA_VERSION {
            return Err(ModelError::SchemaMismatch {
                artifact: self.feature_schema_version,
                code: FEATURE_SCHEMA_VERSION,
            });
        }
        if let Some(position) = (0..N_FEATURES.max(self.feature_names.len())).find(|&i| {
            self.feature_names.get(i).map(String::as_str) != FEATURE_NAMES.get(i).copied()
        }) {
            return Err(ModelError::FeatureNamesMismatch { position });
        }
        if self.linear.coefficients.len() != N_FEATURES || self.linear.means.len() != N_FEATURES {
            return Err(ModelError::InvalidArtifact(
                "coefficient or mean count differs from the feature count",
            ));
        }
        let finite = self
            .linear
            .coefficients
            .iter()
            .chain(&self.linear.means)
            .chain([
                &self.linear.intercept,
                &self.calibration.a,
                &self.calibration.b,
                &self.thresholds.low_below,
                &self.thresholds.high_at_or_above,
            ])
            .all(|v| v.is_finite());
        if !finite {
            return Err(ModelError::InvalidArtifact("a parameter is not finite"));
        }
        if let Some(d) = &self.training_distributions {
            if !d.score.is_valid() || d.features.iter().any(|(_, h)| !h.is_valid()) {
                return Err(ModelError::InvalidArtifact(
                    "a training histogram needs increasing finite edges and fractions summing to 1",
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.thresholds.low_below)
            || !(0.0..=1.0).contains(&self.thresholds.high_at_or_above)
            || self.thresholds.low_below > self.thresholds.high_at_or_above
        {
            return Err(ModelError::InvalidArtifact(
                "tier thresholds must satisfy 0 <= low_below <= high_at_or_above <= 1",
            ));
        }
        Ok(())
    }

    /// The training score histogram in the live monitor's form, when the artifact has one.
    pub fn score_histogram(&self) -> Option<ScoreHistogram> {
        let h = &self.training_distributions.as_ref()?.score;
        ScoreHistogram::new(&h.edges, &h.fractions).ok()
    }

    /// Directory name `<name>-v<version>`.
    pub fn dir_name(&self) -> String {
        format!("{}-v{}", self.name, self.model_version)
    }

    /// Serialises to pretty JSON (deterministic: same artifact, same bytes).
    pub fn to_json(&self) -> Result<String, ModelError> {
        let mut s = serde_json::to_string_pretty(self).map_err(ModelError::Encode)?;
        s.push('\n');
        Ok(s)
    }

    /// Parses and validates JSON.
    pub fn from_json(json: &str, path_for_errors: &str) -> Result<Self, ModelError> {
        let a: Artifact = serde_json::from_str(json).map_err(|source| ModelError::Decode {
            path: path_for_errors.to_string(),
            source,
        })?;
        a.validate()?;
        Ok(a)
    }

    /// Reads and validates an artifact: `path` is `model.json` or the directory holding it.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let file = if path.is_dir() {
            path.join("model.json")
        } else {
            path.to_path_buf()
        };
        let shown = file.display().to_string();
        let json = std::fs::read_to_string(&file).map_err(|source| ModelError::Io {
            action: "read model artifact",
            path: shown.clone(),
            source,
        })?;
        Self::from_json(&json, &shown)
    }

    /// Writes `model.json` into `dir` (created if needed); returns the file path.
    pub fn save(&self, dir: &Path) -> Result<std::path::PathBuf, ModelError> {
        std::fs::create_dir_all(dir).map_err(|source| ModelError::Io {
            action: "create model directory",
            path: dir.display().to_string(),
            source,
        })?;
        let file = dir.join("model.json");
        std::fs::write(&file, self.to_json()?).map_err(|source| ModelError::Io {
            action: "write model artifact",
            path: file.display().to_string(),
            source,
        })?;
        Ok(file)
    }
}

/// The training score histogram of the artifact at `path` (`model.path`; the default artifact
/// when `None`), the reference of the live monitor's PSI. `None`, with a warning, when the
/// artifact cannot be read or has no histogram: PSI then stays unpublished (loading the scorer
/// from the same path reports read errors).
pub fn training_score_histogram(path: Option<&Path>) -> Option<ScoreHistogram> {
    let path = path.unwrap_or(Path::new(super::DEFAULT_ARTIFACT));
    match Artifact::load(path).map(|a| a.score_histogram()) {
        Ok(Some(h)) => Some(h),
        Ok(None) => {
            tracing::warn!(
                "The model artifact has no training score histogram; score PSI is not published."
            );
            None
        }
        Err(error) => {
            tracing::warn!(%error, "Cannot read the training score histogram; score PSI is not published.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed() -> Artifact {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(super::super::DEFAULT_ARTIFACT);
        Artifact::load(&path).unwrap()
    }

    #[test]
    fn histogram_bins_like_the_monitor() {
        let h = Histogram::of(
            vec![0.0, 0.1, 0.2, 1.0],
            [-1.0, 0.05, 0.1, 0.15, 0.5, 2.0, f64::NAN].into_iter(),
        );
        // [<0.1): -1, 0.05; [0.1, 0.2): 0.1, 0.15; [0.2, ..): 0.5, 2.0; NaN skipped.
        assert_eq!(h.fractions, vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]);
        assert!(h.is_valid());
        let m = ScoreHistogram::new(&h.edges, &h.fractions).unwrap();
        assert_eq!([m.bin(-1.0), m.bin(0.1), m.bin(0.5)], [0, 1, 2]);
    }

    #[test]
    fn a_bad_histogram_is_refused() {
        let mut a = committed();
        a.training_distributions = Some(TrainingDistributions {
            score: Histogram {
                edges: vec![0.0, 0.5, 0.4],
                fractions: vec![0.5, 0.5],
            },
            features: vec![],
        });
        assert!(matches!(a.validate(), Err(ModelError::InvalidArtifact(_))));
    }

    #[test]
    fn a_loaded_artifacts_histogram_reaches_the_monitor() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = committed();
        a.training_distributions = Some(TrainingDistributions {
            score: Histogram {
                edges: vec![0.0, 0.5, 1.0],
                fractions: vec![0.5, 0.5],
            },
            features: vec![],
        });
        a.save(dir.path()).unwrap();
        let mut settings = crate::config::Settings::default();
        settings.model.path = Some(dir.path().to_path_buf());
        let obs = crate::service::Observability::new(&settings, "readmit-lr-v1").unwrap();
        for i in 0..100 {
            let p = if i < 25 { 0.1 } else { 0.9 };
            obs.monitor.observe_score(&format!("a{i}"), p, "low", "F");
        }
        // Training [0.5, 0.5] vs live [0.25, 0.75]: PSI = 0.25·ln 3 ≈ 0.274653.
        let psi = obs.monitor.snapshot().psi.unwrap();
        assert!((psi - 0.25 * 3f64.ln()).abs() < 1e-9, "{psi}");

        // Without a histogram in the artifact, PSI stays unpublished.
        a.training_distributions = None;
        a.save(dir.path()).unwrap();
        let obs = crate::service::Observability::new(&settings, "readmit-lr-v1").unwrap();
        for i in 0..100 {
            obs.monitor.observe_score(&format!("a{i}"), 0.1, "low", "F");
        }
        assert_eq!(obs.monitor.snapshot().psi, None);
        assert!(training_score_histogram(Some(dir.path())).is_none());
    }
}
