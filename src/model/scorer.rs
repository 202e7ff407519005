//! Serving: the [`Scorer`] trait the pipeline holds (`Arc<dyn Scorer>`), and
//! [`LinearScorer`], a plain evaluation of the artifact's coefficients: one dot product, Platt
//! scaling, tier thresholds, and the top 3 reasons from per-feature contributions
//! `coefficient · (value − training mean)` summed per [`FeatureGroup`]. No allocation, no
//! sort: a fixed top-3 insertion over the 15 groups.

use std::fmt;

use crate::features::{feature_index, FeatureGroup, FeatureVector, FEATURES, N_FEATURES};

use super::artifact::Artifact;
use super::metrics::sigmoid;
use super::ModelError;

/// Scores one feature vector. Implementations are shared across partition tasks.
pub trait Scorer: Send + Sync {
    /// Calibrated probability, tier and reasons.
    fn score(&self, features: &FeatureVector) -> Result<Score, ModelError>;
    /// `<name>-v<version>` of the model, for alerts and metrics.
    fn model_id(&self) -> &str;
}

/// Risk tier (thresholds in the artifact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskTier {
    /// Below the training base rate.
    Low,
    /// Between the base rate and the top-decile cut-off.
    Moderate,
    /// Top decile of training predictions.
    High,
}

impl RiskTier {
    /// `low` / `moderate` / `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskTier::Low => "low",
            RiskTier::Moderate => "moderate",
            RiskTier::High => "high",
        }
    }
}

/// Machine code of a reason (one per [`FeatureGroup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReasonCode(pub FeatureGroup);

impl ReasonCode {
    /// Stable snake-case code, e.g. `prior_ed_visits`.
    pub fn as_str(self) -> &'static str {
        match self.0 {
            FeatureGroup::Age => "age",
            FeatureGroup::Sex => "sex",
            FeatureGroup::AdmissionType => "admission_type",
            FeatureGroup::AdmitSource => "admit_source",
            FeatureGroup::Disposition => "discharge_disposition",
            FeatureGroup::LengthOfStay => "length_of_stay",
            FeatureGroup::DiagnosisCount => "diagnosis_count",
            FeatureGroup::Procedures => "procedures",
            FeatureGroup::EdVisits => "prior_ed_visits",
            FeatureGroup::InpatientAdmissions => "prior_inpatient_admissions",
            FeatureGroup::OutpatientVisits => "prior_outpatient_visits",
            FeatureGroup::PrincipalDiagnosis => "principal_diagnosis",
            FeatureGroup::SecondaryDiagnoses => "secondary_diagnoses",
            FeatureGroup::Comorbidity => "comorbidity",
            FeatureGroup::Lace => "lace_index",
        }
    }
}

/// One contributing factor: the group, how much it raised the log-odds, and the value shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reason {
    /// What the reason is about.
    pub code: ReasonCode,
    /// Contribution to the linear predictor (log-odds, before calibration).
    pub contribution: f64,
    /// Count, days or score shown in the text; for categorical groups the index of the active
    /// category.
    pub value: f64,
}

fn plural(n: f64, one: &str, many: &str) -> String {
    let k = n.round() as i64;
    format!("{k} {}", if k == 1 { one } else { many })
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.value;
        let i = v.round() as usize;
        let text: String = match self.code.0 {
            FeatureGroup::Age => {
                let lo = i * 10;
                if lo >= 90 {
                    "age 90 or over".into()
                } else {
                    format!("age {lo}–{}", lo + 9)
                }
            }
            FeatureGroup::Sex => if i == 1 {
                "male sex"
            } else {
                "sex not recorded"
            }
            .into(),
            FeatureGroup::AdmissionType => [
                "emergency admission",
                "urgent admission",
                "elective admission",
                "admission type other or not recorded",
            ]
            .get(i)
            .copied()
            .unwrap_or("admission type")
            .into(),
            FeatureGroup::AdmitSource => [
                "admitted on referral",
                "transferred in from another facility",
                "admitted through the emergency room",
                "admit source other or not recorded",
            ]
            .get(i)
            .copied()
            .unwrap_or("admit source")
            .into(),
            FeatureGroup::Disposition => [
                "discharged home",
                "discharged home with home health",
                "discharged to a post-acute facility",
                "transferred to another hospital",
                "discharged against medical advice",
                "discharge disposition other or not recorded",
            ]
            .get(i)
            .copied()
            .unwrap_or("discharge disposition")
            .into(),
            FeatureGroup::LengthOfStay => format!("length of stay {}", plural(v, "day", "days")),
            FeatureGroup::DiagnosisCount => {
                format!("{} coded", plural(v, "diagnosis", "diagnoses"))
            }
            FeatureGroup::Procedures => {
                format!("{} during the stay", plural(v, "procedure", "procedures"))
            }
            FeatureGroup::EdVisits => {
                format!("{} in prior 6 months", plural(v, "ED visit", "ED visits"))
            }
            FeatureGroup::InpatientAdmissions => {
                format!(
                    "{} in prior 12 months",
                    plural(v, "inpatient admission", "inpatient admissions")
                )
            }
            FeatureGroup::OutpatientVisits => {
                format!(
                    "{} in prior 12 months",
                    plural(v, "outpatient visit", "outpatient visits")
                )
            }
            FeatureGroup::PrincipalDiagnosis => format!(
                "principal diagnosis {}",
                crate::features::icd::DxGroup::ALL
                    .get(i)
                    .map_or("other", |g| g.label())
            ),
            FeatureGroup::SecondaryDiagnoses => format!(
                "secondary {} diagnosis",
                crate::features::icd::DxGroup::ALL
                    .get(i)
                    .map_or("other", |g| g.label())
            ),
            FeatureGroup::Comorbidity => format!("Charlson comorbidity index {}", v.round() as i64),
            FeatureGroup::Lace => format!("LACE index {}", v.round() as i64),
        };
        f.write_str(&text)
    }
}

/// The result of scoring one discharge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Calibrated probability of readmission within 30 days.
    pub probability: f64,
    /// Risk tier.
    pub tier: RiskTier,
    /// Up to 3 factors that raised the risk most, largest first.
    pub reasons: [Option<Reason>; 3],
}

impl Score {
    /// The reasons present, largest first.
    pub fn reasons(&self) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().flatten()
    }
}

const N_GROUPS: usize = 15;
// Feature indices and group boundaries are stored as bytes.
const _: () = assert!(N_FEATURES <= u8::MAX as usize);

fn group_index(g: FeatureGroup) -> usize {
    g as usize
}

/// How to find the displayed value of a group in the feature vector.
#[derive(Debug, Clone, Copy)]
enum Shown {
    /// The value of one feature.
    Feature(usize),
    /// Index of the active one-hot feature in a run starting at `start` of length `len`.
    OneHot { start: usize, len: usize },
    /// Index (within the run) of the feature with the largest contribution.
    TopContribution { start: usize, len: usize },
}

/// Scores with the artifact's linear model.
#[derive(Debug, Clone)]
pub struct LinearScorer {
    artifact: Artifact,
    model_id: String,
    coefficients: [f64; N_FEATURES],
    means: [f64; N_FEATURES],
    /// Feature indices sorted by group, then by feature order.
    by_group: [u8; N_FEATURES],
    /// End of each group's run in `by_group`.
    group_ends: [u8; N_GROUPS],
    shown: [Shown; N_GROUPS],
}

fn idx(name: &str) -> Result<usize, ModelError> {
    feature_index(name).ok_or(ModelError::InvalidArtifact(
        "a feature needed for reasons is missing",
    ))
}

impl LinearScorer {
    /// Builds a scorer from a validated artifact.
    pub fn new(artifact: Artifact) -> Result<Self, ModelError> {
        artifact.validate()?;
        let mut coefficients = [0.0; N_FEATURES];
        let mut means = [0.0; N_FEATURES];
        coefficients.copy_from_slice(&artifact.linear.coefficients);
        means.copy_from_slice(&artifact.linear.means);
        let mut by_group = [0u8; N_FEATURES];
        let mut group_ends = [0u8; N_GROUPS];
        let mut n = 0usize;
        for (g, end) in group_ends.iter_mut().enumerate() {
            for (i, def) in FEATURES.iter().enumerate() {
                if group_index(def.group) == g {
                    by_group[n] = i as u8;
                    n += 1;
                }
            }
            *end = n as u8;
        }
        let one_hot = |first: &str, len| -> Result<Shown, ModelError> {
            Ok(Shown::OneHot {
                start: idx(first)?,
                len,
            })
        };
        let shown = [
            Shown::Feature(idx("age_decade")?),
            Shown::Feature(idx("sex_male")?),
            one_hot("adm_emergency", 4)?,
            one_hot("src_referral", 4)?,
            one_hot("disp_home", 6)?,
            Shown::Feature(idx("los_days")?),
            Shown::Feature(idx("n_diagnoses")?),
            Shown::Feature(idx("n_procedures")?),
            Shown::Feature(idx("ed_6m")?),
            Shown::Feature(idx("inpatient_12m")?),
            Shown::Feature(idx("outpatient_12m")?),
            one_hot("pdx_circulatory", 9)?,
            Shown::TopContribution {
                start: idx("sdx_circulatory")?,
                len: 9,
            },
            Shown::Feature(idx("charlson_index")?),
            Shown::Feature(idx("lace_score")?),
        ];
        let model_id = artifact.dir_name();
        Ok(Self {
            artifact,
            model_id,
            coefficients,
            means,
            by_group,
            group_ends,
            shown,
        })
    }

    /// Loads `model.json` (or its directory) and builds a scorer; refuses a schema mismatch.
    pub fn load(path: &std::path::Path) -> Result<Self, ModelError> {
        Self::new(Artifact::load(path)?)
    }

    /// The artifact this scorer evaluates.
    pub fn artifact(&self) -> &Artifact {
        &self.artifact
    }

    /// The uncalibrated linear predictor (log-odds).
    pub fn linear_predictor(&self, x: &[f64; N_FEATURES]) -> f64 {
        self.artifact.linear.intercept
            + x.iter()
                .zip(&self.coefficients)
                .map(|(a, b)| a * b)
                .sum::<f64>()
    }

    /// Calibrated probability.
    pub fn probability(&self, x: &[f64; N_FEATURES]) -> f64 {
        let c = self.artifact.calibration;
        sigmoid(c.a * self.linear_predictor(x) + c.b)
    }

    fn tier(&self, p: f64) -> RiskTier {
        let t = self.artifact.thresholds;
        if p >= t.high_at_or_above {
            RiskTier::High
        } else if p < t.low_below {
            RiskTier::Low
        } else {
            RiskTier::Moderate
        }
    }
}

impl Scorer for LinearScorer {
    fn score(&self, features: &FeatureVector) -> Result<Score, ModelError> {
        let x = features.values();
        let lp = self.linear_predictor(x);
        // Any non-finite input makes the predictor non-finite (NaN or ±inf propagate through
        // the products and the sum), so finite predictors need no per-feature check; the scan
        // names the first offending feature.
        if !lp.is_finite() {
            if let Some(i) = x.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::NonFinite(FEATURES[i].name));
            }
        }
        let c = self.artifact.calibration;
        let probability = sigmoid(c.a * lp + c.b);
        // Independent products (vectorised), then one in-register sum per group over the
        // group's features in feature order: the same additions as accumulating in feature
        // order, without a dependency chain through memory.
        let mut contrib = [0.0f64; N_FEATURES];
        for ((out, v), (coef, mean)) in contrib
            .iter_mut()
            .zip(x)
            .zip(self.coefficients.iter().zip(&self.means))
        {
            *out = coef * (v - mean);
        }
        let mut per_group = [0.0f64; N_GROUPS];
        let mut start = 0usize;
        for (sum, &end) in per_group.iter_mut().zip(&self.group_ends) {
            let end = usize::from(end);
            let mut acc = 0.0f64;
            for &i in self.by_group.get(start..end).unwrap_or_default() {
                acc += contrib[usize::from(i)];
            }
            *sum = acc;
            start = end;
        }
        let mut reasons: [Option<Reason>; 3] = [None; 3];
        for (g, &c) in per_group.iter().enumerate() {
            if c <= 0.0 {
                continue;
            }
            // Insert into the top-3 list, largest first.
            let mut pos = reasons.len();
            for (k, r) in reasons.iter().enumerate() {
                if r.is_none_or(|r| c > r.contribution) {
                    pos = k;
                    break;
                }
            }
            if pos == reasons.len() {
                continue;
            }
            let value = match self.shown[g] {
                Shown::Feature(i) => x[i],
                Shown::OneHot { start, len } => {
                    (0..len).find(|&k| x[start + k] > 0.5).unwrap_or(len - 1) as f64
                }
                Shown::TopContribution { start, len } => (0..len)
                    .max_by(|&a, &b| contrib[start + a].total_cmp(&contrib[start + b]))
                    .unwrap_or(0) as f64,
            };
            let reason = Reason {
                code: ReasonCode(FEATURES_GROUP_BY_INDEX[g]),
                contribution: c,
                value,
            };
            for k in (pos + 1..reasons.len()).rev() {
                reasons[k] = reasons[k - 1];
            }
            reasons[pos] = Some(reason);
        }
        Ok(Score {
            probability,
            tier: self.tier(probability),
            reasons,
        })
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }
}

const FEATURES_GROUP_BY_INDEX: [FeatureGroup; N_GROUPS] = [
    FeatureGroup::Age,
    FeatureGroup::Sex,
    FeatureGroup::AdmissionType,
    FeatureGroup::AdmitSource,
    FeatureGroup::Disposition,
    FeatureGroup::LengthOfStay,
    FeatureGroup::DiagnosisCount,
    FeatureGroup::Procedures,
    FeatureGroup::EdVisits,
    FeatureGroup::InpatientAdmissions,
    FeatureGroup::OutpatientVisits,
    FeatureGroup::PrincipalDiagnosis,
    FeatureGroup::SecondaryDiagnoses,
    FeatureGroup::Comorbidity,
    FeatureGroup::Lace,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_table_matches_enum_order() {
        for (i, g) in FEATURES_GROUP_BY_INDEX.iter().enumerate() {
            assert_eq!(group_index(*g), i);
        }
    }

    #[test]
    fn reason_texts() {
        let r = |g, value| Reason {
            code: ReasonCode(g),
            contribution: 1.0,
            value,
        };
        assert_eq!(
            r(FeatureGroup::EdVisits, 3.0).to_string(),
            "3 ED visits in prior 6 months"
        );
        assert_eq!(
            r(FeatureGroup::EdVisits, 1.0).to_string(),
            "1 ED visit in prior 6 months"
        );
        assert_eq!(
            r(FeatureGroup::Disposition, 4.0).to_string(),
            "discharged against medical advice"
        );
        assert_eq!(r(FeatureGroup::Age, 8.0).to_string(), "age 80–89");
        assert_eq!(
            r(FeatureGroup::InpatientAdmissions, 2.0).to_string(),
            "2 inpatient admissions in prior 12 months"
        );
        assert_eq!(
            r(FeatureGroup::PrincipalDiagnosis, 0.0).to_string(),
            "principal diagnosis circulatory"
        );
        assert_eq!(
            ReasonCode(FeatureGroup::EdVisits).as_str(),
            "prior_ed_visits"
        );
    }
}
