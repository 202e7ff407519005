//! `readmit evaluate`: score the test split (patients with `patient_nbr % 5 == 0`) with a model
//! artifact and print discrimination, calibration, the LACE baseline and subgroup AUROC.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use readmit::model::dataset::{self, Split};
use readmit::model::evaluate::evaluate;
use readmit::model::LinearScorer;

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    /// Human-readable table.
    Text,
    /// One JSON object (keys: n, prevalence, auroc, brier, calibration_slope,
    /// calibration_intercept, lace_auroc, subgroups).
    Json,
}

/// Arguments of `readmit evaluate`.
#[derive(clap::Args)]
pub struct Args {
    /// Model artifact (`model.json` or its directory).
    #[arg(long, default_value = readmit::model::DEFAULT_ARTIFACT)]
    pub model: PathBuf,
    /// Evaluation data (gzip CSV of UCI Diabetes-130).
    #[arg(long, default_value = dataset::DEFAULT_DATA_PATH)]
    pub data: PathBuf,
    /// Skip the sha256 check of the data.
    #[arg(long)]
    pub skip_checksum: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `readmit evaluate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let scorer = LinearScorer::load(&args.model)
        .with_context(|| format!("loading model {}", args.model.display()))?;
    let expected = (!args.skip_checksum).then_some(dataset::EXPECTED_SHA256);
    let data = dataset::load(&args.data, expected, None)
        .with_context(|| format!("loading data from {}", args.data.display()))?;
    let test = data.split(Split::Test);
    let probs: Vec<f64> = test
        .iter()
        .map(|e| scorer.probability(e.features.values()))
        .collect();
    let report = evaluate(&test, &probs);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", report.to_text()),
    }
    Ok(ExitCode::SUCCESS)
}
