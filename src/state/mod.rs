//! Per-patient visit history, partitioned like the input, and its changelog encoding.
//!
//! Each assigned input partition owns one [`PartitionState`]: a map from a 128-bit hash of the
//! patient key to that patient's [`PatientHistory`]. Every change to a patient's history is also
//! written to a compacted changelog topic (key = the canonical patient key, value =
//! [`encode`]d history, or a tombstone when nothing is left), to the same partition number as
//! the input, so a new owner of the partition rebuilds exactly this map with [`decode`].

mod history;

use std::collections::{HashMap, HashSet};

pub use history::{
    Change, Encounter, EncounterClass, PatientHistory, PriorUse, ScoredDischarge, DAY,
    READMISSION_WINDOW, RECENT_IDS, WINDOW_12M, WINDOW_6M,
};

/// Errors reading the changelog.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A changelog value that does not decode as a history (never shows the bytes).
    #[error("changelog record of {len} bytes does not decode as a patient history: {reason}")]
    Decode {
        /// Length of the value.
        len: usize,
        /// Decoder's reason (structural, no content).
        reason: String,
    },
}

/// The state-map key of a patient: a 128-bit hash of the canonical patient key.
pub fn patient_hash(canonical_key: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(canonical_key)
}

/// A 64-bit hash used for visit and message identities (facility + visit number, sender +
/// control ID). Parts are separated so ("ab","c") and ("a","bc") differ.
pub fn hash_parts(parts: &[&str]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update(&[0x1f]);
    }
    hasher.digest()
}

/// Encodes a history as a changelog value (postcard: compact, stable field order).
pub fn encode(history: &PatientHistory) -> Vec<u8> {
    // Serialising plain integers and vectors into a Vec cannot fail.
    postcard::to_allocvec(history).unwrap_or_default()
}

/// Decodes a changelog value.
pub fn decode(bytes: &[u8]) -> Result<PatientHistory, StateError> {
    postcard::from_bytes(bytes).map_err(|e| StateError::Decode {
        len: bytes.len(),
        reason: e.to_string(),
    })
}

/// The histories of the patients of one input partition.
///
/// Memory layout (a partition may hold millions of patients): each history is kept as its
/// changelog encoding (postcard, ~150 bytes for a typical patient) in a boxed byte slice, so
/// a patient costs one map entry (32 bytes) plus one exact-size allocation. The patient being
/// worked on is *checked out*: decoded once into a [`PatientHistory`] by
/// [`patient_mut`](Self::patient_mut) / [`patient`](Self::patient) and written back when
/// another patient is checked out or the whole state is read. A decoded history with its
/// three vectors would cost 600–800 bytes per patient.
///
/// Patients holding scored discharges are also listed in a small set, so the periodic sweep
/// of closed readmission windows visits only them, not every patient.
#[derive(Default)]
pub struct PartitionState {
    /// Encoded histories by key; holds the checked-out patient too (possibly stale).
    patients: HashMap<u128, Box<[u8]>>,
    /// The checked-out patient, decoded; newer than its entry in `patients`.
    open: Option<(u128, PatientHistory)>,
    /// Keys whose stored history holds scored discharges (the open one is checked on return).
    with_scored: HashSet<u128>,
    /// Latest event time seen on the partition (minutes since the epoch).
    clock: u32,
    /// Messages handled since the last housekeeping sweep.
    since_sweep: u64,
}

impl std::fmt::Debug for PartitionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionState")
            .field("patients", &self.patients.len())
            .field("with_scored", &self.with_scored.len())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// Decodes a stored history; an empty slice is a new, empty history. Stored values were
/// encoded by this module, so a failure is a bug: it yields an empty history rather than a
/// panic in the processing path.
fn load(blob: &[u8]) -> PatientHistory {
    if blob.is_empty() {
        return PatientHistory::default();
    }
    decode(blob).unwrap_or_default()
}

impl PartitionState {
    /// The number of patients held.
    pub fn len(&self) -> usize {
        self.patients.len()
    }

    /// Whether no patient is held.
    pub fn is_empty(&self) -> bool {
        self.patients.is_empty()
    }

    /// Writes the checked-out patient back.
    fn check_in(&mut self) {
        if let Some((key, history)) = self.open.take() {
            self.store(key, &history);
        }
    }

    /// Stores an encoded history under `key`.
    fn store(&mut self, key: u128, history: &PatientHistory) {
        if history.scored.is_empty() {
            self.with_scored.remove(&key);
        } else {
            self.with_scored.insert(key);
        }
        let blob = if history == &PatientHistory::default() {
            Box::default()
        } else {
            encode(history).into_boxed_slice()
        };
        self.patients.insert(key, blob);
    }

    /// Checks `key` out (creating it empty when unknown) and returns it.
    fn check_out(&mut self, key: u128) -> &mut PatientHistory {
        let already = matches!(&self.open, Some((k, _)) if *k == key);
        if !already {
            self.check_in();
            let history = match self.patients.get(&key) {
                Some(blob) => load(blob),
                None => {
                    self.patients.insert(key, Box::default());
                    PatientHistory::default()
                }
            };
            self.open = Some((key, history));
        }
        &mut self
            .open
            .get_or_insert_with(|| (key, PatientHistory::default()))
            .1
    }

    /// A patient's history, created empty on first use.
    pub fn patient_mut(&mut self, key: u128) -> &mut PatientHistory {
        self.check_out(key)
    }

    /// A patient's history, if held. Takes `&mut self` because it checks the patient out
    /// (decodes it) — see the type's docs.
    pub fn patient(&mut self, key: u128) -> Option<&PatientHistory> {
        if !self.patients.contains_key(&key) {
            return None;
        }
        Some(&*self.check_out(key))
    }

    /// Every held patient: the state-map key and a decoded copy of the history (in no
    /// particular order).
    pub fn iter(&self) -> impl Iterator<Item = (u128, PatientHistory)> + '_ {
        self.patients.iter().map(|(key, blob)| match &self.open {
            Some((k, h)) if k == key => (*key, h.clone()),
            _ => (*key, load(blob)),
        })
    }

    /// Takes a patient's history out (A40: the retired patient's history moves to the survivor).
    pub fn take(&mut self, key: u128) -> Option<PatientHistory> {
        let blob = self.patients.remove(&key)?;
        self.with_scored.remove(&key);
        match self.open.take() {
            Some((k, h)) if k == key => Some(h),
            other => {
                self.open = other;
                Some(load(&blob))
            }
        }
    }

    /// Drops a patient whose history became empty.
    pub fn forget_if_empty(&mut self, key: u128) {
        let empty = match &self.open {
            Some((k, h)) if *k == key => h.is_empty(),
            _ => self.patients.get(&key).is_some_and(|b| load(b).is_empty()),
        };
        if empty {
            if matches!(&self.open, Some((k, _)) if *k == key) {
                self.open = None;
            }
            self.patients.remove(&key);
            self.with_scored.remove(&key);
        }
    }

    /// Advances the partition's event clock.
    pub fn advance_clock(&mut self, at: u32) {
        self.clock = self.clock.max(at);
    }

    /// The partition's event clock.
    pub fn clock(&self) -> u32 {
        self.clock
    }

    /// Counts one handled message; true every `every` messages (time for a sweep).
    pub fn tick(&mut self, every: u64) -> bool {
        self.since_sweep += 1;
        if self.since_sweep >= every {
            self.since_sweep = 0;
            true
        } else {
            false
        }
    }

    /// Removes and returns the scored discharges whose 30-day window closed (on the partition's
    /// event clock) without a readmission: the negative outcomes live monitoring needs. Visits
    /// only the patients that hold scored discharges.
    pub fn sweep_closed_windows(&mut self) -> Vec<ScoredDischarge> {
        self.check_in();
        let clock = self.clock;
        let mut closed = Vec::new();
        let keys: Vec<u128> = self.with_scored.iter().copied().collect();
        for key in keys {
            let Some(blob) = self.patients.get(&key) else {
                self.with_scored.remove(&key);
                continue;
            };
            let mut history = load(blob);
            let before = history.scored.len();
            history.scored.retain(|s| {
                let open = clock.saturating_sub(s.discharged_at) <= READMISSION_WINDOW;
                if !open && s.readmitted_by == 0 && !s.retracted {
                    closed.push(*s);
                }
                open
            });
            if history.scored.len() != before {
                self.store(key, &history);
            }
        }
        closed
    }

    /// An estimate of the heap and table bytes the histories use (for the state-size gauge):
    /// table slots (key, boxed slice, control byte), the encoded histories, the sweep set.
    pub fn approx_bytes(&self) -> u64 {
        let slot = std::mem::size_of::<u128>() + std::mem::size_of::<Box<[u8]>>() + 1;
        let blobs: usize = self.patients.values().map(|b| b.len()).sum();
        let sweep = self.with_scored.capacity() * (std::mem::size_of::<u128>() + 1);
        (self.patients.capacity() * slot + blobs + sweep) as u64
    }

    /// Applies one changelog record during restore: a value replaces the patient's history, a
    /// tombstone removes it. The value is kept as it is (it is the stored encoding).
    pub fn restore(
        &mut self,
        canonical_key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), StateError> {
        let key = patient_hash(canonical_key);
        if matches!(&self.open, Some((k, _)) if *k == key) {
            self.open = None;
        }
        match value {
            Some(bytes) => {
                let history = decode(bytes)?;
                self.advance_clock(history.clock);
                if history.scored.is_empty() {
                    self.with_scored.remove(&key);
                } else {
                    self.with_scored.insert(key);
                }
                self.patients.insert(key, bytes.into());
            }
            None => {
                self.patients.remove(&key);
                self.with_scored.remove(&key);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_replaces_and_tombstones_remove() {
        let mut h = PatientHistory::default();
        h.apply(Change::Admit {
            visit: 3,
            class: EncounterClass::Emergency,
            at: 1_000,
        });
        let mut state = PartitionState::default();
        state.restore(b"HOSP|123", Some(&encode(&h))).unwrap();
        assert_eq!(state.patient(patient_hash(b"HOSP|123")), Some(&h));
        state.restore(b"HOSP|123", None).unwrap();
        assert!(state.is_empty());
    }

    fn admitted(visit: u64, at: u32) -> PatientHistory {
        let mut h = PatientHistory::default();
        h.apply(Change::Admit {
            visit,
            class: EncounterClass::Inpatient,
            at,
        });
        h
    }

    fn scored(visit: u64, discharged_at: u32) -> ScoredDischarge {
        ScoredDischarge {
            alert_id: u128::from(visit),
            visit,
            discharged_at,
            tier: 1,
            probability: 0.25,
            features_hash: 9,
            readmitted_by: 0,
            retracted: false,
        }
    }

    #[test]
    fn changes_survive_switching_between_patients() {
        let mut state = PartitionState::default();
        *state.patient_mut(1) = admitted(10, 1_000);
        state.patient_mut(2).remember(77);
        state.patient_mut(1).remember(55);
        assert_eq!(state.len(), 2);
        let one = state.patient(1).cloned().unwrap();
        assert_eq!(one.encounters.len(), 1);
        assert_eq!(one.recent, vec![55]);
        assert_eq!(state.patient(2).unwrap().recent, vec![77]);
        assert_eq!(state.patient(3), None);
        assert_eq!(state.len(), 2, "looking a patient up does not create it");
        let mut all: Vec<(u128, usize)> = state
            .iter()
            .map(|(k, h)| (k, h.encounters.len() + h.recent.len()))
            .collect();
        all.sort();
        assert_eq!(all, vec![(1, 2), (2, 1)]);
    }

    #[test]
    fn take_and_forget_work_on_the_open_and_on_stored_patients() {
        let mut state = PartitionState::default();
        *state.patient_mut(1) = admitted(10, 1_000);
        *state.patient_mut(2) = admitted(20, 2_000);
        // 2 is open, 1 is stored.
        assert_eq!(state.take(1).unwrap().encounters[0].visit, 10);
        assert_eq!(state.take(2).unwrap().encounters[0].visit, 20);
        assert!(state.is_empty());
        assert_eq!(state.take(2), None);
        state.patient_mut(3);
        state.patient_mut(4).remember(1);
        state.forget_if_empty(3);
        state.forget_if_empty(4);
        assert_eq!(state.len(), 1);
        assert_eq!(state.patient(4).unwrap().recent, vec![1]);
    }

    #[test]
    fn sweep_returns_closed_windows_of_stored_and_open_patients() {
        let mut state = PartitionState::default();
        state.patient_mut(1).record_score(scored(10, 1_000));
        state
            .patient_mut(2)
            .record_score(scored(20, 1_000 + READMISSION_WINDOW));
        state.patient_mut(3).record_score(scored(30, 1_000));
        state.patient_mut(4).remember(5);
        state.advance_clock(1_001 + READMISSION_WINDOW);
        let mut closed: Vec<u64> = state
            .sweep_closed_windows()
            .iter()
            .map(|s| s.visit)
            .collect();
        closed.sort();
        assert_eq!(closed, vec![10, 30]);
        assert!(state.patient(1).unwrap().scored.is_empty());
        assert_eq!(state.patient(2).unwrap().scored.len(), 1);
        assert!(state.sweep_closed_windows().is_empty());
        assert_eq!(state.with_scored.len(), 1);
    }

    #[test]
    fn restore_keeps_the_value_and_reads_back_the_same_history() {
        let mut h = admitted(3, 5_000);
        h.record_score(scored(3, 6_000));
        let mut state = PartitionState::default();
        state.restore(b"HOSP|9", Some(&encode(&h))).unwrap();
        assert_eq!(state.clock(), 5_000);
        assert_eq!(state.patient(patient_hash(b"HOSP|9")), Some(&h));
        assert_eq!(state.with_scored.len(), 1);
        assert!(state.restore(b"HOSP|9", Some(&[0xff; 3])).is_err());
        assert_eq!(state.patient(patient_hash(b"HOSP|9")), Some(&h));
    }

    #[test]
    fn decode_error_does_not_echo_bytes() {
        let err = decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("7 bytes"), "{text}");
        assert!(!text.contains("255"), "{text}");
    }

    #[test]
    fn hash_parts_separates_parts() {
        assert_ne!(hash_parts(&["ab", "c"]), hash_parts(&["a", "bc"]));
    }
}
