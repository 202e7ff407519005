//! The readmission model: dataset loading, training (linfa), calibration, the versioned
//! artifact, evaluation, plots, and the [`Scorer`] the pipeline holds. linfa types stay inside
//! this module; the rest of the crate sees [`Scorer`], [`Score`] and [`Artifact`].
//!
//! | submodule | owns |
//! |---|---|
//! | [`dataset`] | vendored UCI data → examples, sha256, patient split |
//! | [`train`] | grouped CV, candidates, Platt calibration, thresholds |
//! | [`artifact`] | serde JSON artifact + metadata, schema check |
//! | [`scorer`] | [`Scorer`] trait and the allocation-free [`LinearScorer`] |
//! | [`evaluate`] | test-split report (AUROC, Brier, calibration, LACE, subgroups) |
//! | [`metrics`] | AUROC, Brier, calibration fits |
//! | [`plots`] | ROC and calibration PNGs |
//! | [`card`] | MODEL_CARD.md |

pub mod artifact;
pub mod card;
pub mod dataset;
mod error;
pub mod evaluate;
pub mod metrics;
pub mod plots;
pub mod scorer;
pub mod train;

pub use artifact::Artifact;
pub use error::ModelError;
pub use scorer::{LinearScorer, Reason, ReasonCode, RiskTier, Score, Scorer};

/// Default directory of model artifacts.
pub const DEFAULT_MODELS_DIR: &str = "models";
/// The committed artifact `readmit evaluate` and the service use by default.
pub const DEFAULT_ARTIFACT: &str = "models/readmit-lr-v1/model.json";
