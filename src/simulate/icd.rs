//! Diagnosis codes as the simulator writes them into DG1-3: dataset ICD-9-CM values as proper
//! dotted ICD-9-CM codes, and (with `--icd10`) a small ICD-9-CM → ICD-10-CM table for codes with
//! a clear equivalent.
//!
//! Every table entry keeps the diagnosis group and the Charlson conditions of the ICD-9 code
//! (checked by the unit tests), so a model fed the ICD-10 stream sees the same grouped inputs.

use crate::features::codes::CodingSystem;
use crate::features::icd::DxCode;

/// A DG1-3 value: code (DG1-3.1) and coding system (DG1-3.3).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Dg1Code {
    pub(crate) code: String,
    pub(crate) system: CodingSystem,
}

/// ICD-9-CM category (3 characters, no dot) → ICD-10-CM code, for categories whose meaning
/// carries over one to one at the level the dataset keeps.
const CATEGORY_TO_ICD10: &[(&str, &str)] = &[
    ("038", "A41.9"),    // septicaemia → sepsis, unspecified organism
    ("276", "E87.8"),    // fluid/electrolyte disorders
    ("401", "I10"),      // essential hypertension
    ("410", "I21.9"),    // acute myocardial infarction
    ("414", "I25.10"),   // chronic ischaemic heart disease
    ("427", "I49.9"),    // cardiac dysrhythmia
    ("428", "I50.9"),    // heart failure
    ("434", "I63.50"),   // cerebral artery occlusion → cerebral infarction
    ("486", "J18.9"),    // pneumonia, organism unspecified
    ("491", "J44.9"),    // chronic bronchitis → COPD
    ("493", "J45.909"),  // asthma
    ("496", "J44.9"),    // chronic airway obstruction → COPD
    ("530", "K21.9"),    // oesophageal disease → GERD
    ("562", "K57.90"),   // diverticula of intestine
    ("577", "K85.90"),   // diseases of pancreas → acute pancreatitis
    ("584", "N17.9"),    // acute kidney failure
    ("585", "N18.9"),    // chronic kidney disease
    ("599", "N39.0"),    // urinary tract infection
    ("682", "L03.90"),   // cellulitis
    ("715", "M19.90"),   // osteoarthrosis
    ("780", "R68.89"),   // general symptoms
    ("786", "R07.9"),    // chest pain / respiratory symptoms
    ("996", "T85.9XXA"), // complications of devices, implants and grafts
];

/// ICD-10-CM suffix for ICD-9-CM 250.x (4th digit x): the complication. 250.7–250.9 have none
/// here and stay ICD-9-CM, because their ICD-10-CM equivalents score differently in Charlson:
/// Deyo counts 250.7 as uncomplicated diabetes and 250.8/250.9 not at all, while E1x.5x is
/// "with complication" and E1x.69/E1x.8 are "without".
const DIABETES_SUFFIX: [Option<&str>; 10] = [
    Some("9"),   // 250.0 without complication
    Some("10"),  // 250.1 ketoacidosis
    Some("69"),  // 250.2 hyperosmolarity → other specified complication
    Some("641"), // 250.3 other coma → hypoglycaemia with coma
    Some("21"),  // 250.4 renal → nephropathy
    Some("319"), // 250.5 ophthalmic → retinopathy
    Some("40"),  // 250.6 neurological → neuropathy
    None,        // 250.7 peripheral circulatory
    None,        // 250.8 other specified
    None,        // 250.9 unspecified complication
];

/// The DG1-3 value for a dataset `diag_*` column: `None` for a missing (`?`) or unreadable
/// value (the DG1 is then sent with an empty code).
pub(crate) fn dg1_code(raw: &str, icd10: bool) -> Option<Dg1Code> {
    let code = DxCode::from_dataset(raw)?;
    if icd10 {
        if let Some(code) = to_icd10(&code) {
            return Some(Dg1Code {
                code,
                system: CodingSystem::Icd10,
            });
        }
    }
    Some(Dg1Code {
        code: code.to_dotted(),
        system: CodingSystem::Icd9,
    })
}

/// The ICD-10-CM equivalent of a normalised ICD-9-CM code, when the table has one.
pub(crate) fn to_icd10(code: &DxCode) -> Option<String> {
    let s = code.as_str();
    if let Some(rest) = s.strip_prefix("250") {
        let b = rest.as_bytes();
        let fourth = usize::from(b.first()?.checked_sub(b'0')?);
        let fifth = b.get(1).map_or(0, |d| d.wrapping_sub(b'0'));
        let suffix = (*DIABETES_SUFFIX.get(fourth)?)?;
        // 5th digit 1 and 3: type 1; 0 and 2: type 2 (or unspecified).
        let family = if fifth == 1 || fifth == 3 {
            "E10"
        } else {
            "E11"
        };
        return Some(format!("{family}.{suffix}"));
    }
    if s.len() != 3 {
        return None;
    }
    CATEGORY_TO_ICD10
        .iter()
        .find(|(icd9, _)| *icd9 == s)
        .map(|(_, icd10)| (*icd10).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn icd9_inputs() -> Vec<String> {
        let mut v: Vec<String> = CATEGORY_TO_ICD10
            .iter()
            .map(|(c, _)| (*c).to_string())
            .collect();
        for fourth in 0..7 {
            for fifth in 0..4 {
                v.push(format!("250.{fourth}{fifth}"));
            }
        }
        v
    }

    #[test]
    fn icd10_entries_keep_group_and_charlson() {
        for raw in icd9_inputs() {
            let icd9 = DxCode::from_dataset(&raw).unwrap();
            let icd10 = to_icd10(&icd9).unwrap_or_else(|| panic!("no entry for {raw}"));
            let parsed = DxCode::new(&icd10, CodingSystem::Icd10).unwrap();
            assert_eq!(parsed.group(), icd9.group(), "group of {raw} -> {icd10}");
            assert_eq!(
                parsed.charlson(),
                icd9.charlson(),
                "Charlson of {raw} -> {icd10}"
            );
        }
    }

    #[test]
    fn dataset_codes_become_dotted_icd9() {
        let c = |raw: &str| dg1_code(raw, false).map(|c| c.code);
        assert_eq!(c("8").as_deref(), Some("008"));
        assert_eq!(c("42").as_deref(), Some("042"));
        assert_eq!(c("250").as_deref(), Some("250.00"));
        assert_eq!(c("250.1").as_deref(), Some("250.10"));
        assert_eq!(c("250.83").as_deref(), Some("250.83"));
        assert_eq!(c("V57").as_deref(), Some("V57"));
        assert_eq!(c("E909").as_deref(), Some("E909"));
        assert_eq!(c("?"), None);
        assert_eq!(
            dg1_code("428", true).map(|c| (c.code, c.system)),
            Some(("I50.9".to_string(), CodingSystem::Icd10))
        );
        assert_eq!(
            dg1_code("V57", true).map(|c| c.system),
            Some(CodingSystem::Icd9)
        );
        assert_eq!(
            dg1_code("250.13", true).map(|c| c.code).as_deref(),
            Some("E10.10")
        );
        assert_eq!(
            dg1_code("250.7", true).map(|c| (c.code, c.system)),
            Some(("250.70".to_string(), CodingSystem::Icd9))
        );
    }
}
