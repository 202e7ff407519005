//! Training: grouped (by patient) cross-validation on the training split to pick a learner,
//! Platt calibration fitted on the out-of-fold predictions, a refit on the whole training split,
//! tier thresholds, and the test-split evaluation stored in the artifact.
//!
//! Candidates: L2-penalised logistic regression (linfa-logistic, several penalties, on
//! standardised features; the final gradient norm of every fit is recorded so convergence is
//! visible) and class-balanced random forests (seeded bagging of linfa-trees decision trees,
//! score = mean over trees of the leaf's readmitted share; see [`fit_forest`] for why not
//! linfa-ensemble). Every random choice uses a fixed seed, so training twice gives
//! byte-identical artifacts.
//!
//! The artifact also carries the training distribution of the calibrated score (decile bins)
//! and of a few key inputs, the reference of the live PSI drift monitor.

use linfa::prelude::*;
use linfa::DatasetBase;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;

use crate::features::{FEATURE_NAMES, FEATURE_SCHEMA_VERSION, N_FEATURES};

use super::artifact::{
    Artifact, ArtifactMetrics, Exclusions, Histogram, LinearModel, Platt, Thresholds, TrainParams,
    TrainingDistributions,
};
use super::dataset::{Data, Example, Split};
use super::evaluate::evaluate;
use super::metrics::{auroc, fit_logistic_1d, sigmoid};
use super::ModelError;

/// One random-forest configuration of the candidate grid.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestParams {
    /// Trees in the ensemble.
    pub trees: usize,
    /// Maximum tree depth.
    pub max_depth: usize,
    /// Minimum bootstrap weight (draws) per leaf.
    pub min_weight_leaf: f32,
    /// Share of the balanced rows drawn (with replacement) per tree.
    pub bootstrap_proportion: f64,
    /// Share of the features each tree sees.
    pub feature_proportion: f64,
}

impl ForestParams {
    /// The candidate's name in the artifact and model card.
    pub fn describe(&self) -> String {
        format!(
            "balanced_random_forest(trees={}, max_depth={}, min_weight_leaf={}, bootstrap={}, features={})",
            self.trees,
            self.max_depth,
            self.min_weight_leaf,
            self.bootstrap_proportion,
            self.feature_proportion
        )
    }
}

/// Training options.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Model family name.
    pub name: String,
    /// Model version.
    pub version: u32,
    /// L2 penalties tried for logistic regression.
    pub alphas: Vec<f64>,
    /// Grouped CV folds.
    pub folds: usize,
    /// L-BFGS iterations.
    pub max_iterations: u64,
    /// L-BFGS stops when the gradient norm of the summed loss is below this times the rows.
    pub gradient_tolerance_per_row: f64,
    /// Random-forest configurations tried (empty = none).
    pub forests: Vec<ForestParams>,
    /// Rows of the data file used (recorded in the artifact).
    pub row_limit: Option<usize>,
}

impl TrainOptions {
    /// The default forest grid with `trees` trees per forest (0 = no forest candidate).
    pub fn forest_grid(trees: usize) -> Vec<ForestParams> {
        if trees == 0 {
            return Vec::new();
        }
        [8].into_iter()
            .map(|max_depth| ForestParams {
                trees,
                max_depth,
                min_weight_leaf: 20.0,
                bootstrap_proportion: 0.7,
                feature_proportion: 0.5,
            })
            .collect()
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            name: "readmit-lr".to_string(),
            version: 1,
            alphas: vec![300.0, 100.0, 30.0, 10.0],
            folds: 5,
            max_iterations: 1000,
            gradient_tolerance_per_row: 1e-6,
            forests: Self::forest_grid(20),
            row_limit: None,
        }
    }
}

/// What training produced.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The artifact.
    pub artifact: Artifact,
    /// Calibrated probabilities on the test split, in [`Data::split`] order.
    pub test_probs: Vec<f64>,
}

/// Deterministic fold of a patient (splitmix64 of the patient number).
pub fn fold_of(patient_nbr: u64, folds: usize) -> usize {
    let mut z = patient_nbr.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % folds.max(1) as u64) as usize
}

fn matrix(rows: &[&Example]) -> Array2<f64> {
    let mut x = Array2::zeros((rows.len(), N_FEATURES));
    for (mut r, e) in x.axis_iter_mut(Axis(0)).zip(rows) {
        for (d, s) in r.iter_mut().zip(e.features.values()) {
            *d = *s;
        }
    }
    x
}

/// A fitted logistic regression.
#[derive(Debug, Clone)]
pub struct LogisticFit {
    /// The model in raw feature space.
    pub model: LinearModel,
    /// linfa's parameters in standardised space (weights then intercept), for warm starts.
    pub internal: Array1<f64>,
    /// Euclidean norm of the penalised loss gradient at the solution, divided by the rows:
    /// how far L-BFGS was from the optimum when it stopped.
    pub gradient_norm_per_row: f64,
}

/// Fits L2 logistic regression on standardised features; returns it in raw feature space.
pub fn fit_logistic(
    rows: &[&Example],
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance_per_row: f64,
    warm_start: Option<&Array1<f64>>,
) -> Result<LogisticFit, ModelError> {
    let x = matrix(rows);
    let n = x.nrows().max(1) as f64;
    let means: Vec<f64> = (0..N_FEATURES).map(|j| x.column(j).sum() / n).collect();
    let stds: Vec<f64> = (0..N_FEATURES)
        .map(|j| {
            let m = means[j];
            let v = x.column(j).iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
            if v > 1e-12 {
                v.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    let mut xs = x;
    for (j, mut col) in xs.axis_iter_mut(Axis(1)).enumerate() {
        col.mapv_inplace(|v| (v - means[j]) / stds[j]);
    }
    let y: Array1<bool> = rows.iter().map(|e| e.label).collect();
    let ds = DatasetBase::new(xs, y);
    // The loss is a sum over rows, so the gradient tolerance scales with n.
    let mut params = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(max_iterations)
        .gradient_tolerance(gradient_tolerance_per_row * n);
    if let Some(init) = warm_start {
        params = params.initial_params(init.clone());
    }
    let fitted = params
        .fit(&ds)
        .map_err(|e| ModelError::Training(e.to_string()))?;
    let mut internal = fitted.params().to_vec();
    internal.push(fitted.intercept());
    // linfa-logistic models the probability of its `pos` class (the larger one).
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let w: Array1<f64> = fitted.params().mapv(|v| sign * v);
    let b = sign * fitted.intercept();
    // Gradient of Σ logloss + α/2·|w|² in standardised space (intercept not penalised).
    let xs = ds.records();
    let mut residual: Array1<f64> = xs.dot(&w).mapv(|z| sigmoid(z + b));
    for (r, e) in residual.iter_mut().zip(rows) {
        *r -= f64::from(u8::from(e.label));
    }
    let grad_w = xs.t().dot(&residual) + &w * alpha;
    let grad_b = residual.sum();
    let gradient_norm_per_row = (grad_w.dot(&grad_w) + grad_b * grad_b).sqrt() / n;
    let mut coefficients = vec![0.0; N_FEATURES];
    let mut intercept = b;
    for j in 0..N_FEATURES {
        coefficients[j] = w[j] / stds[j];
        intercept -= coefficients[j] * means[j];
    }
    Ok(LogisticFit {
        model: LinearModel {
            intercept,
            coefficients,
            means,
        },
        internal: Array1::from(internal),
        gradient_norm_per_row,
    })
}

/// Linear predictor of a fitted model.
pub fn linear_predictor(m: &LinearModel, e: &Example) -> f64 {
    m.intercept
        + e.features
            .values()
            .iter()
            .zip(&m.coefficients)
            .map(|(a, b)| a * b)
            .sum::<f64>()
}

/// Class-balanced random forest: all positives plus as many negatives (the ones with the
/// smallest hashed encounter ids), `p.trees` linfa decision trees each fitted on a bootstrap
/// draw of those rows and a random subset of the features; returns a predictor giving the mean
/// over trees of the share of readmitted rows (bootstrap-weighted) in the leaf a row falls in.
///
/// The bagging is ours rather than linfa-ensemble's because linfa-trees 0.8 picks a leaf's
/// class by iterating a `HashMap` of class weights, whose order is random per map: a leaf with
/// as much weight on both classes voted either way, and the pruning that follows every fit
/// (merging sibling leaves of the same class) merged differently — two fits with the same seed
/// gave different CV AUROCs. Here the bootstrap becomes sample weights we choose, with a tie
/// breaker that keeps the two classes' weights apart (with two classes every impurity sum has
/// two terms and does not depend on the order), and a leaf's score is its readmitted share of
/// the draws, not the vote — training twice gives the same artifact.
fn fit_forest(
    rows: &[&Example],
    p: &ForestParams,
) -> Result<impl Fn(&[&Example]) -> Vec<f64>, ModelError> {
    use rand::Rng;
    let pos: Vec<&Example> = rows.iter().copied().filter(|e| e.label).collect();
    let mut neg: Vec<&Example> = rows.iter().copied().filter(|e| !e.label).collect();
    neg.sort_by_key(|e| (fold_of(e.encounter_id, 1 << 30), e.encounter_id));
    neg.truncate(pos.len());
    let bal: Vec<&Example> = pos.into_iter().chain(neg).collect();
    if bal.is_empty() {
        return Err(ModelError::Training(
            "random forest: no readmitted rows to balance against".into(),
        ));
    }
    let x = matrix(&bal);
    let y: Vec<usize> = bal.iter().map(|e| usize::from(e.label)).collect();
    let n = bal.len();
    let n_draws = ((n as f64) * p.bootstrap_proportion).ceil() as usize;
    let n_feat =
        (((N_FEATURES as f64) * p.feature_proportion).ceil() as usize).clamp(1, N_FEATURES);
    let params = linfa_trees::DecisionTree::params()
        .max_depth(Some(p.max_depth))
        .min_weight_leaf(p.min_weight_leaf);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20_240_611);
    let mut trees = Vec::with_capacity(p.trees);
    for _ in 0..p.trees {
        let mut draws = vec![0u32; n];
        for _ in 0..n_draws {
            draws[rng.gen_range(0..n)] += 1;
        }
        let mut feats = rand::seq::index::sample(&mut rng, N_FEATURES, n_feat).into_vec();
        feats.sort_unstable();
        let drawn: Vec<usize> = (0..n).filter(|&i| draws[i] > 0).collect();
        let sub = x.select(Axis(0), &drawn).select(Axis(1), &feats);
        let sub_y: Array1<usize> = drawn.iter().map(|&i| y[i]).collect();
        // Readmitted draws weigh 1 + 2⁻¹¹ (exact in f32 below 8,192 draws) so the two classes
        // never weigh the same in a leaf; see above for why a tie must not happen.
        let weights: Array1<f32> = drawn
            .iter()
            .map(|&i| draws[i] as f32 * if y[i] == 1 { 1.0 + TIE_BREAK } else { 1.0 })
            .collect();
        let ds = DatasetBase::new(sub, sub_y).with_weights(weights);
        let tree = params
            .fit(&ds)
            .map_err(|e| ModelError::Training(e.to_string()))?;
        // Each leaf's readmitted share of the bootstrap weight that reached it.
        let mut leaves: std::collections::HashMap<*const (), (f64, f64)> =
            std::collections::HashMap::new();
        for (j, &i) in drawn.iter().enumerate() {
            let leaf = leaf_of(&tree, ds.records.row(j));
            let w = f64::from(draws[i]);
            let e = leaves.entry(leaf).or_insert((0.0, 0.0));
            e.0 += w * y[i] as f64;
            e.1 += w;
        }
        trees.push((tree, feats, leaves));
    }
    Ok(move |rows: &[&Example]| {
        let x = matrix(rows);
        let mut score = vec![0.0; rows.len()];
        for (tree, feats, leaves) in &trees {
            let sub = x.select(Axis(1), feats);
            for (s, row) in score.iter_mut().zip(sub.rows()) {
                // Every leaf holds at least one drawn row (min_weight_leaf ≥ 1), so the lookup
                // fails only for a tree whose root is a leaf fitted on nothing: score 0.5.
                let (r, w) = leaves
                    .get(&leaf_of(tree, row))
                    .copied()
                    .unwrap_or((0.5, 1.0));
                *s += r / w;
            }
        }
        let k = trees.len().max(1) as f64;
        score.iter().map(|v| v / k).collect()
    })
}

/// The leaf `row` reaches in `tree` (its address, stable while the tree lives), following
/// linfa-trees' own rule: left when the feature is below the split value.
fn leaf_of(
    tree: &linfa_trees::DecisionTree<f64, usize>,
    row: ndarray::ArrayView1<'_, f64>,
) -> *const () {
    let mut node = tree.root_node();
    while !node.is_leaf() {
        let (feature, split, _) = node.split();
        let children = node.children();
        let next = if row[feature] < split {
            children[0]
        } else {
            children[1]
        };
        match next {
            Some(child) => node = child,
            None => break,
        }
    }
    node as *const _ as *const ()
}

/// Extra weight of a readmitted draw in the forest's trees: a power of two, so sums of up to
/// 8,192 draws are exact in f32 and equal class weights need ≥ 2,048 readmitted draws in one
/// leaf with exactly 1/2,048 more of the others.
const TIE_BREAK: f32 = 1.0 / 2048.0;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 1.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Score bins of the training distribution: deciles of `sorted` (ties merged), outer bins
/// open-ended, as [`crate::metrics::monitor::ScoreHistogram`] bins them.
pub fn decile_histogram(sorted: &[f64]) -> Histogram {
    let mut edges = vec![0.0];
    for k in 1..10 {
        let q = quantile(sorted, f64::from(k) / 10.0);
        if q > edges[edges.len() - 1] && q < 1.0 {
            edges.push(q);
        }
    }
    edges.push(1.0);
    Histogram::of(edges, sorted.iter().copied())
}

/// Integer-valued feature bins `0, 1, …, top` (the last open-ended): edges at half integers.
fn integer_histogram(values: impl Iterator<Item = f64>, top: u32) -> Histogram {
    let edges = (0..=top + 1).map(|k| f64::from(k) - 0.5).collect();
    Histogram::of(edges, values)
}

fn feature_column<'e>(rows: &'e [&Example], name: &str) -> impl Iterator<Item = f64> + 'e {
    let j = crate::features::feature_index(name);
    rows.iter()
        .map(move |e| j.map_or(f64::NAN, |j| e.features.values()[j]))
}

/// Out-of-fold scores of one candidate and its CV AUROC.
struct Candidate {
    name: String,
    cv_auroc: f64,
    oof: Vec<f64>,
    alpha: Option<f64>,
}

/// Runs the whole training procedure. `progress` receives a short message per step and the
/// number of steps done / total.
pub fn train(
    data: &Data,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<Trained, ModelError> {
    let train: Vec<&Example> = data.split(Split::Train);
    let test: Vec<&Example> = data.split(Split::Test);
    if train.is_empty() || test.is_empty() {
        return Err(ModelError::Training("a split is empty".to_string()));
    }
    if opts.alphas.is_empty() {
        return Err(ModelError::Training(
            "no logistic-regression penalty to try (the served model is linear)".to_string(),
        ));
    }
    let folds = opts.folds.max(2);
    let fold: Vec<usize> = train
        .iter()
        .map(|e| fold_of(e.patient_nbr, folds))
        .collect();
    let labels: Vec<bool> = train.iter().map(|e| e.label).collect();
    let total = (opts.alphas.len() + opts.forests.len()) * folds + 2;
    let mut done = 0;
    let fit_rows_of = |k: usize| -> Vec<&Example> {
        train
            .iter()
            .zip(&fold)
            .filter(|(_, &f)| f != k)
            .map(|(e, _)| *e)
            .collect()
    };

    let mut tried: Vec<Candidate> = Vec::new();
    let mut convergence: Vec<(String, f64)> = Vec::new();
    let mut warm: Option<Array1<f64>> = None;
    for &alpha in &opts.alphas {
        let name = format!("logistic_regression(alpha={alpha})");
        let mut oof = vec![0.0; train.len()];
        let mut worst_gradient: f64 = 0.0;
        for k in 0..folds {
            progress(
                &format!("logistic alpha={alpha} fold {}/{folds}", k + 1),
                done,
                total,
            );
            // Warm start from the previous fit: same features, nearby optimum; deterministic.
            let fit = fit_logistic(
                &fit_rows_of(k),
                alpha,
                opts.max_iterations,
                opts.gradient_tolerance_per_row,
                warm.as_ref(),
            )?;
            worst_gradient = worst_gradient.max(fit.gradient_norm_per_row);
            for (i, e) in train.iter().enumerate() {
                if fold[i] == k {
                    oof[i] = linear_predictor(&fit.model, e);
                }
            }
            warm = Some(fit.internal);
            done += 1;
        }
        convergence.push((name.clone(), worst_gradient));
        tried.push(Candidate {
            cv_auroc: auroc(&oof, &labels),
            name,
            oof,
            alpha: Some(alpha),
        });
    }
    for forest in &opts.forests {
        let mut oof = vec![0.0; train.len()];
        for k in 0..folds {
            progress(
                &format!(
                    "random forest depth {} fold {}/{folds}",
                    forest.max_depth,
                    k + 1
                ),
                done,
                total,
            );
            let predict = fit_forest(&fit_rows_of(k), forest)?;
            let held: Vec<(usize, &Example)> = train
                .iter()
                .enumerate()
                .filter(|(i, _)| fold[*i] == k)
                .map(|(i, e)| (i, *e))
                .collect();
            let rows: Vec<&Example> = held.iter().map(|(_, e)| *e).collect();
            for ((i, _), p) in held.iter().zip(predict(&rows)) {
                oof[*i] = p;
            }
            done += 1;
        }
        tried.push(Candidate {
            name: forest.describe(),
            cv_auroc: auroc(&oof, &labels),
            oof,
            alpha: None,
        });
    }
    // Pick by CV AUROC; the first candidate wins ties (grid order is deterministic).
    let winner =
        tried.iter().enumerate().fold(
            0,
            |b, (i, c)| if c.cv_auroc > tried[b].cv_auroc { i } else { b },
        );
    let mut candidates: Vec<(String, f64)> =
        tried.iter().map(|c| (c.name.clone(), c.cv_auroc)).collect();
    // The serving path evaluates linear models only: when a forest wins CV, say so and ship
    // the best logistic model.
    let chosen = if tried[winner].alpha.is_some() {
        winner
    } else {
        let best_linear = tried
            .iter()
            .enumerate()
            .filter(|(_, c)| c.alpha.is_some())
            .fold(
                0,
                |b, (i, c)| if c.cv_auroc > tried[b].cv_auroc { i } else { b },
            );
        candidates.push((
            format!(
                "note: {} won CV but is not servable; shipping the best logistic model",
                tried[winner].name
            ),
            tried[winner].cv_auroc,
        ));
        best_linear
    };
    let Candidate {
        cv_auroc,
        oof,
        alpha,
        ..
    } = &tried[chosen];
    let alpha = alpha.unwrap_or(0.0);

    progress("Platt calibration on out-of-fold predictions", done, total);
    let (a, b) = fit_logistic_1d(oof, &labels);
    let mut oof_probs: Vec<f64> = oof.iter().map(|z| sigmoid(a * z + b)).collect();
    oof_probs.sort_by(f64::total_cmp);
    let prevalence = labels.iter().filter(|&&y| y).count() as f64 / labels.len() as f64;
    let thresholds = Thresholds {
        low_below: prevalence,
        high_at_or_above: quantile(&oof_probs, 0.9),
    };
    done += 1;

    progress("refit on the whole training split", done, total);
    let refit = fit_logistic(
        &train,
        alpha,
        opts.max_iterations,
        opts.gradient_tolerance_per_row,
        warm.as_ref(),
    )?;
    convergence.push((
        "final refit on the whole training split".to_string(),
        refit.gradient_norm_per_row,
    ));
    let linear = refit.model;
    let probability = |e: &Example| sigmoid(a * linear_predictor(&linear, e) + b);
    let test_probs: Vec<f64> = test.iter().map(|e| probability(e)).collect();
    let mut train_probs: Vec<f64> = train.iter().map(|e| probability(e)).collect();
    train_probs.sort_by(f64::total_cmp);
    let distributions = TrainingDistributions {
        score: decile_histogram(&train_probs),
        features: vec![
            (
                "age_decade".to_string(),
                integer_histogram(feature_column(&train, "age_decade"), 9),
            ),
            (
                "los_days".to_string(),
                integer_histogram(feature_column(&train, "los_days"), 14),
            ),
            (
                "inpatient_12m".to_string(),
                integer_histogram(feature_column(&train, "inpatient_12m"), 5),
            ),
        ],
    };
    let report = evaluate(&test, &test_probs);
    done += 1;
    progress("done", done, total);

    let artifact = Artifact {
        name: opts.name.clone(),
        model_version: opts.version,
        feature_schema_version: FEATURE_SCHEMA_VERSION,
        feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        training_data_sha256: data.sha256.clone(),
        linear,
        calibration: Platt { a, b },
        thresholds,
        training_distributions: Some(distributions),
        params: TrainParams {
            learner: "linfa-logistic L2 logistic regression on standardised features".into(),
            alpha,
            max_iterations: opts.max_iterations,
            gradient_tolerance_per_row: opts.gradient_tolerance_per_row,
            cv_folds: folds,
            row_limit: opts.row_limit,
            calibration: "Platt scaling fitted on out-of-fold linear predictors".into(),
            candidates,
            convergence,
        },
        metrics: ArtifactMetrics {
            cv_auroc: *cv_auroc,
            n_train: train.len(),
            train_prevalence: prevalence,
            excluded: Exclusions {
                death_or_hospice: data.excluded,
                continued_care: data.excluded_continued_care,
            },
            test: report,
        },
    };
    artifact.validate()?;
    Ok(Trained {
        artifact,
        test_probs,
    })
}
