//! `readmit loadtest --memory`: resident memory per patient of history and restore time.
//!
//! Streams whole rounds of the simulated test split (see [`super::workload`]) through the
//! service's pipeline into one [`PartitionState`] until it holds the asked number of patients,
//! reading `VmRSS` from `/proc/self/status` before, halfway (at the end of the round that passes
//! half the patients) and after. The growth per patient is taken between the halfway and the
//! final reading: the reading before the load still counts memory the set-up freed (the parsed
//! dataset) and the allocator hands back to the system only later, which at 100,000 patients
//! made the growth from the start come out negative. Then encodes every history as
//! its changelog value (postcard) and times restoring a fresh state from those records, again
//! with the resident memory before and after. The changelog keys are the 16-byte state-map
//! keys rather than the canonical patient keys (the state keeps only their hash); restore
//! hashes them the same way, so the work is the same.

use std::sync::Arc;
use std::time::Instant;

use super::workload::Workload;
use super::{load_settings, LoadError, LoadOptions, Progress};
use crate::runtime::InboundMessage;
use crate::state::{self, PartitionState};

/// What the memory measurement found.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryReport {
    /// Patients held after the load.
    pub patients: u64,
    /// Messages streamed through the pipeline.
    pub messages: u64,
    /// Seconds the load took (simulation included).
    pub load_seconds: f64,
    /// Resident memory before and after the load, bytes (`None` without /proc).
    pub rss_before: Option<u64>,
    /// Patients held at the halfway reading (the end of the round that passed half the
    /// patients asked for; 0 when there was none).
    pub mid_patients: u64,
    /// Resident memory at the halfway reading.
    pub rss_mid: Option<u64>,
    /// After the load.
    pub rss_after_load: Option<u64>,
    /// The state's own estimate of its size, bytes ([`PartitionState::approx_bytes`]).
    pub approx_bytes: u64,
    /// Changelog records (one per patient) and their total value bytes.
    pub changelog_records: u64,
    /// Total bytes of the encoded values.
    pub changelog_bytes: u64,
    /// Seconds to encode every history.
    pub encode_seconds: f64,
    /// Seconds to restore a fresh state from the changelog records.
    pub restore_seconds: f64,
    /// Patients in the restored state (must equal `patients`).
    pub restored_patients: u64,
    /// Resident memory just before and after the restore, bytes.
    pub rss_before_restore: Option<u64>,
    /// After the restore.
    pub rss_after_restore: Option<u64>,
}

impl MemoryReport {
    /// RSS growth per patient of the streamed load, bytes: per patient added between the
    /// halfway and the final reading, or from the start when there was no halfway reading.
    pub fn bytes_per_patient_load(&self) -> Option<f64> {
        match self.marginal() {
            Some(added) => per(self.rss_mid, self.rss_after_load, added),
            None => per(self.rss_before, self.rss_after_load, self.patients),
        }
    }

    /// Patients added between the halfway and the final reading, when both exist.
    fn marginal(&self) -> Option<u64> {
        (self.mid_patients > 0 && self.rss_mid.is_some())
            .then(|| self.patients.saturating_sub(self.mid_patients))
            .filter(|&added| added > 0)
    }

    /// RSS growth per patient of the restore, bytes.
    pub fn bytes_per_patient_restore(&self) -> Option<f64> {
        per(
            self.rss_before_restore,
            self.rss_after_restore,
            self.restored_patients,
        )
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mb = |b: Option<u64>| {
            b.map_or("n/a".to_string(), |b| {
                format!("{:.1} MiB", b as f64 / 1048576.0)
            })
        };
        let bpp = |b: Option<f64>| b.map_or("n/a".to_string(), |b| format!("{b:.0} B"));
        let growth = match self.marginal() {
            Some(added) => format!(
                "RSS {} at {} patients -> {} at {}: {} per added patient ({added} added; \
                 {} before the load)",
                mb(self.rss_mid),
                self.mid_patients,
                mb(self.rss_after_load),
                self.patients,
                bpp(self.bytes_per_patient_load()),
                mb(self.rss_before),
            ),
            None => format!(
                "RSS {} -> {} after the load: {} per patient (one round only: growth from the \
                 start, which counts memory the set-up freed)",
                mb(self.rss_before),
                mb(self.rss_after_load),
                bpp(self.bytes_per_patient_load()),
            ),
        };
        format!(
            "state memory: {} patients from {} messages in {:.1} s\n\
             \x20 {growth}; state's own estimate {:.0} B/patient\n\
             \x20 changelog: {} records, {:.1} MiB ({:.0} B/patient), encoded in {:.2} s\n\
             \x20 restore: {} patients in {:.2} s ({:.0} patients/s); RSS {} -> {}: {} per patient\n",
            self.patients,
            self.messages,
            self.load_seconds,
            self.approx_bytes as f64 / self.patients.max(1) as f64,
            self.changelog_records,
            self.changelog_bytes as f64 / 1048576.0,
            self.changelog_bytes as f64 / self.changelog_records.max(1) as f64,
            self.encode_seconds,
            self.restored_patients,
            self.restore_seconds,
            self.restored_patients as f64 / self.restore_seconds.max(1e-9),
            mb(self.rss_before_restore),
            mb(self.rss_after_restore),
            bpp(self.bytes_per_patient_restore()),
        )
    }
}

fn per(before: Option<u64>, after: Option<u64>, n: u64) -> Option<f64> {
    match (before, after) {
        (Some(b), Some(a)) if n > 0 => Some((a as f64 - b as f64) / n as f64),
        _ => None,
    }
}

/// Resident set size of this process, bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Streams the workload's records through the pipeline into one state.
struct Load<'a> {
    pipeline: &'a crate::pipeline::Pipeline,
    topic: Arc<str>,
    offset: i64,
    last_report: Instant,
    progress: &'a Progress,
}

impl Load<'_> {
    /// Whole rounds until the workload has generated at least `patients` patients; returns
    /// the messages streamed.
    fn until(
        &mut self,
        workload: &mut Workload,
        state: &mut PartitionState,
        patients: u64,
    ) -> Result<u64, LoadError> {
        Ok(workload.for_each_round_until(patients, |r| {
            let msg = InboundMessage {
                topic: self.topic.clone(),
                partition: 0,
                offset: self.offset,
                key: Some(r.key),
                payload: Some(r.payload),
                timestamp_ms: None,
                headers: Vec::new(),
            };
            self.offset += 1;
            let _ = self.pipeline.handle(state, &msg);
            if self.last_report.elapsed().as_secs() >= 5 {
                self.last_report = Instant::now();
                self.progress.line(&format!(
                    "  {} patients, {} messages",
                    state.len(),
                    self.offset
                ));
            }
        })?)
    }
}

/// Loads at least `patients` patients into one partition's state and restores it again.
pub fn run(opts: &LoadOptions, patients: u64) -> Result<MemoryReport, LoadError> {
    let progress = Progress::new(opts.progress);
    let settings = load_settings("localhost:9092", "mem.", 1, opts);
    let scorer = crate::service::load_scorer(&settings)?;
    let pipeline = crate::service::build_pipeline(&settings, scorer)?;
    let rows = crate::simulate::load_rows(&opts.data)?;
    let mut workload = Workload::new(&rows);
    drop(rows);
    let topic: Arc<str> = Arc::from(settings.topics.input.as_str());

    let mut state = PartitionState::default();
    let rss_before = rss_bytes();
    progress.line(&format!(
        "loading {patients} patients' histories through the pipeline into one partition state…"
    ));
    let started = Instant::now();
    let mut load = Load {
        pipeline: &pipeline,
        topic,
        offset: 0,
        last_report: Instant::now(),
        progress: &progress,
    };
    // Whole rounds up to half the patients, a reading, then the rest.
    let mut messages = load.until(&mut workload, &mut state, patients / 2)?;
    let (mid_patients, rss_mid) = match state.len() as u64 {
        0 => (0, None),
        n if n >= patients => (0, None),
        n => (n, rss_bytes()),
    };
    messages += load.until(&mut workload, &mut state, patients)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let rss_after_load = rss_bytes();
    let approx_bytes = state.approx_bytes();
    let held = state.len() as u64;
    progress.line(&format!(
        "loaded {held} patients in {load_seconds:.1} s; encoding the changelog…"
    ));

    let started = Instant::now();
    let changelog: Vec<([u8; 16], Vec<u8>)> = state
        .iter()
        .map(|(key, history)| (key.to_le_bytes(), state::encode(&history)))
        .collect();
    let encode_seconds = started.elapsed().as_secs_f64();
    let changelog_bytes = changelog.iter().map(|(_, v)| v.len() as u64).sum();
    // `state` stays alive: memory it freed back to the allocator would otherwise be reused
    // by the restore and hide its growth.

    let rss_before_restore = rss_bytes();
    let started = Instant::now();
    let mut restored = PartitionState::default();
    for (key, value) in &changelog {
        restored.restore(key, Some(value))?;
    }
    let restore_seconds = started.elapsed().as_secs_f64();
    let rss_after_restore = rss_bytes();
    progress.line(&format!(
        "restored {} patients in {restore_seconds:.2} s",
        restored.len()
    ));
    drop(state);

    Ok(MemoryReport {
        patients: held,
        messages,
        load_seconds,
        rss_before,
        mid_patients,
        rss_mid,
        rss_after_load,
        approx_bytes,
        changelog_records: changelog.len() as u64,
        changelog_bytes,
        encode_seconds,
        restore_seconds,
        restored_patients: restored.len() as u64,
        rss_before_restore,
        rss_after_restore,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn report(mid_patients: u64, rss_mid: Option<u64>) -> MemoryReport {
        MemoryReport {
            patients: 100_000,
            messages: 700_000,
            load_seconds: 1.0,
            // The set-up's freed memory is still resident before the load: the growth from
            // the start (50 → 48 MiB) is negative.
            rss_before: Some(50 * MIB),
            mid_patients,
            rss_mid,
            rss_after_load: Some(48 * MIB),
            approx_bytes: 13_600_000,
            changelog_records: 100_000,
            changelog_bytes: 9_800_000,
            encode_seconds: 0.1,
            restore_seconds: 0.05,
            restored_patients: 100_000,
            rss_before_restore: Some(60 * MIB),
            rss_after_restore: Some(72 * MIB),
        }
    }

    #[test]
    fn growth_per_patient_is_taken_between_the_halfway_and_the_final_reading() {
        // 40 MiB at 50,000 patients, 48 MiB at 100,000: 8 MiB over 50,000 added patients.
        let r = report(50_000, Some(40 * MIB));
        let expected = (8 * MIB) as f64 / 50_000.0;
        assert_eq!(r.bytes_per_patient_load(), Some(expected));
        let text = r.render();
        assert!(
            text.contains("at 50000 patients") && text.contains("168 B per added patient"),
            "{text}"
        );
        assert_eq!(
            r.bytes_per_patient_restore(),
            Some((12 * MIB) as f64 / 100_000.0)
        );
    }

    #[test]
    fn without_a_halfway_reading_growth_counts_from_the_start_and_says_so() {
        for r in [
            report(0, None),
            report(50_000, None),
            report(100_000, Some(40 * MIB)),
        ] {
            let expected = -((2 * MIB) as f64) / 100_000.0;
            assert_eq!(r.bytes_per_patient_load(), Some(expected));
            assert!(
                r.render().contains("growth from the start"),
                "{}",
                r.render()
            );
        }
    }
}
