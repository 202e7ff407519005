//! PHI sentinel test (issues 7 and 9): ADT messages whose names, MRNs, birth date, address,
//! ZIP, phone, SSN, next-of-kin and visit numbers are unmistakable sentinels go through the
//! real service path (`service::Observability` + `service::run` on Kafka: the in-process mock
//! cluster, or `KAFKA_BOOTSTRAP_SERVERS`) — admissions, scored and alerted discharges, a
//! duplicate, an update, a cancelled discharge (retraction), a readmission (outcome), an A40
//! merge, an unrouted patient and a set of malformed inputs — while a JSON subscriber captures
//! every log line of every crate at TRACE. Then no sentinel may appear in:
//!
//! * the captured logs;
//! * the `/metrics` text served over HTTP;
//! * the headers and keys of dead-letter records (only their payload is the original input);
//! * the `Display`/`Debug` text of the parse and ADT errors of every input;
//! * alerts, beyond what the receiving collaborative is entitled to (`receives_mrn`: MRN and
//!   assigning authority; `receives_zip`: the full ZIP, otherwise ZIP3 only) — never names,
//!   birth date, address, phone, SSN, kin or visit numbers;
//! * the risk-score audit records (which carry the visit number by design: internal topic)
//!   and the outcome records.
//!
//! Positive controls keep the test honest: a deliberately logged canary is found in the
//! captured logs; every dead-letter payload is the original input byte for byte, sentinels
//! included; the entitled collaborative's alerts do carry the MRN and full ZIP; the audit
//! records carry the visit number. Numeric sentinels are matched only as whole tokens (not
//! inside longer digit runs such as offsets or timestamps).

mod common;
#[path = "common/e2e.rs"]
mod e2e;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use readmit::alerts::{AlertFormat, Collaborative, Routing, Rule, Tier};
use readmit::config::Settings;
use readmit::model::Scorer;
use readmit::pipeline::DLQ_KIND;
use readmit::service::{self, Observability};
use readmit::telemetry::{LogFormat, LogSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use common::{Record, TestKafka};

// ---- sentinels ------------------------------------------------------------------------------

const FAMILY: &str = "ZZSENTINELNAME";
const GIVEN: &str = "ZZSENTGIVEN";
const MAIDEN: &str = "ZZSENTMAIDEN";
const KIN: &str = "ZZSENTINELKIN";
const MRN: &str = "SENTINELMRN123";
const MRN_UNROUTED: &str = "SENTINELMRN456";
const MRN_RETIRED: &str = "SENTINELMRN999";
const DOB: &str = "19230417";
const STREET: &str = "742 SENTINEL TERRACE";
const CITY: &str = "SENTINELVILLE";
const ZIP: &str = "21987";
const PHONE: &str = "5550199876";
const SSN: &str = "987-65-4329";
const VISIT1: &str = "SENTVISIT0001";
const VISIT2: &str = "SENTVISIT0002";
const VISIT_ED: &str = "SENTVISIT0003";
const VISIT_UNROUTED: &str = "SENTVISIT0004";
const BAD_VALUE: &str = "SENTBADVALUE";
const CANARY: &str = "ZZSENTCANARY";

/// Collaborative entitled to MRN and full ZIP.
const ENTITLED: &str = "entitled";
/// Collaborative entitled to neither (pseudonym and ZIP3 only).
const PLAIN: &str = "plain";

/// Every sentinel, by what it is.
fn sentinels() -> Vec<(&'static str, &'static str)> {
    vec![
        ("family name", FAMILY),
        ("given name", GIVEN),
        ("mother's maiden name", MAIDEN),
        ("next of kin", KIN),
        ("MRN", MRN),
        ("MRN (unrouted patient)", MRN_UNROUTED),
        ("MRN (retired by A40)", MRN_RETIRED),
        ("birth date", DOB),
        ("birth date (ISO)", "1923-04-17"),
        ("street", STREET),
        ("city", CITY),
        ("ZIP", ZIP),
        ("phone", PHONE),
        ("SSN", SSN),
        ("visit number", VISIT1),
        ("visit number", VISIT2),
        ("visit number (ED)", VISIT_ED),
        ("visit number (unrouted)", VISIT_UNROUTED),
        ("malformed field value", BAD_VALUE),
    ]
}

/// Occurrences of `needle` in `hay` as a whole token: a sentinel that starts or ends with a
/// digit must not be part of a longer digit run (so `21987` is not found in `1763921987123`).
fn contains_token(hay: &str, needle: &str) -> bool {
    let digit_edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let first_digit = needle.starts_with(|c: char| c.is_ascii_digit());
    let last_digit = needle.ends_with(|c: char| c.is_ascii_digit());
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        let glued_before = first_digit && digit_edge(before);
        let glued_after = last_digit && digit_edge(after);
        !(glued_before || glued_after)
    })
}

/// The sentinels found in `text`, except those in `allowed`.
fn leaks(text: &str, allowed: &[&str]) -> Vec<String> {
    sentinels()
        .into_iter()
        .filter(|(_, s)| !allowed.contains(s) && contains_token(text, s))
        .map(|(what, s)| format!("{what} ({s})"))
        .collect()
}

// ---- log capture ----------------------------------------------------------------------------

/// Everything every thread logged, as JSON lines.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs the service's JSON subscriber at TRACE for every target as the process-wide
/// default (the runtime logs from worker and librdkafka threads), writing into a buffer.
fn capture_logs() -> Capture {
    let capture = Capture::default();
    let settings = LogSettings {
        format: LogFormat::Json,
        level: "trace".into(),
    };
    let writer = capture.clone();
    let subscriber = readmit::telemetry::subscriber(&settings, move || writer.clone(), false)
        .expect("subscriber");
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber of this test");
    capture
}

// ---- messages -------------------------------------------------------------------------------

/// One hand-built ADT message; every identifying field is a sentinel.
#[derive(Clone)]
struct Adt {
    trigger: &'static str,
    control: String,
    mrn: &'static str,
    facility: &'static str,
    class: &'static str,
    visit: &'static str,
    admit: &'static str,
    discharge: &'static str,
    mrg: Option<&'static str>,
}

impl Adt {
    fn new(trigger: &'static str, control: &str, mrn: &'static str) -> Self {
        Self {
            trigger,
            control: control.into(),
            mrn,
            facility: "NORTH",
            class: "I",
            visit: VISIT1,
            admit: "20260101080000",
            discharge: "",
            mrg: None,
        }
    }

    fn pid(&self) -> String {
        // PID-3 MRN, 5 name, 6 mother's maiden name, 7 birth date, 8 sex, 11 address
        // (street^^city^state^zip^^type^^county), 13 phone, 19 SSN (DOMAIN.md §1.2).
        format!(
            "PID|1||{mrn}^^^HOSP^MR||{FAMILY}^{GIVEN}^Q|{MAIDEN}|{DOB}|F|||{STREET}^^{CITY}^MD^{ZIP}^^H^^24510||{PHONE}|||||{ACCT}|{SSN}\r",
            mrn = self.mrn,
            ACCT = self.visit,
        )
    }

    fn pv1(&self) -> String {
        // PV1 by field number (DOMAIN.md §1.3): 2 class, 3 location, 4 admission type,
        // 14 admit source, 19 visit number, 36 disposition, 44/45 admit/discharge time.
        let mut pv1 = vec![String::new(); 46];
        pv1[0] = "PV1".into();
        pv1[1] = "1".into();
        pv1[2] = self.class.into();
        pv1[3] = format!("WARD^1^1^{}", self.facility);
        pv1[4] = "E".into();
        pv1[14] = "7".into();
        pv1[19] = self.visit.into();
        pv1[36] = "01".into();
        pv1[44] = self.admit.into();
        pv1[45] = self.discharge.into();
        pv1.join("|") + "\r"
    }

    fn render(&self) -> Vec<u8> {
        let mut s = format!(
            "MSH|^~\\&|EHR|{f}|READMIT|READMIT|20260101080000||ADT^{t}^ADT_A01|{c}|P|2.5\r\
             EVN|{t}|20260101080000\r",
            f = self.facility,
            t = self.trigger,
            c = self.control,
        );
        s.push_str(&self.pid());
        s.push_str(&format!(
            "NK1|1|{KIN}^MARY|SPO|{STREET}^^{CITY}^MD^{ZIP}|{PHONE}\r"
        ));
        s.push_str(&self.pv1());
        s.push_str("DG1|1||428^Heart failure^I9|||F|||||||||1\r");
        s.push_str("DG1|2||25000^Diabetes^I9|||F|||||||||2\r");
        if let Some(mrg) = self.mrg {
            s.push_str(&format!("MRG|{mrg}^^^HOSP^MR||||{VISIT_ED}\r"));
        }
        s.into_bytes()
    }

    fn item(&self) -> (Vec<u8>, Vec<u8>) {
        (self.mrn.as_bytes().to_vec(), self.render())
    }
}

/// One input record: key and payload.
type Item = (Vec<u8>, Vec<u8>);

/// Well-formed traffic: scored, alerted, duplicated, updated, retracted, readmitted, merged.
fn well_formed() -> Vec<(Vec<u8>, Vec<u8>)> {
    let discharge1 = Adt {
        discharge: "20260105120000",
        ..Adt::new("A03", "D1", MRN)
    };
    let readmit = Adt {
        visit: VISIT2,
        admit: "20260110090000",
        ..Adt::new("A01", "A2", MRN)
    };
    let discharge2 = Adt {
        visit: VISIT2,
        admit: "20260110090000",
        discharge: "20260114100000",
        ..Adt::new("A03", "D2", MRN)
    };
    let retired_ed = Adt {
        class: "E",
        visit: VISIT_ED,
        admit: "20251201100000",
        ..Adt::new("A04", "E1", MRN_RETIRED)
    };
    let merge = Adt {
        mrg: Some(MRN_RETIRED),
        ..Adt::new("A40", "M1", MRN)
    };
    let unrouted_admit = Adt {
        facility: "ELSEWHERE",
        visit: VISIT_UNROUTED,
        ..Adt::new("A01", "U1", MRN_UNROUTED)
    };
    let unrouted_discharge = Adt {
        facility: "ELSEWHERE",
        visit: VISIT_UNROUTED,
        discharge: "20260103120000",
        ..Adt::new("A03", "U2", MRN_UNROUTED)
    };
    vec![
        retired_ed.item(),
        Adt::new("A01", "A1", MRN).item(),
        Adt::new("A08", "U8", MRN).item(),
        discharge1.item(),
        discharge1.item(), // duplicate (same control ID)
        Adt {
            trigger: "A13",
            control: "C1".into(),
            ..discharge1.clone()
        }
        .item(),
        Adt {
            control: "D1b".into(),
            ..discharge1.clone()
        }
        .item(),
        readmit.item(),
        merge.item(),
        discharge2.item(),
        unrouted_admit.item(),
        unrouted_discharge.item(),
    ]
}

/// Malformed inputs, each full of sentinels, with the dead-letter kind each must get.
fn malformed() -> Vec<(&'static str, Item)> {
    let key = MRN.as_bytes().to_vec();
    let discharge_before_admit = Adt {
        admit: "20260105120000",
        discharge: "20260101080000",
        ..Adt::new("A03", "X1", MRN)
    }
    .render();
    let bad_date_value = Adt {
        admit: BAD_VALUE,
        discharge: BAD_VALUE,
        ..Adt::new("A03", "X2", MRN)
    }
    .render();
    let no_pid = String::from_utf8(Adt::new("A01", "X3", MRN).render())
        .unwrap()
        .split('\r')
        .filter(|s| !s.starts_with("PID"))
        .collect::<Vec<_>>()
        .join("\r")
        .into_bytes();
    let garbage = format!("{FAMILY} {GIVEN} {MRN} {DOB} {STREET} {ZIP} {VISIT1}").into_bytes();
    let truncated = format!("MSH|^~\\&|{FAMILY}|{MRN}").into_bytes();
    let bad_segment = {
        let mut m = Adt::new("A01", "X4", MRN).render();
        let text = String::from_utf8(m.clone()).unwrap();
        let at = text.find("PID|").unwrap();
        m[at..at + 3].copy_from_slice(b"P!D");
        m
    };
    let not_adt = String::from_utf8(Adt::new("A01", "X5", MRN).render())
        .unwrap()
        .replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01")
        .into_bytes();
    let no_discharge_time = Adt::new("A03", "X6", MRN).render();
    vec![
        (
            "discharge_before_admit",
            (key.clone(), discharge_before_admit),
        ),
        ("unscorable_discharge", (key.clone(), bad_date_value)),
        ("missing_patient_id", (key.clone(), no_pid)),
        ("missing_msh", (key.clone(), garbage)),
        ("missing_message_type", (key.clone(), truncated)),
        ("bad_segment_id", (key.clone(), bad_segment)),
        ("not_adt", (key.clone(), not_adt)),
        ("unscorable_discharge", (key, no_discharge_time)),
    ]
}

// ---- helpers --------------------------------------------------------------------------------

fn collaborative(name: &str, entitled: bool) -> Collaborative {
    Collaborative {
        name: name.into(),
        tiers: vec![Tier::Low, Tier::Moderate, Tier::High],
        receives_mrn: entitled,
        receives_zip: entitled,
        format: AlertFormat::Json,
    }
}

/// Facility NORTH goes to both collaboratives; anything else is unrouted.
fn routing() -> Routing {
    Routing {
        collaboratives: vec![collaborative(ENTITLED, true), collaborative(PLAIN, false)],
        rules: vec![Rule {
            collaboratives: vec![ENTITLED.into(), PLAIN.into()],
            facilities: vec!["NORTH".into()],
            zips: vec![],
            counties: vec![],
        }],
    }
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8(response).unwrap()
}

fn record_text(r: &Record) -> (String, String, String) {
    let headers = r
        .headers
        .iter()
        .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
        .collect::<Vec<_>>()
        .join("\n");
    (r.key_str(), headers, r.payload_str())
}

// ---- the test -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sentinel_leaves_through_logs_metrics_dead_letters_errors_or_alerts() {
    let logs = capture_logs();
    let kafka = TestKafka::start(1);

    // The service, wired as `readmit run` wires it (metrics, monitor, readiness, /metrics).
    let mut s: Settings = e2e::settings(&kafka, "phi");
    s.alerts.routing = routing();
    s.metrics.listen = "127.0.0.1:0".into();
    s.validate().expect("settings");
    e2e::create_topics(&kafka, &s, 3).await;
    for c in [ENTITLED, PLAIN] {
        kafka.create_topic(&e2e::alert_topic(&s, c), 3, false).await;
    }
    let scorer = service::load_scorer(&s).expect("model");
    let observability = Observability::new(&s, scorer.model_id()).expect("observability");
    observability.readiness.set_broker_reachable(true);
    let scorer: Arc<dyn Scorer> = scorer;
    let pipeline = observability.instrument(service::build_pipeline(&s, scorer).expect("pipeline"));
    let server_stop = CancellationToken::new();
    let addr = observability
        .serve(&s, server_stop.clone())
        .await
        .expect("serve")
        .expect("metrics address");
    let stop = CancellationToken::new();
    let handle = tokio::spawn(service::run(
        s.clone(),
        pipeline,
        stop.clone(),
        Some(observability.observer()),
    ));

    // Inputs: well-formed first (per key in order), then the malformed ones.
    let good = well_formed();
    let bad = malformed();
    let mut items = good.clone();
    items.extend(bad.iter().map(|(_, item)| item.clone()));
    let ends = e2e::produce_tracked(&kafka, &s.topics.input, &items).await;
    e2e::wait_committed(&kafka, &s.kafka.group_id, &s.topics.input, &ends).await;

    let dlq = e2e::read_until(&kafka, &s.topics.dlq, Duration::from_secs(1), |r| {
        r.len() >= bad.len()
    })
    .await;
    let entitled = e2e::read_until(
        &kafka,
        &e2e::alert_topic(&s, ENTITLED),
        Duration::from_secs(1),
        |r| r.len() >= 4,
    )
    .await;
    let plain = e2e::read_until(
        &kafka,
        &e2e::alert_topic(&s, PLAIN),
        Duration::from_secs(1),
        |r| r.len() >= 4,
    )
    .await;
    let unrouted = e2e::read_until(&kafka, &s.topics.unrouted, Duration::from_secs(1), |r| {
        !r.is_empty()
    })
    .await;
    let audit = e2e::read_until(&kafka, &s.topics.risk_scores, Duration::from_secs(1), |r| {
        r.len() >= 5
    })
    .await;
    let outcomes = e2e::read_until(&kafka, &s.topics.outcomes, Duration::from_secs(1), |r| {
        !r.is_empty()
    })
    .await;
    let metrics_text = http_get(addr, "/metrics").await;
    let ready_text = http_get(addr, "/readyz").await;

    stop.cancel();
    let summary = tokio::time::timeout(Duration::from_secs(60), handle)
        .await
        .expect("service stops")
        .expect("service task")
        .expect("service run");
    server_stop.cancel();

    // Every input reached an outcome; the malformed ones are exactly the dead letters.
    assert!(
        summary.messages_completed >= items.len() as u64,
        "{summary:?}"
    );
    assert_eq!(
        summary.outcomes.get("dead_lettered").copied().unwrap_or(0),
        bad.len() as u64,
        "{summary:?}"
    );
    assert!(summary.outcomes.get("alerted").copied().unwrap_or(0) >= 3);
    assert!(summary.outcomes.get("duplicate").copied().unwrap_or(0) >= 1);
    assert!(summary.outcomes.get("history_only").copied().unwrap_or(0) >= 6);

    let mut problems: Vec<String> = Vec::new();
    let mut check = |place: String, text: &str, allowed: &[&str]| {
        let found = leaks(text, allowed);
        if !found.is_empty() {
            problems.push(format!("{place}: {}", found.join(", ")));
        }
    };

    // 1. Dead letters: kinds as expected, headers and keys... the key is the input's own key
    //    (the MRN, as upstream chose it), payload the input unchanged (positive control).
    assert_eq!(dlq.len(), bad.len(), "one dead letter per malformed input");
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for r in &dlq {
        let (key, headers, payload) = record_text(r);
        *kinds
            .entry(r.header(DLQ_KIND).unwrap_or_default())
            .or_default() += 1;
        check(format!("DLQ headers (offset {})", r.offset), &headers, &[]);
        assert_eq!(key, MRN, "dead letters keep the input key");
        let original = bad
            .iter()
            .find(|(_, (_, p))| Some(p.as_slice()) == r.payload.as_deref());
        assert!(
            original.is_some(),
            "DLQ payload is one of the inputs, unchanged"
        );
        assert!(
            !leaks(&payload, &[]).is_empty(),
            "positive control: the raw payload keeps its sentinels"
        );
    }
    let mut expected_kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (kind, _) in &bad {
        *expected_kinds.entry(kind.to_string()).or_default() += 1;
    }
    assert_eq!(kinds, expected_kinds, "dead-letter kinds");

    // 2. Error messages of every input, as the parser and ADT builder report them.
    let mut errors = 0;
    for (_, payload) in good.iter().chain(bad.iter().map(|(_, i)| i)) {
        match readmit::hl7::Message::parse(payload) {
            Err(e) => {
                errors += 1;
                check("parse error".into(), &format!("{e} {e:?}"), &[]);
            }
            Ok(m) => {
                if let Err(e) = readmit::adt::AdtEvent::from_message(&m) {
                    errors += 1;
                    check("ADT error".into(), &format!("{e} {e:?}"), &[]);
                }
            }
        }
    }
    assert!(
        errors >= 4,
        "the malformed inputs produce errors ({errors})"
    );

    // 3. Alerts: the entitled collaborative may see the MRN and full ZIP (and must: positive
    //    control); the plain one only the pseudonym and ZIP3; unrouted alerts likewise.
    let mrns = [MRN, MRN_UNROUTED, MRN_RETIRED];
    for r in &entitled {
        let (key, headers, payload) = record_text(r);
        check(
            format!("{ENTITLED} alert key/headers"),
            &(key + &headers),
            &[],
        );
        check(format!("{ENTITLED} alert"), &payload, &[MRN, ZIP]);
    }
    assert!(
        entitled.iter().any(|r| {
            let p = r.payload_str();
            p.contains(MRN) && contains_token(&p, ZIP)
        }),
        "positive control: the entitled collaborative receives the MRN and ZIP"
    );
    for (name, records) in [(PLAIN, &plain), ("unrouted", &unrouted)] {
        for r in records {
            let (key, headers, payload) = record_text(r);
            check(format!("{name} alert"), &(key + &headers + &payload), &[]);
            let alert: serde_json::Value = serde_json::from_str(&payload).unwrap();
            if let Some(zip) = alert["patient"]["zip"].as_str() {
                assert_eq!(zip, &ZIP[..3], "{name} gets ZIP3 at most");
            }
            assert!(alert["patient"]["pseudonym"]
                .as_str()
                .is_some_and(|p| !p.is_empty()));
            assert!(!mrns.iter().any(|m| payload.contains(m)));
        }
    }
    assert!(
        plain.iter().any(|r| r
            .payload_str()
            .contains(&format!("\"zip\":\"{}\"", &ZIP[..3]))),
        "the plain collaborative gets ZIP3"
    );
    assert!(plain.len() >= 4 && !unrouted.is_empty());
    assert!(
        plain
            .iter()
            .any(|r| r.payload_str().contains("\"kind\":\"retraction\"")),
        "the A13 retracted the first discharge's alert"
    );

    // 4. Audit and outcome records: the audit trail carries the visit number by design (an
    //    internal topic; positive control), nothing else; outcomes carry none.
    for r in &audit {
        let (key, headers, payload) = record_text(r);
        check(
            "risk-score record".into(),
            &(key + &headers + &payload),
            &[VISIT1, VISIT2, VISIT_UNROUTED],
        );
    }
    assert!(
        audit.iter().any(|r| r.payload_str().contains(VISIT1)),
        "positive control: the audit trail carries the visit number"
    );
    for r in &outcomes {
        let (key, headers, payload) = record_text(r);
        check("outcome record".into(), &(key + &headers + &payload), &[]);
    }

    // 5. Metrics and readiness, as served.
    assert!(metrics_text.contains("readmit_messages_consumed_total"));
    assert!(metrics_text.contains("readmit_dead_letters_total{kind=\"not_adt\"} 1"));
    check("/metrics".into(), &metrics_text, &[]);
    check("/readyz".into(), &ready_text, &[]);

    // 6. Logs: a canary proves the capture sees what is logged; then no sentinel anywhere.
    tracing::error!(canary = CANARY, "Sentinel test canary.");
    let text = logs.text();
    assert!(
        text.contains(CANARY),
        "positive control: the capture sees logs"
    );
    let lines = text.lines().count();
    assert!(
        lines > 50,
        "TRACE capture holds the run's logs ({lines} lines)"
    );
    assert!(
        text.contains("\"partition\""),
        "message spans were captured"
    );
    check("logs".into(), &text, &[]);

    eprintln!(
        "phi sentinel: {} inputs ({} malformed), {} dead letters, {} + {} + {} alerts, {} audit, {} outcome records, {} log lines, {} bytes of /metrics, {} sentinels checked",
        items.len(),
        bad.len(),
        dlq.len(),
        entitled.len(),
        plain.len(),
        unrouted.len(),
        audit.len(),
        outcomes.len(),
        lines,
        metrics_text.len(),
        sentinels().len()
    );
    assert!(problems.is_empty(), "PHI leaked:\n{}", problems.join("\n"));
}

#[test]
fn token_matching_ignores_longer_digit_runs_but_finds_sentinels() {
    assert!(contains_token("zip=21987 ok", ZIP));
    assert!(contains_token("\"21987\"", ZIP));
    assert!(!contains_token("ts=1763921987123", ZIP));
    assert!(contains_token("x SENTINELMRN123x", MRN));
    assert_eq!(leaks("nothing here", &[]), Vec::<String>::new());
    assert_eq!(leaks(&format!("{FAMILY}^{GIVEN}"), &[GIVEN]).len(), 1);
}
