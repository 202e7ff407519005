//! Loads the UCI Diabetes-130 CSV (gzip or plain) into [`DatasetRow`]s.
//!
//! A small loader of its own: `crate::model`'s loader turns rows into feature vectors and drops
//! death/hospice encounters, while the simulator needs every raw row.

use std::io::Read;
use std::path::Path;

use super::SimError;
use crate::features::dataset::DatasetRow;

/// Reads `diabetic_data.csv(.gz)` into rows, in file order.
pub fn load_rows(path: &Path) -> Result<Vec<DatasetRow>, SimError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| SimError::Io {
        action: "open dataset",
        path: shown.clone(),
        source,
    })?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut csv = csv::Reader::from_reader(reader);
    let mut rows = Vec::with_capacity(110_000);
    for record in csv.deserialize::<DatasetRow>() {
        match record {
            Ok(row) => rows.push(row),
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                if let csv::ErrorKind::Io(source) = e.into_kind() {
                    return Err(SimError::Io {
                        action: "read dataset",
                        path: shown,
                        source,
                    });
                }
                return Err(SimError::Csv { path: shown, line });
            }
        }
    }
    Ok(rows)
}
