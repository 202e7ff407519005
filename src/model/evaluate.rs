//! Test-split evaluation: discrimination, calibration, the LACE baseline, and subgroups (sex,
//! race, age band). Age subgroups follow the dataset's decade bands: `<60`, `60-69` (the band
//! that straddles 65) and `>=70`; exact `<65 / >=65` needs birth dates the dataset lacks.

use serde::{Deserialize, Serialize};

use crate::features::codes::{Race, Sex};

use super::dataset::Example;
use super::metrics::{auroc, brier, calibration};

/// One subgroup's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subgroup {
    /// `sex`, `race` or `age`.
    pub attribute: String,
    /// The subgroup value, e.g. `Female`.
    pub value: String,
    /// Encounters.
    pub n: usize,
    /// Share readmitted `<30`.
    pub prevalence: f64,
    /// AUROC of the model within the subgroup.
    pub auroc: f64,
}

/// Evaluation report (the JSON keys of `readmit evaluate --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Encounters evaluated.
    pub n: usize,
    /// Share readmitted `<30`.
    pub prevalence: f64,
    /// AUROC of the calibrated probability.
    pub auroc: f64,
    /// Brier score.
    pub brier: f64,
    /// Calibration slope (1 = ideal).
    pub calibration_slope: f64,
    /// Calibration intercept (0 = ideal).
    pub calibration_intercept: f64,
    /// AUROC of the LACE index used as a score.
    pub lace_auroc: f64,
    /// Per-subgroup AUROC.
    pub subgroups: Vec<Subgroup>,
}

fn sex_label(s: Sex) -> &'static str {
    match s {
        Sex::Female => "Female",
        Sex::Male => "Male",
        Sex::Unknown => "Unknown",
    }
}

fn age_label(decade: u8) -> &'static str {
    match decade {
        0..=5 => "<60",
        6 => "60-69",
        _ => ">=70",
    }
}

/// Evaluates probabilities `probs` (one per example) against the examples' labels.
pub fn evaluate(examples: &[&Example], probs: &[f64]) -> Report {
    let labels: Vec<bool> = examples.iter().map(|e| e.label).collect();
    let lace: Vec<f64> = examples.iter().map(|e| e.lace).collect();
    let n = examples.len();
    let prevalence = labels.iter().filter(|&&y| y).count() as f64 / n.max(1) as f64;
    let (slope, intercept) = calibration(probs, &labels);
    let mut subgroups = Vec::new();
    let mut add = |attribute: &str, value: &str, keep: &dyn Fn(&Example) -> bool| {
        let (p, y): (Vec<f64>, Vec<bool>) = examples
            .iter()
            .zip(probs)
            .filter(|(e, _)| keep(e))
            .map(|(e, &p)| (p, e.label))
            .unzip();
        if p.is_empty() {
            return;
        }
        subgroups.push(Subgroup {
            attribute: attribute.to_string(),
            value: value.to_string(),
            n: p.len(),
            prevalence: y.iter().filter(|&&v| v).count() as f64 / p.len() as f64,
            auroc: auroc(&p, &y),
        });
    };
    for s in [Sex::Female, Sex::Male, Sex::Unknown] {
        add("sex", sex_label(s), &|e: &Example| e.sex == s);
    }
    for r in Race::ALL {
        add("race", r.label(), &|e: &Example| e.race == r);
    }
    for a in ["<60", "60-69", ">=70"] {
        add("age", a, &|e: &Example| age_label(e.age.decade()) == a);
    }
    Report {
        n,
        prevalence,
        auroc: auroc(probs, &labels),
        brier: brier(probs, &labels),
        calibration_slope: slope,
        calibration_intercept: intercept,
        lace_auroc: auroc(&lace, &labels),
        subgroups,
    }
}

impl Report {
    /// Plain-text table for terminals.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "n                      {}\nprevalence             {:.4}\nAUROC                  {:.4}\n\
             Brier                  {:.4}\ncalibration slope      {:.3}\ncalibration intercept  {:.3}\n\
             LACE AUROC             {:.4}\n\nsubgroup               n       prevalence  AUROC\n",
            self.n,
            self.prevalence,
            self.auroc,
            self.brier,
            self.calibration_slope,
            self.calibration_intercept,
            self.lace_auroc
        );
        for g in &self.subgroups {
            s.push_str(&format!(
                "{:<22} {:<7} {:<11.4} {:.4}\n",
                format!("{}={}", g.attribute, g.value),
                g.n,
                g.prevalence,
                g.auroc
            ));
        }
        s
    }
}
