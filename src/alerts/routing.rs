//! Which collaborative hears about a discharge, what it is told to do, and what it may see.
//!
//! Rules are checked in order and the first that matches wins; a rule may name several
//! collaboratives, so one discharge can go to more than one. A rule's conditions are the
//! sending facility, the patient's ZIP code (exact or by prefix, e.g. `"212"` for a ZIP3 area)
//! and county (FIPS code). **A rule matches when every condition it lists matches** (any entry
//! of a list): `facilities = ["NORTH"], zips = ["212"]` is "NORTH's patients living in 212",
//! not "NORTH's patients, or anyone in 212". Either-or is two rules naming the same
//! collaboratives. (Until 2026-12-06 the conditions were or-ed, which sent a collaborative
//! entitled to MRNs the patients of its facilities who live outside its area.) A rule that
//! lists no condition matches nothing, so a catch-all rule says `facilities = ["*"]`. Each
//! collaborative subscribes to tiers and is entitled to a set of identifiers (by default only
//! the pseudonym).

use serde::{Deserialize, Serialize};

use super::Tier;

/// One routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Collaboratives this rule sends to (names as used in topic names).
    pub collaboratives: Vec<String>,
    /// Sending facilities (MSH-4 or PV1-3.4) that match; `"*"` matches any.
    #[serde(default)]
    pub facilities: Vec<String>,
    /// ZIP codes or ZIP prefixes that match.
    #[serde(default)]
    pub zips: Vec<String>,
    /// County codes (PID-11.9) that match.
    #[serde(default)]
    pub counties: Vec<String>,
}

impl Rule {
    /// Every listed condition matches (and at least one is listed).
    fn matches(&self, facility: Option<&str>, zip: Option<&str>, county: Option<&str>) -> bool {
        if self.facilities.is_empty() && self.zips.is_empty() && self.counties.is_empty() {
            return false;
        }
        let facility_ok = self.facilities.is_empty()
            || self
                .facilities
                .iter()
                .any(|f| f == "*" || Some(f.as_str()) == facility);
        let zip_ok = self.zips.is_empty()
            || zip.is_some_and(|z| {
                let z = z.trim();
                !z.is_empty() && self.zips.iter().any(|p| z.starts_with(p.as_str()))
            });
        let county_ok = self.counties.is_empty()
            || county.is_some_and(|c| self.counties.iter().any(|x| x == c.trim()));
        facility_ok && zip_ok && county_ok
    }
}

/// What a collaborative receives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Collaborative {
    /// Name, used in the topic `<alerts_prefix><name>`; lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// Tiers this collaborative wants alerts for (every discharge is still in the audit topic).
    #[serde(default = "default_tiers")]
    pub tiers: Vec<Tier>,
    /// Whether alerts carry the patient's MRN and assigning authority (only for a collaborative
    /// with a treatment relationship; by default only the pseudonym).
    #[serde(default)]
    pub receives_mrn: bool,
    /// Whether alerts carry the patient's ZIP code (by default only its first three digits).
    #[serde(default)]
    pub receives_zip: bool,
    /// Output format of this collaborative's alerts.
    #[serde(default)]
    pub format: AlertFormat,
}

fn default_tiers() -> Vec<Tier> {
    vec![Tier::Moderate, Tier::High]
}

/// How alerts are encoded for a collaborative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertFormat {
    /// readmit's own JSON alert (schema in [`super::Alert`]).
    #[default]
    Json,
    /// A FHIR R4 RiskAssessment resource.
    Fhir,
}

/// The routing table: collaboratives and the ordered rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// Known collaboratives.
    #[serde(default)]
    pub collaboratives: Vec<Collaborative>,
    /// Ordered rules; the first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// Problems in a routing table, each naming the setting.
pub fn validate(routing: &Routing, problems: &mut Vec<String>) {
    for (i, c) in routing.collaboratives.iter().enumerate() {
        let ok = !c.name.is_empty()
            && c.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            problems.push(format!(
                "alerts.routing.collaboratives[{i}].name must be non-empty lowercase letters, digits, '-' or '_'"
            ));
        }
        if c.name == "unrouted" {
            problems.push(format!(
                "alerts.routing.collaboratives[{i}].name 'unrouted' is reserved for alerts no rule matches"
            ));
        }
    }
    for (i, r) in routing.rules.iter().enumerate() {
        if r.collaboratives.is_empty() {
            problems.push(format!("alerts.routing.rules[{i}].collaboratives is empty"));
        }
        for name in &r.collaboratives {
            if !routing.collaboratives.iter().any(|c| &c.name == name) {
                problems.push(format!(
                    "alerts.routing.rules[{i}] names collaborative '{name}', which alerts.routing.collaboratives does not define"
                ));
            }
        }
        if r.facilities.is_empty() && r.zips.is_empty() && r.counties.is_empty() {
            problems.push(format!(
                "alerts.routing.rules[{i}] has no facilities, zips or counties, so it can never match"
            ));
        }
    }
}

impl Routing {
    /// The collaboratives of the first rule that matches, or an empty list (unrouted).
    pub fn route(
        &self,
        facility: Option<&str>,
        zip: Option<&str>,
        county: Option<&str>,
    ) -> Vec<&Collaborative> {
        self.rules
            .iter()
            .find(|r| r.matches(facility, zip, county))
            .map(|r| {
                r.collaboratives
                    .iter()
                    .filter_map(|name| self.collaboratives.iter().find(|c| &c.name == name))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collab(name: &str) -> Collaborative {
        Collaborative {
            name: name.into(),
            tiers: default_tiers(),
            receives_mrn: false,
            receives_zip: false,
            format: AlertFormat::Json,
        }
    }

    fn table() -> Routing {
        Routing {
            collaboratives: vec![collab("north"), collab("south"), collab("county-7")],
            rules: vec![
                Rule {
                    collaboratives: vec!["north".into()],
                    facilities: vec!["NORTH_GENERAL".into()],
                    zips: vec!["212".into()],
                    counties: vec![],
                },
                Rule {
                    collaboratives: vec!["south".into(), "county-7".into()],
                    facilities: vec![],
                    zips: vec![],
                    counties: vec!["24007".into()],
                },
            ],
        }
    }

    fn names(v: Vec<&Collaborative>) -> Vec<&str> {
        v.into_iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn a_rule_matches_only_when_every_condition_it_lists_matches() {
        let t = table();
        // Rule 0 lists a facility and a ZIP prefix: both must match.
        assert_eq!(
            names(t.route(Some("NORTH_GENERAL"), Some("21201"), None)),
            ["north"]
        );
        // NORTH_GENERAL's patient living elsewhere is not north's (it may see MRNs): the
        // next rule decides.
        assert!(t
            .route(Some("NORTH_GENERAL"), Some("44101"), None)
            .is_empty());
        assert!(t.route(Some("NORTH_GENERAL"), None, None).is_empty());
        assert_eq!(
            names(t.route(Some("NORTH_GENERAL"), Some("44101"), Some("24007"))),
            ["south", "county-7"]
        );
        // Someone in 212 sent by another facility is not north's either.
        assert!(t.route(Some("OTHER"), Some("21201"), None).is_empty());
        // A wildcard facility with a ZIP condition: anyone in the area.
        let mut any = t.clone();
        any.rules[0].facilities = vec!["*".into()];
        assert_eq!(
            names(any.route(Some("OTHER"), Some("21201"), None)),
            ["north"]
        );
        assert!(any.route(Some("OTHER"), Some("44101"), None).is_empty());
    }

    #[test]
    fn first_match_wins_and_a_rule_may_fan_out() {
        let t = table();
        assert_eq!(
            names(t.route(Some("NORTH_GENERAL"), Some("21201"), Some("24007"))),
            ["north"]
        );
        assert_eq!(
            names(t.route(Some("X"), Some("99999"), Some("24007"))),
            ["south", "county-7"]
        );
        assert!(t.route(Some("X"), Some("99999"), None).is_empty());
        assert!(
            t.route(None, Some(" "), None).is_empty(),
            "blank ZIP never matches"
        );
    }

    #[test]
    fn validation_names_the_bad_setting() {
        let mut t = table();
        t.rules[0].collaboratives.push("nobody".into());
        t.collaboratives.push(collab("Bad Name"));
        t.rules.push(Rule {
            collaboratives: vec!["north".into()],
            facilities: vec![],
            zips: vec![],
            counties: vec![],
        });
        let mut problems = Vec::new();
        validate(&t, &mut problems);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("collaboratives[3].name"));
        assert!(problems[1].contains("rules[0] names collaborative 'nobody'"));
        assert!(problems[2].contains("rules[2] has no facilities"));
    }
}
