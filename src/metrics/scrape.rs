//! Values read at scrape time from state owned elsewhere: the pipeline's counters (through a
//! closure) and [`Readiness`].

use std::sync::{Arc, RwLock};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{
    Counter as CounterProto, Gauge as GaugeProto, Metric, MetricFamily, MetricType,
};

use super::names::{ALERTS_UNROUTED_TOTAL, KEY_MISMATCHES_TOTAL, READY, REMOTE_MERGES_TOTAL};
use super::Readiness;

/// Values the pipeline keeps in its own atomics (`PipelineCounters`), read at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineCounts {
    /// Records whose key did not name the message's patient.
    pub key_mismatches: u64,
    /// Alerts sent to the unrouted topic.
    pub unrouted: u64,
    /// A40 merges whose retired patient was on another partition.
    pub remote_merges: u64,
}

pub(crate) type CountsSource = Box<dyn Fn() -> PipelineCounts + Send + Sync>;

/// A collector that reads values owned elsewhere at scrape time: [`PipelineCounts`] from a
/// closure (so the pipeline's atomics need no second copy) and [`Readiness`].
pub(crate) struct ScrapeCollector {
    descs: Vec<Desc>,
    pub(crate) source: RwLock<Option<CountsSource>>,
    pub(crate) readiness: RwLock<Option<Arc<Readiness>>>,
}

impl ScrapeCollector {
    const READY_HELP: &'static str = "1 when /readyz answers 200, else 0.";
    const FAMILIES: [(&'static str, &'static str); 3] = [
        (
            KEY_MISMATCHES_TOTAL,
            "Records whose Kafka key did not name the message's patient.",
        ),
        (
            ALERTS_UNROUTED_TOTAL,
            "Alerts sent to the unrouted topic because no collaborative matched.",
        ),
        (
            REMOTE_MERGES_TOTAL,
            "A40 merges whose retired patient lived on another partition.",
        ),
    ];

    pub(crate) fn new() -> Result<Self, prometheus::Error> {
        let descs = Self::FAMILIES
            .iter()
            .chain([(READY, Self::READY_HELP)].iter())
            .map(|(name, help)| {
                Desc::new(
                    (*name).to_string(),
                    (*help).to_string(),
                    Vec::new(),
                    Default::default(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            descs,
            source: RwLock::new(None),
            readiness: RwLock::new(None),
        })
    }
}

impl Collector for ScrapeCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let counts = self
            .source
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|f| f())
            .unwrap_or_default();
        let values = [counts.key_mismatches, counts.unrouted, counts.remote_merges];
        let mut families: Vec<MetricFamily> = Self::FAMILIES
            .iter()
            .zip(values)
            .map(|((name, help), value)| {
                let mut counter = CounterProto::default();
                counter.set_value(value as f64);
                let mut metric = Metric::default();
                metric.set_counter(counter);
                family(name, help, MetricType::COUNTER, metric)
            })
            .collect();
        let ready = self
            .readiness
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|r| r.is_ready());
        let mut gauge = GaugeProto::default();
        gauge.set_value(if ready { 1.0 } else { 0.0 });
        families.push(family(
            READY,
            Self::READY_HELP,
            MetricType::GAUGE,
            Metric::from_gauge(gauge),
        ));
        families
    }
}

fn family(name: &str, help: &str, kind: MetricType, metric: Metric) -> MetricFamily {
    let mut family = MetricFamily::default();
    family.set_name(name.to_string());
    family.set_help(help.to_string());
    family.set_field_type(kind);
    family.set_metric(vec![metric]);
    family
}

/// Registers an `Arc`'d collector (the registry wants a `Box<dyn Collector>`).
pub(crate) struct ArcCollector(pub(crate) Arc<ScrapeCollector>);

impl Collector for ArcCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.0.desc()
    }
    fn collect(&self) -> Vec<MetricFamily> {
        self.0.collect()
    }
}
