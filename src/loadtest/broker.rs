//! The broker side of the load harness: the in-process mock cluster or a real broker, topic
//! creation, the bulk pre-loader and the paced producer of the latency phases.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer, FutureRecord, Producer};

use super::workload::LoadRecord;
use super::{LoadError, Progress};
use crate::config::{ClientKind, Settings};
use crate::runtime;

/// Where the harness runs: its own mock cluster, or a broker given on the command line.
pub struct Broker {
    mock: Option<MockCluster<'static, DefaultProducerContext>>,
    bootstrap: String,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("mock", &self.mock.is_some())
            .field("bootstrap", &self.bootstrap)
            .finish()
    }
}

impl Broker {
    /// A fresh in-process mock cluster (one broker), or `bootstrap` when given.
    pub fn start(bootstrap: Option<&str>) -> Result<Self, LoadError> {
        match bootstrap {
            Some(b) => Ok(Self {
                mock: None,
                bootstrap: b.to_string(),
            }),
            None => {
                let mock = MockCluster::new(1).map_err(|source| LoadError::Kafka {
                    what: "mock cluster",
                    source,
                })?;
                Ok(Self {
                    bootstrap: mock.bootstrap_servers(),
                    mock: Some(mock),
                })
            }
        }
    }

    /// The bootstrap servers.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Whether this is the in-process mock cluster.
    pub fn is_mock(&self) -> bool {
        self.mock.is_some()
    }

    /// Creates `topics` with `partitions` each (an existing topic is left as it is).
    pub async fn create_topics(
        &self,
        settings: &Settings,
        topics: &[String],
        partitions: i32,
    ) -> Result<(), LoadError> {
        if let Some(mock) = &self.mock {
            // The mock cluster does not implement CreateTopics; it has its own call.
            for t in topics {
                mock.create_topic(t, partitions, 1)
                    .map_err(|source| LoadError::Kafka {
                        what: "mock topic",
                        source,
                    })?;
            }
            return Ok(());
        }
        let admin: AdminClient<DefaultClientContext> =
            runtime::consumer::base_config(settings, "loadtest-admin", ClientKind::Admin)
                .create()
                .map_err(|source| LoadError::Kafka {
                    what: "admin client",
                    source,
                })?;
        let admin = std::sync::Arc::new(admin);
        runtime::topics::broker_answers(&admin)
            .await
            .map_err(|source| LoadError::Unreachable {
                servers: self.bootstrap.clone(),
                source,
            })?;
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = admin
            .create_topics(new.iter(), &opts)
            .await
            .map_err(|source| LoadError::Kafka {
                what: "create topics",
                source,
            })?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => return Err(LoadError::Topic(name, code)),
            }
        }
        let _ = tokio::task::spawn_blocking(move || drop(admin)).await;
        Ok(())
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Microseconds since the epoch.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The load generator's producer: acks=all and idempotent like the service, no linger (a
/// lingering generator would add its own wait to every latency) and no compression.
fn generator(settings: &Settings, linger_ms: u64) -> Result<FutureProducer, LoadError> {
    runtime::consumer::base_config(settings, "loadtest-generator", ClientKind::Producer)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", linger_ms.to_string())
        .set("queue.buffering.max.messages", "200000")
        .set("batch.size", "131072")
        .set("compression.type", "none")
        .create()
        .map_err(|source| LoadError::Kafka {
            what: "generator producer",
            source,
        })
}

/// Queues one record, waiting while the local queue is full.
async fn send(
    producer: &FutureProducer,
    topic: &str,
    record: &LoadRecord,
    timestamp_ms: Option<i64>,
) -> Result<rdkafka::producer::DeliveryFuture, LoadError> {
    loop {
        let mut r = FutureRecord::to(topic)
            .key(&record.key)
            .payload(&record.payload);
        if let Some(ts) = timestamp_ms {
            r = r.timestamp(ts);
        }
        match producer.send_result(r) {
            Ok(d) => return Ok(d),
            Err((e, _)) if matches!(e.rdkafka_error_code(), Some(RDKafkaErrorCode::QueueFull)) => {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Err((source, _)) => {
                return Err(LoadError::Kafka {
                    what: "generator send",
                    source,
                })
            }
        }
    }
}

/// Produces `records` to `topic` as fast as the broker takes them; returns the records
/// acknowledged. Fails if any record is not acknowledged (the phases count on all of them).
pub async fn preload(
    settings: &Settings,
    topic: &str,
    records: impl Iterator<Item = LoadRecord>,
    total: u64,
    progress: &Progress,
) -> Result<u64, LoadError> {
    let producer = generator(settings, 20)?;
    let mut in_flight = std::collections::VecDeque::new();
    let mut acked = 0u64;
    let mut last_report = Instant::now();
    for record in records {
        in_flight.push_back(send(&producer, topic, &record, None).await?);
        while in_flight.len() > 50_000 {
            if let Some(d) = in_flight.pop_front() {
                acked += delivered(d.await)?;
            }
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            progress.line(&format!("  preload {topic}: {acked}/{total} acknowledged"));
        }
    }
    for d in in_flight {
        acked += delivered(d.await)?;
    }
    let _ = tokio::task::spawn_blocking(move || {
        let _ = producer.flush(Duration::from_secs(30));
        drop(producer)
    })
    .await;
    Ok(acked)
}

fn delivered(
    r: Result<
        rdkafka::producer::future_producer::OwnedDeliveryResult,
        futures::channel::oneshot::Canceled,
    >,
) -> Result<u64, LoadError> {
    match r {
        Ok(Ok(_)) => Ok(1),
        Ok(Err((source, _))) => Err(LoadError::Kafka {
            what: "generator delivery",
            source,
        }),
        Err(_) => Err(LoadError::Task("generator delivery cancelled".into())),
    }
}

/// What a paced run sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paced {
    /// Records sent (and acknowledged).
    pub sent: u64,
    /// Intended time of the first record, ms since the epoch: latencies are recorded for
    /// records whose timestamp is at or after it.
    pub first_ms: i64,
    /// The rate achieved by the sender (records / seconds between first and last send).
    pub achieved_rate: f64,
    /// The largest lag of a send behind its schedule.
    pub max_send_lag: Duration,
}

/// Sends `records` to `topic` on a fixed schedule of `rate` records/s. Each record's
/// timestamp is its *intended* send time (on a whole-millisecond grid when the rate allows),
/// so a stalled sender or broker shows up as latency instead of hiding it (no coordinated
/// omission).
pub async fn paced(
    settings: &Settings,
    topic: &str,
    records: Vec<LoadRecord>,
    rate: f64,
    progress: &Progress,
) -> Result<Paced, LoadError> {
    let producer = generator(settings, 0)?;
    let mut deliveries = Vec::with_capacity(records.len());
    // Start on a whole millisecond a little ahead, anchored to the monotonic clock.
    let start_ms = now_ms() + 20;
    let start_instant =
        Instant::now() + Duration::from_micros((start_ms * 1000 - now_us()).max(0) as u64);
    let interval_us = 1_000_000.0 / rate;
    let mut max_lag = Duration::ZERO;
    let mut last_report = Instant::now();
    let total = records.len();
    let mut last_send = start_instant;
    for (i, record) in records.iter().enumerate() {
        let offset = Duration::from_micros((i as f64 * interval_us) as u64);
        let due = start_instant + offset;
        let now = Instant::now();
        if due > now {
            tokio::time::sleep_until(due.into()).await;
        } else {
            max_lag = max_lag.max(now - due);
        }
        let intended_ms = start_ms + (offset.as_micros() / 1000) as i64;
        let d = send(&producer, topic, record, Some(intended_ms)).await?;
        deliveries.push(d);
        last_send = Instant::now();
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            progress.line(&format!("  paced {rate} msg/s: {}/{total} sent", i + 1));
        }
    }
    let elapsed = last_send
        .saturating_duration_since(start_instant)
        .as_secs_f64();
    let mut sent = 0;
    for d in deliveries {
        sent += delivered(d.await)?;
    }
    let _ = tokio::task::spawn_blocking(move || drop(producer)).await;
    Ok(Paced {
        sent,
        first_ms: start_ms,
        achieved_rate: if elapsed > 0.0 {
            total.saturating_sub(1) as f64 / elapsed
        } else {
            0.0
        },
        max_send_lag: max_lag,
    })
}
