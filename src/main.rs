//! The `readmit` command line: a thin layer over the library, and the only place `anyhow` lives.
//! Each subcommand's arguments and body live in `src/cmd/<name>.rs`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// mimalloc instead of glibc malloc: the service allocates and frees many small buffers per
/// message (owned input copies, output records, JSON), and glibc's malloc/free took ~14 % of
/// its CPU in a `perf` profile of `readmit loadtest` (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "readmit",
    version,
    about = "Scores 30-day readmission risk from HL7 v2 ADT streams and routes care-transition alerts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the stream processor: consume ADT from Kafka, score discharges, publish alerts.
    Run(cmd::run::Args),
    /// Parse HL7 v2 files (or stdin) and print one object per message.
    Parse(cmd::parse::Args),
    /// Train the readmission model on the vendored UCI data; writes models/<name>-v<N>/.
    Train(cmd::train::Args),
    /// Evaluate a model artifact on the test split (patient_nbr % 5 == 0).
    Evaluate(cmd::evaluate::Args),
    /// Turn Diabetes-130 encounters into HL7 v2.5 ADT streams (file, MLLP or Kafka).
    Simulate(cmd::simulate::Args),
    /// See readmit work with no Kafka installed: in-process broker, simulator, live alerts, metrics.
    Demo(cmd::demo::Args),
    /// Measure throughput against a passthrough ceiling, fixed-rate latency, backlog drain, state memory.
    Loadtest(cmd::loadtest::Args),
    /// Load and validate the layered configuration; print it with secrets redacted.
    CheckConfig(cmd::check_config::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Parse(args) => cmd::parse::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Evaluate(args) => cmd::evaluate::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::CheckConfig(args) => cmd::check_config::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Loadtest(args) => cmd::loadtest::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("readmit: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, for a person: no backtrace (a user error is not a
/// crash, even with `RUST_BACKTRACE=1` set), and a cause whose text the message before it
/// already contains (our errors often include their source's text) is not repeated.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
