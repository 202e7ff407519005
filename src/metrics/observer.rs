//! [`MetricsObserver`]: turns the runtime's [`RuntimeEvent`]s and librdkafka statistics into
//! metric and readiness updates.
//!
//! Plug it into `runtime::run_with_observer`. It updates outcome, rebalance, commit, retry,
//! restore and abandoned-in-flight metrics, end-to-end latency (input record timestamp → every
//! output acknowledged) and the `publish` stage time, and counts runtime dead letters
//! (`unproducible_output`). Dead letters the pipeline itself decides (poison input) are counted
//! by the pipeline through [`Metrics::record_dead_letter`], because only it knows the kind.
//!
//! It asks the runtime for librdkafka statistics (consumer lag, producer queue depth, broker
//! reachability via [`StatisticsSink`]). With [`MetricsObserver::with_readiness`] it also keeps
//! [`Readiness`] in step with the assignment: a partition is restoring from its assignment
//! until its `Restored` event, and is dropped on revoke (its state and lag series too); a revoke
//! keeps the instance unready until the next assignment (see [`Readiness`]).

use std::sync::Arc;
use std::time::SystemTime;

use rdkafka::statistics::Statistics;

use crate::runtime::{RuntimeEvent, RuntimeObserver};

use super::{Metrics, Readiness, Stage, StatisticsSink, UNPRODUCIBLE_OUTPUT};

/// Outcome counted for inputs the runtime dead-lettered (`dead_lettered: true`): the
/// processor's own label (e.g. `alerted`) no longer holds for them.
const DEAD_LETTERED_OUTCOME: &str = "dead_lettered";

/// A [`RuntimeObserver`] that updates [`Metrics`] and, when given, [`Readiness`].
#[derive(Debug, Clone)]
pub struct MetricsObserver {
    metrics: Arc<Metrics>,
    readiness: Option<Arc<Readiness>>,
    statistics: StatisticsSink,
}

impl MetricsObserver {
    /// An observer updating `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            statistics: StatisticsSink::new(metrics.clone(), None),
            metrics,
            readiness: None,
        }
    }

    /// Also tracks partition restores and broker reachability in `readiness`.
    pub fn with_readiness(mut self, readiness: Arc<Readiness>) -> Self {
        self.statistics = StatisticsSink::new(self.metrics.clone(), Some(readiness.clone()));
        self.readiness = Some(readiness);
        self
    }
}

impl RuntimeObserver for MetricsObserver {
    fn on_event(&self, event: &RuntimeEvent) {
        let m = &self.metrics;
        let readiness = self.readiness.as_deref();
        match event {
            RuntimeEvent::PartitionsAssigned(partitions) => {
                m.record_rebalance("assign", partitions.len());
                if let Some(r) = readiness {
                    // The group coordinator just answered: a broker is reachable now, without
                    // waiting up to one statistics interval (5 s) for librdkafka to say so.
                    // The statistics keep the flag current from then on.
                    r.set_broker_reachable(true);
                    // Even an empty assignment ends the rebalance a revoke started.
                    r.assignment_received();
                    for (_, p) in partitions {
                        r.partition_assigned(*p);
                    }
                }
            }
            RuntimeEvent::PartitionsRevoked(partitions) => {
                m.record_rebalance("revoke", partitions.len());
                for (_, p) in partitions {
                    m.forget_partition(*p);
                    if let Some(r) = readiness {
                        r.partition_revoked(*p);
                    }
                }
            }
            RuntimeEvent::RebalanceError => m.record_rebalance("error", 0),
            RuntimeEvent::CommitFailed => m.record_commit_failure(),
            RuntimeEvent::Restored(stats) => {
                m.record_restore(stats.records, stats.duration);
                if let Some(r) = readiness {
                    r.partition_restored(stats.partition);
                }
            }
            RuntimeEvent::MessageCompleted {
                outcome,
                dead_lettered,
                timestamp_ms,
                publish,
                ..
            } => {
                if *dead_lettered {
                    // The runtime dead-lettered the input because an output could never be
                    // produced: whatever the processor decided, the input ends in the DLQ.
                    m.record_dead_letter(UNPRODUCIBLE_OUTPUT);
                    m.record_outcome(DEAD_LETTERED_OUTCOME);
                } else {
                    m.record_outcome(outcome);
                }
                if let Some(ts) = timestamp_ms {
                    m.observe_end_to_end(*ts, SystemTime::now());
                }
                if let Some(elapsed) = publish {
                    m.observe_stage(Stage::Publish, *elapsed);
                }
            }
            RuntimeEvent::ProduceRetried => m.record_produce_retry(),
            RuntimeEvent::InFlightAbandoned(n) => m.record_in_flight_abandoned(*n),
        }
    }

    fn wants_statistics(&self) -> bool {
        true
    }

    fn on_statistics(&self, statistics: &Statistics) {
        self.statistics.observe(statistics);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use prometheus::Registry;

    use super::*;
    use crate::metrics::LabelSets;
    use crate::runtime::RestoreStats;

    fn restored(partition: i32) -> RuntimeEvent {
        RuntimeEvent::Restored(RestoreStats {
            topic: "readmit.patient-history".into(),
            partition,
            records: 3,
            skipped_without_key: 0,
            watermarks: (0, 3),
            duration: Duration::from_millis(5),
        })
    }

    #[test]
    fn readiness_follows_assignment_restore_and_revoke() {
        let registry = Registry::new();
        let labels = LabelSets {
            topics: vec!["adt.events".into()],
            collaboratives: vec![],
        };
        let m = Arc::new(Metrics::new(&registry, labels).unwrap());
        let readiness = Arc::new(Readiness::new());
        readiness.set_model_loaded(true);
        let o = MetricsObserver::new(m.clone()).with_readiness(readiness.clone());
        let tp = |p: i32| ("adt.events".to_string(), p);
        assert!(!readiness.status().broker_reachable);

        o.on_event(&RuntimeEvent::PartitionsAssigned(vec![tp(0), tp(1)]));
        assert_eq!(readiness.status().restoring, vec![0, 1]);
        // An assignment means the coordinator answered: no wait for the first statistics.
        assert!(readiness.status().broker_reachable);
        assert!(!readiness.is_ready());
        o.on_event(&restored(0));
        assert_eq!(readiness.status().restoring, vec![1]);
        o.on_event(&restored(1));
        assert!(readiness.is_ready());

        // A state-size series of partition 1 goes away with its revoke.
        m.set_state_size(1, 10, 100);
        let series = |name: &str| {
            registry
                .gather()
                .iter()
                .find(|f| f.name() == name)
                .map_or(0, |f| f.get_metric().len())
        };
        assert_eq!(series(crate::metrics::STATE_PATIENTS), 1);
        o.on_event(&RuntimeEvent::PartitionsRevoked(vec![tp(1)]));
        assert_eq!(series(crate::metrics::STATE_PATIENTS), 0);
        // Revoked and not yet reassigned: not ready until the group settles.
        assert!(readiness.status().rebalancing);
        assert!(!readiness.is_ready());
        o.on_event(&RuntimeEvent::PartitionsAssigned(vec![]));
        assert!(
            readiness.is_ready(),
            "an empty assignment settles the group"
        );
        // Revoked while restoring: not left behind as restoring.
        o.on_event(&RuntimeEvent::PartitionsAssigned(vec![tp(2)]));
        o.on_event(&RuntimeEvent::PartitionsRevoked(vec![tp(2)]));
        assert!(readiness.status().restoring.is_empty());
        o.on_event(&RuntimeEvent::PartitionsAssigned(vec![]));
        assert!(readiness.is_ready());
        assert_eq!(m.partitions_assigned.get(), 1);
    }

    #[test]
    fn completion_records_end_to_end_latency_and_publish_time() {
        let registry = Registry::new();
        let labels = LabelSets {
            topics: vec!["adt.events".into()],
            collaboratives: vec![],
        };
        let m = Arc::new(Metrics::new(&registry, labels).unwrap());
        let o = MetricsObserver::new(m.clone());
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        for (timestamp_ms, publish) in [
            (Some(now_ms - 1_500), Some(Duration::from_millis(20))),
            (None, None),
        ] {
            o.on_event(&RuntimeEvent::MessageCompleted {
                partition: 0,
                timestamp_ms,
                outcome: "alerted",
                records_produced: 1,
                dead_lettered: false,
                publish,
            });
        }
        let histogram = |name: &str| {
            registry
                .gather()
                .iter()
                .find(|f| f.name() == name)
                .and_then(|f| {
                    f.get_metric().iter().find(|m| {
                        m.get_label().is_empty()
                            || m.get_label()
                                .iter()
                                .any(|l| l.name() == "stage" && l.value() == "publish")
                    })
                })
                .map(|m| {
                    let h = m.get_histogram();
                    (h.get_sample_count(), h.get_sample_sum())
                })
                .unwrap()
        };
        let (count, sum) = histogram(crate::metrics::END_TO_END_LATENCY_SECONDS);
        assert_eq!(count, 1, "a message without timestamp is not observed");
        assert!((1.5..60.0).contains(&sum), "latency {sum}");
        let (count, sum) = histogram(crate::metrics::STAGE_DURATION_SECONDS);
        assert_eq!(count, 1);
        assert!((sum - 0.02).abs() < 1e-9);
    }
}
