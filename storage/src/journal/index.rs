//! The in-memory journal index the replica consults: which header each slot holds, and
//! whether the slot's prepare on disk matches it.
//!
//! * `dirty`: the slot's header is known but its prepare is not (yet) on disk as that
//!   header says — a local write is in flight, or the prepare must be repaired.
//! * `faulty` (⊆ dirty): the prepare may have been acknowledged before it was lost or
//!   damaged. A faulty op is repaired from peers and is **never nacked** in a view change:
//!   denying it could let the cluster discard a committed op.
//!
//! A faulty slot may have no header at all (both its redundant header and its prepare
//! were unreadable): it is faulty for whichever op of the live window maps to it.

use vireo_protocol::vsr::Header;

use super::slot::SlotDecision;

/// The in-memory journal index. Invariants in [`Journal::check_invariants`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    slot_count: u64,
    headers: Vec<Option<Header>>,
    dirty: Vec<bool>,
    faulty: Vec<bool>,
}

impl Journal {
    /// An empty journal (a freshly formatted replica).
    #[must_use]
    pub fn new(slot_count: u64) -> Self {
        let slots = usize::try_from(slot_count).expect("slot count fits usize");
        assert!(slots >= 4);
        Self {
            slot_count,
            headers: vec![None; slots],
            dirty: vec![false; slots],
            faulty: vec![false; slots],
        }
    }

    /// Builds the index from recovery decisions, given the op of the durable checkpoint
    /// (ops ≤ it are applied and no longer needed). Returns the journal and its head op
    /// (the highest op with a known header, or `checkpoint_op`).
    ///
    /// A faulty slot with an unknown header counts only if its op in the live window is
    /// at or below the head: beyond the head, it is a torn write at the tail that was
    /// never acknowledged (both its writes were in flight).
    #[must_use]
    pub fn recover(decisions: &[SlotDecision], checkpoint_op: u64) -> (Self, u64) {
        let slot_count = decisions.len() as u64;
        let mut journal = Self::new(slot_count);
        let in_window = |op: u64| op > checkpoint_op && op <= checkpoint_op + slot_count;
        let head = decisions
            .iter()
            .filter_map(SlotDecision::header)
            .map(|header| header.op)
            .filter(|&op| in_window(op))
            .max()
            .unwrap_or(checkpoint_op);
        for (slot, decision) in decisions.iter().enumerate() {
            let Some(header) = decision.header() else { continue };
            assert_eq!(header.op % slot_count, slot as u64, "slot decisions are slot-checked");
            if in_window(header.op) {
                journal.headers[slot] = Some(*header);
                if let SlotDecision::Faulty(_) = decision {
                    journal.dirty[slot] = true;
                    journal.faulty[slot] = true;
                }
            } else if header.op <= checkpoint_op
                && header.op + slot_count > head
                && !matches!(decision, SlotDecision::Faulty(_))
            {
                // Applied already, but still in the ring: kept so peers that lag can
                // repair from it.
                journal.headers[slot] = Some(*header);
            }
        }
        for (slot, decision) in decisions.iter().enumerate() {
            if *decision == SlotDecision::Faulty(None) {
                let op = journal.window_op(slot, checkpoint_op);
                if op <= head {
                    journal.dirty[slot] = true;
                    journal.faulty[slot] = true;
                }
            }
        }
        journal.check_invariants();
        (journal, head)
    }

    /// The op in `(checkpoint_op, checkpoint_op + slot_count]` that maps to `slot`.
    fn window_op(&self, slot: usize, checkpoint_op: u64) -> u64 {
        let first = checkpoint_op + 1;
        let offset = (slot as u64 + self.slot_count - first % self.slot_count) % self.slot_count;
        first + offset
    }

    /// Number of slots.
    #[must_use]
    pub fn slot_count(&self) -> u64 {
        self.slot_count
    }

    /// The slot of `op`.
    #[must_use]
    pub fn slot(&self, op: u64) -> usize {
        usize::try_from(op % self.slot_count).expect("slot fits usize")
    }

    /// The header held for exactly `op`, if any.
    #[must_use]
    pub fn header(&self, op: u64) -> Option<&Header> {
        self.headers[self.slot(op)].as_ref().filter(|header| header.op == op)
    }

    /// The header in `op`'s slot, whatever its op.
    #[must_use]
    pub fn slot_header(&self, op: u64) -> Option<&Header> {
        self.headers[self.slot(op)].as_ref()
    }

    /// True if the prepare with this op and checksum is intact on disk.
    #[must_use]
    pub fn has_prepare(&self, op: u64, checksum: u128) -> bool {
        let slot = self.slot(op);
        !self.dirty[slot] && self.header(op).is_some_and(|header| header.checksum == checksum)
    }

    /// True if `op`'s slot is dirty for `op` (header known or unknown, prepare missing).
    #[must_use]
    pub fn dirty(&self, op: u64) -> bool {
        let slot = self.slot(op);
        self.dirty[slot] && self.headers[slot].is_none_or(|header| header.op == op)
    }

    /// True if `op` may have been acknowledged but its prepare is lost: never nack it.
    #[must_use]
    pub fn faulty(&self, op: u64) -> bool {
        let slot = self.slot(op);
        self.faulty[slot] && self.headers[slot].is_none_or(|header| header.op == op)
    }

    /// Installs `header` for its op with the prepare not yet on disk (a local write is
    /// about to start, or the prepare must be repaired). Replacing a different header
    /// clears `faulty`: the op that may have been acknowledged was superseded. Naming the
    /// header of a faulty slot whose header was unknown keeps it faulty.
    pub fn set_header_dirty(&mut self, header: Header) {
        let slot = self.slot(header.op);
        let same = self.headers[slot].is_some_and(|held| held.checksum == header.checksum);
        // A faulty slot without a header was faulty for the very op now named: it stays so.
        let named = self.headers[slot].is_none();
        if !same && !named {
            self.faulty[slot] = false;
        }
        self.headers[slot] = Some(header);
        self.dirty[slot] = true;
    }

    /// Records that the prepare `(op, checksum)` is written and intact.
    /// Ignored if the slot has since been given another header.
    pub fn set_clean(&mut self, op: u64, checksum: u128) {
        let slot = self.slot(op);
        if self.headers[slot].is_some_and(|held| held.op == op && held.checksum == checksum) {
            self.dirty[slot] = false;
            self.faulty[slot] = false;
        }
    }

    /// Marks `op` faulty: it may have been acknowledged before its prepare was lost, so it
    /// must be repaired and never nacked. Keeps `op`'s header if held.
    pub fn mark_faulty(&mut self, op: u64) {
        let slot = self.slot(op);
        if self.headers[slot].is_some_and(|header| header.op != op) {
            self.headers[slot] = None;
        }
        self.dirty[slot] = true;
        self.faulty[slot] = true;
    }

    /// Forgets every header with an op above `op` (a view change cut the log there).
    pub fn remove_above(&mut self, op: u64) {
        for slot in 0..self.headers.len() {
            if self.headers[slot].is_some_and(|header| header.op > op) {
                self.headers[slot] = None;
                self.dirty[slot] = false;
                self.faulty[slot] = false;
            }
        }
    }

    /// Forgets every header with an op at or below `op` (a checkpoint covers them).
    pub fn remove_through(&mut self, op: u64) {
        for slot in 0..self.headers.len() {
            if self.headers[slot].is_some_and(|header| header.op <= op) {
                self.headers[slot] = None;
                self.dirty[slot] = false;
                self.faulty[slot] = false;
            }
        }
    }

    /// Forgets `op`'s header: the slot holds a prepare the hash chain proved stale (an
    /// older view's op that a view change cut but the disk still held at recovery).
    pub fn forget(&mut self, op: u64) {
        let slot = self.slot(op);
        if self.headers[slot].is_some_and(|header| header.op == op) {
            self.headers[slot] = None;
            self.dirty[slot] = false;
            self.faulty[slot] = false;
        }
    }

    /// Forgets a faulty slot whose header is unknown for `op` (the op was resolved).
    pub fn clear_unknown_fault(&mut self, op: u64) {
        let slot = self.slot(op);
        if self.headers[slot].is_none() {
            self.dirty[slot] = false;
            self.faulty[slot] = false;
        }
    }

    /// Asserts the index's structural invariants.
    pub fn check_invariants(&self) {
        assert_eq!(self.headers.len() as u64, self.slot_count);
        for slot in 0..self.headers.len() {
            assert!(!self.faulty[slot] || self.dirty[slot], "faulty implies dirty");
            if let Some(header) = &self.headers[slot] {
                assert_eq!(header.op % self.slot_count, slot as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vireo_protocol::vsr::Command;

    fn header(op: u64) -> Header {
        let mut header = Header::new(Command::Prepare);
        header.op = op;
        header.seal(&[]);
        header
    }

    #[test]
    fn recover_window_and_torn_tail() {
        // 8 slots, checkpoint at 4: the live window is ops 5..=12.
        let mut decisions = vec![SlotDecision::Empty; 8];
        decisions[5] = SlotDecision::Clean(header(5));
        decisions[6] = SlotDecision::Faulty(Some(header(6)));
        decisions[7] = SlotDecision::Faulty(None); // op 7 ≤ head 9: faulty, never nacked
        decisions[0] = SlotDecision::Clean(header(8)); // op 8
        decisions[1] = SlotDecision::Fix(header(9)); // op 9: the head
        decisions[2] = SlotDecision::Faulty(None); // op 10 > head: torn tail, forgotten
        decisions[3] = SlotDecision::Clean(header(3)); // already checkpointed, still in the ring
        let (journal, head) = Journal::recover(&decisions, 4);
        assert_eq!(head, 9);
        assert!(journal.has_prepare(5, header(5).checksum));
        assert!(journal.faulty(6) && journal.dirty(6));
        assert!(journal.faulty(7) && journal.header(7).is_none());
        assert!(!journal.faulty(10) && !journal.dirty(10));
        // Checkpointed but still in the ring: kept intact, so lagging peers can repair.
        assert!(journal.has_prepare(3, header(3).checksum));
        assert!(journal.has_prepare(9, header(9).checksum));
    }

    #[test]
    fn replacing_a_header_clears_fault_and_clean_needs_matching_checksum() {
        let mut journal = Journal::new(8);
        let mut first = header(3);
        journal.set_header_dirty(first);
        journal.set_clean(3, first.checksum);
        assert!(journal.has_prepare(3, first.checksum));
        first.view = 1;
        first.seal(&[]);
        journal.set_header_dirty(first);
        assert!(journal.dirty(3));
        journal.set_clean(3, 12345);
        assert!(journal.dirty(3));
        journal.remove_above(2);
        assert!(journal.header(3).is_none());
        journal.check_invariants();
    }
}
