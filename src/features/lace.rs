//! The LACE index (van Walraven et al., CMAJ 2010): Length of stay, Acuity of admission,
//! Charlson comorbidity, Emergency department visits in the prior 6 months. Range 0–19.
//!
//! | item | points |
//! |---|---|
//! | L | <1 day 0; 1 → 1; 2 → 2; 3 → 3; 4–6 → 4; 7–13 → 5; ≥14 → 7 |
//! | A | emergent or urgent admission (admission type emergency / urgent / trauma, or admitted from the ER) → 3 |
//! | C | Charlson 0 → 0; 1 → 1; 2 → 2; 3 → 3; ≥4 → 5 |
//! | E | ED visits in the 6 months before admission, capped at 4 |
//!
//! C uses the Charlson index of [`crate::features::icd`] (1987 weights). E uses
//! [`History::ed_visits_6m`]; for dataset rows that is the prior-year count (the only one the
//! dataset has).

use super::codes::{AdmissionTypeGroup, AdmitSourceGroup};
use super::{Discharge, History};

/// The four LACE components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lace {
    /// Length-of-stay points.
    pub l: u32,
    /// Acuity points.
    pub a: u32,
    /// Comorbidity points.
    pub c: u32,
    /// ED-visit points.
    pub e: u32,
}

impl Lace {
    /// Sum of the components (0–19).
    pub fn total(&self) -> u32 {
        self.l + self.a + self.c + self.e
    }
}

/// LACE "L" points for a length of stay in days.
pub fn length_points(days: u32) -> u32 {
    match days {
        0 => 0,
        1..=3 => days,
        4..=6 => 4,
        7..=13 => 5,
        _ => 7,
    }
}

/// LACE "C" points for a Charlson index.
pub fn charlson_points(charlson: u32) -> u32 {
    if charlson >= 4 {
        5
    } else {
        charlson
    }
}

/// True when the admission was acute (emergent or urgent).
pub fn is_acute(d: &Discharge) -> bool {
    matches!(
        d.admission_type.group(),
        AdmissionTypeGroup::Emergency | AdmissionTypeGroup::Urgent
    ) || d.admit_source.group() == AdmitSourceGroup::EmergencyRoom
}

/// LACE of a discharge, given its Charlson index.
pub fn lace_score(d: &Discharge, h: &History, charlson: u32) -> Lace {
    Lace {
        l: length_points(d.length_of_stay_days),
        a: if is_acute(d) { 3 } else { 0 },
        c: charlson_points(charlson),
        e: h.ed_visits_6m.min(4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::codes::{AdmissionType, AdmitSource, AgeDecade, Disposition, Race, Sex};
    use crate::features::icd::DxCode;
    use crate::features::Diagnosis;

    fn discharge(adm: u8, src: u8, los: u32, codes: &[&str]) -> Discharge {
        Discharge {
            age: AgeDecade::new(6),
            sex: Sex::Male,
            race: Race::Unknown,
            admission_type: AdmissionType::from_id(adm).unwrap(),
            admit_source: AdmitSource::from_id(src).unwrap(),
            disposition: Disposition::from_id(1).unwrap(),
            length_of_stay_days: los,
            diagnoses: codes
                .iter()
                .enumerate()
                .map(|(i, c)| Diagnosis {
                    priority: i as u16 + 1,
                    code: DxCode::from_dataset(c).unwrap(),
                })
                .collect(),
            diagnosis_count: codes.len() as u32,
            procedure_count: 0,
        }
    }

    #[test]
    fn points_tables() {
        let l: Vec<u32> = [0, 1, 2, 3, 4, 6, 7, 13, 14, 30]
            .iter()
            .map(|&d| length_points(d))
            .collect();
        assert_eq!(l, vec![0, 1, 2, 3, 4, 4, 5, 5, 7, 7]);
        let c: Vec<u32> = (0..7).map(charlson_points).collect();
        assert_eq!(c, vec![0, 1, 2, 3, 5, 5, 5]);
    }

    #[test]
    fn hand_computed_cases() {
        let h = |ed| History {
            ed_visits_6m: ed,
            ed_visits_12m: ed + 2,
            ..History::default()
        };
        // Elective, referral, 2 days, no comorbidity, no ED: 2.
        let d = discharge(3, 1, 2, &["715"]);
        assert_eq!(
            lace_score(&d, &h(0), d.conditions().charlson_index()).total(),
            2
        );
        // Elective but admitted from the ER: acute. 14 days → 7; CHF + COPD → 2; ED 6 → 4.
        let d = discharge(3, 7, 14, &["428", "496"]);
        let s = lace_score(&d, &h(6), d.conditions().charlson_index());
        assert_eq!(
            s,
            Lace {
                l: 7,
                a: 3,
                c: 2,
                e: 4
            }
        );
        assert_eq!(s.total(), 16);
        // Urgent, 8 days, metastatic (6 → 5 points), ED 1 (the 12-month count is ignored).
        let d = discharge(2, 1, 8, &["197"]);
        assert_eq!(
            lace_score(&d, &h(1), d.conditions().charlson_index()).total(),
            5 + 3 + 5 + 1
        );
    }
}
