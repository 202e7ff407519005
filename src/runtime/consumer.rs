//! Kafka client configuration and the main-queue driver.
//!
//! The group consumer is a `StreamConsumer<RuntimeContext>`. Its main queue carries rebalance
//! events (and any message for a partition whose queue was not split); it must keep being
//! polled so callbacks fire and the consumer stays in the group, even while every partition
//! task is stalled by backpressure. [`MainQueueDriver`] polls it on a dedicated OS thread, as
//! Vector's `drive_kafka_consumer` does, because the rebalance callbacks block while the
//! coordinator drains partition tasks.

use std::sync::Arc;
use std::thread::JoinHandle;

use futures::channel::oneshot;
use futures::FutureExt;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::Message;

use super::context::RuntimeContext;
use crate::config::{ClientKind, Settings};

/// The runtime's group consumer.
pub type GroupConsumer = StreamConsumer<RuntimeContext>;

/// Common client properties: bootstrap, security, the pass-through properties that apply to
/// `kind`, and `client.id` = `<kafka.client_id>-<role>`.
pub fn base_config(settings: &Settings, role: &str, kind: ClientKind) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (k, v) in settings.kafka.client_properties(kind) {
        config.set(k, v);
    }
    config.set("client.id", format!("{}-{role}", settings.kafka.client_id));
    config
}

/// Group consumer properties: auto-commit on, auto offset store off (offsets are stored by
/// partition tasks after acknowledgement), no partition EOF events.
pub fn group_consumer_config(settings: &Settings) -> ClientConfig {
    let c = &settings.consumer;
    let mut config = base_config(settings, "consumer", ClientKind::Consumer);
    config
        .set("group.id", &settings.kafka.group_id)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.commit.interval.ms",
            c.auto_commit_interval_ms.to_string(),
        )
        .set("auto.offset.reset", &c.auto_offset_reset)
        .set("session.timeout.ms", c.session_timeout_ms.to_string())
        .set("max.poll.interval.ms", c.max_poll_interval_ms.to_string())
        .set("partition.assignment.strategy", &c.assignment_strategy)
        .set("enable.partition.eof", "false");
    config
}

/// Producer properties: `acks=all`, idempotence as configured, bounded local queue, and the
/// Java clients' partitioner (`murmur2_random`, unless `kafka.librdkafka.partitioner` says
/// otherwise), so a keyed record — a re-keyed input record above all — lands in the partition
/// a Java producer would choose for the same key.
pub fn producer_config(settings: &Settings) -> ClientConfig {
    let p = &settings.producer;
    let mut config = base_config(settings, "producer", ClientKind::Producer);
    config
        .set("acks", "all")
        .set("enable.idempotence", p.idempotence.to_string())
        .set("linger.ms", p.linger_ms.to_string())
        .set(
            "queue.buffering.max.messages",
            p.queue_buffering_max_messages.to_string(),
        )
        .set("message.timeout.ms", p.message_timeout_ms.to_string())
        .set("message.max.bytes", p.message_max_bytes.to_string())
        .set("compression.type", &p.compression);
    if config.get("partitioner").is_none() {
        config.set("partitioner", "murmur2_random");
    }
    config
}

/// Turns librdkafka statistics on (for the group consumer and the producer, when the observer
/// wants them): `statistics.interval.ms` = [`DEFAULT_STATISTICS_INTERVAL_MS`] unless the
/// pass-through map (`kafka.librdkafka.statistics_interval_ms`) already set it.
///
/// [`DEFAULT_STATISTICS_INTERVAL_MS`]: super::DEFAULT_STATISTICS_INTERVAL_MS
pub fn enable_statistics(config: &mut ClientConfig) {
    if config.get("statistics.interval.ms").is_none() {
        config.set(
            "statistics.interval.ms",
            super::DEFAULT_STATISTICS_INTERVAL_MS.to_string(),
        );
    }
}

/// Properties of the assign-only consumer that replays the changelog: it never subscribes
/// (so never joins a group) and never commits. librdkafka's `assign` still wants a `group.id`,
/// so it gets `<group_id>.restore`, which stays empty.
pub fn restore_consumer_config(settings: &Settings) -> ClientConfig {
    let mut config = base_config(settings, "restore", ClientKind::Consumer);
    config
        .set("group.id", format!("{}.restore", settings.kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest");
    config
}

/// Something the driver saw that the coordinator must act on.
#[derive(Debug)]
pub enum DriverEvent {
    /// A message arrived on the main queue instead of its partition queue.
    UnexpectedMessage {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
}

/// Polls the group consumer's main queue on a dedicated thread until stopped.
pub struct MainQueueDriver {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MainQueueDriver {
    /// Starts the thread. Consumer errors on the main queue are logged; messages there are
    /// reported as [`DriverEvent::UnexpectedMessage`] and never stored.
    pub fn start(
        consumer: Arc<GroupConsumer>,
        events: tokio::sync::mpsc::Sender<DriverEvent>,
    ) -> std::io::Result<Self> {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("readmit-kafka-main".into())
            .spawn(move || {
                futures::executor::block_on(async move {
                    loop {
                        futures::select! {
                            _ = stopped => break,
                            received = consumer.recv().fuse() => match received {
                                Ok(msg) => {
                                    // Bounded: the first report is enough (it ends the run).
                                    let _ = events.try_send(DriverEvent::UnexpectedMessage {
                                        topic: msg.topic().to_string(),
                                        partition: msg.partition(),
                                    });
                                }
                                Err(error) => {
                                    tracing::warn!(%error, "Kafka consumer error.");
                                }
                            },
                        }
                    }
                });
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops polling and joins the thread (off the async executor).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_through_properties_reach_only_the_clients_they_apply_to() {
        let mut settings = Settings::default();
        for (k, v) in [
            ("fetch_wait_max_ms", "5"),
            ("batch.size", "65536"),
            ("socket_keepalive_enable", "true"),
        ] {
            settings.kafka.librdkafka.insert(k.into(), v.into());
        }
        let consumer = group_consumer_config(&settings);
        let restore = restore_consumer_config(&settings);
        let producer = producer_config(&settings);
        let admin = base_config(&settings, "admin", ClientKind::Admin);
        for c in [&consumer, &restore] {
            assert_eq!(c.get("fetch.wait.max.ms"), Some("5"));
            assert_eq!(c.get("batch.size"), None);
        }
        assert_eq!(producer.get("fetch.wait.max.ms"), None);
        assert_eq!(producer.get("batch.size"), Some("65536"));
        assert_eq!(admin.get("fetch.wait.max.ms"), None);
        assert_eq!(admin.get("batch.size"), None);
        for c in [&consumer, &restore, &producer, &admin] {
            assert_eq!(c.get("socket.keepalive.enable"), Some("true"));
        }
        // Both clients build with what they were given.
        let _: rdkafka::producer::BaseProducer = producer.create().expect("producer");
        let _: rdkafka::consumer::BaseConsumer = consumer.create().expect("consumer");
    }

    #[test]
    fn statistics_are_off_unless_enabled_and_the_pass_through_value_wins() {
        let mut settings = Settings::default();
        assert_eq!(
            group_consumer_config(&settings).get("statistics.interval.ms"),
            None
        );
        assert_eq!(
            producer_config(&settings).get("statistics.interval.ms"),
            None
        );

        let mut config = group_consumer_config(&settings);
        enable_statistics(&mut config);
        assert_eq!(config.get("statistics.interval.ms"), Some("5000"));

        settings
            .kafka
            .librdkafka
            .insert("statistics_interval_ms".into(), "250".into());
        let mut config = producer_config(&settings);
        enable_statistics(&mut config);
        assert_eq!(config.get("statistics.interval.ms"), Some("250"));
    }
}
