//! SASL/SCRAM against a real broker: tansu 0.6 started with `--authentication`, a SCRAM user
//! created through the broker, then the librdkafka clients the service builds from [`Settings`]
//! (`security_protocol = "sasl_plaintext"`, `sasl_mechanism`, `sasl_username`,
//! `sasl_password`) create a topic, produce and consume; a wrong password is refused.
//!
//! Needs the tansu binary: set `TANSU_BIN` (CI does). Skipped with a printed reason otherwise.
//! rdkafka's MockCluster cannot be used here: it has no SASL handlers and no TLS listener.
//! TLS is not exercised against a broker: tansu 0.6.0 refuses `--cert` together with `--key`,
//! and with `--cert` alone it still serves plaintext. The TLS settings are covered by
//! tests/security_config.rs (validation, every client's properties, librdkafka loading a CA).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use readmit::config::{ClientKind, Secret, Settings};
use readmit::runtime::consumer;

#[path = "common/tansu.rs"]
mod tansu;

use tansu::{free_port, tansu_bin, Tansu};

const USER: &str = "readmit-svc";
const PASSWORD: &str = "scram-test-password-4b1e";

fn settings(port: u16, mechanism: &str, password: &str) -> Settings {
    let mut s = Settings::default();
    s.kafka.bootstrap_servers = format!("127.0.0.1:{port}");
    s.kafka.group_id = format!("sasl-test-{port}");
    s.kafka.security_protocol = Some("sasl_plaintext".into());
    s.kafka.sasl_mechanism = Some(mechanism.into());
    s.kafka.sasl_username = Some(USER.into());
    s.kafka.sasl_password = Some(Secret::new(password));
    s.validate().expect("SASL settings valid");
    s
}

/// Whether the client built from `s` can read cluster metadata (i.e. authenticated).
fn metadata_ok(s: &Settings) -> Result<usize, String> {
    let c: BaseConsumer = consumer::restore_consumer_config(s)
        .set("socket.timeout.ms", "4000")
        .create()
        .map_err(|e| e.to_string())?;
    c.fetch_metadata(None, Duration::from_secs(5))
        .map(|m| m.brokers().len())
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_credentials_from_settings_authenticate_every_client_and_a_wrong_password_is_refused()
{
    let Some(bin) = tansu_bin() else {
        eprintln!("skipped: set TANSU_BIN to a tansu 0.6 binary to test SASL/SCRAM against it");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();

    // Users can only be created while authentication is off; the sqlite store keeps them.
    {
        let _open = Tansu::start(&bin, dir.path(), port, false);
        let status = Command::new(&bin)
            .args(["user", "create", "--broker"])
            .arg(format!("tcp://127.0.0.1:{port}"))
            .args(["--mechanism", "scram512", USER, PASSWORD])
            .stdout(Stdio::null())
            .status()
            .expect("tansu user create");
        assert!(status.success(), "tansu user create failed");
    }
    let _broker = Tansu::start(&bin, dir.path(), port, true);

    let good = settings(port, "SCRAM-SHA-512", PASSWORD);
    assert_eq!(
        metadata_ok(&good),
        Ok(1),
        "SCRAM-SHA-512 with the right password"
    );
    let wrong = settings(port, "SCRAM-SHA-512", "not-the-password");
    let err = metadata_ok(&wrong).expect_err("a wrong password is refused");
    assert!(!err.contains("not-the-password"), "{err}");
    let mut plain = good.clone();
    plain.kafka.security_protocol = None;
    plain.kafka.sasl_mechanism = None;
    plain.kafka.sasl_username = None;
    plain.kafka.sasl_password = None;
    assert!(
        metadata_ok(&plain).is_err(),
        "an unauthenticated client is refused"
    );

    // Admin, producer and consumer, each built by the runtime's config functions.
    let topic = format!("sasl-{port}");
    let admin: AdminClient<DefaultClientContext> =
        consumer::base_config(&good, "admin", ClientKind::Admin)
            .create()
            .expect("admin client");
    let created = admin
        .create_topics(
            [&NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .expect("create_topics");
    for r in created {
        r.expect("topic created over SASL");
    }
    let producer: FutureProducer = consumer::producer_config(&good).create().expect("producer");
    producer
        .send(
            FutureRecord::to(&topic).key("k").payload("over SCRAM"),
            Duration::from_secs(20),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produced over SASL");
    producer.flush(Duration::from_secs(10)).unwrap();

    let reader: BaseConsumer = consumer::group_consumer_config(&good)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Beginning)
        .unwrap();
    reader.assign(&tpl).unwrap();
    let start = Instant::now();
    let payload = loop {
        if let Some(m) = reader.poll(Duration::from_millis(500)) {
            let m = m.expect("consumed over SASL");
            break m.payload().map(<[u8]>::to_vec);
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "nothing consumed over SASL"
        );
    };
    assert_eq!(payload.as_deref(), Some(&b"over SCRAM"[..]));
}
