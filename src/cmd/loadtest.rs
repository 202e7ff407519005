//! `readmit loadtest`: the load harness (passthrough ceiling vs. the service, fixed-rate
//! latency, backlog catch-up) and, with `--memory`, the state memory per patient. The work is
//! `readmit::loadtest`; this module parses options, sets up logging and the runtime.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use readmit::loadtest::{self, LoadOptions};

/// Arguments of `readmit loadtest`.
#[derive(clap::Args, Debug)]
// Negative values reach the value checks, which name the option, instead of clap's
// "unexpected argument '-0'".
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Use this Kafka broker instead of the in-process mock cluster (topics are created
    /// there with a per-run prefix).
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_servers: Option<String>,
    /// Messages pre-loaded for the passthrough / readmit throughput comparison. On the
    /// in-process broker at most about 9,000 per partition fit (the run refuses more).
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub messages: usize,
    /// Partitions of the input and every other topic.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub partitions: i32,
    /// Offered rates of the latency phases, msg/s, comma-separated ("" = skip them).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "1000,10000",
        value_delimiter = ','
    )]
    pub rates: Vec<String>,
    /// Seconds each latency phase offers its rate.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub latency_seconds: f64,
    /// Also time draining this many queued messages with 1 and with 2 instances/partitions
    /// (on the in-process broker at most about 9,000: the one-instance run queues them all on
    /// one partition).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub backlog: usize,
    /// Measure state memory per patient and restore time instead: load this many patients'
    /// histories into one partition's state (e.g. 1000000).
    #[arg(long, value_name = "PATIENTS", value_parser = super::at_least_one::<u64>)]
    pub memory: Option<u64>,
    /// The Diabetes-130 file.
    #[arg(long, value_name = "FILE", default_value = readmit::demo::DEFAULT_DATA)]
    pub data: PathBuf,
    /// Model artifact directory (default: the bundled model).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Fail a phase after this many seconds without progress.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub stall_seconds: u64,
    /// `producer.linger_ms` of the service and the passthrough (default: the shipped default).
    #[arg(long, value_name = "MS")]
    pub linger_ms: Option<u64>,
    /// Extra librdkafka property for every client of the run, e.g.
    /// `--librdkafka fetch.wait.max.ms=5` (repeatable; same rules as `kafka.librdkafka`).
    #[arg(long, value_name = "KEY=VALUE")]
    pub librdkafka: Vec<String>,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the load test and prints the report.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut rates = Vec::new();
    for r in args
        .rates
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
    {
        match r.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => rates.push(v),
            _ => bail!("--rates: {r:?} is not a positive number of messages per second"),
        }
    }
    if !(args.latency_seconds.is_finite() && args.latency_seconds > 0.0) {
        bail!("--latency-seconds must be a positive number");
    }
    if !args.data.exists() {
        bail!(
            "dataset {} not found: run readmit loadtest from the repository root or pass --data FILE",
            args.data.display()
        );
    }
    let mut librdkafka = Vec::new();
    for kv in &args.librdkafka {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--librdkafka expects KEY=VALUE");
        };
        librdkafka.push((k.trim().to_string(), v.trim().to_string()));
    }
    let log = readmit::telemetry::LogSettings {
        level: std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        ..Default::default()
    };
    readmit::telemetry::init(&log).context("setting up logging")?;
    let opts = LoadOptions {
        bootstrap_servers: args.bootstrap_servers,
        messages: args.messages,
        partitions: args.partitions,
        rates,
        latency_seconds: args.latency_seconds,
        backlog: args.backlog,
        data: args.data,
        model: args.model,
        stall_seconds: args.stall_seconds,
        progress: !args.quiet,
        linger_ms: args.linger_ms,
        librdkafka,
    };
    if let Some(patients) = args.memory {
        let report = loadtest::memory::run(&opts, patients)?;
        print!("{}", report.render());
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(loadtest::run(&opts))?;
    print!("{}", report.render());
    Ok(ExitCode::SUCCESS)
}
