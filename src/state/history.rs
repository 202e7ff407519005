//! One patient's visit history: the encounters that feed the prior-use features, the discharges
//! scored in the last 30 days (for outcomes, amended alerts and retractions), and the control IDs
//! of recent messages (so a repeated message changes nothing).
//!
//! Times are the sender's clock in whole minutes since 1970-01-01 (`u32`, enough until the year
//! 10,000), so an encounter takes 16 bytes. Windows are measured in event time, never wall-clock
//! time, so a replay after a restart computes exactly what the first run computed.

use serde::{Deserialize, Serialize};

/// Minutes in a day.
pub const DAY: u32 = 24 * 60;
/// The prior-year window of the dataset's `number_*` columns.
pub const WINDOW_12M: u32 = 365 * DAY;
/// LACE's "E": ED visits in the six months before admission.
pub const WINDOW_6M: u32 = 183 * DAY;
/// A readmission counts when the next inpatient admission starts within 30 days of discharge.
pub const READMISSION_WINDOW: u32 = 30 * DAY;
/// How many recent message IDs a patient remembers for de-duplication.
pub const RECENT_IDS: usize = 16;

/// What kind of visit an encounter is (HL7 table 0004, PV1-2, collapsed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncounterClass {
    /// `E`: emergency department.
    Emergency,
    /// `I`: inpatient stay.
    Inpatient,
    /// `O`: outpatient visit.
    Outpatient,
    /// Anything else (pre-admit, recurring, obstetrics, unknown): kept, never counted.
    Other,
}

impl EncounterClass {
    /// Reads PV1-2 (component 1).
    pub fn from_hl7(code: Option<&str>) -> Self {
        match code.map(str::trim) {
            Some("E") => Self::Emergency,
            Some("I") => Self::Inpatient,
            Some("O") => Self::Outpatient,
            _ => Self::Other,
        }
    }
}

/// One visit. `visit` is a 64-bit hash of the facility and visit number (never the number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encounter {
    /// Hash of (facility, PV1-19); 0 when the message had no visit number.
    pub visit: u64,
    /// Admission (or registration) time, minutes since the epoch.
    pub admitted_at: u32,
    /// Discharge time, minutes since the epoch; 0 while the encounter is open.
    pub discharged_at: u32,
    /// Visit class.
    pub class: EncounterClass,
}

impl Encounter {
    /// Whether the encounter has not been discharged.
    pub fn is_open(&self) -> bool {
        self.discharged_at == 0
    }
}

/// A discharge that was scored and may still see an outcome, an amendment or a retraction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoredDischarge {
    /// The alert ID all records about this discharge carry.
    pub alert_id: u128,
    /// Hash of (facility, visit number) of the index stay.
    pub visit: u64,
    /// Discharge time, minutes since the epoch.
    pub discharged_at: u32,
    /// Tier at discharge (as the model's tier index).
    pub tier: u8,
    /// Calibrated probability at the last (re)score.
    pub probability: f32,
    /// Hash of the feature vector last scored: an A08 re-scores only when it changes.
    pub features_hash: u64,
    /// Visit hash of the admission that counted as this discharge's readmission (0 = none
    /// yet), so the outcome is published once and an A11 of that admission can undo it.
    pub readmitted_by: u64,
    /// Set by an A13 (cancel discharge): the alert was retracted.
    pub retracted: bool,
}

/// Prior use counted from the history, relative to an index admission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PriorUse {
    /// ED visits in the 183 days before admission.
    pub emergency_6m: u32,
    /// ED visits in the 365 days before admission.
    pub emergency_12m: u32,
    /// Inpatient admissions in the 365 days before admission.
    pub inpatient_12m: u32,
    /// Outpatient visits in the 365 days before admission.
    pub outpatient_12m: u32,
}

/// A change to one patient's encounters, as the ADT trigger events describe them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A01 / A04 / A05 / A06 / A07: an encounter opens (or changes class).
    Admit {
        /// Visit hash.
        visit: u64,
        /// Visit class.
        class: EncounterClass,
        /// Admission time.
        at: u32,
    },
    /// A03: an encounter ends.
    Discharge {
        /// Visit hash.
        visit: u64,
        /// Visit class.
        class: EncounterClass,
        /// Admission time from PV1-44 when sent.
        admitted_at: Option<u32>,
        /// Discharge time.
        at: u32,
    },
    /// A08: fields of the encounter were corrected.
    Update {
        /// Visit hash.
        visit: u64,
        /// New class when sent.
        class: Option<EncounterClass>,
        /// New admission time when sent.
        admitted_at: Option<u32>,
        /// New discharge time when sent.
        discharged_at: Option<u32>,
    },
    /// A11: the admission never happened.
    CancelAdmit {
        /// Visit hash.
        visit: u64,
    },
    /// A13: the discharge never happened; the encounter is open again.
    CancelDischarge {
        /// Visit hash.
        visit: u64,
    },
}

/// One patient's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatientHistory {
    /// Encounters ordered by admission time.
    pub encounters: Vec<Encounter>,
    /// Scored discharges still inside their 30-day window (or awaiting amendment).
    pub scored: Vec<ScoredDischarge>,
    /// Hashes of the (sender, control ID) of the last [`RECENT_IDS`] messages, oldest first.
    pub recent: Vec<u64>,
    /// Latest event time seen, minutes since the epoch: the clock retention runs on.
    pub clock: u32,
    /// Offset (in the partition that holds this history) of the last input record applied to
    /// it. The changelog snapshot carries it, so after a restore a redelivered record at or
    /// below it is recognised as already applied, however many messages the patient had
    /// since — the ring of recent IDs only spans [`RECENT_IDS`] messages. The runtime writes
    /// a snapshot only after every output of the records up to it was acknowledged, so
    /// skipping such a record loses nothing.
    pub applied_through: Option<i64>,
}

impl PatientHistory {
    /// Whether nothing is left worth keeping (the changelog then writes a tombstone).
    pub fn is_empty(&self) -> bool {
        self.encounters.is_empty() && self.scored.is_empty() && self.recent.is_empty()
    }

    /// Whether the record at `offset` (of the partition holding this history) was applied
    /// already: a redelivery after a restart or a rebalance.
    pub fn has_applied(&self, offset: i64) -> bool {
        self.applied_through
            .is_some_and(|through| offset <= through)
    }

    /// Notes that the record at `offset` was applied.
    pub fn mark_applied(&mut self, offset: i64) {
        self.applied_through = Some(self.applied_through.map_or(offset, |t| t.max(offset)));
    }

    /// Records a message ID; returns `false` when it was seen before (a duplicate).
    pub fn remember(&mut self, message_id: u64) -> bool {
        if self.recent.contains(&message_id) {
            return false;
        }
        if self.recent.len() == RECENT_IDS {
            self.recent.remove(0);
        }
        self.recent.push(message_id);
        true
    }

    /// The encounter with this visit hash, or else the open (then the latest) one when the
    /// message carried no visit number.
    fn find(&self, visit: u64) -> Option<usize> {
        if visit != 0 {
            return self.encounters.iter().rposition(|e| e.visit == visit);
        }
        self.encounters
            .iter()
            .rposition(Encounter::is_open)
            .or_else(|| self.encounters.len().checked_sub(1))
    }

    fn insert_sorted(&mut self, encounter: Encounter) {
        let at = self
            .encounters
            .partition_point(|e| e.admitted_at <= encounter.admitted_at);
        self.encounters.insert(at, encounter);
    }

    fn advance_clock(&mut self, at: u32) {
        self.clock = self.clock.max(at);
    }

    /// Applies one change; returns the encounter it touched afterwards (None when it removed it
    /// or found nothing to change).
    pub fn apply(&mut self, change: Change) -> Option<Encounter> {
        match change {
            Change::Admit { visit, class, at } => {
                self.advance_clock(at);
                match self.find_exact(visit) {
                    Some(i) => {
                        let e = &mut self.encounters[i];
                        e.class = class;
                        let e = *e;
                        if e.admitted_at != at && at != 0 {
                            self.encounters.remove(i);
                            self.insert_sorted(Encounter {
                                admitted_at: at,
                                ..e
                            });
                        }
                    }
                    None => self.insert_sorted(Encounter {
                        visit,
                        admitted_at: at,
                        discharged_at: 0,
                        class,
                    }),
                }
                self.find_exact(visit).map(|i| self.encounters[i])
            }
            Change::Discharge {
                visit,
                class,
                admitted_at,
                at,
            } => {
                self.advance_clock(at);
                let index = match self.find(visit) {
                    Some(i) if visit == 0 || self.encounters[i].visit == visit => i,
                    _ => {
                        // A discharge for a visit we never saw open: keep it (the admit may have
                        // preceded our retention, or arrived before the stream started).
                        self.insert_sorted(Encounter {
                            visit,
                            admitted_at: admitted_at.unwrap_or(at),
                            discharged_at: at,
                            class,
                        });
                        return self.find_exact(visit).map(|i| self.encounters[i]);
                    }
                };
                let mut e = self.encounters.remove(index);
                e.discharged_at = at.max(1);
                e.class = class;
                if let Some(admitted) = admitted_at {
                    e.admitted_at = admitted;
                }
                self.insert_sorted(e);
                Some(e)
            }
            Change::Update {
                visit,
                class,
                admitted_at,
                discharged_at,
            } => {
                let index = self.find(visit)?;
                let mut e = self.encounters.remove(index);
                if let Some(class) = class {
                    e.class = class;
                }
                if let Some(admitted) = admitted_at {
                    e.admitted_at = admitted;
                    self.advance_clock(admitted);
                }
                if let Some(discharged) = discharged_at {
                    e.discharged_at = discharged.max(1);
                    self.advance_clock(discharged);
                }
                self.insert_sorted(e);
                Some(e)
            }
            Change::CancelAdmit { visit } => {
                let index = self.find(visit)?;
                self.encounters.remove(index);
                None
            }
            Change::CancelDischarge { visit } => {
                let index = self.find(visit)?;
                let e = &mut self.encounters[index];
                e.discharged_at = 0;
                Some(*e)
            }
        }
    }

    fn find_exact(&self, visit: u64) -> Option<usize> {
        if visit == 0 {
            return self.find(0).filter(|&i| self.encounters[i].is_open());
        }
        self.encounters.iter().rposition(|e| e.visit == visit)
    }

    /// Counts prior use in the windows before `admitted_at`, excluding the index visit itself.
    pub fn prior_use(&self, admitted_at: u32, index_visit: u64) -> PriorUse {
        let mut out = PriorUse::default();
        for e in &self.encounters {
            if e.admitted_at >= admitted_at || (index_visit != 0 && e.visit == index_visit) {
                continue;
            }
            let age = admitted_at - e.admitted_at;
            if age > WINDOW_12M {
                continue;
            }
            match e.class {
                EncounterClass::Emergency => {
                    out.emergency_12m += 1;
                    if age <= WINDOW_6M {
                        out.emergency_6m += 1;
                    }
                }
                EncounterClass::Inpatient => out.inpatient_12m += 1,
                EncounterClass::Outpatient => out.outpatient_12m += 1,
                EncounterClass::Other => {}
            }
        }
        out
    }

    /// Scored discharges that an inpatient admission at `admitted_at` readmits (within 30 days
    /// after their discharge, not yet counted, not retracted); marks them counted.
    pub fn readmissions(&mut self, admitted_at: u32, visit: u64) -> Vec<ScoredDischarge> {
        let mut out = Vec::new();
        for s in &mut self.scored {
            if s.readmitted_by != 0 || s.retracted || s.visit == visit {
                continue;
            }
            if admitted_at >= s.discharged_at && admitted_at - s.discharged_at <= READMISSION_WINDOW
            {
                s.readmitted_by = visit.max(1);
                out.push(*s);
            }
        }
        out
    }

    /// Undoes the readmissions an admission created (A11 cancels it); returns the discharges
    /// whose outcome must be withdrawn.
    pub fn cancel_readmissions(&mut self, visit: u64) -> Vec<ScoredDischarge> {
        let mut out = Vec::new();
        for s in &mut self.scored {
            if s.readmitted_by != 0 && s.readmitted_by == visit.max(1) {
                s.readmitted_by = 0;
                out.push(*s);
            }
        }
        out
    }

    /// The scored discharge of this visit, if any.
    pub fn scored_mut(&mut self, visit: u64) -> Option<&mut ScoredDischarge> {
        self.scored.iter_mut().rev().find(|s| s.visit == visit)
    }

    /// The scored discharge of `visit`, if any (the one [`scored_mut`](Self::scored_mut)
    /// finds).
    pub fn scored_for(&self, visit: u64) -> Option<&ScoredDischarge> {
        self.scored.iter().rev().find(|s| s.visit == visit)
    }

    /// Records a (re)scored discharge.
    pub fn record_score(&mut self, scored: ScoredDischarge) {
        match self.scored_mut(scored.visit) {
            Some(existing) => *existing = scored,
            None => self.scored.push(scored),
        }
    }

    /// Moves another patient's history into this one (A40 merge): encounters are unioned by
    /// visit, scored discharges and message IDs are kept.
    pub fn absorb(&mut self, other: PatientHistory) {
        for e in other.encounters {
            if e.visit == 0 || !self.encounters.iter().any(|x| x.visit == e.visit) {
                self.insert_sorted(e);
            }
        }
        for s in other.scored {
            if !self.scored.iter().any(|x| x.alert_id == s.alert_id) {
                self.scored.push(s);
            }
        }
        for id in other.recent {
            self.remember(id);
        }
        self.advance_clock(other.clock);
    }

    /// Drops what no window can need any more, measured on the patient's own event clock:
    /// encounters admitted more than a year (plus the readmission window) before the latest
    /// event, and scored discharges whose 30-day window has closed.
    ///
    /// Returns the scored discharges whose window closed without a readmission (not
    /// retracted): negative outcomes for live model monitoring.
    pub fn prune(&mut self) -> Vec<ScoredDischarge> {
        let clock = self.clock;
        let keep_from = clock.saturating_sub(WINDOW_12M + READMISSION_WINDOW);
        // Open encounters go too: an ED registration (A04) is often never closed by an A03.
        self.encounters.retain(|e| e.admitted_at >= keep_from);
        let mut closed = Vec::new();
        self.scored.retain(|s| {
            let open = clock.saturating_sub(s.discharged_at) <= READMISSION_WINDOW;
            if !open && s.readmitted_by == 0 && !s.retracted {
                closed.push(*s);
            }
            open
        });
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u32 = 28_000_000;

    fn admit(visit: u64, class: EncounterClass, at: u32) -> Change {
        Change::Admit { visit, class, at }
    }

    fn discharge(visit: u64, at: u32) -> Change {
        Change::Discharge {
            visit,
            class: EncounterClass::Inpatient,
            admitted_at: None,
            at,
        }
    }

    #[test]
    fn counts_prior_use_in_windows_and_excludes_the_index_visit() {
        let mut h = PatientHistory::default();
        h.apply(admit(1, EncounterClass::Emergency, T0 - 200 * DAY)); // 12m only
        h.apply(admit(2, EncounterClass::Emergency, T0 - 10 * DAY)); // 6m and 12m
        h.apply(admit(3, EncounterClass::Inpatient, T0 - 100 * DAY));
        h.apply(discharge(3, T0 - 95 * DAY));
        h.apply(admit(4, EncounterClass::Outpatient, T0 - 400 * DAY)); // too old
        h.apply(admit(5, EncounterClass::Outpatient, T0 - 300 * DAY));
        h.apply(admit(9, EncounterClass::Inpatient, T0)); // the index stay
        let prior = h.prior_use(T0, 9);
        assert_eq!(
            prior,
            PriorUse {
                emergency_6m: 1,
                emergency_12m: 2,
                inpatient_12m: 1,
                outpatient_12m: 1
            }
        );
    }

    #[test]
    fn cancel_admit_removes_and_cancel_discharge_reopens() {
        let mut h = PatientHistory::default();
        h.apply(admit(7, EncounterClass::Inpatient, T0));
        let e = h.apply(discharge(7, T0 + 3 * DAY)).unwrap();
        assert_eq!(e.discharged_at, T0 + 3 * DAY);
        let e = h.apply(Change::CancelDischarge { visit: 7 }).unwrap();
        assert!(e.is_open());
        assert_eq!(h.apply(Change::CancelAdmit { visit: 7 }), None);
        assert!(h.encounters.is_empty());
    }

    #[test]
    fn duplicate_message_ids_are_recognised_and_the_ring_is_bounded() {
        let mut h = PatientHistory::default();
        assert!(h.remember(42));
        assert!(!h.remember(42));
        for id in 0..RECENT_IDS as u64 * 2 {
            h.remember(1000 + id);
        }
        assert_eq!(h.recent.len(), RECENT_IDS);
        assert!(h.remember(42), "old IDs fall out of the ring");
    }

    #[test]
    fn readmission_within_30_days_is_reported_once() {
        let mut h = PatientHistory::default();
        h.record_score(ScoredDischarge {
            alert_id: 77,
            visit: 1,
            discharged_at: T0,
            tier: 2,
            probability: 0.3,
            features_hash: 5,
            readmitted_by: 0,
            retracted: false,
        });
        assert!(h.readmissions(T0 + 31 * DAY, 2).is_empty());
        let r = h.readmissions(T0 + 12 * DAY, 2);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].alert_id, 77);
        assert!(h.readmissions(T0 + 13 * DAY, 3).is_empty());
        // Cancelling the readmitting admission withdraws the outcome; another admission may
        // then count.
        assert!(h.cancel_readmissions(3).is_empty());
        assert_eq!(h.cancel_readmissions(2).len(), 1);
        assert_eq!(h.readmissions(T0 + 14 * DAY, 4).len(), 1);
    }

    #[test]
    fn merge_unions_encounters_without_duplicates() {
        let mut a = PatientHistory::default();
        a.apply(admit(1, EncounterClass::Emergency, T0 - 5 * DAY));
        let mut b = PatientHistory::default();
        b.apply(admit(1, EncounterClass::Emergency, T0 - 5 * DAY));
        b.apply(admit(2, EncounterClass::Inpatient, T0 - 50 * DAY));
        a.absorb(b);
        assert_eq!(a.encounters.len(), 2);
        assert_eq!(a.encounters[0].visit, 2, "ordered by admission time");
    }

    #[test]
    fn prune_drops_only_what_no_window_needs() {
        let mut h = PatientHistory::default();
        h.apply(admit(1, EncounterClass::Emergency, T0 - 500 * DAY));
        h.apply(admit(2, EncounterClass::Emergency, T0 - 300 * DAY));
        h.apply(admit(3, EncounterClass::Inpatient, T0));
        h.prune();
        let visits: Vec<u64> = h.encounters.iter().map(|e| e.visit).collect();
        assert_eq!(visits, vec![2, 3]);
    }

    #[test]
    fn changelog_encoding_round_trips() {
        let mut h = PatientHistory::default();
        h.apply(admit(1, EncounterClass::Emergency, T0 - 5 * DAY));
        h.remember(99);
        let bytes = postcard::to_allocvec(&h).unwrap();
        let back: PatientHistory = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, h);
    }
}
