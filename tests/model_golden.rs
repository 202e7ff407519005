//! Model golden tests: fixed feature vectors give fixed scores (committed artifact and a
//! hand-built one), the artifact round-trips, a schema mismatch is refused with both versions
//! named, the scorer is `Send + Sync`, and training twice gives byte-identical artifacts.

use std::path::Path;

use readmit::features::codes::{AdmissionType, AdmitSource, AgeDecade, Disposition, Race, Sex};
use readmit::features::icd::DxCode;
use readmit::features::{
    extract, feature_index, Diagnosis, Discharge, FeatureVector, History, FEATURE_NAMES,
    FEATURE_SCHEMA_VERSION, N_FEATURES,
};
use readmit::model::artifact::{
    ArtifactMetrics, Exclusions, LinearModel, Platt, Thresholds, TrainParams,
};
use readmit::model::evaluate::Report;
use readmit::model::train::{train, ForestParams, TrainOptions};
use readmit::model::{dataset, Artifact, LinearScorer, ModelError, RiskTier, Scorer};

const COMMITTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/readmit-lr-v1/model.json"
);

fn hand_artifact() -> Artifact {
    let mut coefficients = vec![0.0; N_FEATURES];
    coefficients[feature_index("ed_6m").unwrap()] = 0.5;
    coefficients[feature_index("disp_left_ama").unwrap()] = 1.0;
    coefficients[feature_index("los_days").unwrap()] = 0.1;
    Artifact {
        name: "readmit-test".into(),
        model_version: 7,
        feature_schema_version: FEATURE_SCHEMA_VERSION,
        feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        training_data_sha256: "00".repeat(32),
        linear: LinearModel {
            intercept: -2.0,
            coefficients,
            means: vec![0.0; N_FEATURES],
        },
        calibration: Platt { a: 1.0, b: 0.0 },
        thresholds: Thresholds {
            low_below: 0.11,
            high_at_or_above: 0.25,
        },
        training_distributions: None,
        params: TrainParams {
            learner: "hand".into(),
            alpha: 0.0,
            max_iterations: 0,
            gradient_tolerance_per_row: 0.0,
            cv_folds: 0,
            row_limit: None,
            calibration: "none".into(),
            candidates: vec![],
            convergence: vec![],
        },
        metrics: ArtifactMetrics {
            cv_auroc: 0.5,
            n_train: 0,
            train_prevalence: 0.11,
            excluded: Exclusions::default(),
            test: Report {
                n: 0,
                prevalence: 0.0,
                auroc: 0.5,
                brier: 0.0,
                calibration_slope: 1.0,
                calibration_intercept: 0.0,
                lace_auroc: 0.5,
                subgroups: vec![],
            },
        },
    }
}

fn vector(pairs: &[(&str, f64)]) -> FeatureVector {
    let mut v = [0.0; N_FEATURES];
    for (name, x) in pairs {
        v[feature_index(name).unwrap()] = *x;
    }
    FeatureVector::from_values(v)
}

#[test]
fn hand_built_artifact_scores_exactly() {
    let s = LinearScorer::new(hand_artifact()).unwrap();
    // z = -2 + 0.5·2 = -1 → p = 1 / (1 + e).
    let score = s.score(&vector(&[("ed_6m", 2.0)])).unwrap();
    assert_eq!(score.probability, 0.2689414213699951);
    assert_eq!(score.tier, RiskTier::High);
    let r: Vec<String> = score.reasons().map(|r| r.to_string()).collect();
    assert_eq!(r, vec!["2 ED visits in prior 6 months"]);
    // z = -2 + 1 + 0.1·3 + 0.5 = -0.2; reasons ordered by contribution.
    let score = s
        .score(&vector(&[
            ("ed_6m", 1.0),
            ("disp_left_ama", 1.0),
            ("los_days", 3.0),
        ]))
        .unwrap();
    assert_eq!(score.probability, 0.4501660026875221);
    let r: Vec<(String, &str)> = score
        .reasons()
        .map(|r| (r.to_string(), r.code.as_str()))
        .collect();
    assert_eq!(
        r,
        vec![
            (
                "discharged against medical advice".to_string(),
                "discharge_disposition"
            ),
            (
                "1 ED visit in prior 6 months".to_string(),
                "prior_ed_visits"
            ),
            ("length of stay 3 days".to_string(), "length_of_stay"),
        ]
    );
    // z = -2 → p = 0.1192: Moderate (≥ 0.11, < 0.25); no positive contribution, no reason.
    let score = s.score(&vector(&[])).unwrap();
    assert_eq!(score.probability, 0.11920292202211755);
    assert_eq!(score.tier, RiskTier::Moderate);
    assert_eq!(score.reasons().count(), 0);
}

#[test]
fn non_finite_feature_is_an_error() {
    let s = LinearScorer::new(hand_artifact()).unwrap();
    let err = s.score(&vector(&[("los_days", f64::NAN)])).unwrap_err();
    assert_eq!(err.to_string(), "feature los_days is not a finite number");
}

#[test]
fn artifact_round_trips() {
    let a = hand_artifact();
    let json = a.to_json().unwrap();
    let back = Artifact::from_json(&json, "mem").unwrap();
    assert_eq!(back, a);
    assert_eq!(back.to_json().unwrap(), json);
    let dir = tempfile::tempdir().unwrap();
    let file = a.save(&dir.path().join(a.dir_name())).unwrap();
    assert!(file.ends_with("readmit-test-v7/model.json"));
    assert_eq!(Artifact::load(&file).unwrap(), a);
    // The committed artifact round-trips byte for byte too.
    let committed = std::fs::read_to_string(COMMITTED).unwrap();
    assert_eq!(
        Artifact::from_json(&committed, "c")
            .unwrap()
            .to_json()
            .unwrap(),
        committed
    );
}

#[test]
fn schema_mismatch_is_refused_naming_both_versions() {
    let mut a = hand_artifact();
    a.feature_schema_version = FEATURE_SCHEMA_VERSION + 1;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.json");
    std::fs::write(&file, a.to_json().unwrap()).unwrap();
    let err = LinearScorer::load(&file).unwrap_err();
    assert!(matches!(err, ModelError::SchemaMismatch { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "feature schema version {}",
            FEATURE_SCHEMA_VERSION + 1
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("extracts version {FEATURE_SCHEMA_VERSION}")),
        "{msg}"
    );

    let mut a = hand_artifact();
    a.feature_names.swap(0, 1);
    let err = Artifact::from_json(&a.to_json().unwrap(), "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "model artifact feature names differ from this build's at position 0"
    );
}

#[test]
fn scorer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_send_sync::<LinearScorer>();
    assert_send_sync::<dyn Scorer>();
    let shared: std::sync::Arc<dyn Scorer> =
        std::sync::Arc::new(LinearScorer::new(hand_artifact()).unwrap());
    let handle = std::thread::spawn(move || shared.score(&vector(&[])).unwrap().probability);
    assert_eq!(handle.join().unwrap(), 0.11920292202211755);
}

fn golden_discharges() -> Vec<(Discharge, History)> {
    let dx = |p, c| Diagnosis {
        priority: p,
        code: DxCode::from_dataset(c).unwrap(),
    };
    let base = Discharge {
        age: AgeDecade::new(7),
        sex: Sex::Female,
        race: Race::Caucasian,
        admission_type: AdmissionType::from_id(1).unwrap(),
        admit_source: AdmitSource::from_id(7).unwrap(),
        disposition: Disposition::from_id(1).unwrap(),
        length_of_stay_days: 3,
        diagnoses: vec![dx(1, "428"), dx(2, "250"), dx(3, "401")],
        diagnosis_count: 9,
        procedure_count: 0,
    };
    let none = History::default();
    let mut sick = base.clone();
    sick.disposition = Disposition::from_id(7).unwrap();
    sick.length_of_stay_days = 9;
    sick.diagnoses = vec![dx(1, "584"), dx(2, "585"), dx(3, "197")];
    let sick_h = History {
        ed_visits_6m: 3,
        ed_visits_12m: 3,
        inpatient_12m: 4,
        outpatient_12m: 1,
    };
    let mut young = base.clone();
    young.age = AgeDecade::new(4);
    young.sex = Sex::Male;
    young.admission_type = AdmissionType::from_id(3).unwrap();
    young.admit_source = AdmitSource::from_id(1).unwrap();
    young.length_of_stay_days = 1;
    young.diagnoses = vec![dx(1, "715")];
    young.diagnosis_count = 3;
    young.procedure_count = 2;
    vec![(base, none), (sick, sick_h), (young, none)]
}

/// Golden scores of the committed model. Retraining changes them on purpose: update these with
/// the values `readmit train` prints and say why in the commit.
#[test]
fn committed_model_gives_golden_scores() {
    let s = LinearScorer::load(Path::new(COMMITTED)).unwrap();
    let got: Vec<(f64, RiskTier, Vec<String>)> = golden_discharges()
        .iter()
        .map(|(d, h)| {
            let sc = s.score(&extract(d, h).unwrap()).unwrap();
            (
                sc.probability,
                sc.tier,
                sc.reasons().map(|r| r.to_string()).collect(),
            )
        })
        .collect();
    let expected: Vec<(f64, RiskTier, Vec<String>)> = GOLDEN
        .iter()
        .map(|(p, t, r)| (*p, *t, r.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(got, expected);
}

const GOLDEN: [(f64, RiskTier, &[&str]); 3] = [
    (
        0.0898500528154759,
        RiskTier::Low,
        &[
            "age 70–79",
            "secondary other diagnosis",
            "principal diagnosis circulatory",
        ],
    ),
    (
        0.28640825976218903,
        RiskTier::High,
        &[
            "discharged against medical advice",
            "LACE index 16",
            "4 inpatient admissions in prior 12 months",
        ],
    ),
    (
        0.03632554295641792,
        RiskTier::Low,
        &[
            "secondary circulatory diagnosis",
            "elective admission",
            "length of stay 1 day",
        ],
    ),
];

#[test]
fn training_twice_gives_identical_artifacts() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/",
        "data/diabetes130/diabetic_data.csv.gz"
    ));
    let data = dataset::load(path, Some(dataset::EXPECTED_SHA256), Some(3_000)).unwrap();
    assert_eq!(data.rows_read, 3_000);
    let opts = TrainOptions {
        alphas: vec![10.0],
        folds: 3,
        // A small forest too: its CV AUROC is in the artifact, so a forest that fits
        // differently twice (as linfa-ensemble 0.8's did) fails this test.
        forests: vec![ForestParams {
            trees: 4,
            max_depth: 5,
            min_weight_leaf: 10.0,
            bootstrap_proportion: 0.7,
            feature_proportion: 0.5,
        }],
        max_iterations: 60,
        row_limit: Some(3_000),
        ..TrainOptions::default()
    };
    let a = train(&data, &opts, &mut |_, _, _| {})
        .unwrap()
        .artifact
        .to_json()
        .unwrap();
    let b = train(&data, &opts, &mut |_, _, _| {})
        .unwrap()
        .artifact
        .to_json()
        .unwrap();
    assert_eq!(a, b);
    assert!(a.contains("\"row_limit\": 3000"));
    assert!(
        a.contains("balanced_random_forest(trees=4"),
        "the forest candidate is in the artifact"
    );
}

/// The committed artifact says what was left out and carries the training distributions the
/// live drift monitor compares against.
#[test]
fn committed_model_records_exclusions_and_training_distributions() {
    let a = Artifact::load(Path::new(COMMITTED)).unwrap();
    assert_eq!(a.metrics.excluded.death_or_hospice, 2_423);
    assert_eq!(a.metrics.excluded.continued_care, 2_137);
    assert_eq!(
        a.metrics.n_train + a.metrics.test.n,
        101_766 - 2_423 - 2_137
    );
    let d = a.training_distributions.as_ref().unwrap();
    assert_eq!(d.score.fractions.len(), 10);
    for f in &d.score.fractions {
        assert!((f - 0.1).abs() < 0.002, "decile bin holds {f}");
    }
    let names: Vec<&str> = d.features.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["age_decade", "los_days", "inpatient_12m"]);
    let h = a.score_histogram().unwrap();
    assert_eq!(h.bins(), 10);
}
