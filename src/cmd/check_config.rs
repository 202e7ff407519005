//! `readmit check-config`: load the layered configuration exactly as the service does, validate
//! it, and print the effective settings (TOML or JSON) with secrets redacted.
//!
//! Exit status: 0 when the configuration is valid (it is printed on stdout); 1 when it cannot
//! be loaded (unknown key, wrong type, unreadable file), fails validation, or names a
//! pseudonym key or model artifact that `readmit run` would refuse at start (skipped with
//! `--config-only`); every problem is printed on stderr naming its key.
//!
//! Rendering: `Settings` implements `Debug` (with [`Secret`](readmit::config::Secret) printing
//! `[redacted]`) but not `Serialize`, and the config module is not ours to change, so the
//! effective settings are rendered from their `Debug` form by a small parser below
//! ([`debug_to_json`]). That keeps redaction in the one place that owns it and picks up new
//! settings without changes here. Unit variants print in snake_case, as serde reads them.
//! Once `Settings` derives `Serialize` (with `Secret` serialising as `"[redacted]"`), replace
//! [`debug_to_json`] with `serde_json::to_value(&settings)`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use readmit::config::{Settings, Sources, DEFAULT_CONFIG_FILE};

/// Output format of the effective configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// TOML, the format of configuration files.
    #[default]
    Toml,
    /// Pretty-printed JSON.
    Json,
}

/// Arguments of `readmit check-config`.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file layered over `config/default.toml` (as `readmit run --config`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format of the effective configuration.
    #[arg(long, value_enum, default_value_t = Format::Toml)]
    pub format: Format,
    /// Check the configuration only, not the files `readmit run` loads at start (the
    /// pseudonym key and the model artifact): for checking a file on a machine that lacks them.
    #[arg(long)]
    pub config_only: bool,
}

/// Runs `readmit check-config`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = match Settings::load_from(Sources {
        default_file: Some(PathBuf::from(DEFAULT_CONFIG_FILE)),
        file: args.config.clone(),
        env: None,
        env_prefix: None,
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("readmit check-config: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut problems = problems(&settings);
    if !args.config_only {
        problems.extend(startup_problems(&settings));
    }
    if !problems.is_empty() {
        eprintln!(
            "readmit check-config: invalid configuration:\n  - {}",
            problems.join("\n  - ")
        );
        return Ok(ExitCode::FAILURE);
    }
    let value = debug_to_json(&format!("{settings:?}")).context("rendering the settings")?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&value)? + "\n",
        Format::Toml => toml::to_string(&strip_nulls(value)).context("rendering TOML")?,
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Every validation problem: `Settings::validate`, plus the settings owned by the telemetry
/// and metrics modules.
fn problems(settings: &Settings) -> Vec<String> {
    let mut problems = Vec::new();
    match settings.validate() {
        Ok(()) => {}
        Err(readmit::config::ConfigError::Invalid(list)) => problems.extend(list),
        Err(other) => problems.push(other.to_string()),
    }
    if let Err(e) = settings.log.validate() {
        problems.push(e.to_string());
    }
    if let Err(e) = readmit::metrics::http::parse_listen(&settings.metrics.listen) {
        problems.push(e.to_string());
    }
    problems
}

/// What `readmit run` refuses at start before it connects to Kafka: a missing, unreadable or
/// too short pseudonym key, and a model artifact that cannot be loaded or does not match this
/// build's features. Each names its setting; none shows a key.
fn startup_problems(settings: &Settings) -> Vec<String> {
    use readmit::service::{self, ServiceError};
    let mut problems = Vec::new();
    match service::pseudonymizer(settings) {
        Ok(_) => {}
        Err(ServiceError::Key(e)) => {
            let setting = if settings.pseudonym.key.is_some() {
                "pseudonym.key"
            } else {
                "pseudonym.key_file"
            };
            problems.push(format!("{setting}: {e}"));
        }
        Err(e) => problems.push(e.to_string()),
    }
    match service::load_scorer(settings) {
        Ok(_) => {}
        Err(ServiceError::Model(e)) => problems.push(format!("model.path: {e}")),
        Err(e) => problems.push(e.to_string()),
    }
    problems
}

/// Drops `null` (unset optional settings): TOML has no null.
fn strip_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .into_iter()
                .filter(|v| !v.is_null())
                .map(strip_nulls)
                .collect(),
        ),
        other => other,
    }
}

/// Converts derived `Debug` output (`Name { field: value, .. }`, `Some(x)`, `None`, strings,
/// numbers, booleans, `[..]`, `{k: v}` maps, unit variants, `[redacted]`) into JSON: structs
/// and maps become objects, `None` becomes null, `Some(x)` becomes `x`, unit variants become
/// snake_case strings.
pub fn debug_to_json(text: &str) -> anyhow::Result<serde_json::Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        bail!("unexpected trailing input at byte {}", p.i);
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> anyhow::Result<()> {
        if !self.eat(c) {
            bail!("expected '{}' at byte {}", c as char, self.i);
        }
        Ok(())
    }

    fn ident(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn value(&mut self) -> anyhow::Result<serde_json::Value> {
        match self.peek() {
            Some(b'"') => self.string().map(serde_json::Value::String),
            Some(b'\'') => {
                // char literal: 'x'
                self.i += 1;
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != b'\'' {
                    self.i += if self.s[self.i] == b'\\' { 2 } else { 1 };
                }
                let c = String::from_utf8_lossy(&self.s[start..self.i.min(self.s.len())]);
                self.i += 1;
                Ok(serde_json::Value::String(c.into_owned()))
            }
            Some(b'[') => self.seq(),
            Some(b'{') => self.map(),
            Some(b'(') => {
                self.i += 1;
                self.items(b')')
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            Some(_) => self.named(),
            None => bail!("unexpected end of input"),
        }
    }

    fn string(&mut self) -> anyhow::Result<String> {
        self.expect(b'"')?;
        let mut out = String::new();
        let mut start = self.i;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'"' => {
                    out.push_str(std::str::from_utf8(&self.s[start..self.i])?);
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(std::str::from_utf8(&self.s[start..self.i])?);
                    let esc = self.s.get(self.i + 1).copied();
                    self.i += 2;
                    match esc {
                        Some(b'n') => out.push('\n'),
                        Some(b't') => out.push('\t'),
                        Some(b'r') => out.push('\r'),
                        Some(b'0') => out.push('\0'),
                        Some(b'u') => {
                            // \u{XXXX}
                            let close = self.s[self.i..]
                                .iter()
                                .position(|b| *b == b'}')
                                .context("unterminated \\u escape")?;
                            let hex = std::str::from_utf8(&self.s[self.i + 1..self.i + close])?;
                            let c = char::from_u32(u32::from_str_radix(hex, 16)?)
                                .context("bad \\u escape")?;
                            out.push(c);
                            self.i += close + 1;
                        }
                        Some(c) => out.push(c as char),
                        None => bail!("unterminated escape"),
                    }
                    start = self.i;
                }
                _ => self.i += 1,
            }
        }
        bail!("unterminated string")
    }

    fn number(&mut self) -> anyhow::Result<serde_json::Value> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric()
                || matches!(self.s[self.i], b'-' | b'.' | b'+'))
        {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i])?;
        if let Ok(n) = text.parse::<i64>() {
            return Ok(n.into());
        }
        if let Ok(n) = text.parse::<u64>() {
            return Ok(n.into());
        }
        match text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            Some(n) => Ok(serde_json::Value::Number(n)),
            // e.g. a Duration's "1.5s": keep the text
            None => Ok(serde_json::Value::String(text.to_string())),
        }
    }

    fn seq(&mut self) -> anyhow::Result<serde_json::Value> {
        self.expect(b'[')?;
        // `[redacted]` is Secret's Debug output, not a sequence.
        let save = self.i;
        if self.ident() == "redacted" && self.eat(b']') {
            return Ok(serde_json::Value::String("[redacted]".into()));
        }
        self.i = save;
        self.items(b']')
    }

    fn items(&mut self, close: u8) -> anyhow::Result<serde_json::Value> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(serde_json::Value::Array(items));
            }
            items.push(self.value()?);
            if !self.eat(b',') {
                self.expect(close)?;
                return Ok(serde_json::Value::Array(items));
            }
        }
    }

    fn map(&mut self) -> anyhow::Result<serde_json::Value> {
        self.expect(b'{')?;
        let mut map = serde_json::Map::new();
        loop {
            if self.eat(b'}') {
                return Ok(serde_json::Value::Object(map));
            }
            let key = match self.value()? {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            self.expect(b':')?;
            map.insert(key, self.value()?);
            if !self.eat(b',') {
                self.expect(b'}')?;
                return Ok(serde_json::Value::Object(map));
            }
        }
    }

    /// An identifier-led value: struct, tuple struct / `Some(..)`, `None`, bool, unit variant.
    fn named(&mut self) -> anyhow::Result<serde_json::Value> {
        let name = self.ident();
        if name.is_empty() {
            bail!("unexpected character at byte {}", self.i);
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                let mut map = serde_json::Map::new();
                loop {
                    if self.eat(b'}') {
                        return Ok(serde_json::Value::Object(map));
                    }
                    if self.eat(b'.') {
                        // `..` of finish_non_exhaustive
                        self.expect(b'.')?;
                        continue;
                    }
                    let field = self.ident();
                    self.expect(b':')?;
                    map.insert(field, self.value()?);
                    if !self.eat(b',') {
                        self.expect(b'}')?;
                        return Ok(serde_json::Value::Object(map));
                    }
                }
            }
            Some(b'(') => {
                self.i += 1;
                let serde_json::Value::Array(mut items) = self.items(b')')? else {
                    bail!("tuple expected");
                };
                Ok(if items.len() == 1 {
                    items.remove(0)
                } else {
                    serde_json::Value::Array(items)
                })
            }
            _ => Ok(match name.as_str() {
                "None" => serde_json::Value::Null,
                "true" => true.into(),
                "false" => false.into(),
                "NaN" | "inf" => serde_json::Value::String(name),
                _ => serde_json::Value::String(snake_case(&name)),
            }),
        }
    }
}

/// `DeadLetter` → `dead_letter`, `Auto` → `auto`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use readmit::config::Secret;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    #[derive(Debug)]
    #[allow(dead_code)]
    enum Mode {
        DeadLetter,
    }

    #[derive(Debug)]
    #[allow(dead_code)]
    struct Inner {
        path: Option<PathBuf>,
        secret: Option<Secret>,
        unset: Option<String>,
        list: Vec<String>,
        map: BTreeMap<String, String>,
        mode: Mode,
        ratio: f64,
        neg: i64,
        pair: (u8, bool),
        text: String,
    }

    #[test]
    fn debug_output_round_trips_into_json() {
        let mut map = BTreeMap::new();
        map.insert("socket_keepalive_enable".to_string(), "true".to_string());
        let v = Inner {
            path: Some(PathBuf::from("/run/key")),
            secret: Some(Secret::new("hunter2")),
            unset: None,
            list: vec!["I".into(), "E".into()],
            map,
            mode: Mode::DeadLetter,
            ratio: 0.25,
            neg: -3,
            pair: (7, false),
            text: "quote \" backslash \\ tab\t é".into(),
        };
        for debug in [format!("{v:?}"), format!("{v:#?}")] {
            let json = debug_to_json(&debug).unwrap();
            assert_eq!(
                json,
                serde_json::json!({
                    "path": "/run/key",
                    "secret": "[redacted]",
                    "unset": null,
                    "list": ["I", "E"],
                    "map": {"socket_keepalive_enable": "true"},
                    "mode": "dead_letter",
                    "ratio": 0.25,
                    "neg": -3,
                    "pair": [7, false],
                    "text": "quote \" backslash \\ tab\t é",
                })
            );
        }
    }

    #[test]
    fn default_settings_render_and_reload_identically() {
        let settings = Settings::default();
        let json = debug_to_json(&format!("{settings:?}")).unwrap();
        assert_eq!(json["kafka"]["group_id"], "readmit");
        assert_eq!(json["consumer"]["drain_timeout_ms"], 15_000);
        // The rendered TOML is a valid configuration file that loads back to the same settings.
        let text = toml::to_string(&strip_nulls(json)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("effective.toml");
        std::fs::write(&path, &text).unwrap();
        let reloaded = Settings::load_from(Sources {
            file: Some(path),
            env: Some(Default::default()),
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(format!("{reloaded:?}"), format!("{settings:?}"), "{text}");
    }
}
