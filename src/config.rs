//! Layered service configuration: the [`Settings`] structs, [`Settings::load`] and
//! [`Settings::validate`].
//!
//! Layers, later ones win:
//! 1. built-in defaults (the `Default` impls below, mirrored in `config/default.toml`);
//! 2. `config/default.toml` (optional; relative to the working directory);
//! 3. the file given with `--config FILE` (required when given);
//! 4. environment variables `READMIT__SECTION__KEY`, e.g. `READMIT__KAFKA__BOOTSTRAP_SERVERS`
//!    sets `kafka.bootstrap_servers`.
//!
//! Every section rejects unknown keys (`deny_unknown_fields`) so typos fail at start-up with the
//! key named. Durations are `*_ms` integers. Secrets ([`Secret`]) never appear in `Debug` or
//! `Display` output, nor in validation messages.
//!
//! Nothing else in the crate reads environment variables.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Environment variable prefix: `READMIT__KAFKA__GROUP_ID` sets `kafka.group_id`.
pub const ENV_PREFIX: &str = "READMIT";
/// Separator between the prefix, section and key in environment variable names.
pub const ENV_SEPARATOR: &str = "__";
/// The optional default configuration file, relative to the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "config/default.toml";

/// librdkafka properties that the runtime sets itself; the `kafka.librdkafka` map may not
/// override them, because at-least-once delivery depends on them.
pub const MANAGED_LIBRDKAFKA_KEYS: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "session.timeout.ms",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "transactional.id",
    "partition.assignment.strategy",
];

/// What kind of librdkafka client a set of properties is for: pass-through properties that
/// apply only to the other kind are left out (librdkafka would log a `CONFWARN` for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// A consumer (the group consumer, the changelog restore, the demo's watcher).
    Consumer,
    /// A producer.
    Producer,
    /// An admin client (topic creation, metadata): gets neither kind's own properties.
    Admin,
}

/// Consumer-only librdkafka properties (`C` in librdkafka 2.12's CONFIGURATION.md).
const CONSUMER_ONLY_LIBRDKAFKA_KEYS: &[&str] = &[
    "group.id",
    "group.instance.id",
    "partition.assignment.strategy",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "group.protocol.type",
    "group.protocol",
    "group.remote.assignor",
    "coordinator.query.interval.ms",
    "max.poll.interval.ms",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "enable.auto.offset.store",
    "queued.min.messages",
    "queued.max.messages.kbytes",
    "fetch.wait.max.ms",
    "fetch.queue.backoff.ms",
    "fetch.message.max.bytes",
    "max.partition.fetch.bytes",
    "fetch.max.bytes",
    "fetch.min.bytes",
    "fetch.error.backoff.ms",
    "offset.store.method",
    "isolation.level",
    "enable.partition.eof",
    "check.crcs",
    "auto.commit.enable",
    "auto.offset.reset",
    "offset.store.path",
    "offset.store.sync.interval.ms",
    "consume.callback.max.messages",
];

/// Producer-only librdkafka properties (`P` in librdkafka 2.12's CONFIGURATION.md).
const PRODUCER_ONLY_LIBRDKAFKA_KEYS: &[&str] = &[
    "transactional.id",
    "transaction.timeout.ms",
    "enable.idempotence",
    "enable.gapless.guarantee",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "queue.buffering.max.ms",
    "linger.ms",
    "message.send.max.retries",
    "retries",
    "queue.buffering.backpressure.threshold",
    "compression.codec",
    "compression.type",
    "compression.level",
    "batch.num.messages",
    "batch.size",
    "delivery.report.only.error",
    "sticky.partitioning.linger.ms",
    "request.required.acks",
    "acks",
    "request.timeout.ms",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "queuing.strategy",
    "produce.offset.report",
    "partitioner",
];

impl ClientKind {
    /// Whether a (normalised) librdkafka property applies to this kind of client.
    pub fn takes(self, key: &str) -> bool {
        let consumer_only = CONSUMER_ONLY_LIBRDKAFKA_KEYS.contains(&key);
        let producer_only = PRODUCER_ONLY_LIBRDKAFKA_KEYS.contains(&key);
        match self {
            ClientKind::Consumer => !producer_only,
            ClientKind::Producer => !consumer_only,
            ClientKind::Admin => !consumer_only && !producer_only,
        }
    }
}

/// Configuration errors: loading/deserialising failed, or validation found bad settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or the merged configuration did not deserialise (unknown
    /// key, wrong type). The message names the key.
    #[error("configuration could not be loaded: {0}")]
    Load(String),
    /// One or more settings are invalid; each entry names the key and the problem.
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// A secret string (password, key). `Debug` and `Display` print `[redacted]`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value; use only to hand it to the client that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// All service settings. `Debug` redacts secrets (see [`Secret`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Kafka connection and client options shared by consumer, producer and admin client.
    pub kafka: KafkaSettings,
    /// Topic names and creation options.
    pub topics: TopicSettings,
    /// Consumer behaviour: timeouts, drain, backpressure, restore.
    pub consumer: ConsumerSettings,
    /// Producer behaviour: batching, queue bounds, retries.
    pub producer: ProducerSettings,
    /// Model artifact settings (owned by the model module).
    pub model: ModelSettings,
    /// Alert routing settings (owned by the alerts module).
    pub alerts: AlertSettings,
    /// Patient pseudonymisation settings.
    pub pseudonym: PseudonymSettings,
    /// Metrics endpoint settings.
    pub metrics: MetricsSettings,
    /// Live model monitoring window and bounds.
    pub monitor: MonitorConfig,
    /// Logging: format and filter (owned by the telemetry module).
    pub log: crate::telemetry::LogSettings,
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:#?}")
    }
}

/// `[kafka]`: connection, security and pass-through client options.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// `bootstrap.servers`, comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Consumer group id.
    pub group_id: String,
    /// `client.id` prefix; the runtime appends `-consumer`, `-producer`, ….
    pub client_id: String,
    /// `security.protocol`: plaintext, ssl, sasl_plaintext, sasl_ssl.
    pub security_protocol: Option<String>,
    /// `sasl.mechanism`: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER.
    pub sasl_mechanism: Option<String>,
    /// `sasl.username`.
    pub sasl_username: Option<String>,
    /// `sasl.password` (secret). Prefer `sasl_password_file` or the environment
    /// (`READMIT__KAFKA__SASL_PASSWORD`) to a file under version control.
    pub sasl_password: Option<Secret>,
    /// File holding `sasl.password` (e.g. a mounted Kubernetes Secret); read at start-up,
    /// trailing newline trimmed. Set this or `sasl_password`, not both.
    pub sasl_password_file: Option<PathBuf>,
    /// `ssl.ca.location`.
    pub ssl_ca_location: Option<PathBuf>,
    /// `ssl.certificate.location`.
    pub ssl_certificate_location: Option<PathBuf>,
    /// `ssl.key.location`.
    pub ssl_key_location: Option<PathBuf>,
    /// `ssl.key.password` (secret).
    pub ssl_key_password: Option<Secret>,
    /// Extra librdkafka properties passed to every client they apply to (consumer-only ones
    /// such as `fetch.wait.max.ms` go to the consumers, producer-only ones to the producer,
    /// the rest to every client; see [`ClientKind`]). Keys may use `_` for `.` (so they can
    /// be set from the environment): `socket_keepalive_enable` means
    /// `socket.keepalive.enable`. Keys in [`MANAGED_LIBRDKAFKA_KEYS`] are rejected.
    pub librdkafka: BTreeMap<String, String>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            bootstrap_servers: "localhost:9092".into(),
            group_id: "readmit".into(),
            client_id: "readmit".into(),
            security_protocol: None,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            sasl_password_file: None,
            ssl_ca_location: None,
            ssl_certificate_location: None,
            ssl_key_location: None,
            ssl_key_password: None,
            librdkafka: BTreeMap::new(),
        }
    }
}

impl KafkaSettings {
    /// librdkafka properties of a client of `kind`: bootstrap, security, and the pass-through
    /// map's keys that apply to `kind` ([`ClientKind::takes`]), with `_` turned into `.`.
    pub fn client_properties(&self, kind: ClientKind) -> Vec<(String, String)> {
        let mut props = vec![(
            "bootstrap.servers".to_string(),
            self.bootstrap_servers.clone(),
        )];
        let mut opt = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                props.push((k.to_string(), v));
            }
        };
        opt("security.protocol", self.security_protocol.clone());
        opt("sasl.mechanism", self.sasl_mechanism.clone());
        opt("sasl.username", self.sasl_username.clone());
        opt(
            "sasl.password",
            self.sasl_password.as_ref().map(|s| s.expose().to_string()),
        );
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        opt("ssl.ca.location", path(&self.ssl_ca_location));
        opt(
            "ssl.certificate.location",
            path(&self.ssl_certificate_location),
        );
        opt("ssl.key.location", path(&self.ssl_key_location));
        opt(
            "ssl.key.password",
            self.ssl_key_password
                .as_ref()
                .map(|s| s.expose().to_string()),
        );
        for (k, v) in &self.librdkafka {
            let key = librdkafka_key(k);
            if kind.takes(&key) {
                props.push((key, v.clone()));
            }
        }
        props
    }
}

/// `security.protocol` values librdkafka accepts (case-insensitive).
pub const SECURITY_PROTOCOLS: &[&str] = &["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];
/// `sasl.mechanism` values this build supports (librdkafka built with OpenSSL, no Kerberos).
pub const SASL_MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

impl KafkaSettings {
    /// The effective `security.protocol` (lower case): the dedicated setting, else the
    /// pass-through map, else `plaintext`.
    pub fn effective_security_protocol(&self) -> String {
        self.security_protocol
            .clone()
            .or_else(|| {
                self.librdkafka
                    .iter()
                    .find(|(k, _)| librdkafka_key(k) == "security.protocol")
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| "plaintext".into())
            .to_ascii_lowercase()
    }

    /// TLS and SASL checks, one message per problem naming the key (never a secret's value).
    fn validate_security(&self, bad: &mut Vec<String>) {
        let protocol = self.effective_security_protocol();
        if !SECURITY_PROTOCOLS.contains(&protocol.as_str()) {
            bad.push(format!(
                "kafka.security_protocol ({protocol}) must be one of {}",
                SECURITY_PROTOCOLS.join(", ")
            ));
            return;
        }
        let sasl = protocol.starts_with("sasl_");
        let tls = protocol == "ssl" || protocol == "sasl_ssl";
        let password = self.sasl_password.is_some() || self.sasl_password_file.is_some();

        if self.sasl_password.is_some() && self.sasl_password_file.is_some() {
            bad.push(
                "kafka.sasl_password and kafka.sasl_password_file are both set; set one"
                    .to_string(),
            );
        }
        if sasl {
            match self.sasl_mechanism.as_deref() {
                None => bad.push(format!(
                    "kafka.sasl_mechanism must be set with kafka.security_protocol {protocol} (one of {})",
                    SASL_MECHANISMS.join(", ")
                )),
                Some(m) if !SASL_MECHANISMS.contains(&m) => bad.push(format!(
                    "kafka.sasl_mechanism ({m}) must be one of {}",
                    SASL_MECHANISMS.join(", ")
                )),
                Some("OAUTHBEARER") => {}
                Some(m) => {
                    if self.sasl_username.as_deref().is_none_or(|u| u.trim().is_empty()) {
                        bad.push(format!(
                            "kafka.sasl_username must be set for sasl_mechanism {m}"
                        ));
                    }
                    if !password {
                        bad.push(format!(
                            "kafka.sasl_password (or kafka.sasl_password_file) must be set for sasl_mechanism {m}; \
                             e.g. READMIT__KAFKA__SASL_PASSWORD"
                        ));
                    }
                }
            }
        } else {
            let set = [
                ("kafka.sasl_mechanism", self.sasl_mechanism.is_some()),
                ("kafka.sasl_username", self.sasl_username.is_some()),
                ("kafka.sasl_password", self.sasl_password.is_some()),
                (
                    "kafka.sasl_password_file",
                    self.sasl_password_file.is_some(),
                ),
            ];
            for (key, _) in set.iter().filter(|(_, is_set)| *is_set) {
                bad.push(format!(
                    "{key} is set but kafka.security_protocol ({protocol}) does not use SASL; \
                     use sasl_ssl (or sasl_plaintext)"
                ));
            }
        }
        if self.sasl_password.is_some() && self.sasl_username.is_none() && !sasl {
            bad.push("kafka.sasl_password is set but kafka.sasl_username is not".to_string());
        }
        if let Some(path) = &self.sasl_password_file {
            if !path.is_file() {
                bad.push(format!(
                    "kafka.sasl_password_file ({}) is not a readable file",
                    path.display()
                ));
            }
        }

        let files = [
            ("kafka.ssl_ca_location", &self.ssl_ca_location),
            (
                "kafka.ssl_certificate_location",
                &self.ssl_certificate_location,
            ),
            ("kafka.ssl_key_location", &self.ssl_key_location),
        ];
        if tls {
            for (key, path) in files {
                if let Some(path) = path {
                    if !path.exists() {
                        bad.push(format!("{key} ({}) does not exist", path.display()));
                    }
                }
            }
            if self.ssl_certificate_location.is_some() != self.ssl_key_location.is_some() {
                bad.push(
                    "kafka.ssl_certificate_location and kafka.ssl_key_location go together \
                     (client certificate and its key); set both or neither"
                        .to_string(),
                );
            }
            if self.ssl_key_password.is_some() && self.ssl_key_location.is_none() {
                bad.push(
                    "kafka.ssl_key_password is set but kafka.ssl_key_location is not".to_string(),
                );
            }
        } else {
            let tls_set = files
                .iter()
                .map(|(k, p)| (*k, p.is_some()))
                .chain([("kafka.ssl_key_password", self.ssl_key_password.is_some())]);
            for (key, _) in tls_set.filter(|(_, is_set)| *is_set) {
                bad.push(format!(
                    "{key} is set but kafka.security_protocol ({protocol}) does not use TLS; \
                     use ssl or sasl_ssl"
                ));
            }
        }
    }

    /// Reads `sasl_password_file` into `sasl_password` (trailing newline trimmed) and clears
    /// the file setting, so the settings validate again. Called by [`Settings::load`]; the
    /// error names the key and the path, never the content.
    pub fn resolve_password_file(&mut self) -> Result<(), ConfigError> {
        let Some(path) = self.sasl_password_file.take() else {
            return Ok(());
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::Invalid(vec![format!(
                "kafka.sasl_password_file ({}) could not be read: {e}",
                path.display()
            )])
        })?;
        let password = text.strip_suffix('\n').unwrap_or(&text);
        let password = password.strip_suffix('\r').unwrap_or(password);
        self.sasl_password = Some(Secret::new(password));
        Ok(())
    }
}

/// Normalises a pass-through key: librdkafka names never contain `_`, so `_` means `.`.
fn librdkafka_key(key: &str) -> String {
    key.replace('_', ".")
}

/// `[topics]`: topic names, and whether to create missing topics at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicSettings {
    /// Input topic of HL7 ADT messages, keyed by patient.
    pub input: String,
    /// Risk-score records.
    pub risk_scores: String,
    /// Prefix of routed alert topics (`readmit.alerts.<route>`).
    pub alerts_prefix: String,
    /// Alerts that matched no route.
    pub unrouted: String,
    /// Dead-letter topic: inputs that could not be processed or whose output could never be
    /// produced, with headers saying why.
    pub dlq: String,
    /// Compacted changelog of per-patient history; same partition count as `input`.
    pub changelog: String,
    /// Outcome records (one per processed message).
    pub outcomes: String,
    /// Re-key the input by patient first: when the input's records are not keyed by patient
    /// (`alerts.key_check` counts them), each is re-produced to `rekeyed` keyed by the
    /// canonical patient key, and history is kept from that topic instead of the input.
    pub rekey: bool,
    /// Internal topic of re-keyed input (used when `rekey = true`); the changelog must have
    /// its partition count.
    pub rekeyed: String,
    /// Create missing topics at start-up (changelog with `cleanup.policy=compact`).
    pub create: bool,
    /// Partition count for topics created when `create = true` (the changelog always gets
    /// the input's count).
    pub partitions: i32,
    /// Replication factor for created topics.
    pub replication: i32,
}

impl Default for TopicSettings {
    fn default() -> Self {
        Self {
            input: "adt.events".into(),
            risk_scores: "readmit.risk-scores".into(),
            alerts_prefix: "readmit.alerts.".into(),
            unrouted: "readmit.alerts.unrouted".into(),
            dlq: "readmit.dlq".into(),
            changelog: "readmit.patient-history".into(),
            outcomes: "readmit.outcomes".into(),
            rekey: false,
            rekeyed: "readmit.internal.rekeyed".into(),
            create: false,
            partitions: 6,
            replication: 3,
        }
    }
}

/// `[consumer]`: group membership timeouts, drain, backpressure and restore.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerSettings {
    /// `session.timeout.ms`: the broker drops us from the group after this much silence.
    pub session_timeout_ms: u64,
    /// How long revoke and shutdown wait for in-flight messages to be acknowledged before
    /// committing what is done. Must be below `session_timeout_ms`.
    pub drain_timeout_ms: u64,
    /// Messages of one partition that may await broker acknowledgement at once; when reached,
    /// the partition stops taking messages until one completes.
    pub max_in_flight_per_partition: usize,
    /// `auto.commit.interval.ms`: how often stored offsets are committed.
    pub auto_commit_interval_ms: u64,
    /// `auto.offset.reset` when the group has no committed offset: `earliest` or `latest`.
    pub auto_offset_reset: String,
    /// `max.poll.interval.ms`.
    pub max_poll_interval_ms: u64,
    /// `partition.assignment.strategy`. `cooperative-sticky` (default) moves only the
    /// partitions that change owner, so the others keep their restored state; the eager
    /// strategies (`range`, `roundrobin`) revoke and restore every partition on each rebalance.
    pub assignment_strategy: String,
    /// Changelog restore: the partition counts as caught up once the last expected offset was
    /// seen and no record arrived for this long.
    pub restore_idle_ms: u64,
    /// Changelog restore fails if no record arrives for this long before the end is reached.
    pub restore_stall_timeout_ms: u64,
    /// Timeout of metadata and commit calls.
    pub request_timeout_ms: u64,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            session_timeout_ms: 45_000,
            drain_timeout_ms: 15_000,
            max_in_flight_per_partition: 256,
            auto_commit_interval_ms: 5_000,
            auto_offset_reset: "earliest".into(),
            max_poll_interval_ms: 300_000,
            assignment_strategy: "cooperative-sticky".into(),
            restore_idle_ms: 200,
            restore_stall_timeout_ms: 30_000,
            request_timeout_ms: 10_000,
        }
    }
}

/// `[producer]`: one idempotent producer for all outputs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerSettings {
    /// `enable.idempotence` (with `acks=all`). Turn off only for brokers that lack it.
    pub idempotence: bool,
    /// `linger.ms`.
    pub linger_ms: u64,
    /// `queue.buffering.max.messages`: the bounded local queue.
    pub queue_buffering_max_messages: u64,
    /// `message.timeout.ms`; `0` = librdkafka retries forever (keeps per-partition order,
    /// the default). A finite value hands failures back to the runtime, which retries with
    /// backoff.
    pub message_timeout_ms: u64,
    /// `message.max.bytes`.
    pub message_max_bytes: u64,
    /// `compression.type`.
    pub compression: String,
    /// First back-off after a transient produce failure.
    pub retry_backoff_initial_ms: u64,
    /// Back-off ceiling (doubling up to this).
    pub retry_backoff_max_ms: u64,
    /// How long shutdown waits for the producer queue to flush.
    pub flush_timeout_ms: u64,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            idempotence: true,
            linger_ms: 5,
            queue_buffering_max_messages: 100_000,
            message_timeout_ms: 0,
            message_max_bytes: 1_000_000,
            compression: "lz4".into(),
            retry_backoff_initial_ms: 100,
            retry_backoff_max_ms: 10_000,
            flush_timeout_ms: 10_000,
        }
    }
}

/// `[model]`: minimal placeholder owned by the model module, which extends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// Path of the model artifact directory or file.
    pub path: Option<PathBuf>,
}

/// `[alerts]`: which discharges are scored, who hears about them, and what they are told to do.
///
/// ```toml
/// [alerts]
/// score_classes = ["I"]          # PV1-2 classes whose discharges are scored
/// key_check = "count"            # off | count | dead_letter
///
/// [[alerts.routing.collaboratives]]
/// name = "north"
/// tiers = ["moderate", "high"]
/// receives_mrn = false
///
/// [[alerts.routing.rules]]          # NORTH_GENERAL's patients living in 212* (all conditions)
/// collaboratives = ["north"]
/// facilities = ["NORTH_GENERAL"]
/// zips = ["212"]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// PV1-2 patient classes whose discharges are scored; other visits only feed history.
    pub score_classes: Vec<String>,
    /// What to do when a record's key does not name the message's patient.
    pub key_check: KeyCheck,
    /// Collaboratives and ordered routing rules (first match wins; a rule matches when all the
    /// conditions it lists match).
    pub routing: crate::alerts::Routing,
    /// Recommended interventions per tier.
    pub interventions: crate::alerts::Interventions,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            score_classes: vec!["I".into()],
            key_check: KeyCheck::default(),
            routing: crate::alerts::Routing::default(),
            interventions: crate::alerts::Interventions::default(),
        }
    }
}

/// What to do when an input record's Kafka key does not name the message's patient (history
/// would split across partitions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyCheck {
    /// Don't check.
    Off,
    /// Count mismatches (metric `readmit_key_mismatches_total`) and process anyway.
    #[default]
    Count,
    /// Dead-letter mis-keyed records.
    DeadLetter,
}

/// `[pseudonym]`: key for keyed hashing of patient identifiers; set `key` or `key_file`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PseudonymSettings {
    /// The key itself (secret; prefer `key_file` or the environment).
    pub key: Option<Secret>,
    /// File holding the key, e.g. `/run/secrets/readmit-key`.
    pub key_file: Option<PathBuf>,
}

/// `[metrics]`: Prometheus endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Listen address of the `/metrics` endpoint; empty disables it.
    pub listen: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:9898".into(),
        }
    }
}

/// `[monitor]`: live model monitoring from the outcome stream (rolling AUROC, calibration,
/// readmission rates, score drift). See [`crate::metrics::monitor`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorConfig {
    /// N: the rolling AUROC and calibration cover the last N scored discharges whose 30-day
    /// window has closed (and PSI the last N scores).
    pub window: usize,
    /// Recompute the AUROC after this many new outcomes (cost O(N log N) each time).
    pub recompute_every: usize,
    /// Scores needed before score drift (PSI) is published.
    pub min_psi_scores: usize,
    /// Predictions awaiting their outcome kept at most (the oldest are dropped beyond).
    pub max_pending: usize,
    /// Distinct `facility` label values at most; later facilities count as `other`.
    pub max_facilities: usize,
}

/// Largest accepted `monitor.window` (memory and AUROC time grow with it).
pub const MAX_MONITOR_WINDOW: usize = 1_000_000;

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            window: 5_000,
            recompute_every: 250,
            min_psi_scores: 100,
            max_pending: 200_000,
            max_facilities: 50,
        }
    }
}

impl MonitorConfig {
    /// Pushes one message per bad `[monitor]` setting onto `bad`.
    fn validate(&self, bad: &mut Vec<String>) {
        if !(100..=MAX_MONITOR_WINDOW).contains(&self.window) {
            bad.push(format!(
                "monitor.window ({}) must be between 100 and {MAX_MONITOR_WINDOW} closed discharges",
                self.window
            ));
        }
        if self.recompute_every == 0 || self.recompute_every > self.window {
            bad.push(format!(
                "monitor.recompute_every ({}) must be between 1 and monitor.window ({})",
                self.recompute_every, self.window
            ));
        }
        if self.min_psi_scores == 0 || self.min_psi_scores > self.window {
            bad.push(format!(
                "monitor.min_psi_scores ({}) must be between 1 and monitor.window ({})",
                self.min_psi_scores, self.window
            ));
        }
        if self.max_pending < self.window {
            bad.push(format!(
                "monitor.max_pending ({}) must be at least monitor.window ({})",
                self.max_pending, self.window
            ));
        }
        if self.max_facilities == 0 {
            bad.push("monitor.max_facilities must be at least 1".to_string());
        }
    }
}

/// Where [`Settings::load_from`] reads its layers from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Optional defaults file (missing is fine).
    pub default_file: Option<PathBuf>,
    /// Operator's file (`--config`); must exist when given.
    pub file: Option<PathBuf>,
    /// Environment variables to use instead of the process environment (tests), or `None`
    /// to read the process environment.
    pub env: Option<std::collections::HashMap<String, String>>,
    /// Environment prefix; `READMIT` unless a test picks its own.
    pub env_prefix: Option<String>,
}

impl Settings {
    /// Loads defaults → `config/default.toml` → `config_file` → `READMIT__*` environment,
    /// then validates.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let settings = Self::load_from(Sources {
            default_file: Some(PathBuf::from(DEFAULT_CONFIG_FILE)),
            file: config_file.map(Path::to_path_buf),
            env: None,
            env_prefix: None,
        })?;
        settings.validate()?;
        let mut settings = settings;
        settings.kafka.resolve_password_file()?;
        Ok(settings)
    }

    /// Loads the layers named in `sources` without validating.
    pub fn load_from(sources: Sources) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = &sources.default_file {
            check_file_keys(path)?;
            builder = builder.add_source(config::File::from(path.as_path()).required(false));
        }
        if let Some(path) = &sources.file {
            check_file_keys(path)?;
            builder = builder.add_source(config::File::from(path.as_path()).required(true));
        }
        let prefix = sources.env_prefix.as_deref().unwrap_or(ENV_PREFIX);
        check_env_keys(prefix, sources.env.as_ref())?;
        let env = config::Environment::with_prefix(prefix)
            .separator(ENV_SEPARATOR)
            .try_parsing(true)
            .source(sources.env.clone().map(|m| m.into_iter().collect()));
        builder = builder.add_source(env);
        let merged = builder.build().map_err(load_error)?;
        merged.try_deserialize().map_err(load_error)
    }

    /// Built-in defaults overlaid with `text`, read as the TOML of a `--config` file would be
    /// (no default file, no environment), without validating. For checking configuration text
    /// without a file (the `config_load` fuzz target).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        check_toml_keys(text, "the configuration")?;
        config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .map_err(load_error)?
            .try_deserialize()
            .map_err(load_error)
    }

    /// Checks every setting and reports all problems at once, each naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut bad = Vec::new();
        let k = &self.kafka;
        if k.bootstrap_servers.trim().is_empty() {
            bad.push("kafka.bootstrap_servers must not be empty".to_string());
        }
        if k.group_id.trim().is_empty() {
            bad.push("kafka.group_id must not be empty".to_string());
        }
        k.validate_security(&mut bad);
        for key in k.librdkafka.keys() {
            let norm = librdkafka_key(key);
            if MANAGED_LIBRDKAFKA_KEYS.contains(&norm.as_str()) {
                bad.push(format!(
                    "kafka.librdkafka.{key} is managed by readmit; use the dedicated setting"
                ));
            }
        }

        crate::alerts::routing::validate(&self.alerts.routing, &mut bad);
        for (i, class) in self.alerts.score_classes.iter().enumerate() {
            if !["I", "E", "O", "P", "R", "B", "C", "N", "U"].contains(&class.as_str()) {
                bad.push(format!(
                    "alerts.score_classes[{i}] ({class}) must be a PV1-2 patient class code (I, E, O, …)"
                ));
            }
        }

        let t = &self.topics;
        let named = [
            ("topics.input", &t.input),
            ("topics.risk_scores", &t.risk_scores),
            ("topics.unrouted", &t.unrouted),
            ("topics.dlq", &t.dlq),
            ("topics.changelog", &t.changelog),
            ("topics.outcomes", &t.outcomes),
            ("topics.rekeyed", &t.rekeyed),
        ];
        for (key, name) in named {
            if let Some(problem) = topic_name_problem(name) {
                bad.push(format!("{key} ({name}) {problem}"));
            }
        }
        if t.alerts_prefix.is_empty() || topic_name_problem(&t.alerts_prefix).is_some() {
            bad.push(format!(
                "topics.alerts_prefix ({}) must be a non-empty prefix of letters, digits, '.', '_' or '-'",
                t.alerts_prefix
            ));
        }
        for (key, name) in &named[1..] {
            if *name == &t.input {
                bad.push(format!("{key} ({name}) must differ from topics.input"));
            }
        }
        if t.changelog == t.dlq {
            bad.push(format!(
                "topics.changelog ({}) must differ from topics.dlq",
                t.changelog
            ));
        }
        if t.partitions < 1 {
            bad.push(format!(
                "topics.partitions ({}) must be at least 1",
                t.partitions
            ));
        }
        if t.replication < 1 {
            bad.push(format!(
                "topics.replication ({}) must be at least 1",
                t.replication
            ));
        }

        let c = &self.consumer;
        if !(1_000..=3_600_000).contains(&c.session_timeout_ms) {
            bad.push(format!(
                "consumer.session_timeout_ms ({}) must be between 1000 and 3600000",
                c.session_timeout_ms
            ));
        }
        if c.drain_timeout_ms == 0 {
            bad.push("consumer.drain_timeout_ms must be above 0".to_string());
        }
        if c.drain_timeout_ms >= c.session_timeout_ms {
            bad.push(format!(
                "consumer.drain_timeout_ms ({}) must be below consumer.session_timeout_ms ({})",
                c.drain_timeout_ms, c.session_timeout_ms
            ));
        }
        if c.max_in_flight_per_partition == 0 {
            bad.push("consumer.max_in_flight_per_partition must be at least 1".to_string());
        }
        if c.auto_commit_interval_ms == 0 {
            bad.push("consumer.auto_commit_interval_ms must be above 0".to_string());
        }
        if !["earliest", "latest"].contains(&c.auto_offset_reset.as_str()) {
            bad.push(format!(
                "consumer.auto_offset_reset ({}) must be earliest or latest",
                c.auto_offset_reset
            ));
        }
        if c.max_poll_interval_ms < c.session_timeout_ms {
            bad.push(format!(
                "consumer.max_poll_interval_ms ({}) must be at least consumer.session_timeout_ms ({})",
                c.max_poll_interval_ms, c.session_timeout_ms
            ));
        }
        let strategies = [
            "cooperative-sticky",
            "range",
            "roundrobin",
            "range,roundrobin",
        ];
        if !strategies.contains(&c.assignment_strategy.as_str()) {
            bad.push(format!(
                "consumer.assignment_strategy ({}) must be one of {}",
                c.assignment_strategy,
                strategies.join(" | ")
            ));
        }
        if c.restore_idle_ms == 0 {
            bad.push("consumer.restore_idle_ms must be above 0".to_string());
        }
        if c.restore_stall_timeout_ms <= c.restore_idle_ms {
            bad.push(format!(
                "consumer.restore_stall_timeout_ms ({}) must be above consumer.restore_idle_ms ({})",
                c.restore_stall_timeout_ms, c.restore_idle_ms
            ));
        }
        if c.request_timeout_ms == 0 {
            bad.push("consumer.request_timeout_ms must be above 0".to_string());
        }

        let p = &self.producer;
        if p.queue_buffering_max_messages == 0 {
            bad.push("producer.queue_buffering_max_messages must be at least 1".to_string());
        }
        if p.message_timeout_ms != 0 && p.message_timeout_ms <= p.linger_ms {
            bad.push(format!(
                "producer.message_timeout_ms ({}) must be 0 (infinite) or above producer.linger_ms ({})",
                p.message_timeout_ms, p.linger_ms
            ));
        }
        if p.message_max_bytes < 1_000 {
            bad.push(format!(
                "producer.message_max_bytes ({}) must be at least 1000",
                p.message_max_bytes
            ));
        }
        let codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
        if !codecs.contains(&p.compression.as_str()) {
            bad.push(format!(
                "producer.compression ({}) must be one of {}",
                p.compression,
                codecs.join(", ")
            ));
        }
        if p.retry_backoff_initial_ms == 0 {
            bad.push("producer.retry_backoff_initial_ms must be above 0".to_string());
        }
        if p.retry_backoff_max_ms < p.retry_backoff_initial_ms {
            bad.push(format!(
                "producer.retry_backoff_max_ms ({}) must be at least producer.retry_backoff_initial_ms ({})",
                p.retry_backoff_max_ms, p.retry_backoff_initial_ms
            ));
        }

        self.monitor.validate(&mut bad);

        if self.pseudonym.key.is_some() && self.pseudonym.key_file.is_some() {
            bad.push("pseudonym.key and pseudonym.key_file are both set; set one".to_string());
        }

        if bad.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(bad))
        }
    }
}

/// A load error without the source excerpt the TOML parser quotes (`3 | key = "…"` and its
/// `^` marker): the quoted line may hold a secret (`pseudonym.key`, `kafka.sasl_password`).
/// The line and column, the reason and the file name stay.
/// A top-level key or environment-derived key every setting has: a plain name.
fn plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The `config` crate reads each top-level key of a file (and each environment variable after
/// the prefix) as a path expression such as `a.b[3]`; a quoted TOML key like
/// `'x[-9223372036854775808]'` made it panic with a capacity overflow (found by the
/// `config_load` fuzz target). Every real section is a plain name, so anything else is refused
/// here, before the crate sees it. (Keys are names, not values: the message quotes them, cut
/// to 64 characters.)
fn check_toml_keys(text: &str, origin: &str) -> Result<(), ConfigError> {
    // A syntax error is left to the `config` crate, which reports it with line and column.
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    let bad: Vec<String> = table
        .keys()
        .filter(|k| !plain_key(k))
        .map(|k| format!("{:?}", k.chars().take(64).collect::<String>()))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Load(format!(
            "{origin}: top-level key {} is not a plain name (letters, digits, '_' or '-'); \
             settings live in sections such as [kafka] and [topics]",
            bad.join(", ")
        )))
    }
}

/// [`check_toml_keys`] for a file; an unreadable or missing file is left to the `config` crate
/// (a missing default file is fine, a missing `--config` file is its error to report).
fn check_file_keys(path: &Path) -> Result<(), ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => check_toml_keys(&text, &path.display().to_string()),
        Err(_) => Ok(()),
    }
}

/// Environment variables `PREFIX__…` must name settings with letters, digits and `_` only.
fn check_env_keys(
    prefix: &str,
    env: Option<&std::collections::HashMap<String, String>>,
) -> Result<(), ConfigError> {
    let lead = format!("{prefix}{ENV_SEPARATOR}");
    let names: Vec<String> = match env {
        Some(map) => map.keys().cloned().collect(),
        None => std::env::vars_os()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect(),
    };
    let mut bad: Vec<String> = names
        .into_iter()
        .filter(|name| {
            name.get(..lead.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(&lead))
                && !name[lead.len()..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect();
    bad.sort();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Load(format!(
            "environment variable(s) {} may contain only letters, digits and '_' after {lead}",
            bad.join(", ")
        )))
    }
}

fn load_error(e: config::ConfigError) -> ConfigError {
    let text = e.to_string();
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| {
            let rest = line
                .trim_start()
                .trim_start_matches(|c: char| c.is_ascii_digit());
            !(rest.trim_start().starts_with('|') || line.trim() == "...")
        })
        .collect();
    ConfigError::Load(kept.join("\n"))
}

/// Kafka topic name rules: 1–249 chars of `[A-Za-z0-9._-]`, not `.` or `..`.
fn topic_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("must not be empty");
    }
    if name.len() > 249 {
        return Some("must be at most 249 characters");
    }
    if name == "." || name == ".." {
        return Some("must not be '.' or '..'");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Some("may contain only letters, digits, '.', '_' and '-'");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn toml_file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    /// Regression (config_load fuzz crash): a quoted top-level key the `config` crate would
    /// read as a path with a huge negative index is refused with an error, from a string, from
    /// a `--config` file and from the environment; plain sections still load.
    #[test]
    fn path_like_keys_are_refused_not_a_panic() {
        let crash = "'9[-922337203685477588].i'=\"ei\"\n";
        let err = Settings::from_toml_str(crash).unwrap_err().to_string();
        assert!(
            err.contains("top-level key \"9[-922337203685477588].i\" is not a plain name"),
            "{err}"
        );
        let err = Settings::from_toml_str("\"kafka.group_id\" = 1\n[kafka]\ngroup_id = \"g\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("top-level key \"kafka.group_id\""), "{err}");

        let file = toml_file(crash);
        let err = Settings::load_from(Sources {
            file: Some(file.path().to_path_buf()),
            env: env(&[]),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("is not a plain name"), "{err}");

        let err = Settings::load_from(Sources {
            env: env(&[("READMIT__KAFKA__GROUP_ID[-9]", "x")]),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("READMIT__KAFKA__GROUP_ID[-9]") && err.contains("only letters, digits"),
            "{err}"
        );

        let ok = Settings::from_toml_str("[kafka]\ngroup_id = \"g\"\n").unwrap();
        assert_eq!(ok.kafka.group_id, "g");
        let ok = Settings::load_from(Sources {
            env: env(&[("READMIT__KAFKA__GROUP_ID", "from-env")]),
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(ok.kafka.group_id, "from-env");
    }

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let s = Settings::load_from(Sources {
            env: env(&[]),
            ..Sources::default()
        })
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.kafka.bootstrap_servers, "localhost:9092");
        assert_eq!(s.kafka.group_id, "readmit");
        assert_eq!(s.topics.input, "adt.events");
        assert_eq!(s.topics.dlq, "readmit.dlq");
        assert_eq!(s.topics.changelog, "readmit.patient-history");
        assert_eq!(s.consumer.drain_timeout_ms, 15_000);
    }

    #[test]
    fn shipped_default_toml_matches_builtin_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_FILE);
        let from_file = Settings::load_from(Sources {
            default_file: Some(path),
            env: env(&[]),
            ..Sources::default()
        })
        .unwrap();
        let builtin = Settings::default();
        assert_eq!(format!("{from_file:?}"), format!("{builtin:?}"));
    }

    #[test]
    fn file_overrides_default_and_env_overrides_file() {
        let defaults = toml_file(
            "[kafka]\nbootstrap_servers = \"default:1\"\ngroup_id = \"from-default\"\n\
             [consumer]\ndrain_timeout_ms = 1000\n",
        );
        let user = toml_file("[kafka]\nbootstrap_servers = \"file:2\"\n");
        let s = Settings::load_from(Sources {
            default_file: Some(defaults.path().to_path_buf()),
            file: Some(user.path().to_path_buf()),
            env: env(&[
                ("READMIT__KAFKA__GROUP_ID", "from-env"),
                ("READMIT__CONSUMER__MAX_IN_FLIGHT_PER_PARTITION", "7"),
            ]),
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(s.kafka.bootstrap_servers, "file:2");
        assert_eq!(s.kafka.group_id, "from-env");
        assert_eq!(s.consumer.drain_timeout_ms, 1000);
        assert_eq!(s.consumer.max_in_flight_per_partition, 7);
        // untouched keys keep their defaults
        assert_eq!(s.consumer.session_timeout_ms, 45_000);
    }

    #[test]
    fn env_overrides_file_for_same_key() {
        let user = toml_file("[topics]\ninput = \"file-input\"\n");
        let s = Settings::load_from(Sources {
            file: Some(user.path().to_path_buf()),
            env: env(&[("READMIT__TOPICS__INPUT", "env-input")]),
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(s.topics.input, "env-input");
    }

    #[test]
    fn missing_operator_file_is_an_error() {
        let err = Settings::load_from(Sources {
            file: Some(PathBuf::from("does/not/exist.toml")),
            env: env(&[]),
            ..Sources::default()
        })
        .unwrap_err();
        assert!(matches!(err, ConfigError::Load(_)), "{err}");
    }

    #[test]
    fn unknown_key_in_file_is_rejected_and_named() {
        let user = toml_file("[consumer]\ndrain_timeout = 5\n");
        let err = Settings::load_from(Sources {
            file: Some(user.path().to_path_buf()),
            env: env(&[]),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("drain_timeout"), "{err}");
    }

    #[test]
    fn unknown_key_in_env_is_rejected_and_named() {
        let err = Settings::load_from(Sources {
            env: env(&[("READMIT__KAFKA__BOOTSTRAP", "x:1")]),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("bootstrap"), "{err}");
    }

    #[test]
    fn unknown_section_is_rejected() {
        let err = Settings::load_from(Sources {
            env: env(&[("READMIT__KAFAK__GROUP_ID", "x")]),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("kafak"), "{err}");
    }

    #[test]
    fn custom_env_prefix_is_honoured() {
        let s = Settings::load_from(Sources {
            env: env(&[
                ("MYTEST__KAFKA__GROUP_ID", "g2"),
                ("READMIT__KAFKA__GROUP_ID", "ignored"),
            ]),
            env_prefix: Some("MYTEST".into()),
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(s.kafka.group_id, "g2");
    }

    #[test]
    fn validate_lists_every_problem_by_key() {
        let mut s = Settings::default();
        s.consumer.session_timeout_ms = 10_000;
        s.consumer.drain_timeout_ms = 30_000;
        s.consumer.max_in_flight_per_partition = 0;
        s.topics.changelog = "bad topic!".into();
        s.kafka
            .librdkafka
            .insert("enable_auto_commit".into(), "false".into());
        let err = s.validate().unwrap_err();
        let ConfigError::Invalid(list) = &err else {
            panic!("expected Invalid, got {err}")
        };
        assert!(list.contains(
            &"consumer.drain_timeout_ms (30000) must be below consumer.session_timeout_ms (10000)"
                .to_string()
        ));
        assert!(list.contains(&"consumer.max_in_flight_per_partition must be at least 1".into()));
        assert!(list
            .iter()
            .any(|m| m.starts_with("topics.changelog (bad topic!)")));
        assert!(list
            .iter()
            .any(|m| m.starts_with("kafka.librdkafka.enable_auto_commit is managed")));
        assert_eq!(list.len(), 4, "{list:?}");
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let s = Settings::load_from(Sources {
            env: env(&[
                ("READMIT__KAFKA__SASL_USERNAME", "svc"),
                ("READMIT__KAFKA__SASL_PASSWORD", "hunter2-secret"),
                ("READMIT__PSEUDONYM__KEY", "k3y-material"),
            ]),
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(
            s.kafka.sasl_password.as_ref().unwrap().expose(),
            "hunter2-secret"
        );
        for text in [format!("{s:?}"), format!("{s}")] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("k3y-material"), "{text}");
            assert!(text.contains("[redacted]"));
        }
        // the validation message for a secret names the key, not the value
        let mut bad = s.clone();
        bad.kafka.sasl_username = None;
        let msg = bad.validate().unwrap_err().to_string();
        assert!(
            msg.contains("kafka.sasl_password") && !msg.contains("hunter2"),
            "{msg}"
        );
    }

    #[test]
    fn passthrough_keys_map_underscores_to_dots() {
        let s = Settings::load_from(Sources {
            env: env(&[(
                "READMIT__KAFKA__LIBRDKAFKA__SOCKET_KEEPALIVE_ENABLE",
                "true",
            )]),
            ..Sources::default()
        })
        .unwrap();
        let props = s.kafka.client_properties(ClientKind::Producer);
        assert!(props.contains(&("socket.keepalive.enable".to_string(), "true".to_string())));
    }
}

#[cfg(test)]
mod security_and_monitor_tests {
    use super::*;

    fn problems(s: &Settings) -> Vec<String> {
        match s.validate() {
            Ok(()) => Vec::new(),
            Err(ConfigError::Invalid(list)) => list,
            Err(other) => panic!("{other}"),
        }
    }

    fn scram() -> Settings {
        let mut s = Settings::default();
        let k = &mut s.kafka;
        k.security_protocol = Some("SASL_SSL".into());
        k.sasl_mechanism = Some("SCRAM-SHA-512".into());
        k.sasl_username = Some("readmit".into());
        k.sasl_password = Some(Secret::new("s3cret-pw"));
        s
    }

    #[test]
    fn sasl_ssl_with_scram_is_valid_and_passes_through() {
        let s = scram();
        assert_eq!(problems(&s), Vec::<String>::new());
        let props = s.kafka.client_properties(ClientKind::Admin);
        for (k, v) in [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "readmit"),
            ("sasl.password", "s3cret-pw"),
        ] {
            assert!(props.contains(&(k.into(), v.into())), "{k}: {props:?}");
        }
    }

    #[test]
    fn sasl_needs_a_known_mechanism_and_credentials() {
        let mut s = scram();
        s.kafka.sasl_mechanism = Some("SCRAM-SHA-1".into());
        let p = problems(&s);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("kafka.sasl_mechanism (SCRAM-SHA-1) must be one of"));

        let mut s = scram();
        s.kafka.sasl_mechanism = None;
        assert!(problems(&s)[0].starts_with("kafka.sasl_mechanism must be set"));

        let mut s = scram();
        s.kafka.sasl_username = None;
        s.kafka.sasl_password = None;
        let p = problems(&s);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with("kafka.sasl_username must be set for sasl_mechanism SCRAM-SHA-512")
        );
        assert!(p[1].starts_with("kafka.sasl_password (or kafka.sasl_password_file) must be set"));
    }

    #[test]
    fn sasl_and_tls_settings_without_the_protocol_are_named() {
        let mut s = Settings::default();
        s.kafka.sasl_mechanism = Some("PLAIN".into());
        s.kafka.ssl_ca_location = Some(PathBuf::from("/etc/hosts"));
        let p = problems(&s);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with(
            "kafka.sasl_mechanism is set but kafka.security_protocol (plaintext) does not use SASL"
        ));
        assert!(p[1].starts_with(
            "kafka.ssl_ca_location is set but kafka.security_protocol (plaintext) does not use TLS"
        ));
        // The protocol may also come through the pass-through map.
        let mut s = scram();
        s.kafka.security_protocol = None;
        s.kafka
            .librdkafka
            .insert("security_protocol".into(), "sasl_ssl".into());
        assert_eq!(problems(&s), Vec::<String>::new());
    }

    #[test]
    fn tls_files_must_exist_and_certificate_goes_with_key() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let mut s = Settings::default();
        s.kafka.security_protocol = Some("ssl".into());
        s.kafka.ssl_ca_location = Some(ca.clone());
        assert_eq!(problems(&s), Vec::<String>::new());

        s.kafka.ssl_ca_location = Some(dir.path().join("missing-ca.pem"));
        s.kafka.ssl_certificate_location = Some(ca);
        s.kafka.ssl_key_password = Some(Secret::new("keypw-123"));
        let p = problems(&s);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(
            p[0].starts_with("kafka.ssl_ca_location (")
                && p[0].ends_with("missing-ca.pem) does not exist")
        );
        assert!(
            p[1].contains("kafka.ssl_certificate_location and kafka.ssl_key_location go together")
        );
        assert!(p[2].starts_with("kafka.ssl_key_password is set but kafka.ssl_key_location is not"));
        assert!(!p.join(" ").contains("keypw-123"));
    }

    #[test]
    fn password_file_is_read_trimmed_and_exclusive_with_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sasl-password");
        std::fs::write(&file, "from-file-pw\n").unwrap();
        let mut s = scram();
        s.kafka.sasl_password_file = Some(file.clone());
        assert_eq!(
            problems(&s),
            vec!["kafka.sasl_password and kafka.sasl_password_file are both set; set one"]
        );
        s.kafka.sasl_password = None;
        assert_eq!(problems(&s), Vec::<String>::new());
        s.kafka.resolve_password_file().unwrap();
        assert_eq!(
            s.kafka.sasl_password.as_ref().unwrap().expose(),
            "from-file-pw"
        );
        assert!(s.kafka.sasl_password_file.is_none());
        assert_eq!(
            problems(&s),
            Vec::<String>::new(),
            "resolved settings still validate"
        );

        let mut s = scram();
        s.kafka.sasl_password = None;
        s.kafka.sasl_password_file = Some(dir.path().join("nope"));
        let p = problems(&s);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("kafka.sasl_password_file (")
                && p[0].ends_with("nope) is not a readable file")
        );
    }

    #[test]
    fn monitor_window_is_configurable_and_validated() {
        assert_eq!(MonitorConfig::default().window, 5_000);
        let s = Settings::load_from(Sources {
            env: Some(
                [("READMIT__MONITOR__WINDOW".to_string(), "20000".to_string())]
                    .into_iter()
                    .collect(),
            ),
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(s.monitor.window, 20_000);
        assert_eq!(problems(&s), Vec::<String>::new());
        let m = crate::metrics::MonitorSettings::from(&s.monitor);
        assert_eq!(m.window, 20_000);

        let mut s = Settings::default();
        s.monitor.window = 10;
        s.monitor.recompute_every = 0;
        s.monitor.max_facilities = 0;
        let p = problems(&s);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].starts_with("monitor.window (10) must be between 100 and 1000000"));
        assert!(p[1].starts_with("monitor.recompute_every (0)"));
        assert!(p[2]
            .starts_with("monitor.min_psi_scores (100) must be between 1 and monitor.window (10)"));
        assert_eq!(p[3], "monitor.max_facilities must be at least 1");
    }
}

#[cfg(test)]
mod alert_settings_tests {
    use super::*;

    /// Settings from the defaults and one TOML file (no environment layer).
    fn from_toml(text: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readmit.toml");
        std::fs::write(&path, text).unwrap();
        Settings::load_from(Sources {
            file: Some(path),
            env: Some(Default::default()),
            ..Sources::default()
        })
        .unwrap()
    }

    #[test]
    fn a_file_that_lists_one_tier_s_interventions_keeps_the_other_tiers_defaults() {
        let s = from_toml(
            r#"
[[alerts.interventions.high]]
code = "call_24h"
action = "Phone call within 24 hours"
due_hours = 24
"#,
        );
        let defaults = crate::alerts::Interventions::default();
        let high = &s.alerts.interventions.high;
        assert_eq!(high.len(), 1);
        assert_eq!(
            (
                high[0].code.as_str(),
                high[0].due_hours,
                high[0].unless_home_health
            ),
            ("call_24h", 24, false)
        );
        assert_eq!(s.alerts.interventions.low, defaults.low);
        assert_eq!(s.alerts.interventions.moderate, defaults.moderate);
    }

    #[test]
    fn routing_is_read_from_toml_and_validated_by_key() {
        let s = from_toml(
            r#"
[alerts]
score_classes = ["I", "X"]
key_check = "dead_letter"
[[alerts.routing.collaboratives]]
name = "north"
tiers = ["high"]
[[alerts.routing.rules]]
collaboratives = ["north", "south"]
zips = ["212"]
"#,
        );
        assert_eq!(s.alerts.key_check, KeyCheck::DeadLetter);
        assert_eq!(s.alerts.routing.collaboratives[0].name, "north");
        let ConfigError::Invalid(problems) = s.validate().unwrap_err() else {
            panic!("expected validation errors")
        };
        assert!(problems
            .iter()
            .any(|p| p.contains("alerts.routing.rules[0] names collaborative 'south'")));
        assert!(problems
            .iter()
            .any(|p| p.starts_with("alerts.score_classes[1] (X)")));
    }
}
