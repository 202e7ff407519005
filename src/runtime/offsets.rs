//! In-order acknowledgement tracking for one partition, in two phases per message.
//!
//! Each message has *primary* records (alerts, scores, dead letters: produced at once, many
//! messages concurrently) and *deferred* records (the changelog write of the processor's
//! state). Primaries finish out of order, as the broker acknowledges them. The tracker
//! enforces the runtime's ordering guarantee (see [`Processor`](super::Processor)):
//!
//! 1. the deferred records of message `k` are **released** (may be handed to the producer)
//!    only once the primaries of `k` *and of every earlier started message* are done, and
//!    only after the deferred records of every earlier message were released — so deferred
//!    records go out in offset order;
//! 2. a message is **final** once its deferred records are acknowledged too, and the offset
//!    to store is the end of the contiguous prefix of final messages: never past a message
//!    with any output still unacknowledged.
//!
//! Each message carries a payload `D` (the partition task keeps the input and its deferred
//! records there) that the tracker hands back when the message is released.
//!
//! Written by hand (a `VecDeque` with a release cursor, O(1) amortised per message) rather
//! than a `FuturesOrdered`, so completions are processed as they come and the rules are
//! unit-tested below.

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
    /// A transition was requested for an offset that is not tracked, or not in the phase
    /// the transition needs (primaries reported twice, finished before release or twice).
    #[error("offset {0} is not in flight in the expected phase")]
    NotInFlight(i64),
}

#[derive(Debug)]
struct Entry<D> {
    offset: i64,
    primaries_done: bool,
    /// `Some` until released.
    payload: Option<D>,
    finished: bool,
}

/// Tracks the messages of one partition from start to final and yields, in offset order, the
/// messages whose deferred records may go out, and the next offset that may be stored.
#[derive(Debug)]
pub struct OffsetTracker<D> {
    /// Started, not yet popped, ascending. Popped once final and at the front.
    entries: VecDeque<Entry<D>>,
    /// `entries[..released]` are released.
    released: usize,
    /// Started and not finished.
    unfinished: usize,
    last_started: Option<i64>,
    last_stored: Option<i64>,
}

impl<D> Default for OffsetTracker<D> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
            released: 0,
            unfinished: 0,
            last_started: None,
            last_stored: None,
        }
    }
}

impl<D> OffsetTracker<D> {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `offset` as started (its primaries in flight), with `payload` to hand back
    /// on release. Offsets must strictly increase (gaps are fine: compaction and transaction
    /// markers leave them).
    pub fn start(&mut self, offset: i64, payload: D) -> Result<(), OffsetError> {
        if let Some(last) = self.last_started {
            if offset <= last {
                return Err(OffsetError::NotIncreasing { offset, last });
            }
        }
        self.last_started = Some(offset);
        self.unfinished += 1;
        self.entries.push_back(Entry {
            offset,
            primaries_done: false,
            payload: Some(payload),
            finished: false,
        });
        Ok(())
    }

    fn index(&self, offset: i64) -> Result<usize, OffsetError> {
        self.entries
            .binary_search_by_key(&offset, |e| e.offset)
            .map_err(|_| OffsetError::NotInFlight(offset))
    }

    /// The payload of a started, not yet released message (to record what its primaries
    /// did, for example).
    pub fn payload_mut(&mut self, offset: i64) -> Option<&mut D> {
        let idx = self.index(offset).ok()?;
        self.entries[idx].payload.as_mut()
    }

    /// Marks the primaries of `offset` done (acknowledged, or the input dead-lettered).
    /// Returns the messages released by this, in offset order: every message whose
    /// primaries and whose predecessors' primaries are now all done. Each message is
    /// released exactly once; the caller hands its deferred records to the producer in the
    /// returned order and later calls [`finish`](Self::finish).
    pub fn primaries_done(&mut self, offset: i64) -> Result<Vec<(i64, D)>, OffsetError> {
        let idx = self.index(offset)?;
        let entry = &mut self.entries[idx];
        if entry.primaries_done {
            return Err(OffsetError::NotInFlight(offset));
        }
        entry.primaries_done = true;
        let mut out = Vec::new();
        while let Some(entry) = self.entries.get_mut(self.released) {
            if !entry.primaries_done {
                break;
            }
            if let Some(payload) = entry.payload.take() {
                out.push((entry.offset, payload));
            }
            self.released += 1;
        }
        Ok(out)
    }

    /// Marks a released message final (its deferred records acknowledged). Returns
    /// `Some(o)` when the contiguous final prefix grew: every started offset ≤ `o` is final,
    /// so the consumer may store `o` (librdkafka commits `o + 1`, the next to read).
    pub fn finish(&mut self, offset: i64) -> Result<Option<i64>, OffsetError> {
        let idx = self.index(offset)?;
        if idx >= self.released || self.entries[idx].finished {
            return Err(OffsetError::NotInFlight(offset));
        }
        self.entries[idx].finished = true;
        self.unfinished -= 1;
        let mut stored = None;
        while self.entries.front().is_some_and(|e| e.finished) {
            if let Some(e) = self.entries.pop_front() {
                stored = Some(e.offset);
            }
            self.released -= 1;
        }
        if stored.is_some() {
            self.last_stored = stored;
        }
        Ok(stored)
    }

    /// Messages started and not yet final (in flight in either phase).
    pub fn unfinished(&self) -> usize {
        self.unfinished
    }

    /// Number of started offsets not yet storable (unfinished, or final behind one that is
    /// not).
    pub fn pending(&self) -> usize {
        self.entries.len()
    }

    /// The last offset returned by [`finish`](Self::finish), if any.
    pub fn last_stored(&self) -> Option<i64> {
        self.last_stored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(released: Vec<(i64, &'static str)>) -> Vec<i64> {
        released.into_iter().map(|(o, _)| o).collect()
    }

    #[test]
    fn in_order_completion_releases_and_stores_each_offset() {
        let mut t = OffsetTracker::new();
        for o in 0..3 {
            t.start(o, "d").unwrap();
        }
        for o in 0..3 {
            assert_eq!(t.primaries_done(o).unwrap(), vec![(o, "d")]);
            assert_eq!(t.finish(o).unwrap(), Some(o));
        }
        assert_eq!(t.pending(), 0);
        assert_eq!(t.last_stored(), Some(2));
    }

    #[test]
    fn deferred_records_are_released_in_offset_order_only_after_all_earlier_primaries() {
        let mut t = OffsetTracker::new();
        for o in [10, 11, 12, 13, 14] {
            t.start(o, format!("state-after-{o}")).unwrap();
        }
        // later primaries acknowledged first: nothing may go out while 10 is unacknowledged
        assert!(t.primaries_done(12).unwrap().is_empty());
        assert!(t.primaries_done(11).unwrap().is_empty());
        assert!(t.primaries_done(14).unwrap().is_empty());
        assert_eq!(t.unfinished(), 5);
        // 10 acknowledged: 10, 11, 12 released in order; 13 blocks 14
        let released = t.primaries_done(10).unwrap();
        assert_eq!(
            released,
            vec![
                (10, "state-after-10".to_string()),
                (11, "state-after-11".to_string()),
                (12, "state-after-12".to_string()),
            ]
        );
        // 13 acknowledged: 13 and the waiting 14 go out, each exactly once
        let released: Vec<i64> = t
            .primaries_done(13)
            .unwrap()
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        assert_eq!(released, vec![13, 14]);
        assert!(t.payload_mut(13).is_none(), "payload handed out once");
        assert_eq!(t.unfinished(), 5, "released is not final");
    }

    #[test]
    fn offset_is_stored_only_after_deferred_records_are_acknowledged() {
        let mut t = OffsetTracker::new();
        for o in [0, 1, 2] {
            t.start(o, ()).unwrap();
        }
        assert_eq!(
            offsets_unit(t.primaries_done(1).unwrap()),
            Vec::<i64>::new()
        );
        assert_eq!(offsets_unit(t.primaries_done(0).unwrap()), vec![0, 1]);
        // deferred of 1 acknowledged before deferred of 0: nothing storable yet
        assert_eq!(t.finish(1).unwrap(), None);
        assert_eq!(t.pending(), 3);
        assert_eq!(t.unfinished(), 2);
        // 2 not released: finishing it is a bug
        assert_eq!(t.finish(2), Err(OffsetError::NotInFlight(2)));
        assert_eq!(t.finish(0).unwrap(), Some(1));
        assert_eq!(offsets_unit(t.primaries_done(2).unwrap()), vec![2]);
        assert_eq!(t.finish(2).unwrap(), Some(2));
        assert_eq!(t.pending(), 0);
    }

    fn offsets_unit(released: Vec<(i64, ())>) -> Vec<i64> {
        released.into_iter().map(|(o, _)| o).collect()
    }

    #[test]
    fn release_cursor_survives_pops_and_gaps() {
        let mut t = OffsetTracker::new();
        t.start(5, "a").unwrap();
        t.start(9, "b").unwrap();
        assert_eq!(offsets(t.primaries_done(5).unwrap()), vec![5]);
        assert_eq!(t.finish(5).unwrap(), Some(5));
        t.start(20, "c").unwrap();
        assert!(t.primaries_done(20).unwrap().is_empty());
        assert_eq!(offsets(t.primaries_done(9).unwrap()), vec![9, 20]);
        assert_eq!(t.finish(20).unwrap(), None);
        assert_eq!(t.finish(9).unwrap(), Some(20));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn payload_is_reachable_until_release() {
        let mut t = OffsetTracker::new();
        t.start(1, 0u32).unwrap();
        t.start(2, 0u32).unwrap();
        *t.payload_mut(2).unwrap() = 7;
        assert!(t.primaries_done(2).unwrap().is_empty());
        *t.payload_mut(1).unwrap() = 3;
        assert_eq!(t.primaries_done(1).unwrap(), vec![(1, 3), (2, 7)]);
        assert!(t.payload_mut(2).is_none());
    }

    #[test]
    fn misuse_is_reported() {
        let mut t = OffsetTracker::new();
        t.start(3, ()).unwrap();
        assert_eq!(
            t.start(3, ()),
            Err(OffsetError::NotIncreasing { offset: 3, last: 3 })
        );
        assert_eq!(t.primaries_done(4), Err(OffsetError::NotInFlight(4)));
        assert_eq!(t.finish(3), Err(OffsetError::NotInFlight(3)));
        t.primaries_done(3).unwrap();
        assert_eq!(t.primaries_done(3), Err(OffsetError::NotInFlight(3)));
        assert_eq!(t.finish(3).unwrap(), Some(3));
        assert_eq!(t.finish(3), Err(OffsetError::NotInFlight(3)));
    }
}
