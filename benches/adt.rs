//! Criterion bench: parse a typical A03 discharge and build its [`AdtEvent`], the per-message
//! work at the front of the pipeline.
//!
//! The message is synthetic but shaped like a real v2.5.1 discharge: MSH, EVN, PID with two
//! identifiers and an address, PV1 with admit and discharge times, three DG1 and one PR1. A
//! 30-segment variant (the same plus NK1, PV2, more DG1/PR1, IN1, OBX and NTE, as in
//! `benches/parse.rs`) shows how the cost grows with segments the builder reads or skips.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use readmit::adt::AdtEvent;
use readmit::hl7::Message;

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

/// The A03 grown to 30 segments: 9 DG1 and 2 PR1 the builder reads, NK1, PV2, IN1, 8 OBX and
/// 4 NTE (one escape sequence each) it skips.
fn a03_30() -> String {
    let seg = |prefix: &str| -> &str {
        A03.split_inclusive('\r')
            .find(|s| s.starts_with(prefix))
            .expect("segment in A03")
    };
    let nk1 = "NK1|1|Doe^John^^^^^L|SPO^Spouse^HL70063|123 Main St^Apt 4^Springfield^MA^01105^USA^H|^PRN^PH^^1^413^5554321||EC^Emergency contact\r";
    let pv2 =
        "PV2|||I50.23^Acute on chronic systolic heart failure^I10||||||20260105|4|||||||||||||N\r";
    let in1 = "IN1|1|MCR^Medicare Part A|CMS^^^CMS^NIIP|Centers for Medicare \\T\\ Medicaid Services|7500 Security Blvd^^Baltimore^MD^21244^USA||||||||||||Doe^Jane^Q|SEL^Self|19480317|123 Main St^Apt 4^Springfield^MA^01105^USA^H|||1||||||||||||||1EG4TE5MK72\r";
    let obx = "OBX|1|NM|8867-4^Heart rate^LN||88|/min^beats per minute^UCUM|60-100|N|||F|||20260105080000-0500\r";
    let nte = "NTE|1|P|Discharged with home health follow-up\\.br\\within 7 days.\r";
    let dg1: Vec<&str> = A03
        .split_inclusive('\r')
        .filter(|s| s.starts_with("DG1"))
        .collect();
    let mut parts = vec![seg("MSH"), seg("EVN"), seg("PID"), nk1, seg("PV1"), pv2];
    for _ in 0..3 {
        parts.extend_from_slice(&dg1);
    }
    parts.extend_from_slice(&[seg("PR1"), seg("PR1"), in1]);
    parts.extend(std::iter::repeat_n(obx, 8));
    parts.extend(std::iter::repeat_n(nte, 4));
    let s = parts.concat();
    assert_eq!(s.matches('\r').count(), 30);
    s
}

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

    let big = a03_30();
    let input = big.as_bytes();
    let msg = Message::parse(input).expect("30-segment message parses");
    let event = AdtEvent::from_message(&msg).expect("30-segment message is an ADT event");
    assert_eq!(event.diagnoses.len(), 9);
    assert_eq!(event.procedures.count, 2);
    let mut group = c.benchmark_group("adt_30_segments");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("parse_and_build", |b| {
        b.iter(|| {
            let msg = Message::parse(black_box(input)).expect("parses");
            AdtEvent::from_message(&msg).expect("ADT")
        })
    });
    group.finish();
}

criterion_group!(benches, bench_adt);
criterion_main!(benches);
