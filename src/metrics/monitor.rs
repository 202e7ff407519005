//! Live model monitoring: how the model does on the discharges whose 30-day window has closed,
//! and whether today's scores still look like the training scores.
//!
//! [`ModelMonitor`] is fed at scoring time ([`ModelMonitor::observe_score`]) and when an
//! outcome is known ([`ModelMonitor::observe_outcome`]: readmitted within 30 days, or the
//! window closed without readmission). Over the last `window` closed discharges it maintains:
//!
//! * observed 30-day readmission rate by tier and by facility;
//! * a rolling AUROC, exact (rank statistic with tie correction), recomputed every
//!   `recompute_every` outcomes: O(n log n) on ≤ `window` items, well under a millisecond at the
//!   default 5,000;
//! * calibration: mean predicted probability (expected) vs observed rate;
//! * and, over the last `window` *scores* (no need to wait 30 days), the population stability
//!   index (PSI) against the training score histogram stored with the model.
//!
//! State is in memory and per instance: each instance monitors the partitions it owns, and
//! pending predictions are lost on restart. [`ModelMonitor::observe_closed`] takes the
//! prediction with the outcome, for callers that keep it in restored state.
//!
//! Alert ids are kept only as map keys in memory; they never reach labels, logs or `Debug`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use prometheus::{Gauge, GaugeVec, IntCounter, IntGauge, Opts, Registry};

use super::{OTHER, TIERS};

/// Observed 30-day readmission rate of closed discharges, by `tier`.
pub const TIER_READMISSION_RATIO: &str = "readmit_model_tier_readmission_ratio";
/// Observed 30-day readmission rate of closed discharges, by `facility`.
pub const FACILITY_READMISSION_RATIO: &str = "readmit_model_facility_readmission_ratio";
/// Rolling AUROC over the closed window (NaN until both outcomes were seen).
pub const AUROC: &str = "readmit_model_auroc";
/// Mean predicted probability over the closed window.
pub const CALIBRATION_EXPECTED_RATIO: &str = "readmit_model_calibration_expected_ratio";
/// Observed readmission rate over the closed window.
pub const CALIBRATION_OBSERVED_RATIO: &str = "readmit_model_calibration_observed_ratio";
/// Population stability index of recent scores vs the training score histogram.
pub const SCORE_PSI: &str = "readmit_model_score_psi";
/// Closed discharges currently in the window.
pub const WINDOW_DISCHARGES: &str = "readmit_model_window_discharges";
/// Scored discharges waiting for their outcome.
pub const PENDING_OUTCOMES: &str = "readmit_model_pending_outcomes";
/// Outcomes whose alert id was not pending (scored before a restart, or on another instance).
pub const OUTCOMES_UNMATCHED_TOTAL: &str = "readmit_model_outcomes_unmatched_total";

/// Every metric name of the monitor.
pub const METRIC_NAMES: &[&str] = &[
    TIER_READMISSION_RATIO,
    FACILITY_READMISSION_RATIO,
    AUROC,
    CALIBRATION_EXPECTED_RATIO,
    CALIBRATION_OBSERVED_RATIO,
    SCORE_PSI,
    WINDOW_DISCHARGES,
    PENDING_OUTCOMES,
    OUTCOMES_UNMATCHED_TOTAL,
];

/// Floor for empty histogram bins in PSI (the usual convention; avoids ln(0)).
const PSI_EPSILON: f64 = 1e-4;
/// Longest facility label kept; longer names are cut.
const MAX_FACILITY_LABEL: usize = 64;

/// Monitor errors (bad settings or training histogram, registration).
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The training score histogram is unusable.
    #[error("training score histogram: {0}")]
    Histogram(&'static str),
    /// A setting is out of range.
    #[error("model monitor setting {0} must be at least 1")]
    Setting(&'static str),
    /// Metric registration failed.
    #[error("metric registration failed: {0}")]
    Register(#[from] prometheus::Error),
}

/// Monitor sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorSettings {
    /// Closed discharges (and recent scores, for PSI) kept; default 5,000.
    pub window: usize,
    /// Recompute AUROC after this many outcomes; default 250 (the sort it costs showed in profiles at 10).
    pub recompute_every: usize,
    /// Scores needed before PSI is published; default 100.
    pub min_psi_scores: usize,
    /// Predictions awaiting an outcome kept at most (oldest dropped); default 200,000.
    pub max_pending: usize,
    /// Distinct facility labels at most; later facilities count as `other`; default 50.
    pub max_facilities: usize,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        Self {
            window: 5_000,
            recompute_every: 250,
            min_psi_scores: 100,
            max_pending: 200_000,
            max_facilities: 50,
        }
    }
}

impl From<&crate::config::MonitorConfig> for MonitorSettings {
    /// The `[monitor]` section of the configuration (validated by `Settings::validate`).
    fn from(c: &crate::config::MonitorConfig) -> Self {
        Self {
            window: c.window,
            recompute_every: c.recompute_every,
            min_psi_scores: c.min_psi_scores,
            max_pending: c.max_pending,
            max_facilities: c.max_facilities,
        }
    }
}

/// The training score distribution: `edges` (bins + 1 ascending values; values below the first
/// or above the last edge fall into the first or last bin) and the fraction of training scores
/// per bin.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreHistogram {
    edges: Vec<f64>,
    expected: Vec<f64>,
}

impl ScoreHistogram {
    /// Validates and normalises (fractions are rescaled to sum to 1).
    pub fn new(edges: &[f64], expected: &[f64]) -> Result<Self, MonitorError> {
        if expected.is_empty() {
            return Err(MonitorError::Histogram("no bins"));
        }
        if edges.len() != expected.len() + 1 {
            return Err(MonitorError::Histogram(
                "needs one more edge than expected fractions",
            ));
        }
        if edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| w[0] >= w[1]) {
            return Err(MonitorError::Histogram(
                "edges must be finite and strictly increasing",
            ));
        }
        if expected.iter().any(|f| !f.is_finite() || *f < 0.0) {
            return Err(MonitorError::Histogram(
                "fractions must be finite and non-negative",
            ));
        }
        let total: f64 = expected.iter().sum();
        if total <= 0.0 {
            return Err(MonitorError::Histogram("fractions sum to 0"));
        }
        Ok(Self {
            edges: edges.to_vec(),
            expected: expected.iter().map(|f| f / total).collect(),
        })
    }

    /// Number of bins.
    pub fn bins(&self) -> usize {
        self.expected.len()
    }

    /// The bin of `score`: bins are `[edge_i, edge_{i+1})`, the outer ones open-ended.
    pub fn bin(&self, score: f64) -> usize {
        let inner = &self.edges[1..self.edges.len() - 1];
        inner.partition_point(|e| *e <= score)
    }

    /// PSI of the given bin counts against the training fractions.
    pub fn psi_of_counts(&self, counts: &[u64]) -> Option<f64> {
        let n: u64 = counts.iter().sum();
        if n == 0 || counts.len() != self.bins() {
            return None;
        }
        let actual: Vec<f64> = counts.iter().map(|c| *c as f64 / n as f64).collect();
        Some(psi(&self.expected, &actual))
    }
}

/// Population stability index `Σ (a_i − e_i) · ln(a_i / e_i)`, with empty bins floored at
/// 1e-4. Both slices are fractions over the same bins.
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(e, a)| {
            let e = e.max(PSI_EPSILON);
            let a = a.max(PSI_EPSILON);
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// Exact AUROC (Mann–Whitney U / (n⁺·n⁻), ties count one half), or `None` unless both classes
/// are present. `samples` are (score, positive).
pub fn auroc(samples: &[(f64, bool)]) -> Option<f64> {
    let positives = samples.iter().filter(|(_, y)| *y).count();
    let negatives = samples.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut sorted: Vec<(f64, bool)> = samples.to_vec();
    // Unstable is enough: equal scores form one tie group whatever their order.
    sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1].0 == sorted[i].0 {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        let pos_in_tie = sorted[i..=j].iter().filter(|(_, y)| *y).count();
        rank_sum += average_rank * pos_in_tie as f64;
        i = j + 1;
    }
    let p = positives as f64;
    let u = rank_sum - p * (p + 1.0) / 2.0;
    Some(u / (p * negatives as f64))
}

#[derive(Clone, Copy)]
struct Prediction {
    probability: f64,
    tier: usize,
    facility: usize,
}

#[derive(Clone, Copy)]
struct Closed {
    prediction: Prediction,
    readmitted: bool,
}

#[derive(Default, Clone, Copy)]
struct Rate {
    n: u64,
    readmitted: u64,
}

impl Rate {
    fn add(&mut self, readmitted: bool, sign: i8) {
        if sign > 0 {
            self.n += 1;
            self.readmitted += u64::from(readmitted);
        } else {
            self.n = self.n.saturating_sub(1);
            self.readmitted = self.readmitted.saturating_sub(u64::from(readmitted));
        }
    }
    fn ratio(&self) -> Option<f64> {
        (self.n > 0).then(|| self.readmitted as f64 / self.n as f64)
    }
}

#[derive(Default)]
struct Inner {
    pending: HashMap<String, Prediction>,
    pending_order: VecDeque<String>,
    closed: VecDeque<Closed>,
    probability_sum: f64,
    tiers: [Rate; 4],
    facilities: Vec<(String, Rate)>,
    scores: VecDeque<usize>,
    score_counts: Vec<u64>,
    since_auroc: usize,
    auroc: Option<f64>,
}

/// A snapshot of the monitor's figures (tests, `readmit` debugging commands).
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSnapshot {
    /// Closed discharges in the window.
    pub window: usize,
    /// Predictions awaiting an outcome.
    pub pending: usize,
    /// Exact AUROC over the window, computed now.
    pub auroc: Option<f64>,
    /// Mean predicted probability.
    pub expected: Option<f64>,
    /// Observed readmission rate.
    pub observed: Option<f64>,
    /// Observed rate per tier label.
    pub tier_rates: Vec<(&'static str, f64)>,
    /// Observed rate per facility label.
    pub facility_rates: Vec<(String, f64)>,
    /// PSI of recent scores, when a training histogram is set and enough scores were seen.
    pub psi: Option<f64>,
}

/// Live model monitoring (see the module docs). Thread-safe; share by `Arc`.
pub struct ModelMonitor {
    settings: MonitorSettings,
    training: Option<ScoreHistogram>,
    inner: Mutex<Inner>,
    tier_rate: GaugeVec,
    facility_rate: GaugeVec,
    auroc: Gauge,
    expected: Gauge,
    observed: Gauge,
    psi: Gauge,
    window_size: IntGauge,
    pending: IntGauge,
    unmatched: IntCounter,
}

impl std::fmt::Debug for ModelMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelMonitor")
            .field("settings", &self.settings)
            .field("training", &self.training)
            .finish_non_exhaustive()
    }
}

const TIER_LABELS: [&str; 4] = ["low", "moderate", "high", OTHER];

impl ModelMonitor {
    /// Registers the monitor's gauges in `registry`. `training` is the model's training score
    /// histogram (PSI stays unpublished without it).
    pub fn new(
        registry: &Registry,
        settings: MonitorSettings,
        training: Option<ScoreHistogram>,
    ) -> Result<Self, MonitorError> {
        for (name, value) in [
            ("window", settings.window),
            ("recompute_every", settings.recompute_every),
            ("min_psi_scores", settings.min_psi_scores),
            ("max_pending", settings.max_pending),
            ("max_facilities", settings.max_facilities),
        ] {
            if value == 0 {
                return Err(MonitorError::Setting(name));
            }
        }
        let gauge = |name: &str, help: &str| {
            let g = Gauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            g.set(f64::NAN);
            Ok::<_, prometheus::Error>(g)
        };
        let gauge_vec = |name: &str, help: &str, label: &str| {
            let g = GaugeVec::new(Opts::new(name, help), &[label])?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, prometheus::Error>(g)
        };
        let window_size = IntGauge::new(
            WINDOW_DISCHARGES,
            "Closed discharges (30-day window over) in the monitoring window.",
        )?;
        registry.register(Box::new(window_size.clone()))?;
        let pending = IntGauge::new(
            PENDING_OUTCOMES,
            "Scored discharges waiting for their 30-day outcome.",
        )?;
        registry.register(Box::new(pending.clone()))?;
        let unmatched = IntCounter::new(
            OUTCOMES_UNMATCHED_TOTAL,
            "Outcomes whose alert was not pending here (scored before a restart or elsewhere).",
        )?;
        registry.register(Box::new(unmatched.clone()))?;
        let bins = training.as_ref().map_or(0, ScoreHistogram::bins);
        Ok(Self {
            tier_rate: gauge_vec(
                TIER_READMISSION_RATIO,
                "Observed 30-day readmission rate of closed discharges in the window, by tier.",
                "tier",
            )?,
            facility_rate: gauge_vec(
                FACILITY_READMISSION_RATIO,
                "Observed 30-day readmission rate of closed discharges in the window, by facility.",
                "facility",
            )?,
            auroc: gauge(AUROC, "Rolling AUROC over closed discharges in the window.")?,
            expected: gauge(
                CALIBRATION_EXPECTED_RATIO,
                "Mean predicted readmission probability of closed discharges in the window.",
            )?,
            observed: gauge(
                CALIBRATION_OBSERVED_RATIO,
                "Observed 30-day readmission rate of closed discharges in the window.",
            )?,
            psi: gauge(
                SCORE_PSI,
                "Population stability index of recent scores against the training score histogram.",
            )?,
            window_size,
            pending,
            unmatched,
            inner: Mutex::new(Inner {
                score_counts: vec![0; bins],
                ..Inner::default()
            }),
            settings,
            training,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A discharge was scored. `alert_id` identifies it for [`observe_outcome`]; a repeated id
    /// (re-score after A08) replaces the earlier prediction. `tier` is `low|moderate|high`;
    /// `facility` the sending facility (bounded, see [`MonitorSettings::max_facilities`]).
    ///
    /// [`observe_outcome`]: ModelMonitor::observe_outcome
    pub fn observe_score(&self, alert_id: &str, probability: f64, tier: &str, facility: &str) {
        if !probability.is_finite() {
            return;
        }
        let mut inner = self.lock();
        let prediction = Prediction {
            probability,
            tier: tier_index(tier),
            facility: self.facility_index(&mut inner, facility),
        };
        if inner
            .pending
            .insert(alert_id.to_string(), prediction)
            .is_none()
        {
            inner.pending_order.push_back(alert_id.to_string());
        }
        while inner.pending.len() > self.settings.max_pending {
            match inner.pending_order.pop_front() {
                Some(oldest) => {
                    inner.pending.remove(&oldest);
                }
                None => break,
            }
        }
        if inner.pending_order.len() > 2 * self.settings.max_pending {
            let Inner {
                pending,
                pending_order,
                ..
            } = &mut *inner;
            pending_order.retain(|id| pending.contains_key(id));
        }
        self.pending
            .set(i64::try_from(inner.pending.len()).unwrap_or(i64::MAX));

        if let Some(training) = &self.training {
            let bin = training.bin(probability);
            inner.scores.push_back(bin);
            inner.score_counts[bin] += 1;
            if inner.scores.len() > self.settings.window {
                if let Some(old) = inner.scores.pop_front() {
                    inner.score_counts[old] -= 1;
                }
            }
            if inner.scores.len() >= self.settings.min_psi_scores {
                if let Some(psi) = training.psi_of_counts(&inner.score_counts) {
                    self.psi.set(psi);
                }
            }
        }
    }

    /// The 30-day window of a scored discharge closed: `readmitted` within 30 days or not.
    /// Returns false (and counts it) when the alert id was not pending.
    pub fn observe_outcome(&self, alert_id: &str, readmitted: bool) -> bool {
        let mut inner = self.lock();
        let Some(prediction) = inner.pending.remove(alert_id) else {
            drop(inner);
            self.unmatched.inc();
            return false;
        };
        self.pending
            .set(i64::try_from(inner.pending.len()).unwrap_or(i64::MAX));
        self.close(&mut inner, prediction, readmitted);
        true
    }

    /// Like [`observe_outcome`](ModelMonitor::observe_outcome) for callers that carry the
    /// prediction with the outcome (e.g. from restored per-patient state).
    pub fn observe_closed(&self, probability: f64, tier: &str, facility: &str, readmitted: bool) {
        if !probability.is_finite() {
            return;
        }
        let mut inner = self.lock();
        let prediction = Prediction {
            probability,
            tier: tier_index(tier),
            facility: self.facility_index(&mut inner, facility),
        };
        self.close(&mut inner, prediction, readmitted);
    }

    fn close(&self, inner: &mut Inner, prediction: Prediction, readmitted: bool) {
        let closed = Closed {
            prediction,
            readmitted,
        };
        self.apply(inner, closed, 1);
        inner.closed.push_back(closed);
        if inner.closed.len() > self.settings.window {
            if let Some(old) = inner.closed.pop_front() {
                self.apply(inner, old, -1);
            }
        }
        inner.since_auroc += 1;
        if inner.since_auroc >= self.settings.recompute_every {
            inner.since_auroc = 0;
            inner.auroc = window_auroc(inner);
        }
        self.publish(inner);
    }

    fn apply(&self, inner: &mut Inner, c: Closed, sign: i8) {
        let p = c.prediction.probability;
        inner.probability_sum += if sign > 0 { p } else { -p };
        inner.tiers[c.prediction.tier].add(c.readmitted, sign);
        if let Some((_, rate)) = inner.facilities.get_mut(c.prediction.facility) {
            rate.add(c.readmitted, sign);
        }
    }

    fn publish(&self, inner: &Inner) {
        let n = inner.closed.len();
        self.window_size.set(i64::try_from(n).unwrap_or(i64::MAX));
        let total = inner.tiers.iter().fold(Rate::default(), |acc, r| Rate {
            n: acc.n + r.n,
            readmitted: acc.readmitted + r.readmitted,
        });
        self.observed.set(total.ratio().unwrap_or(f64::NAN));
        self.expected.set(if n > 0 {
            (inner.probability_sum / n as f64).clamp(0.0, 1.0)
        } else {
            f64::NAN
        });
        self.auroc.set(inner.auroc.unwrap_or(f64::NAN));
        for (i, rate) in inner.tiers.iter().enumerate() {
            match rate.ratio() {
                Some(r) => {
                    if let Ok(g) = self
                        .tier_rate
                        .get_metric_with_label_values(&[TIER_LABELS[i]])
                    {
                        g.set(r);
                    }
                }
                None => {
                    let _ = self.tier_rate.remove_label_values(&[TIER_LABELS[i]]);
                }
            }
        }
        for (name, rate) in &inner.facilities {
            match rate.ratio() {
                Some(r) => {
                    if let Ok(g) = self.facility_rate.get_metric_with_label_values(&[name]) {
                        g.set(r);
                    }
                }
                None => {
                    let _ = self.facility_rate.remove_label_values(&[name]);
                }
            }
        }
    }

    /// The facility's slot, adding it while below the cap; `other` beyond it.
    fn facility_index(&self, inner: &mut Inner, facility: &str) -> usize {
        let mut name: String = facility.trim().chars().take(MAX_FACILITY_LABEL).collect();
        if name.is_empty() {
            name = "unknown".into();
        }
        if let Some(i) = inner.facilities.iter().position(|(f, _)| *f == name) {
            return i;
        }
        let key = if inner.facilities.len() < self.settings.max_facilities {
            name
        } else {
            OTHER.to_string()
        };
        if let Some(i) = inner.facilities.iter().position(|(f, _)| *f == key) {
            return i;
        }
        inner.facilities.push((key, Rate::default()));
        inner.facilities.len() - 1
    }

    /// Current figures, with AUROC computed now.
    pub fn snapshot(&self) -> MonitorSnapshot {
        let inner = self.lock();
        let n = inner.closed.len();
        let total = inner.tiers.iter().fold(Rate::default(), |acc, r| Rate {
            n: acc.n + r.n,
            readmitted: acc.readmitted + r.readmitted,
        });
        let psi = match &self.training {
            Some(t) if inner.scores.len() >= self.settings.min_psi_scores => {
                t.psi_of_counts(&inner.score_counts)
            }
            _ => None,
        };
        MonitorSnapshot {
            window: n,
            pending: inner.pending.len(),
            auroc: window_auroc(&inner),
            expected: (n > 0).then(|| inner.probability_sum / n as f64),
            observed: total.ratio(),
            tier_rates: inner
                .tiers
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.ratio().map(|x| (TIER_LABELS[i], x)))
                .collect(),
            facility_rates: inner
                .facilities
                .iter()
                .filter_map(|(f, r)| r.ratio().map(|x| (f.clone(), x)))
                .collect(),
            psi,
        }
    }
}

fn window_auroc(inner: &Inner) -> Option<f64> {
    let samples: Vec<(f64, bool)> = inner
        .closed
        .iter()
        .map(|c| (c.prediction.probability, c.readmitted))
        .collect();
    auroc(&samples)
}

fn tier_index(tier: &str) -> usize {
    TIERS
        .iter()
        .position(|t| *t == tier)
        .unwrap_or(TIER_LABELS.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn auroc_matches_hand_computed_values() {
        // positives 0.35, 0.8; negatives 0.1, 0.4 → pairs won: (0.35>0.1), (0.8>0.1), (0.8>0.4)
        // = 3 of 4
        let s = [(0.1, false), (0.4, false), (0.35, true), (0.8, true)];
        assert!(close(auroc(&s).unwrap(), 0.75));
        // a tie between a positive and a negative counts one half: (1 + 0.5 + 1 + 1) / 4
        let s = [(0.2, false), (0.5, true), (0.5, false), (0.9, true)];
        assert!(close(auroc(&s).unwrap(), 0.875));
        // perfectly inverted ranking
        let s = [(0.9, false), (0.1, true)];
        assert!(close(auroc(&s).unwrap(), 0.0));
        // all tied
        let s = [(0.3, true), (0.3, false), (0.3, false)];
        assert!(close(auroc(&s).unwrap(), 0.5));
        // one class only
        assert_eq!(auroc(&[(0.3, true), (0.4, true)]), None);
        assert_eq!(auroc(&[]), None);
    }

    #[test]
    fn psi_matches_hand_computed_values() {
        // (0.25-0.5)·ln(0.25/0.5) + (0.75-0.5)·ln(0.75/0.5) = 0.173287 + 0.101366
        assert!((psi(&[0.5, 0.5], &[0.25, 0.75]) - 0.274_653).abs() < 1e-6);
        assert!(close(psi(&[0.1; 10], &[0.1; 10]), 0.0));
        // an empty bin is floored at 1e-4: (1e-4-0.5)·ln(1e-4/0.5) + (1-0.5)·ln(2)
        let expected = (1e-4 - 0.5) * (1e-4f64 / 0.5).ln() + 0.5 * 2f64.ln();
        assert!(close(psi(&[0.5, 0.5], &[0.0, 1.0]), expected));
        assert!((expected - 4.604_7).abs() < 1e-3);
    }

    #[test]
    fn histogram_bins_and_validation() {
        let h = ScoreHistogram::new(&[0.0, 0.5, 1.0], &[1.0, 1.0]).unwrap();
        assert_eq!(h.expected, vec![0.5, 0.5], "fractions are normalised");
        assert_eq!(h.bin(-1.0), 0);
        assert_eq!(h.bin(0.1), 0);
        assert_eq!(h.bin(0.5), 1);
        assert_eq!(h.bin(0.99), 1);
        assert_eq!(h.bin(7.0), 1);
        // scores 0.1 | 0.6 0.7 0.9 → actual 0.25 / 0.75
        assert!((h.psi_of_counts(&[1, 3]).unwrap() - 0.274_653).abs() < 1e-6);
        assert!(ScoreHistogram::new(&[0.0, 1.0], &[0.5, 0.5]).is_err());
        assert!(ScoreHistogram::new(&[0.0, 0.5, 0.5], &[0.5, 0.5]).is_err());
        assert!(ScoreHistogram::new(&[0.0, 0.5, 1.0], &[0.0, 0.0]).is_err());
        assert!(ScoreHistogram::new(&[0.0, 0.5, 1.0], &[-0.1, 1.0]).is_err());
    }

    fn monitor(settings: MonitorSettings) -> (Registry, ModelMonitor) {
        let registry = Registry::new();
        let training = ScoreHistogram::new(&[0.0, 0.5, 1.0], &[0.5, 0.5]).unwrap();
        let m = ModelMonitor::new(&registry, settings, Some(training)).unwrap();
        (registry, m)
    }

    #[test]
    fn outcomes_feed_rates_calibration_auroc_and_window() {
        let (_r, m) = monitor(MonitorSettings {
            window: 4,
            recompute_every: 1,
            min_psi_scores: 4,
            ..MonitorSettings::default()
        });
        m.observe_score("a1", 0.1, "low", "FAC1");
        m.observe_score("a2", 0.4, "moderate", "FAC1");
        m.observe_score("a3", 0.35, "moderate", "FAC2");
        m.observe_score("a4", 0.8, "high", "FAC2");
        assert_eq!(m.snapshot().pending, 4);
        assert!(m.observe_outcome("a1", false));
        assert!(m.observe_outcome("a2", false));
        assert!(m.observe_outcome("a3", true));
        assert!(m.observe_outcome("a4", true));
        assert!(!m.observe_outcome("a4", true), "already closed");
        assert!(!m.observe_outcome("zz", false));
        assert_eq!(m.unmatched.get(), 2);

        let s = m.snapshot();
        assert_eq!(s.window, 4);
        assert_eq!(s.pending, 0);
        assert!(close(s.auroc.unwrap(), 0.75));
        assert!(close(m.auroc.get(), 0.75));
        assert!(close(s.expected.unwrap(), (0.1 + 0.4 + 0.35 + 0.8) / 4.0));
        assert!(close(s.observed.unwrap(), 0.5));
        assert_eq!(
            s.tier_rates,
            vec![("low", 0.0), ("moderate", 0.5), ("high", 1.0)]
        );
        assert_eq!(
            s.facility_rates,
            vec![("FAC1".to_string(), 0.0), ("FAC2".to_string(), 1.0)]
        );
        // scores 0.1 0.4 0.35 | 0.8 → actual 0.75 / 0.25 vs 0.5 / 0.5
        assert!((s.psi.unwrap() - 0.274_653).abs() < 1e-6);
        assert!((m.psi.get() - 0.274_653).abs() < 1e-6);

        // a fifth closed discharge pushes the oldest (0.1, not readmitted) out of the window
        m.observe_closed(0.05, "low", "FAC1", true);
        let s = m.snapshot();
        assert_eq!(s.window, 4);
        assert!(close(s.observed.unwrap(), 0.75));
        assert_eq!(s.tier_rates[0], ("low", 1.0));
        // ranking now: 0.05+ 0.35+ 0.4- 0.8+ → positives beat the one negative in 1 of 3 pairs
        assert!(close(s.auroc.unwrap(), 1.0 / 3.0));
    }

    #[test]
    fn facilities_are_capped_and_pending_is_bounded() {
        let (_r, m) = monitor(MonitorSettings {
            max_facilities: 2,
            max_pending: 3,
            ..MonitorSettings::default()
        });
        for (i, f) in ["F1", "F2", "F3", "F4"].iter().enumerate() {
            m.observe_closed(0.2, "low", f, i % 2 == 0);
        }
        let names: Vec<String> = m
            .snapshot()
            .facility_rates
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(names, vec!["F1", "F2", OTHER]);
        for i in 0..5 {
            m.observe_score(&format!("id{i}"), 0.3, "low", "F1");
        }
        assert_eq!(m.snapshot().pending, 3);
        assert!(!m.observe_outcome("id0", false), "oldest was dropped");
        assert!(m.observe_outcome("id4", false));
    }

    #[test]
    fn debug_shows_no_alert_ids() {
        let (_r, m) = monitor(MonitorSettings::default());
        m.observe_score("ALERT-SECRET-1", 0.3, "low", "F1");
        assert!(!format!("{m:?}").contains("ALERT-SECRET"));
    }

    #[test]
    fn zero_settings_are_rejected() {
        let err = ModelMonitor::new(
            &Registry::new(),
            MonitorSettings {
                window: 0,
                ..MonitorSettings::default()
            },
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("window"), "{err}");
    }
}
