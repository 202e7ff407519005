//! Changelog restore: before a partition task processes any input of partition `p`, it
//! replays changelog partition `p` from the beginning with an assign-only consumer (no group,
//! no commits), calling [`Processor::restore`](super::Processor::restore) per record.
//!
//! "Caught up" must hold on brokers whose watermarks are approximate (tansu 0.6 reports the
//! high watermark as the last batch's base offset + 1): restore ends once an offset ≥
//! `high_watermark − 1` was seen (or the consumer position reached the watermark, or the
//! changelog is empty) AND no record arrived for `consumer.restore_idle_ms`. If records stop
//! arriving before that point for `consumer.restore_stall_timeout_ms`, restore fails.

use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::Settings;

/// Figures of one partition restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreStats {
    /// Changelog topic.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
    /// Records applied (tombstones included).
    pub records: u64,
    /// Records skipped because they had no key.
    pub skipped_without_key: u64,
    /// Low and high watermark when restore started.
    pub watermarks: (i64, i64),
    /// Wall time of the restore.
    pub duration: Duration,
}

/// Restore failures.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The restore consumer could not be created or assigned.
    #[error("restore consumer for {topic}/{partition}: {source}")]
    Client {
        /// Changelog topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Client error.
        source: rdkafka::error::KafkaError,
    },
    /// Watermarks could not be fetched.
    #[error("watermarks of {topic}/{partition}: {source}")]
    Watermarks {
        /// Changelog topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Client error.
        source: rdkafka::error::KafkaError,
    },
    /// No record arrived for too long before the end was reached.
    #[error("restore of {topic}/{partition} stalled at offset {seen:?} before reaching {target} (no record for {stall_ms} ms)")]
    Stalled {
        /// Changelog topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Highest offset seen.
        seen: Option<i64>,
        /// Offset that had to be reached.
        target: i64,
        /// The stall timeout.
        stall_ms: u64,
    },
}

/// Replays `topic`/`partition` from the beginning, calling `apply(key, value)` for each keyed
/// record in order.
pub async fn restore_partition(
    settings: &Settings,
    topic: &str,
    partition: i32,
    mut apply: impl FnMut(&[u8], Option<&[u8]>),
) -> Result<RestoreStats, RestoreError> {
    let started = Instant::now();
    let client_err = |source| RestoreError::Client {
        topic: topic.to_string(),
        partition,
        source,
    };
    let consumer: std::sync::Arc<StreamConsumer> = std::sync::Arc::new(
        super::consumer::restore_consumer_config(settings)
            .create()
            .map_err(client_err)?,
    );
    let timeout = Duration::from_millis(settings.consumer.request_timeout_ms);
    let (low, high) = {
        let c = consumer.clone();
        let t = topic.to_string();
        tokio::task::spawn_blocking(move || c.fetch_watermarks(&t, partition, timeout))
            .await
            .map_err(|_| client_err(rdkafka::error::KafkaError::Canceled))?
            .map_err(|source| RestoreError::Watermarks {
                topic: topic.to_string(),
                partition,
                source,
            })?
    };
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning)
        .map_err(client_err)?;
    consumer.assign(&tpl).map_err(client_err)?;

    let target = (high > low).then_some(high - 1);
    let idle = Duration::from_millis(settings.consumer.restore_idle_ms);
    let stall = Duration::from_millis(settings.consumer.restore_stall_timeout_ms);
    let mut stats = RestoreStats {
        topic: topic.to_string(),
        partition,
        records: 0,
        skipped_without_key: 0,
        watermarks: (low, high),
        duration: Duration::ZERO,
    };
    let mut seen: Option<i64> = None;
    let mut last_progress = Instant::now();
    loop {
        match tokio::time::timeout(idle, consumer.recv()).await {
            Ok(Ok(msg)) => {
                seen = Some(msg.offset());
                last_progress = Instant::now();
                match msg.key() {
                    Some(key) => {
                        apply(key, msg.payload());
                        stats.records += 1;
                    }
                    None => stats.skipped_without_key += 1,
                }
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, topic, partition, "Changelog read error during restore.");
            }
            Err(_idle) => {
                let reached = match target {
                    None => true,
                    Some(t) => {
                        seen.is_some_and(|s| s >= t)
                            || position_reached(&consumer, topic, partition, high)
                    }
                };
                if reached {
                    break;
                }
                if last_progress.elapsed() >= stall {
                    return Err(RestoreError::Stalled {
                        topic: topic.to_string(),
                        partition,
                        seen,
                        target: target.unwrap_or(0),
                        stall_ms: settings.consumer.restore_stall_timeout_ms,
                    });
                }
            }
        }
    }
    stats.duration = started.elapsed();
    // Drop the consumer off the executor: destroying a client joins its threads.
    let _ = tokio::task::spawn_blocking(move || drop(consumer)).await;
    tracing::info!(
        topic,
        partition,
        records = stats.records,
        low_watermark = low,
        high_watermark = high,
        duration_ms = stats.duration.as_millis() as u64,
        "Partition state restored."
    );
    Ok(stats)
}

/// True when the consumer's fetch position is at or past `high` (covers a last offset that
/// is a control record and never delivered).
fn position_reached(consumer: &StreamConsumer, topic: &str, partition: i32, high: i64) -> bool {
    let Ok(position) = consumer.position() else {
        return false;
    };
    position
        .find_partition(topic, partition)
        .and_then(|e| match e.offset() {
            Offset::Offset(o) => Some(o >= high),
            _ => None,
        })
        .unwrap_or(false)
}
