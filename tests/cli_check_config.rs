//! `readmit check-config` end to end: run the binary in an empty directory (no
//! `config/default.toml`) with a clean environment, on good and malformed configuration files.

use std::path::Path;
use std::process::{Command, Output};

/// The committed model artifact: `check-config` loads the model as `run` does at start, and
/// the tests run in an empty directory.
fn model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/readmit-lr-v1/model.json")
        .display()
        .to_string()
}

fn check_config(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_readmit"));
    cmd.arg("check-config")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("READMIT__MODEL__PATH", model());
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
    // A client certificate whose key is encrypted: the key password is a secret too.
    let cert = write(dir.path(), "client.pem", "-----BEGIN CERTIFICATE-----\n");
    let key = write(
        dir.path(),
        "client.key",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
    );
    let out = check_config(
        dir.path(),
        &["--config", &file],
        &[
            ("READMIT__KAFKA__SSL_KEY_PASSWORD", "env-secret-42"),
            ("READMIT__KAFKA__SSL_CERTIFICATE_LOCATION", &cert),
            ("READMIT__KAFKA__SSL_KEY_LOCATION", &key),
        ],
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
    // No pseudonym key: the built-in defaults alone are a valid configuration, not yet one
    // `run` starts with (see `run_s_start_up_checks_are_made_unless_config_only`).
    let out = check_config(dir.path(), &["--config-only"], &[]);
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

#[test]
fn malformed_values_fail_naming_the_key_without_printing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    // A wrong-typed value, a bad SASL mechanism, a missing CA file and a window out of range:
    // each problem names its key; the password is never echoed.
    assert_fails_naming(
        dir.path(),
        "[monitor]\nwindow = \"big\"\n",
        &[],
        &["window"],
    );
    let file = write(
        dir.path(),
        "bad.toml",
        r#"
[kafka]
security_protocol = "sasl_ssl"
sasl_mechanism = "SCRAM-SHA-1"
sasl_username = "readmit"
sasl_password = "n0t-printed-pw"
ssl_ca_location = "/nonexistent/ca.pem"

[monitor]
window = 10
"#,
    );
    let out = check_config(dir.path(), &["--config", &file], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for expected in [
        "kafka.sasl_mechanism (SCRAM-SHA-1) must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
        "kafka.ssl_ca_location (/nonexistent/ca.pem) does not exist",
        "monitor.window (10) must be between 100 and 1000000",
    ] {
        assert!(stderr.contains(expected), "{expected:?} not in:\n{stderr}");
    }
    assert!(!stderr.contains("n0t-printed-pw"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn tls_and_scram_settings_are_shown_with_the_password_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let ca = write(dir.path(), "ca.pem", "-----BEGIN CERTIFICATE-----\n");
    let password_file = write(dir.path(), "sasl-password", "file-pw-7731\n");
    let file = write(
        dir.path(),
        "readmit.toml",
        &format!(
            r#"
[kafka]
bootstrap_servers = "kafka-1:9093"
security_protocol = "sasl_ssl"
sasl_mechanism = "SCRAM-SHA-256"
sasl_username = "readmit"
ssl_ca_location = "{ca}"

[monitor]
window = 20000
"#
        ),
    );
    // Password from the environment.
    let out = check_config(
        dir.path(),
        &["--config", &file, "--config-only"],
        &[("READMIT__KAFKA__SASL_PASSWORD", "env-pw-4410")],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!stdout.contains("env-pw-4410"), "{stdout}");
    let parsed: toml::Table = toml::from_str(&stdout).unwrap();
    let kafka = &parsed["kafka"];
    assert_eq!(kafka["sasl_password"].as_str(), Some("[redacted]"));
    assert_eq!(kafka["security_protocol"].as_str(), Some("sasl_ssl"));
    assert_eq!(kafka["sasl_mechanism"].as_str(), Some("SCRAM-SHA-256"));
    assert_eq!(kafka["sasl_username"].as_str(), Some("readmit"));
    assert_eq!(kafka["ssl_ca_location"].as_str(), Some(ca.as_str()));
    assert_eq!(parsed["monitor"]["window"].as_integer(), Some(20_000));

    // Password from a file: the path is shown, the content never.
    let out = check_config(
        dir.path(),
        &["--config", &file, "--format", "json", "--config-only"],
        &[("READMIT__KAFKA__SASL_PASSWORD_FILE", &password_file)],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!stdout.contains("file-pw-7731"), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["kafka"]["sasl_password_file"], password_file.as_str());
    assert_eq!(json["kafka"]["sasl_password"], serde_json::Value::Null);

    // SCRAM without any password fails naming the keys.
    let out = check_config(dir.path(), &["--config", &file], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("kafka.sasl_password (or kafka.sasl_password_file) must be set"),
        "{stderr}"
    );
}

#[test]
fn the_monitor_window_defaults_to_5000() {
    let dir = tempfile::tempdir().unwrap();
    let out = check_config(dir.path(), &["--config-only"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let parsed: toml::Table = toml::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(parsed["monitor"]["window"].as_integer(), Some(5_000));
    assert_eq!(parsed["monitor"]["max_pending"].as_integer(), Some(200_000));
}

/// The `readmit.toml` embedded in `deploy/k8s/configmap.yaml` (the block scalar's lines).
fn configmap_toml() -> String {
    let yaml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s/configmap.yaml"),
    )
    .unwrap();
    let mut lines = yaml
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("readmit.toml: |"));
    lines.next().expect("readmit.toml block in the ConfigMap");
    lines
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.get(4..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_shipped_kubernetes_config_passes_with_its_secrets_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "readmit.toml", &configmap_toml());
    // As deployment.yaml provides them: the SASL password from a Secret, the key as a file.
    let key = write(
        dir.path(),
        "pseudonym-key",
        "0123456789abcdef0123456789abcdef\n",
    );
    let out = check_config(
        dir.path(),
        &["--config", &file],
        &[
            ("READMIT__KAFKA__SASL_PASSWORD", "cm-test-pw-991"),
            ("READMIT__PSEUDONYM__KEY_FILE", &key),
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!stdout.contains("cm-test-pw-991"));
    let parsed: toml::Table = toml::from_str(&stdout).unwrap();
    assert_eq!(
        parsed["kafka"]["security_protocol"].as_str(),
        Some("sasl_ssl")
    );
    assert_eq!(
        parsed["kafka"]["sasl_password"].as_str(),
        Some("[redacted]")
    );
    // Without the Secret the same file is refused, naming the key.
    let out = check_config(dir.path(), &["--config", &file], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("kafka.sasl_password"));
}

#[test]
fn run_s_start_up_checks_are_made_unless_config_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "readmit.toml",
        "[kafka]\ngroup_id = \"readmit\"\n",
    );
    let short = write(dir.path(), "short-key", "0123456789\n");
    let good = write(dir.path(), "good-key", "0123456789abcdef0123456789abcdef\n");
    let missing = dir.path().join("nowhere").display().to_string();
    let not_a_model = write(dir.path(), "model.json", "{\"not\": \"a model\"}");
    let model = model();
    // (environment, text each problem must contain)
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: [Case<'_>; 5] = [
        // No key at all.
        (vec![], vec!["no pseudonym key: set pseudonym.key_file"]),
        // A key file shorter than the minimum; the key itself is never printed.
        (
            vec![("READMIT__PSEUDONYM__KEY_FILE", short.as_str())],
            vec!["pseudonym.key_file: pseudonym key is 10 bytes; at least 16 are required"],
        ),
        (
            vec![("READMIT__PSEUDONYM__KEY", "tiny-key-51")],
            vec!["pseudonym.key: pseudonym key is 11 bytes"],
        ),
        // An unreadable key file and a model path that does not exist: both named.
        (
            vec![
                ("READMIT__PSEUDONYM__KEY_FILE", missing.as_str()),
                ("READMIT__MODEL__PATH", missing.as_str()),
            ],
            vec![
                "pseudonym.key_file",
                "could not be read",
                "model.path: cannot",
            ],
        ),
        // A file that is not a model artifact.
        (
            vec![
                ("READMIT__PSEUDONYM__KEY_FILE", good.as_str()),
                ("READMIT__MODEL__PATH", not_a_model.as_str()),
            ],
            vec!["model.path: "],
        ),
    ];
    for (env, expected) in &cases {
        let out = check_config(dir.path(), &["--config", &file], env);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{env:?}: {stderr}");
        assert!(out.stdout.is_empty());
        for e in expected {
            assert!(stderr.contains(e), "{env:?}: {e:?} not in {stderr}");
        }
        assert!(!stderr.contains("tiny-key-51") && !stderr.contains("0123456789"));
        // The same configuration passes when only the configuration is checked.
        let out = check_config(dir.path(), &["--config", &file, "--config-only"], env);
        assert!(out.status.success(), "{env:?}: {}", text(&out.stderr));
    }
    // A usable key and the committed model: valid.
    let out = check_config(
        dir.path(),
        &["--config", &file],
        &[
            ("READMIT__PSEUDONYM__KEY_FILE", good.as_str()),
            ("READMIT__MODEL__PATH", model.as_str()),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}
