//! Rebalance mid-stream: one instance works alone, a second joins the group (partitions move
//! to it with their state, restored from the changelog), then leaves (they move back and are
//! restored again), all while input keeps arriving. Checked against the undisturbed reference:
//! nothing lost, nothing scored twice with different results (duplicates byte-identical),
//! every index discharge scored, restored state equal, committed offsets at the input's end.
//! Runs on the mock cluster and on a real broker.

mod common;
#[path = "common/e2e.rs"]
mod e2e;
#[path = "common/fault.rs"]
mod fault;

use std::time::Duration;

use common::TestKafka;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_joins_then_leaves_and_state_moves_with_the_partitions() {
    let kafka = TestKafka::start(1);
    let s = e2e::settings(&kafka, "rebalance");
    e2e::create_topics(&kafka, &s, 4).await;
    let items = fault::simulated(200, 21, 0.05);
    let total = items.len() as i64;

    let a = e2e::start(&s);
    // ~20 s of input: enough for a join and a leave while it arrives.
    let batch = (items.len() / 40).max(1);
    let feeder = fault::feed(
        &kafka,
        &s.topics.input,
        items,
        batch,
        Duration::from_millis(500),
    );
    let joined_at = fault::wait_progress(&kafka, &s, 4, total / 5, Duration::from_secs(60)).await;
    let b = e2e::start(&s);
    let left_at =
        fault::wait_progress(&kafka, &s, 4, total * 7 / 10, Duration::from_secs(90)).await;
    let sb = b.stop().await;
    let inputs = tokio::time::timeout(Duration::from_secs(90), feeder)
        .await
        .expect("input produced")
        .unwrap();
    let reference = fault::reference(&s, &inputs);
    let ends = fault::ends(&inputs);
    fault::wait_committed(&kafka, &s, &ends, Duration::from_secs(90)).await;
    let sa = a.stop().await;
    eprintln!("b joined at {joined_at}/{total}, left at {left_at}/{total}");
    eprintln!("a: {sa:?}");
    eprintln!("b: {sb:?}");

    assert!(
        sb.messages_completed > 0,
        "the second instance worked: {sb:?}"
    );
    assert!(
        sb.restores.iter().any(|r| r.records > 0),
        "the second instance restored the state the first had built: {:?}",
        sb.restores
    );
    assert!(
        sa.partitions_revoked > 0,
        "partitions moved away from the first: {sa:?}"
    );
    assert!(
        sa.restores.len() > 4 && sa.restores[4..].iter().any(|r| r.records > 0),
        "the first restored the partitions coming back: {:?}",
        sa.restores
    );
    assert!(
        sa.messages_completed + sb.messages_completed >= inputs.len() as u64,
        "every input completed at least once"
    );
    let tally = fault::check(
        &kafka,
        &s,
        &reference,
        &inputs,
        "rebalance (2nd instance joins, leaves)",
        2,
    )
    .await;
    tally.assert_clean();
}
