//! Process faults of `readmit run` (the real binary as a child process, against the mock
//! cluster — it listens on real TCP in this process — or the broker in
//! `KAFKA_BOOTSTRAP_SERVERS`):
//!
//! * **crash**: `kill -9` at random points of a simulated stream (three seeds, three kills
//!   each, one of them possibly during start-up or restore), restart, let it finish;
//! * **graceful shutdown under load**: SIGTERM while input is still arriving ends the process
//!   within the configured deadline with exit status 0 and every finished message committed,
//!   so the restarted run publishes nothing twice.
//!
//! Every test checks against the undisturbed reference ([`fault::check`]): nothing lost,
//! nothing wrong, duplicates only byte-identical (same alert ID and probability), every index
//! discharge scored, restored state equal, committed offsets at the input's end.

mod common;
#[path = "common/e2e.rs"]
mod e2e;
#[path = "common/fault.rs"]
mod fault;

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use common::TestKafka;
use fault::{ChildRun, Tally};

/// Patients per crash run (≈ 13 records each with sprinkles).
const PATIENTS: usize = 250;

async fn crash_run(seed: u64) -> Tally {
    let kafka = TestKafka::start(1);
    let s = e2e::settings(&kafka, &format!("crash{seed}"));
    e2e::create_topics(&kafka, &s, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = fault::write_config(&s, dir.path());

    let items = fault::simulated(PATIENTS, seed, 0.05);
    let inputs = fault::produce(
        kafka.bootstrap_servers(),
        &s.topics.input,
        None,
        &items,
        None,
    )
    .await;
    let reference = fault::reference(&s, &inputs);
    let total = inputs.len() as i64;

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // Kill points: the first at a random time after start (start-up, join, restore or the
    // first messages), then two at random fractions of the committed input.
    let mut fractions = [rng.gen_range(0.15..0.5), rng.gen_range(0.5..0.9)];
    fractions.sort_by(f64::total_cmp);
    let mut runs = 0;
    let mut kills = Vec::new();

    let mut child = ChildRun::spawn(&config, dir.path(), runs);
    runs += 1;
    let first_delay = Duration::from_millis(rng.gen_range(500..4_000));
    tokio::time::sleep(first_delay).await;
    let at = fault::committed_total(&kafka, &s, 3).await;
    child.kill9();
    kills.push(format!("after {first_delay:?} (committed {at}/{total})"));

    for f in fractions {
        child = ChildRun::spawn(&config, dir.path(), runs);
        runs += 1;
        let target = (f * total as f64) as i64;
        let start = Instant::now();
        loop {
            let c = fault::committed_total(&kafka, &s, 3).await;
            if c >= target || start.elapsed() > Duration::from_secs(40) {
                break;
            }
            assert!(
                child.running(),
                "readmit run exited:\n{}",
                child.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A random moment after the commit: messages are in flight, changelog writes pending.
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..400))).await;
        let at = fault::committed_total(&kafka, &s, 3).await;
        child.kill9();
        kills.push(format!("at ≥{:.0}% (committed {at}/{total})", f * 100.0));
    }

    let mut last = ChildRun::spawn(&config, dir.path(), runs);
    runs += 1;
    let ends = fault::ends(&inputs);
    let committed = fault::wait_committed(&kafka, &s, &ends, Duration::from_secs(90)).await;
    last.sigterm();
    let status = last.wait(Duration::from_secs(30)).await;
    assert!(
        matches!(status, Some(st) if st.success()),
        "last run ends cleanly on SIGTERM: {status:?}\n{}",
        last.log_tail(30)
    );
    eprintln!("seed {seed}: kills {kills:?}; committed {committed:?}");
    let tally = fault::check(
        &kafka,
        &s,
        &reference,
        &inputs,
        &format!("crash (kill -9 ×3, seed {seed})"),
        runs,
    )
    .await;
    if !tally.problems.is_empty() || tally.lost > 0 || tally.wrong > 0 {
        eprintln!("last run log:\n{}", last.log_tail(40));
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_seed_1() {
    let t = crash_run(1).await;
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_seed_2() {
    let t = crash_run(2).await;
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_seed_3() {
    let t = crash_run(3).await;
    t.assert_clean();
}

/// SIGTERM while input still arrives: the process exits 0 within drain + flush + a margin
/// for commit and close, everything it finished is committed (the restart republishes
/// nothing: zero duplicates), and the restarted run completes the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_commits_everything_finished() {
    let kafka = TestKafka::start(1);
    let mut s = e2e::settings(&kafka, "sigterm");
    s.consumer.drain_timeout_ms = 4_000;
    s.producer.flush_timeout_ms = 3_000;
    e2e::create_topics(&kafka, &s, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = fault::write_config(&s, dir.path());
    let items = fault::simulated(200, 7, 0.05);

    let mut first = ChildRun::spawn(&config, dir.path(), 0);
    // Input arrives in batches while the service runs; SIGTERM lands mid-stream.
    let feeder = {
        let topic = s.topics.input.clone();
        let bootstrap = kafka.bootstrap_servers().to_string();
        let items = items.clone();
        tokio::spawn(async move {
            fault::produce(
                &bootstrap,
                &topic,
                None,
                &items,
                Some((30, Duration::from_millis(200))),
            )
            .await
        })
    };
    let half = items.len() as i64 / 3;
    let start = Instant::now();
    while fault::committed_total(&kafka, &s, 3).await < half {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no progress:\n{}",
            first.log_tail(30)
        );
        assert!(first.running(), "exited early:\n{}", first.log_tail(30));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signalled = Instant::now();
    first.sigterm();
    let status = first.wait(Duration::from_secs(30)).await;
    let took = signalled.elapsed();
    let deadline = Duration::from_millis(s.consumer.drain_timeout_ms + s.producer.flush_timeout_ms)
        + Duration::from_secs(5);
    assert!(
        matches!(status, Some(st) if st.success()),
        "SIGTERM ends the run with status 0: {status:?}\n{}",
        first.log_tail(30)
    );
    assert!(
        took <= deadline,
        "SIGTERM took {took:?}, configured drain + flush + 5 s margin is {deadline:?}"
    );
    let log = std::fs::read_to_string(&first.log).unwrap_or_default();
    assert!(
        !log.contains("Drain deadline passed"),
        "drain finished in time, nothing abandoned:\n{}",
        first.log_tail(30)
    );
    let committed_at_stop = kafka.committed(&s.kafka.group_id, &s.topics.input, 3).await;
    assert!(
        committed_at_stop.iter().sum::<i64>() < items.len() as i64,
        "SIGTERM arrived mid-stream: {committed_at_stop:?} of {} inputs",
        items.len()
    );

    let inputs = feeder.await.unwrap();
    let reference = fault::reference(&s, &inputs);
    let mut second = ChildRun::spawn(&config, dir.path(), 1);
    let ends = fault::ends(&inputs);
    fault::wait_committed(&kafka, &s, &ends, Duration::from_secs(90)).await;
    second.sigterm();
    let status = second.wait(Duration::from_secs(30)).await;
    assert!(
        matches!(status, Some(st) if st.success()),
        "restarted run ends with status 0 on SIGTERM: {status:?}\n{}",
        second.log_tail(30)
    );
    eprintln!("SIGTERM after {took:?}; committed at stop {committed_at_stop:?} of {ends:?}");
    let tally = fault::check(
        &kafka,
        &s,
        &reference,
        &inputs,
        "graceful shutdown (SIGTERM under load)",
        2,
    )
    .await;
    tally.assert_clean();
    assert_eq!(
        tally.duplicated, 0,
        "a graceful stop commits everything it finished: nothing is published twice"
    );
}
