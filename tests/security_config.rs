//! Security of the configuration path (issue 9): where the HMAC pseudonym key comes from, that
//! `readmit run` refuses to start without it (before any connection to the broker), that no
//! secret is echoed by a configuration error, and that TLS / SASL settings reach every
//! librdkafka client the service builds. No broker needed.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use readmit::config::{ClientKind, ConfigError, Secret, Settings, Sources};
use readmit::runtime::consumer;
use readmit::service;

const KEY: &str = "sentinel-hmac-key-7f3a9c-not-for-production";
const PASSWORD: &str = "sentinel-sasl-password-51d2e8";

fn env(pairs: &[(&str, &str)]) -> Option<std::collections::HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn load_env(pairs: &[(&str, &str)]) -> Settings {
    Settings::load_from(Sources {
        env: env(pairs),
        ..Sources::default()
    })
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The HMAC key: from the environment or a file, same pseudonyms either way.

#[test]
fn key_from_env_key_from_env_named_file_and_from_config_give_the_same_pseudonyms() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("readmit-key");
    std::fs::write(&file, format!("{KEY}\n")).unwrap();

    let from_env = load_env(&[("READMIT__PSEUDONYM__KEY", KEY)]);
    let from_file = load_env(&[("READMIT__PSEUDONYM__KEY_FILE", file.to_str().unwrap())]);
    let config = dir.path().join("readmit.toml");
    std::fs::write(
        &config,
        format!("[pseudonym]\nkey_file = {:?}\n", file.display().to_string()),
    )
    .unwrap();
    let from_config = Settings::load_from(Sources {
        file: Some(config),
        env: env(&[]),
        ..Sources::default()
    })
    .unwrap();

    let expected = readmit::alerts::Pseudonymizer::new(KEY.as_bytes())
        .unwrap()
        .patient("HOSP", "MRN-0001");
    for (how, s) in [
        ("env key", &from_env),
        ("env key file", &from_file),
        ("config key file", &from_config),
    ] {
        s.validate().unwrap();
        let p = service::pseudonymizer(s).unwrap();
        assert_eq!(p.patient("HOSP", "MRN-0001"), expected, "{how}");
        assert_ne!(p.patient("HOSP", "MRN-0002"), expected, "{how}");
    }
    // A different key gives different pseudonyms: the key is really used.
    let other = load_env(&[(
        "READMIT__PSEUDONYM__KEY",
        "another-key-of-sufficient-length",
    )]);
    assert_ne!(
        service::pseudonymizer(&other)
            .unwrap()
            .patient("HOSP", "MRN-0001"),
        expected
    );
}

#[test]
fn key_and_key_file_together_are_rejected_naming_both() {
    let s = load_env(&[
        ("READMIT__PSEUDONYM__KEY", KEY),
        ("READMIT__PSEUDONYM__KEY_FILE", "/run/secrets/readmit-key"),
    ]);
    let msg = s.validate().unwrap_err().to_string();
    assert!(
        msg.contains("pseudonym.key and pseudonym.key_file are both set"),
        "{msg}"
    );
    assert!(!msg.contains(KEY), "{msg}");
}

#[test]
fn secrets_never_print_in_settings_debug_or_display() {
    let s = load_env(&[
        ("READMIT__PSEUDONYM__KEY", KEY),
        ("READMIT__KAFKA__SASL_USERNAME", "readmit"),
        ("READMIT__KAFKA__SASL_PASSWORD", PASSWORD),
        ("READMIT__KAFKA__SSL_KEY_PASSWORD", PASSWORD),
    ]);
    for t in [format!("{s:?}"), format!("{s:#?}"), s.to_string()] {
        assert!(!t.contains(KEY) && !t.contains(PASSWORD), "{t}");
        assert_eq!(t.matches("[redacted]").count(), 3, "{t}");
    }
    assert_eq!(format!("{:?}", Secret::new(KEY)), "[redacted]");
}

// ---------------------------------------------------------------------------------------------
// Configuration errors quote no secret.

/// A TOML syntax error on the line of a secret: the parser's error quotes the offending line
/// (`3 | key = "…"`); the loader drops that excerpt and keeps line, column and reason.
#[test]
fn a_syntax_error_on_a_secret_line_does_not_quote_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (section, key, value) in [
        ("pseudonym", "key", KEY),
        ("kafka", "sasl_password", PASSWORD),
        ("kafka", "ssl_key_password", PASSWORD),
    ] {
        for line in [
            format!("{key} = \"{value}\" trailing-garbage"),
            format!("{key} = \"{value}"), // unterminated string
            format!("{key} = '{value}'''"),
        ] {
            let toml = format!("[{section}]\n{line}\n");
            let path = dir.path().join("bad.toml");
            std::fs::write(&path, &toml).unwrap();
            for err in [
                Settings::load_from(Sources {
                    file: Some(path.clone()),
                    env: env(&[]),
                    ..Sources::default()
                })
                .unwrap_err(),
                Settings::from_toml_str(&toml).unwrap_err(),
            ] {
                let ConfigError::Load(msg) = &err else {
                    panic!("expected a load error for {line:?}, got {err}")
                };
                assert!(!msg.contains(value), "secret quoted for {line:?}:\n{msg}");
                assert!(msg.contains("line 2"), "position kept for {line:?}:\n{msg}");
            }
        }
    }
}

/// The same through the binaries: `readmit check-config` and `readmit run` print the load
/// error on stderr, exit non-zero and never show the key.
#[test]
fn check_config_and_run_do_not_echo_a_secret_from_a_malformed_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, format!("[pseudonym]\nkey = \"{KEY}\" x\n")).unwrap();
    for sub in ["check-config", "run"] {
        let out = readmit(dir.path(), &[sub, "--config", path.to_str().unwrap()], &[]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(!out.status.success(), "{sub}: {stderr}");
        assert!(stderr.contains("line 2"), "{sub}: {stderr}");
        assert!(
            !stdout.contains(KEY) && !stderr.contains(KEY),
            "{sub} echoed the key:\n{stdout}\n{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// `readmit run` requires the key and fails before connecting.

/// Runs the binary with a clean environment plus `env`, in `dir`, with a time limit.
fn readmit(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_readmit"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("readmit {args:?} still running after 60 s:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A local "broker" that only records whether anyone connected to it.
struct Listener(TcpListener);

impl Listener {
    fn new() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Self(l)
    }
    fn bootstrap(&self) -> String {
        self.0.local_addr().unwrap().to_string()
    }
    fn was_contacted(&self) -> bool {
        match self.0.accept() {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn run_without_a_key_exits_non_zero_naming_the_settings_before_connecting() {
    let broker = Listener::new();
    let bootstrap = broker.bootstrap();
    // In the crate directory, as an operator's run: config/default.toml and the shipped model
    // are found, so the key is the only thing missing.
    let out = readmit(
        &crate_dir(),
        &["run"],
        &[
            ("READMIT__KAFKA__BOOTSTRAP_SERVERS", &bootstrap),
            ("READMIT__METRICS__LISTEN", ""),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for named in [
        "no pseudonym key",
        "pseudonym.key_file",
        "READMIT__PSEUDONYM__KEY_FILE",
        "pseudonym.key",
        "READMIT__PSEUDONYM__KEY",
    ] {
        assert!(stderr.contains(named), "{named} not named:\n{stderr}");
    }
    assert!(
        !broker.was_contacted(),
        "readmit run connected without a key"
    );
}

#[test]
fn run_with_an_unreadable_key_file_or_a_short_key_fails_without_echoing_it() {
    let broker = Listener::new();
    let bootstrap = broker.bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-key");
    let out = readmit(
        &crate_dir(),
        &["run"],
        &[
            ("READMIT__KAFKA__BOOTSTRAP_SERVERS", &bootstrap),
            ("READMIT__METRICS__LISTEN", ""),
            ("READMIT__PSEUDONYM__KEY_FILE", missing.to_str().unwrap()),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("pseudonym.key_file") && stderr.contains("could not be read"),
        "{stderr}"
    );

    let short = "k-9f2";
    let out = readmit(
        &crate_dir(),
        &["run"],
        &[
            ("READMIT__KAFKA__BOOTSTRAP_SERVERS", &bootstrap),
            ("READMIT__METRICS__LISTEN", ""),
            ("READMIT__PSEUDONYM__KEY", short),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("pseudonym key"), "{stderr}");
    assert!(!stderr.contains(short), "short key echoed:\n{stderr}");
    assert!(
        !broker.was_contacted(),
        "readmit run connected without a usable key"
    );
}

// ---------------------------------------------------------------------------------------------
// TLS and SASL/SCRAM reach every librdkafka client.

fn secured(ca: &Path) -> Settings {
    let s = load_env(&[
        (
            "READMIT__KAFKA__BOOTSTRAP_SERVERS",
            "broker-1:9093,broker-2:9093",
        ),
        ("READMIT__KAFKA__SECURITY_PROTOCOL", "sasl_ssl"),
        ("READMIT__KAFKA__SASL_MECHANISM", "SCRAM-SHA-512"),
        ("READMIT__KAFKA__SASL_USERNAME", "readmit"),
        ("READMIT__KAFKA__SASL_PASSWORD", PASSWORD),
        ("READMIT__KAFKA__SSL_CA_LOCATION", ca.to_str().unwrap()),
        ("READMIT__PSEUDONYM__KEY", KEY),
    ]);
    s.validate().unwrap();
    s
}

#[test]
fn tls_and_sasl_settings_reach_the_consumer_producer_restore_and_admin_clients() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not read by this test").unwrap();
    let s = secured(&ca);
    let configs = [
        ("group consumer", consumer::group_consumer_config(&s)),
        ("producer", consumer::producer_config(&s)),
        ("restore consumer", consumer::restore_consumer_config(&s)),
        (
            "admin",
            consumer::base_config(&s, "admin", ClientKind::Admin),
        ),
    ];
    for (role, c) in &configs {
        assert_eq!(
            c.get("bootstrap.servers"),
            Some("broker-1:9093,broker-2:9093"),
            "{role}"
        );
        assert_eq!(c.get("security.protocol"), Some("sasl_ssl"), "{role}");
        assert_eq!(c.get("sasl.mechanism"), Some("SCRAM-SHA-512"), "{role}");
        assert_eq!(c.get("sasl.username"), Some("readmit"), "{role}");
        assert_eq!(c.get("sasl.password"), Some(PASSWORD), "{role}");
        assert_eq!(c.get("ssl.ca.location"), ca.to_str(), "{role}");
        // rdkafka's Debug sanitises the password, so logging a client config is safe.
        let debug = format!("{c:?}");
        assert!(!debug.contains(PASSWORD), "{role}: {debug}");
    }
    // Nothing of it when unset: plaintext is librdkafka's default.
    let plain = consumer::producer_config(&Settings::default());
    for key in [
        "security.protocol",
        "sasl.mechanism",
        "sasl.username",
        "sasl.password",
    ] {
        assert_eq!(plain.get(key), None, "{key}");
    }
}

/// librdkafka as built here (rdkafka with `ssl`) accepts SCRAM over TLS with the CA bundle:
/// creating a client checks the mechanism and loads the CA file (no connection is needed).
#[test]
fn librdkafka_accepts_scram_over_tls_and_refuses_an_unreadable_ca() {
    use rdkafka::producer::BaseProducer;
    let bundle = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    let Some(bundle) = bundle else {
        eprintln!("skipped: no system CA bundle to load");
        return;
    };
    let s = secured(&bundle);
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] {
        let mut s = s.clone();
        s.kafka.sasl_mechanism = Some(mechanism.into());
        let created = consumer::producer_config(&s).create::<BaseProducer>();
        assert!(created.is_ok(), "{mechanism}: {:?}", created.err());
    }
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("ca.pem");
    std::fs::write(&garbage, "this is not a certificate").unwrap();
    let err = consumer::producer_config(&secured(&garbage))
        .create::<BaseProducer>()
        .err()
        .expect("a CA file that is no certificate is refused");
    assert!(!err.to_string().contains(PASSWORD), "{err}");
}

#[test]
fn an_unsupported_mechanism_or_a_missing_ca_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "placeholder").unwrap();
    let mut s = secured(&ca);
    s.kafka.sasl_mechanism = Some("GSSAPI".into());
    s.kafka.ssl_ca_location = Some(dir.path().join("missing-ca.pem"));
    let err = s.validate().unwrap_err();
    let ConfigError::Invalid(problems) = &err else {
        panic!("expected validation problems, got {err}")
    };
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("kafka.sasl_mechanism (GSSAPI) must be one of")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("kafka.ssl_ca_location (") && p.ends_with("does not exist")),
        "{problems:?}"
    );
    assert!(!err.to_string().contains(PASSWORD), "{err}");
}

/// The same refusal stops `readmit run` before it opens a connection.
#[test]
fn run_with_an_unsupported_mechanism_fails_before_connecting() {
    let broker = Listener::new();
    let bootstrap = broker.bootstrap();
    let out = readmit(
        &crate_dir(),
        &["run"],
        &[
            ("READMIT__KAFKA__BOOTSTRAP_SERVERS", &bootstrap),
            ("READMIT__KAFKA__SECURITY_PROTOCOL", "sasl_plaintext"),
            ("READMIT__KAFKA__SASL_MECHANISM", "SCRAM-SHA-1"),
            ("READMIT__KAFKA__SASL_USERNAME", "readmit"),
            ("READMIT__KAFKA__SASL_PASSWORD", PASSWORD),
            ("READMIT__METRICS__LISTEN", ""),
            ("READMIT__PSEUDONYM__KEY", KEY),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("kafka.sasl_mechanism (SCRAM-SHA-1) must be one of"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(PASSWORD) && !stderr.contains(KEY),
        "{stderr}"
    );
    assert!(
        !broker.was_contacted(),
        "readmit run connected with bad settings"
    );
}
