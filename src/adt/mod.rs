//! Typed ADT events built from parsed HL7 v2 messages.
//!
//! [`AdtEvent::from_message`] reads the fields the processor needs out of an
//! [`hl7::Message`](crate::hl7::Message) into owned, typed values. It is on the hot path (one call
//! per consumed message): it walks the segments once, splits each segment it reads once and only
//! up to the last field it reads (`adt::raw`), checks each such segment once for valid UTF-8 and
//! for the escape character (so most values are sliced out with no per-value decoding), and
//! allocates only the `Vec`s of identifiers, diagnoses, procedure codes and merges (values are
//! inline [`CompactString`]s). `benches/adt.rs` measures it: about 24k instructions per typical
//! A03 (callgrind), against about 2k for [`Message::parse`](crate::hl7::Message::parse) itself,
//! so building the event, not parsing, dominates the per-message cost.
//!
//! # Field positions
//!
//! Positions follow HL7 numbering (MSH-1 is the field separator) and `DOMAIN.md` §1.3. "`.n`" is
//! a component, "`&n`" a subcomponent. Coded fields are read as "component 1 = code" whatever the
//! declared type (ID/IS/CE/CWE), so v2.3 and v2.8 senders give the same values.
//!
//! | value | position | notes |
//! |---|---|---|
//! | [`message_type`](AdtEvent::message_type) | MSH-9.1 | must be `ADT` |
//! | [`trigger_code`](AdtEvent::trigger_code) | MSH-9.2, else EVN-1 | EVN-1 only when MSH-9.2 is empty |
//! | [`structure`](AdtEvent::structure) | MSH-9.3 | absent in v2.3 |
//! | [`control_id`](AdtEvent::control_id) | MSH-10 | dedupe key with MSH-3, MSH-4 |
//! | [`processing_id`](AdtEvent::processing_id) | MSH-11.1 | `P`, `T`, `D` |
//! | [`version`](AdtEvent::version) | MSH-12.1 | |
//! | [`sending_application`](AdtEvent::sending_application) | MSH-3.1 | HD namespace |
//! | [`sending_facility`](AdtEvent::sending_facility) | MSH-4.1 | HD namespace |
//! | [`message_time`](AdtEvent::message_time) | MSH-7.1 | |
//! | [`event_recorded`](AdtEvent::event_recorded) | EVN-2.1 | first EVN |
//! | [`event_occurred`](AdtEvent::event_occurred) | EVN-6.1 | first EVN |
//! | [`Patient::identifiers`] | PID-3, every repetition | CX.1 id, CX.4 authority (HD &1, else &2), CX.5 type |
//! | [`Patient::birth_date`] | PID-7.1 | raw + parsed |
//! | [`Patient::sex`] | PID-8.1 | table 0001 |
//! | [`Patient::race`] | PID-10.1 | first repetition |
//! | [`Patient::zip`] / [`Patient::county`] | PID-11.5 / PID-11.9 | first repetition |
//! | [`Patient::death_indicator`] | PID-30.1 | `Y` / `N` |
//! | [`Visit::patient_class`] | PV1-2.1 | table 0004 |
//! | [`Visit::point_of_care`] / [`Visit::facility`] | PV1-3.1 / PV1-3.4 | PL; facility is HD (&1, else &2) |
//! | [`Visit::admission_type`] | PV1-4.1 | table 0007 |
//! | [`Visit::hospital_service`] | PV1-10.1 | table 0069 |
//! | [`Visit::admit_source`] | PV1-14.1 | table 0023 / UB-04 point of origin |
//! | [`Visit::visit_number`] | PV1-19.1 | |
//! | [`Visit::discharge_disposition`] | PV1-36.1 | table 0112 / UB-04 status |
//! | [`Visit::admit_datetime`] | PV1-44.1 | |
//! | [`Visit::discharge_datetime`] | PV1-45.1 | last non-empty repetition (repeats in 2.4–2.5.1) |
//! | [`Diagnosis`] | every DG1, in order | code DG1-3.1; system DG1-3.3, else DG1-2 before v2.6; type DG1-6.1; priority DG1-15.1 |
//! | [`Procedures`] | every PR1 | count; codes PR1-3.1 |
//! | [`Merge`] | every MRG | MRG-1 all repetitions (CX as PID-3); MRG-5.1 prior visit |
//!
//! The first PID and the first PV1 are used; a second PID (A40 pairs) only feeds
//! [`Merge::surviving`]. In the single-patient events the processor acts on (A01–A08, A11,
//! A13) a second PID or PV1 is an error ([`AdtError::RepeatedSegment`]): it is what two
//! messages run together look like when the second one's MSH is damaged, and keeping only the
//! first would silently lose the second patient's event. A17, A24, A37 and A40 carry several
//! patients by design. Diagnosis descriptions (DG1-3.2, DG1-4) are free text and are not kept.
//!
//! # Values
//!
//! Every value is unescaped and trimmed of surrounding spaces and tabs (real feeds pad fields
//! and end lines with a space). A value that is empty after trimming counts as not sent.
//!
//! Values are [`CompactString`]s: owned strings that live inline up to 24 bytes, so the codes,
//! identifiers and timestamps of a typical message cost no heap allocation (a `String` per
//! value made allocation and freeing a third of the build time). They deref to `&str`.
//!
//! # Absent, null, value
//!
//! HL7 distinguishes a field that was not sent (`||`, "keep what you have") from an explicit null
//! (`|""|`, "clear what you have"); an A08 update must honour the difference. The PID demographics
//! and every PV1 value keep it as a [`FieldValue`]: [`FieldValue::Absent`],
//! [`FieldValue::Null`] or [`FieldValue::Value`]. A missing segment is `None`
//! ([`AdtEvent::patient`], [`AdtEvent::visit`]), i.e. every field in it is absent. Identifiers,
//! diagnoses and header fields are plain `Option`s: a null there means "no value".
//!
//! # PHI
//!
//! Events carry PHI. `Debug` is written by hand and prints identifiers, dates, ZIP/county, visit
//! numbers and diagnosis/procedure codes as `<redacted>`; [`AdtError`] never carries values.

mod build;
mod debug;
mod error;
mod raw;
#[cfg(test)]
mod tests;

pub use compact_str::CompactString;
pub use error::AdtError;

use crate::hl7::Timestamp;

/// The trigger events the processor acts on (`DOMAIN.md` §2); everything else is
/// [`Trigger::Other`] (the raw code stays in [`AdtEvent::trigger_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Admit / visit notification.
    A01,
    /// Transfer.
    A02,
    /// Discharge / end visit.
    A03,
    /// Register (ED / outpatient).
    A04,
    /// Pre-admit.
    A05,
    /// Outpatient → inpatient.
    A06,
    /// Inpatient → outpatient.
    A07,
    /// Update patient information.
    A08,
    /// Cancel admit / visit.
    A11,
    /// Cancel discharge.
    A13,
    /// Merge patient – identifier list.
    A40,
    /// Any other trigger (A09, A28, O01, …).
    Other,
}

impl Trigger {
    /// Maps a trigger code (`"A03"`, case-insensitive) to a [`Trigger`].
    pub fn from_code(code: &str) -> Trigger {
        let b = code.as_bytes();
        if b.len() != 3 || !b[0].eq_ignore_ascii_case(&b'A') {
            return Trigger::Other;
        }
        match (b[1], b[2]) {
            (b'0', b'1') => Trigger::A01,
            (b'0', b'2') => Trigger::A02,
            (b'0', b'3') => Trigger::A03,
            (b'0', b'4') => Trigger::A04,
            (b'0', b'5') => Trigger::A05,
            (b'0', b'6') => Trigger::A06,
            (b'0', b'7') => Trigger::A07,
            (b'0', b'8') => Trigger::A08,
            (b'1', b'1') => Trigger::A11,
            (b'1', b'3') => Trigger::A13,
            (b'4', b'0') => Trigger::A40,
            _ => Trigger::Other,
        }
    }

    /// The code (`"A03"`), or `"other"` for [`Trigger::Other`]; bounded, safe as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::A01 => "A01",
            Trigger::A02 => "A02",
            Trigger::A03 => "A03",
            Trigger::A04 => "A04",
            Trigger::A05 => "A05",
            Trigger::A06 => "A06",
            Trigger::A07 => "A07",
            Trigger::A08 => "A08",
            Trigger::A11 => "A11",
            Trigger::A13 => "A13",
            Trigger::A40 => "A40",
            Trigger::Other => "other",
        }
    }
}

/// Where the trigger code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerSource {
    /// MSH-9.2 (the normal case).
    Msh9,
    /// EVN-1, because MSH-9.2 was empty (v2.3-era senders; EVN-1 is deprecated).
    Evn1,
}

/// A field as sent: not sent, explicitly nulled (`""`), or a value.
///
/// For an A08 merge: `Absent` keeps the stored value, `Null` clears it, `Value` replaces it.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum FieldValue<T = CompactString> {
    /// Not sent (empty field, missing component, or only spaces): keep the stored value.
    #[default]
    Absent,
    /// Explicit HL7 null `""`: clear the stored value.
    Null,
    /// A value (unescaped, trimmed, non-empty).
    Value(T),
}

impl<T> FieldValue<T> {
    /// The value, if one was sent.
    pub fn value(&self) -> Option<&T> {
        match self {
            FieldValue::Value(v) => Some(v),
            FieldValue::Absent | FieldValue::Null => None,
        }
    }

    /// `true` for an explicit null (`""`).
    pub fn is_null(&self) -> bool {
        matches!(self, FieldValue::Null)
    }

    /// `true` when the field was not sent.
    pub fn is_absent(&self) -> bool {
        matches!(self, FieldValue::Absent)
    }

    /// Consumes `self`, returning the value if one was sent.
    pub fn into_value(self) -> Option<T> {
        match self {
            FieldValue::Value(v) => Some(v),
            FieldValue::Absent | FieldValue::Null => None,
        }
    }
}

impl FieldValue<CompactString> {
    /// The value as `&str`, if one was sent.
    pub fn as_deref(&self) -> Option<&str> {
        self.value().map(CompactString::as_str)
    }
}

impl FieldValue<DateTimeValue> {
    /// The raw timestamp text, if one was sent.
    pub fn raw(&self) -> Option<&str> {
        self.value().map(|v| v.raw.as_str())
    }

    /// The parsed timestamp, if one was sent and it parsed.
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.value().and_then(|v| v.parsed.as_ref())
    }
}

/// A date/time field: the text as sent (unescaped, trimmed) and, when it is a valid HL7
/// TS/DTM, its parsed form. Non-HL7 formats (`01/15/2025`, ISO 8601) keep `parsed = None`.
#[derive(Clone, PartialEq)]
pub struct DateTimeValue {
    /// The value as sent.
    pub raw: CompactString,
    /// The parsed timestamp, `None` when `raw` is not a valid HL7 timestamp.
    pub parsed: Option<Timestamp>,
}

/// One PID-3 (or MRG-1) repetition (CX).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PatientIdentifier {
    /// CX.1 ID number.
    pub id: Option<CompactString>,
    /// CX.4 assigning authority: HD namespace (&1), else universal ID (&2).
    pub assigning_authority: Option<CompactString>,
    /// CX.5 identifier type code (table 0203: `MR`, `PI`, `SS`, …).
    pub identifier_type: Option<CompactString>,
}

/// PID: who the message is about.
#[derive(Clone, PartialEq, Default)]
pub struct Patient {
    /// Every PID-3 repetition in order, including empty ones (so index 0 is always the first
    /// repetition). Empty when PID-3 is empty.
    pub identifiers: Vec<PatientIdentifier>,
    /// PID-7.1 date/time of birth.
    pub birth_date: FieldValue<DateTimeValue>,
    /// PID-8.1 administrative sex.
    pub sex: FieldValue,
    /// PID-10.1 race (first repetition).
    pub race: FieldValue,
    /// PID-11.5 ZIP / postal code of the first address repetition.
    pub zip: FieldValue,
    /// PID-11.9 county / parish code of the first address repetition.
    pub county: FieldValue,
    /// PID-30.1 patient death indicator (`Y` / `N`).
    pub death_indicator: FieldValue,
}

impl Patient {
    /// The identifier to key the patient on (`DOMAIN.md` §1.3): the first repetition with an ID
    /// and type `MR`, else type `PI`, else the first repetition with an ID.
    pub fn key(&self) -> Option<&PatientIdentifier> {
        let with_id = || self.identifiers.iter().filter(|i| i.id.is_some());
        let typed = |t: &str| {
            with_id().find(|i| {
                i.identifier_type
                    .as_deref()
                    .is_some_and(|v| v.eq_ignore_ascii_case(t))
            })
        };
        typed("MR")
            .or_else(|| typed("PI"))
            .or_else(|| with_id().next())
    }
}

/// PV1: the visit (encounter).
#[derive(Clone, PartialEq, Default)]
pub struct Visit {
    /// PV1-2.1 patient class (table 0004: `I`, `O`, `E`, …).
    pub patient_class: FieldValue,
    /// PV1-3.1 assigned location: point of care.
    pub point_of_care: FieldValue,
    /// PV1-3.4 assigned location: facility (HD namespace, else universal ID).
    pub facility: FieldValue,
    /// PV1-4.1 admission type (table 0007).
    pub admission_type: FieldValue,
    /// PV1-10.1 hospital service (table 0069).
    pub hospital_service: FieldValue,
    /// PV1-14.1 admit source (table 0023 / UB-04 point of origin).
    pub admit_source: FieldValue,
    /// PV1-19.1 visit number.
    pub visit_number: FieldValue,
    /// PV1-36.1 discharge disposition (table 0112 / UB-04 status).
    pub discharge_disposition: FieldValue,
    /// PV1-44.1 admit date/time.
    pub admit_datetime: FieldValue<DateTimeValue>,
    /// PV1-45.1 discharge date/time; the last non-empty repetition.
    pub discharge_datetime: FieldValue<DateTimeValue>,
}

/// One DG1 segment.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Diagnosis {
    /// DG1-3.1 diagnosis code.
    pub code: Option<CompactString>,
    /// DG1-3.3 coding system (table 0396: `I9C`, `I10`, …); DG1-2 coding method when DG1-3.3
    /// is empty and the version is before 2.6 (DG1-2 was withdrawn in 2.6).
    pub coding_system: Option<CompactString>,
    /// DG1-6.1 diagnosis type (table 0052: `A` admitting, `W` working, `F` final).
    pub diagnosis_type: Option<CompactString>,
    /// DG1-15.1 diagnosis priority (`1` = principal); `None` when empty or not a number.
    pub priority: Option<u32>,
}

/// PR1 segments.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Procedures {
    /// Number of PR1 segments (HOSPITAL score item "P").
    pub count: usize,
    /// PR1-3.1 procedure codes, in order, empty ones skipped.
    pub codes: Vec<CompactString>,
}

/// One MRG segment (A40 merge and friends).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Merge {
    /// PID-3 of the PID segment before this MRG: the surviving identifiers.
    pub surviving: Vec<PatientIdentifier>,
    /// MRG-1: the prior (retired) identifiers, every repetition.
    pub prior_identifiers: Vec<PatientIdentifier>,
    /// MRG-5.1: the prior visit number.
    pub prior_visit: Option<CompactString>,
}

/// A typed ADT event. See the [module docs](self) for the field positions.
///
/// `Debug` redacts PHI.
#[derive(Clone, PartialEq)]
pub struct AdtEvent {
    /// MSH-9.1 message code; always `ADT` (compared case-insensitively, kept as sent).
    pub message_type: CompactString,
    /// The trigger as an enum.
    pub trigger: Trigger,
    /// The trigger code as sent (MSH-9.2, or EVN-1 when MSH-9.2 is empty).
    pub trigger_code: CompactString,
    /// Where [`trigger_code`](Self::trigger_code) came from.
    pub trigger_source: TriggerSource,
    /// MSH-9.3 message structure (`ADT_A01`).
    pub structure: Option<CompactString>,
    /// MSH-10 message control ID.
    pub control_id: Option<CompactString>,
    /// MSH-11.1 processing ID (`P`, `T`, `D`).
    pub processing_id: Option<CompactString>,
    /// MSH-12.1 version ID.
    pub version: Option<CompactString>,
    /// MSH-3.1 sending application.
    pub sending_application: Option<CompactString>,
    /// MSH-4.1 sending facility.
    pub sending_facility: Option<CompactString>,
    /// MSH-7.1 date/time of message.
    pub message_time: Option<DateTimeValue>,
    /// EVN-2.1 recorded date/time.
    pub event_recorded: Option<DateTimeValue>,
    /// EVN-6.1 event occurred.
    pub event_occurred: Option<DateTimeValue>,
    /// The first PID; `None` when the message has no PID.
    pub patient: Option<Patient>,
    /// The first PV1; `None` when the message has no PV1.
    pub visit: Option<Visit>,
    /// Every DG1, in message order.
    pub diagnoses: Vec<Diagnosis>,
    /// Every PR1.
    pub procedures: Procedures,
    /// Every MRG, in message order.
    pub merges: Vec<Merge>,
}

impl AdtEvent {
    /// The patient key identifier ([`Patient::key`]), if the message has a PID with one.
    pub fn patient_key(&self) -> Option<&PatientIdentifier> {
        self.patient.as_ref().and_then(Patient::key)
    }

    /// The best event time: EVN-6 (occurred), else EVN-2 (recorded), else MSH-7.
    pub fn event_time(&self) -> Option<&DateTimeValue> {
        self.event_occurred
            .as_ref()
            .or(self.event_recorded.as_ref())
            .or(self.message_time.as_ref())
    }
}
