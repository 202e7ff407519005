//! Redelivery after a restore, without Kafka: the runtime's at-least-once contract in its
//! plainest form. A partition's inputs are processed once (state A, collecting the changelog);
//! then, as after a crash or a lost assignment whose offset commit lagged behind the changelog,
//! a fresh state is restored from the changelog's last value per key and every input is
//! delivered again. Every output of the second pass must be a byte-identical copy of an output
//! of the first (a duplicate within the at-least-once window) — never a discharge re-scored on
//! a history that is ahead of it.
//!
//! This failed before each patient history carried the offset of the last record applied to it
//! (`PatientHistory::applied_through`): the pipeline recognised a redelivered message only by its
//! ID in the patient's ring of the last `state::RECENT_IDS` (16) message IDs, so an older
//! redelivered discharge was processed again on the restored (later, pruned) history and
//! published a second risk score under the same alert ID with a different probability.

#[path = "common/e2e.rs"]
mod e2e;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use readmit::config::{Secret, Settings};
use readmit::model::Scorer;
use readmit::runtime::{InboundMessage, Processor};
use readmit::service;
use readmit::simulate::{load_rows, SimConfig, Simulator};

mod common;

type Out = (String, Vec<u8>, Vec<u8>);

#[test]
fn redelivery_after_restore_repeats_outputs_exactly() {
    let mut s = Settings::default();
    s.model.path = Some(e2e::model_path());
    s.pseudonym.key = Some(Secret::new("redelivery test pseudonym key, 32+"));
    s.alerts.routing = e2e::routing();
    let scorer: Arc<dyn Scorer> = service::load_scorer(&s).unwrap();
    let pipeline = service::build_pipeline(&s, scorer).unwrap();

    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/diabetes130/diabetic_data.csv.gz");
    let rows = load_rows(&data).unwrap();
    let sim = Simulator::new(
        SimConfig {
            max_patients: Some(60),
            ..SimConfig::default()
        },
        &rows,
    )
    .unwrap();
    let topic: Arc<str> = "in".into();
    let inputs: Vec<InboundMessage> = sim
        .records()
        .enumerate()
        .map(|(i, r)| InboundMessage {
            topic: topic.clone(),
            partition: 0,
            offset: i as i64,
            key: Some(r.key),
            payload: Some(r.payload),
            timestamp_ms: Some(1_790_000_000_000 + i as i64),
            headers: Vec::new(),
        })
        .collect();

    // First pass: everything processed and acknowledged; the changelog holds the last state
    // of every key.
    let mut first: BTreeSet<Out> = BTreeSet::new();
    let mut changelog: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    let mut a = pipeline.new_state(&topic, 0);
    for m in &inputs {
        let p = pipeline.process(&mut a, m);
        for r in p.records {
            first.insert((
                r.topic.to_string(),
                r.key.unwrap_or_default(),
                r.payload.unwrap_or_default(),
            ));
        }
        for r in p.deferred {
            changelog.insert(r.key.unwrap_or_default(), r.payload);
        }
    }

    // Crash with the committed offset at 0: restore, then everything is delivered again.
    let mut b = pipeline.new_state(&topic, 0);
    for (k, v) in &changelog {
        pipeline.restore(&mut b, k, v.as_deref());
    }
    let mut differing = Vec::new();
    for m in &inputs {
        for r in pipeline.process(&mut b, m).records {
            let out = (
                r.topic.to_string(),
                r.key.unwrap_or_default(),
                r.payload.unwrap_or_default(),
            );
            if !first.contains(&out) {
                differing.push((m.offset, out.0));
            }
        }
    }
    assert!(
        differing.is_empty(),
        "{} outputs of redelivered inputs differ from the first pass (input offset, topic): {:?}",
        differing.len(),
        &differing[..differing.len().min(10)]
    );
}
