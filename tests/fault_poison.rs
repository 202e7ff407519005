//! Poison input: empty, binary, truncated, 10 MB, invalid UTF-8, Latin-1, wrong HL7 version,
//! not ADT, two messages in one record, missing PID, missing PV1, impossible dates, discharge
//! before admit — interleaved with a simulated stream in one partition. Each poison record goes
//! to the dead-letter topic with its original bytes and its reason headers
//! (`readmit.error.kind`, segment, field, reason, source topic/partition/offset), or — for the
//! cases HL7 allows (Latin-1 and non-UTF-8 bytes in a name, another 2.x version) — is processed
//! like any message; either way the partition keeps flowing: every good discharge after them is
//! scored exactly as in the undisturbed reference.

mod common;
#[path = "common/e2e.rs"]
mod e2e;
#[path = "common/fault.rs"]
mod fault;

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};

use common::TestKafka;
use fault::Item;

/// Size of the oversize record: 10 MB on a real broker; 4 MB on the mock cluster, whose
/// partition logs keep at most 5 MB (a bigger record evicts itself and everything before it).
fn oversize_bytes(kafka: &TestKafka) -> usize {
    if kafka.is_mock() {
        eprintln!("oversize record: 4 MB on the mock cluster (its partition log holds 5 MB at most); 10 MB against a real broker");
        4 * 1024 * 1024
    } else {
        10 * 1024 * 1024
    }
}
use readmit::pipeline::{DLQ_FIELD, DLQ_KIND, DLQ_REASON, DLQ_SEGMENT};
use readmit::runtime::dlq_headers;

/// A hand-built ADT message of a poison-test patient (never one of the simulator's).
struct Adt<'a> {
    trigger: &'a str,
    control: &'a str,
    mrn: &'a str,
    version: &'a str,
    message_type: &'a str,
    name: &'a [u8],
    admit: &'a str,
    discharge: &'a str,
    pid: bool,
    pv1: bool,
}

impl Default for Adt<'_> {
    fn default() -> Self {
        Adt {
            trigger: "A03",
            control: "P0",
            mrn: "PZ0",
            version: "2.5",
            message_type: "ADT",
            name: b"POISON^TEST",
            admit: "20260101080000",
            discharge: "20260105120000",
            pid: true,
            pv1: true,
        }
    }
}

impl Adt<'_> {
    fn render(&self) -> Vec<u8> {
        // PV1 by field number (DOMAIN.md §1.3): 2 class, 3 location, 4 admission type,
        // 14 admit source, 19 visit number, 36 disposition, 44/45 admit/discharge time.
        let mut pv1 = vec![String::new(); 46];
        pv1[0] = "PV1".into();
        pv1[1] = "1".into();
        pv1[2] = "I".into();
        pv1[3] = "WARD^1^1^SIM_NORTH".into();
        pv1[4] = "E".into();
        pv1[14] = "7".into();
        pv1[19] = format!("V{}", self.mrn);
        pv1[36] = "01".into();
        pv1[44] = self.admit.into();
        pv1[45] = self.discharge.into();
        let mut out = format!(
            "MSH|^~\\&|EHR|SIM_NORTH|READMIT|READMIT|20260101080000||{}^{t}^ADT_A01|{c}|P|{v}\r\
             EVN|{t}|20260101080000\r",
            self.message_type,
            t = self.trigger,
            c = self.control,
            v = self.version,
        )
        .into_bytes();
        if self.pid {
            out.extend_from_slice(format!("PID|1||{}^^^HOSP^MR||", self.mrn).as_bytes());
            out.extend_from_slice(self.name);
            out.extend_from_slice(b"||19500101|F|||1 MAIN ST^^CITY^ST^21204^^H^^24005\r");
        }
        if self.pv1 {
            out.extend_from_slice(pv1.join("|").as_bytes());
            out.push(b'\r');
        }
        out.extend_from_slice(b"DG1|1||428^Heart failure^I9|||F|||||||||1\r");
        out
    }
}

/// One poison case: what it is, its record, and the dead-letter kind it must get (`None`:
/// HL7 allows it; processed like any message, no dead letter).
struct Case {
    name: &'static str,
    record: Item,
    kind: Option<&'static str>,
}

fn cases(oversize: usize) -> Vec<Case> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let binary: Vec<u8> = (0..4_096).map(|_| rng.gen()).collect();
    let good = Adt::default().render();
    let item = |mrn: &str, payload: Vec<u8>| Item::raw(mrn.as_bytes(), payload);
    let mut two = Adt {
        mrn: "PZ6",
        control: "P6a",
        ..Adt::default()
    }
    .render();
    two.extend_from_slice(
        &Adt {
            mrn: "PZ6",
            control: "P6b",
            ..Adt::default()
        }
        .render(),
    );
    // Oversize: a message-shaped record whose body is junk (no segment structure), larger
    // than the service's `producer.message_max_bytes` (1 MB), so its dead letter cannot
    // carry its bytes.
    let mut huge =
        b"MSH|^~\\&|EHR|SIM_NORTH|READMIT|READMIT|20260101080000||ADT^A01|P4|P|2.5\r".to_vec();
    huge.extend(std::iter::repeat_n(b'x', oversize));
    vec![
        Case {
            name: "empty",
            record: item("PZ1", Vec::new()),
            kind: Some("empty"),
        },
        Case {
            name: "binary",
            record: item("PZ2", binary),
            // Random bytes hold MLLP framing bytes, so the splitter sees several "messages".
            kind: Some("multiple_messages"),
        },
        Case {
            name: "truncated",
            record: item("PZ3", good[..24].to_vec()),
            kind: Some("missing_message_type"),
        },
        Case {
            name: "oversize (10 MB; 4 MB on the mock)",
            record: item("PZ4", huge),
            kind: Some("bad_segment_id"),
        },
        Case {
            name: "two messages in one record",
            record: item("PZ6", two),
            kind: Some("multiple_messages"),
        },
        Case {
            name: "not ADT (ORU)",
            record: item(
                "PZ7",
                Adt {
                    mrn: "PZ7",
                    control: "P7",
                    message_type: "ORU",
                    ..Adt::default()
                }
                .render(),
            ),
            kind: Some("not_adt"),
        },
        Case {
            name: "missing PID",
            record: item(
                "PZ8",
                Adt {
                    mrn: "PZ8",
                    control: "P8",
                    pid: false,
                    ..Adt::default()
                }
                .render(),
            ),
            kind: Some("missing_patient_id"),
        },
        Case {
            name: "discharge before admit",
            record: item(
                "PZ9",
                Adt {
                    mrn: "PZ9",
                    control: "P9",
                    admit: "20260105120000",
                    discharge: "20260101080000",
                    ..Adt::default()
                }
                .render(),
            ),
            kind: Some("discharge_before_admit"),
        },
        Case {
            name: "impossible dates (month 13, hour 99)",
            record: item(
                "PZ10",
                Adt {
                    mrn: "PZ10",
                    control: "P10",
                    admit: "20261345990000",
                    discharge: "20261399990000",
                    ..Adt::default()
                }
                .render(),
            ),
            kind: Some("unscorable_discharge"),
        },
        Case {
            name: "wrong version (3.0)",
            record: item(
                "PZ12",
                Adt {
                    mrn: "PZ12",
                    control: "P12",
                    version: "3.0",
                    ..Adt::default()
                }
                .render(),
            ),
            // HL7 v2 receivers accept other versions; the content is a valid A03.
            kind: None,
        },
        Case {
            name: "invalid UTF-8 in PID-5",
            record: item(
                "PZ13",
                Adt {
                    mrn: "PZ13",
                    control: "P13",
                    name: b"M\xC3\x28LLER^\xFF\xFE",
                    ..Adt::default()
                }
                .render(),
            ),
            kind: None,
        },
        Case {
            name: "Latin-1 in PID-5",
            record: item(
                "PZ14",
                Adt {
                    mrn: "PZ14",
                    control: "P14",
                    name: b"M\xDCLLER^J\xD6RG",
                    ..Adt::default()
                }
                .render(),
            ),
            kind: None,
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_are_dead_lettered_with_reasons_and_the_partition_keeps_flowing() {
    let kafka = TestKafka::start(1);
    // The test producer writes records up to 12 MB; the service keeps its default limits
    // (consumer fetch sizes, `producer.message_max_bytes` = 1 MB).
    let s = e2e::settings(&kafka, "poison");
    e2e::create_topics(&kafka, &s, 1).await;

    // One partition: every poison record sits between good records of the same partition.
    let good = fault::simulated(40, 5, 0.0);
    let oversize = oversize_bytes(&kafka);
    let cases = cases(oversize);
    let stride = good.len() / (cases.len() + 1);
    let mut items = Vec::new();
    let mut case_at = Vec::new();
    let mut next = cases.iter();
    for (i, g) in good.iter().enumerate() {
        items.push(g.clone());
        if i > 0 && i % stride == 0 {
            if let Some(c) = next.next() {
                case_at.push(items.len());
                items.push(c.record.clone());
            }
        }
    }
    assert_eq!(case_at.len(), cases.len());
    let inputs = fault::produce(
        kafka.bootstrap_servers(),
        &s.topics.input,
        Some(0),
        &items,
        None,
    )
    .await;
    let mut reference = fault::reference(&s, &inputs);
    // The oversize record's dead letter cannot carry its bytes: the service sends the same
    // dead letter without a value, saying so (error and omitted size headers).
    let big = &inputs[case_at[3]];
    let dlq = reference.outputs.get_mut(&s.topics.dlq).unwrap();
    let full = dlq
        .keys()
        .find(|k| k.2.get(dlq_headers::SOURCE_OFFSET) == Some(&big.offset.to_string().into_bytes()))
        .cloned()
        .expect("reference dead-letters the oversize record");
    dlq.remove(&full);
    let mut headers = full.2.clone();
    headers.insert(
        dlq_headers::ERROR.into(),
        b"Some(MessageSizeTooLarge)".to_vec(),
    );
    headers.insert(
        dlq_headers::PAYLOAD_OMITTED.into(),
        big.payload.len().to_string().into_bytes(),
    );
    dlq.insert((full.0.clone(), Vec::new(), headers), 1);

    // What the undisturbed pipeline decides for each case.
    let mut verdicts = Vec::new();
    for (c, &at) in cases.iter().zip(&case_at) {
        let input = &inputs[at];
        let outcome = reference.outcome_of[&(input.partition, input.offset)];
        verdicts.push((c.name, input.offset, outcome));
    }
    for v in &verdicts {
        eprintln!("poison {:?} at offset {} → {}", v.0, v.1, v.2);
    }

    let running = e2e::start(&s);
    let ends = fault::ends(&inputs);
    let committed =
        fault::wait_committed(&kafka, &s, &ends, std::time::Duration::from_secs(60)).await;
    assert_eq!(
        committed,
        vec![ends[&0]],
        "the partition flows past every poison record"
    );
    let summary = running.stop().await;
    e2e::assert_counts(&summary, inputs.len() as u64);

    let dlq = fault::read_topics(
        &kafka,
        std::slice::from_ref(&s.topics.dlq),
        cases.iter().filter(|c| c.kind.is_some()).count(),
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(30),
    )
    .await
    .remove(&s.topics.dlq)
    .unwrap();
    let by_offset: BTreeMap<i64, &common::Record> = dlq
        .iter()
        .map(|r| {
            (
                r.header(dlq_headers::SOURCE_OFFSET)
                    .unwrap()
                    .parse()
                    .unwrap(),
                r,
            )
        })
        .collect();
    let mut failures = Vec::new();
    for (c, &at) in cases.iter().zip(&case_at) {
        let input = &inputs[at];
        let got = by_offset.get(&input.offset);
        let got_kind = got.and_then(|r| r.header(DLQ_KIND));
        eprintln!(
            "  {:<40} dlq kind {:?} reason {:?} segment {:?} field {:?} payload {} of {} bytes",
            c.name,
            got_kind,
            got.and_then(|r| r.header(DLQ_REASON)),
            got.and_then(|r| r.header(DLQ_SEGMENT)),
            got.and_then(|r| r.header(DLQ_FIELD)),
            got.map_or(0, |r| r.payload.as_deref().map_or(0, <[u8]>::len)),
            input.payload.len(),
        );
        if got_kind.as_deref() != c.kind {
            failures.push(format!(
                "{}: expected {:?}, got {got_kind:?}",
                c.name, c.kind
            ));
        }
        if let Some(r) = got {
            let omitted = r.header(dlq_headers::PAYLOAD_OMITTED);
            if input.payload.len() > s.producer.message_max_bytes as usize {
                if omitted != Some(input.payload.len().to_string()) || r.payload.is_some() {
                    failures.push(format!(
                        "{}: oversize dead letter must omit the value and say so",
                        c.name
                    ));
                }
            } else if r.payload.as_deref().unwrap_or_default() != input.payload.as_slice() {
                failures.push(format!(
                    "{}: DLQ record does not keep the input bytes",
                    c.name
                ));
            }
            if r.header(DLQ_REASON).unwrap_or_default().is_empty() {
                failures.push(format!("{}: no {DLQ_REASON}", c.name));
            }
            if r.header(dlq_headers::SOURCE_TOPIC).as_deref() != Some(s.topics.input.as_str()) {
                failures.push(format!("{}: no source topic", c.name));
            }
        }
    }
    let tally = fault::check(
        &kafka,
        &s,
        &reference,
        &inputs,
        "poison input (12 kinds)",
        1,
    )
    .await;
    assert!(failures.is_empty(), "{failures:#?}");
    tally.assert_clean();
    fault::outcomes_match(&summary.outcomes, &reference);
}

/// An A03 without PV1 cannot be scored (no visit, no admit/discharge times): it goes to the DLQ
/// with a reason naming PV1, never counted `history_only` (a discharge silently not scored).
#[test]
fn a_discharge_without_pv1_is_dead_lettered() {
    let s = {
        let mut s = readmit::config::Settings::default();
        s.model.path = Some(e2e::model_path());
        s.pseudonym.key = Some(readmit::config::Secret::new(
            "poison test pseudonym key, 32 bytes+",
        ));
        s
    };
    let record = Adt {
        mrn: "PZ11",
        control: "P11",
        pv1: false,
        ..Adt::default()
    }
    .render();
    let input = fault::Input {
        partition: 0,
        offset: 0,
        key: b"PZ11".to_vec(),
        payload: record,
        timestamp_ms: 0,
        kind: None,
        encounter: None,
    };
    let reference = fault::reference(&s, &[input]);
    assert_eq!(
        reference.outcome_of[&(0, 0)],
        "dead_lettered",
        "an A03 without PV1 is dead-lettered"
    );
}
