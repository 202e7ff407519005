//! Fuzz target: arbitrary bytes as the TOML of a `--config` file → `Settings::from_toml_str`
//! (the `config` crate's TOML source and serde deserialisation that `Settings::load_from` uses)
//! → the checks `readmit check-config` runs: `Settings::validate`, `LogSettings::validate`,
//! `metrics::http::parse_listen`, then the librdkafka properties the clients get.
//!
//! Besides "no panic", it checks that secrets (`kafka.sasl_password`, `kafka.ssl_key_password`,
//! `pseudonym.key`) never reach `Debug`/`Display` of the settings nor a validation message: the
//! same settings with every secret replaced by a neutral value of the same length must print
//! the same, and no text may contain a secret value unless the neutral run's text does too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readmit::config::{Secret, Settings};

/// Every secret value set in `s`.
fn secrets(s: &Settings) -> Vec<String> {
    [
        &s.kafka.sasl_password,
        &s.kafka.ssl_key_password,
        &s.pseudonym.key,
    ]
    .into_iter()
    .flatten()
    .map(|v| v.expose().to_string())
    .collect()
}

/// `s` with each secret replaced by `#` repeated to the same length.
fn neutral(s: &Settings) -> Settings {
    let mut n = s.clone();
    for slot in [
        &mut n.kafka.sasl_password,
        &mut n.kafka.ssl_key_password,
        &mut n.pseudonym.key,
    ] {
        if let Some(v) = slot {
            *v = Secret::new("#".repeat(v.expose().len()));
        }
    }
    n
}

/// Every text check-config may print about `s`: Debug/Display and the validation problems.
fn texts(s: &Settings) -> Vec<String> {
    let mut out = vec![format!("{s:?}"), format!("{s}")];
    if let Err(e) = s.validate() {
        out.push(e.to_string());
    }
    if let Err(e) = s.log.validate() {
        out.push(e.to_string());
    }
    if let Err(e) = readmit::metrics::http::parse_listen(&s.metrics.listen) {
        out.push(e.to_string());
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // A configuration file is read as UTF-8 text; anything else fails before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings = match Settings::from_toml_str(text) {
        Ok(s) => s,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let real = texts(&settings);
    let plain = texts(&neutral(&settings));
    assert_eq!(real[0], plain[0], "Debug output depends on a secret value");
    for secret in secrets(&settings) {
        if secret.len() < 4 {
            continue;
        }
        for (r, p) in real.iter().zip(&plain) {
            assert!(
                !r.contains(&secret) || p.contains(&secret),
                "a secret value reached a printed text"
            );
        }
    }
    let props = settings.kafka.client_properties();
    assert!(props
        .iter()
        .any(|(k, v)| k == "bootstrap.servers" && *v == settings.kafka.bootstrap_servers));
});
