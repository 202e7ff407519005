//! Care-transition alerts: what a collaborative's coordinators receive about a discharge.
//!
//! An [`Alert`] carries the risk (calibrated probability, tier, top reasons), the recommended
//! interventions with due times computed from the discharge time, the facility, disposition and
//! model version, and a patient pseudonym. Identifiers beyond the pseudonym appear only when the
//! receiving collaborative is entitled to them ([`routing::Collaborative`]). Every alert about one
//! discharge carries the same [`Alert::alert_id`] (also the Kafka key), so receivers can drop
//! duplicates of the at-least-once delivery, and `update` / `retraction` alerts point at it.
//!
//! JSON is the default encoding; [`fhir::risk_assessment`] renders the same alert as a FHIR R4
//! RiskAssessment for collaboratives configured with `format = "fhir"`.

pub mod fhir;
pub mod pseudonym;
pub mod routing;

use serde::{Deserialize, Serialize};

pub use pseudonym::{alert_id_hex, PseudonymError, Pseudonymizer};
pub use routing::{AlertFormat, Collaborative, Routing, Rule};

/// Version of the alert JSON schema; bumped on any incompatible change.
pub const ALERT_SCHEMA_VERSION: u32 = 1;

/// Initial capacity of an encoded alert: a high-tier alert with three reasons and five
/// interventions is about 1.2 KiB.
const TYPICAL_ALERT_BYTES: usize = 1536;

/// Risk tier of a scored discharge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Below the cohort's base rate.
    Low,
    /// Between the base rate and the high threshold.
    Moderate,
    /// The highest-risk band (top decile of training predictions by default).
    High,
}

impl Tier {
    /// Lowercase name, as in JSON and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Moderate => "moderate",
            Tier::High => "high",
        }
    }

    /// The tier's index (0 low … 2 high), as stored in state.
    pub fn index(self) -> u8 {
        self as u8
    }

    /// The tier of an index; anything above 2 is high.
    pub fn from_index(i: u8) -> Tier {
        match i {
            0 => Tier::Low,
            1 => Tier::Moderate,
            _ => Tier::High,
        }
    }
}

/// What an alert says about its discharge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    /// First score of a discharge (A03).
    Discharge,
    /// The discharge was re-scored after an update (A08) changed its features.
    Update,
    /// The discharge was cancelled (A13): disregard the earlier alert.
    Retraction,
}

/// One recommended action with its due time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intervention {
    /// Stable code, e.g. `call_48h`.
    pub code: String,
    /// What to do, in plain words.
    pub action: String,
    /// When it is due (discharge time + the configured hours), ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_by: Option<String>,
}

/// A recommended action as configured: code, text, and hours after discharge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterventionRule {
    /// Stable code.
    pub code: String,
    /// What to do.
    pub action: String,
    /// Due this many hours after discharge.
    pub due_hours: u32,
    /// Skip when the patient already goes home with home health (UB-04 disposition 06).
    #[serde(default)]
    pub unless_home_health: bool,
}

/// Interventions per tier (configurable; defaults follow DOMAIN.md §5.3: CMS TCM, Project RED,
/// BOOST and the Care Transitions Intervention). A configuration that lists one tier replaces
/// that tier's list; the tiers it leaves out keep their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Interventions {
    /// For low-risk discharges.
    pub low: Vec<InterventionRule>,
    /// For moderate-risk discharges.
    pub moderate: Vec<InterventionRule>,
    /// For high-risk discharges.
    pub high: Vec<InterventionRule>,
}

fn rule(code: &str, action: &str, due_hours: u32) -> InterventionRule {
    InterventionRule {
        code: code.into(),
        action: action.into(),
        due_hours,
        unless_home_health: false,
    }
}

impl Default for Interventions {
    fn default() -> Self {
        Self {
            low: vec![
                rule("notify_pcp", "Send the standard discharge notification to the primary-care provider or post-acute provider", 24),
                rule("discharge_plan", "Confirm the patient has a written discharge plan", 24),
            ],
            moderate: vec![
                rule("call_2_business_days", "Phone contact within 2 business days", 72),
                rule("pharmacist_call", "Pharmacist call 2-4 days after discharge", 96),
                rule("pcp_visit_14d", "Primary-care visit within 14 days", 14 * 24),
                rule("med_rec_by_visit", "Medication reconciliation by the primary-care visit", 14 * 24),
            ],
            high: vec![
                rule("call_48h", "Phone call within 48 hours", 48),
                rule("coach_home_visit", "Transition-coach home visit 48-72 hours after discharge, then weekly calls for 4 weeks", 72),
                rule("pcp_visit_7d", "Primary-care visit within 7 days", 7 * 24),
                rule("pharmacist_med_rec", "Pharmacist medication reconciliation", 72),
                InterventionRule {
                    unless_home_health: true,
                    ..rule("home_health_review", "Review need for a home-health referral", 48)
                },
            ],
        }
    }
}

impl Interventions {
    /// The configured rules for a tier.
    pub fn for_tier(&self, tier: Tier) -> &[InterventionRule] {
        match tier {
            Tier::Low => &self.low,
            Tier::Moderate => &self.moderate,
            Tier::High => &self.high,
        }
    }

    /// The interventions for a discharge, due times computed from the discharge time.
    pub fn plan(
        &self,
        tier: Tier,
        discharged_at: Option<&EventTime>,
        home_health: bool,
    ) -> Vec<Intervention> {
        self.for_tier(tier)
            .iter()
            .filter(|r| !(r.unless_home_health && home_health))
            .map(|r| Intervention {
                code: r.code.clone(),
                action: r.action.clone(),
                due_by: discharged_at.map(|t| t.plus_minutes(i64::from(r.due_hours) * 60).iso()),
            })
            .collect()
    }
}

/// A point in time on the sender's clock: minutes since 1970-01-01 of the local time, and the
/// UTC offset when the message said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTime {
    /// Local minutes since the epoch.
    pub local_minutes: i64,
    /// Offset from UTC in minutes, when known.
    pub offset_minutes: Option<i16>,
}

impl EventTime {
    /// This time plus some minutes.
    pub fn plus_minutes(self, minutes: i64) -> Self {
        Self {
            local_minutes: self.local_minutes + minutes,
            ..self
        }
    }

    /// ISO 8601 (`2026-11-20T14:05` plus `-05:00` when the offset is known).
    ///
    /// Written digit by digit: an alert carries several of these (event time, due dates) and
    /// `format!` made them a tenth of the in-memory pipeline's time per discharge.
    pub fn iso(&self) -> String {
        let days = self.local_minutes.div_euclid(1440);
        let minute_of_day = self.local_minutes.rem_euclid(1440);
        let (y, m, d) = civil_from_days(days);
        let mut out = String::with_capacity(22);
        match u32::try_from(y) {
            Ok(y) if y <= 9999 => {
                push_2digits(&mut out, y / 100);
                push_2digits(&mut out, y % 100);
            }
            _ => out.push_str(&format!("{y:04}")),
        }
        out.push('-');
        push_2digits(&mut out, m);
        out.push('-');
        push_2digits(&mut out, d);
        out.push('T');
        // 0 ≤ minute_of_day < 1440.
        let minute_of_day = minute_of_day as u32;
        push_2digits(&mut out, minute_of_day / 60);
        out.push(':');
        push_2digits(&mut out, minute_of_day % 60);
        if let Some(off) = self.offset_minutes {
            out.push(if off < 0 { '-' } else { '+' });
            let off = u32::from(off.unsigned_abs());
            if off / 60 < 100 {
                push_2digits(&mut out, off / 60);
            } else {
                out.push_str(&(off / 60).to_string());
            }
            out.push(':');
            push_2digits(&mut out, off % 60);
        }
        out
    }
}

/// Appends `v` (< 100) as two digits.
fn push_2digits(out: &mut String, v: u32) {
    out.push(char::from(b'0' + (v / 10 % 10) as u8));
    out.push(char::from(b'0' + (v % 10) as u8));
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A reason the model gave, in plain words, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable machine code (e.g. `prior_inpatient`).
    pub code: String,
    /// Plain words for a coordinator (e.g. "2 inpatient admissions in the prior year").
    pub text: String,
}

/// Patient identity in an alert: always the pseudonym; MRN and ZIP only when entitled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientRef {
    /// HMAC pseudonym of authority + MRN.
    pub pseudonym: String,
    /// MRN, only for collaboratives with `receives_mrn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mrn: Option<String>,
    /// Assigning authority of the MRN, only with the MRN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigning_authority: Option<String>,
    /// ZIP code: 5 digits for collaboratives with `receives_zip`, else the first 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
}

/// One care-transition alert (schema [`ALERT_SCHEMA_VERSION`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// Stable ID of the discharge's alerts (32 hex characters); also the Kafka key.
    pub alert_id: String,
    /// Discharge, update or retraction.
    pub kind: AlertKind,
    /// Calibrated 30-day readmission probability (0–1); absent on retractions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Risk tier; absent on retractions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Top contributing factors.
    pub reasons: Vec<Reason>,
    /// Recommended actions with due times.
    pub interventions: Vec<Intervention>,
    /// Discharging facility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// Discharge time, ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discharged_at: Option<String>,
    /// Discharge disposition in plain words, with its UB-04 code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// Version of the model that scored it.
    pub model_version: String,
    /// The receiving collaborative (`unrouted` when no rule matched).
    pub collaborative: String,
    /// Who the alert is about.
    pub patient: PatientRef,
}

impl Alert {
    /// The alert as one line of JSON.
    pub fn to_json(&self) -> Vec<u8> {
        // Sized once for a typical alert (about 1 KiB with a high-tier plan), so serialising
        // does not regrow the buffer from 128 bytes through several copies.
        let mut out = Vec::with_capacity(TYPICAL_ALERT_BYTES);
        self.write_json(&mut out);
        out
    }

    /// Appends the alert as one line of JSON to `out` (a caller may reuse one buffer).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // A struct of strings, numbers and vectors always serialises into a Vec.
        let _ = serde_json::to_writer(out, self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_with_and_without_offset() {
        // 2026-11-20 14:05 = day 20777 since the epoch.
        let t = EventTime {
            local_minutes: 20_777 * 1440 + 14 * 60 + 5,
            offset_minutes: Some(-300),
        };
        assert_eq!(t.iso(), "2026-11-20T14:05-05:00");
        let t2 = EventTime {
            offset_minutes: None,
            ..t.plus_minutes(48 * 60)
        };
        assert_eq!(t2.iso(), "2026-11-22T14:05");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // The digit-by-digit writer agrees with `format!` over years, days and offsets.
        for (minutes, offset) in [
            (0, Some(0)),
            (-1, Some(60)),
            (20_777 * 1440 + 23 * 60 + 59, Some(-(14 * 60))),
            (-719_528 * 1440, None),
            (2_932_896 * 1440 - 1, Some(5 * 60 + 30)),
            (3_000_000 * 1440, Some(-1)),
            (-800_000 * 1440, Some(i16::MIN)),
        ] {
            let t = EventTime {
                local_minutes: minutes,
                offset_minutes: offset,
            };
            let days = minutes.div_euclid(1440);
            let mod_day = minutes.rem_euclid(1440);
            let (y, m, d) = civil_from_days(days);
            let mut want = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}",
                mod_day / 60,
                mod_day % 60
            );
            if let Some(off) = offset {
                let sign = if off < 0 { '-' } else { '+' };
                let off = off.unsigned_abs();
                want.push_str(&format!("{sign}{:02}:{:02}", off / 60, off % 60));
            }
            assert_eq!(t.iso(), want);
        }
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn high_tier_plan_skips_home_health_review_when_already_home_health() {
        let i = Interventions::default();
        let t = EventTime {
            local_minutes: 20_777 * 1440,
            offset_minutes: None,
        };
        let with = i.plan(Tier::High, Some(&t), false);
        let without = i.plan(Tier::High, Some(&t), true);
        assert_eq!(with.len(), without.len() + 1);
        let call = with.iter().find(|x| x.code == "call_48h").unwrap();
        assert_eq!(call.due_by.as_deref(), Some("2026-11-22T00:00"));
    }

    #[test]
    fn alert_json_has_the_documented_keys_and_omits_unentitled_identifiers() {
        let alert = Alert {
            schema_version: ALERT_SCHEMA_VERSION,
            alert_id: "00".repeat(16),
            kind: AlertKind::Discharge,
            probability: Some(0.31),
            tier: Some(Tier::High),
            reasons: vec![Reason {
                code: "prior_inpatient".into(),
                text: "2 inpatient admissions in the prior year".into(),
            }],
            interventions: vec![],
            facility: Some("NORTH".into()),
            discharged_at: Some("2026-11-20T14:05".into()),
            disposition: Some("home (01)".into()),
            model_version: "readmit-lr-v1".into(),
            collaborative: "north".into(),
            patient: PatientRef {
                pseudonym: "ab".repeat(16),
                mrn: None,
                assigning_authority: None,
                zip: Some("212".into()),
            },
        };
        let v: serde_json::Value = serde_json::from_slice(&alert.to_json()).unwrap();
        for key in [
            "schema_version",
            "alert_id",
            "kind",
            "probability",
            "tier",
            "reasons",
            "interventions",
            "facility",
            "discharged_at",
            "disposition",
            "model_version",
            "collaborative",
            "patient",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["tier"], "high");
        assert_eq!(v["kind"], "discharge");
        assert!(v["patient"].get("mrn").is_none());
    }
}
