//! `readmit parse` output on the public HL7 samples in `../shared/data/hl7-samples`.
//!
//! Expected values were read by hand from the file bytes (`xxd`, `tr '\r' '\n' | cut -d'|'`),
//! not produced by this code. Skipped, with a printed reason, when the samples are absent.

use std::path::{Path, PathBuf};

use readmit::parse_output::{records, Record};
use serde_json::Value;

fn samples_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/hl7-samples");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: {} not found; the HL7 sample corpus lives outside the repository",
            dir.display()
        );
        None
    }
}

/// The records of one sample as (JSON line, parsed value).
fn json_records(dir: &Path, file: &str) -> Vec<(String, Value)> {
    let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
    records(&bytes, Some(file))
        .map(|r| {
            let line = r.to_json();
            let value = serde_json::from_str(&line).expect("record line is JSON");
            (line, value)
        })
        .collect()
}

/// Asserts that `line` has exactly `keys` at the top level, in this order.
fn assert_keys_in_order(line: &str, value: &Value, keys: &[&str], what: &str) {
    let mut got: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut want = keys.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{what}: key set");
    // serde_json::Value sorts keys; the order shows in the line itself.
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| line.find(&format!("\"{k}\":")).expect("key in line"))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "{what}: key order in {line}"
    );
}

/// Hand-checked values of one message; `None` = JSON null.
#[derive(Clone, Copy)]
struct Exp {
    file: &'static str,
    index: usize,
    message_type: Option<&'static str>,
    trigger_event: Option<&'static str>,
    control_id: Option<&'static str>,
    version: Option<&'static str>,
    sending_facility: Option<&'static str>,
    patient_id: Option<&'static str>,
    assigning_authority: Option<&'static str>,
    sex: Option<&'static str>,
    birth_date: Option<&'static str>,
    race: Option<&'static str>,
    zip: Option<&'static str>,
    patient_class: Option<&'static str>,
    admission_type: Option<&'static str>,
    admit_source: Option<&'static str>,
    discharge_disposition: Option<&'static str>,
    visit_number: Option<&'static str>,
    admit_datetime: Option<&'static str>,
    discharge_datetime: Option<&'static str>,
    dg1_count: usize,
    /// First DG1: code, system, type.
    dg1_first: Option<[Option<&'static str>; 3]>,
}

/// Every value null, no DG1.
const NULLS: Exp = Exp {
    file: "",
    index: 0,
    message_type: None,
    trigger_event: None,
    control_id: None,
    version: None,
    sending_facility: None,
    patient_id: None,
    assigning_authority: None,
    sex: None,
    birth_date: None,
    race: None,
    zip: None,
    patient_class: None,
    admission_type: None,
    admit_source: None,
    discharge_disposition: None,
    visit_number: None,
    admit_datetime: None,
    discharge_datetime: None,
    dg1_count: 0,
    dg1_first: None,
};

const fn s(v: &'static str) -> Option<&'static str> {
    Some(v)
}

const CO: &str = "cosyte__hl7/test/fixtures/";
const RH: &str = "rethinkhealth__hl7v2/qa/fixtures/";
const MS: &str = "microsoft__FHIR-Converter/data/SampleData/Hl7v2/";

/// The cosyte "SENDAPP/SENDFAC … FAKEMSGx000n" batch message shape.
const fn batch_msg(
    file: &'static str,
    index: usize,
    control: &'static str,
    mrn: &'static str,
) -> Exp {
    Exp {
        file,
        index,
        message_type: s("ADT"),
        trigger_event: s("A01"),
        control_id: s(control),
        version: s("2.5"),
        sending_facility: s("SENDFAC"),
        patient_id: s(mrn),
        assigning_authority: s("HOSP"),
        sex: s("M"),
        birth_date: s("20000101"),
        patient_class: s("I"),
        ..NULLS
    }
}

/// The cosyte "SENDAPP/SENDFAC … MRN-xx-nnn … 19800101|M" single-message shape.
const fn simple_msg(
    file: &'static str,
    control: &'static str,
    mrn: &'static str,
    class: Option<&'static str>,
) -> Exp {
    Exp {
        file,
        index: 0,
        message_type: s("ADT"),
        trigger_event: s("A01"),
        control_id: s(control),
        version: s("2.5"),
        sending_facility: s("SENDFAC"),
        patient_id: s(mrn),
        assigning_authority: s("HOSP"),
        sex: s("M"),
        birth_date: s("19800101"),
        patient_class: class,
        ..NULLS
    }
}

/// The Microsoft FHIR-Converter v2.8 "GHHSFacility / PATID1234" shape.
const fn ms_ghh(
    name: &'static str,
    trigger: &'static str,
    discharge: Option<&'static str>,
    dg1: usize,
) -> Exp {
    Exp {
        file: name,
        index: 0,
        message_type: s("ADT"),
        trigger_event: s(trigger),
        control_id: s("MSG00001"),
        version: s("2.8"),
        sending_facility: s("GHHSFacility"),
        patient_id: s("PATID1234"),
        assigning_authority: s("test1"),
        sex: s("M"),
        birth_date: s("198808181126+0215"),
        race: s("2106-3"),
        zip: s("99999"),
        patient_class: s("P"),
        admission_type: s("E"),
        admit_source: s("NHS Provider-General (inc.A&E-this Hosp)"),
        discharge_disposition: s("Admitted as Inpatient"),
        visit_number: s("40007716"),
        admit_datetime: s("20150208113419+0110"),
        discharge_datetime: discharge,
        dg1_count: dg1,
        dg1_first: if dg1 > 0 {
            Some([s("422504002"), s("SCT"), s("A")])
        } else {
            None
        },
    }
}

fn expectations() -> Vec<Exp> {
    let co = |p: &str| -> &'static str { Box::leak(format!("{CO}{p}").into_boxed_str()) };
    let rh = |p: &str| -> &'static str { Box::leak(format!("{RH}{p}").into_boxed_str()) };
    let ms = |p: &str| -> &'static str { Box::leak(format!("{MS}{p}").into_boxed_str()) };
    let canonical = |p: &str, trig, ctrl, fac, mrn, sex, dob, zip, class, visit, ver| Exp {
        file: co(p),
        message_type: s("ADT"),
        trigger_event: s(trig),
        control_id: s(ctrl),
        version: s(ver),
        sending_facility: s(fac),
        patient_id: s(mrn),
        assigning_authority: s("HOSP"),
        sex: s(sex),
        birth_date: s(dob),
        zip,
        patient_class: class,
        visit_number: visit,
        ..NULLS
    };
    vec![
        // --- cosyte canonical
        canonical("canonical/adt-a01.hl7", "A01", "MSG00001", "MAIN", "MRN12345", "M", "19800115", s("02101"), s("I"), s("VISIT001"), "2.5"),
        canonical("canonical/adt-a04.hl7", "A04", "MSG00003", "HOSP", "MRN-A04-001", "F", "19850615", s("02102"), s("O"), s("VISIT-A04-001"), "2.5"),
        canonical("canonical/adt-a08.hl7", "A08", "MSG00004", "HOSP", "MRN-A08-001", "M", "19800115", s("02103"), s("I"), s("VISIT-A08-001"), "2.5"),
        canonical("canonical/adt-a40-merge.hl7", "A40", "MSG00020", "MAIN", "MRN99001", "F", "19750301", None, s("O"), s("VIS7001"), "2.5"),
        canonical("canonical/adt-a18-merge-deprecated.hl7", "A18", "MSG00022", "MAIN", "MRN99005", "F", "19881130", None, None, None, "2.3"),
        // Two PIDs (A24 link): the first one is reported.
        canonical("canonical/adt-a24-link.hl7", "A24", "MSG00024", "MAIN", "MRN99009", "F", "19700101", None, None, None, "2.5"),
        // --- cosyte batches: every message
        batch_msg(co("batch/single-batch.hl7"), 0, "MSGA0001", "FAKEMSGA0001"),
        batch_msg(co("batch/single-batch.hl7"), 1, "MSGA0002", "FAKEMSGA0002"),
        batch_msg(co("batch/multi-batch-file.hl7"), 0, "MSGB0001", "FAKEMSGB0001"),
        batch_msg(co("batch/multi-batch-file.hl7"), 1, "MSGB0002", "FAKEMSGB0002"),
        batch_msg(co("batch/multi-batch-file.hl7"), 2, "MSGB0003", "FAKEMSGB0003"),
        batch_msg(co("batch/count-mismatch.hl7"), 0, "MSGC0001", "FAKEMSGC0001"),
        batch_msg(co("batch/count-mismatch.hl7"), 1, "MSGC0002", "FAKEMSGC0002"),
        batch_msg(co("batch/bare-message.hl7"), 0, "MSGE0001", "FAKEMSGE0001"),
        // Index 1 is the truncated `MSH|^~` (an error record, checked below).
        batch_msg(co("batch/malformed-mid-batch.hl7"), 0, "MSGD0001", "FAKEMSGD0001"),
        batch_msg(co("batch/malformed-mid-batch.hl7"), 2, "MSGD0003", "FAKEMSGD0003"),
        // --- cosyte edge cases
        // Field `@`, component `~`, repetition `&`, escape `#`, subcomponent `\`.
        simple_msg(co("edge-cases/custom-msh-delimiters.hl7"), "MSG10009", "MRN-CMD-001", None),
        simple_msg(co("edge-cases/crlf-line-endings.hl7"), "MSG10002", "MRN-CRLF-001", s("I")),
        simple_msg(co("edge-cases/mixed-line-endings.hl7"), "MSG10003", "MRN-MIX-001", s("I")),
        simple_msg(co("edge-cases/lf-line-endings.hl7"), "MSG10001", "MRN-LF-001", s("I")),
        Exp {
            file: co("edge-cases/embedded-delimiters.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A08"),
            control_id: s("MSG00004"),
            version: s("2.5"),
            sending_facility: s("FAC"),
            patient_id: s("MRN77777"),
            assigning_authority: s("HOSP"),
            sex: s("M"),
            birth_date: s("19700101"),
            ..NULLS
        },
        // PID-3 empty (the id sits in PID-4), everything after shifted: PID-10 holds "F".
        Exp {
            file: co("edge-cases/empty-fields.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A04"),
            control_id: s("MSG10006"),
            version: s("2.5"),
            sending_facility: s("SENDFAC"),
            race: s("F"),
            ..NULLS
        },
        // `""` in PID-2, PID-9, PID-10 (race) and PID-11 (zip): all null.
        Exp {
            file: co("edge-cases/null-fields.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A04"),
            control_id: s("MSG00003"),
            version: s("2.5"),
            sending_facility: s("FAC"),
            patient_id: s("MRN99999"),
            assigning_authority: s("HOSP"),
            sex: s("F"),
            birth_date: s("19850601"),
            ..NULLS
        },
        // --- cosyte vendor quirks
        simple_msg(co("vendor-quirks/mllp-framing-stripped.hl7"), "MSGVQ001", "MRN-VQ-001", s("I")),
        // Lower-case `pid` segment id.
        simple_msg(co("vendor-quirks/segment-case.hl7"), "MSGVQ005", "MRN-VQ-005", s("I")),
        // PID-3.1 is "  MRN-VQ-002  ": padding trimmed.
        simple_msg(co("vendor-quirks/field-whitespace-trimmed.hl7"), "MSGVQ002", "MRN-VQ-002", s("I")),
        simple_msg(co("vendor-quirks/out-of-order-segment.hl7"), "MSGVQ011", "MRN-VQ-011", s("I")),
        simple_msg(co("vendor-quirks/version-mismatch.hl7"), "MSGVQ012", "MRN-VQ-012", s("I"))
            .with_version("2.9"),
        // Two MSH back to back: the first is a message of its own with only a header.
        Exp {
            file: co("vendor-quirks/duplicate-required-segment.hl7"),
            index: 0,
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("MSGVQ008"),
            version: s("2.5"),
            sending_facility: s("SENDFAC"),
            ..NULLS
        },
        Exp {
            index: 1,
            ..simple_msg(co("vendor-quirks/duplicate-required-segment.hl7"), "MSGVQ008B", "MRN-VQ-008", s("I"))
        },
        // --- cosyte conformance, streams, shapes
        // PID-3 empty: patient_id null, no fallback.
        Exp {
            file: co("conformance/adt-missing-required.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("MSG00001"),
            version: s("2.5"),
            sending_facility: s("MAIN"),
            sex: s("M"),
            birth_date: s("19800115"),
            zip: s("02101"),
            patient_class: s("I"),
            visit_number: s("VISIT001"),
            ..NULLS
        },
        // PID-3 with two MR repetitions: the first.
        canonical("conformance/adt-cardinality.hl7", "A01", "MSG00001", "MAIN", "MRN12345", "M", "19800115", s("02101"), s("I"), s("VISIT001"), "2.5"),
        Exp {
            file: co("stream/mixed-terminators.hl7"),
            index: 0,
            trigger_event: s("A01"),
            control_id: s("STREAM0020"),
            patient_id: s("FAKE0020"),
            sex: s("F"),
            patient_class: None,
            ..batch_msg("", 0, "", "")
        },
        Exp {
            file: co("stream/mixed-terminators.hl7"),
            index: 1,
            trigger_event: s("A03"),
            control_id: s("STREAM0021"),
            patient_id: s("FAKE0021"),
            sex: s("M"),
            patient_class: None,
            ..batch_msg("", 0, "", "")
        },
        Exp {
            file: co("stream/malformed-mid-stream.hl7"),
            index: 0,
            control_id: s("STREAM0010"),
            patient_id: s("FAKESTREAM0010"),
            sex: s("F"),
            ..batch_msg("", 0, "", "")
        },
        Exp {
            file: co("stream/malformed-mid-stream.hl7"),
            index: 2,
            trigger_event: s("A08"),
            control_id: s("STREAM0011"),
            patient_id: s("FAKESTREAM0011"),
            sex: s("F"),
            ..batch_msg("", 0, "", "")
        },
        Exp {
            file: co("stream/split-across-chunks.hl7"),
            index: 1,
            trigger_event: s("A03"),
            control_id: s("STREAM0002"),
            patient_id: s("FAKESTREAM0002"),
            sex: s("F"),
            ..batch_msg("", 0, "", "")
        },
        // PID-3 has no CX.4: assigning authority null.
        Exp {
            file: co("vendor-shapes/philips/adt-a08.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A08"),
            control_id: s("MSGPH002"),
            version: s("2.3"),
            sending_facility: s("RADCTR"),
            patient_id: s("MRN-PH-001"),
            sex: s("M"),
            birth_date: s("19800101"),
            patient_class: s("O"),
            ..NULLS
        },
        Exp {
            file: co("vendor-shapes/epic/adt-a01.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("MSG0001"),
            version: s("2.5"),
            sending_facility: s("HOSP"),
            patient_id: s("EPIC-00001"),
            assigning_authority: s("HOSP.MRN"),
            sex: s("M"),
            birth_date: s("19800115"),
            patient_class: s("I"),
            ..NULLS
        },
        Exp {
            file: co("datetime/precision-year.hl7"),
            control_id: s("MSGDT001"),
            patient_id: s("MRNDT001"),
            sex: s("F"),
            birth_date: s("1970"),
            patient_class: None,
            ..batch_msg("", 0, "", "")
        },
        // --- rethinkhealth
        // Field `#`, component `!`, repetition `@`, escape `%`, subcomponent `*`.
        Exp {
            file: rh("edge-custom-delimiters.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("MSG007"),
            version: s("2.5"),
            sending_facility: s("FAC"),
            patient_id: s("12345"),
            assigning_authority: s("MRN"),
            sex: s("M"),
            birth_date: s("19800101"),
            ..NULLS
        },
        Exp {
            file: rh("adt-a01-full.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("CTRL0042"),
            version: s("2.5.1"),
            sending_facility: s("HOSP_A"),
            patient_id: s("98765"),
            assigning_authority: s("MRN"),
            sex: s("F"),
            birth_date: s("19750315"),
            race: s("2106-3"),
            zip: s("62960"),
            patient_class: s("I"),
            admit_source: s("7"),
            admit_datetime: s("20260401083000"),
            dg1_count: 1,
            dg1_first: Some([s("R07.9"), s("ICD10"), s("A")]),
            ..NULLS
        },
        Exp {
            file: rh("adt-a01-basic.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("MSG00001"),
            version: s("2.5.1"),
            sending_facility: s("FACILITY_A"),
            patient_id: s("12345"),
            assigning_authority: s("MRN"),
            sex: s("M"),
            birth_date: s("19800101"),
            zip: s("12345"),
            patient_class: s("I"),
            ..NULLS
        },
        Exp {
            file: rh("edge-escaped-delimiters.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("MSG001"),
            version: s("2.5"),
            sending_facility: s("FAC"),
            patient_id: s("12345"),
            assigning_authority: s("MRN"),
            sex: s("M"),
            birth_date: s("19800101"),
            ..NULLS
        },
        Exp {
            file: rh("invalid-wrong-version.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("MSG001"),
            version: s("1.0"),
            sending_facility: s("FAC"),
            patient_id: s("12345"),
            assigning_authority: s("MRN"),
            sex: s("M"),
            birth_date: s("19800101"),
            ..NULLS
        },
        // PID and PV1 made of empty fields only.
        Exp {
            file: rh("edge-empty-segments.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("MSG005"),
            version: s("2.5"),
            sending_facility: s("FAC"),
            ..NULLS
        },
        // --- hapi
        // Field `^`, component `~`, repetition `|`, subcomponent `&`; CRLF.
        Exp {
            file: "hapifhir__hapi-hl7v2/hapi-test/src/test/resources/ca/uhn/hl7v2/util/segmentfinder_a24.hl7",
            message_type: s("ADT"),
            trigger_event: s("A24"),
            control_id: s("2003582144"),
            version: s("2.4"),
            sending_facility: s("200M"),
            patient_id: s("11111"),
            assigning_authority: s("FOO"),
            ..NULLS
        },
        // EVN-1 empty, trigger from MSH-9.2; PV1-45 present, PV1-44 empty.
        Exp {
            file: "hapifhir__hapi-hl7v2/hapi-test/src/test/resources/ca/uhn/hl7v2/parser/adt_a03.txt",
            message_type: s("ADT"),
            trigger_event: s("A03"),
            control_id: s("263206"),
            version: s("2.5"),
            sending_facility: s("SANTER"),
            patient_id: s("5520255"),
            assigning_authority: s("PK"),
            sex: s("F"),
            birth_date: s("19830824"),
            patient_class: s("I"),
            visit_number: s("2008003369"),
            discharge_datetime: s("200803031508"),
            ..NULLS
        },
        // PID-3 "2216506^": no authority; PV1-2 empty, PV1-4 "E^EMERGENCY".
        Exp {
            file: "hapifhir__hapi-hl7v2/src/docs/examples/ADT_A01.txt",
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("22139243"),
            version: s("2.4"),
            sending_facility: s("W"),
            patient_id: s("2216506"),
            sex: s("M"),
            birth_date: s("19720227"),
            zip: s("M6G 3E6"),
            admission_type: s("E"),
            visit_number: s("211004554"),
            admit_datetime: s("200105231927"),
            ..NULLS
        },
        // --- LinuxForHealth: MSH-2 is `^~\\&`
        lfh("LinuxForHealth__hl7v2-fhir-converter/src/test/resources/sample_unix.hl7"),
        lfh("LinuxForHealth__hl7v2-fhir-converter/src/test/resources/sample_win.hl7"),
        // --- ruby-hl7: MSH-2 is `^\&`, MSH-4 empty, stray VT after the message
        Exp {
            file: "ruby-hl7__ruby-hl7/test_data/adt_a01.hl7",
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("00003"),
            version: s("2.3"),
            patient_id: s("191919"),
            sex: s("F"),
            birth_date: s("19560129"),
            zip: s("49849"),
            admit_source: s("AMB"),
            visit_number: s("123434"),
            ..NULLS
        },
        // --- Efferent: ADT^O01, blank line and a lone space line
        Exp {
            file: "Efferent-Health__HL7-dotnetcore/test/Sample-ADT.txt",
            message_type: s("ADT"),
            trigger_event: s("O01"),
            control_id: s("MSGID12349876"),
            version: s("2.3"),
            sending_facility: s("StJohn"),
            patient_id: s("454721"),
            sex: s("M"),
            birth_date: s("19480203"),
            race: s("B"),
            zip: s("44123"),
            patient_class: s("O"),
            visit_number: s("2688684"),
            admit_datetime: s("199912271408"),
            ..NULLS
        },
        // --- Microsoft FHIR-Converter (MSH-9.2 differs from EVN-1 = A01 in these)
        ms_ghh(ms("ADT-A01-01.hl7"), "A01", None, 1),
        ms_ghh(ms("ADT-A03-01.hl7"), "A03", s("20150209113419+0110"), 1),
        ms_ghh(ms("ADT-A03-02.hl7"), "A03", s("20150209113419+0110"), 0),
        ms_ghh(ms("ADT-A08-01.hl7"), "A08", s("20150209113419+0110"), 1),
        ms_ghh(ms("ADT-A13-02.hl7"), "A13", s("20150208113419+0110"), 0),
        // BOM, v2.3, trailing space before each LF, DG1-3.3 = I9.
        Exp {
            file: ms("ADT01-23.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("599102"),
            version: s("2.3"),
            sending_facility: s("1"),
            patient_id: s("10006579"),
            assigning_authority: s("1"),
            sex: s("M"),
            birth_date: s("19241010"),
            race: s("1"),
            zip: s("999990000"),
            patient_class: s("I"),
            admission_type: s("3"),
            admit_source: s("1"),
            visit_number: s("40007716"),
            admit_datetime: s("20050110045502+0700"),
            dg1_count: 1,
            dg1_first: Some([s("71596"), s("I9"), s("A")]),
            ..NULLS
        },
        Exp {
            file: ms("ADT01-28.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A01"),
            control_id: s("MSG00001"),
            version: s("2.5.1"),
            sending_facility: s("GOOD HEALTH HOSPITAL"),
            patient_id: s("PATID1234"),
            assigning_authority: s("ADT1"),
            sex: s("M"),
            birth_date: s("19610615"),
            race: s("C"),
            zip: s("27401-1020"),
            patient_class: s("I"),
            admit_source: s("ADM"),
            ..NULLS
        },
        // BOM, no EVN segment.
        Exp {
            file: ms("ADT04-251.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A04"),
            control_id: s("1270326314"),
            version: s("2.3"),
            sending_facility: s("RDX"),
            patient_id: s("MRN12345"),
            sex: s("F"),
            birth_date: s("19780101"),
            race: s("2106-3"),
            patient_class: s("E"),
            admit_datetime: s("20190504181205+0700"),
            ..NULLS
        },
        Exp {
            file: ms("ADT04-23.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A04"),
            control_id: s("Q123456789T123456789X123456"),
            version: s("2.3"),
            sending_facility: s("NINTENDO"),
            patient_id: s("123456789"),
            sex: s("M"),
            birth_date: s("19850101000000+0700"),
            zip: s("A1B2C3"),
            patient_class: s("O"),
            visit_number: s("0123456789"),
            admit_datetime: s("20010101000000+0700"),
            ..NULLS
        },
        // PID-3.1 "0000000001^^^MR": "MR" is CX.4 (authority) here, not the type.
        Exp {
            file: ms("ADT04-28.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A04"),
            control_id: s("1270326314"),
            version: s("2.3"),
            sending_facility: s("RDX"),
            patient_id: s("0000000001"),
            assigning_authority: s("MR"),
            sex: s("M"),
            birth_date: s("20080106"),
            zip: s("53566"),
            patient_class: s("I"),
            visit_number: s("1234"),
            admit_datetime: s("20181017222805+0700"),
            ..NULLS
        },
        Exp {
            file: ms("ADT-A40-01.hl7"),
            message_type: s("ADT"),
            trigger_event: s("A40"),
            control_id: s("8919-40"),
            version: s("2.8"),
            sending_facility: s("Ntierprise Clinic"),
            patient_id: s("12345"),
            assigning_authority: s("BCBS"),
            sex: s("F"),
            birth_date: s("20180205"),
            zip: s("27615"),
            ..NULLS
        },
    ]
}

fn lfh(file: &'static str) -> Exp {
    Exp {
        file,
        message_type: s("ADT"),
        trigger_event: s("A01"),
        control_id: s("102"),
        version: s("2.6"),
        sending_facility: s("050"),
        patient_id: s("PID1234"),
        assigning_authority: s("A"),
        sex: s("F"),
        birth_date: s("19800202"),
        race: s("W"),
        zip: s("111-1111"),
        patient_class: s("ff"),
        admission_type: s("EL"),
        visit_number: s("48390"),
        admit_datetime: s("201409122200"),
        ..NULLS
    }
}

impl Exp {
    fn with_version(self, v: &'static str) -> Exp {
        Exp {
            version: Some(v),
            ..self
        }
    }
}

const KEYS: [&str; 20] = [
    "message_type",
    "trigger_event",
    "control_id",
    "version",
    "sending_facility",
    "patient_id",
    "assigning_authority",
    "sex",
    "birth_date",
    "race",
    "zip",
    "patient_class",
    "admission_type",
    "admit_source",
    "discharge_disposition",
    "visit_number",
    "admit_datetime",
    "discharge_datetime",
    "diagnoses",
    "extra",
];

fn str_or_null(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

#[test]
fn hand_checked_fields_match() {
    let Some(dir) = samples_dir() else { return };
    let table = expectations();
    let mut files: Vec<&str> = table.iter().map(|e| e.file).collect();
    files.sort_unstable();
    files.dedup();
    assert!(files.len() >= 35, "only {} files hand-checked", files.len());
    eprintln!(
        "{} messages in {} files hand-checked",
        table.len(),
        files.len()
    );

    let mut failures = Vec::new();
    for exp in &table {
        let recs = json_records(&dir, exp.file);
        let Some((line, rec)) = recs.get(exp.index) else {
            failures.push(format!(
                "{}[{}]: only {} records",
                exp.file,
                exp.index,
                recs.len()
            ));
            continue;
        };
        if rec.get("error").is_some() {
            failures.push(format!("{}[{}]: error record {rec}", exp.file, exp.index));
            continue;
        }
        assert_keys_in_order(line, rec, &KEYS, exp.file);
        let fields = [
            ("message_type", exp.message_type),
            ("trigger_event", exp.trigger_event),
            ("control_id", exp.control_id),
            ("version", exp.version),
            ("sending_facility", exp.sending_facility),
            ("patient_id", exp.patient_id),
            ("assigning_authority", exp.assigning_authority),
            ("sex", exp.sex),
            ("birth_date", exp.birth_date),
            ("race", exp.race),
            ("zip", exp.zip),
            ("patient_class", exp.patient_class),
            ("admission_type", exp.admission_type),
            ("admit_source", exp.admit_source),
            ("discharge_disposition", exp.discharge_disposition),
            ("visit_number", exp.visit_number),
            ("admit_datetime", exp.admit_datetime),
            ("discharge_datetime", exp.discharge_datetime),
        ];
        for (key, want) in fields {
            let got = &rec[key];
            if *got != str_or_null(want) {
                failures.push(format!(
                    "{}[{}] {key}: got {got}, want {want:?}",
                    exp.file, exp.index
                ));
            }
        }
        let dgs = rec["diagnoses"].as_array().expect("diagnoses is a list");
        if dgs.len() != exp.dg1_count {
            failures.push(format!(
                "{}[{}] diagnoses: got {}, want {}",
                exp.file,
                exp.index,
                dgs.len(),
                exp.dg1_count
            ));
        }
        if let Some([code, system, kind]) = exp.dg1_first {
            let first = &dgs[0];
            for (key, want) in [("code", code), ("system", system), ("type", kind)] {
                if first[key] != str_or_null(want) {
                    failures.push(format!(
                        "{}[{}] diagnoses[0].{key}: got {}, want {want:?}",
                        exp.file, exp.index, first[key]
                    ));
                }
            }
        }
        assert_eq!(rec["extra"]["index"], exp.index, "{}", exp.file);
        assert_eq!(rec["extra"]["file"], exp.file);
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The eight files SOURCES.md marks MALFORMED.
const MALFORMED: [&str; 8] = [
    "rethinkhealth__hl7v2/qa/fixtures/invalid-missing-msh.hl7",
    "rethinkhealth__hl7v2/qa/fixtures/invalid-segment-header-length.hl7",
    "cosyte__hl7/test/fixtures/batch/malformed-mid-batch.hl7",
    "cosyte__hl7/test/fixtures/malformed/empty-input.hl7",
    "cosyte__hl7/test/fixtures/malformed/invalid-encoding-characters.hl7",
    "cosyte__hl7/test/fixtures/malformed/msh-too-short.hl7",
    "cosyte__hl7/test/fixtures/malformed/no-msh-segment.hl7",
    "cosyte__hl7/test/fixtures/stream/malformed-mid-stream.hl7",
];

fn sample_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read samples dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("hl7" | "txt")
            ) {
                let rel = path.strip_prefix(base).expect("under base");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn every_sample_gives_records_and_only_malformed_ones_give_errors() {
    let Some(dir) = samples_dir() else { return };
    let files = sample_files(&dir);
    assert_eq!(files.len(), 132, "SOURCES.md lists 132 samples");
    let mut unexpected = Vec::new();
    for file in &files {
        let bytes = std::fs::read(dir.join(file)).expect("read sample");
        let recs: Vec<Record> = records(&bytes, Some(file)).collect();
        assert!(!recs.is_empty(), "{file}: no record at all");
        let errors: Vec<String> = recs
            .iter()
            .filter(|r| r.is_error())
            .map(Record::to_json)
            .collect();
        let malformed = MALFORMED.contains(&file.as_str());
        if malformed && errors.is_empty() {
            unexpected.push(format!("{file}: MALFORMED but no error record"));
        }
        if !malformed && !errors.is_empty() {
            unexpected.push(format!("{file}: well-formed but {}", errors.join(" ")));
        }
        for r in &recs {
            // Every record renders both ways without panicking, and text shows the index.
            let text = r.to_text();
            assert!(
                text.starts_with("message ") || text.starts_with("error in message "),
                "{text}"
            );
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

#[test]
fn malformed_files_give_typed_error_records() {
    let Some(dir) = samples_dir() else { return };
    // (file, index of the error record, kind)
    let cases = [
        (MALFORMED[0], 0, "missing_msh"),
        (MALFORMED[1], 0, "bad_segment_id"),
        (MALFORMED[2], 1, "truncated_msh"),
        (MALFORMED[3], 0, "empty"),
        (MALFORMED[4], 0, "bad_delimiters"),
        (MALFORMED[5], 0, "truncated_msh"),
        (MALFORMED[6], 0, "missing_msh"),
        (MALFORMED[7], 1, "truncated_msh"),
    ];
    let mut failures = Vec::new();
    for (file, index, kind) in cases {
        let recs = json_records(&dir, file);
        let Some((line, rec)) = recs.get(index) else {
            failures.push(format!("{file}: no record {index}"));
            continue;
        };
        assert_keys_in_order(line, rec, &["error", "index", "file"], file);
        assert_keys_in_order(
            line,
            &rec["error"],
            &["kind", "segment", "field", "reason"],
            file,
        );
        if rec["error"]["kind"] != kind || rec["index"] != index || rec["file"] != file {
            failures.push(format!("{file}[{index}]: {rec}"));
        }
        let reason = rec["error"]["reason"].as_str().unwrap_or_default();
        assert!(!reason.is_empty(), "{file}: empty reason");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
