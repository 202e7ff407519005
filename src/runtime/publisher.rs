//! The producer side: one idempotent `FutureProducer` (`acks=all`) for every output.
//!
//! [`Publisher::enqueue`] hands one record to librdkafka, waiting with backoff while the local
//! queue is full (backpressure). [`Publisher::settle`] awaits every delivery of one message,
//! re-producing records that failed transiently (exponential backoff, forever — the offset is
//! not stored meanwhile), and dead-letters the input when a record can never be produced.
//!
//! Order: records are enqueued by the partition task in processing order (primaries at once,
//! deferred changelog records once released, in offset order), and the idempotent producer
//! keeps that order per output partition. With the default `producer.message_timeout_ms = 0`
//! librdkafka itself retries until delivered, so transient failures never reach us and order
//! holds. With a finite timeout, a re-produced record may land after records of later
//! messages — for a changelog record, an older state of a key after a newer one.
//!
//! The same [`Publisher::settle`] serves both phases of a message; a deferred record that can
//! never be produced dead-letters the input too.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

use super::context::RuntimeProducerContext;
use super::{dlq_headers, Backoff, InboundMessage, OutboundRecord, RuntimeError, Stats};
use crate::config::Settings;

/// How a produce failure is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Retry with backoff (broker down, timeouts, queue full, leader changes, unknown).
    Transient,
    /// The record can never be produced (too large, invalid, topic missing or forbidden):
    /// dead-letter the input.
    Permanent,
    /// The producer is unusable: stop.
    Fatal,
}

/// Sorts a produce error. Unknown errors count as transient: retrying never loses data, and
/// a stuck partition is visible in logs.
pub fn classify(error: &KafkaError) -> FailureKind {
    use RDKafkaErrorCode as C;
    let Some(code) = error.rdkafka_error_code() else {
        return FailureKind::Transient;
    };
    match code {
        C::MessageSizeTooLarge
        | C::InvalidMessageSize
        | C::InvalidMessage
        | C::InvalidRecord
        | C::InvalidTopic
        | C::UnknownTopic
        | C::UnknownTopicOrPartition
        | C::UnknownPartition
        | C::TopicAuthorizationFailed
        | C::PolicyViolation
        | C::InvalidArgument => FailureKind::Permanent,
        C::Fatal
        | C::ProducerFenced
        | C::InvalidProducerEpoch
        | C::ClusterAuthorizationFailed
        | C::InvalidRequiredAcks => FailureKind::Fatal,
        _ => FailureKind::Transient,
    }
}

/// A record that could not be handed over or delivered, with the reason.
#[derive(Debug, Clone)]
pub struct ProduceFailure {
    /// How to handle it.
    pub kind: FailureKind,
    /// The client error.
    pub error: KafkaError,
}

/// Why a message's outputs could not be settled.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// Even the dead-letter record could not be produced.
    #[error("dead-letter record could not be produced ({error}) after output to {failed_topic} failed permanently")]
    DeadLetterFailed {
        /// Topic of the output that failed first.
        failed_topic: String,
        /// The dead-letter produce error.
        error: KafkaError,
    },
    /// The producer reported a fatal error.
    #[error("fatal producer error producing to {topic}: {error}")]
    Fatal {
        /// Destination topic.
        topic: String,
        /// The error.
        error: KafkaError,
    },
    /// The producer went away before delivery was reported (shutdown).
    #[error("producer closed before delivery to {topic} was reported")]
    Canceled {
        /// Destination topic.
        topic: String,
    },
}

/// Result of settling one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// Records acknowledged (excluding the dead letter).
    pub records_produced: u64,
    /// The input went to the dead-letter topic.
    pub dead_lettered: bool,
    /// Re-produce attempts after transient failures.
    pub retries: u64,
}

/// The runtime's producer.
pub struct Publisher {
    producer: FutureProducer<RuntimeProducerContext>,
    backoff: Backoff,
    dlq_topic: Arc<str>,
    stats: Stats,
}

impl Publisher {
    /// Creates the producer from `settings`.
    pub(crate) fn new(settings: &Settings, stats: Stats) -> Result<Self, RuntimeError> {
        let mut config = super::consumer::producer_config(settings);
        if stats.wants_statistics() {
            super::consumer::enable_statistics(&mut config);
        }
        let producer = config
            .create_with_context(RuntimeProducerContext::new(stats.clone()))
            .map_err(|source| RuntimeError::Client {
                client: "producer",
                source,
            })?;
        Ok(Self {
            producer,
            backoff: Backoff {
                initial: Duration::from_millis(settings.producer.retry_backoff_initial_ms),
                max: Duration::from_millis(settings.producer.retry_backoff_max_ms),
            },
            dlq_topic: settings.topics.dlq.as_str().into(),
            stats,
        })
    }

    /// The underlying producer (flush, metadata).
    pub fn producer(&self) -> &FutureProducer<RuntimeProducerContext> {
        &self.producer
    }

    /// Hands `record` to librdkafka. While the local queue is full, waits with backoff and
    /// tries again (this is the producer's backpressure). Other failures are returned.
    pub async fn enqueue(&self, record: &OutboundRecord) -> Result<DeliveryFuture, ProduceFailure> {
        let mut attempt = 0;
        loop {
            let mut fr: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&record.topic);
            if let Some(key) = &record.key {
                fr = fr.key(key.as_slice());
            }
            if let Some(payload) = &record.payload {
                fr = fr.payload(payload.as_slice());
            }
            if let Some(partition) = record.partition {
                fr = fr.partition(partition);
            }
            if !record.headers.is_empty() {
                let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
                for (key, value) in &record.headers {
                    headers = headers.insert(Header {
                        key,
                        value: Some(value.as_slice()),
                    });
                }
                fr = fr.headers(headers);
            }
            match self.producer.send_result(fr) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(self.backoff.delay(attempt).min(Duration::from_millis(200)))
                        .await;
                    attempt = attempt.saturating_add(1);
                }
                Err((error, _)) => {
                    return Err(ProduceFailure {
                        kind: classify(&error),
                        error,
                    })
                }
            }
        }
    }

    /// Produces `record` until delivered or it fails permanently/fatally. `first` is an
    /// already enqueued attempt. Transient failures are retried with exponential backoff.
    async fn deliver(
        &self,
        record: &OutboundRecord,
        mut attempt_result: Result<DeliveryFuture, ProduceFailure>,
        retries: &mut u64,
    ) -> Result<(), ProduceFailure> {
        let mut attempt = 0u32;
        loop {
            let failure = match attempt_result {
                Ok(delivery) => match delivery.await {
                    Ok(Ok(_)) => return Ok(()),
                    Ok(Err((error, _))) => ProduceFailure {
                        kind: classify(&error),
                        error,
                    },
                    Err(_canceled) => ProduceFailure {
                        kind: FailureKind::Fatal,
                        error: KafkaError::Canceled,
                    },
                },
                Err(failure) => failure,
            };
            if failure.kind != FailureKind::Transient {
                return Err(failure);
            }
            let delay = self.backoff.delay(attempt);
            tracing::warn!(
                error = %failure.error,
                topic = %record.topic,
                retry_in_ms = delay.as_millis() as u64,
                "Produce failed transiently; retrying."
            );
            *retries += 1;
            self.stats.record(super::RuntimeEvent::ProduceRetried);
            tokio::time::sleep(delay).await;
            attempt = attempt.saturating_add(1);
            attempt_result = self.enqueue(record).await;
        }
    }

    /// Awaits every delivery of one message (`attempts[i]` is the enqueue result of
    /// `records[i]`). When a record fails permanently, the input `msg` goes to the dead-letter
    /// topic (retried like any record); the message is then final.
    pub async fn settle(
        &self,
        msg: &InboundMessage,
        records: &[OutboundRecord],
        attempts: Vec<Result<DeliveryFuture, ProduceFailure>>,
    ) -> Result<Settled, SettleError> {
        let mut settled = Settled {
            records_produced: 0,
            dead_lettered: false,
            retries: 0,
        };
        let mut permanent: Option<(Arc<str>, KafkaError, &OutboundRecord)> = None;
        for (record, attempt) in records.iter().zip(attempts) {
            match self.deliver(record, attempt, &mut settled.retries).await {
                Ok(()) => settled.records_produced += 1,
                Err(failure) => match failure.kind {
                    FailureKind::Permanent => {
                        tracing::warn!(
                            error = %failure.error,
                            topic = %record.topic,
                            source_partition = msg.partition,
                            source_offset = msg.offset,
                            "Output can never be produced; dead-lettering the input."
                        );
                        if permanent.is_none() {
                            permanent = Some((record.topic.clone(), failure.error, record));
                        }
                    }
                    FailureKind::Fatal | FailureKind::Transient => {
                        if matches!(failure.error, KafkaError::Canceled) {
                            return Err(SettleError::Canceled {
                                topic: record.topic.to_string(),
                            });
                        }
                        return Err(SettleError::Fatal {
                            topic: record.topic.to_string(),
                            error: failure.error,
                        });
                    }
                },
            }
        }
        if let Some((failed_topic, error, failed)) = permanent {
            let dead =
                OutboundRecord::dead_letter(self.dlq_topic.clone(), msg, "unproducible_output")
                    .with_header(
                        dlq_headers::ERROR,
                        format!("{:?}", error.rdkafka_error_code()),
                    )
                    .with_header(dlq_headers::FAILED_TOPIC, failed_topic.as_bytes());
            let first = self.enqueue(&dead).await;
            match self.deliver(&dead, first, &mut settled.retries).await {
                Ok(()) => {}
                // The input itself cannot be produced (larger than `producer.message_max_bytes`):
                // dead-letter it without its value — the processor's own dead letter's headers
                // (why it was poison) when that was what failed — and say so, rather than stop
                // the partition on it at every restart.
                Err(f) if f.kind == FailureKind::Permanent && dead.payload.is_some() => {
                    let mut slim = if failed.topic == self.dlq_topic {
                        failed.clone().with_header(
                            dlq_headers::ERROR,
                            format!("{:?}", error.rdkafka_error_code()),
                        )
                    } else {
                        dead.clone()
                    };
                    slim.payload = None;
                    let slim = slim.with_header(
                        dlq_headers::PAYLOAD_OMITTED,
                        msg.payload.as_ref().map_or(0, Vec::len).to_string(),
                    );
                    let first = self.enqueue(&slim).await;
                    self.deliver(&slim, first, &mut settled.retries)
                        .await
                        .map_err(|f| SettleError::DeadLetterFailed {
                            failed_topic: failed_topic.to_string(),
                            error: f.error,
                        })?;
                }
                Err(f) => {
                    return Err(SettleError::DeadLetterFailed {
                        failed_topic: failed_topic.to_string(),
                        error: f.error,
                    })
                }
            }
            settled.dead_lettered = true;
        }
        Ok(settled)
    }

    /// Flushes the producer queue, waiting at most `timeout`.
    pub async fn flush(self: &Arc<Self>, timeout: Duration) -> Result<(), KafkaError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.producer.flush(timeout))
            .await
            .map_err(|_| KafkaError::Canceled)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let p = |c| KafkaError::MessageProduction(c);
        assert_eq!(
            classify(&p(RDKafkaErrorCode::MessageSizeTooLarge)),
            FailureKind::Permanent
        );
        assert_eq!(
            classify(&p(RDKafkaErrorCode::MessageTimedOut)),
            FailureKind::Transient
        );
        assert_eq!(
            classify(&p(RDKafkaErrorCode::AllBrokersDown)),
            FailureKind::Transient
        );
        assert_eq!(
            classify(&p(RDKafkaErrorCode::NotEnoughReplicas)),
            FailureKind::Transient
        );
        assert_eq!(classify(&p(RDKafkaErrorCode::Fatal)), FailureKind::Fatal);
        assert_eq!(classify(&KafkaError::Canceled), FailureKind::Transient);
    }
}
