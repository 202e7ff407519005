//! `readmit run`: the stream processor — consume ADT from Kafka, score discharges, publish
//! alerts — until SIGTERM/SIGINT, then drain, flush and commit.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use readmit::config::Settings;
use readmit::service;

/// Arguments of `readmit run`.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file layered over the defaults (environment `READMIT__SECTION__KEY` wins).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs the service.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(args.config.as_deref())?;
    let scorer = service::load_scorer(&settings)?;
    let pipeline = service::build_pipeline(&settings, scorer)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = runtime.block_on(async {
        let shutdown = readmit::shutdown::signal_token();
        service::run(settings, pipeline, shutdown, None).await
    })?;
    eprintln!(
        "readmit run stopped: {} messages completed, {} records produced, {} dead-lettered",
        summary.messages_completed, summary.records_produced, summary.dead_lettered
    );
    Ok(ExitCode::SUCCESS)
}
