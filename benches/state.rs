//! Per-message cost of the partition state: checking a patient out (decode) and back in
//! (encode) when consecutive messages belong to different patients, the apply of one change,
//! and the restore of one changelog record. Run with `cargo bench --bench state`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use readmit::state::{
    encode, Change, EncounterClass, PartitionState, PatientHistory, ScoredDischarge, DAY,
};

/// The `readmit` binary's allocator, so allocation costs what it costs in the service.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const T0: u32 = 28_000_000;

/// A typical simulated patient: four encounters of the prior year, eight message IDs, one
/// scored discharge.
fn typical(seed: u64) -> PatientHistory {
    let mut h = PatientHistory::default();
    for (i, class) in [
        EncounterClass::Outpatient,
        EncounterClass::Emergency,
        EncounterClass::Inpatient,
        EncounterClass::Inpatient,
    ]
    .into_iter()
    .enumerate()
    {
        let visit = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i as u64;
        let at = T0 - (300 - 90 * i as u32) * DAY;
        h.apply(Change::Admit { visit, class, at });
        h.apply(Change::Discharge {
            visit,
            class,
            admitted_at: None,
            at: at + 2 * DAY,
        });
    }
    for i in 0..8u64 {
        h.remember(seed.wrapping_mul(0xff51_afd7_ed55_8ccd) ^ i);
    }
    h.record_score(ScoredDischarge {
        alert_id: u128::from(seed) << 64 | 7,
        visit: seed,
        discharged_at: T0,
        tier: 2,
        probability: 0.31,
        features_hash: seed ^ 0x55,
        readmitted_by: 0,
        retracted: false,
    });
    h
}

fn benches(c: &mut Criterion) {
    let patients = 100_000u64;
    let mut state = PartitionState::default();
    for p in 0..patients {
        *state.patient_mut(u128::from(p)) = typical(p);
    }
    let mut g = c.benchmark_group("state");
    let mut next = 0u64;
    g.bench_function("switch_patient_and_remember_100k", |b| {
        b.iter(|| {
            next = (next + 7_919) % patients;
            let h = state.patient_mut(u128::from(next));
            black_box(h.remember(next ^ 0xdead_beef));
        })
    });
    g.bench_function("same_patient_remember", |b| {
        b.iter(|| {
            let h = state.patient_mut(42);
            black_box(h.remember(next));
            next += 1;
        })
    });
    let value = encode(&typical(3));
    let mut restored = PartitionState::default();
    let mut key = 0u64;
    g.bench_function("restore_one_record", |b| {
        b.iter(|| {
            key = key.wrapping_add(1) % 1_000_000;
            restored
                .restore(&key.to_le_bytes(), Some(black_box(&value)))
                .unwrap_or_default();
        })
    });
    g.finish();
}

criterion_group!(state_benches, benches);
criterion_main!(state_benches);
