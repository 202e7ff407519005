//! In-order acknowledgement tracking for one partition.
//!
//! Messages of a partition finish out of order (their outputs are acknowledged by the broker
//! at different times), but the offset we store for commit must never pass a message that is
//! still in flight. [`OffsetTracker`] records offsets as they start and returns, on each
//! completion, the highest offset below which everything is complete: the offset to store.
//!
//! Written by hand (a `VecDeque` of flags, O(1) amortised) rather than a `FuturesOrdered`
//! so the partition task can process completions as they come and the rule is unit-tested.

use std::collections::VecDeque;

/// Errors from misuse of the tracker (a bug in the caller, reported rather than panicking).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffsetError {
    /// Offsets must be started in strictly increasing order.
    #[error("offset {offset} started after offset {last}; offsets must increase")]
    NotIncreasing {
        /// The offending offset.
        offset: i64,
        /// The last started offset.
        last: i64,
    },
    /// `complete` was called for an offset that is not in flight.
    #[error("offset {0} completed but was not in flight")]
    NotInFlight(i64),
}

/// Tracks in-flight offsets of one partition and yields the next offset that may be stored.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    /// In-flight and completed-but-blocked offsets, ascending; `true` = complete.
    entries: VecDeque<(i64, bool)>,
    last_started: Option<i64>,
    last_released: Option<i64>,
}

impl OffsetTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `offset` as in flight. Offsets must strictly increase (gaps are fine:
    /// compaction and transaction markers leave them).
    pub fn start(&mut self, offset: i64) -> Result<(), OffsetError> {
        if let Some(last) = self.last_started {
            if offset <= last {
                return Err(OffsetError::NotIncreasing { offset, last });
            }
        }
        self.last_started = Some(offset);
        self.entries.push_back((offset, false));
        Ok(())
    }

    /// Marks `offset` complete. Returns `Some(o)` when the contiguous completed prefix grew:
    /// `o` is the last offset of that prefix (every started offset ≤ `o` is complete), so
    /// the consumer may store `o` (librdkafka commits `o + 1`, the next to read).
    pub fn complete(&mut self, offset: i64) -> Result<Option<i64>, OffsetError> {
        let idx = self
            .entries
            .binary_search_by_key(&offset, |(o, _)| *o)
            .map_err(|_| OffsetError::NotInFlight(offset))?;
        let entry = &mut self.entries[idx];
        if entry.1 {
            return Err(OffsetError::NotInFlight(offset));
        }
        entry.1 = true;
        let mut released = None;
        while let Some(&(o, true)) = self.entries.front() {
            released = Some(o);
            self.entries.pop_front();
        }
        if released.is_some() {
            self.last_released = released;
        }
        Ok(released)
    }

    /// Number of started offsets not yet released (in flight, or complete behind one that is).
    pub fn pending(&self) -> usize {
        self.entries.len()
    }

    /// The last offset released by [`complete`](Self::complete), if any.
    pub fn last_released(&self) -> Option<i64> {
        self.last_released
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_completion_releases_each_offset() {
        let mut t = OffsetTracker::new();
        for o in 0..3 {
            t.start(o).unwrap();
        }
        assert_eq!(t.complete(0).unwrap(), Some(0));
        assert_eq!(t.complete(1).unwrap(), Some(1));
        assert_eq!(t.complete(2).unwrap(), Some(2));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn out_of_order_completion_waits_for_the_gap() {
        let mut t = OffsetTracker::new();
        for o in [10, 11, 12, 13] {
            t.start(o).unwrap();
        }
        assert_eq!(t.complete(12).unwrap(), None);
        assert_eq!(t.complete(11).unwrap(), None);
        assert_eq!(t.pending(), 4);
        assert_eq!(t.complete(10).unwrap(), Some(12));
        assert_eq!(t.last_released(), Some(12));
        assert_eq!(t.pending(), 1);
        assert_eq!(t.complete(13).unwrap(), Some(13));
    }

    #[test]
    fn offsets_with_gaps_are_fine() {
        let mut t = OffsetTracker::new();
        t.start(5).unwrap();
        t.start(9).unwrap();
        assert_eq!(t.complete(9).unwrap(), None);
        assert_eq!(t.complete(5).unwrap(), Some(9));
    }

    #[test]
    fn misuse_is_reported() {
        let mut t = OffsetTracker::new();
        t.start(3).unwrap();
        assert_eq!(
            t.start(3),
            Err(OffsetError::NotIncreasing { offset: 3, last: 3 })
        );
        assert_eq!(t.complete(4), Err(OffsetError::NotInFlight(4)));
        t.start(4).unwrap();
        assert_eq!(t.complete(4).unwrap(), None);
        assert_eq!(t.complete(4), Err(OffsetError::NotInFlight(4)));
        assert_eq!(t.complete(3).unwrap(), Some(4));
        assert_eq!(t.complete(3), Err(OffsetError::NotInFlight(3)));
    }
}
