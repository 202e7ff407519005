//! `readmit::simulate` on hand-written dataset rows (no data file needed): determinism, every
//! message parses, malformed records fail, field positions, readmission timing, unframed files.

use std::collections::{HashMap, HashSet};

use readmit::adt::{AdtEvent, Trigger};
use readmit::features::dataset::DatasetRow;
use readmit::hl7::{split_messages, Message};
use readmit::simulate::{
    MalformedKind, ManifestBuilder, RecordKind, Role, SimConfig, SimRecord, Simulator, SplitChoice,
};

#[allow(clippy::too_many_arguments)]
fn row(
    encounter_id: u64,
    patient_nbr: u64,
    age: &str,
    counts: (u32, u32, u32),
    diags: (&str, &str, &str),
    number_diagnoses: u32,
    readmitted: &str,
) -> DatasetRow {
    DatasetRow {
        encounter_id,
        patient_nbr,
        race: "AfricanAmerican".into(),
        gender: "Female".into(),
        age: age.into(),
        admission_type_id: 1,
        discharge_disposition_id: 6,
        admission_source_id: 7,
        time_in_hospital: 4,
        num_procedures: 2,
        number_outpatient: counts.0,
        number_emergency: counts.1,
        number_inpatient: counts.2,
        diag_1: diags.0.into(),
        diag_2: diags.1.into(),
        diag_3: diags.2.into(),
        number_diagnoses,
        readmitted: readmitted.into(),
    }
}

/// A small cohort: several encounters per patient, every label, counts up to 12.
fn cohort() -> Vec<DatasetRow> {
    let mut rows = Vec::new();
    let labels = ["<30", ">30", "NO"];
    let ages = ["[0-10)", "[40-50)", "[70-80)", "[90-100)"];
    let diags = [
        ("428", "250.01", "?"),
        ("8", "V57", "E909"),
        ("?", "?", "250"),
        ("414", "411", "250.6"),
    ];
    let mut enc = 1_000u64;
    for p in 0..60u64 {
        let patient = 10_000 + p * 7;
        for k in 0..(1 + p % 3) {
            enc += 13;
            let i = (p + k) as usize;
            rows.push(row(
                enc,
                patient,
                ages[i % 4],
                ((p % 5) as u32, (p % 13) as u32, (p % 4) as u32),
                diags[i % 4],
                1 + (p % 9) as u32,
                labels[i % 3],
            ));
        }
    }
    rows
}

fn config() -> SimConfig {
    SimConfig {
        seed: 42,
        sprinkle: 0.5,
        malformed: 0.1,
        ..SimConfig::default()
    }
}

fn all(config: SimConfig, rows: &[DatasetRow]) -> Vec<SimRecord> {
    Simulator::new(config, rows).unwrap().records().collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let rows = cohort();
    let a = all(config(), &rows);
    let b = all(config(), &rows);
    assert_eq!(a, b);
    let c = all(
        SimConfig {
            seed: 43,
            ..config()
        },
        &rows,
    );
    assert_ne!(
        a.iter().map(|r| &r.payload).collect::<Vec<_>>(),
        c.iter().map(|r| &r.payload).collect::<Vec<_>>()
    );
}

#[test]
fn malformed_records_do_not_change_the_real_stream() {
    let rows = cohort();
    let clean = all(
        SimConfig {
            malformed: 0.0,
            ..config()
        },
        &rows,
    );
    let dirty = all(
        SimConfig {
            malformed: 0.3,
            ..config()
        },
        &rows,
    );
    let real: Vec<_> = dirty
        .iter()
        .filter(|r| !matches!(r.kind, RecordKind::Malformed(_)))
        .cloned()
        .collect();
    assert!(dirty.len() > clean.len() + clean.len() / 10);
    assert_eq!(real, clean);
}

#[test]
fn every_message_parses_and_every_malformed_record_fails() {
    let rows = cohort();
    let records = all(
        SimConfig {
            malformed: 0.3,
            ..config()
        },
        &rows,
    );
    let mut kinds = HashSet::new();
    let mut control_ids = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        match r.kind {
            RecordKind::Malformed(kind) => {
                kinds.insert(kind);
                let rejected = match Message::parse(&r.payload) {
                    Err(_) => true,
                    Ok(msg) => match AdtEvent::from_message(&msg) {
                        Err(_) => true,
                        Ok(ev) => ev.patient_key().is_none(),
                    },
                };
                assert!(rejected, "malformed record {i} ({kind:?}) was accepted");
            }
            _ => {
                let msg = Message::parse(&r.payload)
                    .unwrap_or_else(|e| panic!("record {i} ({:?}): {e}", r.role));
                let ev = AdtEvent::from_message(&msg).unwrap();
                assert_eq!(ev.trigger_code.as_str(), r.trigger);
                assert_eq!(ev.version.as_deref(), Some("2.5"));
                let key = ev.patient_key().unwrap();
                assert_eq!(key.identifier_type.as_deref(), Some("MR"));
                assert_eq!(key.assigning_authority.as_deref(), Some("READMIT_SIM"));
                let control = ev.control_id.as_deref().unwrap().to_string();
                let prior = control_ids.insert(control, r.payload.clone());
                if r.role == Role::Duplicate {
                    assert_eq!(prior.as_ref(), Some(&r.payload), "duplicate {i}");
                } else {
                    assert!(prior.is_none(), "control ID reused at record {i}");
                }
            }
        }
    }
    assert_eq!(kinds.len(), MalformedKind::ALL.len(), "{kinds:?}");
}

#[test]
fn index_messages_carry_the_documented_fields() {
    let rows = vec![row(
        777,
        4242,
        "[70-80)",
        (1, 2, 1),
        ("8", "250.1", "?"),
        5,
        "NO",
    )];
    let records = all(SimConfig::default(), &rows);
    let a03: Vec<_> = records
        .iter()
        .filter(|r| r.kind == RecordKind::IndexDischarge)
        .collect();
    assert_eq!(a03.len(), 1);
    let msg = Message::parse(&a03[0].payload).unwrap();
    let msh = msg.segment("MSH").unwrap();
    assert_eq!(msh.value(3, 1).as_deref(), Some("SIM_EHR"));
    assert_eq!(msh.value(5, 1).as_deref(), Some("READMIT"));
    assert_eq!(msh.value(9, 3).as_deref(), Some("ADT_A03"));
    assert_eq!(msh.value(11, 1).as_deref(), Some("P"));
    let facility = msh.value(4, 1).unwrap().into_owned();
    let pid = msg.segment("PID").unwrap();
    assert_eq!(pid.value(3, 1).as_deref(), Some("4242"));
    assert_eq!(pid.value(8, 1).as_deref(), Some("F"));
    assert_eq!(pid.value(10, 1).as_deref(), Some("2054-5"));
    let zip = pid.value(11, 5).unwrap().into_owned();
    let county = pid.value(11, 9).unwrap().into_owned();
    let areas = readmit::simulate::Area::defaults();
    assert!(areas.iter().any(|a| a.zip == zip && a.county == county));
    let pv1 = msg.segment("PV1").unwrap();
    assert_eq!(pv1.value(2, 1).as_deref(), Some("I"));
    assert_eq!(pv1.value(3, 4).as_deref(), Some(facility.as_str()));
    assert_eq!(pv1.value(4, 1).as_deref(), Some("E"));
    assert_eq!(pv1.value(14, 1).as_deref(), Some("7"));
    assert_eq!(pv1.value(19, 1).as_deref(), Some("777"));
    assert_eq!(pv1.value(36, 1).as_deref(), Some("06"));
    let admit = pv1.value(44, 1).unwrap().into_owned();
    let discharge = pv1.value(45, 1).unwrap().into_owned();
    let days = |s: &str| {
        readmit::hl7::Timestamp::parse(s)
            .unwrap()
            .days_since_epoch()
    };
    assert_eq!(days(&discharge) - days(&admit), 4);
    let dg1: Vec<_> = msg.segments_named("DG1").collect();
    assert_eq!(dg1.len(), 5);
    let codes: Vec<_> = dg1
        .iter()
        .map(|d| {
            (
                d.value(3, 1).map(|c| c.into_owned()),
                d.value(15, 1).unwrap().into_owned(),
            )
        })
        .collect();
    assert_eq!(codes[0], (Some("008".into()), "1".into()));
    assert_eq!(codes[1], (Some("250.10".into()), "2".into()));
    assert_eq!(codes[2], (None, "3".into()));
    assert_eq!(codes[4], (None, "5".into()));
    assert_eq!(dg1[0].value(3, 3).as_deref(), Some("I9C"));
    assert_eq!(msg.segments_named("PR1").count(), 2);
    // Birth date puts the age at discharge in [70-80).
    let birth = pid.value(7, 1).unwrap().into_owned();
    let b = readmit::hl7::Timestamp::parse(&birth).unwrap();
    let d = readmit::hl7::Timestamp::parse(&discharge).unwrap();
    let mut age = i32::from(d.year()) - i32::from(b.year());
    if (d.month(), d.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    assert!((70..80).contains(&age), "age {age}");
    // Prior visits use their own visit-number scheme.
    let prior: Vec<String> = records
        .iter()
        .filter(|r| {
            matches!(
                r.role,
                Role::PriorEmergency | Role::PriorOutpatient | Role::PriorAdmit
            )
        })
        .map(|r| {
            let m = Message::parse(&r.payload).unwrap();
            m.segment("PV1").unwrap().value(19, 1).unwrap().into_owned()
        })
        .collect();
    let mut prior = prior;
    prior.sort();
    assert_eq!(prior, ["P777-1", "P777-2", "P777-3", "P777-4"]);
}

#[test]
fn readmissions_follow_the_label() {
    let rows = cohort();
    let records = all(config(), &rows);
    let label: HashMap<u64, &str> = rows
        .iter()
        .map(|r| (r.encounter_id, r.readmitted.as_str()))
        .collect();
    let mut discharge = HashMap::new();
    let mut seen = HashSet::new();
    for r in &records {
        let enc = r.encounter_id.unwrap();
        match r.role {
            Role::IndexDischarge => {
                discharge.insert(enc, r.event_minute);
            }
            Role::ReadmitAdmit => {
                let gap = r.event_minute - discharge[&enc];
                match label[&enc] {
                    "<30" => assert!((1..=30 * 1440).contains(&gap), "gap {gap}"),
                    ">30" => assert!(gap > 30 * 1440 && gap <= 91 * 1440, "gap {gap}"),
                    other => panic!("readmission for label {other}"),
                }
                let pv1_class = {
                    let m = Message::parse(&r.payload).unwrap();
                    m.segment("PV1").unwrap().value(2, 1).unwrap().into_owned()
                };
                assert_eq!(pv1_class, "I");
                seen.insert(enc);
            }
            _ => {}
        }
    }
    for row in &rows {
        assert_eq!(
            seen.contains(&row.encounter_id),
            row.readmitted != "NO",
            "encounter {}",
            row.encounter_id
        );
    }
}

#[test]
fn patients_are_time_ordered_and_encounters_800_days_apart() {
    let rows = cohort();
    let records = all(
        SimConfig {
            malformed: 0.0,
            ..config()
        },
        &rows,
    );
    let mut last: HashMap<u64, i64> = HashMap::new();
    let mut admits: HashMap<u64, Vec<i64>> = HashMap::new();
    let mut order = Vec::new();
    for r in &records {
        if order.last() != Some(&r.patient_nbr) {
            assert!(!order.contains(&r.patient_nbr), "patient emitted twice");
            order.push(r.patient_nbr);
        }
        if r.role != Role::Duplicate {
            let prev = last
                .insert(r.patient_nbr, r.event_minute)
                .unwrap_or(i64::MIN);
            assert!(r.event_minute >= prev, "out of order");
        }
        if r.role == Role::IndexAdmit {
            admits
                .entry(r.patient_nbr)
                .or_default()
                .push(r.event_minute);
        }
    }
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted);
    for list in admits.values() {
        for w in list.windows(2) {
            assert!(w[1] - w[0] >= 800 * 1440 - 1440, "{}", w[1] - w[0]);
        }
    }
}

#[test]
fn split_and_patient_limit_select_by_patient_nbr() {
    let rows = cohort();
    let sim = Simulator::new(
        SimConfig {
            split: SplitChoice::Test,
            max_patients: Some(3),
            ..SimConfig::default()
        },
        &rows,
    )
    .unwrap();
    let mut want: Vec<u64> = rows
        .iter()
        .map(|r| r.patient_nbr)
        .filter(|p| p % 5 == 0)
        .collect();
    want.sort_unstable();
    want.dedup();
    want.truncate(3);
    let got: Vec<u64> = sim
        .index_encounters()
        .iter()
        .map(|e| e.patient_nbr)
        .collect();
    let mut got_dedup = got.clone();
    got_dedup.dedup();
    assert_eq!(got_dedup, want);
    assert_eq!(sim.patient_count(), 3);
    assert_eq!(sim.encounter_count(), got.len());
}

#[test]
fn unframed_file_splits_back_into_the_same_records() {
    let rows = cohort();
    let records = all(
        SimConfig {
            malformed: 0.3,
            malformed_kinds: MalformedKind::MSH_LED.to_vec(),
            ..config()
        },
        &rows,
    );
    let mut file = Vec::new();
    for r in &records {
        file.extend_from_slice(&r.payload);
        file.push(b'\n');
    }
    let items: Vec<&[u8]> = split_messages(&file).collect();
    assert_eq!(items.len(), records.len());
    let mut builder = ManifestBuilder::new(42, 0, Vec::new());
    for r in &records {
        builder.observe(r);
    }
    let m = builder.finish();
    assert_eq!(m.records as usize, records.len());
    for entry in &m.malformed {
        assert!(matches!(
            records[entry.record as usize].kind,
            RecordKind::Malformed(_)
        ));
    }
    for (r, item) in records.iter().zip(&items) {
        if !matches!(r.kind, RecordKind::Malformed(_)) {
            let ev = AdtEvent::from_message(&Message::parse(item).unwrap()).unwrap();
            assert_ne!(ev.trigger, Trigger::Other);
        }
    }
}

#[test]
fn invalid_settings_are_rejected_without_values() {
    let rows = cohort();
    let err = Simulator::new(
        SimConfig {
            sprinkle: 1.5,
            ..SimConfig::default()
        },
        &rows,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "simulator setting sprinkle is invalid: must be a fraction between 0 and 1"
    );
    let mut bad = rows.clone();
    bad[3].admission_type_id = 9;
    let err = Simulator::new(SimConfig::default(), &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "dataset row 3 column admission_type_id: outside the dataset's code table"
    );
}
