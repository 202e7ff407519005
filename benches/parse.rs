//! Criterion bench of the HL7 parser (`readmit::hl7`), the first stage of the pipeline.
//!
//! Messages are synthetic but shaped like real v2.5.1 traffic: a typical A03 discharge of 10
//! segments (MSH, EVN, PID, NK1, PV1 with PV1-44/45, 3 DG1, PR1, IN1) and a 30-segment A03 (the
//! same plus PV2, more diagnoses/procedures, OBX and NTE). Besides the parse itself we measure
//! "parse + read 20 fields" (what the ADT stage reads) and, as a yardstick, a naive split on
//! `\r` and `|` into vectors reading the same fields by index (no escapes, no components
//! beyond a second split, no validation).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use readmit::hl7::{split_messages, Message, Timestamp};

/// The `readmit` binary's allocator, so allocation costs what it costs in the service.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MSH: &str = "MSH|^~\\&|EPICADT|GENHOSP^2.16.840.1.113883.3.72^ISO|READMIT|COLLAB|20260105101500-0500||ADT^A03^ADT_A03|MSG-000123456|P|2.5.1|||AL|NE||UNICODE UTF-8\r";
const EVN: &str = "EVN|A03|20260105101500-0500|||OP123^Nurse^Nancy|20260105100000-0500|GENHOSP\r";
const PID: &str = "PID|1||MRN00123456^^^GENHOSP^MR~999887777^^^SSA^SS||Doe^Jane^Q^^^^L||19480317|F||2106-3^White^CDCREC|123 Main St^Apt 4^Springfield^MA^01105^USA^H^^25013||^PRN^PH^^1^413^5551234|||M^Married|CHR|ACCT7788990^^^GENHOSP^AN|||||||||||N\r";
const NK1: &str = "NK1|1|Doe^John^^^^^L|SPO^Spouse^HL70063|123 Main St^Apt 4^Springfield^MA^01105^USA^H|^PRN^PH^^1^413^5554321||EC^Emergency contact\r";
const PV1: &str = "PV1|1|I|4W^412^B^GENHOSP^^^MAIN^4|E^Emergency|||1234567890^Attend^Alice^^^Dr^MD|||MED||||7^Emergency room|||1234567890^Attend^Alice^^^Dr^MD|IN|V000998877^^^GENHOSP^VN|MCR||||||||||||||||06^Home health|||GENHOSP|||||20260101083000-0500|20260105100000-0500\r";
const DG1: [&str; 3] = [
    "DG1|1|I10|I50.23^Acute on chronic systolic heart failure^I10||20260101|A|||||||||1\r",
    "DG1|2|I10|N17.9^Acute kidney failure, unspecified^I10||20260102|W|||||||||2\r",
    "DG1|3|I10|E11.22^Type 2 diabetes mellitus with diabetic CKD^I10||20260105|F|||||||||3\r",
];
const PR1: &str = "PR1|1|I10P|5A1D70Z^Performance of urinary filtration, intermittent^I10P|Hemodialysis|20260102143000-0500|A\r";
const IN1: &str = "IN1|1|MCR^Medicare Part A|CMS^^^CMS^NIIP|Centers for Medicare \\T\\ Medicaid Services|7500 Security Blvd^^Baltimore^MD^21244^USA||||||||||||Doe^Jane^Q|SEL^Self|19480317|123 Main St^Apt 4^Springfield^MA^01105^USA^H|||1||||||||||||||1EG4TE5MK72\r";
const PV2: &str =
    "PV2|||I50.23^Acute on chronic systolic heart failure^I10||||||20260105|4|||||||||||||N\r";
const OBX: &str = "OBX|1|NM|8867-4^Heart rate^LN||88|/min^beats per minute^UCUM|60-100|N|||F|||20260105080000-0500\r";
const NTE: &str = "NTE|1|P|Discharged with home health follow-up\\.br\\within 7 days.\r";

fn a03() -> String {
    [MSH, EVN, PID, NK1, PV1, DG1[0], DG1[1], DG1[2], PR1, IN1].concat()
}

fn a03_30() -> String {
    let mut parts = vec![MSH, EVN, PID, NK1, PV1, PV2];
    for _ in 0..3 {
        parts.extend_from_slice(&DG1);
    }
    parts.extend_from_slice(&[PR1, PR1, IN1]);
    parts.extend(std::iter::repeat_n(OBX, 8));
    parts.extend(std::iter::repeat_n(NTE, 4));
    let s = parts.concat();
    assert_eq!(s.matches('\r').count(), 30);
    s
}

/// Reads the 20+ values the ADT stage needs; returns their total length so nothing is elided.
fn read_fields(msg: &Message<'_>) -> usize {
    let mut n = 0;
    let mut add = |v: Option<std::borrow::Cow<'_, str>>| n += v.map_or(0, |v| v.len());
    if let Some(msh) = msg.segment("MSH") {
        add(msh.value(3, 1));
        add(msh.value(4, 1));
        add(msh.value(7, 1));
        add(msh.value(9, 1));
        add(msh.value(9, 2));
        add(msh.value(10, 1));
        add(msh.value(12, 1));
    }
    if let Some(evn) = msg.segment("EVN") {
        add(evn.value(2, 1));
        add(evn.value(6, 1));
    }
    if let Some(pid) = msg.segment("PID") {
        // The MR identifier among the PID-3 repetitions.
        if let Some(rep) = pid
            .field(3)
            .repetitions()
            .find(|r| r.component(5).raw() == b"MR")
        {
            add(rep.component(1).value());
            add(rep.component(4).value());
        }
        add(pid.value(7, 1));
        add(pid.value(8, 1));
        add(pid.value(11, 5));
    }
    if let Some(pv1) = msg.segment("PV1") {
        add(pv1.value(2, 1));
        add(pv1.value(3, 4));
        add(pv1.value(4, 1));
        add(pv1.value(14, 1));
        add(pv1.value(19, 1));
        add(pv1.value(36, 1));
        add(pv1.value(44, 1));
        add(pv1.value(45, 1));
    }
    for dg1 in msg.segments_named("DG1") {
        add(dg1.value(3, 1));
    }
    n += msg.segments_named("PR1").count();
    n
}

/// The naive yardstick: split on `\r` then `|` into vectors, read the same fields by index
/// (components by a second split on `^`).
fn naive_split_read(input: &str) -> usize {
    let segs: Vec<Vec<&str>> = input
        .split('\r')
        .filter(|s| !s.is_empty())
        .map(|s| s.split('|').collect())
        .collect();
    let get = |id: &str, f: usize, c: usize| -> usize {
        segs.iter()
            .find(|s| s.first() == Some(&id))
            .and_then(|s| s.get(if id == "MSH" { f - 1 } else { f }))
            .and_then(|v| v.split('^').nth(c - 1))
            .map_or(0, str::len)
    };
    let mut n = 0;
    for (f, c) in [(3, 1), (4, 1), (7, 1), (9, 1), (9, 2), (10, 1), (12, 1)] {
        n += get("MSH", f, c);
    }
    n += get("EVN", 2, 1) + get("EVN", 6, 1);
    n += get("PID", 3, 1) + get("PID", 3, 4) + get("PID", 7, 1) + get("PID", 8, 1);
    n += get("PID", 11, 5);
    for (f, c) in [
        (2, 1),
        (3, 4),
        (4, 1),
        (14, 1),
        (19, 1),
        (36, 1),
        (44, 1),
        (45, 1),
    ] {
        n += get("PV1", f, c);
    }
    for s in segs.iter().filter(|s| s.first() == Some(&"DG1")) {
        n += s
            .get(3)
            .and_then(|v| v.split('^').next())
            .map_or(0, str::len);
    }
    n + segs.iter().filter(|s| s.first() == Some(&"PR1")).count()
}

fn bench_parse(c: &mut Criterion) {
    let typical = a03();
    let big = a03_30();
    // Sanity: the benched messages parse and the fields are really there.
    let msg = Message::parse(typical.as_bytes()).expect("bench A03 parses");
    assert_eq!(msg.segment_count(), 10);
    assert_eq!(
        msg.segment("PV1").unwrap().value(45, 1).as_deref(),
        Some("20260105100000-0500")
    );
    assert_eq!(read_fields(&msg), naive_split_read(&typical));
    assert_eq!(Message::parse(big.as_bytes()).unwrap().segment_count(), 30);

    let mut g = c.benchmark_group("hl7");
    g.throughput(Throughput::Bytes(typical.len() as u64));
    g.bench_function("parse_a03_10seg", |b| {
        b.iter(|| Message::parse(black_box(typical.as_bytes())).map(|m| m.segment_count()))
    });
    g.bench_function("parse_read20_a03_10seg", |b| {
        b.iter(|| {
            let msg = Message::parse(black_box(typical.as_bytes())).unwrap();
            read_fields(&msg)
        })
    });
    g.bench_function("naive_split_read20_a03_10seg", |b| {
        b.iter(|| naive_split_read(black_box(&typical)))
    });
    let framed = [&b"\x0b"[..], typical.as_bytes(), b"\x1c\r"].concat();
    g.bench_function("split_parse_read20_a03_mllp", |b| {
        b.iter(|| {
            let mut n = 0;
            for item in split_messages(black_box(&framed)) {
                n += read_fields(&Message::parse(item).unwrap());
            }
            n
        })
    });
    g.bench_function("parse_read20_plus_timestamps_a03", |b| {
        b.iter(|| {
            let msg = Message::parse(black_box(typical.as_bytes())).unwrap();
            let pv1 = msg.segment("PV1").unwrap();
            let admit = Timestamp::parse(&pv1.value(44, 1).unwrap()).unwrap();
            let discharge = Timestamp::parse(&pv1.value(45, 1).unwrap()).unwrap();
            read_fields(&msg) as i64 + discharge.days_since_epoch() - admit.days_since_epoch()
        })
    });
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("parse_a03_30seg", |b| {
        b.iter(|| Message::parse(black_box(big.as_bytes())).map(|m| m.segment_count()))
    });
    g.bench_function("parse_read20_a03_30seg", |b| {
        b.iter(|| {
            let msg = Message::parse(black_box(big.as_bytes())).unwrap();
            read_fields(&msg)
        })
    });
    g.bench_function("naive_split_read20_a03_30seg", |b| {
        b.iter(|| naive_split_read(black_box(&big)))
    });
    g.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
