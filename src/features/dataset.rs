//! One row of the UCI Diabetes-130 data set → the same [`Discharge`] + [`History`] the stream
//! builds from ADT messages, so training and serving share [`super::extract`].
//!
//! Only ADT-derivable columns are read: no lab, medication, payer or specialty columns. Both ED
//! counts of [`History`] are `number_emergency` (the data set only has the prior year).

use super::codes::{AdmissionType, AdmitSource, AgeDecade, Disposition, Race, Sex};
use super::icd::DxCode;
use super::{Diagnosis, Discharge, History};

/// The columns of `diabetic_data.csv` the model uses (names as in the file header).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct DatasetRow {
    /// Encounter key.
    pub encounter_id: u64,
    /// Patient key (the split is by patient).
    pub patient_nbr: u64,
    /// Race (subgroup reporting only).
    pub race: String,
    /// `Female` / `Male` / `Unknown/Invalid`.
    pub gender: String,
    /// Age band, e.g. `[70-80)`.
    pub age: String,
    /// Dataset admission type id.
    pub admission_type_id: u8,
    /// Dataset discharge disposition id.
    pub discharge_disposition_id: u8,
    /// Dataset admission source id.
    pub admission_source_id: u8,
    /// Length of stay in days (1–14).
    pub time_in_hospital: u32,
    /// Non-lab procedures.
    pub num_procedures: u32,
    /// Outpatient visits in the prior year.
    pub number_outpatient: u32,
    /// ED visits in the prior year.
    pub number_emergency: u32,
    /// Inpatient admissions in the prior year.
    pub number_inpatient: u32,
    /// Principal diagnosis (ICD-9-CM as stored, `?` = missing).
    pub diag_1: String,
    /// Secondary diagnosis.
    pub diag_2: String,
    /// Additional diagnosis.
    pub diag_3: String,
    /// Number of diagnoses on the stay.
    pub number_diagnoses: u32,
    /// `<30`, `>30` or `NO`.
    pub readmitted: String,
}

/// Why a row cannot be turned into a discharge. Names the column, never the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RowError {
    /// A code column holds a value outside the dataset's table.
    #[error("dataset column {0} holds a value outside its code table")]
    UnknownCode(&'static str),
    /// A column could not be read.
    #[error("dataset column {0} is malformed")]
    Malformed(&'static str),
}

impl DatasetRow {
    /// The 30-day readmission label (`<30`).
    pub fn label(&self) -> Result<bool, RowError> {
        match self.readmitted.as_str() {
            "<30" => Ok(true),
            ">30" | "NO" => Ok(false),
            _ => Err(RowError::Malformed("readmitted")),
        }
    }

    /// The index stay.
    pub fn to_discharge(&self) -> Result<Discharge, RowError> {
        let admission_type = AdmissionType::from_id(self.admission_type_id)
            .ok_or(RowError::UnknownCode("admission_type_id"))?;
        let admit_source = AdmitSource::from_id(self.admission_source_id)
            .ok_or(RowError::UnknownCode("admission_source_id"))?;
        let disposition = Disposition::from_id(self.discharge_disposition_id)
            .ok_or(RowError::UnknownCode("discharge_disposition_id"))?;
        let age = AgeDecade::from_dataset(&self.age).ok_or(RowError::Malformed("age"))?;
        let mut diagnoses = Vec::with_capacity(3);
        for (priority, raw) in [(1u16, &self.diag_1), (2, &self.diag_2), (3, &self.diag_3)] {
            if raw == "?" || raw.is_empty() {
                continue;
            }
            let code = DxCode::from_dataset(raw).ok_or(RowError::Malformed("diag"))?;
            diagnoses.push(Diagnosis { priority, code });
        }
        Ok(Discharge {
            age,
            sex: Sex::from_dataset(&self.gender),
            race: Race::from_dataset(&self.race),
            admission_type,
            admit_source,
            disposition,
            length_of_stay_days: self.time_in_hospital,
            diagnosis_count: self.number_diagnoses.max(diagnoses.len() as u32),
            diagnoses,
            procedure_count: self.num_procedures,
        })
    }

    /// The prior-year visit history. Both ED counts are `number_emergency`.
    pub fn to_history(&self) -> History {
        History {
            ed_visits_6m: self.number_emergency,
            ed_visits_12m: self.number_emergency,
            inpatient_12m: self.number_inpatient,
            outpatient_12m: self.number_outpatient,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_to_discharge() {
        let data = "encounter_id,patient_nbr,race,gender,age,admission_type_id,discharge_disposition_id,admission_source_id,time_in_hospital,num_procedures,number_outpatient,number_emergency,number_inpatient,diag_1,diag_2,diag_3,number_diagnoses,readmitted\n\
                    149190,55629189,Caucasian,Female,[10-20),1,1,7,3,0,0,2,1,276,250.01,?,9,<30\n";
        let mut rdr = csv::Reader::from_reader(data.as_bytes());
        let row: DatasetRow = rdr.deserialize().next().unwrap().unwrap();
        assert!(row.label().unwrap());
        let d = row.to_discharge().unwrap();
        assert_eq!(d.age.decade(), 1);
        assert_eq!(d.sex, Sex::Female);
        assert_eq!(d.admit_source.id(), 7);
        assert_eq!(d.diagnoses.len(), 2);
        assert_eq!(d.diagnoses[1].priority, 2);
        assert_eq!(d.diagnoses[1].code.as_str(), "25001");
        assert_eq!(d.diagnosis_count, 9);
        let h = row.to_history();
        assert_eq!(
            (h.ed_visits_6m, h.ed_visits_12m, h.inpatient_12m),
            (2, 2, 1)
        );
        let mut bad = row.clone();
        bad.admission_source_id = 16;
        assert_eq!(
            bad.to_discharge().unwrap_err().to_string(),
            "dataset column admission_source_id holds a value outside its code table"
        );
    }
}
