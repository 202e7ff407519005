//! The model artifact: fitted parameters plus metadata, stored as JSON in
//! `models/<name>-v<version>/model.json`. Loading refuses an artifact whose feature schema
//! version or feature names differ from this build's.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::features::{FEATURE_NAMES, FEATURE_SCHEMA_VERSION, N_FEATURES};

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
    /// Grouped cross-validation folds.
    pub cv_folds: usize,
    /// Rows of the data file used (all when absent).
    pub row_limit: Option<usize>,
    /// Calibration method.
    pub calibration: String,
    /// Cross-validated AUROC of every candidate tried: (candidate, AUROC).
    pub candidates: Vec<(String, f64)>,
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
