//! The load harness's messages: the simulator's test split, repeated with offset patient and
//! encounter numbers so any number of distinct patients (and messages) can be generated.
//!
//! Round `k` adds `k × ROUND_OFFSET` to every `patient_nbr` and `encounter_id`; the offset is
//! a multiple of 5, so the rows stay in the test split, and every round's patients, MRNs and
//! control IDs are new (a repeated message would be a duplicate the pipeline skips).

use crate::features::dataset::DatasetRow;
use crate::simulate::{SimConfig, SimError, Simulator, SplitChoice};

/// Added to `patient_nbr` and `encounter_id` per round (a multiple of 5, below the
/// simulator's 2^40 limit for ~1,000 rounds).
pub const ROUND_OFFSET: u64 = 1_000_000_000;

/// One input record: Kafka key (the MRN) and the ER7 message.
#[derive(Clone)]
pub struct LoadRecord {
    /// Record key.
    pub key: Vec<u8>,
    /// Record value.
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for LoadRecord {
    // Synthetic, but shaped like PHI: sizes only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadRecord")
            .field("key_len", &self.key.len())
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// An endless source of simulated ADT records, round after round.
pub struct Workload {
    rows: Vec<DatasetRow>,
    round: u64,
    buffer: std::vec::IntoIter<LoadRecord>,
    patients: u64,
}

impl std::fmt::Debug for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workload")
            .field("rows", &self.rows.len())
            .field("round", &self.round)
            .finish_non_exhaustive()
    }
}

impl Workload {
    /// A workload over the test-split rows of `rows`.
    pub fn new(rows: &[DatasetRow]) -> Self {
        Self {
            rows: rows
                .iter()
                .filter(|r| SplitChoice::Test.contains(r.patient_nbr))
                .cloned()
                .collect(),
            round: 0,
            buffer: Vec::new().into_iter(),
            patients: 0,
        }
    }

    /// Patients generated so far (whole rounds).
    pub fn patients(&self) -> u64 {
        self.patients
    }

    /// The rows of round `round`, with offset patient and encounter numbers.
    fn round_rows(&self, round: u64) -> Vec<DatasetRow> {
        let offset = round * ROUND_OFFSET;
        self.rows
            .iter()
            .map(|r| DatasetRow {
                patient_nbr: r.patient_nbr + offset,
                encounter_id: r.encounter_id + offset,
                ..r.clone()
            })
            .collect()
    }

    /// Generates the next round into the buffer.
    fn refill(&mut self) -> Result<(), SimError> {
        let rows = self.round_rows(self.round);
        let sim = Simulator::new(
            SimConfig {
                split: SplitChoice::Test,
                ..SimConfig::default()
            },
            &rows,
        )?;
        self.patients += sim.patient_count() as u64;
        let records: Vec<LoadRecord> = sim
            .records()
            .map(|r| LoadRecord {
                key: r.key,
                payload: r.payload,
            })
            .collect();
        self.round += 1;
        self.buffer = records.into_iter();
        Ok(())
    }

    /// The next record (rounds are generated as needed).
    pub fn next_record(&mut self) -> Result<LoadRecord, SimError> {
        loop {
            if let Some(r) = self.buffer.next() {
                return Ok(r);
            }
            if self.rows.is_empty() {
                return Err(SimError::Config {
                    field: "rows",
                    reason: "the dataset has no test-split patients",
                });
            }
            self.refill()?;
        }
    }

    /// The next `n` records.
    pub fn take(&mut self, n: usize) -> Result<Vec<LoadRecord>, SimError> {
        (0..n).map(|_| self.next_record()).collect()
    }

    /// Calls `f` with every record of whole rounds (generated patient by patient, so little
    /// is held at once) until at least `patients` patients were generated; returns the number
    /// of records. Independent of [`next_record`](Self::next_record)'s rounds.
    pub fn for_each_round_until(
        &mut self,
        patients: u64,
        mut f: impl FnMut(LoadRecord),
    ) -> Result<u64, SimError> {
        let mut n = 0;
        while self.patients < patients {
            let rows = self.round_rows(self.round);
            let sim = Simulator::new(
                SimConfig {
                    split: SplitChoice::Test,
                    ..SimConfig::default()
                },
                &rows,
            )?;
            if sim.patient_count() == 0 {
                break;
            }
            self.patients += sim.patient_count() as u64;
            self.round += 1;
            for r in sim.records() {
                f(LoadRecord {
                    key: r.key,
                    payload: r.payload,
                });
                n += 1;
            }
        }
        Ok(n)
    }
}
