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
    /// Trees in the random-forest candidate (0 = logistic regression only).
    #[arg(long, default_value_t = 30)]
    pub forest_trees: usize,
    /// Write the feature matrix + label + patient_nbr + split + fold as CSV here (for
    /// `scripts/sklearn_baseline.py`) and exit without training.
    #[arg(long)]
    pub export_features: Option<PathBuf>,
}

/// Runs `readmit train`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let expected = (!args.skip_checksum).then_some(dataset::EXPECTED_SHA256);
    let data = dataset::load(&args.data, expected, args.limit)
        .with_context(|| format!("loading training data from {}", args.data.display()))?;
    eprintln!(
        "read {} rows ({} excluded: death/hospice), {} usable; data sha256 {}",
        data.rows_read,
        data.excluded,
        data.examples.len(),
        data.sha256
    );
    if let Some(path) = &args.export_features {
        export(&data, path)?;
        eprintln!("wrote features to {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let opts = TrainOptions {
        version: args.version,
        forest_trees: args.forest_trees,
        row_limit: args.limit,
        ..TrainOptions::default()
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
