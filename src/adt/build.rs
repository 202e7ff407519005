//! [`AdtEvent::from_message`]: one pass over the segments, reading each value once.
//!
//! Helpers here sit on top of the `hl7` accessors and add what the event needs: trimming,
//! the absent / null / value distinction at component level, HD fallback (&1, else &2) and
//! "last non-empty repetition".

use std::borrow::Cow;

use crate::hl7::{Component, Field, Message, Repetition, Segment, Timestamp};

use super::{
    AdtError, AdtEvent, DateTimeValue, Diagnosis, FieldValue, Merge, Patient, PatientIdentifier,
    Procedures, Trigger, TriggerSource, Visit,
};

/// Trims the padding real feeds put around values (spaces, tabs).
#[inline]
fn trim(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// An unescaped value, trimmed, as an owned `String`; `None` when empty, only blanks or `""`.
#[inline]
fn owned(v: Option<Cow<'_, str>>) -> Option<String> {
    let v = v?;
    let t = trim(&v);
    if t.is_empty() {
        None
    } else {
        Some(t.to_owned())
    }
}

/// Subcomponent 1 of a component: the value of a primitive (ST/ID/IS/NM/TS) component, and the
/// namespace of an HD or the code of a CWE in a component position.
#[inline]
fn text(c: Component<'_>) -> Option<String> {
    owned(c.subcomponent(1).value())
}

/// An HD in a component position: namespace ID (&1), else universal ID (&2).
#[inline]
fn hd(c: Component<'_>) -> Option<String> {
    text(c).or_else(|| owned(c.subcomponent(2).value()))
}

#[inline]
fn datetime(raw: String) -> DateTimeValue {
    let parsed = Timestamp::parse(&raw).ok();
    DateTimeValue { raw, parsed }
}

/// Component `comp` of the first repetition of `field`, keeping absent / null / value apart.
/// A whole-field `""` nulls every component; so does a component that is exactly `""`.
#[inline]
fn tri<T>(
    field: Field<'_>,
    comp: usize,
    read: impl FnOnce(Component<'_>) -> Option<T>,
) -> FieldValue<T> {
    if field.is_empty() {
        return FieldValue::Absent;
    }
    if field.is_null() {
        return FieldValue::Null;
    }
    let c = field.component(comp);
    if c.is_null() {
        return FieldValue::Null;
    }
    match read(c) {
        Some(v) => FieldValue::Value(v),
        None => FieldValue::Absent,
    }
}

#[inline]
fn tri_text(seg: &Segment<'_>, field: usize, comp: usize) -> FieldValue {
    tri(seg.field(field), comp, text)
}

#[inline]
fn tri_datetime(seg: &Segment<'_>, field: usize) -> FieldValue<DateTimeValue> {
    tri(seg.field(field), 1, |c| text(c).map(datetime))
}

/// PV1-45: the last repetition with a value (the field repeats in v2.4–2.5.1); null when the
/// field or its only repetition is `""`.
fn last_datetime(field: Field<'_>) -> FieldValue<DateTimeValue> {
    if field.is_empty() {
        return FieldValue::Absent;
    }
    if field.is_null() {
        return FieldValue::Null;
    }
    let mut last = None;
    let mut saw_null = false;
    for rep in field.repetitions() {
        let c = rep.component(1);
        if rep.is_null() || c.is_null() {
            saw_null = true;
        } else if let Some(v) = text(c) {
            last = Some(v);
        }
    }
    match last {
        Some(raw) => FieldValue::Value(datetime(raw)),
        None if saw_null => FieldValue::Null,
        None => FieldValue::Absent,
    }
}

fn identifier(rep: Repetition<'_>) -> PatientIdentifier {
    PatientIdentifier {
        id: text(rep.component(1)),
        assigning_authority: hd(rep.component(4)),
        identifier_type: text(rep.component(5)),
    }
}

/// Every repetition of a CX list (PID-3, MRG-1); empty for an empty or `""` field.
fn identifiers(field: Field<'_>) -> Vec<PatientIdentifier> {
    if field.is_empty() || field.is_null() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(field.repetition_count());
    out.extend(field.repetitions().map(identifier));
    out
}

fn patient(pid: &Segment<'_>) -> Patient {
    let address = pid.field(11);
    Patient {
        identifiers: identifiers(pid.field(3)),
        birth_date: tri_datetime(pid, 7),
        sex: tri_text(pid, 8, 1),
        race: tri_text(pid, 10, 1),
        zip: tri(address, 5, text),
        county: tri(address, 9, text),
        death_indicator: tri_text(pid, 30, 1),
    }
}

fn visit(pv1: &Segment<'_>) -> Visit {
    let location = pv1.field(3);
    Visit {
        patient_class: tri_text(pv1, 2, 1),
        point_of_care: tri(location, 1, text),
        facility: tri(location, 4, hd),
        admission_type: tri_text(pv1, 4, 1),
        hospital_service: tri_text(pv1, 10, 1),
        admit_source: tri_text(pv1, 14, 1),
        visit_number: tri_text(pv1, 19, 1),
        discharge_disposition: tri_text(pv1, 36, 1),
        admit_datetime: tri_datetime(pv1, 44),
        discharge_datetime: last_datetime(pv1.field(45)),
    }
}

/// DG1-2 (diagnosis coding method) was withdrawn in v2.6; before that (or when the version is
/// unknown) it stands in for an empty DG1-3.3.
fn dg1_coding_method_used(version: Option<&str>) -> bool {
    let Some(v) = version else { return true };
    let mut parts = v.split('.').map(|p| p.trim().parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) < (2, 6),
        (Some(Ok(major)), None) => major < 2,
        _ => true,
    }
}

fn diagnosis(dg1: &Segment<'_>, coding_method_used: bool) -> Diagnosis {
    let code = dg1.field(3);
    let coding_system = match text(code.component(3)) {
        Some(s) => Some(s),
        None if coding_method_used => text(dg1.field(2).component(1)),
        None => None,
    };
    let priority = dg1
        .field(15)
        .component(1)
        .value()
        .and_then(|p| trim(&p).parse::<u32>().ok());
    Diagnosis {
        code: text(code.component(1)),
        coding_system,
        diagnosis_type: text(dg1.field(6).component(1)),
        priority,
    }
}

/// The segment id in upper case (ids may be sent in lower case).
#[inline]
fn upper_id(seg: &Segment<'_>) -> [u8; 3] {
    match seg.raw() {
        [a, b, c, ..] => [
            a.to_ascii_uppercase(),
            b.to_ascii_uppercase(),
            c.to_ascii_uppercase(),
        ],
        _ => [0; 3],
    }
}

impl AdtEvent {
    /// Reads a parsed message into an event.
    ///
    /// Fails when MSH-9.1 is empty or not `ADT`, or when neither MSH-9.2 nor EVN-1 names a
    /// trigger. Everything else is optional: a missing PID or PV1 gives `None`, a missing field
    /// [`FieldValue::Absent`] / `None`.
    pub fn from_message(msg: &Message<'_>) -> Result<AdtEvent, AdtError> {
        let mut segments = msg.segments();
        let msh = segments.next().ok_or(AdtError::MissingMessageType)?;
        let msg_type = msh.field(9);
        let message_type = text(msg_type.component(1)).ok_or(AdtError::MissingMessageType)?;
        if !message_type.eq_ignore_ascii_case("ADT") {
            return Err(AdtError::NotAdt);
        }
        let msh_trigger = text(msg_type.component(2));
        let version = text(msh.field(12).component(1));
        let coding_method_used = dg1_coding_method_used(version.as_deref());

        let mut evn = None;
        let mut patient_seg = None;
        let mut last_pid = None;
        let mut visit_seg = None;
        let mut diagnoses = Vec::new();
        let mut procedures = Procedures::default();
        let mut merges = Vec::new();
        for seg in segments {
            match &upper_id(&seg) {
                b"EVN" if evn.is_none() => evn = Some(seg),
                b"PID" => {
                    if patient_seg.is_none() {
                        patient_seg = Some(seg);
                    }
                    last_pid = Some(seg);
                }
                b"PV1" if visit_seg.is_none() => visit_seg = Some(seg),
                b"DG1" => diagnoses.push(diagnosis(&seg, coding_method_used)),
                b"PR1" => {
                    procedures.count += 1;
                    if let Some(code) = text(seg.field(3).component(1)) {
                        procedures.codes.push(code);
                    }
                }
                b"MRG" => merges.push(Merge {
                    surviving: last_pid
                        .map(|p| identifiers(p.field(3)))
                        .unwrap_or_default(),
                    prior_identifiers: identifiers(seg.field(1)),
                    prior_visit: text(seg.field(5).component(1)),
                }),
                _ => {}
            }
        }

        let (trigger_code, trigger_source) = match msh_trigger {
            Some(t) => (t, TriggerSource::Msh9),
            None => {
                let t = evn
                    .and_then(|e| text(e.field(1).component(1)))
                    .ok_or(AdtError::MissingTrigger)?;
                (t, TriggerSource::Evn1)
            }
        };

        let evn_time = |n: usize| {
            evn.and_then(|e| text(e.field(n).component(1)))
                .map(datetime)
        };
        Ok(AdtEvent {
            trigger: Trigger::from_code(&trigger_code),
            trigger_code,
            trigger_source,
            message_type,
            structure: text(msg_type.component(3)),
            control_id: text(msh.field(10).component(1)),
            processing_id: text(msh.field(11).component(1)),
            version,
            sending_application: text(msh.field(3).component(1)),
            sending_facility: text(msh.field(4).component(1)),
            message_time: text(msh.field(7).component(1)).map(datetime),
            event_recorded: evn_time(2),
            event_occurred: evn_time(6),
            patient: patient_seg.as_ref().map(patient),
            visit: visit_seg.as_ref().map(visit),
            diagnoses,
            procedures,
            merges,
        })
    }
}
