//! Tracing subscriber setup (the `[log]` settings) and the per-message span.
//!
//! * `log.format`: `json` (one JSON object per line, for log shippers), `text` (readable, for
//!   terminals) or `auto` (the default: `text` when stderr is a terminal, else `json`).
//! * `log.level`: an `EnvFilter` directive in `RUST_LOG` syntax, e.g. `info` or
//!   `info,readmit::runtime=debug,librdkafka=warn`; set it from the environment with
//!   `READMIT__LOG__LEVEL` (the config layer is the only place that reads the environment).
//!   Span field values in a directive (`[message{trigger="A03"}]=debug`) match the field's
//!   `Debug` text literally, never as a regular expression.
//!
//! Logs go to stderr, so commands that print results on stdout stay pipeable.
//!
//! Levels, as Vector uses them: `error` only when an operator must act, `warn` when we
//! recovered, `info` for lifecycle, and nothing per message above `debug`. Fields first, then a
//! capitalised sentence ending in a period: `info!(partitions = 3, "Partitions assigned.")`.
//! No PHI in fields, messages or spans: [`message_span`] carries topic, partition, offset and
//! trigger only.

use std::io::IsTerminal;

use serde::Deserialize;
use tracing::Span;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Errors setting up logging.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `log.level` is not a valid filter directive.
    #[error("log.level ({level}) is not a valid filter (e.g. \"info\" or \"info,readmit=debug\"): {reason}")]
    Filter {
        /// The directive as given (operator-supplied config, not PHI).
        level: String,
        /// The parser's reason.
        reason: String,
    },
    /// A global subscriber was already installed.
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Output format of log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON objects, one per line.
    Json,
    /// Human-readable lines.
    Text,
    /// `text` on a terminal, `json` otherwise.
    #[default]
    Auto,
}

/// `[log]`: log format and filter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `json`, `text` or `auto`.
    pub format: LogFormat,
    /// Filter directives in `RUST_LOG` syntax.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            level: "info".into(),
        }
    }
}

impl LogSettings {
    /// Checks `level`; the error names the key.
    pub fn validate(&self) -> Result<(), TelemetryError> {
        self.filter().map(|_| ())
    }

    fn filter(&self) -> Result<EnvFilter, TelemetryError> {
        // tracing-subscriber 0.3 panics (slices inside a character) on a directive that starts
        // with a non-ASCII character such as U+2008 (config_load fuzz). Targets, levels and
        // field names are ASCII, so refuse anything else before it parses.
        if !self.level.is_ascii() {
            return Err(TelemetryError::Filter {
                level: self.level.escape_default().to_string(),
                reason: "only ASCII characters are allowed".to_string(),
            });
        }
        // Field values in span directives (`[span{field=value}]`) match literally, not as
        // regular expressions: compiling one into tracing-subscriber's DFA can take gigabytes
        // (config_load fuzz: a 250-byte `log.level` ran out of 2 GiB), so a config value could
        // take the service down at start.
        EnvFilter::builder()
            .with_regex(false)
            .parse(self.level.trim())
            .map_err(|e| TelemetryError::Filter {
                level: self.level.clone(),
                reason: e.to_string(),
            })
    }

    /// The concrete format: `auto` resolves by whether `is_terminal`.
    pub fn resolved_format(&self, is_terminal: bool) -> LogFormat {
        match self.format {
            LogFormat::Auto if is_terminal => LogFormat::Text,
            LogFormat::Auto => LogFormat::Json,
            other => other,
        }
    }
}

/// Builds the subscriber for `settings`, writing to `writer` (`is_terminal` resolves `auto`).
/// Tests pass their own writer and use `tracing::subscriber::with_default`.
pub fn subscriber<W>(
    settings: &LogSettings,
    writer: W,
    is_terminal: bool,
) -> Result<Box<dyn tracing::Subscriber + Send + Sync>, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = settings.filter()?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    Ok(match settings.resolved_format(is_terminal) {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Text | LogFormat::Auto => Box::new(builder.with_ansi(is_terminal).finish()),
    })
}

/// Installs the global subscriber for `settings`, writing to stderr. Call once at start-up,
/// after loading the configuration.
pub fn init(settings: &LogSettings) -> Result<(), TelemetryError> {
    let is_terminal = std::io::stderr().is_terminal();
    let subscriber = subscriber(settings, std::io::stderr, is_terminal)?;
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|_| TelemetryError::AlreadyInstalled)
}

/// The span for processing one input record: `topic`, `partition`, `offset`, and an empty
/// `trigger` to fill with [`record_trigger`] once parsed. Never add patient fields.
pub fn message_span(topic: &str, partition: i32, offset: i64) -> Span {
    tracing::info_span!(
        "message",
        topic,
        partition,
        offset,
        trigger = tracing::field::Empty
    )
}

/// Records the trigger event code (`A03`) on a [`message_span`]; bounded via
/// [`crate::metrics::trigger_label`], so odd codes show as `other`.
pub fn record_trigger(span: &Span, trigger: Option<&str>) {
    span.record("trigger", crate::metrics::trigger_label(trigger));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn emit(settings: &LogSettings, is_terminal: bool) -> String {
        let buffer = Buffer::default();
        let sub = subscriber(settings, buffer.clone(), is_terminal).unwrap();
        tracing::subscriber::with_default(sub, || {
            let span = message_span("adt.events", 3, 42);
            let _guard = span.enter();
            record_trigger(&span, Some("A03"));
            tracing::debug!(records = 2, "Message processed.");
            tracing::info!(records = 1, "Partition restored.");
        });
        buffer.text()
    }

    #[test]
    fn json_lines_carry_the_message_span_fields() {
        let settings = LogSettings {
            format: LogFormat::Json,
            level: "info".into(),
        };
        let out = emit(&settings, true);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "debug is filtered out: {out}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "Partition restored.");
        assert_eq!(v["records"], 1);
        assert_eq!(v["span"]["name"], "message");
        assert_eq!(v["span"]["topic"], "adt.events");
        assert_eq!(v["span"]["partition"], 3);
        assert_eq!(v["span"]["offset"], 42);
        assert_eq!(v["span"]["trigger"], "A03");
    }

    #[test]
    fn text_format_and_debug_filter() {
        let settings = LogSettings {
            format: LogFormat::Text,
            level: "info,readmit=debug".into(),
        };
        let out = emit(&settings, false);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.contains("Message processed."));
        assert!(
            out.contains("topic=\"adt.events\"") || out.contains("topic=adt.events"),
            "{out}"
        );
        assert!(!out.trim_start().starts_with('{'), "not JSON: {out}");
        assert!(!out.contains('\u{1b}'), "no colours off a terminal: {out}");
    }

    #[test]
    fn auto_is_text_on_a_terminal_and_json_otherwise() {
        let auto = LogSettings::default();
        assert_eq!(auto.resolved_format(true), LogFormat::Text);
        assert_eq!(auto.resolved_format(false), LogFormat::Json);
        let out = emit(&auto, false);
        assert!(out.trim_start().starts_with('{'), "{out}");
    }

    #[test]
    fn bad_level_names_the_key() {
        let settings = LogSettings {
            format: LogFormat::Text,
            level: "info,readmit=loud".into(),
        };
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.starts_with("log.level (info,readmit=loud)"), "{err}");
        assert!(subscriber(&settings, Buffer::default(), false).is_err());
    }

    /// Regression (config_load fuzz crash): a directive starting with a non-ASCII space made
    /// tracing-subscriber panic; it is now a configuration error naming the key.
    #[test]
    fn non_ascii_level_is_an_error_not_a_panic() {
        let settings = LogSettings {
            format: LogFormat::Json,
            level: "nfi,\u{2008}[alerts.interventions]".into(),
        };
        let err = settings.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("log.level (nfi,\\u{2008}[alerts.interventions])"),
            "{err}"
        );
        assert!(err.contains("only ASCII"), "{err}");
        assert!(subscriber(&settings, Buffer::default(), false).is_err());
    }

    /// config_load fuzz found a `log.level` whose span-field value, compiled as a regex,
    /// took more than 2 GiB: field values now match literally, so it is a cheap directive.
    #[test]
    fn a_field_value_is_not_compiled_as_a_regex() {
        let seed = include_str!("../fuzz/seeds/config_load/regression-log-level-regex-blowup.toml");
        let level = seed
            .lines()
            .find_map(|l| l.strip_prefix("level= "))
            .map(|v| v.trim_matches('"'))
            .expect("seed has a level");
        assert!(level.contains("++++++"), "the seed's value: {level}");
        let settings = LogSettings {
            format: LogFormat::Json,
            level: level.into(),
        };
        // With regex compilation this ran out of 2 GiB; read literally it is an ordinary
        // (malformed) directive: a configuration error naming the key, at once.
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.starts_with("log.level ("), "{err}");
        assert!(subscriber(&settings, Buffer::default(), false).is_err());

        // And a value with regex metacharacters matches only itself (as `Debug` shows it:
        // a string in quotes).
        let logged = |value: &str| {
            let settings = LogSettings {
                format: LogFormat::Json,
                level: r#"warn,[partition{topic="adt.e.*"}]=debug"#.into(),
            };
            let buffer = Buffer::default();
            let sub = subscriber(&settings, buffer.clone(), false).unwrap();
            tracing::subscriber::with_default(sub, || {
                let span = tracing::info_span!("partition", topic = value);
                let _guard = span.enter();
                tracing::debug!("inside");
            });
            buffer.text().contains("inside")
        };
        assert!(logged("adt.e.*"));
        assert!(!logged("adt.events"), "the value is not a pattern");
    }

    #[test]
    fn settings_deserialize_and_reject_unknown_keys() {
        let s: LogSettings =
            serde_json::from_str(r#"{"format": "json", "level": "warn"}"#).unwrap();
        assert_eq!(s.format, LogFormat::Json);
        assert!(serde_json::from_str::<LogSettings>(r#"{"fmt": "json"}"#).is_err());
        assert!(serde_json::from_str::<LogSettings>(r#"{"format": "yaml"}"#).is_err());
    }
}
