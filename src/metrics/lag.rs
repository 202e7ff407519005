//! librdkafka statistics → consumer lag per partition, producer queue depth and broker
//! reachability.
//!
//! Enable statistics with `statistics.interval.ms` (e.g. `kafka.librdkafka.statistics_interval_ms
//! = "5000"`) and call [`StatisticsSink::observe`] from `ClientContext::stats` of the group
//! consumer and of the producer.
//!
//! Lag is computed here rather than read from librdkafka's `consumer_lag`, defensively: some
//! brokers (tansu) report odd high watermarks, and offsets are `-1`/`-1001` while unknown.
//! Per partition: `lag = hi_offset - position`, where position is the first known of
//! `stored_offset` (everything before it reached a final outcome), `committed_offset`,
//! `app_offset`; the partition is skipped when the watermark or every position is unknown
//! (negative), and the result is clamped at 0.

use std::collections::BTreeSet;
use std::sync::Arc;

use prometheus::core::Collector;
use rdkafka::statistics::{Partition, Statistics};

use super::{Metrics, Readiness};

/// Feeds librdkafka [`Statistics`] into [`Metrics`] and [`Readiness`].
#[derive(Debug, Clone)]
pub struct StatisticsSink {
    metrics: Arc<Metrics>,
    readiness: Option<Arc<Readiness>>,
}

impl StatisticsSink {
    /// A sink updating `metrics`, and broker reachability in `readiness` when given.
    pub fn new(metrics: Arc<Metrics>, readiness: Option<Arc<Readiness>>) -> Self {
        Self { metrics, readiness }
    }

    /// Applies one statistics report: consumer reports update lag (and broker reachability),
    /// producer reports update the queue depth.
    pub fn observe(&self, stats: &Statistics) {
        match stats.client_type.as_str() {
            "producer" => {
                let queued = i64::try_from(stats.msg_cnt).unwrap_or(i64::MAX);
                self.metrics.producer_queue.set(queued);
            }
            "consumer" => {
                update_consumer_lag(&self.metrics, stats);
                if let Some(readiness) = &self.readiness {
                    readiness.set_broker_reachable(any_broker_up(stats));
                }
            }
            _ => {}
        }
    }
}

/// True when at least one real broker (not the bootstrap placeholder) is in state `UP`.
pub fn any_broker_up(stats: &Statistics) -> bool {
    stats
        .brokers
        .values()
        .any(|b| b.nodeid >= 0 && b.state == "UP")
}

/// The lag of one partition, or `None` when it cannot be known (see the module docs).
pub fn partition_lag(p: &Partition) -> Option<i64> {
    if p.partition < 0 || p.hi_offset < 0 {
        return None;
    }
    let position = [p.stored_offset, p.committed_offset, p.app_offset]
        .into_iter()
        .find(|o| *o >= 0)?;
    Some((p.hi_offset - position).max(0))
}

/// Whether the consumer currently owns (fetches) the partition.
fn is_assigned(p: &Partition) -> bool {
    p.partition >= 0
        && (p.desired || !matches!(p.fetch_state.as_str(), "none" | "stopping" | "stopped" | ""))
}

/// Updates `readmit_consumer_lag_messages{topic,partition}` from one consumer report, and
/// removes series of partitions of a reported topic that are no longer assigned. Topics that
/// are not configured input topics (e.g. the changelog read by the restore consumer) are
/// ignored.
pub fn update_consumer_lag(metrics: &Metrics, stats: &Statistics) {
    for (topic_name, topic) in &stats.topics {
        let label = metrics.lag_topic_label(topic_name);
        if label == super::OTHER {
            continue;
        }
        let mut live = BTreeSet::new();
        for p in topic.partitions.values().filter(|p| is_assigned(p)) {
            live.insert(p.partition.to_string());
            if let Some(lag) = partition_lag(p) {
                let partition = p.partition.to_string();
                if let Ok(g) = metrics
                    .consumer_lag
                    .get_metric_with_label_values(&[label, &partition])
                {
                    g.set(lag);
                }
            }
        }
        // Drop series of partitions that left this consumer.
        let stale: Vec<String> = metrics
            .consumer_lag
            .collect()
            .iter()
            .flat_map(|family| family.get_metric().iter())
            .filter_map(|m| {
                let labels = m.get_label();
                let topic = labels.iter().find(|l| l.name() == "topic")?;
                let partition = labels.iter().find(|l| l.name() == "partition")?;
                (topic.value() == label && !live.contains(partition.value()))
                    .then(|| partition.value().to_string())
            })
            .collect();
        for partition in stale {
            let _ = metrics
                .consumer_lag
                .remove_label_values(&[label, partition.as_str()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::LabelSets;
    use prometheus::Registry;

    fn partition(n: i32, hi: i64, stored: i64, committed: i64, app: i64) -> serde_json::Value {
        serde_json::json!({
            "partition": n, "broker": 1, "leader": 1, "desired": n >= 0, "unknown": false,
            "msgq_cnt": 0, "msgq_bytes": 0, "xmit_msgq_cnt": 0, "xmit_msgq_bytes": 0,
            "fetchq_cnt": 0, "fetchq_size": 0, "fetch_state": if n >= 0 { "active" } else { "none" },
            "query_offset": -1001, "next_offset": app, "app_offset": app,
            "stored_offset": stored, "committed_offset": committed, "eof_offset": -1001,
            "lo_offset": 0, "hi_offset": hi, "ls_offset": hi, "consumer_lag": -1,
            "consumer_lag_stored": -1, "txmsgs": 0, "txbytes": 0, "rxmsgs": 0, "rxbytes": 0,
            "msgs": 0, "rx_ver_drops": 0, "msgs_inflight": 0, "next_ack_seq": 0,
            "next_err_seq": 0, "acked_msgid": 0
        })
    }

    fn stats(client_type: &str, parts: Vec<serde_json::Value>, broker_state: &str) -> Statistics {
        let mut map = serde_json::Map::new();
        for p in parts {
            map.insert(p["partition"].to_string(), p);
        }
        let mut value = serde_json::to_value(Statistics::default()).unwrap();
        value["type"] = client_type.into();
        value["msg_cnt"] = 42.into();
        value["topics"] = serde_json::json!({
            "adt.events": { "topic": "adt.events", "metadata_age": 0,
                "batchsize": window(), "batchcnt": window(), "partitions": map },
            "readmit.patient-history": { "topic": "readmit.patient-history", "metadata_age": 0,
                "batchsize": window(), "batchcnt": window(),
                "partitions": { "0": partition(0, 100, -1001, -1001, 3) } }
        });
        let mut broker = serde_json::to_value(rdkafka::statistics::Broker::default()).unwrap();
        broker["nodeid"] = 1.into();
        broker["state"] = broker_state.into();
        value["brokers"] = serde_json::json!({ "b1:9092/1": broker });
        serde_json::from_value(value).unwrap()
    }

    fn window() -> serde_json::Value {
        serde_json::to_value(rdkafka::statistics::Window::default()).unwrap()
    }

    fn lag_of(metrics: &Metrics, partition: &str) -> Option<i64> {
        metrics
            .consumer_lag
            .collect()
            .iter()
            .flat_map(|f| f.get_metric().iter())
            .find(|m| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == "partition" && l.value() == partition)
            })
            .map(|m| m.get_gauge().get_value() as i64)
    }

    fn metrics() -> Arc<Metrics> {
        Arc::new(
            Metrics::new(
                &Registry::new(),
                LabelSets {
                    topics: vec!["adt.events".into()],
                    collaboratives: vec![],
                },
            )
            .unwrap(),
        )
    }

    #[test]
    fn lag_prefers_stored_then_committed_then_app_and_clamps() {
        let p: Partition = serde_json::from_value(partition(0, 100, 90, 80, 95)).unwrap();
        assert_eq!(partition_lag(&p), Some(10));
        let p: Partition = serde_json::from_value(partition(0, 100, -1001, 80, 95)).unwrap();
        assert_eq!(partition_lag(&p), Some(20));
        let p: Partition = serde_json::from_value(partition(0, 100, -1001, -1001, 95)).unwrap();
        assert_eq!(partition_lag(&p), Some(5));
        // tansu-style watermark below the position: clamp at 0
        let p: Partition = serde_json::from_value(partition(0, 3, 10, 10, 10)).unwrap();
        assert_eq!(partition_lag(&p), Some(0));
        // unknown watermark or positions: skip
        let p: Partition = serde_json::from_value(partition(0, -1, 10, 10, 10)).unwrap();
        assert_eq!(partition_lag(&p), None);
        let p: Partition = serde_json::from_value(partition(0, 100, -1001, -1, -1001)).unwrap();
        assert_eq!(partition_lag(&p), None);
        // the internal "unassigned" partition -1
        let p: Partition = serde_json::from_value(partition(-1, 100, 1, 1, 1)).unwrap();
        assert_eq!(partition_lag(&p), None);
    }

    #[test]
    fn consumer_report_sets_lag_ignores_other_topics_and_drops_revoked() {
        let m = metrics();
        let readiness = Arc::new(Readiness::default());
        let sink = StatisticsSink::new(m.clone(), Some(readiness.clone()));
        sink.observe(&stats(
            "consumer",
            vec![
                partition(0, 100, 90, 80, 95),
                partition(1, 50, -1001, -1001, -1001),
                partition(2, 7, 7, 7, 7),
                partition(-1, 0, -1001, -1001, -1001),
            ],
            "UP",
        ));
        assert_eq!(lag_of(&m, "0"), Some(10));
        assert_eq!(lag_of(&m, "1"), None, "unknown position is skipped");
        assert_eq!(lag_of(&m, "2"), Some(0));
        assert!(readiness.broker_reachable());
        let families = m.consumer_lag.collect();
        let series = families[0].get_metric();
        assert_eq!(
            series.len(),
            2,
            "changelog topic and partition -1 are ignored"
        );

        // partition 0 revoked: its series goes away
        sink.observe(&stats("consumer", vec![partition(2, 9, 7, 7, 7)], "DOWN"));
        assert_eq!(lag_of(&m, "0"), None);
        assert_eq!(lag_of(&m, "2"), Some(2));
        assert!(!readiness.broker_reachable());
    }

    #[test]
    fn producer_report_sets_queue_depth() {
        let m = metrics();
        StatisticsSink::new(m.clone(), None).observe(&stats("producer", vec![], "UP"));
        assert_eq!(m.producer_queue.get(), 42);
        assert!(m.consumer_lag.collect()[0].get_metric().is_empty());
    }
}
