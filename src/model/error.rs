//! Errors of the model module. Texts name what failed and why, never patient data.

/// Model, training and artifact errors.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The artifact was trained on another feature schema.
    #[error(
        "model artifact uses feature schema version {artifact}, but this build extracts version \
         {code}; retrain with `readmit train` or deploy the matching readmit version"
    )]
    SchemaMismatch {
        /// Version in the artifact.
        artifact: u32,
        /// Version of this build ([`crate::features::FEATURE_SCHEMA_VERSION`]).
        code: u32,
    },
    /// The artifact's feature names differ from this build's.
    #[error("model artifact feature names differ from this build's at position {position}")]
    FeatureNamesMismatch {
        /// First differing index.
        position: usize,
    },
    /// The artifact is internally inconsistent.
    #[error("model artifact is invalid: {0}")]
    InvalidArtifact(&'static str),
    /// Reading or writing a file failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The artifact is not valid JSON for this schema.
    #[error("cannot decode model artifact {path}: {source}")]
    Decode {
        /// The file.
        path: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// Encoding the artifact failed.
    #[error("cannot encode model artifact: {0}")]
    Encode(serde_json::Error),
    /// The training data does not have the expected checksum.
    #[error(
        "data file sha256 mismatch: expected {expected}, got {actual} (not the vendored \
         Diabetes-130 file; pass --skip-checksum to use it anyway)"
    )]
    DataChecksum {
        /// Expected sha256 (hex).
        expected: String,
        /// Actual sha256 (hex).
        actual: String,
    },
    /// A dataset row could not be read.
    #[error("training data row {row}: {reason}")]
    DataRow {
        /// 1-based data row number.
        row: usize,
        /// What was wrong (column and reason).
        reason: String,
    },
    /// Feature extraction failed on a training row.
    #[error("training data row {row}: {source}")]
    Feature {
        /// 1-based data row number.
        row: usize,
        /// The cause.
        source: crate::features::FeatureError,
    },
    /// The learner failed.
    #[error("training failed: {0}")]
    Training(String),
    /// A feature value is not finite.
    #[error("feature {0} is not a finite number")]
    NonFinite(&'static str),
    /// Plotting failed.
    #[error("cannot draw {0}: {1}")]
    Plot(&'static str, String),
}
