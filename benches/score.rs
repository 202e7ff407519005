//! Extract + score of one discharge with the committed model artifact.
//!
//! Run: `cargo bench --bench score`. Figures are recorded in README.md.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use readmit::features::codes::{AdmissionType, AdmitSource, AgeDecade, Disposition, Race, Sex};
use readmit::features::icd::DxCode;
use readmit::features::{extract, Diagnosis, Discharge, History};
use readmit::model::{LinearScorer, Scorer};

/// The `readmit` binary's allocator, so allocation costs what it costs in the service.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn discharge() -> (Discharge, History) {
    let dx = |p, c| Diagnosis {
        priority: p,
        code: DxCode::from_dataset(c).expect("valid code"),
    };
    (
        Discharge {
            age: AgeDecade::new(7),
            sex: Sex::Female,
            race: Race::Caucasian,
            admission_type: AdmissionType::from_id(1).expect("id"),
            admit_source: AdmitSource::from_id(7).expect("id"),
            disposition: Disposition::from_id(6).expect("id"),
            length_of_stay_days: 5,
            diagnoses: vec![dx(1, "428"), dx(2, "250.43"), dx(3, "496")],
            diagnosis_count: 9,
            procedure_count: 1,
        },
        History {
            ed_visits_6m: 2,
            ed_visits_12m: 3,
            inpatient_12m: 2,
            outpatient_12m: 1,
        },
    )
}

fn bench(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/models/readmit-lr-v1/model.json"
    );
    let scorer = LinearScorer::load(std::path::Path::new(path)).expect("committed model artifact");
    let (d, h) = discharge();
    c.bench_function("extract", |b| {
        b.iter(|| extract(black_box(&d), black_box(&h)))
    });
    let fv = extract(&d, &h).expect("features");
    c.bench_function("score", |b| b.iter(|| scorer.score(black_box(&fv))));
    c.bench_function("extract+score", |b| {
        b.iter(|| {
            let fv = extract(black_box(&d), black_box(&h)).expect("features");
            scorer.score(&fv)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
