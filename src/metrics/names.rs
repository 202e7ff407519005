//! Metric names (constants, `readmit_<name>_<unit>`: counters end in `_total`, durations are
//! histograms in seconds) and the closed label sets they accept.

/// Messages consumed, by `topic` and `trigger`.
pub const MESSAGES_CONSUMED_TOTAL: &str = "readmit_messages_consumed_total";
/// Messages that reached a final outcome, by `outcome`.
pub const MESSAGES_OUTCOME_TOTAL: &str = "readmit_messages_outcome_total";
/// Inputs sent to the dead-letter topic, by `kind`.
pub const DEAD_LETTERS_TOTAL: &str = "readmit_dead_letters_total";
/// Alerts acknowledged by the broker, by `collaborative` and `tier`.
pub const ALERTS_PUBLISHED_TOTAL: &str = "readmit_alerts_published_total";
/// Record timestamp → every output acknowledged, seconds.
pub const END_TO_END_LATENCY_SECONDS: &str = "readmit_end_to_end_latency_seconds";
/// Time spent per pipeline stage, by `stage`, seconds.
pub const STAGE_DURATION_SECONDS: &str = "readmit_stage_duration_seconds";
/// Messages behind the log end per assigned partition, by `topic` and `partition`.
pub const CONSUMER_LAG_MESSAGES: &str = "readmit_consumer_lag_messages";
/// Patients held in per-partition state, by `partition`.
pub const STATE_PATIENTS: &str = "readmit_state_patients";
/// Approximate bytes of per-partition state, by `partition`.
pub const STATE_BYTES: &str = "readmit_state_bytes";
/// Duration of changelog restores, seconds.
pub const CHANGELOG_RESTORE_DURATION_SECONDS: &str = "readmit_changelog_restore_duration_seconds";
/// Changelog records applied during restores.
pub const CHANGELOG_RESTORED_RECORDS_TOTAL: &str = "readmit_changelog_restored_records_total";
/// Messages waiting in the producer's local queue (librdkafka `msg_cnt`).
pub const PRODUCER_QUEUE_MESSAGES: &str = "readmit_producer_queue_messages";
/// Always 1; labels `version` (model id) and `schema` (feature schema version).
pub const MODEL_INFO: &str = "readmit_model_info";
/// Rebalance callbacks, by `kind` (`assign`, `revoke`, `error`).
pub const REBALANCES_TOTAL: &str = "readmit_rebalances_total";
/// Input partitions currently assigned to this instance.
pub const PARTITIONS_ASSIGNED: &str = "readmit_partitions_assigned";
/// Offset commits that failed (retried by the next commit).
pub const COMMIT_FAILURES_TOTAL: &str = "readmit_commit_failures_total";
/// Produce attempts retried after transient failures.
pub const PRODUCE_RETRIES_TOTAL: &str = "readmit_produce_retries_total";
/// Messages still in flight at a drain deadline (redelivered to the next owner).
pub const IN_FLIGHT_ABANDONED_TOTAL: &str = "readmit_in_flight_abandoned_total";
/// Records whose Kafka key did not name the message's patient.
pub const KEY_MISMATCHES_TOTAL: &str = "readmit_key_mismatches_total";
/// Alerts sent to the unrouted topic (no collaborative matched).
pub const ALERTS_UNROUTED_TOTAL: &str = "readmit_alerts_unrouted_total";
/// A40 merges whose retired patient lived on another partition.
pub const REMOTE_MERGES_TOTAL: &str = "readmit_remote_merges_total";
/// 1 when `/readyz` would answer 200, else 0.
pub const READY: &str = "readmit_ready";

/// Every metric name this module registers (model monitoring names are in
/// [`monitor::METRIC_NAMES`]).
pub const METRIC_NAMES: &[&str] = &[
    MESSAGES_CONSUMED_TOTAL,
    MESSAGES_OUTCOME_TOTAL,
    DEAD_LETTERS_TOTAL,
    ALERTS_PUBLISHED_TOTAL,
    END_TO_END_LATENCY_SECONDS,
    STAGE_DURATION_SECONDS,
    CONSUMER_LAG_MESSAGES,
    STATE_PATIENTS,
    STATE_BYTES,
    CHANGELOG_RESTORE_DURATION_SECONDS,
    CHANGELOG_RESTORED_RECORDS_TOTAL,
    PRODUCER_QUEUE_MESSAGES,
    MODEL_INFO,
    REBALANCES_TOTAL,
    PARTITIONS_ASSIGNED,
    COMMIT_FAILURES_TOTAL,
    PRODUCE_RETRIES_TOTAL,
    IN_FLIGHT_ABANDONED_TOTAL,
    KEY_MISMATCHES_TOTAL,
    ALERTS_UNROUTED_TOTAL,
    REMOTE_MERGES_TOTAL,
    READY,
];

/// Label names any readmit metric may carry; a test walks the registry against this list.
pub const ALLOWED_LABEL_NAMES: &[&str] = &[
    "topic",
    "trigger",
    "outcome",
    "kind",
    "collaborative",
    "tier",
    "stage",
    "partition",
    "version",
    "schema",
    "facility",
];

/// The label value every closed set falls back to.
pub const OTHER: &str = "other";
/// `trigger` value for records whose trigger could not be read (unparsable input).
pub const UNPARSED: &str = "unparsed";
/// `collaborative` value for alerts that matched no route.
pub const UNROUTED: &str = "unrouted";

/// The pipeline's outcome labels.
pub const OUTCOMES: &[&str] = &[
    "alerted",
    "scored",
    "history_only",
    "duplicate",
    "ignored",
    "dead_lettered",
    "rekeyed",
];

/// Dead-letter kinds: parser kinds (`hl7::ParseErrorKind::as_str`), ADT kinds
/// (`adt::AdtError::kind`), the pipeline's own poison kinds and the runtime's
/// `unproducible_output`. Anything else is counted as `other`.
pub const DEAD_LETTER_KINDS: &[&str] = &[
    // hl7::ParseErrorKind
    "empty",
    "missing_msh",
    "bad_delimiters",
    "truncated_msh",
    "bad_segment_id",
    "multiple_messages",
    "batch_envelope",
    "too_large",
    // adt::AdtError
    "missing_message_type",
    "not_adt",
    "missing_trigger",
    // pipeline poison
    "missing_patient_id",
    "key_mismatch",
    "discharge_before_admit",
    "missing_discharge_time",
    "missing_visit",
    "unscorable_discharge",
    "feature_out_of_range",
    // runtime
    "unproducible_output",
];

/// Risk tiers (as `alerts::Tier::as_str`).
pub const TIERS: &[&str] = &["low", "moderate", "high"];

/// Dead-letter kind the runtime uses when an output could never be produced.
pub const UNPRODUCIBLE_OUTPUT: &str = "unproducible_output";

/// A pipeline stage timed by [`STAGE_DURATION_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// HL7 parse.
    Parse,
    /// Typed ADT event build and history update.
    Adt,
    /// Feature extraction.
    Features,
    /// Model scoring.
    Score,
    /// Producing outputs until acknowledged.
    Publish,
}

impl Stage {
    /// Every stage.
    pub const ALL: [Stage; 5] = [
        Stage::Parse,
        Stage::Adt,
        Stage::Features,
        Stage::Score,
        Stage::Publish,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Adt => "adt",
            Stage::Features => "features",
            Stage::Score => "score",
            Stage::Publish => "publish",
        }
    }
}

/// `value` if it is in `set`, else `other`.
pub(crate) fn closed<'a>(value: &str, set: &[&'a str]) -> &'a str {
    set.iter().find(|s| **s == value).copied().unwrap_or(OTHER)
}

/// The `trigger` label: `A01`..`A60` as given (upper-cased), `other` for any other code,
/// `unparsed` when there is none.
pub fn trigger_label(trigger: Option<&str>) -> &'static str {
    const CODES: [&str; 60] = [
        "A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A09", "A10", "A11", "A12", "A13",
        "A14", "A15", "A16", "A17", "A18", "A19", "A20", "A21", "A22", "A23", "A24", "A25", "A26",
        "A27", "A28", "A29", "A30", "A31", "A32", "A33", "A34", "A35", "A36", "A37", "A38", "A39",
        "A40", "A41", "A42", "A43", "A44", "A45", "A46", "A47", "A48", "A49", "A50", "A51", "A52",
        "A53", "A54", "A55", "A56", "A57", "A58", "A59", "A60",
    ];
    let Some(code) = trigger.map(str::trim) else {
        return UNPARSED;
    };
    if code.is_empty() {
        return UNPARSED;
    }
    CODES
        .iter()
        .find(|c| c.eq_ignore_ascii_case(code))
        .copied()
        .unwrap_or(OTHER)
}
