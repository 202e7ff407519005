//! An ADT discharge event ([`crate::adt::AdtEvent`], normally an A03) → the same [`Discharge`]
//! a dataset row gives, so the stream and training share [`super::extract`].
//!
//! | Discharge field | from |
//! |---|---|
//! | age decade | whole years from PID-7 (birth date) to the date of PV1-45 (discharge) |
//! | sex / race | PID-8 / PID-10 ([`codes::Sex::from_hl7`], [`codes::Race::from_hl7`]) |
//! | admission type / admit source / disposition | PV1-4 / PV1-14 (newborn rule) / PV1-36 |
//! | length of stay | calendar days from the date of PV1-44 to the date of PV1-45 (local dates as sent) |
//! | diagnoses | DG1 segments of the best diagnosis type present (final `F`, else working `W`, else all); priority DG1-15, else the segment's position; coded when DG1-3.3 names ICD-9-CM or ICD-10-CM |
//! | diagnosis count | number of those DG1 segments, coded or not |
//! | procedure count | number of PR1 segments |
//!
//! A DG1 without a recognised coding system counts as a diagnosis but is never coded (we do not
//! guess ICD-9 vs ICD-10 from the code's shape: `E11` and `E909` would be ambiguous).

use crate::adt::AdtEvent;
use crate::hl7::Timestamp;

use super::codes::{self, AdmissionType, AdmitSource, AgeDecade, CodingSystem, Disposition};
use super::icd::DxCode;
use super::{Diagnosis, Discharge, FeatureError};

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), after Howard Hinnant.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn day_number(t: &Timestamp) -> i64 {
    days_from_civil(
        i64::from(t.year),
        u32::from(t.month.max(1)),
        u32::from(t.day.max(1)),
    )
}

/// Whole years from `birth` to `at` (birthday not yet reached in `at`'s year counts one less).
pub fn age_in_years(birth: &Timestamp, at: &Timestamp) -> Option<u32> {
    let mut years = i32::from(at.year) - i32::from(birth.year);
    if (at.month, at.day) < (birth.month.max(1), birth.day.max(1)) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

fn diagnosis_rank(kind: Option<&str>) -> u8 {
    match kind.map(str::trim) {
        Some(k) if k.eq_ignore_ascii_case("F") => 3,
        Some(k) if k.eq_ignore_ascii_case("W") => 2,
        _ => 1,
    }
}

/// Builds the index stay of a discharge event. Fails when PV1, PV1-44, PV1-45 or PID-7 is
/// missing or unparsable, or when the discharge precedes the admission or the birth.
pub fn discharge_from_event(e: &AdtEvent) -> Result<Discharge, FeatureError> {
    let visit = e
        .visit
        .as_ref()
        .ok_or(FeatureError::Missing { field: "PV1" })?;
    let patient = e
        .patient
        .as_ref()
        .ok_or(FeatureError::Missing { field: "PID" })?;
    let discharged = visit
        .discharge_datetime
        .timestamp()
        .ok_or(FeatureError::Missing { field: "PV1-45" })?;
    let admitted = visit
        .admit_datetime
        .timestamp()
        .ok_or(FeatureError::Missing { field: "PV1-44" })?;
    let birth = patient
        .birth_date
        .timestamp()
        .ok_or(FeatureError::Missing { field: "PID-7" })?;
    let los = day_number(discharged) - day_number(admitted);
    let length_of_stay_days =
        u32::try_from(los).map_err(|_| FeatureError::Inconsistent { field: "PV1-45" })?;
    let age =
        age_in_years(birth, discharged).ok_or(FeatureError::Inconsistent { field: "PID-7" })?;

    let admission_type = AdmissionType::from_hl7(visit.admission_type.as_deref().unwrap_or(""));
    let admit_source =
        AdmitSource::from_hl7(visit.admit_source.as_deref().unwrap_or(""), admission_type);
    let disposition = Disposition::from_hl7(visit.discharge_disposition.as_deref().unwrap_or(""));

    let best = e
        .diagnoses
        .iter()
        .map(|d| diagnosis_rank(d.diagnosis_type.as_deref()))
        .max()
        .unwrap_or(1);
    let chosen = e
        .diagnoses
        .iter()
        .filter(|d| best == 1 || diagnosis_rank(d.diagnosis_type.as_deref()) == best);
    let mut diagnoses = Vec::new();
    let mut count = 0u32;
    for (pos, d) in chosen.enumerate() {
        count += 1;
        let system = CodingSystem::from_hl7(d.coding_system.as_deref().unwrap_or(""));
        let Some(code) = d.code.as_deref().and_then(|c| DxCode::new(c, system)) else {
            continue;
        };
        let priority = d
            .priority
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(u16::try_from(pos + 1).unwrap_or(u16::MAX));
        diagnoses.push(Diagnosis { priority, code });
    }
    diagnoses.sort_by_key(|d| d.priority);

    Ok(Discharge {
        age: AgeDecade::from_years(age),
        sex: codes::Sex::from_hl7(patient.sex.as_deref().unwrap_or("")),
        race: codes::Race::from_hl7(patient.race.as_deref().unwrap_or("")),
        admission_type,
        admit_source,
        disposition,
        length_of_stay_days,
        diagnoses,
        diagnosis_count: count,
        procedure_count: u32::try_from(e.procedures.count).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        assert_eq!(
            days_from_civil(2026, 1, 1) - days_from_civil(2025, 12, 25),
            7
        );
    }
}
