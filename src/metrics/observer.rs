//! [`MetricsObserver`]: turns the runtime's [`RuntimeEvent`]s into metric updates.
//!
//! Plug it into `runtime::run_with_observer`. It updates outcome, rebalance, commit, retry,
//! restore and abandoned-in-flight metrics, and counts runtime dead letters
//! (`unproducible_output`). Dead letters the pipeline itself decides (poison input) are counted
//! by the pipeline through [`Metrics::record_dead_letter`], because only it knows the kind.

use std::sync::Arc;

use crate::runtime::{RuntimeEvent, RuntimeObserver};

use super::{Metrics, UNPRODUCIBLE_OUTPUT};

/// Outcome counted for inputs the runtime dead-lettered (`dead_lettered: true`): the
/// processor's own label (e.g. `alerted`) no longer holds for them.
const DEAD_LETTERED_OUTCOME: &str = "dead_lettered";

/// A [`RuntimeObserver`] that updates [`Metrics`].
#[derive(Debug, Clone)]
pub struct MetricsObserver {
    metrics: Arc<Metrics>,
}

impl MetricsObserver {
    /// An observer updating `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl RuntimeObserver for MetricsObserver {
    fn on_event(&self, event: &RuntimeEvent) {
        let m = &self.metrics;
        match event {
            RuntimeEvent::PartitionsAssigned(n) => m.record_rebalance("assign", *n),
            RuntimeEvent::PartitionsRevoked(n) => m.record_rebalance("revoke", *n),
            RuntimeEvent::RebalanceError => m.record_rebalance("error", 0),
            RuntimeEvent::CommitFailed => m.record_commit_failure(),
            RuntimeEvent::Restored(stats) => m.record_restore(stats.records, stats.duration),
            RuntimeEvent::MessageCompleted {
                outcome,
                dead_lettered,
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
            }
            RuntimeEvent::ProduceRetried => m.record_produce_retry(),
            RuntimeEvent::InFlightAbandoned(n) => m.record_in_flight_abandoned(*n),
        }
    }
}
