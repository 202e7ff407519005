//! Code tables: the UCI Diabetes-130 dataset ids ↔ HL7 v2 / UB-04 codes (DOMAIN.md §4.1), and
//! the groupings the model uses (admission type, admit source, disposition, sex, age, race).
//!
//! Every dataset id type has `from_hl7` (what the stream processor parses out of PV1-4, PV1-14,
//! PV1-36, PID-8, PID-10) and `to_hl7` (what the simulator emits). For every id that has its own
//! HL7 code the two are inverses; the ids that **collapse** onto another id's code are listed in
//! each type's docs and in [`AdmitSource::COLLAPSED`] / [`Disposition::COLLAPSED`]. The three
//! "missing" flavours of each table are kept distinct wherever HL7 can tell them apart:
//!
//! | table | ids | HL7 |
//! |---|---|---|
//! | admission type | 5 not available / 6 NULL / 8 not mapped | `9` / empty / any other code |
//! | admit source | 9 (= 15) not available / 17 NULL / 20 not mapped / 21 invalid | `9` / empty / other code / `?` |
//! | disposition | 18 NULL / 25 not mapped / 26 invalid | empty / `69`, `21`, other code / `?` |
//!
//! Parsing is infallible: an unknown code maps to the table's "not mapped" id, and a code with
//! characters no code system uses (anything but ASCII letters and digits) to "unknown/invalid".

/// Trims, and reports whether a code is a plausible code (ASCII alphanumerics only).
fn clean(code: &str) -> (&str, bool) {
    let c = code.trim();
    let ok = c.bytes().all(|b| b.is_ascii_alphanumeric());
    (c, ok)
}

/// Dataset `admission_type_id` (1–8). HL7 PV1-4, table 0007.
///
/// Emitted codes: 1 `E`, 2 `U`, 3 `C`, 4 `N`, 5 `9` (UB-04 "information not available"),
/// 6 empty, 7 `5` (UB-04 trauma), 8 `A` (an HL7 code the dataset has no id for, hence
/// "not mapped"). Parsed: `E`/`1`→1, `U`/`2`→2, `C`/`R`/`3`→3 (`R` routine is what pre-2.4 feeds
/// send for elective), `N`/`4`→4, `9`→5, empty→6, `5`/`T`→7, anything else→8. No id collapses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AdmissionType(u8);

/// Grouping of admission types used as features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdmissionTypeGroup {
    /// Emergency (1) or trauma centre (7).
    Emergency,
    /// Urgent (2).
    Urgent,
    /// Elective (3).
    Elective,
    /// Newborn and the missing / unmapped ids.
    Other,
}

impl AdmissionType {
    /// All dataset ids.
    pub const ALL_IDS: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    /// Builds from a dataset id; `None` when the id is not in the dataset's table.
    pub fn from_id(id: u8) -> Option<Self> {
        (1..=8).contains(&id).then_some(Self(id))
    }

    /// The dataset id.
    pub fn id(self) -> u8 {
        self.0
    }

    /// Parses PV1-4 (component 1).
    pub fn from_hl7(code: &str) -> Self {
        let (c, _) = clean(code);
        let id = match c.to_ascii_uppercase().as_str() {
            "E" | "1" => 1,
            "U" | "2" => 2,
            "C" | "R" | "3" => 3,
            "N" | "4" => 4,
            "9" => 5,
            "" => 6,
            "5" | "T" => 7,
            _ => 8,
        };
        Self(id)
    }

    /// The PV1-4 code the simulator emits for this id.
    pub fn to_hl7(self) -> &'static str {
        match self.0 {
            1 => "E",
            2 => "U",
            3 => "C",
            4 => "N",
            5 => "9",
            6 => "",
            7 => "5",
            _ => "A",
        }
    }

    /// True for the newborn admission type (changes how PV1-14 is read).
    pub fn is_newborn(self) -> bool {
        self.0 == 4
    }

    /// Feature grouping.
    pub fn group(self) -> AdmissionTypeGroup {
        match self.0 {
            1 | 7 => AdmissionTypeGroup::Emergency,
            2 => AdmissionTypeGroup::Urgent,
            3 => AdmissionTypeGroup::Elective,
            _ => AdmissionTypeGroup::Other,
        }
    }
}

/// Dataset `admission_source_id` (1–26, no 16). HL7 PV1-14 as UB-04 point of origin.
///
/// When the admission type is newborn, PV1-14 `1`–`4` are read as ids 11–14 and `5`/`6` as
/// 23/24 (DOMAIN §4.1). Collapsing ids: 15 ("not available", n = 0) is emitted as `9` and reads
/// back as 9. Dataset rows with a newborn admission type but a non-newborn origin 1–6 (5 rows)
/// read back as the newborn ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AdmitSource(u8);

/// Grouping of admit sources used as features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdmitSourceGroup {
    /// Physician, clinic or HMO referral (1, 2, 3).
    Referral,
    /// From another facility (4, 5, 6, 10, 22, 25, 26).
    Transfer,
    /// Emergency room (7).
    EmergencyRoom,
    /// Everything else (court, newborn, home health, missing).
    Other,
}

impl AdmitSource {
    /// All dataset ids (16 is unused).
    pub const ALL_IDS: [u8; 25] = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    ];
    /// Ids that have no HL7 code of their own: (id, id it reads back as).
    pub const COLLAPSED: [(u8, u8); 1] = [(15, 9)];

    /// Builds from a dataset id; `None` when the id is not in the dataset's table.
    pub fn from_id(id: u8) -> Option<Self> {
        Self::ALL_IDS.contains(&id).then_some(Self(id))
    }

    /// The dataset id.
    pub fn id(self) -> u8 {
        self.0
    }

    /// Ids that belong to newborn admissions.
    pub fn is_newborn_id(self) -> bool {
        matches!(self.0, 11..=14 | 23 | 24)
    }

    /// Parses PV1-14 (component 1); `admission` is the same message's PV1-4.
    pub fn from_hl7(code: &str, admission: AdmissionType) -> Self {
        let (c, ok) = clean(code);
        if !ok {
            return Self(21);
        }
        let up = c.to_ascii_uppercase();
        if admission.is_newborn() {
            match up.as_str() {
                "1" => return Self(11),
                "2" => return Self(12),
                "3" => return Self(13),
                "4" => return Self(14),
                "5" => return Self(23),
                "6" => return Self(24),
                _ => {}
            }
        }
        let id = match up.as_str() {
            "1" => 1,
            "2" => 2,
            "3" => 3,
            "4" => 4,
            "5" => 5,
            "6" => 6,
            "7" => 7,
            "8" => 8,
            "9" => 9,
            "A" => 10,
            "" => 17,
            "B" => 18,
            "C" => 19,
            "D" => 22,
            "E" => 25,
            "F" => 26,
            _ => 20,
        };
        Self(id)
    }

    /// The PV1-14 code the simulator emits (id 20 "not mapped" → `X`, a local code; id 21
    /// "unknown/invalid" → `?`, which no code system uses).
    pub fn to_hl7(self) -> &'static str {
        match self.0 {
            1 | 11 => "1",
            2 | 12 => "2",
            3 | 13 => "3",
            4 | 14 => "4",
            5 | 23 => "5",
            6 | 24 => "6",
            7 => "7",
            8 => "8",
            9 | 15 => "9",
            10 => "A",
            17 => "",
            18 => "B",
            19 => "C",
            20 => "X",
            22 => "D",
            25 => "E",
            26 => "F",
            _ => "?",
        }
    }

    /// Feature grouping.
    pub fn group(self) -> AdmitSourceGroup {
        match self.0 {
            1..=3 => AdmitSourceGroup::Referral,
            4..=6 | 10 | 22 | 25 | 26 => AdmitSourceGroup::Transfer,
            7 => AdmitSourceGroup::EmergencyRoom,
            _ => AdmitSourceGroup::Other,
        }
    }
}

/// Dataset `discharge_disposition_id` (1–30). HL7 PV1-36 as UB-04 patient discharge status.
///
/// Codes 81–95 (same destination with a planned acute readmission) parse as their base code.
/// One-digit numeric codes are read zero-padded (`1` = `01`). Collapsing ids: 10 (neonate to
/// another hospital) is emitted as `02` and reads back as 2. Id 25 "not mapped" is emitted as
/// `69` and also covers `21` (court/law enforcement), `87` and any local code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Disposition(u8);

/// Grouping of dispositions used as features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DispositionGroup {
    /// Home / self-care (1).
    Home,
    /// Home with home health or home IV provider (6, 8).
    HomeHealth,
    /// SNF, ICF, swing bed, rehab, long-term care, Medicaid nursing facility (3, 4, 15, 22, 23, 24).
    PostAcute,
    /// Another hospital: acute, other inpatient, federal, psychiatric, critical access
    /// (2, 5, 10, 27, 28, 29).
    OtherHospital,
    /// Left against medical advice (7).
    LeftAgainstAdvice,
    /// Everything else (still patient, outpatient referrals, missing, unmapped).
    Other,
    /// Death or hospice (11, 13, 14, 19, 20, 21): excluded from modelling.
    DeathOrHospice,
}

impl Disposition {
    /// All dataset ids.
    pub const ALL_IDS: [u8; 30] = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
        26, 27, 28, 29, 30,
    ];
    /// Ids that have no HL7 code of their own: (id, id it reads back as).
    pub const COLLAPSED: [(u8, u8); 1] = [(10, 2)];
    /// Ids excluded from training and alerting (death, hospice).
    pub const EXCLUDED_IDS: [u8; 6] = [11, 13, 14, 19, 20, 21];
    /// Ids whose acute care continues elsewhere or here, so the discharge is not an index
    /// discharge to the community: transfer to another short-term hospital (2; UB-04 02 and
    /// its planned-readmission variant 82), neonate to another hospital (10, sent as 02) and
    /// still a patient (12; UB-04 30). The final discharge of the chain is the index.
    pub const CONTINUED_CARE_IDS: [u8; 3] = [2, 10, 12];

    /// Builds from a dataset id; `None` when the id is not in the dataset's table.
    pub fn from_id(id: u8) -> Option<Self> {
        (1..=30).contains(&id).then_some(Self(id))
    }

    /// The dataset id.
    pub fn id(self) -> u8 {
        self.0
    }

    /// Parses PV1-36 (component 1).
    pub fn from_hl7(code: &str) -> Self {
        let (c, ok) = clean(code);
        if !ok {
            return Self(26);
        }
        if c.is_empty() {
            return Self(18);
        }
        let n: u32 = match c.parse() {
            Ok(n) if c.len() <= 2 => n,
            _ => return Self(25),
        };
        // 81–95: planned acute readmission to the same destination as the base code.
        let base = match n {
            81 => 1,
            82 => 2,
            83 => 3,
            84 => 4,
            85 => 5,
            86 => 6,
            87 => 21,
            88 => 43,
            89 => 61,
            90 => 62,
            91 => 63,
            92 => 64,
            93 => 65,
            94 => 66,
            95 => 70,
            other => other,
        };
        let id = match base {
            1..=9 => base as u8,
            20 => 11,
            30 => 12,
            50 => 13,
            51 => 14,
            61 => 15,
            71 => 16,
            72 => 17,
            40 => 19,
            41 => 20,
            42 => 21,
            62 => 22,
            63 => 23,
            64 => 24,
            43 => 27,
            65 => 28,
            66 => 29,
            70 => 30,
            _ => 25,
        };
        Self(id)
    }

    /// The PV1-36 code the simulator emits (26 "unknown/invalid" → `?`).
    pub fn to_hl7(self) -> &'static str {
        match self.0 {
            1 => "01",
            2 | 10 => "02",
            3 => "03",
            4 => "04",
            5 => "05",
            6 => "06",
            7 => "07",
            8 => "08",
            9 => "09",
            11 => "20",
            12 => "30",
            13 => "50",
            14 => "51",
            15 => "61",
            16 => "71",
            17 => "72",
            18 => "",
            19 => "40",
            20 => "41",
            21 => "42",
            22 => "62",
            23 => "63",
            24 => "64",
            25 => "69",
            27 => "43",
            28 => "65",
            29 => "66",
            30 => "70",
            _ => "?",
        }
    }

    /// True for death / hospice dispositions, which are not index discharges.
    pub fn is_excluded(self) -> bool {
        Self::EXCLUDED_IDS.contains(&self.0)
    }

    /// True for transfers to another acute hospital and "still a patient"
    /// ([`Self::CONTINUED_CARE_IDS`]), which are not index discharges.
    pub fn is_continued_care(self) -> bool {
        Self::CONTINUED_CARE_IDS.contains(&self.0)
    }

    /// The one eligibility rule for index discharges, used by training, evaluation, the
    /// simulator's manifest and the stream: neither death/hospice nor continued acute care.
    pub fn is_index(self) -> bool {
        !self.is_excluded() && !self.is_continued_care()
    }

    /// Feature grouping.
    pub fn group(self) -> DispositionGroup {
        match self.0 {
            1 => DispositionGroup::Home,
            6 | 8 => DispositionGroup::HomeHealth,
            3 | 4 | 15 | 22 | 23 | 24 => DispositionGroup::PostAcute,
            2 | 5 | 10 | 27 | 28 | 29 => DispositionGroup::OtherHospital,
            7 => DispositionGroup::LeftAgainstAdvice,
            11 | 13 | 14 | 19 | 20 | 21 => DispositionGroup::DeathOrHospice,
            _ => DispositionGroup::Other,
        }
    }
}

/// Administrative sex (dataset `gender`, HL7 PID-8 table 0001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `Female` / `F`.
    Female,
    /// `Male` / `M`.
    Male,
    /// `Unknown/Invalid` / any other PID-8 value (O, U, A, N, empty).
    Unknown,
}

impl Sex {
    /// Parses PID-8 (component 1).
    pub fn from_hl7(code: &str) -> Self {
        match code.trim() {
            "F" | "f" => Sex::Female,
            "M" | "m" => Sex::Male,
            _ => Sex::Unknown,
        }
    }

    /// The PID-8 code to emit.
    pub fn to_hl7(self) -> &'static str {
        match self {
            Sex::Female => "F",
            Sex::Male => "M",
            Sex::Unknown => "U",
        }
    }

    /// Parses the dataset's `gender` column.
    pub fn from_dataset(s: &str) -> Self {
        match s {
            "Female" => Sex::Female,
            "Male" => Sex::Male,
            _ => Sex::Unknown,
        }
    }
}

/// Race, for subgroup reporting only (never a model input). Dataset `race`; HL7 PID-10 with
/// CDC race codes (Hispanic comes from PID-22 in real feeds; the simulator puts 2135-2 in PID-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Race {
    /// `Caucasian` / 2106-3.
    Caucasian,
    /// `AfricanAmerican` / 2054-5.
    AfricanAmerican,
    /// `Hispanic` / 2135-2.
    Hispanic,
    /// `Asian` / 2028-9.
    Asian,
    /// `Other` / 2131-1 and any other code.
    Other,
    /// `?` / empty.
    Unknown,
}

impl Race {
    /// All values, in reporting order.
    pub const ALL: [Race; 6] = [
        Race::Caucasian,
        Race::AfricanAmerican,
        Race::Hispanic,
        Race::Asian,
        Race::Other,
        Race::Unknown,
    ];

    /// Parses the dataset's `race` column.
    pub fn from_dataset(s: &str) -> Self {
        match s {
            "Caucasian" => Race::Caucasian,
            "AfricanAmerican" => Race::AfricanAmerican,
            "Hispanic" => Race::Hispanic,
            "Asian" => Race::Asian,
            "Other" => Race::Other,
            _ => Race::Unknown,
        }
    }

    /// Parses PID-10 (component 1).
    pub fn from_hl7(code: &str) -> Self {
        match code.trim() {
            "2106-3" => Race::Caucasian,
            "2054-5" => Race::AfricanAmerican,
            "2135-2" => Race::Hispanic,
            "2028-9" => Race::Asian,
            "" => Race::Unknown,
            _ => Race::Other,
        }
    }

    /// The PID-10 code to emit.
    pub fn to_hl7(self) -> &'static str {
        match self {
            Race::Caucasian => "2106-3",
            Race::AfricanAmerican => "2054-5",
            Race::Hispanic => "2135-2",
            Race::Asian => "2028-9",
            Race::Other => "2131-1",
            Race::Unknown => "",
        }
    }

    /// Label used in reports.
    pub fn label(self) -> &'static str {
        match self {
            Race::Caucasian => "Caucasian",
            Race::AfricanAmerican => "AfricanAmerican",
            Race::Hispanic => "Hispanic",
            Race::Asian => "Asian",
            Race::Other => "Other",
            Race::Unknown => "Unknown",
        }
    }
}

/// Age in decades: 0 = `[0-10)` … 9 = `[90-100)` (90 and over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgeDecade(u8);

impl AgeDecade {
    /// From a decade index; values above 9 are clamped to 9 (90+).
    pub fn new(decade: u8) -> Self {
        Self(decade.min(9))
    }

    /// From an age in whole years.
    pub fn from_years(years: u32) -> Self {
        Self::new(u8::try_from(years / 10).unwrap_or(9))
    }

    /// Parses the dataset band, e.g. `[70-80)`.
    pub fn from_dataset(band: &str) -> Option<Self> {
        let inner = band.strip_prefix('[')?.strip_suffix(')')?;
        let (lo, _) = inner.split_once('-')?;
        let lo: u32 = lo.parse().ok()?;
        Some(Self::from_years(lo))
    }

    /// The decade index.
    pub fn decade(self) -> u8 {
        self.0
    }

    /// Lower bound of the band in years.
    pub fn lower_years(self) -> u32 {
        u32::from(self.0) * 10
    }
}

/// Coding system of a diagnosis (DG1-3.3, HL7 table 0396).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodingSystem {
    /// ICD-9-CM (`I9`, `I9C`, `I9CDX`, `ICD9`, `ICD9CM`, `I9CM`).
    Icd9,
    /// ICD-10-CM (`I10`, `I10C`, `ICD10`, `ICD10CM`, `I10CM`).
    Icd10,
    /// Anything else (SNOMED, ICD-10-PCS, local, free text): counted, never coded.
    Other,
}

impl CodingSystem {
    /// Parses DG1-3.3.
    pub fn from_hl7(system: &str) -> Self {
        match system.trim().to_ascii_uppercase().as_str() {
            "I9" | "I9C" | "I9CDX" | "ICD9" | "ICD9CM" | "ICD-9-CM" | "I9CM" => CodingSystem::Icd9,
            "I10" | "I10C" | "ICD10" | "ICD10CM" | "ICD-10-CM" | "I10CM" => CodingSystem::Icd10,
            _ => CodingSystem::Other,
        }
    }

    /// The DG1-3.3 value to emit.
    pub fn to_hl7(self) -> &'static str {
        match self {
            CodingSystem::Icd9 => "I9C",
            CodingSystem::Icd10 => "I10",
            CodingSystem::Other => "L",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_type_round_trips_every_id() {
        for id in AdmissionType::ALL_IDS {
            let t = AdmissionType::from_id(id).unwrap();
            assert_eq!(AdmissionType::from_hl7(t.to_hl7()).id(), id, "id {id}");
        }
        assert_eq!(AdmissionType::from_hl7("R").id(), 3);
        assert_eq!(AdmissionType::from_hl7(" e ").id(), 1);
        assert_eq!(AdmissionType::from_hl7("L").id(), 8);
        assert_eq!(AdmissionType::from_hl7("T").id(), 7);
        assert!(AdmissionType::from_id(0).is_none());
        assert!(AdmissionType::from_id(9).is_none());
    }

    #[test]
    fn admit_source_round_trips_every_id_except_documented_collapses() {
        let newborn = AdmissionType::from_id(4).unwrap();
        let emergency = AdmissionType::from_id(1).unwrap();
        for id in AdmitSource::ALL_IDS {
            let s = AdmitSource::from_id(id).unwrap();
            let adm = if s.is_newborn_id() {
                newborn
            } else {
                emergency
            };
            let back = AdmitSource::from_hl7(s.to_hl7(), adm).id();
            let expected = AdmitSource::COLLAPSED
                .iter()
                .find(|(from, _)| *from == id)
                .map_or(id, |(_, to)| *to);
            assert_eq!(back, expected, "id {id}");
        }
        // The newborn rule.
        assert_eq!(AdmitSource::from_hl7("1", newborn).id(), 11);
        assert_eq!(AdmitSource::from_hl7("6", newborn).id(), 24);
        assert_eq!(AdmitSource::from_hl7("7", newborn).id(), 7);
        assert_eq!(AdmitSource::from_hl7("1", emergency).id(), 1);
        assert_eq!(AdmitSource::from_hl7("ZZ", emergency).id(), 20);
        assert_eq!(AdmitSource::from_hl7("1^x", emergency).id(), 21);
        assert!(AdmitSource::from_id(16).is_none());
    }

    #[test]
    fn disposition_round_trips_every_id_except_documented_collapses() {
        for id in Disposition::ALL_IDS {
            let d = Disposition::from_id(id).unwrap();
            let back = Disposition::from_hl7(d.to_hl7()).id();
            let expected = Disposition::COLLAPSED
                .iter()
                .find(|(from, _)| *from == id)
                .map_or(id, |(_, to)| *to);
            assert_eq!(back, expected, "id {id}");
        }
    }

    #[test]
    fn disposition_planned_readmission_codes_map_to_base() {
        assert_eq!(Disposition::from_hl7("81").id(), 1);
        assert_eq!(Disposition::from_hl7("82").id(), 2);
        assert_eq!(Disposition::from_hl7("86").id(), 6);
        assert_eq!(Disposition::from_hl7("87").id(), 25);
        assert_eq!(Disposition::from_hl7("88").id(), 27);
        assert_eq!(Disposition::from_hl7("90").id(), 22);
        assert_eq!(Disposition::from_hl7("95").id(), 30);
        assert_eq!(Disposition::from_hl7("1").id(), 1);
        assert_eq!(Disposition::from_hl7("21").id(), 25);
        assert_eq!(Disposition::from_hl7("HOME").id(), 25);
        assert_eq!(Disposition::from_hl7("").id(), 18);
        assert_eq!(Disposition::from_hl7("0 1").id(), 26);
    }

    #[test]
    fn exclusions_and_groups() {
        let excluded: Vec<u8> = Disposition::ALL_IDS
            .into_iter()
            .filter(|&id| Disposition::from_id(id).unwrap().is_excluded())
            .collect();
        assert_eq!(excluded, vec![11, 13, 14, 19, 20, 21]);
        let not_index: Vec<u8> = Disposition::ALL_IDS
            .into_iter()
            .filter(|&id| !Disposition::from_id(id).unwrap().is_index())
            .collect();
        assert_eq!(not_index, vec![2, 10, 11, 12, 13, 14, 19, 20, 21]);
        for code in ["02", "82", "30", "20", "40", "41", "42", "50", "51"] {
            assert!(!Disposition::from_hl7(code).is_index(), "{code}");
        }
        for code in ["01", "03", "05", "06", "07", "43", "62", "81", ""] {
            assert!(Disposition::from_hl7(code).is_index(), "{code}");
        }
        let g = |id| Disposition::from_id(id).unwrap().group();
        assert_eq!(g(1), DispositionGroup::Home);
        assert_eq!(g(6), DispositionGroup::HomeHealth);
        assert_eq!(g(3), DispositionGroup::PostAcute);
        assert_eq!(g(22), DispositionGroup::PostAcute);
        assert_eq!(g(2), DispositionGroup::OtherHospital);
        assert_eq!(g(7), DispositionGroup::LeftAgainstAdvice);
        assert_eq!(g(18), DispositionGroup::Other);
        let a = |id| AdmissionType::from_id(id).unwrap().group();
        assert_eq!(a(7), AdmissionTypeGroup::Emergency);
        assert_eq!(a(5), AdmissionTypeGroup::Other);
        let s = |id| AdmitSource::from_id(id).unwrap().group();
        assert_eq!(s(2), AdmitSourceGroup::Referral);
        assert_eq!(s(6), AdmitSourceGroup::Transfer);
        assert_eq!(s(7), AdmitSourceGroup::EmergencyRoom);
        assert_eq!(s(17), AdmitSourceGroup::Other);
    }

    #[test]
    fn sex_race_age() {
        for s in [Sex::Female, Sex::Male, Sex::Unknown] {
            assert_eq!(Sex::from_hl7(s.to_hl7()), s);
        }
        for r in Race::ALL {
            assert_eq!(Race::from_hl7(r.to_hl7()), r);
            assert_eq!(Race::from_dataset(r.label()), r);
        }
        assert_eq!(Race::from_dataset("?"), Race::Unknown);
        assert_eq!(AgeDecade::from_dataset("[70-80)").unwrap().decade(), 7);
        assert_eq!(AgeDecade::from_dataset("[90-100)").unwrap().decade(), 9);
        assert_eq!(AgeDecade::from_dataset("[0-10)").unwrap().decade(), 0);
        assert!(AgeDecade::from_dataset("70").is_none());
        assert_eq!(AgeDecade::from_years(104).decade(), 9);
        assert_eq!(CodingSystem::from_hl7("I9C"), CodingSystem::Icd9);
        assert_eq!(CodingSystem::from_hl7("i10"), CodingSystem::Icd10);
        assert_eq!(CodingSystem::from_hl7("I10P"), CodingSystem::Other);
    }
}
