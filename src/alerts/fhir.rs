//! The alert as a FHIR R4 RiskAssessment (DOMAIN.md §5.5), for collaboratives configured with
//! `format = "fhir"`.
//!
//! `status` is `final` for a first score, `amended` for a re-score and `entered-in-error` for a
//! retraction. The probability is sent as a decimal between 0 and 1 and `note` says so (R4's
//! invariant ras-2 reads it as a percentage; receivers disagree, so we state the unit).

use serde_json::{json, Value};

use super::{Alert, AlertKind, Tier};

/// Identifier system of readmit's alert IDs.
pub const ALERT_ID_SYSTEM: &str = "urn:readmit:alert-id";
/// Identifier system of patient pseudonyms.
pub const PSEUDONYM_SYSTEM: &str = "urn:readmit:patient-pseudonym";
/// FHIR's risk-probability code system.
pub const RISK_PROBABILITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/risk-probability";

/// Renders an alert as a RiskAssessment resource.
pub fn risk_assessment(alert: &Alert) -> Value {
    let status = match alert.kind {
        AlertKind::Discharge => "final",
        AlertKind::Update => "amended",
        AlertKind::Retraction => "entered-in-error",
    };
    let mut subject_identifier = json!({
        "system": PSEUDONYM_SYSTEM,
        "value": alert.patient.pseudonym,
    });
    if let (Some(mrn), Some(authority)) = (&alert.patient.mrn, &alert.patient.assigning_authority) {
        subject_identifier = json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            "system": format!("urn:readmit:assigning-authority:{authority}"),
            "value": mrn,
        });
    }
    let mut resource = json!({
        "resourceType": "RiskAssessment",
        "identifier": [{"system": ALERT_ID_SYSTEM, "value": alert.alert_id}],
        "status": status,
        "code": {"text": "30-day unplanned readmission risk"},
        "subject": {"identifier": subject_identifier},
        "method": {"text": alert.model_version},
        "performer": {"display": "readmit"},
    });
    if let Some(at) = &alert.discharged_at {
        resource["occurrenceDateTime"] = json!(at);
    }
    if let (Some(p), Some(tier)) = (alert.probability, alert.tier) {
        let qualitative = match tier {
            Tier::Low => "low",
            Tier::Moderate => "moderate",
            Tier::High => "high",
        };
        let mut prediction = json!({
            "outcome": {"text": "unplanned readmission within 30 days"},
            "probabilityDecimal": p,
            "qualitativeRisk": {"coding": [{"system": RISK_PROBABILITY_SYSTEM, "code": qualitative}]},
            "rationale": alert.reasons.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("; "),
        });
        if let Some(at) = &alert.discharged_at {
            prediction["whenPeriod"] = json!({"start": at});
        }
        resource["prediction"] = json!([prediction]);
        resource["mitigation"] = json!(alert
            .interventions
            .iter()
            .map(|i| match &i.due_by {
                Some(due) => format!("{} (due {due})", i.action),
                None => i.action.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "));
    }
    resource["note"] = json!([{
        "text": "probabilityDecimal is a probability between 0 and 1, not a percentage."
    }]);
    resource
}

#[cfg(test)]
mod tests {
    use super::super::{Intervention, PatientRef, Reason, ALERT_SCHEMA_VERSION};
    use super::*;

    fn alert(kind: AlertKind) -> Alert {
        Alert {
            schema_version: ALERT_SCHEMA_VERSION,
            alert_id: "0f".repeat(16),
            kind,
            probability: (kind != AlertKind::Retraction).then_some(0.42),
            tier: (kind != AlertKind::Retraction).then_some(Tier::High),
            reasons: vec![Reason {
                code: "ama".into(),
                text: "discharged against medical advice".into(),
            }],
            interventions: vec![Intervention {
                code: "call_48h".into(),
                action: "Phone call within 48 hours".into(),
                due_by: Some("2026-11-22T14:05".into()),
            }],
            facility: Some("NORTH".into()),
            discharged_at: Some("2026-11-20T14:05".into()),
            disposition: None,
            model_version: "readmit-lr-v1".into(),
            collaborative: "north".into(),
            patient: PatientRef {
                pseudonym: "ab".repeat(16),
                mrn: None,
                assigning_authority: None,
                zip: None,
            },
        }
    }

    #[test]
    fn status_follows_the_alert_kind() {
        assert_eq!(
            risk_assessment(&alert(AlertKind::Discharge))["status"],
            "final"
        );
        assert_eq!(
            risk_assessment(&alert(AlertKind::Update))["status"],
            "amended"
        );
        let r = risk_assessment(&alert(AlertKind::Retraction));
        assert_eq!(r["status"], "entered-in-error");
        assert!(r.get("prediction").is_none());
    }

    #[test]
    fn prediction_carries_probability_tier_and_reasons() {
        let r = risk_assessment(&alert(AlertKind::Discharge));
        assert_eq!(r["resourceType"], "RiskAssessment");
        assert_eq!(r["identifier"][0]["value"], "0f".repeat(16));
        let p = &r["prediction"][0];
        assert_eq!(p["probabilityDecimal"], 0.42);
        assert_eq!(p["qualitativeRisk"]["coding"][0]["code"], "high");
        assert_eq!(p["rationale"], "discharged against medical advice");
        assert_eq!(r["subject"]["identifier"]["system"], PSEUDONYM_SYSTEM);
        assert!(r["mitigation"]
            .as_str()
            .unwrap()
            .contains("due 2026-11-22T14:05"));
    }
}
