//! Per-patient visit history, partitioned like the input, and its changelog encoding.
//!
//! Each assigned input partition owns one [`PartitionState`]: a map from a 128-bit hash of the
//! patient key to that patient's [`PatientHistory`]. Every change to a patient's history is also
//! written to a compacted changelog topic (key = the canonical patient key, value =
//! [`encode`]d history, or a tombstone when nothing is left), to the same partition number as
//! the input, so a new owner of the partition rebuilds exactly this map with [`decode`].

mod history;

use std::collections::HashMap;

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
#[derive(Debug, Default)]
pub struct PartitionState {
    patients: HashMap<u128, PatientHistory>,
    /// Latest event time seen on the partition (minutes since the epoch).
    clock: u32,
    /// Messages handled since the last housekeeping sweep.
    since_sweep: u64,
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

    /// A patient's history, created empty on first use.
    pub fn patient_mut(&mut self, key: u128) -> &mut PatientHistory {
        self.patients.entry(key).or_default()
    }

    /// A patient's history, if held.
    pub fn patient(&self, key: u128) -> Option<&PatientHistory> {
        self.patients.get(&key)
    }

    /// Every held patient: the state-map key and the history (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (u128, &PatientHistory)> + '_ {
        self.patients.iter().map(|(k, h)| (*k, h))
    }

    /// Takes a patient's history out (A40: the retired patient's history moves to the survivor).
    pub fn take(&mut self, key: u128) -> Option<PatientHistory> {
        self.patients.remove(&key)
    }

    /// Drops a patient whose history became empty.
    pub fn forget_if_empty(&mut self, key: u128) {
        if self
            .patients
            .get(&key)
            .is_some_and(PatientHistory::is_empty)
        {
            self.patients.remove(&key);
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
    /// event clock) without a readmission: the negative outcomes live monitoring needs.
    pub fn sweep_closed_windows(&mut self) -> Vec<ScoredDischarge> {
        let clock = self.clock;
        let mut closed = Vec::new();
        for history in self.patients.values_mut() {
            history.scored.retain(|s| {
                let open = clock.saturating_sub(s.discharged_at) <= READMISSION_WINDOW;
                if !open && s.readmitted_by == 0 && !s.retracted {
                    closed.push(*s);
                }
                open
            });
        }
        closed
    }

    /// An estimate of the heap and table bytes the histories use (for the state-size gauge).
    pub fn approx_bytes(&self) -> u64 {
        let entry = std::mem::size_of::<u128>() + std::mem::size_of::<PatientHistory>() + 8;
        let heap: usize = self
            .patients
            .values()
            .map(|h| {
                h.encounters.capacity() * std::mem::size_of::<Encounter>()
                    + h.scored.capacity() * std::mem::size_of::<ScoredDischarge>()
                    + h.recent.capacity() * std::mem::size_of::<u64>()
            })
            .sum();
        (self.patients.capacity() * entry + heap) as u64
    }

    /// Applies one changelog record during restore: a value replaces the patient's history, a
    /// tombstone removes it.
    pub fn restore(
        &mut self,
        canonical_key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), StateError> {
        let key = patient_hash(canonical_key);
        match value {
            Some(bytes) => {
                let history = decode(bytes)?;
                self.advance_clock(history.clock);
                self.patients.insert(key, history);
            }
            None => {
                self.patients.remove(&key);
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
