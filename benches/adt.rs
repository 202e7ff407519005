//! Criterion bench: parse a typical A03 discharge and build its [`AdtEvent`], the per-message
//! work at the front of the pipeline.
//!
//! The message is synthetic but shaped like a real v2.5.1 discharge: MSH, EVN, PID with two
//! identifiers and an address, PV1 with admit and discharge times, three DG1 and one PR1.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use readmit::adt::AdtEvent;
use readmit::hl7::Message;

const A03: &str = concat!(
    "MSH|^~\\&|EPICADT|GENHOSP^2.16.840.1.113883.3.72^ISO|READMIT|COLLAB|20260105101500-0500||ADT^A03^ADT_A03|MSG-000123456|P|2.5.1|||AL|NE||UNICODE UTF-8\r",
    "EVN|A03|20260105101500-0500|||OP123^Nurse^Nancy|20260105100000-0500|GENHOSP\r",
    "PID|1||MRN00123456^^^GENHOSP^MR~999887777^^^SSA^SS||Doe^Jane^Q^^^^L||19480317|F||2106-3^White^CDCREC|123 Main St^Apt 4^Springfield^MA^01105^USA^H^^25013||^PRN^PH^^1^413^5551234|||M^Married|CHR|ACCT7788990^^^GENHOSP^AN|||||||||||N\r",
    "PV1|1|I|4W^412^B^GENHOSP^^^MAIN^4|E^Emergency|||1234567890^Attend^Alice^^^Dr^MD|||MED||||7^Emergency room|||1234567890^Attend^Alice^^^Dr^MD|IN|V000998877^^^GENHOSP^VN|MCR|||||||||||||||||06^Home health|||GENHOSP|||||20260101083000-0500|20260105100000-0500\r",
    "DG1|1|I10|I50.23^Acute on chronic systolic heart failure^I10||20260101|A|||||||||1\r",
    "DG1|2|I10|N17.9^Acute kidney failure, unspecified^I10||20260102|W|||||||||2\r",
    "DG1|3|I10|E11.22^Type 2 diabetes mellitus with diabetic CKD^I10||20260105|F|||||||||3\r",
    "PR1|1|I10P|5A1D70Z^Performance of urinary filtration, intermittent^I10P|Hemodialysis|20260102143000-0500|A\r",
);

fn bench_adt(c: &mut Criterion) {
    let input = A03.as_bytes();
    // Sanity: the bench measures a real, fully populated event.
    let msg = Message::parse(input).expect("bench message parses");
    let event = AdtEvent::from_message(&msg).expect("bench message is an ADT event");
    assert_eq!(event.diagnoses.len(), 3);
    assert_eq!(event.procedures.count, 1);
    assert!(event
        .visit
        .as_ref()
        .is_some_and(|v| v.discharge_datetime.timestamp().is_some()));

    let mut group = c.benchmark_group("adt");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("parse_and_build_a03", |b| {
        b.iter(|| {
            let msg = Message::parse(black_box(input)).expect("parses");
            AdtEvent::from_message(&msg).expect("ADT")
        })
    });
    group.bench_function("build_a03_from_parsed", |b| {
        b.iter(|| AdtEvent::from_message(black_box(&msg)).expect("ADT"))
    });
    group.bench_function("parse_only_a03", |b| {
        b.iter(|| Message::parse(black_box(input)).expect("parses"))
    });
    group.finish();
}

criterion_group!(benches, bench_adt);
criterion_main!(benches);
