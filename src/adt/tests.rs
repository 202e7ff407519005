//! Unit tests for [`AdtEvent::from_message`] on synthetic messages.

use super::*;
use crate::hl7::Message;

fn event(text: &str) -> Result<AdtEvent, AdtError> {
    let msg = Message::parse(text.as_bytes()).expect("test message parses");
    AdtEvent::from_message(&msg)
}

fn ok(text: &str) -> AdtEvent {
    event(text).expect("test message is a valid ADT event")
}

/// A segment with the given (HL7 field number, raw value) pairs; other fields empty.
fn seg(id: &str, fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|f| f.0).max().unwrap_or(0);
    let mut out = id.to_owned();
    for n in 1..=last {
        out.push('|');
        if let Some((_, v)) = fields.iter().find(|f| f.0 == n) {
            out.push_str(v);
        }
    }
    out.push('\r');
    out
}

const MSH_A03: &str = "MSH|^~\\&|APP|FAC|||20260101120000||ADT^A03^ADT_A03|C1|P|2.5.1\r";

#[test]
fn trigger_comes_from_msh9_even_when_evn1_differs() {
    let e = ok(&format!("{MSH_A03}EVN|A01|20260101120000\r"));
    assert_eq!(e.trigger, Trigger::A03);
    assert_eq!(e.trigger_code, "A03");
    assert_eq!(e.trigger_source, TriggerSource::Msh9);
    assert_eq!(e.structure.as_deref(), Some("ADT_A03"));
}

#[test]
fn trigger_falls_back_to_evn1_only_when_msh9_2_is_empty() {
    let e = ok("MSH|^~\\&|APP|FAC|||20260101||ADT|C1|P|2.3\rEVN|A13|20260101\r");
    assert_eq!(e.trigger, Trigger::A13);
    assert_eq!(e.trigger_code, "A13");
    assert_eq!(e.trigger_source, TriggerSource::Evn1);

    let e = ok("MSH|^~\\&|APP|FAC|||20260101||ADT^^ADT_A01|C1|P|2.3\rEVN|A08\r");
    assert_eq!(e.trigger, Trigger::A08);
    assert_eq!(e.trigger_source, TriggerSource::Evn1);
    assert_eq!(e.structure.as_deref(), Some("ADT_A01"));

    // An explicit null in MSH-9.2 is empty too.
    let e = ok("MSH|^~\\&|APP|FAC|||20260101||ADT^\"\"|C1|P|2.3\rEVN|A02\r");
    assert_eq!(e.trigger, Trigger::A02);
    assert_eq!(e.trigger_source, TriggerSource::Evn1);
}

#[test]
fn missing_trigger_everywhere_is_an_error() {
    let err = event("MSH|^~\\&|APP|FAC|||20260101||ADT|C1|P|2.3\rPID|1||X^^^H^MR\r").unwrap_err();
    assert_eq!(err, AdtError::MissingTrigger);
    let err = event("MSH|^~\\&|APP|FAC|||20260101||ADT|C1|P|2.3\rEVN||20260101\r").unwrap_err();
    assert_eq!(err, AdtError::MissingTrigger);
    assert_eq!(err.kind(), "missing_trigger");
    assert_eq!((err.segment(), err.field()), ("MSH", Some(9)));
}

#[test]
fn non_adt_and_missing_type_are_errors() {
    let err = event("MSH|^~\\&|APP|FAC|||20260101||ORU^R01|C1|P|2.5\r").unwrap_err();
    assert_eq!(err, AdtError::NotAdt);
    assert_eq!(
        err.to_string(),
        "segment MSH field 9: message type is not ADT"
    );
    let err = event("MSH|^~\\&|APP|FAC|||20260101|||C1|P|2.5\r").unwrap_err();
    assert_eq!(err, AdtError::MissingMessageType);
    // Lower-case message code is still ADT.
    assert_eq!(
        ok("MSH|^~\\&|A|F|||1||adt^a01|C|P|2.5\r").trigger,
        Trigger::A01
    );
}

#[test]
fn header_fields() {
    let e = ok("MSH|^~\\&|APP^1.2^ISO|FAC^2.3^ISO|R|RF|20260101120000+0100||ADT^A01|CTRL-9|T^A|2.5.1^USA\r\
                EVN|A01|20260101115900|||OP|20260101115500\r");
    assert_eq!(e.sending_application.as_deref(), Some("APP"));
    assert_eq!(e.sending_facility.as_deref(), Some("FAC"));
    assert_eq!(e.control_id.as_deref(), Some("CTRL-9"));
    assert_eq!(e.processing_id.as_deref(), Some("T"));
    assert_eq!(e.version.as_deref(), Some("2.5.1"));
    assert_eq!(
        e.message_time.as_ref().map(|t| t.raw.as_str()),
        Some("20260101120000+0100")
    );
    assert_eq!(
        e.event_recorded.as_ref().map(|t| t.raw.as_str()),
        Some("20260101115900")
    );
    assert_eq!(
        e.event_occurred.as_ref().map(|t| t.raw.as_str()),
        Some("20260101115500")
    );
    assert!(e
        .event_occurred
        .as_ref()
        .is_some_and(|t| t.parsed.is_some()));
    assert_eq!(
        e.event_time().map(|t| t.raw.as_str()),
        Some("20260101115500")
    );
    assert!(e.patient.is_none());
    assert!(e.visit.is_none());
}

#[test]
fn trigger_codes_map_to_enum() {
    for (code, t) in [
        ("A01", Trigger::A01),
        ("A02", Trigger::A02),
        ("a03", Trigger::A03),
        ("A04", Trigger::A04),
        ("A05", Trigger::A05),
        ("A06", Trigger::A06),
        ("A07", Trigger::A07),
        ("A08", Trigger::A08),
        ("A11", Trigger::A11),
        ("A13", Trigger::A13),
        ("A40", Trigger::A40),
        ("A09", Trigger::Other),
        ("O01", Trigger::Other),
        ("A0", Trigger::Other),
        ("A031", Trigger::Other),
    ] {
        assert_eq!(Trigger::from_code(code), t, "{code}");
    }
    assert_eq!(Trigger::A40.as_str(), "A40");
    assert_eq!(Trigger::Other.as_str(), "other");
}

#[test]
fn pv1_45_takes_last_non_empty_repetition() {
    let pv1 = seg(
        "PV1",
        &[
            (2, "I"),
            (44, "20260101080000"),
            (45, "20260102090000~20260103100000~"),
        ],
    );
    let e = ok(&format!("{MSH_A03}{pv1}"));
    let v = e.visit.expect("PV1");
    assert_eq!(v.admit_datetime.raw(), Some("20260101080000"));
    assert_eq!(v.discharge_datetime.raw(), Some("20260103100000"));
    assert!(v.discharge_datetime.timestamp().is_some());

    let single = ok(&format!(
        "{MSH_A03}{}",
        seg("PV1", &[(2, "I"), (45, "20260105")])
    ));
    let v = single.visit.expect("PV1");
    assert!(v.admit_datetime.is_absent());
    assert_eq!(v.discharge_datetime.raw(), Some("20260105"));

    let first_only = ok(&format!("{MSH_A03}{}", seg("PV1", &[(45, "20260105~~")])));
    assert_eq!(
        first_only.visit.expect("PV1").discharge_datetime.raw(),
        Some("20260105")
    );

    let nulled = ok(&format!("{MSH_A03}{}", seg("PV1", &[(45, "\"\"")])));
    assert!(nulled.visit.expect("PV1").discharge_datetime.is_null());
}

#[test]
fn pv1_tri_state_absent_null_value() {
    // PV1-2 value, PV1-3 null, PV1-4 absent, PV1-10 null component, PV1-36 null.
    let pv1 = seg(
        "PV1",
        &[(2, "I"), (3, "\"\""), (10, "\"\"^X"), (36, "\"\"")],
    );
    let v = ok(&format!("{MSH_A03}{pv1}")).visit.expect("PV1");
    assert_eq!(v.patient_class, FieldValue::Value("I".into()));
    assert!(v.point_of_care.is_null());
    assert!(v.facility.is_null());
    assert!(v.admission_type.is_absent());
    assert!(v.hospital_service.is_null());
    assert!(v.discharge_disposition.is_null());
    assert!(v.visit_number.is_absent());
    assert!(v.admit_datetime.is_absent());
}

#[test]
fn pv1_values() {
    let pv1 = seg(
        "PV1",
        &[
            (1, "1"),
            (2, "E"),
            (3, "ED^12^3^MAIN&1.2.3&ISO"),
            (4, "U^Urgent"),
            (10, "MED"),
            (14, "7^ER"),
            (19, "V123^^^H^VN"),
            (36, "03^SNF"),
            (44, "20260101080000"),
            (45, "20260105120000"),
        ],
    );
    let v = ok(&format!("{MSH_A03}{pv1}")).visit.expect("PV1");
    assert_eq!(v.patient_class.as_deref(), Some("E"));
    assert_eq!(v.point_of_care.as_deref(), Some("ED"));
    assert_eq!(v.facility.as_deref(), Some("MAIN"));
    assert_eq!(v.admission_type.as_deref(), Some("U"));
    assert_eq!(v.hospital_service.as_deref(), Some("MED"));
    assert_eq!(v.admit_source.as_deref(), Some("7"));
    assert_eq!(v.visit_number.as_deref(), Some("V123"));
    assert_eq!(v.discharge_disposition.as_deref(), Some("03"));
    assert_eq!(v.admit_datetime.raw(), Some("20260101080000"));
    assert_eq!(v.discharge_datetime.raw(), Some("20260105120000"));
}

#[test]
fn facility_falls_back_to_universal_id() {
    let v = ok(&format!("{MSH_A03}PV1|1|I|W^1^2^&2.16.840.1&ISO\r"))
        .visit
        .expect("PV1");
    assert_eq!(v.facility.as_deref(), Some("2.16.840.1"));
}

#[test]
fn dg1_in_order_with_system_fallback_and_priority() {
    let msg = format!(
        "{MSH_A03}DG1|1|I10|I21.4^NSTEMI^I10||20260101|F|||||||||1\r\
         DG1|2|I9|250.00^Diabetes||20260101|W|||||||||2\r\
         DG1|3||E11.9^^ICD10|||A|||||||||x\r"
    );
    let e = ok(&msg);
    let codes: Vec<_> = e.diagnoses.iter().map(|d| d.code.as_deref()).collect();
    assert_eq!(codes, [Some("I21.4"), Some("250.00"), Some("E11.9")]);
    let systems: Vec<_> = e
        .diagnoses
        .iter()
        .map(|d| d.coding_system.as_deref())
        .collect();
    // 2.5.1: DG1-2 stands in for the empty DG1-3.3 of the second DG1.
    assert_eq!(systems, [Some("I10"), Some("I9"), Some("ICD10")]);
    let types: Vec<_> = e
        .diagnoses
        .iter()
        .map(|d| d.diagnosis_type.as_deref())
        .collect();
    assert_eq!(types, [Some("F"), Some("W"), Some("A")]);
    let prio: Vec<_> = e.diagnoses.iter().map(|d| d.priority).collect();
    assert_eq!(prio, [Some(1), Some(2), None]);
}

#[test]
fn dg1_2_stands_in_for_system_only_before_v2_6() {
    let sys = |v: &str| {
        let msg = format!("MSH|^~\\&|A|F|||1||ADT^A03|C|P|{v}\rDG1|1|I9|250.00^Diabetes||1|F\r");
        let e = ok(&msg);
        assert_eq!(e.diagnoses[0].code.as_deref(), Some("250.00"));
        e.diagnoses[0].coding_system.clone()
    };
    assert_eq!(sys("2.3").as_deref(), Some("I9"));
    assert_eq!(sys("2.5.1").as_deref(), Some("I9"));
    assert_eq!(sys("2.6"), None);
    assert_eq!(sys("2.8"), None);
}

#[test]
fn procedures_are_counted() {
    let msg = format!("{MSH_A03}PR1|1||0DTJ4ZZ^Appendectomy^I10P\rPR1|2||\rPR1|3||47.01\r");
    let e = ok(&msg);
    assert_eq!(e.procedures.count, 3);
    assert_eq!(e.procedures.codes, ["0DTJ4ZZ", "47.01"]);
}

#[test]
fn patient_fields_and_key_choice() {
    let pid = "PID|1||AC1^^^HOSP^AN~P7^^^&2.16.1&ISO^PI~M9^^^HOSP^MR||Doe^J||19800115|F||2106-3^White|1 Main^^Town^MA^02101^USA^H^^25017~2 Side^^City^NY^10001|||||||||||||||||||Y\r";
    let e = ok(&format!("{MSH_A03}{pid}"));
    let p = e.patient.as_ref().expect("PID");
    assert_eq!(p.identifiers.len(), 3);
    assert_eq!(p.identifiers[0].id.as_deref(), Some("AC1"));
    assert_eq!(
        p.identifiers[1].assigning_authority.as_deref(),
        Some("2.16.1")
    );
    assert_eq!(p.identifiers[1].identifier_type.as_deref(), Some("PI"));
    let key = e.patient_key().expect("key");
    assert_eq!(key.id.as_deref(), Some("M9"));
    assert_eq!(key.assigning_authority.as_deref(), Some("HOSP"));
    assert_eq!(p.birth_date.raw(), Some("19800115"));
    assert!(p.birth_date.timestamp().is_some());
    assert_eq!(p.sex.as_deref(), Some("F"));
    assert_eq!(p.race.as_deref(), Some("2106-3"));
    assert_eq!(p.zip.as_deref(), Some("02101"));
    assert_eq!(p.county.as_deref(), Some("25017"));
    assert_eq!(p.death_indicator.as_deref(), Some("Y"));

    // PI wins when there is no MR; the first with an id when neither.
    let e = ok(&format!("{MSH_A03}PID|1||A^^^H^AN~B^^^H^PI\r"));
    assert_eq!(e.patient_key().and_then(|k| k.id.as_deref()), Some("B"));
    let e = ok(&format!("{MSH_A03}PID|1||^^^H^MR~C^^^H^SS\r"));
    assert_eq!(e.patient_key().and_then(|k| k.id.as_deref()), Some("C"));
    // Empty PID-3: no identifiers, no key.
    let e = ok(&format!("{MSH_A03}PID|1||||Doe\r"));
    assert!(e.patient.as_ref().is_some_and(|p| p.identifiers.is_empty()));
    assert!(e.patient_key().is_none());
}

#[test]
fn msh_values_are_unescaped_though_msh_2_holds_the_escape_character() {
    // MSH-2 is the only place the escape character appears in most headers: it must not be
    // taken for an escape sequence, and escapes in later MSH fields must still be decoded.
    let e = ok("MSH|^~\\&|A\\T\\B|F\\S\\1|||20260101||ADT^A01|C\\F\\9|P|2.5\r");
    assert_eq!(e.sending_application.as_deref(), Some("A&B"));
    assert_eq!(e.sending_facility.as_deref(), Some("F^1"));
    assert_eq!(e.control_id.as_deref(), Some("C|9"));
    let e = ok("MSH|^~\\&|APP|FAC|||20260101||ADT^A01|C9|P|2.5\r");
    assert_eq!(e.sending_application.as_deref(), Some("APP"));
    // Custom delimiters, escape character `!` in MSH-2 only, then in a value.
    let e = ok("MSH#*~!&#A!T!B#FAC###20260101##ADT*A01#C9#P#2.5\r");
    assert_eq!(e.sending_application.as_deref(), Some("A&B"));
    assert_eq!(e.message_type.as_str(), "ADT");
}

#[test]
fn values_are_unescaped_and_trimmed() {
    let e = ok(&format!("{MSH_A03}pid|1||  M\\T\\1  ^^^HOSP^MR||||| \r"));
    let p = e.patient.expect("lower-case pid is found");
    assert_eq!(p.identifiers[0].id.as_deref(), Some("M&1"));
    assert!(p.sex.is_absent(), "a blank-only value counts as not sent");
}

#[test]
fn pid_null_fields_are_null() {
    let e = ok(&format!(
        "{MSH_A03}PID|1|\"\"|X^^^H^MR||Doe||19850601|F|\"\"|\"\"|\"\"\r"
    ));
    let p = e.patient.expect("PID");
    assert!(p.race.is_null());
    assert!(p.zip.is_null());
    assert!(p.county.is_null());
    assert!(p.death_indicator.is_absent());
}

#[test]
fn merges_pair_each_mrg_with_the_pid_before_it() {
    let msg = "MSH|^~\\&|A|F|||1||ADT^A40^ADT_A39|C|P|2.5\rEVN|A40|1\r\
               PID|1||S1^^^H^MR\rMRG|R1^^^H^MR~R1B^^^H^PI||||V9\r\
               PID|1||S2^^^H^MR\rMRG|R2^^^H^MR\r";
    let e = ok(msg);
    assert_eq!(e.trigger, Trigger::A40);
    assert_eq!(e.merges.len(), 2);
    let ids = |v: &[PatientIdentifier]| -> Vec<Option<String>> {
        v.iter()
            .map(|i| i.id.as_deref().map(str::to_owned))
            .collect()
    };
    assert_eq!(ids(&e.merges[0].surviving), [Some("S1".to_owned())]);
    assert_eq!(
        ids(&e.merges[0].prior_identifiers),
        [Some("R1".to_owned()), Some("R1B".to_owned())]
    );
    assert_eq!(e.merges[0].prior_visit.as_deref(), Some("V9"));
    assert_eq!(ids(&e.merges[1].surviving), [Some("S2".to_owned())]);
    assert_eq!(ids(&e.merges[1].prior_identifiers), [Some("R2".to_owned())]);
    assert_eq!(e.merges[1].prior_visit, None);
    // The event's patient is the first PID.
    assert_eq!(e.patient_key().and_then(|k| k.id.as_deref()), Some("S1"));
}

#[test]
fn a_second_pid_or_pv1_in_a_single_patient_event_is_an_error_not_a_lost_event() {
    // Message 1 (A01, patient 111) followed by message 2 whose MSH was damaged into `MSJ`:
    // the splitter joins them, and taking the first PID would drop patient 222's discharge.
    let joined = format!(
        "{MSH_A03}PID|1||111^^^H^MR\rPV1|1|I\rMSJ|^~\\&|APP|FAC|||2||ADT^A03|C2|P|2.5.1\r\
         PID|1||222^^^H^MR\rPV1|1|I|||||||||||||||||||||||||||||||||||||||||||20260102\r"
    );
    let err = event(&joined).unwrap_err();
    assert_eq!(err, AdtError::RepeatedSegment("PID"));
    assert_eq!(
        (err.kind(), err.segment(), err.field()),
        ("repeated_segment", "PID", None)
    );
    assert!(!err.to_string().contains("222") && !err.to_string().contains("111"));
    // Two PV1 under one PID: the same.
    let two_visits = format!("{MSH_A03}PID|1||111^^^H^MR\rPV1|1|I\rPV1|1|E\r");
    assert_eq!(
        event(&two_visits).unwrap_err(),
        AdtError::RepeatedSegment("PV1")
    );
    // Events that carry several patients by design are not checked: A40 merges (see
    // merges_pair_each_mrg_with_the_pid_before_it), A17 swaps, A24 links.
    for trigger in ["A17", "A24", "A37"] {
        let msg = format!(
            "MSH|^~\\&|APP|FAC|||1||ADT^{trigger}|C|P|2.5.1\r\
             PID|1||111^^^H^MR\rPV1|1|I\rPID|1||222^^^H^MR\rPV1|1|I\r"
        );
        let e = ok(&msg);
        assert_eq!(e.trigger_code, trigger);
        assert_eq!(e.patient_key().and_then(|k| k.id.as_deref()), Some("111"));
    }
}

#[test]
fn debug_redacts_phi() {
    let msg = "MSH|^~\\&|APP|FAC|||20260101120000||ADT^A03|CTRL1|P|2.5.1\r\
               EVN|A03|20260101120000||||20260101115500\r\
               PID|1||SENTINEL-MRN-123^^^HOSP^MR~SENTINEL-SSN-456^^^SSA^SS||Doe^John||19491231|M||2106-3|1 Main^^Town^MA^99999^USA^H^^SENTINELCOUNTY|||||||||||||||||||N\r\
               PV1|1|I|ICU^1^2^FAC|E||||||MED||||7|||||SENTINEL-VISIT-789|||||||||||||||||01||||||||20251231080000|20260101110000\r\
               DG1|1|I10|SENTINEL-DX^Secret text^I10||20260101|F|||||||||1\r\
               PR1|1||SENTINEL-PX^Secret procedure^I10P\r\
               MRG|SENTINEL-OLD-MRN^^^HOSP^MR||||SENTINEL-OLD-VISIT\r";
    let e = ok(msg);
    // The sentinels are really in the event...
    assert_eq!(
        e.patient_key().and_then(|k| k.id.as_deref()),
        Some("SENTINEL-MRN-123")
    );
    assert_eq!(
        e.patient.as_ref().and_then(|p| p.zip.as_deref()),
        Some("99999")
    );
    let dbg = format!("{e:?}");
    let pretty = format!("{e:#?}");
    for out in [&dbg, &pretty] {
        for secret in [
            "SENTINEL", "99999", "19491231", "20251231", "20260101", "Secret", "Doe", "John",
        ] {
            assert!(!out.contains(secret), "Debug leaks {secret}: {out}");
        }
    }
    // ...while non-PHI routing fields stay visible.
    for shown in [
        "A03",
        "CTRL1",
        "FAC",
        "2.5.1",
        "\"I\"",
        "\"01\"",
        "\"MED\"",
        "<redacted>",
    ] {
        assert!(dbg.contains(shown), "Debug should show {shown}: {dbg}");
    }
    // A FieldValue on its own redacts too.
    let zip = e.patient.as_ref().map(|p| format!("{:?}", p.zip));
    assert_eq!(zip.as_deref(), Some("Value(<redacted>)"));
}

#[test]
fn errors_name_segment_field_and_reason_only() {
    assert_eq!(
        AdtError::MissingMessageType.to_string(),
        "segment MSH field 9: message type is empty"
    );
    assert_eq!(
        AdtError::MissingTrigger.to_string(),
        "segment MSH field 9: trigger event is empty (and EVN-1 is empty or absent)"
    );
    assert_eq!(AdtError::NotAdt.kind(), "not_adt");
    assert_eq!(AdtError::MissingMessageType.kind(), "missing_message_type");
}
