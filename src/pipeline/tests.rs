//! Pipeline scenarios without Kafka: records in, records out, state in between.

use std::sync::Arc;

use super::*;
use crate::alerts::{Collaborative, Rule};
use crate::model::{ModelError, RiskTier, Score};

/// A scorer whose probability is a simple function of the features, so tests can predict it:
/// 0.15 plus 0.05 per prior ED visit in 12 months; low below 0.12, high from 0.3.
struct StubScorer;

impl Scorer for StubScorer {
    fn score(&self, features: &FeatureVector) -> Result<Score, ModelError> {
        let ed = features.get("ed_12m").unwrap_or(0.0);
        let p = 0.15 + 0.05 * ed;
        let tier = if p >= 0.3 {
            RiskTier::High
        } else if p >= 0.12 {
            RiskTier::Moderate
        } else {
            RiskTier::Low
        };
        Ok(Score {
            probability: p,
            tier,
            reasons: [None, None, None],
        })
    }

    fn model_id(&self) -> &str {
        "stub-v1"
    }
}

const KEY: &[u8] = b"test key of at least sixteen bytes";

fn collab(name: &str, tiers: &[Tier], receives_mrn: bool) -> Collaborative {
    Collaborative {
        name: name.into(),
        tiers: tiers.to_vec(),
        receives_mrn,
        receives_zip: false,
        format: AlertFormat::Json,
    }
}

fn pipeline(key_check: KeyCheck) -> Pipeline {
    let routing = Routing {
        collaboratives: vec![
            collab("north", &[Tier::Moderate, Tier::High], true),
            collab("south", &[Tier::High], false),
        ],
        rules: vec![
            Rule {
                collaboratives: vec!["north".into()],
                facilities: vec!["NORTH".into()],
                zips: vec![],
                counties: vec![],
            },
            Rule {
                collaboratives: vec!["south".into()],
                facilities: vec![],
                zips: vec!["300".into()],
                counties: vec![],
            },
        ],
    };
    Pipeline::new(
        PipelineOptions {
            routing,
            key_check,
            ..PipelineOptions::default()
        },
        Arc::new(StubScorer),
        Pseudonymizer::new(KEY).unwrap(),
    )
}

/// Message builder: trigger, control id, MRN, facility, class, visit, admit, discharge, zip.
struct Msg<'a> {
    trigger: &'a str,
    control: &'a str,
    mrn: &'a str,
    facility: &'a str,
    class: &'a str,
    visit: &'a str,
    admit: &'a str,
    discharge: &'a str,
    zip: &'a str,
    disposition: &'a str,
    mrg: &'a str,
}

impl Default for Msg<'_> {
    fn default() -> Self {
        Msg {
            trigger: "A01",
            control: "C1",
            mrn: "MRN1",
            facility: "NORTH",
            class: "I",
            visit: "V1",
            admit: "20260101080000",
            discharge: "",
            zip: "21201",
            disposition: "01",
            mrg: "",
        }
    }
}

impl Msg<'_> {
    fn render(&self) -> Vec<u8> {
        // PV1 by field number so positions are explicit (DOMAIN.md §1.3).
        let mut pv1 = vec![String::new(); 46];
        pv1[0] = "PV1".into();
        pv1[1] = "1".into();
        pv1[2] = self.class.into();
        pv1[3] = format!("WARD^1^1^{}", self.facility);
        pv1[4] = "E".into();
        pv1[14] = "7".into();
        pv1[19] = self.visit.into();
        pv1[36] = self.disposition.into();
        pv1[44] = self.admit.into();
        pv1[45] = self.discharge.into();
        let mut s = format!(
            "MSH|^~\\&|EHR|{f}|READMIT|READMIT|20260101080000||ADT^{t}^ADT_A01|{c}|P|2.5\r\
             EVN|{t}|20260101080000\r\
             PID|1||{m}^^^HOSP^MR||DOE^JANE||19500101|F|||1 MAIN ST^^CITY^ST^{z}^^H^^24510\r\
             {pv1}\r\
             DG1|1||428^Heart failure^I9|||F|||||||||1\r",
            f = self.facility,
            t = self.trigger,
            c = self.control,
            m = self.mrn,
            z = self.zip,
            pv1 = pv1.join("|"),
        );
        if !self.mrg.is_empty() {
            s.push_str(&format!("MRG|{}^^^HOSP^MR\r", self.mrg));
        }
        s.into_bytes()
    }
}

fn inbound(offset: i64, key: &str, payload: Vec<u8>) -> InboundMessage {
    InboundMessage {
        topic: "adt.events".into(),
        partition: 0,
        offset,
        key: Some(key.as_bytes().to_vec()),
        payload: Some(payload),
        timestamp_ms: Some(1_767_225_600_000),
        headers: Vec::new(),
    }
}

fn topics_of(p: &Processed) -> Vec<String> {
    p.records.iter().map(|r| r.topic.to_string()).collect()
}

fn json(r: &OutboundRecord) -> serde_json::Value {
    serde_json::from_slice(r.payload.as_deref().unwrap()).unwrap()
}

#[test]
fn admit_then_discharge_scores_and_alerts_the_routed_collaborative() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    let admit = p.handle(&mut state, &inbound(0, "MRN1", Msg::default().render()));
    assert_eq!(admit.outcome, "history_only");
    assert!(admit.records.is_empty());
    assert_eq!(admit.deferred.len(), 1, "one changelog write");
    assert_eq!(admit.deferred[0].partition, Some(0));

    let discharge = Msg {
        trigger: "A03",
        control: "C2",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(1, "MRN1", discharge.render()));
    assert_eq!(out.outcome, "alerted");
    assert_eq!(
        topics_of(&out),
        ["readmit.risk-scores", "readmit.alerts.north"]
    );
    let score = json(&out.records[0]);
    assert_eq!(score["kind"], "discharge");
    assert_eq!(score["probability"], 0.15);
    assert_eq!(score["visit_number"], "V1");
    assert_eq!(score["collaboratives"][0], "north");
    let alert = json(&out.records[1]);
    assert_eq!(alert["tier"], "moderate");
    assert_eq!(alert["collaborative"], "north");
    assert_eq!(alert["patient"]["mrn"], "MRN1", "north receives MRNs");
    assert_eq!(alert["patient"]["zip"], "212");
    assert_eq!(alert["disposition"], "home / self-care (01)");
    assert_eq!(
        out.records[0].key, out.records[1].key,
        "audit record and alert share the alert id key"
    );
}

#[test]
fn low_tier_discharges_are_scored_but_alert_only_subscribers() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    // ZIP 300xx routes to "south", which only takes high-risk alerts; p = 0.15 is moderate.
    let discharge = Msg {
        trigger: "A03",
        facility: "ELSEWHERE",
        zip: "30001",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(0, "MRN1", discharge.render()));
    assert_eq!(out.outcome, "scored");
    assert_eq!(topics_of(&out), ["readmit.risk-scores"]);
}

#[test]
fn prior_ed_visits_feed_the_score_and_unmatched_discharges_are_unrouted() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    for (i, day) in ["20251201", "20251215", "20251220"].iter().enumerate() {
        let ed = Msg {
            trigger: "A04",
            control: &format!("ED{i}"),
            class: "E",
            visit: &format!("E{i}"),
            admit: &format!("{day}1000"),
            facility: "ELSEWHERE",
            zip: "99999",
            ..Msg::default()
        };
        let out = p.handle(&mut state, &inbound(i as i64, "MRN1", ed.render()));
        assert_eq!(out.outcome, "history_only");
    }
    let discharge = Msg {
        trigger: "A03",
        control: "D1",
        facility: "ELSEWHERE",
        zip: "99999",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(9, "MRN1", discharge.render()));
    let score = json(&out.records[0]);
    assert!((score["probability"].as_f64().unwrap() - 0.3).abs() < 1e-12);
    assert_eq!(score["tier"], "high");
    assert_eq!(
        topics_of(&out),
        ["readmit.risk-scores", "readmit.alerts.unrouted"]
    );
    assert_eq!(out.outcome, "scored", "unrouted alerts are not 'alerted'");
    assert_eq!(
        p.counters()
            .unrouted
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn a_repeated_message_changes_nothing() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    let m = Msg {
        trigger: "A03",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let first = p.handle(&mut state, &inbound(0, "MRN1", m.render()));
    assert_eq!(first.outcome, "alerted");
    let again = p.handle(&mut state, &inbound(1, "MRN1", m.render()));
    assert_eq!(again.outcome, "duplicate");
    assert!(again.records.is_empty() && again.deferred.is_empty());
}

#[test]
fn an_a03_for_a_visit_already_scored_alerts_again_only_when_it_changes_the_score_inputs() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    let d = Msg {
        trigger: "A03",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let first = p.handle(&mut state, &inbound(0, "MRN1", d.render()));
    assert_eq!(first.outcome, "alerted");
    let alert = json(&first.records[1]);
    assert_eq!(alert["kind"], "discharge");
    // The same discharge sent again under a new control ID (so not a recent duplicate, as
    // when a sender replays more than the last 16 messages): nothing new to tell.
    let resent = Msg { control: "C2", ..d };
    let out = p.handle(&mut state, &inbound(1, "MRN1", resent.render()));
    assert_eq!(out.outcome, "history_only");
    assert!(out.records.is_empty(), "{:?}", topics_of(&out));
    // A corrected A03 (home health now) is an update of the same alert, not a second discharge.
    let corrected = Msg {
        control: "C3",
        disposition: "06",
        ..d
    };
    let out = p.handle(&mut state, &inbound(2, "MRN1", corrected.render()));
    assert_eq!(out.outcome, "alerted");
    let update = json(&out.records[1]);
    assert_eq!(update["kind"], "update");
    assert_eq!(update["alert_id"], alert["alert_id"]);
    assert_eq!(json(&out.records[0])["kind"], "update");
    // Cancelled (A13), then discharged again: the discharge is reinstated and alerted.
    let cancel = Msg {
        trigger: "A13",
        control: "C4",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(3, "MRN1", cancel.render()));
    assert_eq!(json(&out.records[1])["kind"], "retraction");
    let again = Msg {
        control: "C5",
        disposition: "06",
        ..d
    };
    let out = p.handle(&mut state, &inbound(4, "MRN1", again.render()));
    assert_eq!(out.outcome, "alerted");
    assert_eq!(json(&out.records[1])["kind"], "discharge");
    assert_eq!(json(&out.records[1])["alert_id"], alert["alert_id"]);
}

#[test]
fn cancel_discharge_retracts_the_alert_with_the_same_id() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    let d = Msg {
        trigger: "A03",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let scored = p.handle(&mut state, &inbound(0, "MRN1", d.render()));
    let cancel = Msg {
        trigger: "A13",
        control: "C9",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(1, "MRN1", cancel.render()));
    assert_eq!(out.outcome, "alerted");
    assert_eq!(
        topics_of(&out),
        ["readmit.risk-scores", "readmit.alerts.north"]
    );
    let retraction = json(&out.records[1]);
    assert_eq!(retraction["kind"], "retraction");
    assert_eq!(retraction["alert_id"], json(&scored.records[1])["alert_id"]);
    assert!(retraction.get("probability").is_none());
    // A second A13 has nothing left to retract.
    let again = Msg {
        trigger: "A13",
        control: "C10",
        ..Msg::default()
    };
    assert_eq!(
        p.handle(&mut state, &inbound(2, "MRN1", again.render()))
            .outcome,
        "history_only"
    );
}

#[test]
fn an_unrouted_discharge_is_retracted_on_the_unrouted_topic() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    let d = Msg {
        trigger: "A03",
        facility: "ELSEWHERE",
        zip: "99999",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let scored = p.handle(&mut state, &inbound(0, "MRN1", d.render()));
    assert_eq!(
        topics_of(&scored),
        ["readmit.risk-scores", "readmit.alerts.unrouted"]
    );
    let cancel = Msg {
        trigger: "A13",
        control: "C9",
        facility: "ELSEWHERE",
        zip: "99999",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(1, "MRN1", cancel.render()));
    // Before, the unrouted topic kept the alert with nothing withdrawing it.
    assert_eq!(
        topics_of(&out),
        ["readmit.risk-scores", "readmit.alerts.unrouted"]
    );
    assert_eq!(out.outcome, "scored", "unrouted alerts are not 'alerted'");
    let retraction = json(&out.records[1]);
    assert_eq!(retraction["kind"], "retraction");
    assert_eq!(retraction["collaborative"], "unrouted");
    assert_eq!(retraction["alert_id"], json(&scored.records[1])["alert_id"]);
    assert!(retraction["patient"].get("mrn").is_none());
    assert_eq!(
        json(&out.records[0])["collaboratives"],
        serde_json::json!(["unrouted"])
    );
}

#[test]
fn readmission_within_30_days_publishes_an_outcome_and_a11_withdraws_it() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    let d = Msg {
        trigger: "A03",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let scored = p.handle(&mut state, &inbound(0, "MRN1", d.render()));
    let alert_id = json(&scored.records[0])["alert_id"].clone();
    let readmit = Msg {
        trigger: "A01",
        control: "R1",
        visit: "V2",
        admit: "20260117090000",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(1, "MRN1", readmit.render()));
    assert_eq!(topics_of(&out), ["readmit.outcomes"]);
    let outcome = json(&out.records[0]);
    assert_eq!(outcome["alert_id"], alert_id);
    assert_eq!(outcome["kind"], "readmitted");
    assert_eq!(outcome["days_to_readmission"], 11);
    assert_eq!(outcome["tier_at_discharge"], "moderate");
    let cancel = Msg {
        trigger: "A11",
        control: "R2",
        visit: "V2",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(2, "MRN1", cancel.render()));
    assert_eq!(json(&out.records[0])["kind"], "readmission_cancelled");
    // An admission after 30 days is no readmission.
    let late = Msg {
        trigger: "A01",
        control: "R3",
        visit: "V3",
        admit: "20260210090000",
        ..Msg::default()
    };
    assert!(p
        .handle(&mut state, &inbound(3, "MRN1", late.render()))
        .records
        .is_empty());
}

#[test]
fn changelog_restore_gives_the_same_features_as_an_undisturbed_run() {
    let p = pipeline(KeyCheck::Count);
    let mut live = PartitionState::default();
    let mut changelog = Vec::new();
    for i in 0..3 {
        let ed = Msg {
            trigger: "A04",
            control: &format!("ED{i}"),
            class: "E",
            visit: &format!("E{i}"),
            admit: &format!("2025120{}1000", i + 1),
            ..Msg::default()
        };
        let out = p.handle(&mut live, &inbound(i, "MRN1", ed.render()));
        changelog.extend(out.deferred);
    }
    // A new owner of the partition restores from the changelog records.
    let mut restored = PartitionState::default();
    for r in &changelog {
        p.restore(
            &mut restored,
            r.key.as_deref().unwrap(),
            r.payload.as_deref(),
        );
    }
    let d = Msg {
        trigger: "A03",
        control: "D",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let a = p.handle(&mut live, &inbound(10, "MRN1", d.render()));
    let b = p.handle(&mut restored, &inbound(10, "MRN1", d.render()));
    assert_eq!(
        json(&a.records[0])["features"],
        json(&b.records[0])["features"]
    );
    assert!((json(&b.records[0])["probability"].as_f64().unwrap() - 0.3).abs() < 1e-12);
}

#[test]
fn merge_moves_the_retired_patients_history_to_the_survivor() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    for i in 0..2 {
        let ed = Msg {
            trigger: "A04",
            control: &format!("ED{i}"),
            mrn: "OLD",
            class: "E",
            visit: &format!("E{i}"),
            admit: &format!("2025120{}1000", i + 1),
            ..Msg::default()
        };
        p.handle(&mut state, &inbound(i, "OLD", ed.render()));
    }
    let merge = Msg {
        trigger: "A40",
        control: "M1",
        mrn: "NEW",
        mrg: "OLD",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(5, "NEW", merge.render()));
    let tombstone = out
        .deferred
        .iter()
        .find(|r| r.key.as_deref() == Some(b"HOSP|OLD".as_slice()))
        .expect("retired patient's changelog is deleted");
    assert!(tombstone.payload.is_none());
    let d = Msg {
        trigger: "A03",
        control: "D",
        mrn: "NEW",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(6, "NEW", d.render()));
    let p12 = json(&out.records[0])["probability"].as_f64().unwrap();
    assert!(
        (p12 - 0.25).abs() < 1e-12,
        "two merged ED visits count: {p12}"
    );
}

/// What the runtime would deliver for `record` at `offset` (explicit partition required).
fn delivered(record: &OutboundRecord, offset: i64) -> InboundMessage {
    InboundMessage {
        topic: record.topic.clone(),
        partition: record
            .partition
            .expect("internal records name their partition"),
        offset,
        key: record.key.clone(),
        payload: record.payload.clone(),
        timestamp_ms: Some(1_767_225_600_000),
        headers: record
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect(),
    }
}

#[test]
fn merge_across_partitions_hands_the_history_over_once() {
    let p = pipeline(KeyCheck::Count);
    Processor::topic_partitions(&p, "adt.events", 3);
    let mut survivor_part = PartitionState::default();
    let mut retired_part = PartitionState::default();
    let mut other_part = PartitionState::default();
    for i in 0..2 {
        let ed = Msg {
            trigger: "A04",
            control: &format!("ED{i}"),
            mrn: "OLD",
            class: "E",
            visit: &format!("E{i}"),
            admit: &format!("2025120{}1000", i + 1),
            ..Msg::default()
        };
        let mut m = inbound(i, "OLD", ed.render());
        m.partition = 1;
        p.handle(&mut retired_part, &m);
    }
    let merge = Msg {
        trigger: "A40",
        control: "M1",
        mrn: "NEW",
        mrg: "OLD",
        ..Msg::default()
    };
    let a40 = inbound(5, "NEW", merge.render());
    let out = p.handle(&mut survivor_part, &a40);
    assert_eq!(out.outcome, "history_only");
    let requests: Vec<_> = out
        .records
        .iter()
        .filter(|r| r.topic.as_ref() == "adt.events")
        .collect();
    assert_eq!(
        requests.iter().map(|r| r.partition).collect::<Vec<_>>(),
        [Some(1), Some(2)],
        "one request to every other partition"
    );
    // The partition without the patient ignores the request; the owner hands over.
    assert_eq!(
        p.handle(&mut other_part, &delivered(requests[1], 0))
            .outcome,
        "ignored"
    );
    let handed = p.handle(&mut retired_part, &delivered(requests[0], 2));
    assert_eq!(handed.outcome, "history_only");
    assert_eq!(handed.records.len(), 1);
    assert_eq!(handed.records[0].partition, Some(0));
    assert_eq!(
        handed.records[0].key.as_deref(),
        Some(b"HOSP|NEW".as_slice())
    );
    assert_eq!(handed.deferred.len(), 1);
    assert_eq!(
        handed.deferred[0].key.as_deref(),
        Some(b"HOSP|OLD".as_slice())
    );
    assert!(
        handed.deferred[0].payload.is_none(),
        "retired history deleted"
    );
    assert_eq!(handed.deferred[0].partition, Some(1));
    assert!(retired_part.is_empty());
    // A redelivered request finds nothing left.
    assert_eq!(
        p.handle(&mut retired_part, &delivered(requests[0], 3))
            .outcome,
        "ignored"
    );
    // The survivor's owner absorbs it once, however often it arrives.
    let hand_over = delivered(&handed.records[0], 6);
    let applied = p.handle(&mut survivor_part, &hand_over);
    assert_eq!(applied.outcome, "history_only");
    assert_eq!(
        applied.deferred[0].key.as_deref(),
        Some(b"HOSP|NEW".as_slice())
    );
    let again = p.handle(&mut survivor_part, &hand_over);
    assert_eq!(again.outcome, "duplicate");
    let c = p.counters();
    assert_eq!(
        c.remote_merges.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        c.merges_handed_over
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        c.merges_applied.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // A redelivered A40 is still a duplicate after absorbing.
    assert_eq!(p.handle(&mut survivor_part, &a40).outcome, "duplicate");
    let d = Msg {
        trigger: "A03",
        control: "D",
        mrn: "NEW",
        discharge: "20260105120000",
        ..Msg::default()
    };
    let out = p.handle(&mut survivor_part, &inbound(7, "NEW", d.render()));
    let p12 = json(&out.records[0])["probability"].as_f64().unwrap();
    assert!(
        (p12 - 0.25).abs() < 1e-12,
        "two ED visits of the other partition count once: {p12}"
    );
}

#[test]
fn malformed_internal_records_are_dead_lettered() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    for kind in ["merge-out", "merge-in", "something-else"] {
        let mut m = inbound(0, "HOSP|X", b"\x09junk".to_vec());
        m.headers.push((
            merge::INTERNAL_HEADER.into(),
            Some(kind.as_bytes().to_vec()),
        ));
        let out = p.handle(&mut state, &m);
        assert_eq!(out.outcome, "dead_lettered", "{kind}");
        assert!(out.deferred.is_empty());
    }
    assert!(state.is_empty());
}

#[test]
fn the_rekeying_stage_reproduces_records_under_the_patient_key() {
    let mut p = pipeline(KeyCheck::Count);
    p.options.rekey_to = Some("adt.rekeyed".into());
    let mut state = PartitionState::default();
    let mut msg = inbound(4, "VISIT-KEY", Msg::default().render());
    msg.partition = 2;
    msg.headers
        .push(("traceparent".into(), Some(b"00-abc".to_vec())));
    let out = p.handle(&mut state, &msg);
    assert_eq!(out.outcome, "rekeyed");
    assert!(out.deferred.is_empty() && state.is_empty(), "no state");
    assert_eq!(topics_of(&out), ["adt.rekeyed"]);
    let r = &out.records[0];
    assert_eq!(r.key.as_deref(), Some(b"HOSP|MRN1".as_slice()));
    assert_eq!(r.payload, msg.payload, "bytes unchanged");
    assert_eq!(r.partition, None, "partitioned by the new key");
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).to_string())
    };
    assert_eq!(header("traceparent").as_deref(), Some("00-abc"));
    assert_eq!(header(REKEY_SOURCE_TOPIC).as_deref(), Some("adt.events"));
    assert_eq!(header(REKEY_SOURCE_PARTITION).as_deref(), Some("2"));
    assert_eq!(header(REKEY_SOURCE_OFFSET).as_deref(), Some("4"));
    // Unreadable input is dead-lettered by the stage itself.
    let bad = p.handle(&mut state, &inbound(5, "K", b"MSH|^~".to_vec()));
    assert_eq!(bad.outcome, "dead_lettered");
    assert_eq!(topics_of(&bad), ["readmit.dlq"]);
    // The re-keyed topic is processed as usual.
    let again = InboundMessage {
        topic: "adt.rekeyed".into(),
        key: r.key.clone(),
        ..msg.clone()
    };
    assert_eq!(p.handle(&mut state, &again).outcome, "history_only");
    assert_eq!(state.len(), 1);
    assert_eq!(
        p.counters()
            .rekeyed
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn poison_input_goes_to_the_dead_letter_topic_with_headers_and_changes_nothing() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "empty"),
        (b"\x00\x01\x02 binary junk".to_vec(), "missing_msh"),
        (b"MSH|^~".to_vec(), "truncated_msh"),
        (
            b"MSH|^~\\&|EHR|F|R|R|20260101||ORU^R01|C|P|2.5\rPID|1||X^^^H^MR\r".to_vec(),
            "not_adt",
        ),
        (
            b"MSH|^~\\&|EHR|F|R|R|20260101||ADT^A01|C|P|2.5\rPV1|1|I\r".to_vec(),
            "missing_patient_id",
        ),
        (
            Msg {
                trigger: "A03",
                admit: "20260110080000",
                discharge: "20260105120000",
                ..Msg::default()
            }
            .render(),
            "discharge_before_admit",
        ),
    ];
    for (i, (payload, kind)) in cases.into_iter().enumerate() {
        let msg = inbound(i as i64, "MRN1", payload.clone());
        let out = p.handle(&mut state, &msg);
        assert_eq!(out.outcome, "dead_lettered", "case {kind}");
        assert_eq!(topics_of(&out), ["readmit.dlq"], "case {kind}");
        let dlq = &out.records[0];
        assert_eq!(
            dlq.payload.as_deref(),
            Some(payload.as_slice()),
            "bytes unchanged"
        );
        let header = |name: &str| {
            dlq.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| String::from_utf8_lossy(v).to_string())
        };
        assert_eq!(header(DLQ_KIND).as_deref(), Some(kind), "case {kind}");
        assert_eq!(header("readmit.dlq.source_offset"), Some(i.to_string()));
        assert!(out.deferred.is_empty(), "poison changes no state ({kind})");
    }
    assert!(state.is_empty());
}

#[test]
fn key_check_counts_or_dead_letters_mis_keyed_records() {
    let m = Msg::default().render();
    let counting = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    assert_eq!(
        counting
            .handle(&mut state, &inbound(0, "SOMEONE-ELSE", m.clone()))
            .outcome,
        "history_only"
    );
    assert_eq!(
        counting
            .counters()
            .key_mismatches
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        counting
            .handle(
                &mut state,
                &inbound(
                    1,
                    "HOSP|MRN1",
                    Msg {
                        control: "C2",
                        ..Msg::default()
                    }
                    .render()
                )
            )
            .outcome,
        "history_only"
    );
    assert_eq!(
        counting
            .counters()
            .key_mismatches
            .load(std::sync::atomic::Ordering::Relaxed),
        1,
        "canonical key accepted"
    );
    let strict = pipeline(KeyCheck::DeadLetter);
    let out = strict.handle(
        &mut PartitionState::default(),
        &inbound(0, "SOMEONE-ELSE", m),
    );
    assert_eq!(out.outcome, "dead_lettered");
}

#[test]
fn ed_discharges_only_feed_history() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    let ed = Msg {
        trigger: "A03",
        class: "E",
        discharge: "20260101120000",
        ..Msg::default()
    };
    let out = p.handle(&mut state, &inbound(0, "MRN1", ed.render()));
    assert_eq!(out.outcome, "history_only");
    assert!(out.records.is_empty());
}

#[test]
fn outputs_never_carry_the_mrn_to_unentitled_collaboratives_and_debug_is_redacted() {
    let p = pipeline(KeyCheck::Count);
    let mut state = PartitionState::default();
    let m = Msg {
        trigger: "A03",
        mrn: "SENTINEL-MRN-777",
        facility: "ELSEWHERE",
        zip: "30001",
        discharge: "20260105120000",
        ..Msg::default()
    };
    // Enough ED history for a high tier so "south" (no MRN entitlement) is alerted.
    for i in 0..3 {
        let ed = Msg {
            trigger: "A04",
            control: &format!("E{i}"),
            mrn: "SENTINEL-MRN-777",
            class: "E",
            visit: &format!("E{i}"),
            admit: &format!("2025120{}1000", i + 1),
            facility: "ELSEWHERE",
            zip: "30001",
            ..Msg::default()
        };
        p.handle(&mut state, &inbound(i, "SENTINEL-MRN-777", ed.render()));
    }
    let out = p.handle(&mut state, &inbound(9, "SENTINEL-MRN-777", m.render()));
    assert_eq!(
        topics_of(&out),
        ["readmit.risk-scores", "readmit.alerts.south"]
    );
    let alert = String::from_utf8(out.records[1].payload.clone().unwrap()).unwrap();
    assert!(!alert.contains("SENTINEL"), "{alert}");
    assert!(
        !alert.contains("30001"),
        "ZIP5 only for entitled collaboratives"
    );
    assert!(!format!("{out:?}").contains("SENTINEL"));
}

/// The state-size gauges show a restored partition at once, not after `SWEEP_EVERY` messages.
#[test]
fn a_restored_partition_reports_its_state_size() {
    let registry = prometheus::Registry::new();
    let metrics = Arc::new(
        crate::metrics::Metrics::new(
            &registry,
            crate::metrics::LabelSets {
                topics: vec!["adt".into()],
                collaboratives: vec!["north".into(), "south".into()],
            },
        )
        .unwrap(),
    );
    let source = pipeline(KeyCheck::Count);
    let mut live = PartitionState::default();
    let mut changelog = Vec::new();
    for (i, mrn) in ["MRN1", "MRN2", "MRN3"].into_iter().enumerate() {
        let ed = Msg {
            trigger: "A04",
            control: &format!("ED{i}"),
            mrn,
            class: "E",
            visit: &format!("E{i}"),
            ..Msg::default()
        };
        changelog.extend(
            source
                .handle(&mut live, &inbound(i as i64, mrn, ed.render()))
                .deferred,
        );
    }
    let p = pipeline(KeyCheck::Count).with_metrics(metrics, None);
    let mut restored = p.new_state("adt", 4);
    for r in &changelog {
        p.restore(
            &mut restored,
            r.key.as_deref().unwrap(),
            r.payload.as_deref(),
        );
    }
    p.restored(&mut restored, 4);
    let gauge = |name: &str| {
        registry
            .gather()
            .iter()
            .find(|f| f.name() == name)
            .and_then(|f| {
                f.get_metric()
                    .iter()
                    .find(|m| m.get_label().iter().any(|l| l.value() == "4"))
                    .map(|m| m.get_gauge().get_value())
            })
    };
    assert_eq!(gauge(crate::metrics::names::STATE_PATIENTS), Some(3.0));
    assert_eq!(
        gauge(crate::metrics::names::STATE_BYTES),
        Some(restored.approx_bytes() as f64)
    );
    assert!(restored.approx_bytes() > 0);
}
