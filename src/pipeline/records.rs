//! The records the pipeline publishes besides alerts: the risk-score audit trail and observed
//! outcomes. Both are JSON with a schema version and keyed by alert ID.

use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

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
    /// Whole values (indicators, counts: most of them) are written as JSON integers (`1`,
    /// not `1.0`: the same JSON number), the rest as shortest round-trip decimals.
    #[serde(serialize_with = "serialize_whole_as_integers")]
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

/// Writes whole numbers below 2⁵³ as integers: float formatting of the ~115 feature values was
/// the largest single cost of encoding a risk-score record, and most of them are 0 or 1.
/// Deserialising into `f64` gives back the same values; other values are written as serde_json
/// writes an `f64` (non-finite ones as `null`).
///
/// (`serialize_with` helper of [`RiskScoreRecord::features`]; public for `benches/pipeline.rs`.)
pub fn serialize_whole_as_integers<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let mut seq = s.serialize_seq(Some(values.len()))?;
    for &v in values {
        if v.fract() == 0.0 && v.abs() < EXACT {
            // Whole and below 2^53: the cast is exact.
            seq.serialize_element(&(v as i64))?;
        } else {
            seq.serialize_element(&v)?;
        }
    }
    seq.end()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(features: Vec<f64>) -> RiskScoreRecord {
        RiskScoreRecord {
            schema_version: RECORD_SCHEMA_VERSION,
            alert_id: "a".into(),
            kind: AlertKind::Discharge,
            probability: Some(0.25),
            tier: Some(Tier::High),
            reasons: Vec::new(),
            model_version: "m".into(),
            feature_schema_version: 1,
            features,
            lace: None,
            facility: None,
            visit_number: None,
            discharged_at: None,
            patient: "p".into(),
            collaboratives: Vec::new(),
            source: Source {
                topic: "t".into(),
                partition: 0,
                offset: 1,
                control_id: None,
            },
        }
    }

    #[test]
    fn whole_feature_values_are_integers_and_every_value_round_trips() {
        let values = vec![
            0.0,
            1.0,
            -0.0,
            -3.0,
            42.0,
            0.5,
            1e-7,
            -2.75,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            1e300,
        ];
        let json = serde_json::to_string(&record(values.clone())).unwrap();
        assert!(
            json.contains(r#""features":[0,1,0,-3,42,0.5,1e-7,-2.75,9007199254740991,9007199254740992.0,1e+300]"#),
            "{json}"
        );
        let back: RiskScoreRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.features, values);
        // Any finite values round-trip exactly.
        proptest::proptest!(|(values in proptest::collection::vec(
            proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
            0..20,
        ), small in proptest::collection::vec(-1000i32..1000, 0..20))| {
            let mut values = values;
            values.extend(small.iter().map(|&n| f64::from(n)));
            let json = serde_json::to_string(&record(values.clone())).unwrap();
            let back: RiskScoreRecord = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(back.features, values);
        });
        // Non-finite values take the float path (serde_json writes null), as before.
        let json = serde_json::to_string(&record(vec![f64::NAN, f64::INFINITY])).unwrap();
        assert!(json.contains(r#""features":[null,null]"#), "{json}");
    }
}
