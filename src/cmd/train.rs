//! `readmit train`: fit the readmission model on the vendored UCI data and write the artifact,
//! model card and plots into `models/<name>-v<version>/`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use readmit::features::FEATURE_NAMES;
use readmit::model::dataset::{self, Split};
use readmit::model::train::{fold_of, train, TrainOptions};
use readmit::model::{card, plots};

/// Arguments of `readmit train`.
#[derive(clap::Args)]
// Negative values reach the value checks, which name the option, instead of clap's
// "unexpected argument '-0'".
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Training data (gzip CSV of UCI Diabetes-130).
    #[arg(long, default_value = dataset::DEFAULT_DATA_PATH)]
    pub data: PathBuf,
    /// Directory that receives `<name>-v<version>/`.
    #[arg(long, default_value = readmit::model::DEFAULT_MODELS_DIR)]
    pub out: PathBuf,
    /// Model version written into the artifact and its directory name.
    #[arg(long, default_value_t = 1)]
    pub version: u32,
    /// Use only the first N data rows (for quick runs and tests).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Skip the sha256 check of the data (required for any file other than the vendored one).
    #[arg(long)]
    pub skip_checksum: bool,
    /// Trees per random-forest candidate (0 = logistic regression only).
    #[arg(long, default_value_t = 20)]
    pub forest_trees: usize,
    /// L2 penalties tried for logistic regression (comma-separated; default: the committed
    /// model's grid).
    #[arg(long, value_delimiter = ',', value_parser = positive_alpha)]
    pub alphas: Option<Vec<f64>>,
    /// Maximum L-BFGS iterations per logistic fit (at least 1).
    #[arg(long, value_parser = super::at_least_one::<u64>)]
    pub max_iterations: Option<u64>,
    /// Write the feature matrix + label + patient_nbr + split + fold as CSV here (for
    /// `scripts/sklearn_baseline.py`) and exit without training.
    #[arg(long)]
    pub export_features: Option<PathBuf>,
    /// Re-render `MODEL_CARD.md` of the existing artifact in `<out>/<name>-v<version>/` (for
    /// example after `scripts/sklearn_baseline.py` wrote `sklearn_baseline.json` beside it) and
    /// exit without training.
    #[arg(long, conflicts_with = "export_features")]
    pub card_only: bool,
    /// Replace an existing artifact in `<out>/<name>-v<version>/` (by default training refuses:
    /// `models/readmit-lr-v1/` is the model `run`, `demo` and `evaluate` load).
    #[arg(long)]
    pub force: bool,
}

/// Runs `readmit train`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // `<out>/<name>-v<version>/`, as `Artifact::dir_name` names it once trained.
    let artifact_dir = args.out.join(format!(
        "{}-v{}",
        TrainOptions::default().name,
        args.version
    ));
    if args.card_only {
        let dir = artifact_dir;
        let artifact = readmit::model::Artifact::load(&dir)?;
        card::write(&dir, &artifact)?;
        eprintln!("wrote {}", dir.join("MODEL_CARD.md").display());
        return Ok(ExitCode::SUCCESS);
    }
    // Refuse before the work, not after: a quick `--limit` run must not replace the model the
    // service loads without being asked to.
    if args.export_features.is_none() && !args.force {
        let existing = artifact_dir.join("model.json");
        if existing.exists() {
            anyhow::bail!(
                "{} exists (the model run, demo and evaluate load by default); pass --force to \
                 replace it, or write elsewhere with --out DIR or --version N",
                existing.display()
            );
        }
        // An unusable --out used to fail only after the whole training.
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("creating the output directory {}", args.out.display()))?;
    }
    let expected = (!args.skip_checksum).then_some(dataset::EXPECTED_SHA256);
    let data = dataset::load(&args.data, expected, args.limit)
        .with_context(|| format!("loading training data from {}", args.data.display()))?;
    eprintln!(
        "read {} rows ({} excluded: death/hospice; {} excluded: transfer to another acute \
         hospital / still a patient), {} usable; data sha256 {}",
        data.rows_read,
        data.excluded,
        data.excluded_continued_care,
        data.examples.len(),
        data.sha256
    );
    if let Some(path) = &args.export_features {
        export(&data, path)?;
        eprintln!("wrote features to {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let defaults = TrainOptions::default();
    let opts = TrainOptions {
        version: args.version,
        forests: TrainOptions::forest_grid(args.forest_trees),
        alphas: args.alphas.unwrap_or(defaults.alphas.clone()),
        max_iterations: args.max_iterations.unwrap_or(defaults.max_iterations),
        row_limit: args.limit,
        ..defaults
    };
    let started = std::time::Instant::now();
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let trained = train(&data, &opts, &mut |msg, done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(msg.to_string());
        if bar.is_hidden() {
            // Not a terminal (CI, logs): one line per step instead of a bar.
            eprintln!(
                "[{:>6.1}s {done}/{total}] {msg}",
                started.elapsed().as_secs_f64()
            );
        }
    })?;
    bar.finish_and_clear();
    let a = &trained.artifact;
    let dir = args.out.join(a.dir_name());
    let file = a.save(&dir)?;
    let test: Vec<_> = data.split(Split::Test);
    let labels: Vec<bool> = test.iter().map(|e| e.label).collect();
    let lace: Vec<f64> = test.iter().map(|e| e.lace).collect();
    plots::roc_png(&dir.join("roc.png"), &trained.test_probs, &lace, &labels)?;
    plots::calibration_png(&dir.join("calibration.png"), &trained.test_probs, &labels)?;
    card::write(&dir, a)?;
    for (name, auroc) in &a.params.candidates {
        eprintln!("cv AUROC {auroc:.4}  {name}");
    }
    for (name, g) in &a.params.convergence {
        eprintln!("final gradient norm per row {g:.2e}  {name}");
    }
    eprintln!("wrote {}", file.display());
    println!("{}", a.metrics.test.to_text());
    Ok(ExitCode::SUCCESS)
}

fn export(data: &dataset::Data, path: &std::path::Path) -> anyhow::Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    write!(
        w,
        "encounter_id,patient_nbr,split,fold,label,race,sex,age_band"
    )?;
    for n in FEATURE_NAMES {
        write!(w, ",{n}")?;
    }
    writeln!(w)?;
    let folds = TrainOptions::default().folds;
    for e in &data.examples {
        write!(
            w,
            "{},{},{},{},{},{},{:?},{}",
            e.encounter_id,
            e.patient_nbr,
            e.split.as_str(),
            fold_of(e.patient_nbr, folds),
            u8::from(e.label),
            e.race.label(),
            e.sex,
            e.age.decade()
        )?;
        for v in e.features.values() {
            write!(w, ",{v}")?;
        }
        writeln!(w)?;
    }
    w.flush()?;
    Ok(())
}

/// `--alphas`: each a finite L2 penalty above 0 (0 and negative values trained and then failed
/// with an unrelated tier-threshold error, or trained a degenerate model).
fn positive_alpha(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(a) if a.is_finite() && a > 0.0 => Ok(a),
        Ok(_) => Err("each alpha must be a finite number above 0".into()),
        Err(e) => Err(e.to_string()),
    }
}
