//! Simulator throughput: records generated per second for 2,000 synthetic patients with the
//! dataset's typical shape (prior visits, 9 diagnoses, readmissions), with and without
//! sprinkles and malformed records.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use readmit::features::dataset::DatasetRow;
use readmit::simulate::{SimConfig, Simulator};

/// The `readmit` binary's allocator, so allocation costs what it costs in the service.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rows() -> Vec<DatasetRow> {
    let labels = ["<30", ">30", "NO", "NO"];
    (0..2_000u64)
        .flat_map(|p| {
            (0..(1 + p % 2)).map(move |k| DatasetRow {
                encounter_id: 1_000_000 + p * 10 + k,
                patient_nbr: 50_000 + p * 3,
                race: "Caucasian".into(),
                gender: if p % 2 == 0 { "Female" } else { "Male" }.into(),
                age: "[70-80)".into(),
                admission_type_id: 1 + (p % 3) as u8,
                discharge_disposition_id: 1,
                admission_source_id: 7,
                time_in_hospital: 1 + (p % 14) as u32,
                num_procedures: (p % 4) as u32,
                number_outpatient: (p % 3) as u32,
                number_emergency: (p % 2) as u32,
                number_inpatient: (p % 4) as u32,
                diag_1: "428".into(),
                diag_2: "250.01".into(),
                diag_3: "414".into(),
                number_diagnoses: 9,
                readmitted: labels[(p % 4) as usize].into(),
            })
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rows = rows();
    let mut group = c.benchmark_group("simulate");
    for (name, config) in [
        ("base", SimConfig::default()),
        (
            "sprinkled_malformed",
            SimConfig {
                sprinkle: 0.2,
                malformed: 0.02,
                ..SimConfig::default()
            },
        ),
    ] {
        let sim = Simulator::new(config, &rows).unwrap();
        let n = sim.records().count() as u64;
        group.throughput(Throughput::Elements(n));
        group.bench_function(name, |b| {
            b.iter(|| sim.records().map(|r| r.payload.len()).sum::<usize>())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
