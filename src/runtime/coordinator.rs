//! [`run`]: wires the consumer, the main-queue driver, partition tasks and the publisher, and
//! reacts to rebalances, partition failures and shutdown (Vector's
//! `coordinate_kafka_callbacks`, in one loop).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use rdkafka::consumer::Consumer;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::consumer::{
    enable_statistics, group_consumer_config, DriverEvent, GroupConsumer, MainQueueDriver,
};
use super::context::{is_no_offset, RebalanceEvent, RuntimeContext, TopicPartition};
use super::partition::{PartitionError, PartitionReport, PartitionTask};
use super::publisher::Publisher;
use super::{Processor, RunSummary, RuntimeError, RuntimeEvent, RuntimeObserver, Stats};
use crate::config::Settings;

struct Running {
    drain: CancellationToken,
    join: JoinHandle<Result<PartitionReport, PartitionError>>,
}

/// Runs the streaming runtime until `shutdown` is cancelled or a partition fails.
///
/// Start-up: validate settings, check/create topics, tell the processor the consumed topics'
/// partition counts, create producer and consumer, subscribe (to `topics.input`, plus
/// `topics.rekeyed` with `topics.rekey`: the input's partitions then run without state and
/// only the re-keyed topic's partitions restore from the changelog).
/// Shutdown (bounded by `consumer.drain_timeout_ms` + `producer.flush_timeout_ms` + commit
/// and close time): stop taking messages, drain in-flight work, commit synchronously, flush
/// the producer, close the consumer.
pub async fn run<P: Processor>(
    settings: Settings,
    processor: P,
    shutdown: CancellationToken,
) -> Result<RunSummary, RuntimeError> {
    run_inner(settings, processor, shutdown, None).await
}

/// [`run`], also passing every [`RuntimeEvent`](super::RuntimeEvent) to `observer` as it
/// happens (metrics).
pub async fn run_with_observer<P: Processor>(
    settings: Settings,
    processor: P,
    shutdown: CancellationToken,
    observer: Arc<dyn RuntimeObserver>,
) -> Result<RunSummary, RuntimeError> {
    run_inner(settings, processor, shutdown, Some(observer)).await
}

async fn run_inner<P: Processor>(
    settings: Settings,
    processor: P,
    shutdown: CancellationToken,
    observer: Option<Arc<dyn RuntimeObserver>>,
) -> Result<RunSummary, RuntimeError> {
    settings.validate()?;
    let settings = Arc::new(settings);
    let processor = Arc::new(processor);
    let stats = Stats::new(observer);
    // A stop requested while the topic check still waits for the cluster (an unreachable
    // broker: up to the request timeout) ends the run at once, cleanly: nothing was consumed.
    let layout = tokio::select! {
        layout = super::topics::ensure_topics(&settings) => layout?,
        () = shutdown.cancelled() => {
            tracing::info!("Stopped before start-up finished (shutdown requested during the topic check).");
            return Ok(RunSummary::default());
        }
    };
    processor.topic_partitions(&settings.topics.input, layout.input_partitions);
    if let Some(n) = layout.rekeyed_partitions {
        processor.topic_partitions(&settings.topics.rekeyed, n);
    }
    let publisher = Arc::new(Publisher::new(&settings, stats.clone())?);

    let (rebalance_tx, mut rebalance_rx) = tokio::sync::mpsc::channel::<RebalanceEvent>(16);
    let mut consumer_config = group_consumer_config(&settings);
    if stats.wants_statistics() {
        enable_statistics(&mut consumer_config);
    }
    let consumer: Arc<GroupConsumer> = Arc::new(
        consumer_config
            .create_with_context(RuntimeContext::new(rebalance_tx, stats.clone()))
            .map_err(|source| RuntimeError::Client {
                client: "consumer",
                source,
            })?,
    );
    // With `topics.rekey`, the input is consumed statelessly (re-keyed by the processor) and
    // the re-keyed topic statefully, by the same group.
    let mut subscription = vec![settings.topics.input.as_str()];
    if settings.topics.rekey {
        subscription.push(settings.topics.rekeyed.as_str());
    }
    consumer
        .subscribe(&subscription)
        .map_err(|source| RuntimeError::Subscribe {
            topic: subscription.join(", "),
            source,
        })?;
    let (driver_tx, mut driver_rx) = tokio::sync::mpsc::channel::<DriverEvent>(8);
    let driver = MainQueueDriver::start(consumer.clone(), driver_tx)
        .map_err(|e| RuntimeError::Task(format!("main-queue thread could not start: {e}")))?;
    tracing::info!(topic = %settings.topics.input, group = %settings.kafka.group_id, "Runtime started.");

    let mut tasks: HashMap<TopicPartition, Running> = HashMap::new();
    let failed = CancellationToken::new();
    let failure: Arc<std::sync::Mutex<Option<RuntimeError>>> = Arc::default();
    let drain_timeout = Duration::from_millis(settings.consumer.drain_timeout_ms);

    loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                tracing::info!("Shutdown requested; draining.");
                break;
            }
            _ = failed.cancelled() => break,
            Some(event) = driver_rx.recv() => {
                let DriverEvent::UnexpectedMessage { topic, partition } = event;
                set_failure(&failure, RuntimeError::UnexpectedMessage { topic, partition });
                break;
            }
            Some(event) = rebalance_rx.recv() => match event {
                RebalanceEvent::Assign { partitions, done } => {
                    // Not revoked in between (cooperative protocol): finish the old tasks
                    // first, so every `Restored` after this event belongs to the new ones.
                    let old: Vec<_> = partitions
                        .iter()
                        .filter_map(|k| tasks.remove(k).map(|r| (k.clone(), r)))
                        .collect();
                    if !old.is_empty() {
                        drain_tasks(old, drain_timeout, &failure, &failed).await;
                    }
                    stats.record(RuntimeEvent::PartitionsAssigned(partitions.clone()));
                    for (topic, partition) in partitions {
                        let key = (topic.clone(), partition);
                        let Some(queue) = consumer.split_partition_queue(&topic, partition) else {
                            set_failure(&failure, RuntimeError::Task(format!(
                                "partition queue of {topic}/{partition} could not be split"
                            )));
                            failed.cancel();
                            continue;
                        };
                        let drain = CancellationToken::new();
                        let task = PartitionTask {
                            processor: processor.clone(),
                            publisher: publisher.clone(),
                            consumer: consumer.clone(),
                            queue,
                            topic: topic.as_str().into(),
                            partition,
                            settings: settings.clone(),
                            stats: stats.clone(),
                            drain: drain.clone(),
                        };
                        let failure = failure.clone();
                        let failed = failed.clone();
                        let join = tokio::spawn(async move {
                            // A panic (a processor bug) must stop the run, not leave the
                            // partition silently unconsumed. The payload is not logged: it
                            // may carry message content.
                            let result = match AssertUnwindSafe(task.run()).catch_unwind().await {
                                Ok(result) => result,
                                Err(_panic) => {
                                    tracing::error!(topic = %topic, partition, "Partition task panicked; stopping.");
                                    set_failure(&failure, RuntimeError::Task(format!(
                                        "partition task {topic}/{partition} panicked"
                                    )));
                                    failed.cancel();
                                    return Err(PartitionError::Panicked);
                                }
                            };
                            if let Err(error) = &result {
                                tracing::error!(%error, topic = %topic, partition, "Partition task failed; stopping.");
                                set_failure(&failure, RuntimeError::Task(String::new()));
                                failed.cancel();
                            }
                            result
                        });
                        tasks.insert(key, Running { drain, join });
                    }
                    drop(done);
                }
                RebalanceEvent::Revoke { partitions, done } => {
                    let revoked: Vec<_> = partitions
                        .into_iter()
                        .filter_map(|k| tasks.remove(&k).map(|r| (k, r)))
                        .collect();
                    drain_tasks(revoked, drain_timeout, &failure, &failed).await;
                    drop(done);
                }
            },
        }
    }

    // Shutdown: drain every task while still serving rebalance callbacks. A revoke arriving
    // now is held until the drain is done, so its partitions are still assigned (their stored
    // offsets still valid) when we commit; an assignment is released without starting tasks.
    let all: Vec<_> = tasks.drain().collect();
    let mut held = Vec::new();
    {
        let drain_all = drain_tasks(all, drain_timeout, &failure, &failed);
        tokio::pin!(drain_all);
        loop {
            tokio::select! {
                _ = &mut drain_all => break,
                Some(event) = rebalance_rx.recv() => match event {
                    RebalanceEvent::Assign { partitions, done } => {
                        // Counted (the close revokes them again) but no task starts.
                        stats.record(RuntimeEvent::PartitionsAssigned(partitions));
                        drop(done);
                    }
                    RebalanceEvent::Revoke { done, .. } => held.push(done),
                },
            }
        }
    }
    // The final steps block on the broker; each is bounded so shutdown is bounded even when
    // the broker is unreachable (a step that overruns finishes in the background).
    let step_timeout = Duration::from_millis(settings.consumer.request_timeout_ms);
    {
        let consumer = consumer.clone();
        let stats = stats.clone();
        bounded(
            "offset commit",
            step_timeout,
            tokio::task::spawn_blocking(move || commit_sync_retrying(&consumer, &stats)),
        )
        .await;
    }
    drop(held);
    rebalance_rx.close();
    while let Ok(event) = rebalance_rx.try_recv() {
        drop(event);
    }
    let flush_timeout = Duration::from_millis(settings.producer.flush_timeout_ms);
    if let Err(error) = publisher.flush(flush_timeout).await {
        tracing::warn!(%error, "Producer flush incomplete at shutdown; unacknowledged inputs will be redelivered.");
    }
    bounded("main-queue thread stop", step_timeout, driver.stop()).await;
    // Closing the consumer runs the revoke callback (which commits again) and leaves the
    // group; it blocks, so do it off the executor.
    bounded(
        "consumer close",
        step_timeout,
        tokio::task::spawn_blocking(move || drop(consumer)),
    )
    .await;
    bounded(
        "producer close",
        step_timeout,
        tokio::task::spawn_blocking(move || drop(publisher)),
    )
    .await;
    tracing::info!("Runtime stopped.");

    let summary = stats.snapshot();
    let error = failure.lock().unwrap_or_else(|e| e.into_inner()).take();
    match error {
        Some(error) => Err(error),
        None => Ok(summary),
    }
}

/// Awaits `step` for at most `limit`; logs when it overran.
async fn bounded<F: std::future::Future>(what: &str, limit: Duration, step: F) {
    if tokio::time::timeout(limit, step).await.is_err() {
        tracing::warn!(
            step = what,
            limit_ms = limit.as_millis() as u64,
            "Shutdown step overran its time limit; continuing."
        );
    }
}

/// The shutdown commit: a few attempts, because right after a broker outage or during a
/// rebalance the first one can fail transiently. Bounded to about two seconds.
fn commit_sync_retrying(consumer: &GroupConsumer, stats: &Stats) {
    for attempt in 0..5u32 {
        match consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
            Ok(()) => return,
            Err(error) if is_no_offset(&error) => return,
            Err(error) => {
                tracing::warn!(%error, attempt, "Shutdown offset commit failed.");
                stats.record(RuntimeEvent::CommitFailed);
                std::thread::sleep(Duration::from_millis(100 << attempt.min(3)));
            }
        }
    }
}

fn set_failure(slot: &std::sync::Mutex<Option<RuntimeError>>, error: RuntimeError) {
    let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
    // Keep the first real error; a placeholder is replaced by the task's detailed error.
    let replace = match &*guard {
        None => true,
        Some(RuntimeError::Task(s)) => s.is_empty(),
        Some(_) => false,
    };
    if replace {
        *guard = Some(error);
    }
}

/// Signals the tasks to drain and waits for them (each bounded by the drain deadline, plus a
/// margin after which a task is aborted). Task errors become the run's failure.
async fn drain_tasks(
    tasks: Vec<(TopicPartition, Running)>,
    drain_timeout: Duration,
    failure: &Arc<std::sync::Mutex<Option<RuntimeError>>>,
    failed: &CancellationToken,
) {
    for (_, running) in &tasks {
        running.drain.cancel();
    }
    let hard_deadline = tokio::time::Instant::now() + drain_timeout + Duration::from_secs(2);
    for ((topic, partition), running) in tasks {
        let abort = running.join.abort_handle();
        match tokio::time::timeout_at(hard_deadline, running.join).await {
            Ok(Ok(Ok(report))) => {
                tracing::debug!(
                    topic,
                    partition,
                    completed = report.completed,
                    last_stored = report.last_stored.map_or(-1, |o| o),
                    "Partition drained."
                );
            }
            Ok(Ok(Err(source))) => {
                set_failure(
                    failure,
                    RuntimeError::Partition {
                        topic,
                        partition,
                        source: Box::new(source),
                    },
                );
                failed.cancel();
            }
            Ok(Err(join_error)) => {
                set_failure(
                    failure,
                    RuntimeError::Task(format!("partition task {topic}/{partition}: {join_error}")),
                );
                failed.cancel();
            }
            Err(_) => {
                tracing::warn!(
                    topic,
                    partition,
                    "Partition task did not drain in time; aborted."
                );
                abort.abort();
            }
        }
    }
}
