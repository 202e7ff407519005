//! `readmit parse`: HL7 v2 files or stdin → one JSON (or text) object per message.

use std::process::ExitCode;

/// Arguments of `readmit parse`.
#[derive(clap::Args)]
pub struct Args {
    /// Files to read; standard input when none is given.
    pub files: Vec<std::path::PathBuf>,
}

/// Runs `readmit parse`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
