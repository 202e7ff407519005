//! Diagnosis codes: normalised ICD-9-CM / ICD-10-CM codes, diagnosis groups (Strack et al. 2014),
//! and the Charlson comorbidity index (ICD-9-CM lists of Deyo 1992, ICD-10 lists of Quan 2005).
//!
//! **Weights.** Both code lists score with the original Charlson 1987 weights (MI, CHF, PVD,
//! cerebrovascular, dementia, pulmonary, rheumatic, ulcer, mild liver, diabetes = 1; diabetes with
//! complications, hemiplegia, renal, malignancy = 2; severe liver = 3; metastatic tumour, AIDS = 6),
//! so an ICD-9 stay and the same stay coded in ICD-10 get the same index (DOMAIN §3.3). Hierarchy:
//! complicated diabetes cancels uncomplicated, severe liver cancels mild, metastatic cancels any
//! malignancy.
//!
//! **Dataset truncation.** The dataset stores most ICD-9 codes at category level (3 characters).
//! A 3-character ICD-9 code therefore also matches these sub-category entries (an approximation,
//! DOMAIN §4.2): 443 → PVD (443.9), 456 → severe liver (456.0–456.21), 571 → mild liver,
//! 572 → severe liver (572.2–.8), 583 → renal, 710 and 714 → rheumatic. ICD-10 codes are matched
//! by prefix only. Dataset normalisation (numeric codes left-padded to 3 digits; `250` and `250.x`
//! completed to 5 digits because trailing zeros were lost) happens in [`DxCode::from_dataset`].

use super::codes::CodingSystem;

/// Longest normalised code kept (ICD-10-CM has at most 7 characters without the dot).
const MAX_LEN: usize = 8;

/// A diagnosis code normalised for matching: upper case, no dot, ICD-9 numeric categories
/// left-padded to 3 digits. Fixed-size and `Copy`, so feature extraction never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DxCode {
    bytes: [u8; MAX_LEN],
    len: u8,
    system: CodingSystem,
}

impl std::fmt::Debug for DxCode {
    // Diagnosis codes tied to a person are PHI: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DxCode")
            .field("system", &self.system)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl DxCode {
    /// Normalises a code as sent in DG1-3.1 (`428.0`, `I50.9`, `V57`, `8`). Returns `None` when
    /// the code is empty, longer than 8 characters, or has characters other than ASCII letters,
    /// digits and dots, or when the system is [`CodingSystem::Other`] (such codes are counted,
    /// never matched).
    pub fn new(raw: &str, system: CodingSystem) -> Option<Self> {
        if system == CodingSystem::Other {
            return None;
        }
        let raw = raw.trim();
        let mut bytes = [0u8; MAX_LEN];
        let mut len = 0usize;
        let mut int_digits = 0usize; // digits before the dot, for ICD-9 left-padding
        let mut seen_dot = false;
        for b in raw.bytes() {
            if b == b'.' {
                if seen_dot {
                    return None;
                }
                seen_dot = true;
                continue;
            }
            if !b.is_ascii_alphanumeric() || len == MAX_LEN {
                return None;
            }
            bytes[len] = b.to_ascii_uppercase();
            len += 1;
            if !seen_dot {
                int_digits += 1;
            }
        }
        if len == 0 {
            return None;
        }
        // ICD-9 numeric codes lost their leading zeros in the dataset (`8` = 008, `42` = 042).
        if system == CodingSystem::Icd9 && bytes[0].is_ascii_digit() && int_digits < 3 {
            let pad = 3 - int_digits;
            if len + pad > MAX_LEN {
                return None;
            }
            bytes.copy_within(0..len, pad);
            for b in bytes.iter_mut().take(pad) {
                *b = b'0';
            }
            len += pad;
        }
        Some(Self {
            bytes,
            len: len as u8,
            system,
        })
    }

    /// Normalises a dataset `diag_*` value (ICD-9-CM): `?` is missing; `250` / `250.x` get their
    /// lost trailing zeros back (`250` = 250.00, `250.1` = 250.10).
    pub fn from_dataset(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() || raw == "?" {
            return None;
        }
        let code = Self::new(raw, CodingSystem::Icd9)?;
        if code.as_str().starts_with("250") && code.len < 5 {
            let mut c = code;
            while (c.len as usize) < 5 {
                c.bytes[c.len as usize] = b'0';
                c.len += 1;
            }
            return Some(c);
        }
        Some(code)
    }

    /// The normalised code (no dot).
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }

    /// The coding system.
    pub fn system(&self) -> CodingSystem {
        self.system
    }

    /// The code with its dot back in the ICD position (after 3 characters; after 4 for ICD-9
    /// E codes), as a sender would put it in DG1-3.1.
    pub fn to_dotted(&self) -> String {
        let s = self.as_str();
        let cut = if self.system == CodingSystem::Icd9 && s.starts_with('E') {
            4
        } else {
            3
        };
        if s.len() > cut {
            format!("{}.{}", &s[..cut], &s[cut..])
        } else {
            s.to_string()
        }
    }

    /// Numeric ICD-9 category (first 3 digits), when the code is numeric ICD-9.
    fn icd9_category(&self) -> Option<u16> {
        if self.system != CodingSystem::Icd9 || self.len < 3 {
            return None;
        }
        let b = &self.bytes;
        if !(b[0].is_ascii_digit() && b[1].is_ascii_digit() && b[2].is_ascii_digit()) {
            return None;
        }
        Some(u16::from(b[0] - b'0') * 100 + u16::from(b[1] - b'0') * 10 + u16::from(b[2] - b'0'))
    }

    /// ICD-10: letter and 2-digit category number (`I50` → ('I', 50)).
    fn icd10_category(&self) -> Option<(u8, u16)> {
        if self.system != CodingSystem::Icd10 || self.len < 3 {
            return None;
        }
        let b = &self.bytes;
        if !(b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit()) {
            return None;
        }
        Some((b[0], u16::from(b[1] - b'0') * 10 + u16::from(b[2] - b'0')))
    }

    /// The diagnosis group (Strack et al. 2014 groupings, ICD-10-CM chapters equivalent).
    pub fn group(&self) -> DxGroup {
        match self.system {
            CodingSystem::Icd9 => self.group_icd9(),
            CodingSystem::Icd10 => self.group_icd10(),
            CodingSystem::Other => DxGroup::Other,
        }
    }

    fn group_icd9(&self) -> DxGroup {
        match self.icd9_category() {
            Some(250) => DxGroup::Diabetes,
            Some(390..=459 | 785) => DxGroup::Circulatory,
            Some(460..=519 | 786) => DxGroup::Respiratory,
            Some(520..=579 | 787) => DxGroup::Digestive,
            Some(800..=999) => DxGroup::Injury,
            Some(710..=739) => DxGroup::Musculoskeletal,
            Some(580..=629 | 788) => DxGroup::Genitourinary,
            Some(140..=239) => DxGroup::Neoplasms,
            _ => DxGroup::Other,
        }
    }

    fn group_icd10(&self) -> DxGroup {
        match self.icd10_category() {
            Some((b'E', 8..=13)) => DxGroup::Diabetes,
            Some((b'I', _)) | Some((b'R', 0..=3)) => DxGroup::Circulatory,
            Some((b'J', _)) | Some((b'R', 4..=9)) => DxGroup::Respiratory,
            Some((b'K', _)) | Some((b'R', 10..=19)) => DxGroup::Digestive,
            Some((b'S', _)) | Some((b'T', 0..=88)) => DxGroup::Injury,
            Some((b'M', _)) => DxGroup::Musculoskeletal,
            Some((b'N', _)) | Some((b'R', 30..=39)) => DxGroup::Genitourinary,
            Some((b'C', _)) | Some((b'D', 0..=49)) => DxGroup::Neoplasms,
            _ => DxGroup::Other,
        }
    }

    /// The Charlson conditions this code indicates (before the hierarchy is applied).
    pub fn charlson(&self) -> ConditionSet {
        let condition = match self.system {
            CodingSystem::Icd9 => self.charlson_icd9(),
            CodingSystem::Icd10 => self.charlson_icd10(),
            CodingSystem::Other => None,
        };
        condition.map_or(ConditionSet::EMPTY, ConditionSet::of)
    }

    /// The characters after the 3-character category (4th, 5th, …).
    fn subcategory(&self) -> &[u8] {
        self.bytes.get(3..usize::from(self.len)).unwrap_or_default()
    }

    // The Deyo (ICD-9) and Quan (ICD-10) lists as one match on the category and the characters
    // after it: every entry of both lists begins with a full 3-character category, and no code
    // indicates two conditions, so one lookup replaces dozens of prefix comparisons. The lists
    // as published (prefix by prefix) are kept in the tests, which check this match against
    // them over every category and sub-category.

    fn charlson_icd9(&self) -> Option<Condition> {
        use Condition::*;
        let sub = self.subcategory();
        let Some(cat) = self.icd9_category() else {
            // The only non-numeric entry: V43.4 (limb replaced by prosthesis).
            let b = &self.bytes[..usize::from(self.len)];
            return b.starts_with(b"V434").then_some(PeripheralVascular);
        };
        // A category-level code (as the dataset stores most codes) matches the sub-category
        // entries of its category (module docs).
        let whole = sub.is_empty();
        let d4 = sub.first().copied();
        let d4_in = |set: &[u8]| d4.is_some_and(|d| set.contains(&d));
        Some(match cat {
            410 | 412 => MyocardialInfarction,
            428 => CongestiveHeartFailure,
            441 => PeripheralVascular,
            443 if whole || d4 == Some(b'9') => PeripheralVascular,
            785 if d4 == Some(b'4') => PeripheralVascular,
            430..=438 => Cerebrovascular,
            290 => Dementia,
            490..=496 | 500..=505 => ChronicPulmonary,
            506 if d4 == Some(b'4') => ChronicPulmonary,
            710 if whole || d4_in(b"014") => Rheumatic,
            714 if whole || d4_in(b"012") || sub.starts_with(b"81") => Rheumatic,
            725 => Rheumatic,
            531..=534 => PepticUlcer,
            571 if whole || d4_in(b"2456") => MildLiver,
            250 if d4_in(b"01237") => Diabetes,
            250 if d4_in(b"456") => DiabetesComplicated,
            342 => Hemiplegia,
            344 if d4 == Some(b'1') => Hemiplegia,
            582 | 585 | 586 | 588 => Renal,
            583 if whole || d4_in(b"01234567") => Renal,
            140..=172 | 174..=195 | 200..=208 => Malignancy,
            456 if whole || d4_in(b"01") || sub.starts_with(b"20") || sub.starts_with(b"21") => {
                SevereLiver
            }
            572 if whole || d4_in(b"2345678") => SevereLiver,
            196..=198 => Metastatic,
            199 if whole || d4_in(b"01") => Metastatic,
            42..=44 => Hiv,
            _ => return None,
        })
    }

    fn charlson_icd10(&self) -> Option<Condition> {
        use Condition::*;
        let (letter, num) = self.icd10_category()?;
        let d4 = self.subcategory().first().copied();
        let d4_in = |set: &[u8]| d4.is_some_and(|d| set.contains(&d));
        Some(match (letter, num) {
            (b'I', 21..=22) => MyocardialInfarction,
            (b'I', 25) if d4 == Some(b'2') => MyocardialInfarction,
            (b'I', 25) if d4 == Some(b'5') => CongestiveHeartFailure,
            (b'I', 9) if d4 == Some(b'9') => CongestiveHeartFailure,
            (b'I', 11) if d4 == Some(b'0') => CongestiveHeartFailure,
            (b'I', 13) if d4_in(b"02") => CongestiveHeartFailure,
            (b'I', 42) if d4_in(b"056789") => CongestiveHeartFailure,
            (b'P', 29) if d4 == Some(b'0') => CongestiveHeartFailure,
            (b'I', 43 | 50) => CongestiveHeartFailure,
            (b'I', 70..=71) => PeripheralVascular,
            (b'I', 73) if d4_in(b"189") => PeripheralVascular,
            (b'I', 77) if d4 == Some(b'1') => PeripheralVascular,
            (b'I', 79) if d4_in(b"02") => PeripheralVascular,
            (b'K', 55) if d4_in(b"189") => PeripheralVascular,
            (b'Z', 95) if d4_in(b"89") => PeripheralVascular,
            (b'G', 45..=46) | (b'I', 60..=69) => Cerebrovascular,
            (b'H', 34) if d4 == Some(b'0') => Cerebrovascular,
            (b'F', 0..=3) | (b'G', 30) => Dementia,
            (b'F', 5) | (b'G', 31) if d4 == Some(b'1') => Dementia,
            (b'I', 27) if d4_in(b"89") => ChronicPulmonary,
            (b'J', 68) if d4 == Some(b'4') => ChronicPulmonary,
            (b'J', 70) if d4_in(b"13") => ChronicPulmonary,
            (b'J', 40..=47 | 60..=67) => ChronicPulmonary,
            (b'M', 5..=6 | 32..=34) => Rheumatic,
            (b'M', 31) if d4 == Some(b'5') => Rheumatic,
            (b'M', 35) if d4_in(b"13") => Rheumatic,
            (b'M', 36) if d4 == Some(b'0') => Rheumatic,
            (b'K', 25..=28) => PepticUlcer,
            (b'B', 18) | (b'K', 73..=74) => MildLiver,
            (b'K', 70) if d4_in(b"01239") => MildLiver,
            (b'K', 71) if d4_in(b"3457") => MildLiver,
            (b'K', 76) if d4_in(b"023489") => MildLiver,
            (b'Z', 94) if d4 == Some(b'4') => MildLiver,
            // E10–E14 (WHO) plus E08, E09 (ICD-10-CM: drug- and condition-induced diabetes).
            (b'E', 8..=14) if d4_in(b"23457") => DiabetesComplicated,
            (b'E', 8..=14) => Diabetes,
            (b'G', 4) if d4 == Some(b'1') => Hemiplegia,
            (b'G', 11) if d4 == Some(b'4') => Hemiplegia,
            (b'G', 80) if d4_in(b"12") => Hemiplegia,
            (b'G', 83) if d4_in(b"012349") => Hemiplegia,
            (b'G', 81..=82) => Hemiplegia,
            (b'I', 12) | (b'N', 25) if d4 == Some(b'0') => Renal,
            (b'I', 13) if d4 == Some(b'1') => Renal,
            (b'Z', 49) if d4_in(b"012") => Renal,
            (b'Z', 94) if d4 == Some(b'0') => Renal,
            (b'Z', 99) if d4 == Some(b'2') => Renal,
            (b'N', 3 | 5) if d4_in(b"234567") => Renal,
            (b'N', 18..=19) => Renal,
            (
                b'C',
                0..=26 | 30..=34 | 37..=41 | 43 | 45..=58 | 60..=76 | 81..=85 | 88 | 90..=97,
            ) => Malignancy,
            (b'I', 85) if d4_in(b"09") => SevereLiver,
            (b'I', 86) if d4 == Some(b'4') => SevereLiver,
            (b'I', 98) if d4 == Some(b'2') => SevereLiver,
            (b'K', 70) if d4 == Some(b'4') => SevereLiver,
            (b'K', 71) if d4 == Some(b'1') => SevereLiver,
            (b'K', 72) if d4_in(b"19") => SevereLiver,
            (b'K', 76) if d4_in(b"567") => SevereLiver,
            (b'C', 77..=80) => Metastatic,
            (b'B', 20..=22 | 24) => Hiv,
            _ => return None,
        })
    }
}

/// Diagnosis groups used as features (Strack et al. 2014, table 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DxGroup {
    /// ICD-9 390–459, 785; ICD-10 I, R00–R03.
    Circulatory,
    /// ICD-9 460–519, 786; ICD-10 J, R04–R09.
    Respiratory,
    /// ICD-9 520–579, 787; ICD-10 K, R10–R19.
    Digestive,
    /// ICD-9 250.xx; ICD-10 E08–E13.
    Diabetes,
    /// ICD-9 800–999; ICD-10 S, T00–T88.
    Injury,
    /// ICD-9 710–739; ICD-10 M.
    Musculoskeletal,
    /// ICD-9 580–629, 788; ICD-10 N, R30–R39.
    Genitourinary,
    /// ICD-9 140–239; ICD-10 C, D00–D49.
    Neoplasms,
    /// Everything else, including V and E codes.
    Other,
}

impl DxGroup {
    /// All groups in feature order.
    pub const ALL: [DxGroup; 9] = [
        DxGroup::Circulatory,
        DxGroup::Respiratory,
        DxGroup::Digestive,
        DxGroup::Diabetes,
        DxGroup::Injury,
        DxGroup::Musculoskeletal,
        DxGroup::Genitourinary,
        DxGroup::Neoplasms,
        DxGroup::Other,
    ];

    /// Index in [`DxGroup::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lower-case label for reasons and feature names.
    pub fn label(self) -> &'static str {
        match self {
            DxGroup::Circulatory => "circulatory",
            DxGroup::Respiratory => "respiratory",
            DxGroup::Digestive => "digestive",
            DxGroup::Diabetes => "diabetes",
            DxGroup::Injury => "injury",
            DxGroup::Musculoskeletal => "musculoskeletal",
            DxGroup::Genitourinary => "genitourinary",
            DxGroup::Neoplasms => "neoplasms",
            DxGroup::Other => "other",
        }
    }
}

/// The 17 Charlson conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Condition {
    /// Myocardial infarction.
    MyocardialInfarction,
    /// Congestive heart failure.
    CongestiveHeartFailure,
    /// Peripheral vascular disease.
    PeripheralVascular,
    /// Cerebrovascular disease.
    Cerebrovascular,
    /// Dementia.
    Dementia,
    /// Chronic pulmonary disease.
    ChronicPulmonary,
    /// Rheumatic / connective tissue disease.
    Rheumatic,
    /// Peptic ulcer disease.
    PepticUlcer,
    /// Mild liver disease.
    MildLiver,
    /// Diabetes without chronic complication.
    Diabetes,
    /// Diabetes with chronic complication.
    DiabetesComplicated,
    /// Hemiplegia or paraplegia.
    Hemiplegia,
    /// Moderate or severe renal disease.
    Renal,
    /// Any malignancy, including lymphoma and leukaemia.
    Malignancy,
    /// Moderate or severe liver disease.
    SevereLiver,
    /// Metastatic solid tumour.
    Metastatic,
    /// AIDS / HIV.
    Hiv,
}

impl Condition {
    /// All conditions in feature order.
    pub const ALL: [Condition; 17] = [
        Condition::MyocardialInfarction,
        Condition::CongestiveHeartFailure,
        Condition::PeripheralVascular,
        Condition::Cerebrovascular,
        Condition::Dementia,
        Condition::ChronicPulmonary,
        Condition::Rheumatic,
        Condition::PepticUlcer,
        Condition::MildLiver,
        Condition::Diabetes,
        Condition::DiabetesComplicated,
        Condition::Hemiplegia,
        Condition::Renal,
        Condition::Malignancy,
        Condition::SevereLiver,
        Condition::Metastatic,
        Condition::Hiv,
    ];

    /// Charlson 1987 weight.
    pub fn weight(self) -> u32 {
        match self {
            Condition::DiabetesComplicated
            | Condition::Hemiplegia
            | Condition::Renal
            | Condition::Malignancy => 2,
            Condition::SevereLiver => 3,
            Condition::Metastatic | Condition::Hiv => 6,
            _ => 1,
        }
    }

    /// Snake-case label for feature names and reasons.
    pub fn label(self) -> &'static str {
        match self {
            Condition::MyocardialInfarction => "myocardial_infarction",
            Condition::CongestiveHeartFailure => "heart_failure",
            Condition::PeripheralVascular => "peripheral_vascular",
            Condition::Cerebrovascular => "cerebrovascular",
            Condition::Dementia => "dementia",
            Condition::ChronicPulmonary => "chronic_pulmonary",
            Condition::Rheumatic => "rheumatic",
            Condition::PepticUlcer => "peptic_ulcer",
            Condition::MildLiver => "mild_liver",
            Condition::Diabetes => "diabetes",
            Condition::DiabetesComplicated => "diabetes_complicated",
            Condition::Hemiplegia => "hemiplegia",
            Condition::Renal => "renal",
            Condition::Malignancy => "malignancy",
            Condition::SevereLiver => "severe_liver",
            Condition::Metastatic => "metastatic",
            Condition::Hiv => "hiv",
        }
    }
}

/// A set of Charlson conditions (bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConditionSet(u32);

impl ConditionSet {
    /// No condition.
    pub const EMPTY: ConditionSet = ConditionSet(0);

    /// Adds a condition.
    pub fn insert(&mut self, c: Condition) {
        self.0 |= 1 << (c as u8);
    }

    /// Membership.
    pub fn contains(self, c: Condition) -> bool {
        self.0 & (1 << (c as u8)) != 0
    }

    /// The set of one condition.
    pub fn of(c: Condition) -> ConditionSet {
        ConditionSet(1 << (c as u8))
    }

    /// Union.
    pub fn union(self, other: ConditionSet) -> ConditionSet {
        ConditionSet(self.0 | other.0)
    }

    /// Applies the hierarchy: complicated diabetes cancels uncomplicated, severe liver cancels
    /// mild, metastatic cancels any malignancy.
    pub fn with_hierarchy(self) -> ConditionSet {
        let mut s = self;
        let clear = |s: &mut ConditionSet, c: Condition| s.0 &= !(1 << (c as u8));
        if s.contains(Condition::DiabetesComplicated) {
            clear(&mut s, Condition::Diabetes);
        }
        if s.contains(Condition::SevereLiver) {
            clear(&mut s, Condition::MildLiver);
        }
        if s.contains(Condition::Metastatic) {
            clear(&mut s, Condition::Malignancy);
        }
        s
    }

    /// Charlson index (1987 weights) of the set after the hierarchy.
    pub fn charlson_index(self) -> u32 {
        let s = self.with_hierarchy();
        Condition::ALL
            .iter()
            .filter(|c| s.contains(**c))
            .map(|c| c.weight())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i9(c: &str) -> DxCode {
        DxCode::from_dataset(c).unwrap()
    }
    fn i10(c: &str) -> DxCode {
        DxCode::new(c, CodingSystem::Icd10).unwrap()
    }
    fn idx(codes: &[DxCode]) -> u32 {
        codes
            .iter()
            .fold(ConditionSet::EMPTY, |s, c| s.union(c.charlson()))
            .charlson_index()
    }

    #[test]
    fn normalisation() {
        assert_eq!(i9("8").as_str(), "008");
        assert_eq!(i9("42").as_str(), "042");
        assert_eq!(i9("250").as_str(), "25000");
        assert_eq!(i9("250.1").as_str(), "25010");
        assert_eq!(i9("250.83").as_str(), "25083");
        assert_eq!(i9("V57").as_str(), "V57");
        assert_eq!(i9("E909").as_str(), "E909");
        assert_eq!(i9("428").to_dotted(), "428");
        assert_eq!(i9("250.83").to_dotted(), "250.83");
        assert_eq!(i10("i50.9").as_str(), "I509");
        assert_eq!(i10("E11.22").to_dotted(), "E11.22");
        assert!(DxCode::from_dataset("?").is_none());
        assert!(DxCode::new("4 28", CodingSystem::Icd9).is_none());
        assert!(DxCode::new("123456789", CodingSystem::Icd10).is_none());
        assert!(DxCode::new("428", CodingSystem::Other).is_none());
        assert!(!format!("{:?}", i9("428")).contains("428"));
    }

    #[test]
    fn groups() {
        assert_eq!(i9("428").group(), DxGroup::Circulatory);
        assert_eq!(i9("785").group(), DxGroup::Circulatory);
        assert_eq!(i9("486").group(), DxGroup::Respiratory);
        assert_eq!(i9("250.83").group(), DxGroup::Diabetes);
        assert_eq!(i9("996").group(), DxGroup::Injury);
        assert_eq!(i9("715").group(), DxGroup::Musculoskeletal);
        assert_eq!(i9("599").group(), DxGroup::Genitourinary);
        assert_eq!(i9("174").group(), DxGroup::Neoplasms);
        assert_eq!(i9("V57").group(), DxGroup::Other);
        assert_eq!(i9("8").group(), DxGroup::Other);
        assert_eq!(i10("I50.9").group(), DxGroup::Circulatory);
        assert_eq!(i10("J44.1").group(), DxGroup::Respiratory);
        assert_eq!(i10("E11.65").group(), DxGroup::Diabetes);
        assert_eq!(i10("E87.1").group(), DxGroup::Other);
        assert_eq!(i10("S72.001A").group(), DxGroup::Injury);
        assert_eq!(i10("T88.7").group(), DxGroup::Injury);
        assert_eq!(i10("M17.11").group(), DxGroup::Musculoskeletal);
        assert_eq!(i10("N39.0").group(), DxGroup::Genitourinary);
        assert_eq!(i10("C34.90").group(), DxGroup::Neoplasms);
        assert_eq!(i10("D50.9").group(), DxGroup::Other);
        assert_eq!(i10("R07.9").group(), DxGroup::Respiratory);
    }

    #[test]
    fn charlson_icd9_hand_computed() {
        // CHF (1) + complicated diabetes (2) + COPD (1) = 4.
        assert_eq!(idx(&[i9("428"), i9("250.43"), i9("496")]), 4);
        // Metastatic (6) cancels malignancy (2); renal 2 → 8.
        assert_eq!(idx(&[i9("197"), i9("162"), i9("585")]), 8);
        // Uncomplicated diabetes 250.00 (1) cancelled by complicated 250.6 (2) → 2.
        assert_eq!(idx(&[i9("250"), i9("250.6")]), 2);
        // HIV 042 stored as 42 → 6.
        assert_eq!(idx(&[i9("42")]), 6);
        // Category-level approximations: 443 → PVD, 572 → severe liver (3), 571 → mild (cancelled).
        assert_eq!(idx(&[i9("443"), i9("572"), i9("571")]), 4);
        // A full 443.0 (Raynaud) is not PVD; V codes score nothing.
        assert_eq!(
            idx(&[DxCode::new("443.0", CodingSystem::Icd9).unwrap(), i9("V57")]),
            0
        );
        // MI 410, stroke 434, dementia 290, ulcer 532, hemiplegia 342 → 1+1+1+1+2.
        assert_eq!(
            idx(&[i9("410"), i9("434"), i9("290"), i9("532"), i9("342")]),
            6
        );
        // 250.7 (peripheral circulatory) is uncomplicated under Deyo.
        assert_eq!(idx(&[i9("250.7")]), 1);
    }

    #[test]
    fn charlson_icd10_hand_computed() {
        // Same stay as the first ICD-9 case: I50.9 + E11.22 + J44.9 = 1 + 2 + 1.
        assert_eq!(idx(&[i10("I50.9"), i10("E11.22"), i10("J44.9")]), 4);
        assert_eq!(idx(&[i10("C78.00"), i10("C34.90"), i10("N18.6")]), 8);
        assert_eq!(idx(&[i10("E11.9"), i10("E11.65")]), 1);
        assert_eq!(idx(&[i10("B20")]), 6);
        assert_eq!(idx(&[i10("K70.30"), i10("K72.10")]), 3);
        assert_eq!(
            idx(&[
                i10("I21.4"),
                i10("I63.9"),
                i10("G30.9"),
                i10("K25.0"),
                i10("G81.90")
            ]),
            6
        );
        assert_eq!(idx(&[i10("Z95.1"), i10("E87.1")]), 0);
        assert_eq!(idx(&[i10("E08.21")]), 2);
    }

    /// The code lists as published, prefix by prefix (the implementation before the
    /// category match): the reference the match is checked against.
    mod published {
        use super::super::*;

        fn starts(c: &DxCode, prefix: &str) -> bool {
            c.as_str().starts_with(prefix)
        }

        fn starts_any(c: &DxCode, prefixes: &[&str]) -> bool {
            prefixes.iter().any(|p| starts(c, p))
        }

        pub fn group(c: &DxCode) -> DxGroup {
            match c.system {
                CodingSystem::Icd9 => group_icd9(c),
                CodingSystem::Icd10 => group_icd10(c),
                CodingSystem::Other => DxGroup::Other,
            }
        }

        fn group_icd9(c: &DxCode) -> DxGroup {
            if starts(c, "250") {
                return DxGroup::Diabetes;
            }
            match c.icd9_category() {
                Some(390..=459 | 785) => DxGroup::Circulatory,
                Some(460..=519 | 786) => DxGroup::Respiratory,
                Some(520..=579 | 787) => DxGroup::Digestive,
                Some(800..=999) => DxGroup::Injury,
                Some(710..=739) => DxGroup::Musculoskeletal,
                Some(580..=629 | 788) => DxGroup::Genitourinary,
                Some(140..=239) => DxGroup::Neoplasms,
                _ => DxGroup::Other,
            }
        }

        fn group_icd10(c: &DxCode) -> DxGroup {
            match c.icd10_category() {
                Some((b'E', 8..=13)) => DxGroup::Diabetes,
                Some((b'I', _)) | Some((b'R', 0..=3)) => DxGroup::Circulatory,
                Some((b'J', _)) | Some((b'R', 4..=9)) => DxGroup::Respiratory,
                Some((b'K', _)) | Some((b'R', 10..=19)) => DxGroup::Digestive,
                Some((b'S', _)) | Some((b'T', 0..=88)) => DxGroup::Injury,
                Some((b'M', _)) => DxGroup::Musculoskeletal,
                Some((b'N', _)) | Some((b'R', 30..=39)) => DxGroup::Genitourinary,
                Some((b'C', _)) | Some((b'D', 0..=49)) => DxGroup::Neoplasms,
                _ => DxGroup::Other,
            }
        }

        pub fn charlson(c: &DxCode) -> ConditionSet {
            match c.system {
                CodingSystem::Icd9 => charlson_icd9(c),
                CodingSystem::Icd10 => charlson_icd10(c),
                CodingSystem::Other => ConditionSet::EMPTY,
            }
        }

        fn charlson_icd9(c: &DxCode) -> ConditionSet {
            use Condition::*;
            let mut s = ConditionSet::EMPTY;
            let cat = c.icd9_category();
            let category_only = c.len == 3;
            let in_cat = |lo: u16, hi: u16| cat.is_some_and(|c| (lo..=hi).contains(&c));
            if in_cat(410, 410) || in_cat(412, 412) {
                s.insert(MyocardialInfarction);
            }
            if in_cat(428, 428) {
                s.insert(CongestiveHeartFailure);
            }
            if in_cat(441, 441)
                || starts_any(c, &["4439", "7854", "V434"])
                || (category_only && starts(c, "443"))
            {
                s.insert(PeripheralVascular);
            }
            if in_cat(430, 438) {
                s.insert(Cerebrovascular);
            }
            if in_cat(290, 290) {
                s.insert(Dementia);
            }
            if in_cat(490, 496) || in_cat(500, 505) || starts(c, "5064") {
                s.insert(ChronicPulmonary);
            }
            if starts_any(
                c,
                &["7100", "7101", "7104", "7140", "7141", "7142", "71481"],
            ) || in_cat(725, 725)
                || (category_only && (starts(c, "710") || starts(c, "714")))
            {
                s.insert(Rheumatic);
            }
            if in_cat(531, 534) {
                s.insert(PepticUlcer);
            }
            if starts_any(c, &["5712", "5714", "5715", "5716"])
                || (category_only && starts(c, "571"))
            {
                s.insert(MildLiver);
            }
            if starts_any(c, &["2500", "2501", "2502", "2503", "2507"]) {
                s.insert(Diabetes);
            }
            if starts_any(c, &["2504", "2505", "2506"]) {
                s.insert(DiabetesComplicated);
            }
            if in_cat(342, 342) || starts(c, "3441") {
                s.insert(Hemiplegia);
            }
            if in_cat(582, 582)
                || in_cat(585, 586)
                || in_cat(588, 588)
                || starts_any(
                    c,
                    &[
                        "5830", "5831", "5832", "5833", "5834", "5835", "5836", "5837",
                    ],
                )
                || (category_only && starts(c, "583"))
            {
                s.insert(Renal);
            }
            if in_cat(140, 172) || in_cat(174, 195) || in_cat(200, 208) {
                s.insert(Malignancy);
            }
            if starts_any(c, &["4560", "4561", "45620", "45621"])
                || starts_any(c, &["5722", "5723", "5724", "5725", "5726", "5727", "5728"])
                || (category_only && (starts(c, "456") || starts(c, "572")))
            {
                s.insert(SevereLiver);
            }
            if in_cat(196, 198)
                || starts_any(c, &["1990", "1991"])
                || (category_only && starts(c, "199"))
            {
                s.insert(Metastatic);
            }
            if in_cat(42, 44) {
                s.insert(Hiv);
            }
            s
        }

        fn charlson_icd10(c: &DxCode) -> ConditionSet {
            use Condition::*;
            let mut s = ConditionSet::EMPTY;
            let Some((letter, num)) = c.icd10_category() else {
                return s;
            };
            let is = |l: u8, lo: u16, hi: u16| letter == l && (lo..=hi).contains(&num);
            let fourth = c.bytes.get(3).copied().filter(|_| c.len > 3);
            if is(b'I', 21, 22) || starts(c, "I252") {
                s.insert(MyocardialInfarction);
            }
            if starts_any(c, &["I099", "I110", "I130", "I132", "I255", "I420", "P290"])
                || starts_any(c, &["I425", "I426", "I427", "I428", "I429"])
                || is(b'I', 43, 43)
                || is(b'I', 50, 50)
            {
                s.insert(CongestiveHeartFailure);
            }
            if is(b'I', 70, 71)
                || starts_any(c, &["I731", "I738", "I739", "I771", "I790", "I792"])
                || starts_any(c, &["K551", "K558", "K559", "Z958", "Z959"])
            {
                s.insert(PeripheralVascular);
            }
            if is(b'G', 45, 46) || starts(c, "H340") || is(b'I', 60, 69) {
                s.insert(Cerebrovascular);
            }
            if is(b'F', 0, 3) || starts_any(c, &["F051", "G311"]) || is(b'G', 30, 30) {
                s.insert(Dementia);
            }
            if starts_any(c, &["I278", "I279", "J684", "J701", "J703"])
                || is(b'J', 40, 47)
                || is(b'J', 60, 67)
            {
                s.insert(ChronicPulmonary);
            }
            if is(b'M', 5, 6)
                || is(b'M', 32, 34)
                || starts_any(c, &["M315", "M351", "M353", "M360"])
            {
                s.insert(Rheumatic);
            }
            if is(b'K', 25, 28) {
                s.insert(PepticUlcer);
            }
            if is(b'B', 18, 18)
                || starts_any(c, &["K700", "K701", "K702", "K703", "K709", "K713", "K714"])
                || starts_any(c, &["K715", "K717", "K760", "K762", "K763", "K764", "K768"])
                || starts_any(c, &["K769", "Z944"])
                || is(b'K', 73, 74)
            {
                s.insert(MildLiver);
            }
            // E10–E14 (WHO) plus E08, E09 (ICD-10-CM: drug- and condition-induced diabetes).
            if is(b'E', 8, 14) {
                match fourth {
                    Some(b'2'..=b'5' | b'7') => s.insert(DiabetesComplicated),
                    _ => s.insert(Diabetes),
                }
            }
            if starts_any(c, &["G041", "G114", "G801", "G802", "G830", "G831", "G832"])
                || starts_any(c, &["G833", "G834", "G839"])
                || is(b'G', 81, 82)
            {
                s.insert(Hemiplegia);
            }
            if starts_any(
                c,
                &[
                    "I120", "I131", "N250", "Z490", "Z491", "Z492", "Z940", "Z992",
                ],
            ) || starts_any(c, &["N032", "N033", "N034", "N035", "N036", "N037"])
                || starts_any(c, &["N052", "N053", "N054", "N055", "N056", "N057"])
                || is(b'N', 18, 19)
            {
                s.insert(Renal);
            }
            if is(b'C', 0, 26)
                || is(b'C', 30, 34)
                || is(b'C', 37, 41)
                || is(b'C', 43, 43)
                || is(b'C', 45, 58)
                || is(b'C', 60, 76)
                || is(b'C', 81, 85)
                || is(b'C', 88, 88)
                || is(b'C', 90, 97)
            {
                s.insert(Malignancy);
            }
            if starts_any(
                c,
                &[
                    "I850", "I859", "I864", "I982", "K704", "K711", "K721", "K729",
                ],
            ) || starts_any(c, &["K765", "K766", "K767"])
            {
                s.insert(SevereLiver);
            }
            if is(b'C', 77, 80) {
                s.insert(Metastatic);
            }
            if is(b'B', 20, 22) || is(b'B', 24, 24) {
                s.insert(Hiv);
            }
            s
        }
    }

    /// Every ICD-9 category (numeric, V, E, and letters in any position) and every ICD-10
    /// category, with no sub-category and with each 4th and 5th character: the category match
    /// gives exactly the published lists' conditions and groups.
    #[test]
    fn category_match_equals_published_lists() {
        let heads9 = (0..1000)
            .map(|c| format!("{c:03}"))
            .chain((0..100).map(|c| format!("V{c:02}")))
            .chain((0..1000).map(|c| format!("E{c:03}")))
            .chain(["4A3", "V4", "25", "7"].map(String::from));
        let heads10 =
            (b'A'..=b'Z').flat_map(|l| (0..100).map(move |c| format!("{}{c:02}", l as char)));
        let d4 = [
            "", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "X",
        ];
        let mut checked = 0;
        for (system, head) in heads9
            .map(|h| (CodingSystem::Icd9, h))
            .chain(heads10.map(|h| (CodingSystem::Icd10, h)))
        {
            for a in d4 {
                let d5: &[&str] = if a.is_empty() {
                    &[""]
                } else if system == CodingSystem::Icd9 {
                    &d4
                } else {
                    &["", "0", "1"]
                };
                for b in d5 {
                    let code = DxCode::new(&format!("{head}.{a}{b}"), system).unwrap();
                    assert_eq!(
                        code.charlson(),
                        published::charlson(&code),
                        "{}",
                        code.as_str()
                    );
                    assert_eq!(code.group(), published::group(&code), "{}", code.as_str());
                    checked += 1;
                }
            }
        }
        assert!(checked > 150_000, "{checked}");
    }
}
