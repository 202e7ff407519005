//! Features: the index stay ([`Discharge`]) and the patient's prior visits ([`History`]) turned
//! into the model's fixed-order [`FeatureVector`] by one function, [`extract`], used both by
//! `readmit train` (dataset rows, see [`dataset`]) and by the stream (ADT events, see [`adt`]).
//!
//! | submodule | owns |
//! |---|---|
//! | [`codes`] | dataset ids ↔ HL7/UB-04 codes, groupings |
//! | [`icd`] | ICD-9/ICD-10 normalisation, diagnosis groups, Charlson |
//! | [`lace`] | the LACE index (van Walraven 2010) |
//! | [`dataset`] | a UCI Diabetes-130 row → [`Discharge`] + [`History`] |
//! | [`adt`] | an ADT discharge event → [`Discharge`] |
//!
//! Extraction writes into a fixed array and never allocates. Race is carried on [`Discharge`]
//! for subgroup reporting and is never a model input.

pub mod adt;
pub mod codes;
pub mod dataset;
pub mod icd;
pub mod lace;

use codes::{
    AdmissionType, AdmissionTypeGroup, AdmitSource, AdmitSourceGroup, AgeDecade, Disposition,
    DispositionGroup, Race, Sex,
};
use icd::{Condition, ConditionSet, DxCode, DxGroup};

/// Version of the feature schema (names, order, meaning). Bump on any change; a model artifact
/// trained on another version is refused at load.
pub const FEATURE_SCHEMA_VERSION: u32 = 1;

/// Upper bound on counts and the length of stay accepted by [`extract`]; larger values are
/// data errors, not patients.
pub const MAX_COUNT: u32 = 1_000;

/// A coded diagnosis of the index stay.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Diagnosis {
    /// 1-based priority (DG1-15; dataset `diag_1` = 1, `diag_2` = 2, `diag_3` = 3).
    pub priority: u16,
    /// The normalised code (its Debug output is redacted).
    pub code: DxCode,
}

/// The index stay, as known at discharge. Built from a dataset row
/// ([`dataset::DatasetRow::to_discharge`]) or from ADT messages ([`adt::discharge_from_event`]).
#[derive(Clone, PartialEq)]
pub struct Discharge {
    /// Age in decades at discharge.
    pub age: AgeDecade,
    /// Administrative sex.
    pub sex: Sex,
    /// Race, for subgroup reporting only.
    pub race: Race,
    /// Admission type (PV1-4).
    pub admission_type: AdmissionType,
    /// Admit source (PV1-14).
    pub admit_source: AdmitSource,
    /// Discharge disposition (PV1-36).
    pub disposition: Disposition,
    /// Whole days between admission date and discharge date (dataset `time_in_hospital`).
    pub length_of_stay_days: u32,
    /// Coded diagnoses (ICD-9-CM or ICD-10-CM), in priority order.
    pub diagnoses: Vec<Diagnosis>,
    /// Number of diagnoses on the stay, coded or not (count of DG1; dataset `number_diagnoses`).
    pub diagnosis_count: u32,
    /// Number of procedures (count of PR1; dataset `num_procedures`).
    pub procedure_count: u32,
}

impl std::fmt::Debug for Discharge {
    // Demographics and diagnoses of a person: only shapes are printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discharge")
            .field("coded_diagnoses", &self.diagnoses.len())
            .field("diagnosis_count", &self.diagnosis_count)
            .field("procedure_count", &self.procedure_count)
            .finish_non_exhaustive()
    }
}

impl Discharge {
    /// False for death and hospice dispositions and for transfers to another acute hospital or
    /// "still a patient" ([`Disposition::is_index`]): neither scored nor used in training.
    pub fn is_index_eligible(&self) -> bool {
        self.disposition.is_index()
    }

    /// The principal diagnosis (priority 1), when coded.
    pub fn principal(&self) -> Option<&Diagnosis> {
        self.diagnoses.iter().find(|d| d.priority == 1)
    }

    /// Charlson conditions over all coded diagnoses (before the hierarchy).
    pub fn conditions(&self) -> ConditionSet {
        self.diagnoses
            .iter()
            .fold(ConditionSet::EMPTY, |s, d| s.union(d.code.charlson()))
    }
}

/// The patient's visits before the index admission, as the stream's history keeps them.
///
/// From a dataset row both ED counts are `number_emergency` (the dataset only has the prior
/// year); LACE's "E" uses [`History::ed_visits_6m`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct History {
    /// Emergency department visits in the 6 months before admission.
    pub ed_visits_6m: u32,
    /// Emergency department visits in the 12 months before admission.
    pub ed_visits_12m: u32,
    /// Inpatient admissions in the 12 months before admission.
    pub inpatient_12m: u32,
    /// Outpatient visits in the 12 months before admission.
    pub outpatient_12m: u32,
}

/// Feature extraction errors. Texts name the field and the reason, never a value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeatureError {
    /// A count or the length of stay is above [`MAX_COUNT`].
    #[error("feature input {field} is out of range (above {max})")]
    OutOfRange {
        /// Which input.
        field: &'static str,
        /// The limit.
        max: u32,
    },
    /// A field needed to build the discharge was not sent or did not parse.
    #[error("{field} is missing or unparsable; it is required to score a discharge")]
    Missing {
        /// Segment and field, e.g. `PV1-45`.
        field: &'static str,
    },
    /// A date is out of order (discharge before admission, or before birth).
    #[error("{field} is out of order with the other visit dates")]
    Inconsistent {
        /// Segment and field.
        field: &'static str,
    },
    /// More coded diagnoses than the diagnosis count.
    #[error("feature input diagnosis_count is below the number of coded diagnoses")]
    DiagnosisCountBelowCoded,
}

/// What part of the stay a feature describes; used to turn model contributions into reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureGroup {
    /// Age band.
    Age,
    /// Sex.
    Sex,
    /// Admission type.
    AdmissionType,
    /// Admit source.
    AdmitSource,
    /// Discharge disposition.
    Disposition,
    /// Length of stay.
    LengthOfStay,
    /// Number of diagnoses.
    DiagnosisCount,
    /// Number of procedures.
    Procedures,
    /// Prior ED visits.
    EdVisits,
    /// Prior inpatient admissions.
    InpatientAdmissions,
    /// Prior outpatient visits.
    OutpatientVisits,
    /// Principal diagnosis group.
    PrincipalDiagnosis,
    /// Secondary diagnosis groups.
    SecondaryDiagnoses,
    /// Charlson index and conditions.
    Comorbidity,
    /// LACE index.
    Lace,
}

/// One feature: its name and group.
#[derive(Debug, Clone, Copy)]
pub struct FeatureDef {
    /// Stable snake-case name.
    pub name: &'static str,
    /// Explanation group.
    pub group: FeatureGroup,
}

const fn f(name: &'static str, group: FeatureGroup) -> FeatureDef {
    FeatureDef { name, group }
}

use FeatureGroup as G;

/// Number of features.
pub const N_FEATURES: usize = 115;

/// Every feature in order. [`extract`] writes exactly this order.
pub const FEATURES: [FeatureDef; N_FEATURES] = [
    f("age_decade", G::Age),
    f("age_lt_40", G::Age),
    f("age_40_49", G::Age),
    f("age_50_59", G::Age),
    f("age_60_69", G::Age),
    f("age_70_79", G::Age),
    f("age_80_89", G::Age),
    f("age_90_plus", G::Age),
    f("sex_male", G::Sex),
    f("sex_unknown", G::Sex),
    f("adm_emergency", G::AdmissionType),
    f("adm_urgent", G::AdmissionType),
    f("adm_elective", G::AdmissionType),
    f("adm_other", G::AdmissionType),
    f("src_referral", G::AdmitSource),
    f("src_transfer", G::AdmitSource),
    f("src_emergency_room", G::AdmitSource),
    f("src_other", G::AdmitSource),
    f("disp_home", G::Disposition),
    f("disp_home_health", G::Disposition),
    f("disp_post_acute", G::Disposition),
    f("disp_other_hospital", G::Disposition),
    f("disp_left_ama", G::Disposition),
    f("disp_other", G::Disposition),
    f("los_days", G::LengthOfStay),
    f("los_log", G::LengthOfStay),
    f("los_ge_7", G::LengthOfStay),
    f("n_diagnoses", G::DiagnosisCount),
    f("n_diagnoses_log", G::DiagnosisCount),
    f("n_diagnoses_ge_9", G::DiagnosisCount),
    f("n_procedures", G::Procedures),
    f("any_procedure", G::Procedures),
    f("ed_6m", G::EdVisits),
    f("ed_12m", G::EdVisits),
    f("ed_12m_log", G::EdVisits),
    f("ed_any_12m", G::EdVisits),
    f("inpatient_12m", G::InpatientAdmissions),
    f("inpatient_12m_log", G::InpatientAdmissions),
    f("inpatient_ge_1", G::InpatientAdmissions),
    f("inpatient_ge_2", G::InpatientAdmissions),
    f("inpatient_ge_3", G::InpatientAdmissions),
    f("inpatient_ge_5", G::InpatientAdmissions),
    f("outpatient_12m", G::OutpatientVisits),
    f("outpatient_12m_log", G::OutpatientVisits),
    f("outpatient_any", G::OutpatientVisits),
    f("pdx_circulatory", G::PrincipalDiagnosis),
    f("pdx_respiratory", G::PrincipalDiagnosis),
    f("pdx_digestive", G::PrincipalDiagnosis),
    f("pdx_diabetes", G::PrincipalDiagnosis),
    f("pdx_injury", G::PrincipalDiagnosis),
    f("pdx_musculoskeletal", G::PrincipalDiagnosis),
    f("pdx_genitourinary", G::PrincipalDiagnosis),
    f("pdx_neoplasms", G::PrincipalDiagnosis),
    f("pdx_other", G::PrincipalDiagnosis),
    f("sdx_circulatory", G::SecondaryDiagnoses),
    f("sdx_respiratory", G::SecondaryDiagnoses),
    f("sdx_digestive", G::SecondaryDiagnoses),
    f("sdx_diabetes", G::SecondaryDiagnoses),
    f("sdx_injury", G::SecondaryDiagnoses),
    f("sdx_musculoskeletal", G::SecondaryDiagnoses),
    f("sdx_genitourinary", G::SecondaryDiagnoses),
    f("sdx_neoplasms", G::SecondaryDiagnoses),
    f("sdx_other", G::SecondaryDiagnoses),
    f("charlson_index", G::Comorbidity),
    f("cc_myocardial_infarction", G::Comorbidity),
    f("cc_heart_failure", G::Comorbidity),
    f("cc_peripheral_vascular", G::Comorbidity),
    f("cc_cerebrovascular", G::Comorbidity),
    f("cc_dementia", G::Comorbidity),
    f("cc_chronic_pulmonary", G::Comorbidity),
    f("cc_rheumatic", G::Comorbidity),
    f("cc_peptic_ulcer", G::Comorbidity),
    f("cc_mild_liver", G::Comorbidity),
    f("cc_diabetes", G::Comorbidity),
    f("cc_diabetes_complicated", G::Comorbidity),
    f("cc_hemiplegia", G::Comorbidity),
    f("cc_renal", G::Comorbidity),
    f("cc_malignancy", G::Comorbidity),
    f("cc_severe_liver", G::Comorbidity),
    f("cc_metastatic", G::Comorbidity),
    f("cc_hiv", G::Comorbidity),
    f("lace_score", G::Lace),
    f("lace_ge_10", G::Lace),
    f("inpatient_log_x_age_ge_70", G::InpatientAdmissions),
    f("inpatient_12m_log_x_age", G::InpatientAdmissions),
    f("ed_12m_log_x_age", G::EdVisits),
    f("outpatient_12m_log_x_age", G::OutpatientVisits),
    f("n_diagnoses_x_age", G::DiagnosisCount),
    f("los_days_x_age", G::LengthOfStay),
    f("charlson_index_x_age", G::Comorbidity),
    f("disp_post_acute_x_age", G::Disposition),
    f("disp_home_x_age", G::Disposition),
    f("disp_home_health_x_age", G::Disposition),
    f("any_procedure_x_age", G::Procedures),
    f("src_emergency_room_x_age", G::AdmitSource),
    f("inpatient_ge_1_x_age", G::InpatientAdmissions),
    f(
        "inpatient_12m_log_x_disp_post_acute",
        G::InpatientAdmissions,
    ),
    f("inpatient_12m_log_x_disp_home", G::InpatientAdmissions),
    f(
        "inpatient_12m_log_x_disp_home_health",
        G::InpatientAdmissions,
    ),
    f("inpatient_12m_log_x_disp_other", G::InpatientAdmissions),
    f("ed_12m_log_x_disp_post_acute", G::EdVisits),
    f("ed_12m_log_x_disp_home", G::EdVisits),
    f("ed_12m_log_x_disp_home_health", G::EdVisits),
    f("ed_12m_log_x_disp_other", G::EdVisits),
    f("n_diagnoses_x_disp_post_acute", G::DiagnosisCount),
    f("n_diagnoses_x_disp_home", G::DiagnosisCount),
    f("n_diagnoses_x_disp_home_health", G::DiagnosisCount),
    f("n_diagnoses_x_disp_other", G::DiagnosisCount),
    f("los_days_x_disp_post_acute", G::LengthOfStay),
    f("los_days_x_disp_home", G::LengthOfStay),
    f("los_days_x_disp_home_health", G::LengthOfStay),
    f("los_days_x_disp_other", G::LengthOfStay),
    f("inpatient_log_x_ed_log", G::InpatientAdmissions),
    f("inpatient_log_x_outpatient_log", G::InpatientAdmissions),
    f("inpatient_log_x_n_diagnoses", G::InpatientAdmissions),
];

/// Feature names in model order.
pub const FEATURE_NAMES: [&str; N_FEATURES] = {
    let mut names = [""; N_FEATURES];
    let mut i = 0;
    while i < N_FEATURES {
        names[i] = FEATURES[i].name;
        i += 1;
    }
    names
};

/// Index of a named feature.
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURE_NAMES.iter().position(|n| *n == name)
}

/// The model input: [`N_FEATURES`] values in [`FEATURE_NAMES`] order.
#[derive(Clone, Copy, PartialEq)]
pub struct FeatureVector {
    values: [f64; N_FEATURES],
}

impl std::fmt::Debug for FeatureVector {
    // Derived from a person's stay: not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureVector")
            .field("len", &N_FEATURES)
            .finish_non_exhaustive()
    }
}

impl FeatureVector {
    /// Wraps raw values (for tests and golden vectors).
    pub fn from_values(values: [f64; N_FEATURES]) -> Self {
        Self { values }
    }

    /// The values in [`FEATURE_NAMES`] order.
    pub fn values(&self) -> &[f64; N_FEATURES] {
        &self.values
    }

    /// The value of a named feature.
    pub fn get(&self, name: &str) -> Option<f64> {
        feature_index(name).map(|i| self.values[i])
    }
}

struct Writer {
    v: [f64; N_FEATURES],
    i: usize,
}

impl Writer {
    #[inline]
    fn push(&mut self, x: f64) {
        // `extract` pushes exactly N_FEATURES values (tested); a miscount would be a bug caught
        // by `every_feature_is_written`, never silently by indexing past the end.
        if let Some(slot) = self.v.get_mut(self.i) {
            *slot = x;
        }
        self.i += 1;
    }
    #[inline]
    fn flag(&mut self, b: bool) {
        self.push(if b { 1.0 } else { 0.0 });
    }
}

fn check(field: &'static str, v: u32) -> Result<(), FeatureError> {
    if v > MAX_COUNT {
        Err(FeatureError::OutOfRange {
            field,
            max: MAX_COUNT,
        })
    } else {
        Ok(())
    }
}

/// `ln(1 + x)` of every count [`extract`] accepts (0..=[`MAX_COUNT`]), computed once with the
/// same `f64::ln_1p`, so a lookup gives the very bits the call would.
static LN1P: std::sync::LazyLock<[f64; MAX_COUNT as usize + 1]> = std::sync::LazyLock::new(|| {
    let mut t = [0.0; MAX_COUNT as usize + 1];
    for (x, v) in (0u32..).zip(t.iter_mut()) {
        *v = f64::from(x).ln_1p();
    }
    t
});

#[inline]
fn ln1p(x: u32) -> f64 {
    // `extract` checks every count against MAX_COUNT first; the fallback keeps this total.
    LN1P.get(x as usize)
        .copied()
        .unwrap_or_else(|| f64::from(x).ln_1p())
}

/// Builds the feature vector of a discharge. Never allocates.
pub fn extract(d: &Discharge, h: &History) -> Result<FeatureVector, FeatureError> {
    check("length_of_stay_days", d.length_of_stay_days)?;
    check("diagnosis_count", d.diagnosis_count)?;
    check("procedure_count", d.procedure_count)?;
    check("ed_visits_6m", h.ed_visits_6m)?;
    check("ed_visits_12m", h.ed_visits_12m)?;
    check("inpatient_12m", h.inpatient_12m)?;
    check("outpatient_12m", h.outpatient_12m)?;
    if (d.diagnosis_count as usize) < d.diagnoses.len() {
        return Err(FeatureError::DiagnosisCountBelowCoded);
    }

    let mut w = Writer {
        v: [0.0; N_FEATURES],
        i: 0,
    };

    let dec = d.age.decade();
    w.push(f64::from(dec));
    w.flag(dec < 4);
    w.flag(dec == 4);
    w.flag(dec == 5);
    w.flag(dec == 6);
    w.flag(dec == 7);
    w.flag(dec == 8);
    w.flag(dec >= 9);

    w.flag(d.sex == Sex::Male);
    w.flag(d.sex == Sex::Unknown);

    let at = d.admission_type.group();
    w.flag(at == AdmissionTypeGroup::Emergency);
    w.flag(at == AdmissionTypeGroup::Urgent);
    w.flag(at == AdmissionTypeGroup::Elective);
    w.flag(at == AdmissionTypeGroup::Other);

    let src = d.admit_source.group();
    w.flag(src == AdmitSourceGroup::Referral);
    w.flag(src == AdmitSourceGroup::Transfer);
    w.flag(src == AdmitSourceGroup::EmergencyRoom);
    w.flag(src == AdmitSourceGroup::Other);

    let dg = d.disposition.group();
    w.flag(dg == DispositionGroup::Home);
    w.flag(dg == DispositionGroup::HomeHealth);
    w.flag(dg == DispositionGroup::PostAcute);
    w.flag(dg == DispositionGroup::OtherHospital);
    w.flag(dg == DispositionGroup::LeftAgainstAdvice);
    w.flag(matches!(
        dg,
        DispositionGroup::Other | DispositionGroup::DeathOrHospice
    ));

    let los = d.length_of_stay_days;
    w.push(f64::from(los));
    w.push(ln1p(los));
    w.flag(los >= 7);

    let ndx = d.diagnosis_count;
    w.push(f64::from(ndx));
    w.push(ln1p(ndx));
    w.flag(ndx >= 9);

    w.push(f64::from(d.procedure_count));
    w.flag(d.procedure_count > 0);

    w.push(f64::from(h.ed_visits_6m));
    w.push(f64::from(h.ed_visits_12m));
    w.push(ln1p(h.ed_visits_12m));
    w.flag(h.ed_visits_12m > 0);

    let ip = h.inpatient_12m;
    w.push(f64::from(ip));
    w.push(ln1p(ip));
    w.flag(ip >= 1);
    w.flag(ip >= 2);
    w.flag(ip >= 3);
    w.flag(ip >= 5);

    w.push(f64::from(h.outpatient_12m));
    w.push(ln1p(h.outpatient_12m));
    w.flag(h.outpatient_12m > 0);

    let pdx = d.principal().map(|p| p.code.group());
    for g in DxGroup::ALL {
        w.flag(pdx == Some(g));
    }
    let mut sdx = [0u32; 9];
    for dx in d.diagnoses.iter().filter(|x| x.priority != 1) {
        sdx[dx.code.group().index()] += 1;
    }
    for n in sdx {
        w.push(f64::from(n));
    }

    let conditions = d.conditions();
    let charlson = conditions.charlson_index();
    w.push(f64::from(charlson));
    let after = conditions.with_hierarchy();
    for c in Condition::ALL {
        w.flag(after.contains(c));
    }

    let lace = lace::lace_score(d, h, charlson);
    w.push(f64::from(lace.total()));
    w.flag(lace.total() >= 10);

    let ip_log = ln1p(ip);
    w.push(ip_log * if dec >= 7 { 1.0 } else { 0.0 });

    // Interactions (a linear model cannot find them itself): with the age decade, with the
    // disposition group, and between prior-visit counts.
    let age = f64::from(dec);
    let ed_log = ln1p(h.ed_visits_12m);
    let op_log = ln1p(h.outpatient_12m);
    let ndx_f = f64::from(ndx);
    let los_f = f64::from(los);
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    let post_acute = b(dg == DispositionGroup::PostAcute);
    let home = b(dg == DispositionGroup::Home);
    let home_health = b(dg == DispositionGroup::HomeHealth);
    let disp_other = b(matches!(
        dg,
        DispositionGroup::Other | DispositionGroup::DeathOrHospice
    ));
    for v in [
        ip_log,
        ed_log,
        op_log,
        ndx_f,
        los_f,
        f64::from(charlson),
        post_acute,
        home,
        home_health,
        b(d.procedure_count > 0),
        b(src == AdmitSourceGroup::EmergencyRoom),
        b(ip >= 1),
    ] {
        w.push(v * age);
    }
    for v in [ip_log, ed_log, ndx_f, los_f] {
        for disp in [post_acute, home, home_health, disp_other] {
            w.push(v * disp);
        }
    }
    w.push(ip_log * ed_log);
    w.push(ip_log * op_log);
    w.push(ip_log * ndx_f);

    debug_assert_eq!(w.i, N_FEATURES);
    Ok(FeatureVector { values: w.v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::codes::CodingSystem;

    pub(crate) fn sample() -> (Discharge, History) {
        let dx = |p, c| Diagnosis {
            priority: p,
            code: DxCode::from_dataset(c).unwrap(),
        };
        (
            Discharge {
                age: AgeDecade::new(7),
                sex: Sex::Female,
                race: Race::Caucasian,
                admission_type: AdmissionType::from_id(1).unwrap(),
                admit_source: AdmitSource::from_id(7).unwrap(),
                disposition: Disposition::from_id(7).unwrap(),
                length_of_stay_days: 5,
                diagnoses: vec![dx(1, "428"), dx(2, "250.43"), dx(3, "496")],
                diagnosis_count: 9,
                procedure_count: 2,
            },
            History {
                ed_visits_6m: 3,
                ed_visits_12m: 3,
                inpatient_12m: 2,
                outpatient_12m: 0,
            },
        )
    }

    #[test]
    fn every_feature_is_written_and_names_are_unique() {
        // `extract` debug-asserts that it wrote exactly N_FEATURES values.
        let (d, h) = sample();
        let fv = extract(&d, &h).unwrap();
        let mut names: Vec<_> = FEATURE_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), N_FEATURES);
        assert_eq!(fv.get("age_decade"), Some(7.0));
        assert_eq!(fv.get("age_70_79"), Some(1.0));
        assert_eq!(fv.get("disp_left_ama"), Some(1.0));
        assert_eq!(fv.get("los_days"), Some(5.0));
        assert_eq!(fv.get("ed_6m"), Some(3.0));
        assert_eq!(fv.get("inpatient_ge_2"), Some(1.0));
        assert_eq!(fv.get("inpatient_ge_3"), Some(0.0));
        assert_eq!(fv.get("pdx_circulatory"), Some(1.0));
        assert_eq!(fv.get("sdx_diabetes"), Some(1.0));
        assert_eq!(fv.get("sdx_respiratory"), Some(1.0));
        assert_eq!(fv.get("charlson_index"), Some(4.0));
        assert_eq!(fv.get("cc_diabetes_complicated"), Some(1.0));
        // LACE: L 4 (5 days) + A 3 + C 5 (Charlson 4) + E 3 = 15.
        assert_eq!(fv.get("lace_score"), Some(15.0));
        assert_eq!(fv.get("lace_ge_10"), Some(1.0));
        assert_eq!(fv.get("inpatient_log_x_age_ge_70"), Some(2f64.ln_1p()));
        assert_eq!(fv.get("inpatient_12m_log_x_age"), Some(2f64.ln_1p() * 7.0));
        assert_eq!(fv.get("los_days_x_disp_home"), Some(0.0));
        assert_eq!(fv.get("n_diagnoses_x_disp_other"), Some(0.0));
        assert_eq!(
            fv.get("inpatient_log_x_ed_log"),
            Some(2f64.ln_1p() * 3f64.ln_1p())
        );
        assert_eq!(fv.values()[N_FEATURES - 1], 2f64.ln_1p() * 9.0);
    }

    #[test]
    fn icd10_stay_gives_same_comorbidity_and_groups() {
        let (mut d, h) = sample();
        let a = extract(&d, &h).unwrap();
        let c10 = |p, c| Diagnosis {
            priority: p,
            code: DxCode::new(c, CodingSystem::Icd10).unwrap(),
        };
        d.diagnoses = vec![c10(1, "I50.9"), c10(2, "E11.22"), c10(3, "J44.9")];
        let b = extract(&d, &h).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn errors() {
        let (mut d, h) = sample();
        d.diagnosis_count = 2;
        assert_eq!(extract(&d, &h), Err(FeatureError::DiagnosisCountBelowCoded));
        d.diagnosis_count = 9;
        d.length_of_stay_days = 5000;
        let e = extract(&d, &h).unwrap_err();
        assert_eq!(
            e.to_string(),
            "feature input length_of_stay_days is out of range (above 1000)"
        );
    }
}
