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
    // What is running, for whoever reads the logs later (no PHI: versions, names, counts).
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        model = scorer.model_id(),
        config = args
            .config
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        input = settings.topics.input.as_str(),
        group = settings.kafka.group_id.as_str(),
        collaboratives = settings.alerts.routing.collaboratives.len(),
        routing_rules = settings.alerts.routing.rules.len(),
        "Starting readmit."
    );
    let observability = Observability::new(&settings, scorer.model_id())?;
    let pipeline = observability.instrument(service::build_pipeline(&settings, scorer.clone())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let summary = runtime.block_on(async {
        let shutdown = readmit::shutdown::signal_token();
        // The endpoint outlives the signal: /readyz answers 503 while the run drains.
        let serve_stop = tokio_util::sync::CancellationToken::new();
        observability
            .readiness
            .stop_when_cancelled(shutdown.clone());
        // The endpoint logs its own "Metrics endpoint listening." line with the address.
        observability.serve(&settings, serve_stop.clone()).await?;
        let observer = observability.observer();
        let summary = service::run(settings, pipeline, shutdown, Some(observer)).await;
        observability.readiness.set_broker_reachable(false);
        serve_stop.cancel();
        summary
    })?;
    // A metadata request still in flight on a blocking thread (a stop during the start-up
    // topic check against an unreachable broker) must not hold the exit until its timeout.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let restored_records: u64 = summary.restores.iter().map(|r| r.records).sum();
    let restore_ms = summary
        .restores
        .iter()
        .map(|r| r.duration.as_millis() as u64)
        .max()
        .unwrap_or(0);
    let outcomes = summary
        .outcomes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    tracing::info!(
        messages = summary.messages_completed,
        records = summary.records_produced,
        dead_lettered = summary.dead_lettered,
        runtime_dead_lettered = summary.runtime_dead_lettered,
        outcomes = %outcomes,
        partitions_restored = summary.restores.len(),
        restored_records,
        slowest_restore_ms = restore_ms,
        abandoned_in_flight = summary.abandoned_in_flight,
        "Stopped."
    );
    Ok(ExitCode::SUCCESS)
}
