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
    // Read the header first: `deserialize` treats a header it cannot read (a directory, a
    // file that is not gzip) as no records at all, and the simulator then sent nothing.
    if let Err(e) = csv.headers() {
        return Err(csv_error(e, shown));
    }
    let mut rows = Vec::with_capacity(110_000);
    for record in csv.deserialize::<DatasetRow>() {
        match record {
            Ok(row) => rows.push(row),
            Err(e) => return Err(csv_error(e, shown)),
        }
    }
    if rows.is_empty() {
        return Err(SimError::Empty { path: shown });
    }
    Ok(rows)
}

/// A read failure (I/O, gzip) as such, anything else as a record that does not fit the columns.
fn csv_error(e: csv::Error, path: String) -> SimError {
    let line = e.position().map_or(0, csv::Position::line);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => SimError::Io {
            action: "read dataset",
            path,
            source,
        },
        _ => SimError::Csv { path, line },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_or_empty_datasets_are_errors_not_zero_rows() {
        let dir = tempfile::tempdir().unwrap();
        // A directory: reading the header fails.
        let err = load_rows(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                SimError::Io {
                    action: "read dataset",
                    ..
                }
            ),
            "{err}"
        );
        // A .gz file that is not gzip.
        let not_gzip = dir.path().join("rows.csv.gz");
        std::fs::write(&not_gzip, b"this is not gzip at all").unwrap();
        let err = load_rows(&not_gzip).unwrap_err();
        assert!(matches!(err, SimError::Io { .. }), "{err}");
        // A CSV with a header and no records.
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, b"encounter_id,patient_nbr\n").unwrap();
        let err = load_rows(&empty).unwrap_err();
        assert!(matches!(err, SimError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("holds no records"));
        // An empty file.
        let nothing = dir.path().join("nothing.csv");
        std::fs::write(&nothing, b"").unwrap();
        assert!(matches!(
            load_rows(&nothing).unwrap_err(),
            SimError::Empty { .. }
        ));
    }
}
