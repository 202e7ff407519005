//! Runs `split_messages` + `Message::parse` over every sample under
//! `../shared/data/hl7-samples` (third-party files, not in this repo): no panics, the 8
//! MALFORMED files rejected with the expected typed error, every other file read fully, and
//! message/segment counts and key fields checked by hand against the bytes for a set of files.
//! Skipped with a printed reason when `../shared` is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use readmit::hl7::{split_messages, CountMismatch, Message, ParseErrorKind, Timestamp, Trailer};

fn samples_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/hl7-samples");
    dir.is_dir().then_some(dir)
}

/// Every sample file (relative path → bytes), skipping SOURCES.* and .gitattributes.
fn load() -> Option<BTreeMap<String, Vec<u8>>> {
    let Some(dir) = samples_dir() else {
        eprintln!("skipping: ../shared/data/hl7-samples not found (fresh clone without ../shared)");
        return None;
    };
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("SOURCES.") || name == ".gitattributes" {
                continue;
            }
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
    let mut out = BTreeMap::new();
    walk(&dir, &dir, &mut out);
    Some(out)
}

/// The MALFORMED files of SOURCES.md and the error each must produce (at least once).
const MALFORMED: &[(&str, ParseErrorKind)] = &[
    (
        "rethinkhealth__hl7v2/qa/fixtures/invalid-missing-msh.hl7",
        ParseErrorKind::MissingMsh,
    ),
    (
        "rethinkhealth__hl7v2/qa/fixtures/invalid-segment-header-length.hl7",
        ParseErrorKind::BadSegmentId,
    ),
    (
        "cosyte__hl7/test/fixtures/batch/malformed-mid-batch.hl7",
        ParseErrorKind::TruncatedMsh,
    ),
    (
        "cosyte__hl7/test/fixtures/malformed/empty-input.hl7",
        ParseErrorKind::Empty,
    ),
    (
        "cosyte__hl7/test/fixtures/malformed/invalid-encoding-characters.hl7",
        ParseErrorKind::BadDelimiters,
    ),
    (
        "cosyte__hl7/test/fixtures/malformed/msh-too-short.hl7",
        ParseErrorKind::TruncatedMsh,
    ),
    (
        "cosyte__hl7/test/fixtures/malformed/no-msh-segment.hl7",
        ParseErrorKind::MissingMsh,
    ),
    (
        "cosyte__hl7/test/fixtures/stream/malformed-mid-stream.hl7",
        ParseErrorKind::TruncatedMsh,
    ),
];

/// Well-formed files holding more than one message (all others hold exactly one), with the
/// segment count of each message, counted by hand from the bytes.
const MULTI: &[(&str, &[usize])] = &[
    (
        "cosyte__hl7/test/fixtures/batch/count-mismatch.hl7",
        &[4, 4],
    ),
    (
        "cosyte__hl7/test/fixtures/batch/multi-batch-file.hl7",
        &[4, 4, 4],
    ),
    ("cosyte__hl7/test/fixtures/batch/single-batch.hl7", &[4, 4]),
    (
        "cosyte__hl7/test/fixtures/stream/mixed-terminators.hl7",
        &[3, 2],
    ),
    (
        "cosyte__hl7/test/fixtures/stream/split-across-chunks.hl7",
        &[4, 4],
    ),
    // Two MSH back to back: a new message starts at every MSH.
    (
        "cosyte__hl7/test/fixtures/vendor-quirks/duplicate-required-segment.hl7",
        &[1, 4],
    ),
];

/// One-message files checked by hand: segments, MSH-9.1, MSH-9.2, MSH-10, PID-3.1 (first
/// repetition), PV1-2, PV1-44, PV1-45 ("" = empty; None = no such segment).
type Expect = (
    &'static str,
    usize,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);
const CHECKED: &[Expect] = &[
    (
        "cosyte__hl7/test/fixtures/vendor-quirks/segment-case.hl7",
        4,
        "ADT",
        "A01",
        "MSGVQ005",
        Some("MRN-VQ-005"),
        Some("I"),
        Some(""),
        Some(""),
    ),
    (
        "cosyte__hl7/test/fixtures/edge-cases/custom-msh-delimiters.hl7",
        3,
        "ADT",
        "A01",
        "MSG10009",
        Some("MRN-CMD-001"),
        None,
        None,
        None,
    ),
    (
        "rethinkhealth__hl7v2/qa/fixtures/edge-custom-delimiters.hl7",
        2,
        "ADT",
        "A01",
        "MSG007",
        Some("12345"),
        None,
        None,
        None,
    ),
    (
        "ruby-hl7__ruby-hl7/test_data/adt_a01.hl7",
        9,
        "ADT",
        "A01",
        "00003",
        Some("191919"),
        Some(""),
        Some(""),
        Some(""),
    ),
    (
        "LinuxForHealth__hl7v2-fhir-converter/src/test/resources/sample_win.hl7",
        8,
        "ADT",
        "A01",
        "102",
        Some("PID1234"),
        Some("ff"),
        Some("201409122200"),
        Some(""),
    ),
    (
        "LinuxForHealth__hl7v2-fhir-converter/src/test/resources/sample_unix.hl7",
        8,
        "ADT",
        "A01",
        "102",
        Some("PID1234"),
        Some("ff"),
        Some("201409122200"),
        Some(""),
    ),
    (
        "hapifhir__hapi-hl7v2/hapi-test/src/test/resources/ca/uhn/hl7v2/parser/adt_a03.txt",
        5,
        "ADT",
        "A03",
        "263206",
        Some("5520255"),
        Some("I"),
        Some(""),
        Some("200803031508"),
    ),
    (
        "hapifhir__hapi-hl7v2/hapi-test/src/test/resources/ca/uhn/hl7v2/util/segmentfinder_a24.hl7",
        4,
        "ADT",
        "A24",
        "2003582144",
        Some("11111"),
        None,
        None,
        None,
    ),
    (
        "microsoft__FHIR-Converter/data/SampleData/Hl7v2/ADT-A03-01.hl7",
        24,
        "ADT",
        "A03",
        "MSG00001",
        Some("PATID1234"),
        Some("P"),
        Some("20150208113419+0110"),
        Some("20150209113419+0110"),
    ),
    (
        "microsoft__FHIR-Converter/data/SampleData/Hl7v2/ADT-A03-02.hl7",
        4,
        "ADT",
        "A03",
        "MSG00001",
        Some("PATID1234"),
        Some("P"),
        Some("20150208113419+0110"),
        Some("20150209113419+0110"),
    ),
    (
        "microsoft__FHIR-Converter/data/SampleData/Hl7v2/ADT04-251.hl7",
        4,
        "ADT",
        "A04",
        "1270326314",
        Some("MRN12345"),
        Some("E"),
        Some("20190504181205+0700"),
        Some(""),
    ),
    (
        "microsoft__FHIR-Converter/data/SampleData/Hl7v2/ADT01-23.hl7",
        12,
        "ADT",
        "A01",
        "599102",
        Some("10006579"),
        Some("I"),
        Some("20050110045502+0700"),
        Some(""),
    ),
    (
        "microsoft__FHIR-Converter/data/SampleData/Hl7v2/ADT01-28.hl7",
        5,
        "ADT",
        "A01",
        "MSG00001",
        Some("PATID1234"),
        Some("I"),
        Some(""),
        Some(""),
    ),
    (
        "cosyte__hl7/test/fixtures/vendor-quirks/mllp-framing-stripped.hl7",
        4,
        "ADT",
        "A01",
        "MSGVQ001",
        Some("MRN-VQ-001"),
        Some("I"),
        Some(""),
        Some(""),
    ),
    (
        "Efferent-Health__HL7-dotnetcore/test/Sample-ADT.txt",
        5,
        "ADT",
        "O01",
        "MSGID12349876",
        Some("454721"),
        Some("O"),
        Some("199912271408"),
        Some(""),
    ),
    (
        "rethinkhealth__hl7v2/qa/fixtures/edge-crlf-line-endings.hl7",
        3,
        "ADT",
        "A01",
        "MSG006",
        Some("12345"),
        Some("I"),
        Some(""),
        Some(""),
    ),
    (
        "cosyte__hl7/test/fixtures/edge-cases/mixed-line-endings.hl7",
        4,
        "ADT",
        "A01",
        "MSG10003",
        Some("MRN-MIX-001"),
        Some("I"),
        Some(""),
        Some(""),
    ),
];

/// Reads every value of every segment (fields, repetitions, components, subcomponents) and
/// returns how many non-empty values were seen; panics would fail the test.
fn touch_everything(msg: &Message<'_>) -> usize {
    let mut seen = 0;
    for seg in msg.segments() {
        for field in seg.fields() {
            seen += usize::from(field.value().is_some());
            for rep in field.repetitions() {
                for comp in rep.components() {
                    for sub in comp.subcomponents() {
                        seen += usize::from(sub.value().is_some());
                    }
                }
            }
        }
    }
    seen
}

fn field_text(msg: &Message<'_>, seg: &str, field: usize, comp: usize) -> Option<String> {
    msg.segment(seg).map(|s| {
        s.value(field, comp)
            .map(|v| v.into_owned())
            .unwrap_or_default()
    })
}

#[test]
fn corpus_has_the_expected_files() {
    let Some(files) = load() else { return };
    assert_eq!(files.len(), 132, "sample count changed");
    for (name, _) in MALFORMED {
        assert!(files.contains_key(*name), "{name}");
    }
}

#[test]
fn malformed_files_give_typed_errors() {
    let Some(files) = load() else { return };
    for (name, kind) in MALFORMED {
        let kinds: Vec<ParseErrorKind> = split_messages(&files[*name])
            .filter_map(|m| Message::parse(m).err())
            .map(|e| e.kind)
            .collect();
        assert!(
            kinds.contains(kind),
            "{name}: expected {kind}, got {kinds:?}"
        );
    }
    // The good messages around a broken one are still read.
    let mid = &files["cosyte__hl7/test/fixtures/stream/malformed-mid-stream.hl7"];
    let results: Vec<_> = split_messages(mid).map(Message::parse).collect();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap().segment_count(), 4);
    assert_eq!(
        results[1].as_ref().unwrap_err().kind,
        ParseErrorKind::TruncatedMsh
    );
    let third = results[2].as_ref().unwrap();
    assert_eq!(
        third.segment("MSH").unwrap().value(10, 1).as_deref(),
        Some("STREAM0011")
    );
}

#[test]
fn well_formed_files_parse_fully() {
    let Some(files) = load() else { return };
    let mut full = 0;
    for (name, bytes) in &files {
        if MALFORMED.iter().any(|(m, _)| m == name) {
            continue;
        }
        let expected_msgs = MULTI
            .iter()
            .find(|(m, _)| m == name)
            .map_or(1, |(_, counts)| counts.len());
        let items: Vec<&[u8]> = split_messages(bytes).collect();
        assert_eq!(items.len(), expected_msgs, "{name}: message count");
        for (i, item) in items.iter().enumerate() {
            let msg = Message::parse(item).unwrap_or_else(|e| panic!("{name} #{i}: {e}"));
            let msh = msg.segment("MSH").unwrap();
            assert!(msh.value(9, 1).is_some(), "{name}: MSH-9.1");
            assert!(msh.value(9, 2).is_some(), "{name}: MSH-9.2");
            assert!(msh.value(10, 1).is_some(), "{name}: MSH-10");
            let msh7 = msh.value(7, 1).unwrap();
            Timestamp::parse(&msh7).unwrap_or_else(|e| panic!("{name}: MSH-7: {e}"));
            assert!(touch_everything(&msg) > 5, "{name}");
        }
        full += 1;
    }
    assert_eq!(full, 124);
}

#[test]
fn multi_message_files_have_the_right_segment_counts() {
    let Some(files) = load() else { return };
    for (name, counts) in MULTI {
        let got: Vec<usize> = split_messages(&files[*name])
            .map(|m| Message::parse(m).unwrap().segment_count())
            .collect();
        assert_eq!(&got, counts, "{name}");
    }
}

#[test]
fn batch_counts_are_checked() {
    let Some(files) = load() else { return };
    let msgs = split_messages(&files["cosyte__hl7/test/fixtures/batch/count-mismatch.hl7"]);
    assert_eq!(
        msgs.count_mismatches(),
        &[CountMismatch {
            trailer: Trailer::Batch,
            declared: 3,
            actual: 2
        }]
    );
    for ok in [
        "cosyte__hl7/test/fixtures/batch/single-batch.hl7",
        "cosyte__hl7/test/fixtures/batch/multi-batch-file.hl7",
        "cosyte__hl7/test/fixtures/batch/malformed-mid-batch.hl7",
    ] {
        assert!(
            split_messages(&files[ok]).count_mismatches().is_empty(),
            "{ok}"
        );
    }
    let multi = split_messages(&files["cosyte__hl7/test/fixtures/batch/multi-batch-file.hl7"]);
    assert_eq!(multi.batch_count(), 2);
    assert!(multi.has_file_header());
    let ids: Vec<String> = multi
        .map(|m| {
            let msg = Message::parse(m).unwrap();
            msg.segment("MSH")
                .unwrap()
                .value(10, 1)
                .unwrap()
                .into_owned()
        })
        .collect();
    assert_eq!(ids, ["MSGB0001", "MSGB0002", "MSGB0003"]);
}

#[test]
fn hand_checked_files() {
    let Some(files) = load() else { return };
    for &(name, segs, m91, m92, m10, pid3, pv12, pv144, pv145) in CHECKED {
        let items: Vec<&[u8]> = split_messages(&files[name]).collect();
        assert_eq!(items.len(), 1, "{name}");
        let msg = Message::parse(items[0]).unwrap();
        assert_eq!(msg.segment_count(), segs, "{name}: segments");
        assert_eq!(
            field_text(&msg, "MSH", 9, 1).as_deref(),
            Some(m91),
            "{name}"
        );
        assert_eq!(
            field_text(&msg, "MSH", 9, 2).as_deref(),
            Some(m92),
            "{name}"
        );
        assert_eq!(
            field_text(&msg, "MSH", 10, 1).as_deref(),
            Some(m10),
            "{name}"
        );
        assert_eq!(
            field_text(&msg, "PID", 3, 1).as_deref(),
            pid3,
            "{name}: PID-3"
        );
        assert_eq!(
            field_text(&msg, "PV1", 2, 1).as_deref(),
            pv12,
            "{name}: PV1-2"
        );
        assert_eq!(
            field_text(&msg, "PV1", 44, 1).as_deref(),
            pv144,
            "{name}: PV1-44"
        );
        assert_eq!(
            field_text(&msg, "PV1", 45, 1).as_deref(),
            pv145,
            "{name}: PV1-45"
        );
    }
}

#[test]
fn quirks_read_right() {
    let Some(files) = load() else { return };
    let one = |name: &str| -> Message<'_> {
        let bytes: &[u8] = &files[name];
        Message::parse(split_messages(bytes).next().unwrap()).unwrap()
    };
    // Escapes in PID-5 (cosyte embedded-delimiters): every standard escape decoded.
    let m = one("cosyte__hl7/test/fixtures/edge-cases/embedded-delimiters.hl7");
    let pid5 = m.segment("PID").unwrap().field(5);
    let text: String = pid5
        .components()
        .filter_map(|c| c.value())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains('|') && text.contains('^') && text.contains('&'),
        "decoded"
    );
    assert!(!text.contains("\\F\\"));
    // UTF-8 names.
    let m = one("rethinkhealth__hl7v2/qa/fixtures/edge-non-ascii.hl7");
    let name = m.segment("PID").unwrap().value(5, 1).unwrap();
    assert!(!name.is_ascii(), "non-ASCII family name kept");
    // Explicit nulls.
    let m = one("cosyte__hl7/test/fixtures/edge-cases/null-fields.hl7");
    let pid = m.segment("PID").unwrap();
    assert!(pid.field(2).is_null() && pid.field(9).is_null() && pid.field(10).is_null());
    assert_eq!(pid.field(2).value(), None);
    // Vendor timestamp shapes.
    for (name, want) in [
        (
            "cosyte__hl7/test/fixtures/vendor-quirks/timestamp-fallback-format.hl7",
            (2026, 1, 15),
        ),
        (
            "cosyte__hl7/test/fixtures/vendor-shapes/athena/adt-a01.hl7",
            (2025, 1, 15),
        ),
        (
            "cosyte__hl7/test/fixtures/vendor-shapes/epic/adt-a01.hl7",
            (2025, 1, 15),
        ),
    ] {
        let m = one(name);
        let ts = Timestamp::parse(&m.segment("EVN").unwrap().value(2, 1).unwrap()).unwrap();
        assert_eq!((ts.year, ts.month, ts.day), want, "{name}");
    }
    // Year-only birth date.
    let m = one("cosyte__hl7/test/fixtures/datetime/precision-year.hl7");
    let dob = Timestamp::parse(&m.segment("PID").unwrap().value(7, 1).unwrap()).unwrap();
    assert_eq!(dob.precision(), readmit::hl7::Precision::Year);
    // 12 repetitions of PID-13.
    let m = one("rethinkhealth__hl7v2/qa/fixtures/edge-field-repetitions.hl7");
    assert_eq!(m.segment("PID").unwrap().field(13).repetition_count(), 12);
}
