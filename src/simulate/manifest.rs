//! The JSON manifest of a run: every index discharge (the parity test's oracle) and every
//! malformed record, with counts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{RecordKind, SimRecord};

/// One index encounter (dataset row). `Debug` leaves out the identifiers.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct IndexEncounter {
    /// Dataset `encounter_id`.
    pub encounter_id: u64,
    /// Dataset `patient_nbr` (= PID-3.1).
    pub patient_nbr: u64,
    /// PV1-19.1 of the index stay.
    pub visit_number: String,
    /// MSH-4 / PV1-3.4.
    pub facility: String,
    /// Dataset `readmitted`: `<30`, `>30` or `NO`.
    pub label: String,
    /// False when the disposition is not an index discharge (death, hospice, transfer to
    /// another acute hospital, still a patient: `Disposition::is_index`); never scored.
    pub index_eligible: bool,
}

/// One malformed record. `Debug` leaves out the identifiers.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct MalformedEntry {
    /// 0-based position of the record in the stream.
    pub record: u64,
    /// [`super::MalformedKind::as_str`].
    pub kind: &'static str,
    /// Dataset `patient_nbr` of the stream it sits in.
    pub patient_nbr: u64,
    /// Dataset `encounter_id` of the message it follows.
    pub encounter_id: Option<u64>,
}

impl std::fmt::Debug for IndexEncounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexEncounter")
            .field("label", &self.label)
            .field("index_eligible", &self.index_eligible)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for MalformedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MalformedEntry")
            .field("record", &self.record)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    /// Seed of the run.
    pub seed: u64,
    /// Patients simulated.
    pub patients: usize,
    /// Records emitted (messages + malformed).
    pub records: u64,
    /// Well-formed messages by trigger.
    pub messages_by_trigger: BTreeMap<&'static str, u64>,
    /// Index discharges in emission order.
    pub index_discharges: Vec<IndexEncounter>,
    /// Malformed records in emission order.
    pub malformed: Vec<MalformedEntry>,
}

/// Collects the manifest while records pass by.
#[derive(Debug, Clone)]
pub struct ManifestBuilder {
    manifest: Manifest,
}

impl ManifestBuilder {
    /// Starts a manifest for these index encounters ([`super::Simulator::index_encounters`]).
    pub fn new(seed: u64, patients: usize, index_discharges: Vec<IndexEncounter>) -> Self {
        Self {
            manifest: Manifest {
                seed,
                patients,
                records: 0,
                messages_by_trigger: BTreeMap::new(),
                index_discharges,
                malformed: Vec::new(),
            },
        }
    }

    /// Records one emitted record.
    pub fn observe(&mut self, record: &SimRecord) {
        let m = &mut self.manifest;
        if let RecordKind::Malformed(kind) = record.kind {
            m.malformed.push(MalformedEntry {
                record: m.records,
                kind: kind.as_str(),
                patient_nbr: record.patient_nbr,
                encounter_id: record.encounter_id,
            });
        } else {
            *m.messages_by_trigger.entry(record.trigger).or_default() += 1;
        }
        m.records += 1;
    }

    /// The counts so far.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The finished manifest.
    pub fn finish(self) -> Manifest {
        self.manifest
    }
}
