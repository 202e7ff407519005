//! `readmit loadtest --memory`: resident memory per patient of history and restore time.
//!
//! Streams whole rounds of the simulated test split (see [`super::workload`]) through the
//! service's pipeline into one [`PartitionState`] until it holds the asked number of patients,
//! reading `VmRSS` from `/proc/self/status` before and after. Then encodes every history as
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
    /// RSS growth per patient of the streamed load, bytes.
    pub fn bytes_per_patient_load(&self) -> Option<f64> {
        per(self.rss_before, self.rss_after_load, self.patients)
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
        format!(
            "state memory: {} patients from {} messages in {:.1} s\n\
             \x20 RSS {} -> {} after the load: {} per patient (state's own estimate {:.0} B/patient)\n\
             \x20 changelog: {} records, {:.1} MiB ({:.0} B/patient), encoded in {:.2} s\n\
             \x20 restore: {} patients in {:.2} s ({:.0} patients/s); RSS {} -> {}: {} per patient\n",
            self.patients,
            self.messages,
            self.load_seconds,
            mb(self.rss_before),
            mb(self.rss_after_load),
            bpp(self.bytes_per_patient_load()),
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
    let mut offset = 0i64;
    let mut last_report = Instant::now();
    let messages = workload.for_each_round_until(patients, |r| {
        let msg = InboundMessage {
            topic: topic.clone(),
            partition: 0,
            offset,
            key: Some(r.key),
            payload: Some(r.payload),
            timestamp_ms: None,
            headers: Vec::new(),
        };
        offset += 1;
        let _ = pipeline.handle(&mut state, &msg);
        if last_report.elapsed().as_secs() >= 5 {
            last_report = Instant::now();
            progress.line(&format!("  {} patients, {offset} messages", state.len()));
        }
    })?;
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
