//! `readmit check-config` end to end: run the binary in an empty directory (no
//! `config/default.toml`) with a clean environment, on good and malformed configuration files.

use std::path::Path;
use std::process::{Command, Output};

fn check_config(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_readmit"));
    cmd.arg("check-config")
        .args(args)
        .current_dir(dir)
        .env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const GOOD: &str = r#"
[kafka]
bootstrap_servers = "kafka-1:9092,kafka-2:9092"
security_protocol = "sasl_ssl"
sasl_mechanism = "SCRAM-SHA-512"
sasl_username = "readmit"
sasl_password = "pa55-w0rd-in-file"

[consumer]
drain_timeout_ms = 10000

[pseudonym]
key = "hmac-key-material-xyz"

[log]
format = "json"
level = "info,readmit=debug"
"#;

#[test]
fn good_config_prints_effective_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "readmit.toml", GOOD);
    let out = check_config(
        dir.path(),
        &["--config", &file],
        &[("READMIT__KAFKA__SSL_KEY_PASSWORD", "env-secret-42")],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for secret in [
        "pa55-w0rd-in-file",
        "hmac-key-material-xyz",
        "env-secret-42",
    ] {
        assert!(!stdout.contains(secret), "secret printed:\n{stdout}");
        assert!(!text(&out.stderr).contains(secret));
    }
    let parsed: toml::Table = toml::from_str(&stdout).unwrap();
    assert_eq!(
        parsed["kafka"]["sasl_password"].as_str(),
        Some("[redacted]")
    );
    assert_eq!(
        parsed["kafka"]["ssl_key_password"].as_str(),
        Some("[redacted]")
    );
    assert_eq!(parsed["pseudonym"]["key"].as_str(), Some("[redacted]"));
    assert_eq!(
        parsed["kafka"]["bootstrap_servers"].as_str(),
        Some("kafka-1:9092,kafka-2:9092")
    );
    assert_eq!(
        parsed["consumer"]["drain_timeout_ms"].as_integer(),
        Some(10_000)
    );
    // defaults fill what the file leaves out
    assert_eq!(
        parsed["consumer"]["session_timeout_ms"].as_integer(),
        Some(45_000)
    );
    assert_eq!(parsed["log"]["format"].as_str(), Some("json"));

    let out = check_config(dir.path(), &["--config", &file, "--format", "json"], &[]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kafka"]["sasl_password"], "[redacted]");
    assert_eq!(json["kafka"]["ssl_key_password"], serde_json::Value::Null);
    assert_eq!(json["kafka"]["sasl_username"], "readmit");
}

#[test]
fn no_file_prints_the_builtin_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = check_config(dir.path(), &[], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let parsed: toml::Table = toml::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(parsed["kafka"]["group_id"].as_str(), Some("readmit"));
    assert_eq!(parsed["topics"]["input"].as_str(), Some("adt.events"));
}

fn assert_fails_naming(dir: &Path, config: &str, env: &[(&str, &str)], names: &[&str]) {
    let file = write(dir, "bad.toml", config);
    let out = check_config(dir, &["--config", &file], env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "nothing printed on failure");
    for name in names {
        assert!(stderr.contains(name), "{name} not named in: {stderr}");
    }
}

#[test]
fn unknown_key_fails_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    assert_fails_naming(
        dir.path(),
        "[consumer]\ndrain_timeout = 5000\n",
        &[],
        &["drain_timeout"],
    );
}

#[test]
fn wrong_type_fails_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    assert_fails_naming(
        dir.path(),
        "[consumer]\nsession_timeout_ms = \"soon\"\n",
        &[],
        &["session_timeout_ms"],
    );
}

#[test]
fn drain_timeout_above_session_timeout_fails_naming_both_keys() {
    let dir = tempfile::tempdir().unwrap();
    assert_fails_naming(
        dir.path(),
        "[consumer]\nsession_timeout_ms = 10000\ndrain_timeout_ms = 30000\n",
        &[],
        &["consumer.drain_timeout_ms", "consumer.session_timeout_ms"],
    );
}

#[test]
fn telemetry_and_metrics_settings_are_validated_too() {
    let dir = tempfile::tempdir().unwrap();
    assert_fails_naming(
        dir.path(),
        "[log]\nlevel = \"info,readmit=loud\"\n[metrics]\nlisten = \"localhost\"\n",
        &[],
        &["log.level", "metrics.listen"],
    );
}

#[test]
fn env_layer_is_applied_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    assert_fails_naming(
        dir.path(),
        "",
        &[("READMIT__CONSUMER__DRAIN_TIMEOUT_MS", "50000")],
        &["consumer.drain_timeout_ms"],
    );
}

#[test]
fn missing_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = check_config(dir.path(), &["--config", "nope.toml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("nope.toml"),
        "{}",
        text(&out.stderr)
    );
}
