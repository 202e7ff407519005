//! Evaluation metrics: AUROC (rank-based, ties averaged), Brier score, calibration slope and
//! intercept (logistic recalibration of the outcome on the predicted logit), and the small
//! two-parameter logistic fit that also serves as Platt scaling.
//!
//! The two-parameter fit is a hand-written Newton iteration: it is exact, deterministic and
//! needs no regularisation, which linfa-logistic always applies to the slope.

/// Area under the ROC curve; 0.5 when one class is absent.
pub fn auroc(scores: &[f64], labels: &[bool]) -> f64 {
    let n = scores.len().min(labels.len());
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut n_pos = 0usize;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        // Average rank (1-based) for the tie block i..=j.
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum_pos += avg;
                n_pos += 1;
            }
        }
        i = j + 1;
    }
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return 0.5;
    }
    (rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0) / (n_pos as f64 * n_neg as f64)
}

/// Mean squared error of probabilities.
pub fn brier(probs: &[f64], labels: &[bool]) -> f64 {
    let n = probs.len().min(labels.len());
    if n == 0 {
        return 0.0;
    }
    probs
        .iter()
        .zip(labels)
        .map(|(p, &y)| (p - if y { 1.0 } else { 0.0 }).powi(2))
        .sum::<f64>()
        / n as f64
}

/// Logit, with probabilities clamped to [1e-12, 1 − 1e-12].
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

/// Logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Fits `P(y) = sigmoid(a·x + b)` by Newton's method; returns `(a, b)`.
pub fn fit_logistic_1d(x: &[f64], labels: &[bool]) -> (f64, f64) {
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&xi, &yi) in x.iter().zip(labels) {
            let p = sigmoid(a * xi + b);
            let r = p - if yi { 1.0 } else { 0.0 };
            let w = (p * (1.0 - p)).max(1e-12);
            ga += r * xi;
            gb += r;
            haa += w * xi * xi;
            hab += w * xi;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-300 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-12 && db.abs() < 1e-12 {
            break;
        }
    }
    (a, b)
}

/// Calibration slope and intercept: the logistic fit of the outcome on logit(p). A perfectly
/// calibrated model has slope 1 and intercept 0.
pub fn calibration(probs: &[f64], labels: &[bool]) -> (f64, f64) {
    let z: Vec<f64> = probs.iter().map(|&p| logit(p)).collect();
    fit_logistic_1d(&z, labels)
}

/// ROC curve points (false positive rate, true positive rate), from the highest threshold down.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let n_pos = labels.iter().filter(|&&y| y).count().max(1) as f64;
    let n_neg = labels.iter().filter(|&&y| !y).count().max(1) as f64;
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut pts = vec![(0.0, 0.0)];
    let mut i = 0;
    while i < idx.len() {
        let s = scores[idx[i]];
        while i < idx.len() && scores[idx[i]] == s {
            if labels[idx[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        pts.push((fp / n_neg, tp / n_pos));
    }
    pts
}

/// Calibration bins: (mean predicted, observed rate, count) for `bins` quantile bins.
pub fn calibration_bins(probs: &[f64], labels: &[bool], bins: usize) -> Vec<(f64, f64, usize)> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[a].total_cmp(&probs[b]));
    let n = idx.len();
    (0..bins)
        .filter_map(|b| {
            let lo = b * n / bins;
            let hi = (b + 1) * n / bins;
            if hi <= lo {
                return None;
            }
            let chunk = &idx[lo..hi];
            let mp = chunk.iter().map(|&i| probs[i]).sum::<f64>() / chunk.len() as f64;
            let obs = chunk.iter().filter(|&&i| labels[i]).count() as f64 / chunk.len() as f64;
            Some((mp, obs, chunk.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_hand_computed() {
        assert_eq!(
            auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            0.75
        );
        assert_eq!(auroc(&[0.5, 0.5], &[false, true]), 0.5);
        assert_eq!(auroc(&[1.0, 2.0, 3.0], &[false, true, true]), 1.0);
        assert_eq!(auroc(&[1.0, 2.0], &[true, true]), 0.5);
    }

    #[test]
    fn brier_and_calibration() {
        assert!((brier(&[0.0, 1.0, 0.5], &[false, true, true]) - 0.25 / 3.0).abs() < 1e-15);
        // Outcomes drawn exactly at the predicted rates: slope 1, intercept 0.
        let mut p = Vec::new();
        let mut y = Vec::new();
        for (prob, n_pos) in [(0.1, 1), (0.2, 2), (0.5, 5), (0.8, 8)] {
            for i in 0..10 {
                p.push(prob);
                y.push(i < n_pos);
            }
        }
        let (slope, intercept) = calibration(&p, &y);
        assert!((slope - 1.0).abs() < 1e-6, "{slope}");
        assert!(intercept.abs() < 1e-6, "{intercept}");
    }
}
