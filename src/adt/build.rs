//! [`AdtEvent::from_message`]: one pass over the segments, one split per segment used.
//!
//! On top of the single-pass field access in [`super::raw`] this adds what the event needs:
//! trimming, the absent / null / value distinction at component level, HD fallback (&1, else
//! &2) and "last non-empty repetition".

use compact_str::CompactString;

use crate::hl7::{Message, Segment, Timestamp};

use super::raw::{self, Fields, Text};
use super::{
    AdtError, AdtEvent, DateTimeValue, Diagnosis, FieldValue, Merge, Patient, PatientIdentifier,
    Procedures, Trigger, TriggerSource, Visit,
};

/// An HD in a component position: namespace ID (&1), else universal ID (&2).
#[inline]
fn hd(comp: &[u8], t: &Text<'_>) -> Option<CompactString> {
    raw::comp_text(comp, t).or_else(|| raw::text(raw::subcomponent(comp, &t.d, 2), t))
}

#[inline]
fn datetime(raw: CompactString) -> DateTimeValue {
    let parsed = Timestamp::parse(&raw).ok();
    DateTimeValue { raw, parsed }
}

/// Component `comp` of the first repetition of raw `field`, keeping absent / null / value
/// apart. A whole-field `""` nulls every component; so does a component that is exactly `""`.
#[inline]
fn tri<T>(
    field: &[u8],
    t: &Text<'_>,
    comp: usize,
    read: impl FnOnce(&[u8], &Text<'_>) -> Option<T>,
) -> FieldValue<T> {
    if field.is_empty() {
        return FieldValue::Absent;
    }
    if raw::is_null(field) {
        return FieldValue::Null;
    }
    let c = raw::component(field, &t.d, comp);
    if raw::is_null(c) {
        return FieldValue::Null;
    }
    match read(c, t) {
        Some(v) => FieldValue::Value(v),
        None => FieldValue::Absent,
    }
}

#[inline]
fn tri_text(f: &Fields<'_>, field: usize) -> FieldValue {
    tri(f.get(field), &f.t, 1, raw::comp_text)
}

#[inline]
fn tri_datetime(f: &Fields<'_>, field: usize) -> FieldValue<DateTimeValue> {
    tri(f.get(field), &f.t, 1, |c, t| {
        raw::comp_text(c, t).map(datetime)
    })
}

/// PV1-45: the last repetition with a value (the field repeats in v2.4–2.5.1); null when the
/// field or its only repetitions are `""`.
fn last_datetime(field: &[u8], t: &Text<'_>) -> FieldValue<DateTimeValue> {
    let d = &t.d;
    if field.is_empty() {
        return FieldValue::Absent;
    }
    let mut last = None;
    let mut saw_null = false;
    for rep in raw::repetitions(field, d) {
        let c = raw::rep_component(rep, d, 1);
        if raw::is_null(rep) || raw::is_null(c) {
            saw_null = true;
        } else if let Some(v) = raw::comp_text(c, t) {
            last = Some(v);
        }
    }
    match last {
        Some(raw) => FieldValue::Value(datetime(raw)),
        None if saw_null => FieldValue::Null,
        None => FieldValue::Absent,
    }
}

fn identifier(rep: &[u8], t: &Text<'_>) -> PatientIdentifier {
    let d = &t.d;
    PatientIdentifier {
        id: raw::comp_text(raw::rep_component(rep, d, 1), t),
        assigning_authority: hd(raw::rep_component(rep, d, 4), t),
        identifier_type: raw::comp_text(raw::rep_component(rep, d, 5), t),
    }
}

/// Every repetition of a CX list (PID-3, MRG-1); empty for an empty or `""` field.
fn identifiers(field: &[u8], t: &Text<'_>) -> Vec<PatientIdentifier> {
    if field.is_empty() || raw::is_null(field) {
        return Vec::new();
    }
    raw::repetitions(field, &t.d)
        .map(|rep| identifier(rep, t))
        .collect()
}

fn patient(pid: &Fields<'_>) -> Patient {
    let t = &pid.t;
    let address = pid.get(11);
    Patient {
        identifiers: identifiers(pid.get(3), t),
        birth_date: tri_datetime(pid, 7),
        sex: tri_text(pid, 8),
        race: tri_text(pid, 10),
        zip: tri(address, t, 5, raw::comp_text),
        county: tri(address, t, 9, raw::comp_text),
        death_indicator: tri_text(pid, 30),
    }
}

fn visit(pv1: &Fields<'_>) -> Visit {
    let t = &pv1.t;
    let location = pv1.get(3);
    Visit {
        patient_class: tri_text(pv1, 2),
        point_of_care: tri(location, t, 1, raw::comp_text),
        facility: tri(location, t, 4, hd),
        admission_type: tri_text(pv1, 4),
        hospital_service: tri_text(pv1, 10),
        admit_source: tri_text(pv1, 14),
        visit_number: tri_text(pv1, 19),
        discharge_disposition: tri_text(pv1, 36),
        admit_datetime: tri_datetime(pv1, 44),
        discharge_datetime: last_datetime(pv1.get(45), t),
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

fn diagnosis(dg1: &Fields<'_>, coding_method_used: bool) -> Diagnosis {
    let t = &dg1.t;
    let d = &t.d;
    let code = dg1.get(3);
    let coding_system = match raw::comp_text(raw::component(code, d, 3), t) {
        Some(s) => Some(s),
        None if coding_method_used => raw::comp_text(raw::component(dg1.get(2), d, 1), t),
        None => None,
    };
    let priority = raw::component(dg1.get(15), d, 1);
    let priority = std::str::from_utf8(priority)
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok());
    Diagnosis {
        code: raw::comp_text(raw::component(code, d, 1), t),
        coding_system,
        diagnosis_type: raw::comp_text(raw::component(dg1.get(6), d, 1), t),
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

/// Value of component `n` (subcomponent 1) of raw field `field`.
#[inline]
fn comp(f: &Fields<'_>, field: usize, n: usize) -> Option<CompactString> {
    raw::comp_text(raw::component(f.get(field), f.d(), n), &f.t)
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
        let msh = Fields::of(&msh, true, 12);
        let message_type = comp(&msh, 9, 1).ok_or(AdtError::MissingMessageType)?;
        if !message_type.eq_ignore_ascii_case("ADT") {
            return Err(AdtError::NotAdt);
        }
        let msh_trigger = comp(&msh, 9, 2);
        let version = comp(&msh, 12, 1);
        let coding_method_used = dg1_coding_method_used(version.as_deref());

        let mut evn = None;
        let (mut pids, mut pv1s) = (0u32, 0u32);
        let mut patient_seg = None;
        let mut last_pid: Option<Segment<'_>> = None;
        let mut visit_seg = None;
        let mut diagnoses = Vec::new();
        let mut procedures = Procedures::default();
        let mut merges = Vec::new();
        for seg in segments {
            match &upper_id(&seg) {
                b"EVN" if evn.is_none() => evn = Some(Fields::of(&seg, false, 6)),
                b"PID" => {
                    pids += 1;
                    if patient_seg.is_none() {
                        patient_seg = Some(seg);
                    }
                    last_pid = Some(seg);
                }
                b"PV1" => {
                    pv1s += 1;
                    if visit_seg.is_none() {
                        visit_seg = Some(seg);
                    }
                }
                b"DG1" => {
                    diagnoses.push(diagnosis(&Fields::of(&seg, false, 15), coding_method_used))
                }
                b"PR1" => {
                    procedures.count += 1;
                    if let Some(code) = comp(&Fields::of(&seg, false, 3), 3, 1) {
                        procedures.codes.push(code);
                    }
                }
                b"MRG" => {
                    let mrg = Fields::of(&seg, false, 5);
                    let surviving = last_pid
                        .map(|p| {
                            let pid = Fields::of(&p, false, 3);
                            identifiers(pid.get(3), &pid.t)
                        })
                        .unwrap_or_default();
                    merges.push(Merge {
                        surviving,
                        prior_identifiers: identifiers(mrg.get(1), &mrg.t),
                        prior_visit: comp(&mrg, 5, 1),
                    });
                }
                _ => {}
            }
        }

        let (trigger_code, trigger_source) = match msh_trigger {
            Some(t) => (t, TriggerSource::Msh9),
            None => {
                let t = evn
                    .as_ref()
                    .and_then(|e| comp(e, 1, 1))
                    .ok_or(AdtError::MissingTrigger)?;
                (t, TriggerSource::Evn1)
            }
        };

        // The events the processor acts on concern one patient and one visit; a second PID or
        // PV1 there is two messages run together (A17 swaps, A24/A37 links and merges carry
        // several by design and are not checked).
        let trigger = Trigger::from_code(&trigger_code);
        if !matches!(trigger, Trigger::Other | Trigger::A40) {
            if pids > 1 {
                return Err(AdtError::RepeatedSegment("PID"));
            }
            if pv1s > 1 {
                return Err(AdtError::RepeatedSegment("PV1"));
            }
        }

        let evn_time = |n: usize| evn.as_ref().and_then(|e| comp(e, n, 1)).map(datetime);
        Ok(AdtEvent {
            trigger,
            trigger_code,
            trigger_source,
            message_type,
            structure: comp(&msh, 9, 3),
            control_id: comp(&msh, 10, 1),
            processing_id: comp(&msh, 11, 1),
            version,
            sending_application: comp(&msh, 3, 1),
            sending_facility: comp(&msh, 4, 1),
            message_time: comp(&msh, 7, 1).map(datetime),
            event_recorded: evn_time(2),
            event_occurred: evn_time(6),
            patient: patient_seg.map(|s| patient(&Fields::of(&s, false, 30))),
            visit: visit_seg.map(|s| visit(&Fields::of(&s, false, raw::MAX_FIELD))),
            diagnoses,
            procedures,
            merges,
        })
    }
}
