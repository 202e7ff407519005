//! Criterion benches of every stage after parsing, and of one whole message through the
//! in-memory [`Pipeline`] (no Kafka): history update, feature extraction, scoring, alert
//! encoding (JSON and FHIR), parse + features + score of a typical A03, and one A03 through
//! `Pipeline::handle` (parse, ADT event, history, features, score, routing, pseudonyms, alert
//! and audit JSON, changelog encoding).
//!
//! Run: `cargo bench --bench pipeline`. Targets (issue 8): parse + features + score of a typical
//! A03 ≤ 2 µs; the whole in-memory pipeline for one message ≤ 5 µs. The model is the committed
//! artifact; the message is the typical A03 of `benches/adt.rs` (MSH, EVN, PID, PV1 with admit
//! and discharge times, three ICD-10 DG1, one PR1).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use readmit::adt::AdtEvent;
use readmit::alerts::{
    fhir, Alert, AlertFormat, AlertKind, Collaborative, EventTime, Interventions, PatientRef,
    Pseudonymizer, Reason, Routing, Rule, Tier, ALERT_SCHEMA_VERSION,
};
use readmit::features::{self, History};
use readmit::hl7::Message;
use readmit::model::{LinearScorer, Scorer};
use readmit::pipeline::records::{self, RiskScoreRecord};
use readmit::pipeline::{Pipeline, PipelineOptions};
use readmit::runtime::InboundMessage;
use readmit::state::{self, Change, EncounterClass, PartitionState};

/// The `readmit` binary's allocator, so allocation costs what it costs in the service.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const A03: &str = concat!(
    "MSH|^~\\&|EPICADT|GENHOSP^2.16.840.1.113883.3.72^ISO|READMIT|COLLAB|20260105101500-0500||ADT^A03^ADT_A03|MSG-000123456|P|2.5.1|||AL|NE||UNICODE UTF-8\r",
    "EVN|A03|20260105101500-0500|||OP123^Nurse^Nancy|20260105100000-0500|GENHOSP\r",
    "PID|1||MRN00123456^^^GENHOSP^MR~999887777^^^SSA^SS||Doe^Jane^Q^^^^L||19480317|F||2106-3^White^CDCREC|123 Main St^Apt 4^Springfield^MA^01105^USA^H^^25013||^PRN^PH^^1^413^5551234|||M^Married|CHR|ACCT7788990^^^GENHOSP^AN|||||||||||N\r",
    "PV1|1|I|4W^412^B^GENHOSP^^^MAIN^4|E^Emergency|||1234567890^Attend^Alice^^^Dr^MD|||MED||||7^Emergency room|||1234567890^Attend^Alice^^^Dr^MD|IN|V000998877^^^GENHOSP^VN|MCR||||||||||||||||06^Home health|||GENHOSP|||||20260101083000-0500|20260105100000-0500\r",
    "DG1|1|I10|I50.23^Acute on chronic systolic heart failure^I10||20260101|A|||||||||1\r",
    "DG1|2|I10|N17.9^Acute kidney failure, unspecified^I10||20260102|W|||||||||2\r",
    "DG1|3|I10|E11.22^Type 2 diabetes mellitus with diabetic CKD^I10||20260105|F|||||||||3\r",
    "PR1|1|I10P|5A1D70Z^Performance of urinary filtration, intermittent^I10P|Hemodialysis|20260102143000-0500|A\r",
);

/// The same patient's earlier ED visit (A04 + A03), so the discharge has prior use to count.
const PRIOR_ED: [&str; 2] = [
    concat!(
        "MSH|^~\\&|EPICADT|GENHOSP|READMIT|COLLAB|20251201100000-0500||ADT^A04^ADT_A01|MSG-000100001|P|2.5.1\r",
        "EVN|A04|20251201100000-0500\r",
        "PID|1||MRN00123456^^^GENHOSP^MR||Doe^Jane^Q^^^^L||19480317|F|||123 Main St^^Springfield^MA^01105^USA^H\r",
        "PV1|1|E|ED^1^1^GENHOSP|E|||||||||||||||V000900001^^^GENHOSP^VN|||||||||||||||||||||||||20251201100000-0500\r",
    ),
    concat!(
        "MSH|^~\\&|EPICADT|GENHOSP|READMIT|COLLAB|20251201180000-0500||ADT^A03^ADT_A03|MSG-000100002|P|2.5.1\r",
        "EVN|A03|20251201180000-0500\r",
        "PID|1||MRN00123456^^^GENHOSP^MR||Doe^Jane^Q^^^^L||19480317|F|||123 Main St^^Springfield^MA^01105^USA^H\r",
        "PV1|1|E|ED^1^1^GENHOSP|E|||||||||||||||V000900001^^^GENHOSP^VN|||||||||||||||||01||||||||20251201100000-0500|20251201180000-0500\r",
    ),
];

const KEY: &[u8] = b"bench pseudonym key of 32 bytes.";

fn scorer() -> LinearScorer {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/readmit-lr-v1/model.json"
    );
    LinearScorer::load(std::path::Path::new(path)).expect("committed model artifact")
}

fn inbound(offset: i64, payload: &str) -> InboundMessage {
    InboundMessage {
        topic: "adt.events".into(),
        partition: 0,
        offset,
        key: Some(b"GENHOSP|MRN00123456".to_vec()),
        payload: Some(payload.as_bytes().to_vec()),
        timestamp_ms: Some(1_767_625_200_000),
        headers: Vec::new(),
    }
}

/// A pipeline whose one collaborative takes every tier from GENHOSP, in the given format.
fn pipeline(format: AlertFormat) -> Pipeline {
    let routing = Routing {
        collaboratives: vec![Collaborative {
            name: "west".into(),
            tiers: vec![Tier::Low, Tier::Moderate, Tier::High],
            receives_mrn: false,
            receives_zip: false,
            format,
        }],
        rules: vec![Rule {
            collaboratives: vec!["west".into()],
            facilities: vec!["GENHOSP".into()],
            zips: vec![],
            counties: vec![],
        }],
    };
    Pipeline::new(
        PipelineOptions {
            routing,
            ..PipelineOptions::default()
        },
        Arc::new(scorer()),
        Pseudonymizer::new(KEY).expect("key"),
    )
}

/// A partition state holding the patient's prior ED visit.
fn state_with_history(p: &Pipeline) -> PartitionState {
    let mut state = PartitionState::default();
    for (i, m) in PRIOR_ED.iter().enumerate() {
        let out = p.handle(&mut state, &inbound(i as i64, m));
        assert_eq!(out.outcome, "history_only", "prior visit {i}");
    }
    state
}

fn alert() -> Alert {
    let discharged = EventTime {
        local_minutes: 20_458 * 1440 + 10 * 60,
        offset_minutes: Some(-300),
    };
    Alert {
        schema_version: ALERT_SCHEMA_VERSION,
        alert_id: "5f0c2d9e41a7b3c8d2e6f90a1b4c7d3e".into(),
        kind: AlertKind::Discharge,
        probability: Some(0.2734),
        tier: Some(Tier::High),
        reasons: vec![
            Reason {
                code: "prior_inpatient_admissions".into(),
                text: "2 inpatient admissions in prior 12 months".into(),
            },
            Reason {
                code: "comorbidity".into(),
                text: "Charlson comorbidity index 4".into(),
            },
            Reason {
                code: "prior_ed_visits".into(),
                text: "3 ED visits in prior 6 months".into(),
            },
        ],
        interventions: Interventions::default().plan(Tier::High, Some(&discharged), false),
        facility: Some("GENHOSP".into()),
        discharged_at: Some(discharged.iso()),
        disposition: Some("home health (06)".into()),
        model_version: "readmit-lr-v1".into(),
        collaborative: "west".into(),
        patient: PatientRef {
            pseudonym: "1e81837e4fc19c6fb9e377f15591e321".into(),
            mrn: None,
            assigning_authority: None,
            zip: Some("011".into()),
        },
    }
}

fn bench(c: &mut Criterion) {
    let scorer = scorer();
    let message = Message::parse(A03.as_bytes()).expect("A03 parses");
    let event = AdtEvent::from_message(&message).expect("A03 event");
    let discharge = features::adt::discharge_from_event(&event).expect("discharge");
    let history = History {
        ed_visits_6m: 1,
        ed_visits_12m: 1,
        inpatient_12m: 0,
        outpatient_12m: 0,
    };
    let fv = features::extract(&discharge, &history).expect("features");

    // History update: an A03 applied to a patient with an open inpatient encounter, then the
    // prior-use counts the scorer needs.
    let patient = state::patient_hash(b"GENHOSP|MRN00123456");
    let visit = state::hash_parts(&["GENHOSP", "V000998877"]);
    c.bench_function("history: discharge + prior use", |b| {
        b.iter_batched_ref(
            || {
                let mut s = PartitionState::default();
                s.patient_mut(patient).apply(Change::Admit {
                    visit,
                    class: EncounterClass::Inpatient,
                    at: 29_460_000,
                });
                s
            },
            |s| {
                let h = s.patient_mut(black_box(patient));
                h.apply(Change::Discharge {
                    visit,
                    class: EncounterClass::Inpatient,
                    admitted_at: Some(29_460_000),
                    at: 29_466_000,
                });
                h.prior_use(29_460_000, visit)
            },
            BatchSize::SmallInput,
        )
    });

    c.bench_function("features: extract (A03 discharge)", |b| {
        b.iter(|| features::extract(black_box(&discharge), black_box(&history)))
    });
    c.bench_function("model: score", |b| b.iter(|| scorer.score(black_box(&fv))));

    let alert = alert();
    c.bench_function("alerts: JSON encoding", |b| {
        b.iter(|| black_box(&alert).to_json())
    });
    c.bench_function("alerts: FHIR RiskAssessment encoding", |b| {
        b.iter(|| serde_json::to_vec(&fhir::risk_assessment(black_box(&alert))))
    });
    // The risk-score (audit) record of a scored A03, and its ~115 feature values written the
    // way the record writes them against plain floats (how it wrote them before).
    let audit: RiskScoreRecord = {
        let p = pipeline(AlertFormat::Json);
        let out = p.handle(&mut state_with_history(&p), &inbound(2, A03));
        let record = out
            .records
            .iter()
            .find(|r| &*r.topic == PipelineOptions::default().topics.risk_scores.as_ref())
            .expect("a risk-score record");
        serde_json::from_slice(record.payload.as_deref().expect("payload")).expect("record")
    };
    c.bench_function("audit: risk-score record JSON", |b| {
        b.iter(|| {
            let mut buf = Vec::with_capacity(4096);
            serde_json::to_writer(&mut buf, black_box(&audit)).map(|()| buf)
        })
    });
    c.bench_function("audit: feature values, whole ones as integers", |b| {
        b.iter(|| {
            let mut buf = Vec::with_capacity(4096);
            records::serialize_whole_as_integers(
                black_box(&audit.features),
                &mut serde_json::Serializer::new(&mut buf),
            )
            .map(|()| buf)
        })
    });
    c.bench_function("audit: feature values as floats", |b| {
        b.iter(|| {
            let mut buf = Vec::with_capacity(4096);
            serde_json::to_writer(&mut buf, black_box(&audit.features)).map(|()| buf)
        })
    });

    let pseudonyms = Pseudonymizer::new(KEY).expect("key");
    c.bench_function("alerts: pseudonym + alert id", |b| {
        b.iter(|| {
            let p = pseudonyms.patient(black_box("GENHOSP"), black_box("MRN00123456"));
            let id = pseudonyms.alert_id("GENHOSP", "V000998877", "GENHOSP", "MRN00123456");
            (p, id)
        })
    });

    c.bench_function("A03: parse + features + score", |b| {
        b.iter(|| {
            let message = Message::parse(black_box(A03.as_bytes())).expect("parses");
            let event = AdtEvent::from_message(&message).expect("event");
            let discharge = features::adt::discharge_from_event(&event).expect("discharge");
            let fv = features::extract(&discharge, &history).expect("features");
            scorer.score(&fv)
        })
    });

    for (name, format) in [
        ("pipeline: one A03, JSON alert", AlertFormat::Json),
        ("pipeline: one A03, FHIR alert", AlertFormat::Fhir),
    ] {
        let p = pipeline(format);
        let msg = inbound(2, A03);
        let check = p.handle(&mut state_with_history(&p), &msg);
        assert_eq!(check.outcome, "alerted", "{name}");
        c.bench_function(name, |b| {
            b.iter_batched_ref(
                || state_with_history(&p),
                |state| p.handle(state, black_box(&msg)),
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
