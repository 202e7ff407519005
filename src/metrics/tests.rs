//! Unit tests of [`Metrics`]: names, label bounding, observer updates, and the closed-set check
//! over everything registered.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::proto::MetricFamily;
use prometheus::Registry;

use super::*;
use crate::runtime::{RestoreStats, RuntimeEvent, RuntimeObserver};

fn labels() -> LabelSets {
    LabelSets {
        topics: vec!["adt.events".into()],
        collaboratives: vec!["crisp".into(), "metro_aco".into()],
    }
}

fn families(registry: &Registry) -> Vec<MetricFamily> {
    registry.gather()
}

/// The value of the series of `name` whose labels include every pair in `want`.
fn value(registry: &Registry, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let fams = families(registry);
    let family = fams.iter().find(|f| f.name() == name)?;
    family
        .get_metric()
        .iter()
        .find(|m| {
            want.iter().all(|(k, v)| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == *k && l.value() == *v)
            })
        })
        .map(|m| match family.get_field_type() {
            prometheus::proto::MetricType::COUNTER => m.get_counter().get_value(),
            prometheus::proto::MetricType::GAUGE => m.get_gauge().get_value(),
            prometheus::proto::MetricType::HISTOGRAM => m.get_histogram().get_sample_count() as f64,
            _ => f64::NAN,
        })
}

fn label_values(registry: &Registry, name: &str, label: &str) -> BTreeSet<String> {
    families(registry)
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .flat_map(|m| m.get_label().iter())
        .filter(|l| l.name() == label)
        .map(|l| l.value().to_string())
        .collect()
}

#[test]
fn names_follow_prometheus_conventions() {
    for name in METRIC_NAMES.iter().chain(monitor::METRIC_NAMES) {
        assert!(name.starts_with("readmit_"), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}"
        );
    }
    let registry = Registry::new();
    let _m = Metrics::new(&registry, labels()).unwrap();
    for family in families(&registry) {
        let name = family.name();
        assert!(METRIC_NAMES.contains(&name), "unlisted metric {name}");
        match family.get_field_type() {
            prometheus::proto::MetricType::COUNTER => {
                assert!(name.ends_with("_total"), "counter {name}")
            }
            prometheus::proto::MetricType::HISTOGRAM => {
                assert!(name.ends_with("_seconds"), "histogram {name}")
            }
            _ => assert!(!name.ends_with("_total"), "non-counter {name}"),
        }
    }
}

#[test]
fn registering_twice_in_one_registry_fails_but_separate_registries_work() {
    let registry = Registry::new();
    let _a = Metrics::new(&registry, labels()).unwrap();
    assert!(Metrics::new(&registry, labels()).is_err());
    let _b = Metrics::new(&Registry::new(), labels()).unwrap();
}

#[test]
fn label_sets_come_from_settings() {
    let mut settings = crate::config::Settings::default();
    settings.topics.input = "hl7.adt".into();
    settings
        .alerts
        .routing
        .collaboratives
        .push(toml_collaborative("north"));
    let sets = LabelSets::from_settings(&settings);
    assert_eq!(sets.topics, vec!["hl7.adt".to_string()]);
    assert_eq!(sets.collaboratives, vec!["north".to_string()]);
}

fn toml_collaborative(name: &str) -> crate::alerts::routing::Collaborative {
    toml::from_str(&format!("name = \"{name}\"")).unwrap()
}

#[test]
fn trigger_labels_are_bounded() {
    assert_eq!(trigger_label(Some("A03")), "A03");
    assert_eq!(trigger_label(Some("a60")), "A60");
    assert_eq!(trigger_label(Some("A61")), OTHER);
    assert_eq!(trigger_label(Some("DOE^JOHN")), OTHER);
    assert_eq!(trigger_label(Some("")), UNPARSED);
    assert_eq!(trigger_label(None), UNPARSED);
}

#[test]
fn recorders_fold_unknown_values_into_other() {
    let registry = Registry::new();
    let m = Metrics::new(&registry, labels()).unwrap();
    m.record_consumed("adt.events", Some("A03"));
    m.record_consumed("adt.events", Some("A03"));
    m.record_consumed("adt.events", Some("Z99"));
    m.record_consumed("adt.events", None);
    m.record_consumed("someone.elses.topic", Some("A01"));
    assert_eq!(
        value(
            &registry,
            MESSAGES_CONSUMED_TOTAL,
            &[("topic", "adt.events"), ("trigger", "A03")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &registry,
            MESSAGES_CONSUMED_TOTAL,
            &[("topic", "adt.events"), ("trigger", OTHER)]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &registry,
            MESSAGES_CONSUMED_TOTAL,
            &[("topic", "adt.events"), ("trigger", UNPARSED)]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &registry,
            MESSAGES_CONSUMED_TOTAL,
            &[("topic", OTHER), ("trigger", "A01")]
        ),
        Some(1.0)
    );

    m.record_dead_letter("bad_delimiters");
    m.record_dead_letter("MRN 12345 broke");
    assert_eq!(
        value(&registry, DEAD_LETTERS_TOTAL, &[("kind", "bad_delimiters")]),
        Some(1.0)
    );
    assert_eq!(
        value(&registry, DEAD_LETTERS_TOTAL, &[("kind", OTHER)]),
        Some(1.0)
    );

    m.record_alert_published("crisp", "high");
    m.record_alert_published("unknown-collab", "high");
    m.record_alert_published(UNROUTED, "severe");
    assert_eq!(
        value(
            &registry,
            ALERTS_PUBLISHED_TOTAL,
            &[("collaborative", "crisp"), ("tier", "high")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &registry,
            ALERTS_PUBLISHED_TOTAL,
            &[("collaborative", OTHER), ("tier", "high")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &registry,
            ALERTS_PUBLISHED_TOTAL,
            &[("collaborative", UNROUTED), ("tier", OTHER)]
        ),
        Some(1.0)
    );
    // pre-registered series exist at zero
    assert_eq!(
        value(
            &registry,
            ALERTS_PUBLISHED_TOTAL,
            &[("collaborative", "metro_aco"), ("tier", "low")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &registry,
            MESSAGES_OUTCOME_TOTAL,
            &[("outcome", "duplicate")]
        ),
        Some(0.0)
    );
}

#[test]
fn observer_maps_runtime_events() {
    let registry = Registry::new();
    let m = Arc::new(Metrics::new(&registry, labels()).unwrap());
    let o = MetricsObserver::new(m.clone());
    let tp = |p: i32| ("adt.events".to_string(), p);
    o.on_event(&RuntimeEvent::PartitionsAssigned(vec![tp(0), tp(1), tp(2)]));
    o.on_event(&RuntimeEvent::PartitionsRevoked(vec![tp(2)]));
    o.on_event(&RuntimeEvent::RebalanceError);
    o.on_event(&RuntimeEvent::CommitFailed);
    o.on_event(&RuntimeEvent::ProduceRetried);
    o.on_event(&RuntimeEvent::ProduceRetried);
    o.on_event(&RuntimeEvent::InFlightAbandoned(4));
    o.on_event(&RuntimeEvent::Restored(RestoreStats {
        topic: "readmit.patient-history".into(),
        partition: 0,
        records: 120,
        skipped_without_key: 0,
        watermarks: (0, 120),
        duration: Duration::from_millis(250),
    }));
    for outcome in ["alerted", "alerted", "history_only", "made_up"] {
        o.on_event(&RuntimeEvent::MessageCompleted {
            partition: 0,
            timestamp_ms: None,
            outcome,
            records_produced: 1,
            dead_lettered: false,
            publish: None,
        });
    }
    o.on_event(&RuntimeEvent::MessageCompleted {
        partition: 0,
        timestamp_ms: None,
        outcome: "alerted",
        records_produced: 0,
        dead_lettered: true,
        publish: None,
    });

    let v = |name: &str, want: &[(&str, &str)]| value(&registry, name, want);
    assert_eq!(v(REBALANCES_TOTAL, &[("kind", "assign")]), Some(1.0));
    assert_eq!(v(REBALANCES_TOTAL, &[("kind", "revoke")]), Some(1.0));
    assert_eq!(v(REBALANCES_TOTAL, &[("kind", "error")]), Some(1.0));
    assert_eq!(v(PARTITIONS_ASSIGNED, &[]), Some(2.0));
    assert_eq!(v(COMMIT_FAILURES_TOTAL, &[]), Some(1.0));
    assert_eq!(v(PRODUCE_RETRIES_TOTAL, &[]), Some(2.0));
    assert_eq!(v(IN_FLIGHT_ABANDONED_TOTAL, &[]), Some(4.0));
    assert_eq!(v(CHANGELOG_RESTORED_RECORDS_TOTAL, &[]), Some(120.0));
    assert_eq!(v(CHANGELOG_RESTORE_DURATION_SECONDS, &[]), Some(1.0));
    assert_eq!(
        v(MESSAGES_OUTCOME_TOTAL, &[("outcome", "alerted")]),
        Some(2.0)
    );
    assert_eq!(
        v(MESSAGES_OUTCOME_TOTAL, &[("outcome", "history_only")]),
        Some(1.0)
    );
    assert_eq!(v(MESSAGES_OUTCOME_TOTAL, &[("outcome", OTHER)]), Some(1.0));
    assert_eq!(
        v(MESSAGES_OUTCOME_TOTAL, &[("outcome", "dead_lettered")]),
        Some(1.0)
    );
    assert_eq!(
        v(DEAD_LETTERS_TOTAL, &[("kind", UNPRODUCIBLE_OUTPUT)]),
        Some(1.0)
    );
}

#[test]
fn timings_state_model_info_and_scrape_time_sources() {
    let registry = Registry::new();
    let m = Metrics::new(&registry, labels()).unwrap();
    let now = SystemTime::now();
    let now_ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    m.observe_end_to_end(now_ms - 1_500, now);
    m.observe_end_to_end(0, now); // missing timestamp: skipped
    m.observe_end_to_end(now_ms + 10_000, now); // future: counts as 0
    let fams = families(&registry);
    let h = fams
        .iter()
        .find(|f| f.name() == END_TO_END_LATENCY_SECONDS)
        .unwrap()
        .get_metric()[0]
        .get_histogram();
    assert_eq!(h.get_sample_count(), 2);
    assert!((h.get_sample_sum() - 1.5).abs() < 1e-9);

    m.observe_stage(Stage::Score, Duration::from_micros(20));
    {
        let _t = m.stage_timer(Stage::Parse);
    }
    assert_eq!(
        value(&registry, STAGE_DURATION_SECONDS, &[("stage", "score")]),
        Some(1.0)
    );
    assert_eq!(
        value(&registry, STAGE_DURATION_SECONDS, &[("stage", "parse")]),
        Some(1.0)
    );

    m.set_state_size(2, 10, 4096);
    assert_eq!(
        value(&registry, STATE_PATIENTS, &[("partition", "2")]),
        Some(10.0)
    );
    assert_eq!(
        value(&registry, STATE_BYTES, &[("partition", "2")]),
        Some(4096.0)
    );
    m.forget_partition(2);
    assert_eq!(
        value(&registry, STATE_PATIENTS, &[("partition", "2")]),
        None
    );

    m.set_model_info("gbt-v3", "7");
    m.set_model_info("gbt-v4", "7");
    assert_eq!(
        label_values(&registry, MODEL_INFO, "version"),
        BTreeSet::from(["gbt-v4".to_string()])
    );
    assert_eq!(
        value(
            &registry,
            MODEL_INFO,
            &[("version", "gbt-v4"), ("schema", "7")]
        ),
        Some(1.0)
    );

    assert_eq!(value(&registry, KEY_MISMATCHES_TOTAL, &[]), Some(0.0));
    assert_eq!(value(&registry, READY, &[]), Some(0.0));
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(5));
    let c = counter.clone();
    m.watch_pipeline_counts(move || PipelineCounts {
        key_mismatches: c.load(std::sync::atomic::Ordering::Relaxed),
        unrouted: 2,
        remote_merges: 1,
    });
    counter.store(6, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(value(&registry, KEY_MISMATCHES_TOTAL, &[]), Some(6.0));
    assert_eq!(value(&registry, ALERTS_UNROUTED_TOTAL, &[]), Some(2.0));
    assert_eq!(value(&registry, REMOTE_MERGES_TOTAL, &[]), Some(1.0));
    let readiness = Arc::new(Readiness::new());
    m.watch_readiness(readiness.clone());
    readiness.set_model_loaded(true);
    readiness.set_broker_reachable(true);
    assert_eq!(value(&registry, READY, &[]), Some(1.0));
}

/// Every label name of every registered family is in the allow-list, and every value of the
/// closed-set labels is one of the allowed values, after feeding hostile inputs through every
/// recorder.
#[test]
fn no_metric_has_a_label_outside_closed_sets() {
    let registry = Registry::new();
    let m = Arc::new(Metrics::new(&registry, labels()).unwrap());
    let monitor = ModelMonitor::new(
        &registry,
        MonitorSettings {
            max_facilities: 2,
            ..MonitorSettings::default()
        },
        Some(ScoreHistogram::new(&[0.0, 0.5, 1.0], &[0.5, 0.5]).unwrap()),
    )
    .unwrap();
    let hostile = "Smith^John 1970-01-01 MRN:12345";
    m.record_consumed(hostile, Some(hostile));
    m.record_consumed("adt.events", Some("A03"));
    m.record_outcome(hostile);
    m.record_dead_letter(hostile);
    m.record_alert_published(hostile, hostile);
    m.record_alert_published("crisp", "high");
    m.set_model_info("gbt-v1", "3");
    m.set_state_size(0, 1, 1);
    MetricsObserver::new(m.clone()).on_event(&RuntimeEvent::MessageCompleted {
        partition: 0,
        timestamp_ms: None,
        outcome: "alerted",
        records_produced: 1,
        dead_lettered: false,
        publish: None,
    });
    for f in ["F1", "F2", hostile] {
        monitor.observe_closed(0.3, hostile, f, true);
        monitor.observe_closed(0.6, "high", f, false);
    }

    let triggers: BTreeSet<String> = (1..=60)
        .map(|i| format!("A{i:02}"))
        .chain([OTHER.to_string(), UNPARSED.to_string()])
        .collect();
    let with_other = |set: &[&str]| -> BTreeSet<String> {
        set.iter()
            .copied()
            .chain([OTHER])
            .map(String::from)
            .collect()
    };
    let outcomes = with_other(OUTCOMES);
    let mut kinds = with_other(DEAD_LETTER_KINDS);
    kinds.extend(["assign", "revoke", "error"].map(String::from));
    let tiers = with_other(TIERS);
    let collaboratives = with_other(&["crisp", "metro_aco", UNROUTED]);
    let stages: BTreeSet<String> = Stage::ALL.iter().map(|s| s.as_str().to_string()).collect();
    let topics = with_other(&["adt.events"]);
    let facilities = with_other(&["F1", "F2"]);

    let fams = families(&registry);
    assert!(fams.len() >= METRIC_NAMES.len() + monitor::METRIC_NAMES.len() - 1);
    for family in &fams {
        for metric in family.get_metric() {
            for label in metric.get_label() {
                let (name, v) = (label.name(), label.value().to_string());
                assert!(
                    ALLOWED_LABEL_NAMES.contains(&name),
                    "{}: label {name} not allowed",
                    family.name()
                );
                let ok = match name {
                    "trigger" => triggers.contains(&v),
                    "outcome" => outcomes.contains(&v),
                    "kind" => kinds.contains(&v),
                    "tier" => tiers.contains(&v),
                    "collaborative" => collaboratives.contains(&v),
                    "stage" => stages.contains(&v),
                    "topic" => topics.contains(&v),
                    "facility" => facilities.contains(&v),
                    "partition" => v.parse::<u32>().is_ok(),
                    "version" => v == "gbt-v1",
                    "schema" => v == "3",
                    _ => false,
                };
                assert!(ok, "{}: {name}={v:?} outside its closed set", family.name());
                assert!(!v.contains("Smith") && !v.contains("12345"));
            }
        }
    }
}
