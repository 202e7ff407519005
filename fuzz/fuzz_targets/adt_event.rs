//! Fuzz target: arbitrary bytes → `hl7::split_messages` → `Message::parse` →
//! `AdtEvent::from_message` → `features::adt::discharge_from_event` → `features::extract`, the
//! path every consumed record takes in the pipeline, plus the `parse_output::MessageRecord`
//! of each event (what `readmit parse` prints) serialised to JSON.
//!
//! Besides "no panic", it checks:
//! - the patient key is the first PID's key and has an ID;
//! - every feature value is finite;
//! - PHI never reaches `Debug` of the event or the discharge: no PHI value of the event
//!   (identifiers, dates, ZIP, county, visit numbers, locations, diagnosis and procedure
//!   codes) may be one of the string literals those texts print, unless it is also one of the
//!   fields printed on purpose (header routing fields, closed-table codes). The error types on
//!   this path hold only static names and limits (by type), so their texts need no check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readmit::adt::{AdtEvent, DateTimeValue, FieldValue, PatientIdentifier};
use readmit::features::{self, History};
use readmit::hl7::{self, Message};
use readmit::parse_output::MessageRecord;
use std::collections::HashSet;

/// Values the event's `Debug` prints on purpose (not PHI).
fn shown_values(e: &AdtEvent) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut opt = |v: Option<&str>| {
        if let Some(v) = v {
            out.push(v.to_string());
        }
    };
    opt(Some(&e.message_type));
    opt(Some(&e.trigger_code));
    for v in [
        &e.structure,
        &e.control_id,
        &e.processing_id,
        &e.version,
        &e.sending_application,
        &e.sending_facility,
    ] {
        opt(v.as_deref());
    }
    let ids = |ids: &[PatientIdentifier], opt: &mut dyn FnMut(Option<&str>)| {
        for i in ids {
            opt(i.assigning_authority.as_deref());
            opt(i.identifier_type.as_deref());
        }
    };
    if let Some(p) = &e.patient {
        ids(&p.identifiers, &mut opt);
        for v in [&p.sex, &p.race, &p.death_indicator] {
            opt(v.as_deref());
        }
    }
    if let Some(v) = &e.visit {
        for f in [
            &v.patient_class,
            &v.facility,
            &v.admission_type,
            &v.hospital_service,
            &v.admit_source,
            &v.discharge_disposition,
        ] {
            opt(f.as_deref());
        }
    }
    for d in &e.diagnoses {
        opt(d.coding_system.as_deref());
        opt(d.diagnosis_type.as_deref());
    }
    for m in &e.merges {
        ids(&m.surviving, &mut opt);
        ids(&m.prior_identifiers, &mut opt);
    }
    out
}

/// The event's PHI values, which no `Debug` or error text may contain.
fn phi_values(e: &AdtEvent) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let dt = |v: Option<&DateTimeValue>, out: &mut Vec<String>| {
        if let Some(v) = v {
            out.push(v.raw.to_string());
        }
    };
    let fv = |v: &FieldValue<DateTimeValue>, out: &mut Vec<String>| dt(v.value(), out);
    for v in [&e.message_time, &e.event_recorded, &e.event_occurred] {
        dt(v.as_ref(), &mut out);
    }
    let ids = |ids: &[PatientIdentifier], out: &mut Vec<String>| {
        out.extend(
            ids.iter()
                .filter_map(|i| i.id.as_deref().map(str::to_string)),
        );
    };
    if let Some(p) = &e.patient {
        ids(&p.identifiers, &mut out);
        fv(&p.birth_date, &mut out);
        for v in [&p.zip, &p.county] {
            out.extend(v.as_deref().map(str::to_string));
        }
    }
    if let Some(v) = &e.visit {
        for f in [&v.point_of_care, &v.visit_number] {
            out.extend(f.as_deref().map(str::to_string));
        }
        fv(&v.admit_datetime, &mut out);
        fv(&v.discharge_datetime, &mut out);
    }
    out.extend(
        e.diagnoses
            .iter()
            .filter_map(|d| d.code.as_deref().map(str::to_string)),
    );
    out.extend(e.procedures.codes.iter().map(|c| c.to_string()));
    for m in &e.merges {
        ids(&m.surviving, &mut out);
        ids(&m.prior_identifiers, &mut out);
        out.extend(m.prior_visit.as_deref().map(str::to_string));
    }
    out
}

/// Every string literal in a `Debug` text (`"…"`, with `\"` and `\\` escapes), as printed.
fn quoted_literals(text: &str) -> HashSet<&str> {
    let b = text.as_bytes();
    let mut out = HashSet::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < b.len() && b[i] != b'"' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        let end = (i + 1).min(b.len());
        out.insert(&text[start..end]);
        i = end;
    }
    out
}

/// Panics when `text` prints a PHI value of `e` as a string of its own (as `Debug` would,
/// quoted), unless that value is also one of the fields printed on purpose. A set of the
/// printed literals keeps the check linear: a fuzzed message may hold thousands of values.
fn assert_no_phi(e: &AdtEvent, what: &str, text: &str) {
    let printed = quoted_literals(text);
    if printed.is_empty() {
        return;
    }
    let shown: HashSet<String> = shown_values(e).iter().map(|s| format!("{s:?}")).collect();
    for value in phi_values(e) {
        let quoted = format!("{value:?}");
        assert!(
            !printed.contains(quoted.as_str()) || shown.contains(&quoted),
            "{what} shows a PHI value {quoted}"
        );
    }
}

fn check_event(e: &AdtEvent) {
    assert!(e.message_type.eq_ignore_ascii_case("ADT"));
    assert!(!e.trigger_code.is_empty());
    assert_eq!(e.patient_key(), e.patient.as_ref().and_then(|p| p.key()));
    if let Some(key) = e.patient_key() {
        assert!(key.id.is_some(), "the patient key has an id");
    }
    let debug = format!("{e:?}");
    assert_no_phi(e, "AdtEvent Debug", &debug);

    match features::adt::discharge_from_event(e) {
        Ok(d) => {
            assert_no_phi(e, "Discharge Debug", &format!("{d:?}"));
            let _ = d.is_index_eligible();
            let _ = d.principal();
            for history in [
                History::default(),
                History {
                    ed_visits_6m: 1,
                    ed_visits_12m: 2,
                    inpatient_12m: 3,
                    outpatient_12m: 4,
                },
            ] {
                match features::extract(&d, &history) {
                    Ok(fv) => assert!(
                        fv.values().iter().all(|x| x.is_finite()),
                        "non-finite feature value"
                    ),
                    // FeatureError holds only static names and limits (by type); render it.
                    Err(err) => assert!(!err.to_string().is_empty()),
                }
            }
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}

fuzz_target!(|data: &[u8]| {
    for item in hl7::split_messages(data) {
        let Ok(msg) = Message::parse(item) else {
            continue;
        };
        match AdtEvent::from_message(&msg) {
            Ok(event) => {
                check_event(&event);
                // What `readmit parse` prints for it.
                let record = MessageRecord::from_event(event, 0, None);
                serde_json::to_string(&record).expect("a record serialises");
            }
            Err(err) => {
                let text = err.to_string();
                assert!(text.starts_with("segment MSH field 9: "), "{text}");
                assert!(!err.kind().is_empty());
            }
        }
    }
});
