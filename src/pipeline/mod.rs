//! The domain processor: one ADT record in → history update, score, alerts, audit, outcomes,
//! changelog, or a dead letter — as a list of records for the runtime to publish.
//!
//! [`Pipeline`] implements [`runtime::Processor`](crate::runtime::Processor) and is pure: no I/O,
//! so tests drive it with plain [`InboundMessage`]s. Every record ends in exactly one
//! [`Outcome`]:
//!
//! | outcome | when |
//! |---|---|
//! | `alerted` | a discharge (or its update/retraction) was scored and at least one alert goes out |
//! | `scored` | scored, audited, but no collaborative subscribes to its tier |
//! | `history_only` | the event only changed history (admits, ED/outpatient visits, transfers) |
//! | `duplicate` | the same sender sent this control ID for this patient before: nothing changes |
//! | `ignored` | an ADT trigger that changes nothing readmit tracks (A28, A31, …) |
//! | `dead_lettered` | unparsable, not ADT, missing a required field, impossible dates |
//! | `rekeyed` | re-keying stage: re-produced to the re-keyed topic under the patient key |
//!
//! Internal merge records ([`merge`]: an A40 whose retired patient lives on another partition)
//! are inputs too and complete as `history_only` (history handed over or absorbed), `ignored`
//! (a request to a partition that does not hold the patient) or `duplicate` (a hand-over
//! absorbed before).
//!
//! Re-keying (`topics.rekey`): when the input is not keyed by patient, the pipeline is also
//! the re-keying stage. A record of any topic other than [`PipelineOptions::rekey_to`] is
//! only parsed far enough to find its patient and re-produced, bytes and headers unchanged
//! plus `readmit.rekey.source_*` headers, to the re-keyed topic keyed by the canonical patient
//! key (outcome `rekeyed`; unreadable records are dead-lettered there and then). History,
//! scores and alerts come from the re-keyed topic, so one patient's messages meet in one
//! partition whatever the upstream key was.
//!
//! Trigger handling follows DOMAIN.md §2. Windows and retention run on each patient's event
//! clock ([`state`](crate::state)), so a replay computes what the first run did.

pub mod merge;
pub mod records;

use std::sync::Arc;

use crate::adt::{AdtEvent, Trigger};
use crate::alerts::{
    alert_id_hex, fhir, Alert, AlertFormat, AlertKind, Collaborative, EventTime, Interventions,
    PatientRef, Pseudonymizer, Reason, Routing, Tier, ALERT_SCHEMA_VERSION,
};
pub use crate::config::KeyCheck;
use crate::features::{self, Discharge, FeatureVector, History};
use crate::hl7::{self, Message, Timestamp};
use crate::metrics::monitor::ModelMonitor;
use crate::metrics::{Metrics, Stage};
use crate::model::{RiskTier, Scorer};
use crate::runtime::{InboundMessage, OutboundRecord, Processed, Processor};
use crate::state::{
    self, Change, EncounterClass, PartitionState, PatientHistory, ScoredDischarge, DAY,
};
use records::{OutcomeKind, OutcomeRecord, RiskScoreRecord, Source, RECORD_SCHEMA_VERSION};

/// Buffer reserved for one risk-score record's JSON (typical: ~2.5 KiB).
const AUDIT_RECORD_BYTES: usize = 4096;

/// Dead-letter header: error kind (closed set, e.g. `bad_delimiters`, `missing_patient_id`).
pub const DLQ_KIND: &str = "readmit.error.kind";
/// Dead-letter header: segment the error is about, when known.
pub const DLQ_SEGMENT: &str = "readmit.error.segment";
/// Dead-letter header: field number the error is about, when known.
pub const DLQ_FIELD: &str = "readmit.error.field";
/// Re-keyed record header: topic the record was re-keyed from.
pub const REKEY_SOURCE_TOPIC: &str = "readmit.rekey.source_topic";
/// Re-keyed record header: partition it was re-keyed from (decimal text).
pub const REKEY_SOURCE_PARTITION: &str = "readmit.rekey.source_partition";
/// Re-keyed record header: offset it was re-keyed from (decimal text).
pub const REKEY_SOURCE_OFFSET: &str = "readmit.rekey.source_offset";
/// Dead-letter header: the error's value-free explanation.
pub const DLQ_REASON: &str = "readmit.error.reason";
/// Dead-letter header: when the record was dead-lettered (ms since the epoch), as given by the
/// input record's timestamp (the pipeline reads no clock).
pub const DLQ_TIME: &str = "readmit.error.input_timestamp_ms";

/// The final outcome of one input record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Scored and at least one alert published.
    Alerted,
    /// Scored and audited; no collaborative subscribes to the tier.
    Scored,
    /// Only history changed.
    HistoryOnly,
    /// A repeated message: nothing changed.
    Duplicate,
    /// An ADT trigger readmit does not track.
    Ignored,
    /// Sent to the dead-letter topic.
    DeadLettered,
    /// Re-produced to the re-keyed topic (re-keying stage).
    Rekeyed,
}

impl Outcome {
    /// Stable label (metric label values).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Alerted => "alerted",
            Outcome::Scored => "scored",
            Outcome::HistoryOnly => "history_only",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::DeadLettered => "dead_lettered",
            Outcome::Rekeyed => "rekeyed",
        }
    }

    /// Every outcome, for metrics that pre-register their label values.
    pub const ALL: [Outcome; 7] = [
        Outcome::Alerted,
        Outcome::Scored,
        Outcome::HistoryOnly,
        Outcome::Duplicate,
        Outcome::Ignored,
        Outcome::DeadLettered,
        Outcome::Rekeyed,
    ];
}

/// Topic names the pipeline writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// Audit trail of every score.
    pub risk_scores: Arc<str>,
    /// Prefix of per-collaborative alert topics.
    pub alerts_prefix: String,
    /// Alerts no rule matched.
    pub unrouted: Arc<str>,
    /// Dead letters.
    pub dlq: Arc<str>,
    /// Compacted history changelog.
    pub changelog: Arc<str>,
    /// Observed outcomes.
    pub outcomes: Arc<str>,
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            risk_scores: "readmit.risk-scores".into(),
            alerts_prefix: "readmit.alerts.".into(),
            unrouted: "readmit.alerts.unrouted".into(),
            dlq: "readmit.dlq".into(),
            changelog: "readmit.patient-history".into(),
            outcomes: "readmit.outcomes".into(),
        }
    }
}

/// Pipeline behaviour.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Output topics.
    pub topics: Topics,
    /// Visit classes whose discharges are scored (others only feed history).
    pub score_classes: Vec<EncounterClass>,
    /// Routing rules and collaboratives.
    pub routing: Routing,
    /// Interventions per tier.
    pub interventions: Interventions,
    /// Key check mode.
    pub key_check: KeyCheck,
    /// The re-keyed topic when re-keying (`topics.rekey`): records of every other topic are
    /// re-keyed to it instead of processed. `None`: process every record.
    pub rekey_to: Option<Arc<str>>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            topics: Topics::default(),
            score_classes: vec![EncounterClass::Inpatient],
            routing: Routing::default(),
            interventions: Interventions::default(),
            key_check: KeyCheck::default(),
            rekey_to: None,
        }
    }
}

/// Counters the pipeline keeps beside outcomes (read by metrics).
#[derive(Debug, Default)]
pub struct PipelineCounters {
    /// Records whose key did not name the message's patient.
    pub key_mismatches: std::sync::atomic::AtomicU64,
    /// Alerts sent to the unrouted topic.
    pub unrouted: std::sync::atomic::AtomicU64,
    /// A40 merges whose retired patient was not on this partition (a merge request went to
    /// the other partitions; see [`merge`]).
    pub remote_merges: std::sync::atomic::AtomicU64,
    /// Retired patients' histories this instance handed over to another partition.
    pub merges_handed_over: std::sync::atomic::AtomicU64,
    /// Histories received from another partition and absorbed into the survivor.
    pub merges_applied: std::sync::atomic::AtomicU64,
    /// Records the re-keying stage re-produced under their patient's key.
    pub rekeyed: std::sync::atomic::AtomicU64,
}

/// The domain processor.
pub struct Pipeline {
    options: PipelineOptions,
    scorer: Arc<dyn Scorer>,
    pseudonyms: Pseudonymizer,
    counters: Arc<PipelineCounters>,
    alert_topics: Vec<(String, Arc<str>)>,
    metrics: Option<Arc<Metrics>>,
    monitor: Option<Arc<ModelMonitor>>,
    /// Partition counts of the consumed topics, as told by the runtime at start-up.
    partitions: std::sync::RwLock<Vec<(String, i32)>>,
}

/// How often (in messages per partition) state size is measured and closed 30-day windows
/// are swept for live monitoring.
pub const SWEEP_EVERY: u64 = 10_000;

/// A poison record: why it goes to the dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    /// Closed-set kind.
    pub kind: &'static str,
    /// Segment, when known.
    pub segment: Option<String>,
    /// Field, when known.
    pub field: Option<usize>,
    /// Value-free reason.
    pub reason: String,
}

impl Poison {
    fn new(kind: &'static str, segment: &str, field: usize, reason: &str) -> Self {
        Self {
            kind,
            segment: Some(segment.to_string()),
            field: Some(field),
            reason: reason.to_string(),
        }
    }
}

/// A discharge ready to score: everything computed before any state changes.
struct Scoring {
    discharge: Discharge,
    features: FeatureVector,
    features_hash: u64,
}

/// Times of the visit in the message, minutes since the epoch on the sender's clock.
#[derive(Debug, Clone, Copy)]
struct VisitTimes {
    admitted: Option<u32>,
    discharged: Option<u32>,
    event: Option<u32>,
}

fn minutes(ts: &Timestamp) -> u32 {
    u32::try_from(ts.local_epoch_seconds().max(0) / 60).unwrap_or(u32::MAX)
}

fn event_time_of(ts: Option<&Timestamp>) -> Option<EventTime> {
    ts.map(|t| EventTime {
        local_minutes: t.local_epoch_seconds().div_euclid(60),
        offset_minutes: t.offset_minutes(),
    })
}

fn features_hash(fv: &FeatureVector) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for v in fv.values() {
        h.update(&v.to_bits().to_le_bytes());
    }
    h.digest()
}

impl Pipeline {
    /// Builds the pipeline.
    pub fn new(
        options: PipelineOptions,
        scorer: Arc<dyn Scorer>,
        pseudonyms: Pseudonymizer,
    ) -> Self {
        let alert_topics = options
            .routing
            .collaboratives
            .iter()
            .map(|c| {
                let topic: Arc<str> = format!("{}{}", options.topics.alerts_prefix, c.name).into();
                (c.name.clone(), topic)
            })
            .collect();
        Self {
            options,
            scorer,
            pseudonyms,
            counters: Arc::new(PipelineCounters::default()),
            alert_topics,
            metrics: None,
            monitor: None,
            partitions: std::sync::RwLock::default(),
        }
    }

    /// Records how many partitions a consumed topic has (the runtime calls this through
    /// [`Processor::topic_partitions`] after its start-up topic check). Cross-partition A40
    /// merges need it; without it the pipeline only merges patients of the same partition.
    pub fn set_topic_partitions(&self, topic: &str, partitions: i32) {
        let mut known = self.partitions.write().unwrap_or_else(|e| e.into_inner());
        known.retain(|(t, _)| t != topic);
        known.push((topic.to_string(), partitions));
    }

    fn topic_partitions_of(&self, topic: &str) -> Option<i32> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(t, _)| t == topic)
            .map(|(_, n)| *n)
    }

    /// Reports per-message metrics (consumed, stage durations, dead letters by kind, alerts,
    /// state size) and feeds the live model monitor.
    pub fn with_metrics(
        mut self,
        metrics: Arc<Metrics>,
        monitor: Option<Arc<ModelMonitor>>,
    ) -> Self {
        self.metrics = Some(metrics);
        self.monitor = monitor;
        self
    }

    fn timer(&self, stage: Stage) -> Option<crate::metrics::StageTimer<'_>> {
        self.metrics.as_deref().map(|m| m.stage_timer(stage))
    }

    fn observe_closed(&self, closed: &[ScoredDischarge]) {
        if let Some(monitor) = &self.monitor {
            for s in closed {
                monitor.observe_outcome(&alert_id_hex(s.alert_id), false);
            }
        }
    }

    fn housekeeping(&self, state: &mut PartitionState, partition: i32) {
        if !state.tick(SWEEP_EVERY) {
            return;
        }
        let closed = state.sweep_closed_windows();
        self.observe_closed(&closed);
        self.report_state_size(state, partition);
    }

    /// Sets the partition's state-size gauges (one pass over its patients).
    fn report_state_size(&self, state: &PartitionState, partition: i32) {
        if let Some(m) = &self.metrics {
            m.set_state_size(partition, state.len() as u64, state.approx_bytes());
        }
    }

    /// Counters beside outcomes.
    pub fn counters(&self) -> Arc<PipelineCounters> {
        self.counters.clone()
    }

    /// Every alert topic the pipeline may write to (per collaborative, plus unrouted).
    pub fn alert_topics(&self) -> Vec<Arc<str>> {
        let mut v: Vec<Arc<str>> = self.alert_topics.iter().map(|(_, t)| t.clone()).collect();
        v.push(self.options.topics.unrouted.clone());
        v
    }

    fn alert_topic(&self, collaborative: &str) -> Arc<str> {
        self.alert_topics
            .iter()
            .find(|(n, _)| n == collaborative)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| self.options.topics.unrouted.clone())
    }

    fn dead_letter(&self, msg: &InboundMessage, poison: &Poison) -> Processed {
        if let Some(m) = &self.metrics {
            m.record_dead_letter(poison.kind);
        }
        let mut record =
            OutboundRecord::dead_letter(self.options.topics.dlq.clone(), msg, poison.kind)
                .with_header(DLQ_KIND, poison.kind)
                .with_header(DLQ_REASON, poison.reason.as_str());
        if let Some(segment) = &poison.segment {
            record = record.with_header(DLQ_SEGMENT, segment.as_str());
        }
        if let Some(field) = poison.field {
            record = record.with_header(DLQ_FIELD, field.to_string());
        }
        if let Some(ts) = msg.timestamp_ms {
            record = record.with_header(DLQ_TIME, ts.to_string());
        }
        Processed {
            records: vec![record],
            deferred: Vec::new(),
            outcome: Outcome::DeadLettered.as_str(),
        }
    }

    /// Processes one record (the [`Processor`] entry point, usable without Kafka).
    pub fn handle(&self, state: &mut PartitionState, msg: &InboundMessage) -> Processed {
        if let Some(to) = &self.options.rekey_to {
            if msg.topic != *to {
                return match self.rekey(msg, to) {
                    Ok(p) => p,
                    Err(poison) => {
                        if let Some(m) = &self.metrics {
                            m.record_consumed(&msg.topic, None);
                        }
                        self.dead_letter(msg, &poison)
                    }
                };
            }
        }
        if let Some(kind) = merge::internal_kind(msg) {
            return match self.handle_internal(state, msg, kind) {
                Ok(p) => p,
                Err(poison) => self.dead_letter(msg, &poison),
            };
        }
        let out = match self.try_handle(state, msg) {
            Ok(p) => p,
            Err(poison) => self.dead_letter(msg, &poison),
        };
        self.housekeeping(state, msg.partition);
        out
    }

    /// An internal merge record (see [`merge`]): hand a retired patient's history over, or
    /// absorb one that was handed over.
    fn handle_internal(
        &self,
        state: &mut PartitionState,
        msg: &InboundMessage,
        kind: merge::Internal,
    ) -> Result<Processed, Poison> {
        use std::sync::atomic::Ordering::Relaxed;
        let payload = msg.payload.as_deref().unwrap_or_default();
        let bad = |reason: String| Poison {
            kind: "bad_internal_record",
            segment: None,
            field: None,
            reason,
        };
        match kind {
            merge::Internal::Unknown => Err(bad(format!(
                "header {} names an internal record kind this build does not know",
                merge::INTERNAL_HEADER
            ))),
            merge::Internal::MergeOut => {
                let request = merge::MergeOut::decode(payload).map_err(|e| bad(e.to_string()))?;
                let in_range = request.survivor_partition >= 0
                    && self
                        .topic_partitions_of(&msg.topic)
                        .is_none_or(|n| request.survivor_partition < n);
                if !in_range {
                    return Err(bad(
                        "merge request names a partition the topic does not have".into(),
                    ));
                }
                let Some(history) = state.take(state::patient_hash(request.retired.as_bytes()))
                else {
                    return Ok(Processed::nothing(Outcome::Ignored.as_str()));
                };
                self.counters.merges_handed_over.fetch_add(1, Relaxed);
                let hand_over = merge::MergeIn {
                    version: merge::MERGE_RECORD_VERSION,
                    merge_id: request.merge_id,
                    retired: request.retired,
                    survivor: request.survivor,
                    history,
                };
                // The hand-over is a primary record, the tombstone a deferred one: the history
                // leaves this partition's changelog only once the survivor's partition has it.
                Ok(Processed::new(Outcome::HistoryOnly.as_str())
                    .with_record(hand_over.record(&msg.topic, request.survivor_partition))
                    .with_deferred(self.changelog(msg, &hand_over.retired, None)))
            }
            merge::Internal::MergeIn => {
                let hand_over = merge::MergeIn::decode(payload).map_err(|e| bad(e.to_string()))?;
                let patient = state::patient_hash(hand_over.survivor.as_bytes());
                let id = merge::merge_in_id(hand_over.merge_id);
                if state
                    .patient(patient)
                    .is_some_and(|h| h.recent.contains(&id) || h.has_applied(msg.offset))
                {
                    return Ok(Processed::nothing(Outcome::Duplicate.as_str()));
                }
                let clock = hand_over.history.clock;
                let history = state.patient_mut(patient);
                history.absorb(hand_over.history);
                history.mark_applied(msg.offset);
                // After absorbing, which pushes the retired patient's IDs into the ring.
                history.remember(id);
                let closed = history.prune();
                self.observe_closed(&closed);
                let history = state.patient_mut(patient);
                let value = (!history.is_empty()).then(|| state::encode(history));
                state.advance_clock(clock);
                state.forget_if_empty(patient);
                self.counters.merges_applied.fetch_add(1, Relaxed);
                Ok(
                    Processed::new(Outcome::HistoryOnly.as_str()).with_deferred(self.changelog(
                        msg,
                        &hand_over.survivor,
                        value,
                    )),
                )
            }
        }
    }

    /// The re-keying stage: `msg` re-produced to `to`, keyed by its patient's canonical key.
    fn rekey(&self, msg: &InboundMessage, to: &Arc<str>) -> Result<Processed, Poison> {
        let payload = msg.payload.as_deref().unwrap_or_default();
        let message = self.parse_one(payload)?;
        let event = AdtEvent::from_message(&message).map_err(|e| Poison {
            kind: e.kind(),
            segment: Some(e.segment().into()),
            field: e.field(),
            reason: e.reason().into(),
        })?;
        let pid = event.patient_key().ok_or_else(|| {
            Poison::new(
                "missing_patient_id",
                "PID",
                3,
                "no patient identifier in PID-3",
            )
        })?;
        let key = canonical_key(
            pid.assigning_authority.as_deref().unwrap_or_default(),
            pid.id.as_deref().unwrap_or_default(),
        );
        let mut record =
            OutboundRecord::new(to.clone(), Some(key.into_bytes()), msg.payload.clone());
        for (name, value) in &msg.headers {
            if let Some(value) = value {
                record = record.with_header(name.as_str(), value.as_slice());
            }
        }
        record = record
            .with_header(REKEY_SOURCE_TOPIC, msg.topic.as_bytes())
            .with_header(REKEY_SOURCE_PARTITION, msg.partition.to_string())
            .with_header(REKEY_SOURCE_OFFSET, msg.offset.to_string());
        self.counters
            .rekeyed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Processed::new(Outcome::Rekeyed.as_str()).with_record(record))
    }

    /// Splits and parses one HL7 message (a record must hold exactly one).
    fn parse_one<'a>(&self, payload: &'a [u8]) -> Result<Message<'a>, Poison> {
        let mut messages = hl7::split_messages(payload);
        let first = messages.next().unwrap_or(payload);
        if messages.next().is_some() {
            return Err(Poison {
                kind: "multiple_messages",
                segment: Some("MSH".into()),
                field: None,
                reason: "record holds more than one HL7 message; publish one message per record"
                    .into(),
            });
        }
        Message::parse(first).map_err(|e| Poison {
            kind: e.kind.as_str(),
            segment: e.segment.clone(),
            field: e.field,
            reason: e.reason.to_string(),
        })
    }

    fn try_handle(
        &self,
        state: &mut PartitionState,
        msg: &InboundMessage,
    ) -> Result<Processed, Poison> {
        let payload = msg.payload.as_deref().unwrap_or_default();
        let mut messages = hl7::split_messages(payload);
        let first = messages.next().unwrap_or(payload);
        if messages.next().is_some() {
            return Err(Poison {
                kind: "multiple_messages",
                segment: Some("MSH".into()),
                field: None,
                reason: "record holds more than one HL7 message; publish one message per record"
                    .into(),
            });
        }
        let parse_timer = self.timer(Stage::Parse);
        let parsed = Message::parse(first);
        drop(parse_timer);
        if parsed.is_err() {
            if let Some(m) = &self.metrics {
                m.record_consumed(&msg.topic, None);
            }
        }
        let message = parsed.map_err(|e| Poison {
            kind: e.kind.as_str(),
            segment: e.segment.clone(),
            field: e.field,
            reason: e.reason.to_string(),
        })?;
        let adt_timer = self.timer(Stage::Adt);
        let event = AdtEvent::from_message(&message);
        drop(adt_timer);
        if let Some(m) = &self.metrics {
            m.record_consumed(
                &msg.topic,
                event.as_ref().ok().map(|e| e.trigger_code.as_str()),
            );
        }
        let event = event.map_err(|e| Poison {
            kind: e.kind(),
            segment: Some(e.segment().into()),
            field: e.field(),
            reason: e.reason().into(),
        })?;
        self.handle_event(state, msg, &event)
    }

    fn handle_event(
        &self,
        state: &mut PartitionState,
        msg: &InboundMessage,
        event: &AdtEvent,
    ) -> Result<Processed, Poison> {
        let pid = event.patient_key().ok_or_else(|| {
            Poison::new(
                "missing_patient_id",
                "PID",
                3,
                "no patient identifier in PID-3",
            )
        })?;
        let mrn = pid.id.as_deref().unwrap_or_default();
        let authority = pid.assigning_authority.as_deref().unwrap_or_default();
        if self.options.key_check != KeyCheck::Off && !key_names_patient(msg.key.as_deref(), event)
        {
            self.counters
                .key_mismatches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if self.options.key_check == KeyCheck::DeadLetter {
                return Err(Poison::new(
                    "key_mismatch",
                    "PID",
                    3,
                    "record key is absent or does not match any PID-3 identifier",
                ));
            }
        }
        let canonical = canonical_key(authority, mrn);
        let patient = state::patient_hash(canonical.as_bytes());
        let visit = event.visit.as_ref();
        let facility = visit
            .and_then(|v| v.facility.as_deref())
            .or(event.sending_facility.as_deref())
            .unwrap_or_default()
            .to_string();
        let visit_number = visit.and_then(|v| v.visit_number.as_deref());
        let visit_hash = visit_number.map_or(0, |n| state::hash_parts(&[&facility, n]));
        let class = EncounterClass::from_hl7(visit.and_then(|v| v.patient_class.as_deref()));
        let times = VisitTimes {
            admitted: visit
                .and_then(|v| v.admit_datetime.timestamp())
                .map(minutes),
            discharged: visit
                .and_then(|v| v.discharge_datetime.timestamp())
                .map(minutes),
            event: event
                .event_time()
                .and_then(|t| t.parsed.as_ref())
                .map(minutes),
        };
        if let (Some(a), Some(d)) = (times.admitted, times.discharged) {
            if d < a {
                return Err(Poison::new(
                    "discharge_before_admit",
                    "PV1",
                    45,
                    "discharge date/time is before the admit date/time",
                ));
            }
        }

        // A discharge without PV1 has no visit, patient class or times: it can be neither
        // scored nor applied to history, so it is dead-lettered rather than counted history-only.
        if event.trigger == Trigger::A03 && visit.is_none() {
            return Err(Poison {
                kind: "missing_visit",
                segment: Some("PV1".into()),
                field: None,
                reason: "a discharge (A03) needs a PV1 segment (patient class, visit, admit and \
                         discharge times)"
                    .into(),
            });
        }

        // Validate and compute everything a discharge needs before touching state, so a poison
        // record changes nothing.
        let scoring = match event.trigger {
            Trigger::A03 if self.options.score_classes.contains(&class) => {
                let discharged = times.discharged.or(times.event).ok_or_else(|| {
                    Poison::new(
                        "missing_discharge_time",
                        "PV1",
                        45,
                        "discharge date/time is empty and EVN has no event time",
                    )
                })?;
                let admitted = times.admitted.unwrap_or(discharged);
                let history = state
                    .patient(patient)
                    .map(|h| h.prior_use(admitted, visit_hash))
                    .unwrap_or_default();
                self.prepare_scoring(event, history)?
            }
            Trigger::A08 => {
                // Re-score only a discharge we scored, and only from an A08 that carries it.
                let scored = state
                    .patient(patient)
                    .and_then(|h| h.scored.iter().rev().find(|s| s.visit == visit_hash))
                    .is_some_and(|s| !s.retracted);
                match (scored, times.discharged) {
                    (true, Some(_)) => {
                        let admitted = times.admitted.or(times.discharged).unwrap_or_default();
                        let history = state
                            .patient(patient)
                            .map(|h| h.prior_use(admitted, visit_hash))
                            .unwrap_or_default();
                        self.prepare_scoring(event, history)?
                    }
                    _ => None,
                }
            }
            _ => None,
        };

        let message_id = event.control_id.as_deref().map(|id| {
            state::hash_parts(&[
                event.sending_application.as_deref().unwrap_or_default(),
                event.sending_facility.as_deref().unwrap_or_default(),
                id,
            ])
        });
        let ctx = Ctx {
            msg,
            event,
            mrn,
            authority,
            facility: &facility,
            visit_number,
            visit_hash,
        };

        let history = state.patient_mut(patient);
        // A record this history already reflects (redelivered after a restart or rebalance,
        // when the changelog got ahead of the committed offset): its outputs were all
        // acknowledged before that snapshot was written, so it changes and emits nothing.
        if history.has_applied(msg.offset) {
            return Ok(Processed::nothing(Outcome::Duplicate.as_str()));
        }
        if let Some(id) = message_id {
            if !history.remember(id) {
                return Ok(Processed::nothing(Outcome::Duplicate.as_str()));
            }
        }
        history.mark_applied(msg.offset);
        let mut out = Vec::new();
        let mut deferred = Vec::new();
        let outcome = match event.trigger {
            Trigger::A01 | Trigger::A04 | Trigger::A05 | Trigger::A06 | Trigger::A07 => {
                let at = times.admitted.or(times.event).unwrap_or(history.clock);
                let class = match event.trigger {
                    Trigger::A06 => EncounterClass::Inpatient,
                    Trigger::A07 => EncounterClass::Outpatient,
                    _ => class,
                };
                history.apply(Change::Admit {
                    visit: visit_hash,
                    class,
                    at,
                });
                if class == EncounterClass::Inpatient && event.trigger != Trigger::A05 {
                    for s in history.readmissions(at, visit_hash) {
                        if let Some(monitor) = &self.monitor {
                            monitor.observe_outcome(&alert_id_hex(s.alert_id), true);
                        }
                        out.push(self.outcome_record(&ctx, &s, OutcomeKind::Readmitted, at));
                    }
                }
                Outcome::HistoryOnly
            }
            Trigger::A03 => {
                let at = times.discharged.or(times.event).unwrap_or(history.clock);
                history.apply(Change::Discharge {
                    visit: visit_hash,
                    class,
                    admitted_at: times.admitted,
                    at,
                });
                // A visit scored before and not retracted since (an A03 after an A13 reinstates
                // the discharge and alerts again) is not a new discharge: the
                // same features again (a resend the recent-ID ring no longer holds) change
                // nothing; different ones are an update, like an amending A08.
                let previous = history
                    .scored_for(visit_hash)
                    .filter(|x| !x.retracted)
                    .map(|x| x.features_hash);
                match (scoring, previous) {
                    (Some(s), Some(h)) if h == s.features_hash => Outcome::HistoryOnly,
                    (Some(s), Some(_)) => {
                        self.emit_score(&ctx, history, s, at, AlertKind::Update, &mut out)
                    }
                    (Some(s), None) => {
                        self.emit_score(&ctx, history, s, at, AlertKind::Discharge, &mut out)
                    }
                    (None, _) => Outcome::HistoryOnly,
                }
            }
            Trigger::A08 => {
                history.apply(Change::Update {
                    visit: visit_hash,
                    class: visit.and_then(|v| v.patient_class.value()).map(|_| class),
                    admitted_at: times.admitted,
                    discharged_at: times.discharged,
                });
                match scoring {
                    Some(s) => {
                        let unchanged = history
                            .scored
                            .iter()
                            .any(|x| x.visit == visit_hash && x.features_hash == s.features_hash);
                        if unchanged {
                            Outcome::HistoryOnly
                        } else {
                            let at = times.discharged.unwrap_or(history.clock);
                            self.emit_score(&ctx, history, s, at, AlertKind::Update, &mut out)
                        }
                    }
                    None => Outcome::HistoryOnly,
                }
            }
            Trigger::A11 => {
                history.apply(Change::CancelAdmit { visit: visit_hash });
                for s in history.cancel_readmissions(visit_hash) {
                    let at = times.event.unwrap_or(history.clock);
                    out.push(self.outcome_record(&ctx, &s, OutcomeKind::ReadmissionCancelled, at));
                }
                Outcome::HistoryOnly
            }
            Trigger::A13 => {
                history.apply(Change::CancelDischarge { visit: visit_hash });
                match history.scored_mut(visit_hash) {
                    Some(s) if !s.retracted => {
                        s.retracted = true;
                        let s = *s;
                        self.emit_retraction(&ctx, &s, &mut out)
                    }
                    _ => Outcome::HistoryOnly,
                }
            }
            Trigger::A40 => {
                // The surviving patient is this message's PID; MRG-1 names the retired ones.
                let retired: Vec<String> = event
                    .merges
                    .iter()
                    .flat_map(|m| m.prior_identifiers.iter())
                    .filter_map(|p| {
                        p.id.as_deref().map(|id| {
                            canonical_key(p.assigning_authority.as_deref().unwrap_or(authority), id)
                        })
                    })
                    .filter(|k| k != &canonical)
                    .collect();
                let a40 = event.control_id.as_deref().map_or_else(
                    || format!("{}/{}/{}", msg.topic, msg.partition, msg.offset),
                    |id| {
                        format!(
                            "{}|{}|{id}",
                            event.sending_application.as_deref().unwrap_or_default(),
                            event.sending_facility.as_deref().unwrap_or_default()
                        )
                    },
                );
                for key in &retired {
                    match state.take(state::patient_hash(key.as_bytes())) {
                        Some(old) => {
                            state.patient_mut(patient).absorb(old);
                            deferred.push(self.changelog(msg, key, None));
                        }
                        None => {
                            self.counters
                                .remote_merges
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            // The retired patient lives on another partition (or nowhere):
                            // ask every other partition's owner to hand its history over.
                            if let Some(n) = self.topic_partitions_of(&msg.topic) {
                                let request = merge::MergeOut {
                                    version: merge::MERGE_RECORD_VERSION,
                                    merge_id: merge::merge_id(&canonical, key, &a40),
                                    retired: key.clone(),
                                    survivor: canonical.clone(),
                                    survivor_partition: msg.partition,
                                };
                                out.extend(request.records(&msg.topic, n));
                            }
                        }
                    }
                }
                // Absorbing pushed the retired patients' message IDs into the ring: keep
                // this A40's own ID in it, so a redelivered A40 is still a duplicate.
                if let Some(id) = message_id {
                    state.patient_mut(patient).remember(id);
                }
                Outcome::HistoryOnly
            }
            Trigger::A02 => Outcome::HistoryOnly,
            _ => Outcome::Ignored,
        };
        if let Some(at) = times.discharged.or(times.admitted).or(times.event) {
            state.advance_clock(at);
        }
        let history = state.patient_mut(patient);
        let closed = history.prune();
        self.observe_closed(&closed);
        let history = state.patient_mut(patient);
        let value = (!history.is_empty()).then(|| state::encode(history));
        state.forget_if_empty(patient);
        // Deferred: the changelog (which holds the de-duplication ring) is written only after
        // every output of this and earlier messages is acknowledged, so a redelivered message
        // that restored state already knows has had all its outputs delivered.
        deferred.push(self.changelog(msg, &canonical, value));
        Ok(Processed {
            records: out,
            deferred,
            outcome: outcome.as_str(),
        })
    }

    fn changelog(
        &self,
        msg: &InboundMessage,
        canonical: &str,
        value: Option<Vec<u8>>,
    ) -> OutboundRecord {
        OutboundRecord::new(
            self.options.topics.changelog.clone(),
            Some(canonical.as_bytes().to_vec()),
            value,
        )
        .with_partition(msg.partition)
    }

    fn prepare_scoring(
        &self,
        event: &AdtEvent,
        prior: state::PriorUse,
    ) -> Result<Option<Scoring>, Poison> {
        let discharge = features::adt::discharge_from_event(event).map_err(|e| Poison {
            kind: "unscorable_discharge",
            segment: Some("PV1".into()),
            field: None,
            reason: e.to_string(),
        })?;
        if !discharge.is_index_eligible() {
            return Ok(None);
        }
        let dead = event
            .patient
            .as_ref()
            .and_then(|p| p.death_indicator.as_deref())
            .is_some_and(|d| d.eq_ignore_ascii_case("Y"));
        if dead {
            return Ok(None);
        }
        let history = History {
            ed_visits_6m: prior.emergency_6m,
            ed_visits_12m: prior.emergency_12m,
            inpatient_12m: prior.inpatient_12m,
            outpatient_12m: prior.outpatient_12m,
        };
        let features_timer = self.timer(Stage::Features);
        let features = features::extract(&discharge, &history);
        drop(features_timer);
        let features = features.map_err(|e| Poison {
            kind: "feature_out_of_range",
            segment: None,
            field: None,
            reason: e.to_string(),
        })?;
        Ok(Some(Scoring {
            features_hash: features_hash(&features),
            discharge,
            features,
        }))
    }

    fn emit_score(
        &self,
        ctx: &Ctx<'_>,
        history: &mut PatientHistory,
        s: Scoring,
        discharged_at: u32,
        kind: AlertKind,
        out: &mut Vec<OutboundRecord>,
    ) -> Outcome {
        let score_timer = self.timer(Stage::Score);
        let scored = self.scorer.score(&s.features);
        drop(score_timer);
        let score = match scored {
            Ok(score) => score,
            Err(_) => {
                // A model that cannot score a valid vector is a bug, not poison input: record
                // the discharge in the audit trail without a score rather than lose it.
                return Outcome::HistoryOnly;
            }
        };
        let tier = tier_of(score.tier);
        let alert_id = self.pseudonyms.alert_id(
            ctx.facility,
            ctx.visit_number.unwrap_or_default(),
            ctx.authority,
            ctx.mrn,
        );
        history.record_score(ScoredDischarge {
            alert_id,
            visit: ctx.visit_hash,
            discharged_at,
            tier: tier.index(),
            probability: score.probability as f32,
            features_hash: s.features_hash,
            readmitted_by: 0,
            retracted: false,
        });
        let reasons: Vec<Reason> = score
            .reasons()
            .map(|r| Reason {
                code: r.code.as_str().to_string(),
                text: r.to_string(),
            })
            .collect();
        let pseudonym = self.pseudonyms.patient(ctx.authority, ctx.mrn);
        let discharge_time = event_time_of(
            ctx.event
                .visit
                .as_ref()
                .and_then(|v| v.discharge_datetime.timestamp()),
        );
        let routed = self.route(ctx);
        let home_health = s.discharge.disposition.to_hl7() == "06";
        let make_alert = |collaborative: &str, patient: PatientRef| Alert {
            schema_version: ALERT_SCHEMA_VERSION,
            alert_id: alert_id_hex(alert_id),
            kind,
            probability: Some(score.probability),
            tier: Some(tier),
            reasons: reasons.clone(),
            interventions: self.options.interventions.plan(
                tier,
                discharge_time.as_ref(),
                home_health,
            ),
            facility: Some(ctx.facility.to_string()).filter(|f| !f.is_empty()),
            discharged_at: discharge_time.map(|t| t.iso()),
            disposition: Some(describe_disposition(s.discharge.disposition.to_hl7())),
            model_version: self.scorer.model_id().to_string(),
            collaborative: collaborative.to_string(),
            patient,
        };
        if kind == AlertKind::Discharge {
            if let Some(monitor) = &self.monitor {
                monitor.observe_score(
                    &alert_id_hex(alert_id),
                    score.probability,
                    tier.as_str(),
                    ctx.facility,
                );
            }
        }
        let mut alerted = Vec::new();
        for c in &routed {
            if c.tiers.contains(&tier) {
                let alert = make_alert(&c.name, self.patient_ref(ctx, c, &pseudonym));
                out.push(self.alert_record(c, &alert));
                alerted.push(c.name.clone());
            }
        }
        if routed.is_empty() {
            self.counters
                .unrouted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let alert = make_alert("unrouted", pseudonym_only(&pseudonym));
            out.push(self.unrouted_record(&alert));
            alerted.push("unrouted".into());
        }
        self.count_published(&alerted, tier);
        let record = RiskScoreRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            alert_id: alert_id_hex(alert_id),
            kind,
            probability: Some(score.probability),
            tier: Some(tier),
            reasons,
            model_version: self.scorer.model_id().to_string(),
            feature_schema_version: features::FEATURE_SCHEMA_VERSION,
            features: s.features.values().to_vec(),
            lace: s.features.get("lace_score").map(|v| v as u32),
            facility: Some(ctx.facility.to_string()).filter(|f| !f.is_empty()),
            visit_number: ctx.visit_number.map(str::to_string),
            discharged_at: discharge_time.map(|t| t.iso()),
            patient: pseudonym,
            collaboratives: alerted.clone(),
            source: self.source(ctx),
        };
        out.insert(0, self.audit_record(&record));
        if alerted.iter().any(|c| c != "unrouted") {
            Outcome::Alerted
        } else {
            Outcome::Scored
        }
    }

    fn emit_retraction(
        &self,
        ctx: &Ctx<'_>,
        s: &ScoredDischarge,
        out: &mut Vec<OutboundRecord>,
    ) -> Outcome {
        let tier = Tier::from_index(s.tier);
        let pseudonym = self.pseudonyms.patient(ctx.authority, ctx.mrn);
        let retraction = |collaborative: &str, patient: PatientRef| Alert {
            schema_version: ALERT_SCHEMA_VERSION,
            alert_id: alert_id_hex(s.alert_id),
            kind: AlertKind::Retraction,
            probability: None,
            tier: None,
            reasons: Vec::new(),
            interventions: Vec::new(),
            facility: Some(ctx.facility.to_string()).filter(|f| !f.is_empty()),
            discharged_at: None,
            disposition: None,
            model_version: self.scorer.model_id().to_string(),
            collaborative: collaborative.to_string(),
            patient,
        };
        // The same destinations as the discharge's alert: each routed collaborative that takes
        // the tier, or, when no rule matches, the unrouted topic (every tier goes there).
        let routed = self.route(ctx);
        let mut alerted = Vec::new();
        for c in &routed {
            if !c.tiers.contains(&tier) {
                continue;
            }
            let alert = retraction(&c.name, self.patient_ref(ctx, c, &pseudonym));
            out.push(self.alert_record(c, &alert));
            alerted.push(c.name.clone());
        }
        if routed.is_empty() {
            let alert = retraction("unrouted", pseudonym_only(&pseudonym));
            out.push(self.unrouted_record(&alert));
            alerted.push("unrouted".into());
        }
        // Retractions are alert records too: the published-alerts metric counts every record
        // on the alert topics (under the retracted discharge's tier).
        self.count_published(&alerted, tier);
        let record = RiskScoreRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            alert_id: alert_id_hex(s.alert_id),
            kind: AlertKind::Retraction,
            probability: None,
            tier: None,
            reasons: Vec::new(),
            model_version: self.scorer.model_id().to_string(),
            feature_schema_version: features::FEATURE_SCHEMA_VERSION,
            features: Vec::new(),
            lace: None,
            facility: Some(ctx.facility.to_string()).filter(|f| !f.is_empty()),
            visit_number: ctx.visit_number.map(str::to_string),
            discharged_at: None,
            patient: pseudonym,
            collaboratives: alerted.clone(),
            source: self.source(ctx),
        };
        out.insert(0, self.audit_record(&record));
        if alerted.iter().any(|c| c != "unrouted") {
            Outcome::Alerted
        } else {
            Outcome::Scored
        }
    }

    /// An alert on the unrouted topic, keyed by alert ID.
    fn unrouted_record(&self, alert: &Alert) -> OutboundRecord {
        OutboundRecord::new(
            self.options.topics.unrouted.clone(),
            Some(alert.alert_id.clone().into_bytes()),
            Some(alert.to_json()),
        )
    }

    /// Counts one published alert record per destination (`unrouted` included).
    fn count_published(&self, alerted: &[String], tier: Tier) {
        if let Some(m) = &self.metrics {
            for c in alerted {
                m.record_alert_published(c, tier.as_str());
            }
        }
    }

    /// The risk-score (audit) record, keyed by alert ID like the alerts it accompanies.
    fn audit_record(&self, record: &RiskScoreRecord) -> OutboundRecord {
        // Sized once (a scored discharge's record is ~2.5 KiB, mostly the feature values):
        // growing from serde_json's empty Vec copied it six times (perf: memmove was the top
        // symbol of the in-memory pipeline bench).
        let mut payload = Vec::with_capacity(AUDIT_RECORD_BYTES);
        let payload = serde_json::to_writer(&mut payload, record)
            .ok()
            .map(|()| payload);
        OutboundRecord::new(
            self.options.topics.risk_scores.clone(),
            Some(record.alert_id.clone().into_bytes()),
            payload,
        )
    }

    fn route(&self, ctx: &Ctx<'_>) -> Vec<&Collaborative> {
        let patient = ctx.event.patient.as_ref();
        self.options.routing.route(
            Some(ctx.facility).filter(|f| !f.is_empty()),
            patient.and_then(|p| p.zip.as_deref()),
            patient.and_then(|p| p.county.as_deref()),
        )
    }

    fn patient_ref(&self, ctx: &Ctx<'_>, c: &Collaborative, pseudonym: &str) -> PatientRef {
        let zip = ctx
            .event
            .patient
            .as_ref()
            .and_then(|p| p.zip.as_deref())
            .map(|z| {
                let z = z.trim();
                if c.receives_zip {
                    z.to_string()
                } else {
                    z.chars().take(3).collect()
                }
            });
        PatientRef {
            pseudonym: pseudonym.to_string(),
            mrn: c.receives_mrn.then(|| ctx.mrn.to_string()),
            assigning_authority: c.receives_mrn.then(|| ctx.authority.to_string()),
            zip,
        }
    }

    fn alert_record(&self, c: &Collaborative, alert: &Alert) -> OutboundRecord {
        let payload = match c.format {
            AlertFormat::Json => alert.to_json(),
            AlertFormat::Fhir => {
                serde_json::to_vec(&fhir::risk_assessment(alert)).unwrap_or_default()
            }
        };
        OutboundRecord::new(
            self.alert_topic(&c.name),
            Some(alert.alert_id.clone().into_bytes()),
            Some(payload),
        )
    }

    fn source(&self, ctx: &Ctx<'_>) -> Source {
        Source {
            topic: ctx.msg.topic.to_string(),
            partition: ctx.msg.partition,
            offset: ctx.msg.offset,
            control_id: ctx.event.control_id.as_deref().map(str::to_string),
        }
    }

    fn outcome_record(
        &self,
        ctx: &Ctx<'_>,
        s: &ScoredDischarge,
        kind: OutcomeKind,
        at: u32,
    ) -> OutboundRecord {
        let record = OutcomeRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            alert_id: alert_id_hex(s.alert_id),
            kind,
            days_to_readmission: at.saturating_sub(s.discharged_at) / DAY,
            tier_at_discharge: Tier::from_index(s.tier),
            probability_at_discharge: f64::from(s.probability),
            source: self.source(ctx),
        };
        OutboundRecord::new(
            self.options.topics.outcomes.clone(),
            Some(record.alert_id.clone().into_bytes()),
            serde_json::to_vec(&record).ok(),
        )
    }
}

/// What every handler of one message needs.
struct Ctx<'a> {
    msg: &'a InboundMessage,
    event: &'a AdtEvent,
    mrn: &'a str,
    authority: &'a str,
    facility: &'a str,
    visit_number: Option<&'a str>,
    visit_hash: u64,
}

fn tier_of(t: RiskTier) -> Tier {
    match t {
        RiskTier::Low => Tier::Low,
        RiskTier::Moderate => Tier::Moderate,
        RiskTier::High => Tier::High,
    }
}

/// Plain words for a UB-04 discharge status, with the code.
pub fn describe_disposition(code: &str) -> String {
    let text = match code {
        "01" => "home / self-care",
        "02" => "short-term general hospital",
        "03" => "skilled nursing facility",
        "04" => "intermediate care facility",
        "05" => "other inpatient institution",
        "06" => "home with home health",
        "07" => "left against medical advice",
        "08" => "home IV provider",
        "09" => "admitted as inpatient here",
        "21" => "court / law enforcement",
        "43" => "federal health care facility",
        "61" => "swing bed",
        "62" => "inpatient rehabilitation facility",
        "63" => "long-term care hospital",
        "64" => "Medicaid-only nursing facility",
        "65" => "psychiatric hospital or unit",
        "66" => "critical access hospital",
        "69" => "disaster alternative care site",
        "70" => "other institution",
        "" => return "not recorded".to_string(),
        _ => "other",
    };
    format!("{text} ({code})")
}

/// The canonical patient key: `<assigning authority>|<MRN>` (the changelog key).
pub fn canonical_key(authority: &str, mrn: &str) -> String {
    let mut s = String::with_capacity(authority.len() + 1 + mrn.len());
    s.push_str(authority);
    s.push('|');
    s.push_str(mrn);
    s
}

/// Whether a record key names the message's patient: equal to one of the PID-3 IDs, or to the
/// canonical `<authority>|<MRN>` of one of them.
pub fn key_names_patient(key: Option<&[u8]>, event: &AdtEvent) -> bool {
    let Some(key) = key.and_then(|k| std::str::from_utf8(k).ok()) else {
        return false;
    };
    let key = key.trim();
    event
        .patient
        .as_ref()
        .map(|p| {
            p.identifiers.iter().any(|i| {
                i.id.as_deref().is_some_and(|id| {
                    key == id
                        || key
                            == canonical_key(
                                i.assigning_authority.as_deref().unwrap_or_default(),
                                id,
                            )
                })
            })
        })
        .unwrap_or(false)
}

impl Processor for Pipeline {
    type State = PartitionState;

    fn new_state(&self, _topic: &str, _partition: i32) -> PartitionState {
        PartitionState::default()
    }

    fn restore(&self, state: &mut PartitionState, key: &[u8], value: Option<&[u8]>) {
        // A changelog value that does not decode is skipped: the patient starts with the
        // history of later records (counted by the runtime's restore statistics).
        let _ = state.restore(key, value);
    }

    fn restored(&self, state: &mut PartitionState, partition: i32) {
        // The size gauges are otherwise refreshed every SWEEP_EVERY messages: without this a
        // quiet partition would show no state until then, however much it restored.
        self.report_state_size(state, partition);
    }

    fn process(&self, state: &mut PartitionState, msg: &InboundMessage) -> Processed {
        self.handle(state, msg)
    }

    fn topic_partitions(&self, topic: &str, partitions: i32) {
        self.set_topic_partitions(topic, partitions);
    }
}

/// The patient as the unrouted topic sees them: the pseudonym only (no collaborative, so no
/// entitlement to the MRN or the full ZIP).
fn pseudonym_only(pseudonym: &str) -> PatientRef {
    PatientRef {
        pseudonym: pseudonym.to_string(),
        mrn: None,
        assigning_authority: None,
        zip: None,
    }
}

#[cfg(test)]
mod tests;
