//! Cross-partition A40 merges: the internal records that move a retired patient's history to
//! the surviving patient when the two live on different partitions.
//!
//! An A40 arrives keyed by the surviving patient, on the survivor's partition `P`. When the
//! retired patient (MRG-1) is not in `P`'s state, its history is on some other partition `Q`
//! of the same topic — which one depends on the upstream producer's key and partitioner, which
//! readmit does not know. So the survivor's owner publishes a [`MergeOut`] request to **every
//! other partition** of the topic it consumes (A40s are rare; this costs `partitions − 1` tiny
//! records and never misses the owner, whatever the upstream partitioner). Each owner looks
//! the retired patient up; the one that has it replies with a [`MergeIn`] carrying the history,
//! produced to partition `P` keyed by the survivor, and deletes its copy (a changelog tombstone,
//! written only after the `MergeIn` is acknowledged). The others complete the request as
//! `ignored`. `P`'s owner absorbs the history into the survivor's.
//!
//! Delivery is at-least-once at every hop and every hop is idempotent: a redelivered request
//! finds the history already gone (or hands it over again); a repeated `MergeIn` is recognised
//! by its merge ID in the survivor's de-duplication ring, and absorbing unions encounters by
//! visit and scored discharges by alert ID anyway.
//!
//! Records are marked with the [`INTERNAL_HEADER`] header (`merge-out` / `merge-in`) and
//! carry a versioned postcard payload. They contain patient keys (PHI) like the input does;
//! `Debug` redacts them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::runtime::{InboundMessage, OutboundRecord};
use crate::state::{self, PatientHistory};

/// Header naming the kind of an internal record on the consumed topic.
pub const INTERNAL_HEADER: &str = "readmit.internal";
/// [`INTERNAL_HEADER`] value of a merge request.
pub const MERGE_OUT: &str = "merge-out";
/// [`INTERNAL_HEADER`] value of a history hand-over.
pub const MERGE_IN: &str = "merge-in";
/// Version of the internal record payloads.
pub const MERGE_RECORD_VERSION: u8 = 1;

/// The kind of internal record an input is, from its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Internal {
    /// A [`MergeOut`] request.
    MergeOut,
    /// A [`MergeIn`] hand-over.
    MergeIn,
    /// Marked internal, but of a kind this build does not know.
    Unknown,
}

/// Whether `msg` is an internal record, and which.
pub fn internal_kind(msg: &InboundMessage) -> Option<Internal> {
    let (_, value) = msg.headers.iter().find(|(k, _)| k == INTERNAL_HEADER)?;
    Some(match value.as_deref() {
        Some(v) if v == MERGE_OUT.as_bytes() => Internal::MergeOut,
        Some(v) if v == MERGE_IN.as_bytes() => Internal::MergeIn,
        _ => Internal::Unknown,
    })
}

/// "Whoever holds `retired`, hand its history to `survivor` on `survivor_partition`."
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeOut {
    /// [`MERGE_RECORD_VERSION`].
    pub version: u8,
    /// Identity of the merge (same for a redelivered A40).
    pub merge_id: u64,
    /// Canonical key of the retired patient.
    pub retired: String,
    /// Canonical key of the surviving patient.
    pub survivor: String,
    /// Partition of the consumed topic that owns the survivor.
    pub survivor_partition: i32,
}

/// The retired patient's history, on its way to the survivor's partition.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeIn {
    /// [`MERGE_RECORD_VERSION`].
    pub version: u8,
    /// Identity of the merge.
    pub merge_id: u64,
    /// Canonical key of the retired patient.
    pub retired: String,
    /// Canonical key of the surviving patient.
    pub survivor: String,
    /// The retired patient's whole history.
    pub history: PatientHistory,
}

impl fmt::Debug for MergeOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MergeOut")
            .field("merge_id", &self.merge_id)
            .field("survivor_partition", &self.survivor_partition)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MergeIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MergeIn")
            .field("merge_id", &self.merge_id)
            .field("encounters", &self.history.encounters.len())
            .finish_non_exhaustive()
    }
}

/// The identity of a merge: survivor, retired patient and the A40 that asked for it
/// (its sender-scoped control ID, or its input position when it has none).
pub fn merge_id(survivor: &str, retired: &str, a40: &str) -> u64 {
    state::hash_parts(&["A40", survivor, retired, a40])
}

/// The ID a [`MergeIn`] is remembered under in the survivor's de-duplication ring.
pub fn merge_in_id(merge_id: u64) -> u64 {
    state::hash_parts(&["merge-in", &merge_id.to_string()])
}

/// Why an internal record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// The payload does not decode (structural reason only).
    #[error("internal {kind} record does not decode: {reason}")]
    Decode {
        /// `merge-out` or `merge-in`.
        kind: &'static str,
        /// Decoder's reason.
        reason: String,
    },
    /// Written by a build with another record version.
    #[error("internal {kind} record has version {found}, this build reads {MERGE_RECORD_VERSION}")]
    Version {
        /// `merge-out` or `merge-in`.
        kind: &'static str,
        /// Version found.
        found: u8,
    },
}

impl MergeOut {
    /// The request to every partition of `topic` except `survivor_partition`, keyed by the
    /// retired patient.
    pub fn records(&self, topic: &std::sync::Arc<str>, partitions: i32) -> Vec<OutboundRecord> {
        let payload = postcard::to_allocvec(self).unwrap_or_default();
        (0..partitions)
            .filter(|&p| p != self.survivor_partition)
            .map(|p| {
                OutboundRecord::new(
                    topic.clone(),
                    Some(self.retired.as_bytes().to_vec()),
                    Some(payload.clone()),
                )
                .with_partition(p)
                .with_header(INTERNAL_HEADER, MERGE_OUT)
            })
            .collect()
    }

    /// Reads a request.
    pub fn decode(bytes: &[u8]) -> Result<Self, MergeError> {
        let out: Self = postcard::from_bytes(bytes).map_err(|e| MergeError::Decode {
            kind: MERGE_OUT,
            reason: e.to_string(),
        })?;
        if out.version != MERGE_RECORD_VERSION {
            return Err(MergeError::Version {
                kind: MERGE_OUT,
                found: out.version,
            });
        }
        Ok(out)
    }
}

impl MergeIn {
    /// The hand-over to `topic` / `partition`, keyed by the survivor.
    pub fn record(&self, topic: &std::sync::Arc<str>, partition: i32) -> OutboundRecord {
        OutboundRecord::new(
            topic.clone(),
            Some(self.survivor.as_bytes().to_vec()),
            Some(postcard::to_allocvec(self).unwrap_or_default()),
        )
        .with_partition(partition)
        .with_header(INTERNAL_HEADER, MERGE_IN)
    }

    /// Reads a hand-over.
    pub fn decode(bytes: &[u8]) -> Result<Self, MergeError> {
        let inn: Self = postcard::from_bytes(bytes).map_err(|e| MergeError::Decode {
            kind: MERGE_IN,
            reason: e.to_string(),
        })?;
        if inn.version != MERGE_RECORD_VERSION {
            return Err(MergeError::Version {
                kind: MERGE_IN,
                found: inn.version,
            });
        }
        Ok(inn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_debug_hides_patient_keys() {
        let out = MergeOut {
            version: MERGE_RECORD_VERSION,
            merge_id: 7,
            retired: "HOSP|OLD123".into(),
            survivor: "HOSP|NEW456".into(),
            survivor_partition: 1,
        };
        let topic: std::sync::Arc<str> = "adt".into();
        let records = out.records(&topic, 4);
        assert_eq!(
            records.iter().map(|r| r.partition).collect::<Vec<_>>(),
            [Some(0), Some(2), Some(3)]
        );
        assert_eq!(records[0].key.as_deref(), Some(b"HOSP|OLD123".as_slice()));
        let back = MergeOut::decode(records[2].payload.as_deref().unwrap()).unwrap();
        assert_eq!(back, out);
        let inn = MergeIn {
            version: MERGE_RECORD_VERSION,
            merge_id: 7,
            retired: out.retired.clone(),
            survivor: out.survivor.clone(),
            history: PatientHistory::default(),
        };
        let r = inn.record(&topic, 1);
        assert_eq!(r.partition, Some(1));
        assert_eq!(MergeIn::decode(r.payload.as_deref().unwrap()).unwrap(), inn);
        for text in [format!("{out:?}"), format!("{inn:?}")] {
            assert!(
                !text.contains("OLD123") && !text.contains("NEW456"),
                "{text}"
            );
        }
        assert!(matches!(
            MergeOut::decode(b"\x02garbage"),
            Err(MergeError::Version { found: 2, .. }) | Err(MergeError::Decode { .. })
        ));
    }

    #[test]
    fn internal_kind_comes_from_the_header() {
        let mut msg = InboundMessage {
            topic: "t".into(),
            partition: 0,
            offset: 0,
            key: None,
            payload: None,
            timestamp_ms: None,
            headers: Vec::new(),
        };
        assert_eq!(internal_kind(&msg), None);
        msg.headers
            .push((INTERNAL_HEADER.into(), Some(MERGE_IN.as_bytes().to_vec())));
        assert_eq!(internal_kind(&msg), Some(Internal::MergeIn));
        msg.headers[0].1 = Some(b"other".to_vec());
        assert_eq!(internal_kind(&msg), Some(Internal::Unknown));
    }
}
