//! Inverse mapping on the vendored Diabetes-130 data: the discharge built from each simulated
//! index A03 equals the one built from its dataset row, and a visit history built from the
//! patient's earlier messages counts exactly the row's prior-year visits.
//!
//! Skips (with a printed reason) when `data/diabetes130/diabetic_data.csv.gz` is missing.
//!
//! The event → `Discharge` conversion is the stream's own, `features::adt::discharge_from_event`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use readmit::adt::{AdtEvent, Trigger};
use readmit::features::codes::{AdmitSource, CodingSystem, Disposition};
use readmit::features::dataset::DatasetRow;
use readmit::features::{self, Discharge};
use readmit::hl7::{Message, Timestamp};
use readmit::simulate::{load_rows, RecordKind, Role, SimConfig, Simulator, SplitChoice};
use readmit::state::{hash_parts, Change, EncounterClass, PatientHistory};

fn rows() -> Option<Vec<DatasetRow>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/diabetes130/diabetic_data.csv.gz");
    if !path.exists() {
        eprintln!("skipping: {} not found", path.display());
        return None;
    }
    Some(load_rows(&path).unwrap())
}

fn ts(v: &readmit::adt::FieldValue<readmit::adt::DateTimeValue>) -> Option<Timestamp> {
    v.timestamp().copied()
}

fn minutes(t: &Timestamp) -> u32 {
    u32::try_from(t.local_epoch_seconds() / 60).unwrap()
}

/// ADT discharge event → `Discharge`: the stream's own conversion.
fn discharge_from_event(ev: &AdtEvent) -> Discharge {
    features::adt::discharge_from_event(ev).unwrap()
}

/// The dataset discharge with the HL7 collapses applied (`features::codes`: admit source
/// 15 → 9, disposition 10 → 2, newborn admissions read PV1-14 1–6 as newborn ids, and so other
/// admissions read a newborn origin's code 1–6 as the plain origin).
fn expected(row: &DatasetRow) -> (Discharge, bool) {
    let mut d = row.to_discharge().unwrap();
    let mut collapsed = false;
    for (from, to) in AdmitSource::COLLAPSED {
        if d.admit_source.id() == from {
            d.admit_source = AdmitSource::from_id(to).unwrap();
            collapsed = true;
        }
    }
    for (from, to) in Disposition::COLLAPSED {
        if d.disposition.id() == from {
            d.disposition = Disposition::from_id(to).unwrap();
            collapsed = true;
        }
    }
    if d.admission_type.is_newborn() && !d.admit_source.is_newborn_id() {
        let newborn = match d.admit_source.id() {
            1 => Some(11),
            2 => Some(12),
            3 => Some(13),
            4 => Some(14),
            5 => Some(23),
            6 => Some(24),
            _ => None,
        };
        if let Some(id) = newborn {
            d.admit_source = AdmitSource::from_id(id).unwrap();
            collapsed = true;
        }
    }
    // And the reverse: a newborn origin on a non-newborn admission reads as the plain code.
    if !d.admission_type.is_newborn() && d.admit_source.is_newborn_id() {
        let plain = match d.admit_source.id() {
            11 => 1,
            12 => 2,
            13 => 3,
            14 => 4,
            23 => 5,
            _ => 6,
        };
        d.admit_source = AdmitSource::from_id(plain).unwrap();
        collapsed = true;
    }
    (d, collapsed)
}

/// The first field that differs, by name.
fn first_mismatch(got: &Discharge, want: &Discharge) -> Option<&'static str> {
    let fields: [(&'static str, bool); 10] = [
        ("age", got.age == want.age),
        ("sex", got.sex == want.sex),
        ("race", got.race == want.race),
        ("admission_type", got.admission_type == want.admission_type),
        ("admit_source", got.admit_source == want.admit_source),
        ("disposition", got.disposition == want.disposition),
        (
            "length_of_stay_days",
            got.length_of_stay_days == want.length_of_stay_days,
        ),
        ("diagnoses", got.diagnoses == want.diagnoses),
        (
            "diagnosis_count",
            got.diagnosis_count == want.diagnosis_count,
        ),
        (
            "procedure_count",
            got.procedure_count == want.procedure_count,
        ),
    ];
    fields.iter().find(|(_, ok)| !ok).map(|(name, _)| *name)
}

/// Patients simulated: enough for well over 2,000 index encounters. Set
/// `READMIT_SIM_PATIENTS=all` (or a number) to check more.
fn patients() -> Option<usize> {
    match std::env::var("READMIT_SIM_PATIENTS").as_deref() {
        Ok("all") => None,
        Ok(n) => Some(n.parse().expect("READMIT_SIM_PATIENTS: a number or all")),
        Err(_) => Some(3_000),
    }
}

#[test]
fn simulated_index_discharges_and_histories_match_the_dataset() {
    let Some(rows) = rows() else { return };
    // Sprinkles on, so A08 / duplicates / A13 + A03 / A40 merges are exercised too.
    let config = SimConfig {
        seed: 7,
        split: SplitChoice::All,
        max_patients: patients(),
        sprinkle: 0.25,
        malformed: 0.05,
        ..SimConfig::default()
    };
    let sim = Simulator::new(config, &rows).unwrap();
    let by_encounter: HashMap<u64, &DatasetRow> =
        rows.iter().map(|r| (r.encounter_id, r)).collect();
    let manifest_eligible: HashMap<u64, bool> = sim
        .index_encounters()
        .into_iter()
        .map(|e| (e.encounter_id, e.index_eligible))
        .collect();
    let mut ineligible = 0usize;

    // Per MRN histories, message dedupe and A40 merges, as the processor keeps them.
    let mut histories: HashMap<String, PatientHistory> = HashMap::new();
    let mut seen_controls: HashSet<(String, String)> = HashSet::new();
    let mut checked = 0usize;
    let mut collapsed = 0usize;
    let mut history_checked = 0usize;
    let mut index_seen: HashSet<u64> = HashSet::new();
    let mut merges = 0usize;
    for record in sim.records() {
        if matches!(record.kind, RecordKind::Malformed(_)) {
            continue;
        }
        let msg = Message::parse(&record.payload).unwrap();
        let ev = AdtEvent::from_message(&msg).unwrap();
        let control = (
            ev.sending_facility.as_deref().unwrap().to_string(),
            ev.control_id.as_deref().unwrap().to_string(),
        );
        if !seen_controls.insert(control) {
            assert_eq!(record.role, Role::Duplicate);
            continue;
        }
        let mrn = ev.patient_key().unwrap().id.as_deref().unwrap().to_string();
        if ev.trigger == Trigger::A40 {
            let retired = ev.merges[0].prior_identifiers[0]
                .id
                .as_deref()
                .unwrap()
                .to_string();
            let old = histories.remove(&retired).unwrap();
            histories.entry(mrn).or_default().absorb(old);
            merges += 1;
            continue;
        }
        let pv1 = ev.visit.as_ref().unwrap();
        let facility = pv1.facility.as_deref().unwrap();
        let visit = hash_parts(&[facility, pv1.visit_number.as_deref().unwrap()]);
        let class = EncounterClass::from_hl7(pv1.patient_class.as_deref());
        let admitted = ts(&pv1.admit_datetime).map(|t| minutes(&t));
        let history = histories.entry(mrn).or_default();
        let row = by_encounter[&record.encounter_id.unwrap()];
        if record.role == Role::IndexAdmit {
            let use_ = history.prior_use(admitted.unwrap(), visit);
            assert_eq!(
                (
                    use_.emergency_12m,
                    use_.emergency_6m,
                    use_.inpatient_12m,
                    use_.outpatient_12m
                ),
                (
                    row.number_emergency,
                    row.number_emergency,
                    row.number_inpatient,
                    row.number_outpatient
                ),
                "prior use of encounter {}",
                row.encounter_id
            );
            history_checked += 1;
        }
        match ev.trigger {
            Trigger::A01 | Trigger::A04 => {
                history.apply(Change::Admit {
                    visit,
                    class,
                    at: admitted.unwrap(),
                });
            }
            Trigger::A03 => {
                history.apply(Change::Discharge {
                    visit,
                    class,
                    admitted_at: admitted,
                    at: minutes(&ts(&pv1.discharge_datetime).unwrap()),
                });
            }
            Trigger::A13 => {
                history.apply(Change::CancelDischarge { visit });
            }
            Trigger::A08 => {
                history.apply(Change::Update {
                    visit,
                    class: Some(class),
                    admitted_at: admitted,
                    discharged_at: ts(&pv1.discharge_datetime).map(|t| minutes(&t)),
                });
            }
            other => panic!("unexpected trigger {other:?}"),
        }
        if matches!(
            record.role,
            Role::IndexDischarge | Role::IndexDischargeResent | Role::Update
        ) {
            assert_eq!(
                pv1.visit_number.as_deref(),
                Some(row.encounter_id.to_string().as_str())
            );
            let got = discharge_from_event(&ev);
            let (want, was_collapsed) = expected(row);
            if let Some(field) = first_mismatch(&got, &want) {
                panic!(
                    "encounter {} ({:?}): field {field} differs",
                    row.encounter_id, record.role
                );
            }
            if record.kind == RecordKind::IndexDischarge {
                assert!(index_seen.insert(row.encounter_id), "two index A03");
                // The manifest and the stream apply the same eligibility rule.
                assert_eq!(
                    manifest_eligible[&row.encounter_id],
                    got.is_index_eligible(),
                    "eligibility of encounter {}",
                    row.encounter_id
                );
                ineligible += usize::from(!got.is_index_eligible());
                checked += 1;
                collapsed += usize::from(was_collapsed);
            }
        }
    }
    assert_eq!(checked, sim.encounter_count());
    assert_eq!(history_checked, checked);
    assert!(checked >= 2_000, "only {checked} rows checked");
    assert!(merges > 0);
    assert!(ineligible > 0, "no ineligible index discharge simulated");
    println!(
        "checked {checked} index discharges ({collapsed} with documented code collapses, \
         {ineligible} not index-eligible), {history_checked} prior-use histories, {merges} A40 merges"
    );
}

#[test]
fn icd10_stream_keeps_groups_and_charlson() {
    let Some(rows) = rows() else { return };
    let config = SimConfig {
        seed: 9,
        max_patients: patients(),
        icd10: true,
        ..SimConfig::default()
    };
    let sim = Simulator::new(config, &rows).unwrap();
    let by_encounter: HashMap<u64, &DatasetRow> =
        rows.iter().map(|r| (r.encounter_id, r)).collect();
    let (mut checked, mut icd10_codes) = (0usize, 0usize);
    for record in sim.records() {
        if record.kind != RecordKind::IndexDischarge {
            continue;
        }
        let msg = Message::parse(&record.payload).unwrap();
        let ev = AdtEvent::from_message(&msg).unwrap();
        let row = by_encounter[&record.encounter_id.unwrap()];
        let mut got = discharge_from_event(&ev);
        let (mut want, _) = expected(row);
        assert_eq!(got.diagnoses.len(), want.diagnoses.len());
        for (g, w) in got.diagnoses.iter().zip(&want.diagnoses) {
            assert_eq!(g.priority, w.priority);
            assert_eq!(
                g.code.group(),
                w.code.group(),
                "encounter {}",
                row.encounter_id
            );
            assert_eq!(
                g.code.charlson(),
                w.code.charlson(),
                "encounter {}",
                row.encounter_id
            );
            icd10_codes += usize::from(g.code.system() == CodingSystem::Icd10);
        }
        got.diagnoses.clear();
        want.diagnoses.clear();
        assert_eq!(
            first_mismatch(&got, &want),
            None,
            "encounter {}",
            row.encounter_id
        );
        checked += 1;
    }
    assert!(checked >= 2_000);
    assert!(icd10_codes > checked / 2, "{icd10_codes} ICD-10 codes");
    println!("icd10: checked {checked} index discharges, {icd10_codes} ICD-10-CM codes");
}
