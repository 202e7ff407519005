//! The records the pipeline publishes besides alerts: the risk-score audit trail and observed
//! outcomes. Both are JSON with a schema version and keyed by alert ID.

use serde::{Deserialize, Serialize};

use crate::alerts::{AlertKind, Reason, Tier};

/// Version of the risk-score and outcome record schemas.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// Where the input came from (no content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Input topic.
    pub topic: String,
    /// Input partition.
    pub partition: i32,
    /// Input offset.
    pub offset: i64,
    /// MSH-10 of the message (sender-generated, not patient-derived).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_id: Option<String>,
}

/// One record per scored discharge, update and retraction, every tier: the audit trail. It is
/// an internal topic of the hospital's own cluster, so it carries the visit number (needed to
/// reconcile with the EHR); it never goes to a collaborative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskScoreRecord {
    /// Schema version.
    pub schema_version: u32,
    /// Stable alert ID of the discharge.
    pub alert_id: String,
    /// Discharge, update or retraction.
    pub kind: AlertKind,
    /// Calibrated probability (absent on retractions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Tier (absent on retractions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Top reasons.
    pub reasons: Vec<Reason>,
    /// Model version.
    pub model_version: String,
    /// Feature schema version.
    pub feature_schema_version: u32,
    /// Feature values in schema order (names in the model artifact); empty on retractions.
    pub features: Vec<f64>,
    /// LACE index of the stay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lace: Option<u32>,
    /// Sending facility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// PV1-19 visit number of the index stay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visit_number: Option<String>,
    /// Discharge time, ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discharged_at: Option<String>,
    /// Patient pseudonym.
    pub patient: String,
    /// Collaboratives alerted (empty when none subscribed to the tier; `unrouted` when no
    /// rule matched).
    pub collaboratives: Vec<String>,
    /// Input the record came from.
    pub source: Source,
}

/// What was observed after a scored discharge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// An inpatient admission started within 30 days of the discharge.
    Readmitted,
    /// The admission that counted as a readmission was cancelled (A11): disregard it.
    ReadmissionCancelled,
}

/// An observed outcome of a scored discharge: the start of live model monitoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// Schema version.
    pub schema_version: u32,
    /// The discharge's alert ID.
    pub alert_id: String,
    /// What was observed.
    pub kind: OutcomeKind,
    /// Whole days from discharge to the readmission.
    pub days_to_readmission: u32,
    /// Tier at discharge.
    pub tier_at_discharge: Tier,
    /// Probability at discharge.
    pub probability_at_discharge: f64,
    /// Input the observation came from.
    pub source: Source,
}
