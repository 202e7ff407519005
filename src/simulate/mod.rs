//! `readmit simulate`: UCI Diabetes-130 encounters → realistic HL7 v2.5 ADT streams, per patient
//! and in time order — the input of the demo, the parity test and the load tests.
//!
//! [`Simulator::new`] takes dataset rows ([`DatasetRow`]) and a [`SimConfig`];
//! [`Simulator::records`] yields [`SimRecord`]s (Kafka key + one ER7 message) in emission order.
//!
//! # What is generated per dataset encounter (the "index" encounter)
//!
//! 1. The prior year, dated before the index admission `T` so that a history built from the
//!    stream holds exactly the row's counts in the 365 days before `T`:
//!    `number_outpatient` A04 (PV1-2 `O`) spread over `T`−360 d … `T`−1 d;
//!    `number_inpatient` A01 + A03 stays (PV1-2 `I`, 1–5 days, never overlapping) admitted
//!    `T`−360 d … `T`−2 d and discharged before `T`; `number_emergency` A04 (PV1-2 `E`) within
//!    `T`−180 d … `T`−1 d (inside LACE's 6-month window, so the 6-month ED count equals
//!    `number_emergency`, as the dataset features assume). Their visit numbers are
//!    `P<encounter_id>-<n>`.
//! 2. The index A01 and A03 (visit number PV1-19 = `encounter_id`): see [the field list](#fields).
//! 3. For `<30` a readmission A01 (class `I`) 3–28 days after the index discharge, for `>30`
//!    31–90 days after it, each with its A03 (visit number `R<encounter_id>`); none for `NO`.
//!
//! # Dates
//!
//! All times are the sender's local clock without offset. A patient's first index admission is
//! on 2016-01-01 plus 0–729 days (drawn from the seed and `patient_nbr`), admitted 06:00–20:59;
//! their later encounters (in `encounter_id` order) are admitted exactly 800 days apart, so no
//! encounter's messages fall inside another's 12-month history window or 30-day outcome window.
//! (A patient with 40 encounters therefore reaches the 2100s; the dataset has no dates.)
//!
//! # Fields
//!
//! PID-3 `<patient_nbr>^^^<authority>^MR` (authority default `READMIT_SIM`); PID-5 a clearly
//! fake name from fixed lists; PID-7 a birth date putting the age at every discharge of the
//! patient inside the row's age band (one date per patient when the bands allow it, else one per
//! encounter), at least 15 days from a band edge; PID-8 `F`/`M`/`U`; PID-10 CDC race code
//! ([`Race::to_hl7`](crate::features::codes::Race::to_hl7)); PID-11 street, city, state, ZIP (.5) and county FIPS (.9) from
//! [`SimConfig::areas`], one per patient; MSH-4 and PV1-3.4 a facility from
//! [`SimConfig::facilities`], one per patient; PV1-4 / PV1-14 / PV1-36 via
//! [`AdmissionType::to_hl7`](crate::features::codes::AdmissionType::to_hl7) /
//! [`AdmitSource::to_hl7`](crate::features::codes::AdmitSource::to_hl7) /
//! [`Disposition::to_hl7`](crate::features::codes::Disposition::to_hl7); PV1-44 and
//! PV1-45 whose dates are exactly `time_in_hospital` days apart; DG1: max(`number_diagnoses`,
//! coded diagnoses) segments, DG1-15 priorities 1..n, `diag_1..3` at priorities 1..3 as dotted
//! ICD-9-CM (`code^^I9C`; `?` gives a DG1 with an empty code, as do priorities above 3); PR1:
//! `num_procedures` segments with generic ICD-9-CM procedure codes. Every text value goes
//! through [`crate::hl7::escape`].
//!
//! # Order, keys and control IDs
//!
//! Patients are emitted one after another in ascending `patient_nbr` order (after the split
//! filter; [`SimConfig::max_patients`] keeps the first N), each patient's messages in event-time
//! order. The record key is the patient's MRN (PID-3.1), also for the messages of the synthetic
//! duplicate record an A40 merges (so a keyed stream puts both records in one partition).
//! MSH-10 is 16 hex digits from a keyed bijection of (`patient_nbr`, sequence): unique, stable,
//! and not the MRN. The base stream (everything but sprinkles and malformed records) is the same
//! bytes whatever `sprinkle` and `malformed` are set to: they draw from their own random streams
//! and their own control-ID ranges.
//!
//! # Sprinkles and malformed records
//!
//! With [`SimConfig::sprinkle`] = f, each index encounter independently gets, each with
//! probability f: an A08 repeating the index A03's content; an exact copy of one of its messages
//! (same MSH-10) right after the original; an A13 cancelling the index discharge followed by a
//! re-sent A03 (same content, new MSH-10); and, when it has an ED visit, a duplicate patient
//! record: the first ED visit is registered under a second MRN (`D<patient_nbr>`) and an A40
//! merges that record into the real one before the index admission, so the merged history
//! counts the same as the dataset. None of these changes the index features.
//!
//! With [`SimConfig::malformed`] = f, after each real message a malformed record follows with
//! probability f ([`MalformedKind`]). Malformed records are extra records; the real stream is
//! unchanged.

mod calendar;
mod dataset;
mod generate;
mod icd;
mod malformed;
mod manifest;

use std::collections::BTreeMap;
use std::fmt;

pub use dataset::load_rows;
pub use manifest::{IndexEncounter, MalformedEntry, Manifest, ManifestBuilder};

use crate::features::dataset::DatasetRow;

/// Errors of the simulator: configuration, dataset rows, loading. Never carries field values.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is unusable.
    #[error("simulator setting {field} is invalid: {reason}")]
    Config {
        /// The setting.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A dataset row holds a value the simulator cannot emit.
    #[error("dataset row {row} column {column}: {reason}")]
    Row {
        /// 0-based position in the rows given to [`Simulator::new`].
        row: usize,
        /// The column.
        column: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The dataset file could not be read.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A CSV record of the dataset file does not have the expected columns.
    #[error("dataset file {path} line {line}: record does not match the expected columns")]
    Csv {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
    },
    /// The dataset file holds no records.
    #[error(
        "dataset file {path} holds no records (expected the Diabetes-130 CSV, diabetic_data.csv or .csv.gz)"
    )]
    Empty {
        /// The file.
        path: String,
    },
}

/// Which patients to simulate (`test` = `patient_nbr % 5 == 0`, the training code's split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitChoice {
    /// `patient_nbr % 5 != 0`.
    Train,
    /// `patient_nbr % 5 == 0`.
    Test,
    /// Every patient.
    #[default]
    All,
}

impl SplitChoice {
    /// Whether a patient belongs to the chosen split.
    pub fn contains(self, patient_nbr: u64) -> bool {
        match self {
            SplitChoice::Train => !patient_nbr.is_multiple_of(5),
            SplitChoice::Test => patient_nbr.is_multiple_of(5),
            SplitChoice::All => true,
        }
    }
}

/// A patient address area: PID-11 city (.3), state (.4), ZIP (.5), county FIPS (.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// ZIP code.
    pub zip: String,
    /// County FIPS code (5 digits).
    pub county: String,
    /// City.
    pub city: String,
    /// State (2 letters).
    pub state: String,
}

impl Area {
    /// Builds an area.
    pub fn new(zip: &str, county: &str, city: &str, state: &str) -> Self {
        Self {
            zip: zip.to_string(),
            county: county.to_string(),
            city: city.to_string(),
            state: state.to_string(),
        }
    }

    /// The default areas: six ZIP/county pairs in three regions (Baltimore MD, Cleveland OH,
    /// Austin TX).
    pub fn defaults() -> Vec<Area> {
        vec![
            Area::new("21201", "24510", "Baltimore", "MD"),
            Area::new("21204", "24005", "Towson", "MD"),
            Area::new("44106", "39035", "Cleveland", "OH"),
            Area::new("44060", "39085", "Mentor", "OH"),
            Area::new("78701", "48453", "Austin", "TX"),
            Area::new("78664", "48491", "Round Rock", "TX"),
        ]
    }
}

/// Simulator settings. [`SimConfig::default`] is what `readmit simulate` uses without options.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of every random choice; same rows + same config → byte-identical output.
    pub seed: u64,
    /// Which patients.
    pub split: SplitChoice,
    /// Keep only the first N patients (ascending `patient_nbr`) of the split.
    pub max_patients: Option<usize>,
    /// PID-3.4 assigning authority of the MRN (also of PV1-19 and MRG-1).
    pub assigning_authority: String,
    /// MSH-3 sending application.
    pub sending_application: String,
    /// MSH-5 / MSH-6 receiving application and facility.
    pub receiver: String,
    /// Sending facilities (MSH-4, PV1-3.4); one per patient.
    pub facilities: Vec<String>,
    /// Address areas; one per patient.
    pub areas: Vec<Area>,
    /// Emit ICD-10-CM for diagnosis codes with a clear equivalent (others stay ICD-9-CM).
    pub icd10: bool,
    /// Probability of each sprinkle (A08, duplicate, A13 + A03, A40 merge) per index encounter.
    pub sprinkle: f64,
    /// Probability of a malformed record after each real message.
    pub malformed: f64,
    /// Malformed kinds to draw from (an unframed file should only use MSH-led kinds:
    /// [`MalformedKind::MSH_LED`]).
    pub malformed_kinds: Vec<MalformedKind>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            split: SplitChoice::All,
            max_patients: None,
            assigning_authority: "READMIT_SIM".to_string(),
            sending_application: "SIM_EHR".to_string(),
            receiver: "READMIT".to_string(),
            facilities: ["SIM_NORTH", "SIM_RIVER", "SIM_LAKE", "SIM_VALLEY"]
                .map(String::from)
                .to_vec(),
            areas: Area::defaults(),
            icd10: false,
            sprinkle: 0.0,
            malformed: 0.0,
            malformed_kinds: MalformedKind::ALL.to_vec(),
        }
    }
}

impl SimConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |field, reason| Err(SimError::Config { field, reason });
        let fraction = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        if !fraction(self.sprinkle) {
            return bad("sprinkle", "must be a fraction between 0 and 1");
        }
        if !fraction(self.malformed) {
            return bad("malformed", "must be a fraction between 0 and 1");
        }
        if self.malformed > 0.0 && self.malformed_kinds.is_empty() {
            return bad("malformed_kinds", "must not be empty when malformed > 0");
        }
        if self.facilities.is_empty() || self.facilities.iter().any(|f| f.trim().is_empty()) {
            return bad("facilities", "must hold at least one non-empty name");
        }
        if self.areas.is_empty() {
            return bad("areas", "must hold at least one area");
        }
        for a in &self.areas {
            if a.zip.trim().is_empty() || a.county.trim().is_empty() {
                return bad("areas", "every area needs a ZIP and a county code");
            }
        }
        for (field, v) in [
            ("assigning_authority", &self.assigning_authority),
            ("sending_application", &self.sending_application),
            ("receiver", &self.receiver),
        ] {
            if v.trim().is_empty() {
                return bad(field, "must not be empty");
            }
        }
        Ok(())
    }
}

/// Kinds of deliberately malformed records. Each fails [`crate::hl7::Message::parse`], fails
/// [`crate::adt::AdtEvent::from_message`], or (missing PID) yields an event without a patient key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MalformedKind {
    /// A message cut off inside its MSH segment (before MSH-9).
    Truncated,
    /// An MSH with an unusable field separator or incomplete encoding characters.
    BadMsh,
    /// A valid MSH followed by a line of binary junk instead of segments.
    BinaryJunk,
    /// The whole message encoded as UTF-16LE with a byte-order mark. Does not start with an
    /// ASCII `MSH` line, so only for framed output (Kafka records, MLLP).
    WrongEncoding,
    /// A message without its PID segment.
    MissingPid,
}

impl MalformedKind {
    /// Every kind.
    pub const ALL: [MalformedKind; 5] = [
        MalformedKind::Truncated,
        MalformedKind::BadMsh,
        MalformedKind::BinaryJunk,
        MalformedKind::WrongEncoding,
        MalformedKind::MissingPid,
    ];
    /// The kinds whose first line starts with `MSH`: a line-based reader of an unframed file
    /// sees them as messages of their own rather than as more lines of the message before.
    pub const MSH_LED: [MalformedKind; 4] = [
        MalformedKind::Truncated,
        MalformedKind::BadMsh,
        MalformedKind::BinaryJunk,
        MalformedKind::MissingPid,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MalformedKind::Truncated => "truncated",
            MalformedKind::BadMsh => "bad_msh",
            MalformedKind::BinaryJunk => "binary_junk",
            MalformedKind::WrongEncoding => "wrong_encoding",
            MalformedKind::MissingPid => "missing_pid",
        }
    }
}

/// What a record is, for the parity test and the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// The index stay's A03 (PV1-19 = `encounter_id`), first send. Exactly one per dataset row.
    IndexDischarge,
    /// Any other well-formed message.
    Other,
    /// A deliberately malformed record.
    Malformed(MalformedKind),
}

/// Why a record was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Prior-year ED registration (A04, class E).
    PriorEmergency,
    /// Prior-year outpatient registration (A04, class O).
    PriorOutpatient,
    /// Prior-year inpatient admission (A01).
    PriorAdmit,
    /// Prior-year inpatient discharge (A03).
    PriorDischarge,
    /// Index admission (A01).
    IndexAdmit,
    /// Index discharge (A03), first send.
    IndexDischarge,
    /// Readmission (A01).
    ReadmitAdmit,
    /// Readmission discharge (A03).
    ReadmitDischarge,
    /// Sprinkle: A08 repeating the index A03's content.
    Update,
    /// Sprinkle: an exact copy (same MSH-10) of the message before it.
    Duplicate,
    /// Sprinkle: A13 cancelling the index discharge.
    CancelDischarge,
    /// Sprinkle: the index A03 re-sent after the A13 (new MSH-10, same content).
    IndexDischargeResent,
    /// Sprinkle: the ED visit registered under the duplicate patient record (A04, class E).
    DuplicatePatientEmergency,
    /// Sprinkle: A40 merging the duplicate patient record into the real one.
    Merge,
    /// A malformed record.
    Malformed,
}

/// One generated record.
#[derive(Clone, PartialEq)]
pub struct SimRecord {
    /// Kafka record key: the patient's MRN (PID-3.1).
    pub key: Vec<u8>,
    /// One message, CR segment terminators, no framing and no trailing newline.
    pub payload: Vec<u8>,
    /// Index discharge / other / malformed.
    pub kind: RecordKind,
    /// Why it was generated.
    pub role: Role,
    /// Trigger event (`A01`, …; `"malformed"` for malformed records).
    pub trigger: &'static str,
    /// The dataset encounter the record belongs to.
    pub encounter_id: Option<u64>,
    /// The dataset patient.
    pub patient_nbr: u64,
    /// Event time (EVN-6), minutes since 1970-01-01 on the sender's clock.
    pub event_minute: i64,
}

impl fmt::Debug for SimRecord {
    // Keys and payloads are (synthetic) PHI: only shapes are printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimRecord")
            .field("key_len", &self.key.len())
            .field("payload_len", &self.payload.len())
            .field("kind", &self.kind)
            .field("role", &self.role)
            .field("trigger", &self.trigger)
            .finish_non_exhaustive()
    }
}

/// One patient's rows, in `encounter_id` order.
struct PatientRows<'a> {
    patient_nbr: u64,
    rows: Vec<&'a DatasetRow>,
}

/// Turns dataset rows into ADT records. See the [module docs](self).
pub struct Simulator<'a> {
    config: SimConfig,
    patients: Vec<PatientRows<'a>>,
}

impl fmt::Debug for Simulator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("patients", &self.patients.len())
            .finish_non_exhaustive()
    }
}

/// Largest `patient_nbr` the control-ID scheme supports.
const MAX_PATIENT_NBR: u64 = (1 << 40) - 1;

impl<'a> Simulator<'a> {
    /// Validates the config and the rows, selects the split and the first
    /// [`SimConfig::max_patients`] patients.
    pub fn new(config: SimConfig, rows: &'a [DatasetRow]) -> Result<Self, SimError> {
        config.validate()?;
        let mut by_patient: BTreeMap<u64, Vec<&'a DatasetRow>> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            generate::check_row(i, row)?;
            if row.patient_nbr > MAX_PATIENT_NBR {
                return Err(SimError::Row {
                    row: i,
                    column: "patient_nbr",
                    reason: "above 2^40",
                });
            }
            if config.split.contains(row.patient_nbr) {
                by_patient.entry(row.patient_nbr).or_default().push(row);
            }
        }
        let limit = config.max_patients.unwrap_or(usize::MAX);
        let patients = by_patient
            .into_iter()
            .take(limit)
            .map(|(patient_nbr, mut rows)| {
                rows.sort_by_key(|r| r.encounter_id);
                PatientRows { patient_nbr, rows }
            })
            .collect();
        Ok(Self { config, patients })
    }

    /// The settings.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Number of patients selected.
    pub fn patient_count(&self) -> usize {
        self.patients.len()
    }

    /// Number of index encounters (dataset rows) selected.
    pub fn encounter_count(&self) -> usize {
        self.patients.iter().map(|p| p.rows.len()).sum()
    }

    /// The index encounters in emission order (known before generation).
    pub fn index_encounters(&self) -> Vec<IndexEncounter> {
        self.patients
            .iter()
            .flat_map(|p| {
                let facility = generate::facility_of(&self.config, p.patient_nbr);
                p.rows.iter().map(move |r| IndexEncounter {
                    encounter_id: r.encounter_id,
                    patient_nbr: r.patient_nbr,
                    visit_number: r.encounter_id.to_string(),
                    facility: facility.to_string(),
                    label: r.readmitted.clone(),
                    // The one rule training and the stream use (`Disposition::is_index`).
                    index_eligible: crate::features::codes::Disposition::from_id(
                        r.discharge_disposition_id,
                    )
                    .is_none_or(|d| d.is_index()),
                })
            })
            .collect()
    }

    /// All records, patient by patient, in emission order.
    pub fn records(&self) -> Records<'_, 'a> {
        Records {
            sim: self,
            next_patient: 0,
            buffer: Vec::new().into_iter(),
        }
    }

    /// The records of one selected patient (by position in emission order), in order.
    pub fn patient_records(&self, position: usize) -> Vec<SimRecord> {
        match self.patients.get(position) {
            Some(p) => generate::patient(&self.config, p.patient_nbr, &p.rows),
            None => Vec::new(),
        }
    }
}

/// Iterator over [`SimRecord`]s; generates one patient at a time.
pub struct Records<'s, 'a> {
    sim: &'s Simulator<'a>,
    next_patient: usize,
    buffer: std::vec::IntoIter<SimRecord>,
}

impl fmt::Debug for Records<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("next_patient", &self.next_patient)
            .finish_non_exhaustive()
    }
}

impl Iterator for Records<'_, '_> {
    type Item = SimRecord;

    fn next(&mut self) -> Option<SimRecord> {
        loop {
            if let Some(r) = self.buffer.next() {
                return Some(r);
            }
            if self.next_patient >= self.sim.patients.len() {
                return None;
            }
            self.buffer = self.sim.patient_records(self.next_patient).into_iter();
            self.next_patient += 1;
        }
    }
}
