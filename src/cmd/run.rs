//! `readmit run`: the stream processor — consume ADT from Kafka, score discharges, publish
//! alerts — until SIGTERM/SIGINT, then drain, flush and commit.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use readmit::config::Settings;
use readmit::model::Scorer;
use readmit::service::{self, Observability};

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
    readmit::telemetry::init(&settings.log).context("setting up logging")?;
    let scorer = service::load_scorer(&settings)?;
    let observability = Observability::new(&settings, scorer.model_id())?;
    let pipeline = observability.instrument(service::build_pipeline(&settings, scorer.clone())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = runtime.block_on(async {
        let shutdown = readmit::shutdown::signal_token();
        if let Some(addr) = observability.serve(&settings, shutdown.clone()).await? {
            tracing::info!(%addr, "Serving /metrics, /healthz and /readyz.");
        }
        let observer = observability.observer();
        let summary = service::run(settings, pipeline, shutdown, Some(observer)).await;
        observability.readiness.set_broker_reachable(false);
        summary
    })?;
    tracing::info!(
        messages = summary.messages_completed,
        records = summary.records_produced,
        dead_lettered = summary.dead_lettered,
        "Stopped."
    );
    Ok(ExitCode::SUCCESS)
}
