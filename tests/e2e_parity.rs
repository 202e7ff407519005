//! The parity requirement, end to end through Kafka: the simulated TEST split (patient_nbr % 5
//! == 0) goes through `readmit::service::run`, and for every eligible index discharge the
//! risk-score record's features and probability equal what the offline path computes from the
//! dataset row (`DatasetRow` → `to_discharge`/`to_history` → `features::extract` →
//! `LinearScorer::score`). The AUROC over the stream's outcome records equals the offline
//! AUROC of the same encounters.
//!
//! Runs on the in-process mock cluster, or on `KAFKA_BOOTSTRAP_SERVERS`. Patients: env
//! `READMIT_PARITY_PATIENTS` (a number, or `all` for the whole split; default 3000). Skips with
//! a printed reason when the vendored data file is missing. With `all`, the stream's AUROC is
//! also checked against `readmit evaluate`'s test AUROC (same n, |Δ| ≤ 1e-9); CI runs it so on
//! tansu.

mod common;
#[path = "common/e2e.rs"]
mod e2e;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use readmit::alerts::AlertKind;
use readmit::features::{self, FEATURES};
use readmit::model::dataset::{self, Split};
use readmit::model::evaluate::evaluate;
use readmit::model::metrics::auroc;
use readmit::model::Scorer;
use readmit::pipeline::records::OutcomeKind;
use readmit::simulate::{load_rows, RecordKind, SimConfig, Simulator, SplitChoice};

use common::TestKafka;

const DEFAULT_PATIENTS: usize = 3_000;

fn max_patients() -> Option<usize> {
    match std::env::var("READMIT_PARITY_PATIENTS") {
        Ok(v) if v.trim().eq_ignore_ascii_case("all") => None,
        Ok(v) => Some(
            v.trim()
                .parse()
                .expect("READMIT_PARITY_PATIENTS: a number or `all`"),
        ),
        Err(_) => Some(DEFAULT_PATIENTS),
    }
}

/// Offline truth of one index encounter.
struct Offline {
    eligible: bool,
    label: bool,
    features: Vec<f64>,
    probability: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_scores_equal_offline_scores_for_every_index_discharge() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/diabetes130/diabetic_data.csv.gz");
    if !data.exists() {
        eprintln!("skipping: {} not found", data.display());
        return;
    }
    let started = Instant::now();
    let rows = load_rows(&data).unwrap();
    let config = SimConfig {
        split: SplitChoice::Test,
        max_patients: max_patients(),
        sprinkle: 0.0,
        malformed: 0.0,
        ..SimConfig::default()
    };
    let sim = Simulator::new(config, &rows).unwrap();
    let records: Vec<_> = sim.records().collect();
    let index_ids: BTreeSet<u64> = records
        .iter()
        .filter(|r| r.kind == RecordKind::IndexDischarge)
        .map(|r| r.encounter_id.unwrap())
        .collect();
    assert_eq!(
        index_ids.len(),
        sim.encounter_count(),
        "one index A03 per row"
    );

    // Offline path, straight from the CSV rows.
    let scorer = e2e::scorer();
    let by_id: HashMap<u64, _> = rows.iter().map(|r| (r.encounter_id, r)).collect();
    let mut offline: BTreeMap<u64, Offline> = BTreeMap::new();
    for &id in &index_ids {
        let row = by_id[&id];
        let discharge = row.to_discharge().unwrap();
        let fv = features::extract(&discharge, &row.to_history()).unwrap();
        let score = scorer.score(&fv).unwrap();
        offline.insert(
            id,
            Offline {
                // One rule everywhere: death/hospice, transfers to another acute hospital
                // (02/82) and "still a patient" (30) are not index discharges.
                eligible: discharge.is_index_eligible(),
                label: row.label().unwrap(),
                features: fv.values().to_vec(),
                probability: score.probability,
            },
        );
    }
    let eligible: BTreeSet<String> = offline
        .iter()
        .filter(|(_, o)| o.eligible)
        .map(|(id, _)| id.to_string())
        .collect();
    let ineligible = offline.len() - eligible.len();
    // The simulator's manifest, training and the stream share one eligibility rule.
    let mut manifest_disagreements = 0usize;
    for e in sim.index_encounters() {
        if e.index_eligible != offline[&e.encounter_id].eligible {
            manifest_disagreements += 1;
            eprintln!(
                "manifest: encounter {} eligible {} offline {}",
                e.encounter_id, e.index_eligible, offline[&e.encounter_id].eligible
            );
        }
    }
    assert_eq!(manifest_disagreements, 0, "manifest vs offline eligibility");
    let transfers: Vec<&Offline> = offline
        .iter()
        .filter(|(id, _)| by_id[*id].discharge_disposition_id == 2)
        .map(|(_, o)| o)
        .collect();
    assert!(
        !transfers.is_empty(),
        "no transfer to another hospital simulated"
    );
    assert!(
        transfers.iter().all(|o| !o.eligible),
        "a transfer to another hospital counts as an index discharge"
    );

    // Stream path.
    let kafka = TestKafka::start(1);
    let s = e2e::settings(&kafka, "parity");
    e2e::create_topics(&kafka, &s, 3).await;
    let items: Vec<(Vec<u8>, Vec<u8>)> = records
        .iter()
        .map(|r| (r.key.clone(), r.payload.clone()))
        .collect();
    let produced = items.len() as u64;
    let running = e2e::start(&s);
    let ends = e2e::produce_tracked(&kafka, &s.topics.input, &items).await;
    e2e::wait_committed(&kafka, &s.kafka.group_id, &s.topics.input, &ends).await;
    // Every input is committed, so every output is acknowledged: read until idle.
    let scores = kafka
        .read_until_idle(
            &s.topics.risk_scores,
            1,
            Duration::from_secs(3),
            e2e::TIMEOUT,
        )
        .await;
    let outcome_records =
        e2e::read_until(&kafka, &s.topics.outcomes, Duration::from_secs(2), |_| true).await;
    let summary = running.stop().await;
    e2e::assert_counts(&summary, produced);

    let scores = e2e::risk_scores(&scores);
    let mut by_visit: BTreeMap<String, Vec<&readmit::pipeline::records::RiskScoreRecord>> =
        BTreeMap::new();
    for r in &scores {
        if r.kind == AlertKind::Discharge {
            if let Some(v) = &r.visit_number {
                if index_ids.contains(&v.parse().unwrap_or(u64::MAX)) {
                    by_visit.entry(v.clone()).or_default().push(r);
                }
            }
        }
    }
    let mut readmitted: BTreeMap<String, i64> = BTreeMap::new();
    for o in e2e::outcomes(&outcome_records) {
        let d = match o.kind {
            OutcomeKind::Readmitted => 1,
            OutcomeKind::ReadmissionCancelled => -1,
        };
        *readmitted.entry(o.alert_id).or_insert(0) += d;
    }

    let mut compared = 0usize;
    let mut missing = 0usize;
    let mut mismatches = 0usize;
    let (mut stream_scores, mut stream_labels) = (Vec::new(), Vec::new());
    let (mut offline_scores, mut offline_labels) = (Vec::new(), Vec::new());
    let mut label_disagreements = 0usize;
    for (id, o) in &offline {
        let visit = id.to_string();
        let got = by_visit.get(&visit);
        if !o.eligible {
            assert!(got.is_none(), "ineligible index encounter {id} was scored");
            continue;
        }
        let Some(got) = got else {
            missing += 1;
            if missing <= 10 {
                eprintln!(
                    "missing: index discharge {id} (discharge_disposition_id {}) has no risk score",
                    by_id[id].discharge_disposition_id
                );
            }
            continue;
        };
        let r = got[0];
        assert!(
            got.iter().all(|x| x.features == r.features),
            "{id}: redelivered scores differ"
        );
        compared += 1;
        let p = r.probability.expect("discharge carries a probability");
        let first_diff =
            (0..features::N_FEATURES).find(|&i| r.features.get(i) != o.features.get(i));
        let prob_ok = (p - o.probability).abs() <= 1e-6;
        if first_diff.is_some() || !prob_ok || r.features.len() != o.features.len() {
            mismatches += 1;
            if mismatches <= 20 {
                let name = first_diff.map_or("-", |i| FEATURES[i].name);
                eprintln!(
                    "mismatch: encounter {id}: stream p={p} offline p={}; first differing feature: {name} (stream {:?} offline {:?})",
                    o.probability,
                    first_diff.and_then(|i| r.features.get(i)),
                    first_diff.and_then(|i| o.features.get(i)),
                );
            }
        }
        let stream_label = readmitted.get(&r.alert_id).copied().unwrap_or(0) > 0;
        if stream_label != o.label {
            label_disagreements += 1;
            if label_disagreements <= 10 {
                eprintln!(
                    "label: encounter {id}: stream outcome {stream_label}, dataset {}",
                    o.label
                );
            }
        }
        stream_scores.push(p);
        stream_labels.push(stream_label);
        offline_scores.push(o.probability);
        offline_labels.push(o.label);
    }
    let auroc_stream = auroc(&stream_scores, &stream_labels);
    let auroc_offline = auroc(&offline_scores, &offline_labels);
    eprintln!(
        "parity: patients {}, inputs {produced}, index discharges {}, eligible {}, excluded \
         (death/hospice/transfer) {ineligible}, compared {compared}, missing {missing}, mismatches {mismatches}, label \
         disagreements {label_disagreements}, AUROC stream {auroc_stream:.9} offline \
         {auroc_offline:.9}, outcomes {:?}, {:.1} s",
        sim.patient_count(),
        offline.len(),
        eligible.len(),
        summary.outcomes,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(mismatches, 0, "feature/probability mismatches");
    assert_eq!(missing, 0, "eligible index discharges without a risk score");
    assert_eq!(
        compared,
        eligible.len(),
        "every eligible index discharge compared"
    );
    assert!(compared > 0);
    assert_eq!(label_disagreements, 0, "stream outcomes vs dataset labels");
    assert!(
        (auroc_stream - auroc_offline).abs() <= 1e-9,
        "AUROC stream {auroc_stream} vs offline {auroc_offline}"
    );
    if max_patients().is_none() {
        // The whole test split: the stream's AUROC is `readmit evaluate`'s test AUROC, over
        // the same encounters.
        let data = dataset::load(&data, Some(dataset::EXPECTED_SHA256), None).unwrap();
        let test = data.split(Split::Test);
        let probs: Vec<f64> = test
            .iter()
            .map(|e| scorer.probability(e.features.values()))
            .collect();
        let report = evaluate(&test, &probs);
        eprintln!(
            "parity (whole test split): evaluate n {} AUROC {:.9}; stream compared {compared} AUROC {auroc_stream:.9}",
            report.n, report.auroc
        );
        assert_eq!(
            compared, report.n,
            "stream index discharges vs evaluate's n"
        );
        assert!(
            (auroc_stream - report.auroc).abs() <= 1e-9,
            "AUROC stream {auroc_stream} vs readmit evaluate {}",
            report.auroc
        );
    }
}
