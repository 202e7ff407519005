//! `readmit parse`: HL7 v2 files or stdin → one JSON (or text) object per message.
//!
//! Output goes to stdout and contains the messages' PHI by design (the user's own data on their
//! terminal). Diagnostics go to stderr and name files, never message content.

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use readmit::parse_output::{self, Record};

/// Output format of `readmit parse`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per message per line.
    #[default]
    Json,
    /// An aligned `key: value` block per message.
    Text,
}

/// Arguments of `readmit parse`.
///
/// Exit status: 0 when every message parsed; 2 when at least one message could not be parsed
/// (its error is printed in place and the rest of the input is still processed); 1 when a file
/// could not be read (named on stderr; the other files are still processed).
#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 when every message parsed; 2 when at least one message \
could not be parsed (its error object is printed in its place and the rest is still read); 1 \
when a file could not be read (named on stderr; the other files are still read)."
)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Files to read (`-` for standard input); standard input when none is given.
    pub files: Vec<PathBuf>,
}

/// Exit status when a message could not be parsed.
const EXIT_BAD_MESSAGE: u8 = 2;
/// Exit status when an input could not be read.
const EXIT_UNREADABLE: u8 = 1;

/// Runs `readmit parse`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut bad_message = false;
    let mut unreadable = false;

    // No file given: standard input, as if `-` were.
    let stdin_only = [PathBuf::from("-")];
    let files = if args.files.is_empty() {
        &stdin_only[..]
    } else {
        &args.files[..]
    };
    let mut result = Ok(());
    for path in files {
        let stdin = path.as_os_str() == "-";
        let read = if stdin {
            let mut input = Vec::new();
            io::stdin().lock().read_to_end(&mut input).map(|_| input)
        } else {
            fs::read(path)
        };
        let input = match read {
            Ok(bytes) => bytes,
            Err(e) => {
                // Flush first so stderr lines appear after the records before them.
                out.flush().ok();
                let shown = if stdin {
                    "standard input".into()
                } else {
                    path.display().to_string()
                };
                eprintln!("readmit parse: cannot read {shown}: {e}");
                unreadable = true;
                continue;
            }
        };
        // Records from standard input carry no file name.
        let name = (!stdin).then(|| path.to_string_lossy());
        result = emit(
            &mut out,
            &input,
            name.as_deref(),
            args.format,
            &mut bad_message,
        );
        if result.is_err() {
            break;
        }
    }

    match result.and_then(|()| out.flush()) {
        Ok(()) => {}
        // `readmit parse big.hl7 | head`: the reader left, stop quietly.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e).context("writing to standard output"),
    }

    Ok(if unreadable {
        ExitCode::from(EXIT_UNREADABLE)
    } else if bad_message {
        ExitCode::from(EXIT_BAD_MESSAGE)
    } else {
        ExitCode::SUCCESS
    })
}

fn emit(
    out: &mut impl Write,
    input: &[u8],
    file: Option<&str>,
    format: Format,
    bad_message: &mut bool,
) -> io::Result<()> {
    for record in parse_output::records(input, file) {
        *bad_message |= record.is_error();
        write_record(out, &record, format)?;
    }
    let warnings = parse_output::count_warnings(input);
    if !warnings.is_empty() {
        // Keep stderr after the records it is about.
        out.flush()?;
        for w in warnings {
            eprintln!(
                "readmit parse: warning: {}: {w}",
                file.unwrap_or("standard input")
            );
        }
    }
    Ok(())
}

fn write_record(out: &mut impl Write, record: &Record, format: Format) -> io::Result<()> {
    match format {
        Format::Json => writeln!(out, "{}", record.to_json()),
        Format::Text => writeln!(out, "{}", record.to_text()),
    }
}
