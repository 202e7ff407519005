//! The two measured paths: a plain rdkafka consume → produce passthrough (the ceiling for any
//! Kafka-in/Kafka-out service with these delivery settings) and the readmit service itself,
//! in process, watched through the runtime's observer hook.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::broker::now_us;
use super::LoadError;
use crate::config::Settings;
use crate::runtime::{self, RunSummary, RuntimeEvent, RuntimeObserver};

/// Latencies of one fixed-rate phase, microseconds.
#[derive(Debug)]
pub struct Latencies {
    /// Record timestamps at or after this (ms since the epoch) are recorded.
    from_ms: i64,
    /// Recorded latencies, µs (record timestamp → all outputs acknowledged).
    pub histogram: Histogram<u64>,
}

impl Latencies {
    /// An empty recorder for records stamped at or after `from_ms`.
    pub fn new(from_ms: i64) -> Result<Self, LoadError> {
        // 1 µs … 10 min, 3 significant digits; values above are clamped.
        let histogram = Histogram::new_with_bounds(1, 600_000_000, 3)
            .map_err(|e| LoadError::Task(format!("latency histogram: {e}")))?;
        Ok(Self { from_ms, histogram })
    }

    /// Records one record stamped `timestamp_ms`, completed now.
    fn record(&mut self, timestamp_ms: i64) {
        if timestamp_ms < self.from_ms {
            return;
        }
        let us = (now_us() - timestamp_ms * 1000).max(1) as u64;
        self.histogram.saturating_record(us);
    }
}

/// Progress of one path, shared between its task and the harness.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages taken from the broker (passthrough only).
    pub received: AtomicU64,
    /// Throughput-phase messages fully handled (outputs acknowledged).
    pub done: AtomicU64,
    /// Latency-phase messages fully handled.
    pub latency_done: AtomicU64,
    /// When the path started handling messages (first message received, or every partition
    /// restored for the service).
    pub started: Mutex<Option<Instant>>,
    /// When the last message was fully handled.
    pub last_done: Mutex<Option<Instant>>,
    /// The latency recorder of the current fixed-rate phase.
    pub latencies: Mutex<Option<Latencies>>,
}

impl Counters {
    fn mark_started(&self) {
        let mut s = self.started.lock().unwrap_or_else(|e| e.into_inner());
        if s.is_none() {
            *s = Some(Instant::now());
        }
    }

    fn mark_done(&self) {
        *self.last_done.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Seconds from start to the last completion.
    pub fn busy_seconds(&self) -> f64 {
        let s = *self.started.lock().unwrap_or_else(|e| e.into_inner());
        let e = *self.last_done.lock().unwrap_or_else(|e| e.into_inner());
        match (s, e) {
            (Some(s), Some(e)) => e.saturating_duration_since(s).as_secs_f64(),
            _ => 0.0,
        }
    }

    /// Starts recording latencies of records stamped at or after `from_ms`.
    pub fn start_latencies(&self, from_ms: i64) -> Result<(), LoadError> {
        let l = Latencies::new(from_ms)?;
        *self.latencies.lock().unwrap_or_else(|e| e.into_inner()) = Some(l);
        Ok(())
    }

    /// Stops recording and returns what was recorded.
    pub fn take_latencies(&self) -> Option<Latencies> {
        self.latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    fn record_latency(&self, timestamp_ms: Option<i64>) -> bool {
        let mut guard = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        match (guard.as_mut(), timestamp_ms) {
            (Some(l), Some(ts)) if ts >= l.from_ms => {
                l.record(ts);
                true
            }
            _ => false,
        }
    }
}

/// A running passthrough.
#[derive(Debug)]
pub struct Passthrough {
    /// Its counters.
    pub counters: Arc<Counters>,
    stop: CancellationToken,
    task: JoinHandle<Result<u64, LoadError>>,
}

impl Passthrough {
    /// Starts consuming `input` and `latency_input` with the service's consumer settings (a
    /// fresh group) and producing every record, key and value unchanged, to `output` with
    /// the service's producer settings. Records of `latency_input` count as latency-phase
    /// records.
    pub fn start(
        settings: &Settings,
        input: &str,
        latency_input: &str,
        output: &str,
    ) -> Result<Self, LoadError> {
        let consumer: StreamConsumer = runtime::consumer::group_consumer_config(settings)
            .set(
                "group.id",
                format!("{}-passthrough", settings.kafka.group_id),
            )
            .set("enable.auto.offset.store", "true")
            .create()
            .map_err(|source| LoadError::Kafka {
                what: "passthrough consumer",
                source,
            })?;
        consumer
            .subscribe(&[input, latency_input])
            .map_err(|source| LoadError::Kafka {
                what: "passthrough subscribe",
                source,
            })?;
        let producer: FutureProducer = runtime::consumer::producer_config(settings)
            .create()
            .map_err(|source| LoadError::Kafka {
                what: "passthrough producer",
                source,
            })?;
        let counters = Arc::new(Counters::default());
        let stop = CancellationToken::new();
        let task = tokio::spawn(passthrough_loop(
            consumer,
            producer,
            latency_input.to_string(),
            output.to_string(),
            counters.clone(),
            stop.clone(),
        ));
        Ok(Self {
            counters,
            stop,
            task,
        })
    }

    /// Whether the task ended (it only ends early on an error).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops it; returns the records it produced.
    pub async fn stop(self) -> Result<u64, LoadError> {
        self.stop.cancel();
        self.task
            .await
            .map_err(|e| LoadError::Task(e.to_string()))?
    }
}

async fn passthrough_loop(
    consumer: StreamConsumer,
    producer: FutureProducer,
    latency_topic: String,
    output: String,
    counters: Arc<Counters>,
    stop: CancellationToken,
) -> Result<u64, LoadError> {
    // Deliveries are awaited by a second task, in send order, so the consume loop never
    // races a delivery in a `select!`.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(
        rdkafka::producer::DeliveryFuture,
        Option<i64>,
        bool,
    )>();
    let acker_counters = counters.clone();
    let acker = tokio::spawn(async move {
        let mut produced = 0u64;
        while let Some((delivery, timestamp, latency)) = rx.recv().await {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((source, _))) => {
                    return Err(LoadError::Kafka {
                        what: "passthrough delivery",
                        source,
                    })
                }
                Err(_) => return Err(LoadError::Task("passthrough delivery cancelled".into())),
            }
            produced += 1;
            if latency {
                acker_counters.record_latency(timestamp);
                acker_counters.latency_done.fetch_add(1, Ordering::Relaxed);
            } else {
                acker_counters.done.fetch_add(1, Ordering::Relaxed);
                acker_counters.mark_done();
            }
        }
        Ok(produced)
    });
    let result = loop {
        let m = tokio::select! {
            biased;
            _ = stop.cancelled() => break Ok(()),
            m = consumer.recv() => m,
        };
        let m = match m {
            Ok(m) => m,
            Err(source) => {
                break Err(LoadError::Kafka {
                    what: "passthrough consume",
                    source,
                })
            }
        };
        counters.mark_started();
        counters.received.fetch_add(1, Ordering::Relaxed);
        let latency = m.topic() == latency_topic;
        let timestamp = m.timestamp().to_millis();
        let delivery = loop {
            let mut record = FutureRecord::to(&output);
            if let Some(k) = m.key() {
                record = record.key(k);
            }
            if let Some(p) = m.payload() {
                record = record.payload(p);
            }
            match producer.send_result(record) {
                Ok(d) => break Ok(d),
                Err((e, _))
                    if matches!(e.rdkafka_error_code(), Some(RDKafkaErrorCode::QueueFull)) =>
                {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((source, _)) => {
                    break Err(LoadError::Kafka {
                        what: "passthrough produce",
                        source,
                    })
                }
            }
        };
        match delivery {
            Ok(d) => {
                if tx.send((d, timestamp, latency)).is_err() {
                    break Err(LoadError::Task("passthrough acknowledger stopped".into()));
                }
            }
            Err(e) => break Err(e),
        }
    };
    drop(tx);
    let produced = acker.await.map_err(|e| LoadError::Task(e.to_string()))?;
    let _ = tokio::task::spawn_blocking(move || {
        drop(consumer);
        drop(producer);
    })
    .await;
    result.and(produced)
}

/// The observer the harness puts around the service's own metrics observer.
pub struct ServiceObserver {
    inner: Arc<dyn RuntimeObserver>,
    /// Counters of the service path.
    pub counters: Arc<Counters>,
    /// Restores seen by every instance of the group.
    pub restored: Arc<AtomicU64>,
}

impl std::fmt::Debug for ServiceObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceObserver")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl ServiceObserver {
    /// Wraps `inner` (metrics); instances of one group share `counters` and `restored`.
    pub fn new(
        inner: Arc<dyn RuntimeObserver>,
        counters: Arc<Counters>,
        restored: Arc<AtomicU64>,
    ) -> Self {
        Self {
            inner,
            counters,
            restored,
        }
    }
}

impl RuntimeObserver for ServiceObserver {
    fn on_event(&self, event: &RuntimeEvent) {
        match event {
            RuntimeEvent::Restored(_) => {
                // Conservative for the service: its clock starts at the first restored
                // partition of the group.
                self.restored.fetch_add(1, Ordering::Relaxed);
                self.counters.mark_started();
            }
            RuntimeEvent::MessageCompleted { timestamp_ms, .. } => {
                if self.counters.record_latency(*timestamp_ms) {
                    self.counters.latency_done.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.counters.done.fetch_add(1, Ordering::Relaxed);
                    self.counters.mark_done();
                }
            }
            _ => {}
        }
        self.inner.on_event(event);
    }

    fn wants_statistics(&self) -> bool {
        self.inner.wants_statistics()
    }

    fn on_statistics(&self, statistics: &rdkafka::statistics::Statistics) {
        self.inner.on_statistics(statistics);
    }
}

/// Running service instances (one or more in the same group).
pub struct Service {
    /// Counters shared by all instances.
    pub counters: Arc<Counters>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<Result<RunSummary, runtime::RuntimeError>>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("instances", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Starts `instances` copies of the processor `readmit run` runs (pipeline with metrics
    /// and the live monitor, the runtime with its metrics observer), in one consumer group.
    pub fn start(settings: &Settings, instances: usize) -> Result<Self, LoadError> {
        let stop = CancellationToken::new();
        let counters = Arc::new(Counters::default());
        let restored = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..instances {
            let scorer = crate::service::load_scorer(settings)?;
            let observability = crate::service::Observability::new(
                settings,
                crate::model::Scorer::model_id(&*scorer),
            )?;
            let pipeline =
                observability.instrument(crate::service::build_pipeline(settings, scorer)?);
            let observer: Arc<dyn RuntimeObserver> = Arc::new(ServiceObserver::new(
                observability.observer(),
                counters.clone(),
                restored.clone(),
            ));
            tasks.push(tokio::spawn(runtime::run_with_observer(
                settings.clone(),
                pipeline,
                stop.clone(),
                observer,
            )));
        }
        Ok(Self {
            counters,
            stop,
            tasks,
        })
    }

    /// Whether an instance ended (they only end early on an error).
    pub fn any_finished(&self) -> bool {
        self.tasks.iter().any(JoinHandle::is_finished)
    }

    /// Stops every instance (drain, commit); returns their summaries.
    pub async fn stop(self) -> Result<Vec<RunSummary>, LoadError> {
        self.stop.cancel();
        let mut out = Vec::new();
        for t in self.tasks {
            out.push(t.await.map_err(|e| LoadError::Task(e.to_string()))??);
        }
        Ok(out)
    }
}
