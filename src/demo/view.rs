//! What `readmit demo` prints: one line per alert (tier, probability, top reasons,
//! collaborative, pseudonym — never an MRN, name or ZIP), the periodic summary line and the
//! final summary. Pure formatting, so it is unit-tested without Kafka.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::alerts::{Alert, Tier};

/// How many reasons an alert line shows.
pub const REASONS_SHOWN: usize = 2;

/// One alert as a single line. Only the pseudonym identifies the patient; the MRN, assigning
/// authority and ZIP the alert may carry for an entitled collaborative are never printed.
pub fn alert_line(alert: &Alert, color: bool) -> String {
    let tier = alert.tier.map(Tier::as_str).unwrap_or("-");
    let tier_text = if color {
        let code = match alert.tier {
            Some(Tier::High) => "31",
            Some(Tier::Moderate) => "33",
            _ => "0",
        };
        format!("\x1b[1;{code}m{tier:<8}\x1b[0m")
    } else {
        format!("{tier:<8}")
    };
    let probability = alert
        .probability
        .map(|p| format!("{p:.2}"))
        .unwrap_or_else(|| "-".into());
    let reasons: Vec<&str> = alert
        .reasons
        .iter()
        .take(REASONS_SHOWN)
        .map(|r| r.text.as_str())
        .collect();
    let reasons = if reasons.is_empty() {
        "-".to_string()
    } else {
        reasons.join("; ")
    };
    format!(
        "ALERT {tier_text} p={probability} -> {:<10} patient {}  {}",
        alert.collaborative, alert.patient.pseudonym, reasons
    )
}

/// Live counters of the demo, updated from the watched topics and the runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// Messages the simulator handed to Kafka.
    pub produced: u64,
    /// Messages the processor consumed (metric `readmit_messages_consumed_total`).
    pub consumed: u64,
    /// Risk-score records seen (one per scored discharge, update or retraction).
    pub scored: u64,
    /// Alerts seen per tier (`low`, `moderate`, `high`), routed alerts only.
    pub alerts_by_tier: BTreeMap<String, u64>,
    /// Alerts seen on the unrouted topic.
    pub unrouted: u64,
    /// Dead letters seen.
    pub dead_letters: u64,
}

impl Live {
    /// The periodic one-line summary. `p99` is the end-to-end latency estimate in seconds.
    pub fn line(&self, elapsed_s: f64, p99: Option<f64>) -> String {
        let tiers: Vec<String> = ["high", "moderate", "low"]
            .iter()
            .filter_map(|t| self.alerts_by_tier.get(*t).map(|n| format!("{t} {n}")))
            .collect();
        let alerts = if tiers.is_empty() {
            "0".to_string()
        } else {
            tiers.join(", ")
        };
        format!(
            "[{elapsed_s:>5.0}s] produced {} | consumed {} | discharges scored {} | routed alerts {} | unrouted {} | DLQ {} | p99 e2e {}",
            self.produced,
            self.consumed,
            self.scored,
            alerts,
            self.unrouted,
            self.dead_letters,
            seconds(p99)
        )
    }
}

/// A latency in seconds as milliseconds text, `-` when unknown.
pub fn seconds(s: Option<f64>) -> String {
    match s {
        Some(s) => format!("{:.0} ms", s * 1_000.0),
        None => "-".into(),
    }
}

/// Everything the final summary reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Final {
    /// Messages the simulator handed to Kafka.
    pub produced: u64,
    /// Messages consumed by the processor (metric).
    pub consumed: u64,
    /// Messages that reached a final outcome (RunSummary).
    pub completed: u64,
    /// Completed messages per outcome.
    pub outcomes: BTreeMap<String, u64>,
    /// Alerts published per (collaborative, tier), from the metrics.
    pub alerts: BTreeMap<(String, String), u64>,
    /// Inputs sent to the dead-letter topic.
    pub dead_lettered: u64,
    /// Messages still in flight at the drain deadline (redelivered on a restart).
    pub abandoned: u64,
    /// End-to-end latency p50 / p99 estimates, seconds.
    pub p50: Option<f64>,
    /// See `p50`.
    pub p99: Option<f64>,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
}

impl Final {
    /// Discharges scored: messages whose outcome is `alerted` or `scored`.
    pub fn discharges_scored(&self) -> u64 {
        ["alerted", "scored"]
            .iter()
            .map(|o| self.outcomes.get(*o).copied().unwrap_or(0))
            .sum()
    }

    /// Alerts per tier over all collaboratives (unrouted included).
    pub fn alerts_by_tier(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for ((_, tier), n) in &self.alerts {
            *m.entry(tier.clone()).or_insert(0) += n;
        }
        m
    }

    /// Alerts per collaborative over all tiers (`unrouted` included).
    pub fn alerts_by_collaborative(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for ((c, _), n) in &self.alerts {
            *m.entry(c.clone()).or_insert(0) += n;
        }
        m
    }

    /// The final summary, several lines.
    pub fn render(&self) -> String {
        let list = |m: &BTreeMap<String, u64>| -> String {
            let v: Vec<String> = m
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            if v.is_empty() {
                "none".into()
            } else {
                v.join(", ")
            }
        };
        let outcome_sum: u64 = self.outcomes.values().sum();
        let alerts_total: u64 = self.alerts.values().sum();
        let mut s = String::new();
        let _ = writeln!(s, "== readmit demo summary ({:.1} s) ==", self.elapsed_s);
        let _ = writeln!(s, "messages produced:   {}", self.produced);
        let _ = writeln!(
            s,
            "messages consumed:   {} ({} completed = sum of outcomes {})",
            self.consumed, self.completed, outcome_sum
        );
        let _ = writeln!(s, "outcomes:            {}", list(&self.outcomes));
        let _ = writeln!(s, "discharges scored:   {}", self.discharges_scored());
        let _ = writeln!(
            s,
            "alerts:              {alerts_total} by tier: {}",
            list(&self.alerts_by_tier())
        );
        let _ = writeln!(
            s,
            "alerts by collaborative: {}",
            list(&self.alerts_by_collaborative())
        );
        let _ = writeln!(s, "dead-lettered (DLQ): {}", self.dead_lettered);
        if self.abandoned > 0 || self.consumed != self.completed {
            let _ = writeln!(
                s,
                "in flight at stop:   {} (not completed; a restart would process them again)",
                self.consumed.saturating_sub(self.completed)
            );
        }
        let _ = writeln!(
            s,
            "end-to-end latency:  p50 {} / p99 {} (histogram estimate)",
            seconds(self.p50),
            seconds(self.p99)
        );
        s
    }
}

/// The `q` quantile (0–1) of a cumulative Prometheus histogram given as (upper bound,
/// cumulative count) pairs in ascending order, by linear interpolation inside the bucket.
/// `None` without observations.
pub fn histogram_quantile(q: f64, buckets: &[(f64, u64)], total: u64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut lower_bound = 0.0;
    let mut lower_count = 0u64;
    for &(upper, count) in buckets {
        if count as f64 >= rank {
            let in_bucket = (count - lower_count) as f64;
            let fraction = if in_bucket > 0.0 {
                (rank - lower_count as f64) / in_bucket
            } else {
                0.0
            };
            return Some(lower_bound + (upper - lower_bound) * fraction.clamp(0.0, 1.0));
        }
        lower_bound = upper;
        lower_count = count;
    }
    // Above the last finite bucket: report its bound.
    Some(lower_bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{AlertKind, PatientRef, Reason};

    fn alert() -> Alert {
        Alert {
            schema_version: 1,
            alert_id: "0".repeat(32),
            kind: AlertKind::Discharge,
            probability: Some(0.4321),
            tier: Some(Tier::High),
            reasons: vec![
                Reason {
                    code: "prior_inpatient".into(),
                    text: "2 inpatient admissions in the prior year".into(),
                },
                Reason {
                    code: "los".into(),
                    text: "long stay".into(),
                },
                Reason {
                    code: "third".into(),
                    text: "third reason".into(),
                },
            ],
            interventions: vec![],
            facility: Some("SIM_NORTH".into()),
            discharged_at: None,
            disposition: None,
            model_version: "m".into(),
            collaborative: "chesapeake".into(),
            patient: PatientRef {
                pseudonym: "ab".repeat(16),
                mrn: Some("MRN123456".into()),
                assigning_authority: Some("READMIT_SIM".into()),
                zip: Some("21201".into()),
            },
        }
    }

    #[test]
    fn alert_lines_show_the_pseudonym_and_never_mrn_or_zip() {
        let line = alert_line(&alert(), false);
        assert_eq!(
            line,
            format!(
                "ALERT high     p=0.43 -> chesapeake patient {}  2 inpatient admissions in the prior year; long stay",
                "ab".repeat(16)
            )
        );
        for secret in ["MRN123456", "READMIT_SIM", "21201"] {
            assert!(!line.contains(secret), "{line}");
        }
        assert!(alert_line(&alert(), true).contains("\x1b[1;31m"));
    }

    #[test]
    fn final_summary_adds_up() {
        let f = Final {
            consumed: 10,
            completed: 10,
            outcomes: [
                ("alerted", 3),
                ("scored", 4),
                ("history_only", 2),
                ("dead_lettered", 1),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            alerts: [(("north", "high"), 2), (("unrouted", "moderate"), 1)]
                .into_iter()
                .map(|((c, t), v)| ((c.to_string(), t.to_string()), v))
                .collect(),
            dead_lettered: 1,
            ..Final::default()
        };
        assert_eq!(f.discharges_scored(), 7);
        assert_eq!(f.alerts_by_tier().get("high"), Some(&2));
        assert_eq!(f.alerts_by_collaborative().get("unrouted"), Some(&1));
        let text = f.render();
        assert!(text.contains("10 completed = sum of outcomes 10"), "{text}");
        assert!(text.contains("discharges scored:   7"), "{text}");
        assert!(text.contains("alerts:              3 by tier: high 2, moderate 1"));
        assert!(!text.contains("in flight"), "{text}");
    }

    #[test]
    fn quantiles_interpolate_inside_buckets() {
        let buckets = [(0.01, 0), (0.1, 50), (1.0, 100)];
        assert_eq!(histogram_quantile(0.5, &buckets, 100), Some(0.1));
        let p99 = histogram_quantile(0.99, &buckets, 100).unwrap();
        assert!((p99 - 0.982).abs() < 1e-9, "{p99}");
        assert_eq!(histogram_quantile(0.5, &buckets, 0), None);
        assert_eq!(histogram_quantile(0.99, &[(0.01, 0)], 5), Some(0.01));
    }
}

#[cfg(test)]
mod live_line_tests {
    use super::*;

    #[test]
    fn the_live_line_says_its_tier_counts_are_routed_alerts_and_counts_unrouted_apart() {
        let live = Live {
            produced: 100,
            consumed: 99,
            scored: 48,
            alerts_by_tier: [("moderate".to_string(), 7), ("high".to_string(), 1)]
                .into_iter()
                .collect(),
            unrouted: 15,
            dead_letters: 1,
        };
        assert_eq!(
            live.line(9.0, Some(0.05)),
            "[    9s] produced 100 | consumed 99 | discharges scored 48 | routed alerts high 1, \
             moderate 7 | unrouted 15 | DLQ 1 | p99 e2e 50 ms"
        );
    }
}
