//! `readmit demo`: the whole pipeline on one machine — in-process Kafka mock cluster,
//! simulator, processor, metrics endpoint and a live view of the alerts. The work is
//! `readmit::demo`; this module parses options, sets up logging and the runtime.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use readmit::demo::{self, DemoOptions};

/// Arguments of `readmit demo`.
#[derive(clap::Args, Debug)]
// Negative values reach the value checks, which name the option, instead of clap's
// "unexpected argument '-0'".
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Stop after this many discharges were scored, print the summary and exit (at least 1).
    #[arg(long, value_name = "N", value_parser = super::at_least_one::<u64>)]
    pub discharges: Option<u64>,
    /// Simulator messages per second (0 = as fast as possible).
    #[arg(long, value_name = "MSG_PER_SEC", default_value_t = 20.0)]
    pub rate: f64,
    /// Port of the Prometheus endpoint on 127.0.0.1 (0 = any free port).
    #[arg(long, value_name = "PORT", default_value_t = 9464)]
    pub metrics_port: u16,
    /// Use this Kafka broker instead of the in-process mock cluster (topics are created
    /// there with a per-run prefix).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_servers: Option<String>,
    /// Keep running (serving metrics) after --discharges is reached, until Ctrl-C.
    #[arg(long)]
    pub keep_running: bool,
    /// Fraction of malformed messages the simulator adds (they go to the dead-letter topic).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.02)]
    pub malformed: f64,
    /// The Diabetes-130 file.
    #[arg(long, value_name = "FILE", default_value = demo::DEFAULT_DATA)]
    pub data: PathBuf,
    /// Model artifact directory (default: the bundled model).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Seconds between summary lines.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub summary_every: u64,
}

/// Runs the demo.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        bail!("--rate must be 0 (as fast as possible) or a positive number of messages per second");
    }
    if !(args.malformed.is_finite() && (0.0..=1.0).contains(&args.malformed)) {
        bail!("--malformed must be a fraction between 0 and 1");
    }
    if !args.data.exists() {
        bail!(
            "dataset {} not found: run readmit demo from the repository root or pass --data FILE",
            args.data.display()
        );
    }
    // Logs go to stderr and only warnings: stdout is the demo's view.
    let log = readmit::telemetry::LogSettings {
        level: std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        ..Default::default()
    };
    readmit::telemetry::init(&log).context("setting up logging")?;
    let opts = DemoOptions {
        bootstrap_servers: args.bootstrap_servers,
        rate: args.rate,
        discharges: args.discharges,
        keep_running: args.keep_running,
        metrics_port: args.metrics_port,
        data: args.data,
        malformed: args.malformed,
        model: args.model,
        summary_every: Duration::from_secs(args.summary_every.max(1)),
        color: std::io::stdout().is_terminal(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let shutdown = readmit::shutdown::signal_token();
        let mut out = std::io::stdout();
        demo::run(opts, shutdown, &mut out).await
    })?;
    Ok(ExitCode::SUCCESS)
}
