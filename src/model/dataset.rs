//! Loads the vendored UCI Diabetes-130 data (`data/diabetes130/diabetic_data.csv.gz`), checks
//! its sha256, drops encounters that are not index discharges (death/hospice, and transfers to
//! another acute hospital / still a patient: [`crate::features::Discharge::is_index_eligible`],
//! the rule the stream applies too), extracts features with
//! [`crate::features::extract`] and assigns the patient split (test = `patient_nbr % 5 == 0`).

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::features::codes::{AgeDecade, Race, Sex};
use crate::features::dataset::DatasetRow;
use crate::features::{extract, feature_index, FeatureVector};

use super::ModelError;

/// Default location of the vendored data, relative to the repository root.
pub const DEFAULT_DATA_PATH: &str = "data/diabetes130/diabetic_data.csv.gz";

/// sha256 of the uncompressed `diabetic_data.csv` (see `data/diabetes130/README.md`).
pub const EXPECTED_SHA256: &str =
    "0689e7ec031237dc63031b938805c48377748761a3b26acab621567afa24df97";

/// Which side of the patient split an encounter is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `patient_nbr % 5 != 0`.
    Train,
    /// `patient_nbr % 5 == 0`.
    Test,
}

impl Split {
    /// The split of a patient.
    pub fn of(patient_nbr: u64) -> Self {
        if patient_nbr.is_multiple_of(5) {
            Split::Test
        } else {
            Split::Train
        }
    }

    /// `train` / `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// One usable encounter.
#[derive(Debug, Clone)]
pub struct Example {
    /// Encounter key.
    pub encounter_id: u64,
    /// Patient key.
    pub patient_nbr: u64,
    /// Readmitted within 30 days.
    pub label: bool,
    /// Model input.
    pub features: FeatureVector,
    /// Subgroup: race.
    pub race: Race,
    /// Subgroup: sex.
    pub sex: Sex,
    /// Subgroup: age band.
    pub age: AgeDecade,
    /// LACE index (the baseline score).
    pub lace: f64,
    /// Patient split.
    pub split: Split,
}

/// The loaded data set.
#[derive(Debug, Clone)]
pub struct Data {
    /// Usable encounters in file order.
    pub examples: Vec<Example>,
    /// sha256 of the uncompressed CSV.
    pub sha256: String,
    /// Data rows read.
    pub rows_read: usize,
    /// Rows dropped for death / hospice.
    pub excluded: usize,
    /// Rows dropped because acute care continues: transfer to another short-term hospital,
    /// neonate to another hospital, still a patient.
    pub excluded_continued_care: usize,
}

impl Data {
    /// The examples of one split.
    pub fn split(&self, split: Split) -> Vec<&Example> {
        self.examples.iter().filter(|e| e.split == split).collect()
    }
}

/// Reads a gzip (or, when the name does not end in `.gz`, plain) CSV. `expected_sha256`, when
/// given, must match the uncompressed bytes. `limit` keeps only the first N data rows.
pub fn load(
    path: &Path,
    expected_sha256: Option<&str>,
    limit: Option<usize>,
) -> Result<Data, ModelError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ModelError::Io {
        action: "open training data",
        path: shown.clone(),
        source,
    })?;
    let mut bytes = Vec::new();
    let read = if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file).read_to_end(&mut bytes)
    } else {
        std::io::BufReader::new(file).read_to_end(&mut bytes)
    };
    read.map_err(|source| ModelError::Io {
        action: "read training data",
        path: shown,
        source,
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if let Some(expected) = expected_sha256 {
        if !expected.eq_ignore_ascii_case(&sha256) {
            return Err(ModelError::DataChecksum {
                expected: expected.to_string(),
                actual: sha256,
            });
        }
    }
    from_csv_bytes(&bytes, sha256, limit)
}

/// Parses CSV bytes (header + rows) into examples.
pub fn from_csv_bytes(
    bytes: &[u8],
    sha256: String,
    limit: Option<usize>,
) -> Result<Data, ModelError> {
    let lace_idx = feature_index("lace_score").ok_or(ModelError::InvalidArtifact(
        "feature schema has no lace_score",
    ))?;
    let mut rdr = csv::Reader::from_reader(bytes);
    let mut examples = Vec::new();
    let mut rows_read = 0;
    let mut excluded = 0;
    let mut excluded_continued_care = 0;
    for (i, rec) in rdr.deserialize::<DatasetRow>().enumerate() {
        if limit.is_some_and(|l| i >= l) {
            break;
        }
        let row_no = i + 1;
        rows_read += 1;
        let row = rec.map_err(|e| ModelError::DataRow {
            row: row_no,
            reason: format!("cannot parse: {}", e.kind_name()),
        })?;
        let discharge = row.to_discharge().map_err(|e| ModelError::DataRow {
            row: row_no,
            reason: e.to_string(),
        })?;
        if !discharge.is_index_eligible() {
            if discharge.disposition.is_excluded() {
                excluded += 1;
            } else {
                excluded_continued_care += 1;
            }
            continue;
        }
        let label = row.label().map_err(|e| ModelError::DataRow {
            row: row_no,
            reason: e.to_string(),
        })?;
        let history = row.to_history();
        let features = extract(&discharge, &history).map_err(|source| ModelError::Feature {
            row: row_no,
            source,
        })?;
        examples.push(Example {
            encounter_id: row.encounter_id,
            patient_nbr: row.patient_nbr,
            label,
            lace: features.values()[lace_idx],
            features,
            race: discharge.race,
            sex: discharge.sex,
            age: discharge.age,
            split: Split::of(row.patient_nbr),
        });
    }
    Ok(Data {
        examples,
        sha256,
        rows_read,
        excluded,
        excluded_continued_care,
    })
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for csv::Error {
    // csv errors can quote field values; keep only the column position and the kind.
    fn kind_name(&self) -> String {
        match self.kind() {
            csv::ErrorKind::Deserialize { err, .. } => match err.field() {
                Some(f) => format!("field {} has the wrong type", f + 1),
                None => "a field has the wrong type".to_string(),
            },
            csv::ErrorKind::UnequalLengths { .. } => "wrong number of columns".to_string(),
            csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
            _ => "malformed CSV".to_string(),
        }
    }
}
