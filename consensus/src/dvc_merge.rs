//! The new primary's choice of log from a quorum of do_view_change messages.
//!
//! Pure function of the DVCs received, so it is tested on its own.
//!
//! 1. The *canonical* DVCs are those with the highest `log_view`: their logs are the most
//!    recent a primary vouched for. The new head is their highest op.
//! 2. Every op up to `commit_max` is committed: the highest `commit_min` any sender
//!    applied, the `commit` any canonical header carries, and `head - pipeline` (a primary
//!    never has more than a pipeline of uncommitted ops).
//! 3. Going down from the head, each uncommitted op is settled: **kept** (with everything
//!    below it) if some sender holds its canonical prepare intact; **cut** (with
//!    everything above it) if a nack quorum positively denies holding it — then fewer
//!    than a replication quorum can hold it, so it never committed; otherwise the merge
//!    **waits** for more DVCs, and once every replica has answered it is **stalled**:
//!    safe, not live, and the view change times out to the next view.
//!
//! A sender that holds an op's prepare damaged (faulty) neither vouches for nor denies it.

use std::collections::BTreeMap;

use vireo_protocol::vsr::{Header, HeadersBody};

/// One sender's entry for one op of its DVC range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DvcEntry {
    /// The header it holds for the op (`None`: a blank).
    pub header: Option<Header>,
    /// It holds that header's prepare intact.
    pub present: bool,
    /// It positively does not hold the op (not faulty).
    pub nack: bool,
}

/// A decoded do_view_change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dvc {
    /// Sender.
    pub replica: u8,
    /// Its latest normal view.
    pub log_view: u32,
    /// Its head op.
    pub op: u64,
    /// Its applied op.
    pub commit_min: u64,
    /// Its entries, by op, for a contiguous range ending at `op`.
    pub entries: BTreeMap<u64, DvcEntry>,
}

impl Dvc {
    /// Decodes a DVC body; `None` if the body does not describe the range ending at `op`.
    #[must_use]
    pub fn decode(
        replica: u8,
        log_view: u32,
        op: u64,
        commit_min: u64,
        body: &HeadersBody,
    ) -> Option<Self> {
        let count = body.headers.len() as u64;
        if count > op || (count == 0 && op != 0) {
            return None;
        }
        let low = op + 1 - count;
        let mut entries = BTreeMap::new();
        for (index, header) in body.headers.iter().enumerate() {
            let entry_op = low + index as u64;
            if header.is_some_and(|header| header.op != entry_op) {
                return None;
            }
            if body.present[index] && (header.is_none() || body.nack[index]) {
                return None;
            }
            entries.insert(
                entry_op,
                DvcEntry { header: *header, present: body.present[index], nack: body.nack[index] },
            );
        }
        Some(Self { replica, log_view, op, commit_min, entries })
    }

    fn entry(&self, op: u64) -> Option<&DvcEntry> {
        self.entries.get(&op)
    }

    /// True if this sender holds `header`'s prepare intact.
    fn vouches(&self, header: &Header) -> bool {
        self.entry(header.op).is_some_and(|entry| {
            entry.present && entry.header.is_some_and(|h| h.checksum == header.checksum)
        })
    }

    /// True if this sender positively denies holding the prepare with checksum `wanted`
    /// (or, for `None`, any prepare) at `op`: above its head; a blank or a header it holds
    /// without its body, not faulty; or a *different* header (it holds another op there,
    /// so not this one). A faulty sender neither vouches nor denies.
    fn denies(&self, op: u64, wanted: Option<u128>) -> bool {
        if op > self.op {
            return true; // Above its head: it never received the op.
        }
        let Some(entry) = self.entry(op) else { return false }; // Below its range: unknown.
        let faulty = !entry.present && !entry.nack;
        if faulty {
            return false;
        }
        match (wanted, entry.header) {
            (Some(wanted), Some(held)) => !(held.checksum == wanted && entry.present),
            (Some(_), None) => true,
            (None, _) => entry.nack,
        }
    }
}

/// The outcome of merging DVCs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// The new log: canonical headers (ascending) up to `op`, committed up to `commit_max`.
    Complete {
        /// Canonical headers known, ascending, each ≤ `op`.
        headers: Vec<Header>,
        /// The new head.
        op: u64,
        /// Ops ≤ this are committed.
        commit_max: u64,
    },
    /// Some op is neither vouched for nor denied by a nack quorum; more DVCs may settle it.
    Waiting,
    /// A sender applied ops past every canonical head (learned from a later view): the
    /// view change is obsolete and must not start.
    Obsolete,
    /// Every replica answered and an op still cannot be settled: the view cannot start.
    Stalled {
        /// The unsettled op.
        op: u64,
    },
}

/// Merges DVCs (one per sender, the new primary's own included).
#[must_use]
pub fn merge(dvcs: &[Dvc], replica_count: usize, quorum_nack: usize, pipeline_max: u64) -> Merge {
    assert!(!dvcs.is_empty());
    let log_view = dvcs.iter().map(|dvc| dvc.log_view).max().expect("non-empty");
    let canonical: Vec<&Dvc> = dvcs.iter().filter(|dvc| dvc.log_view == log_view).collect();
    let mut op = canonical.iter().map(|dvc| dvc.op).max().expect("non-empty");

    let mut headers: BTreeMap<u64, Header> = BTreeMap::new();
    for dvc in &canonical {
        // The sender's last pipeline (and anchor) came with its log_view's start_view or
        // was prepared in it, so canonical senders agree there. Further down a DVC may
        // hold stale headers from older views (not yet repaired): those count only where
        // their checksum matches the chain (step 2, vouching) or as a denial.
        let core_low = dvc.op.saturating_sub(pipeline_max);
        for entry in dvc.entries.range(core_low..).map(|(_, entry)| entry) {
            if let Some(header) = entry.header {
                if let Some(held) = headers.get(&header.op) {
                    assert_eq!(
                        held.checksum, header.checksum,
                        "canonical DVCs disagree at op {} (log_view {log_view})",
                        header.op
                    );
                } else {
                    headers.insert(header.op, header);
                }
            }
        }
    }
    let mut commit_max = dvcs.iter().map(|dvc| dvc.commit_min).max().expect("non-empty");
    commit_max = commit_max.max(headers.values().map(|header| header.commit).max().unwrap_or(0));
    commit_max = commit_max.max(op.saturating_sub(pipeline_max));
    if commit_max > op {
        // A sender applied ops beyond every canonical head: it learned them from a later
        // view (state transfer) while this view change was still collecting. This view
        // is obsolete; a later one will carry that history.
        return Merge::Obsolete;
    }

    // 1. The lowest uncommitted op that a nack quorum denies never committed, and then
    //    neither did any op above it (ops commit in order): the log is cut there.
    for candidate in commit_max + 1..=op {
        // The canonical identity of the op: its canonical header, or else the checksum
        // its canonical successor names as parent.
        let wanted = headers
            .get(&candidate)
            .map(|header| header.checksum)
            .or_else(|| headers.get(&(candidate + 1)).map(|header| header.parent));
        let denials = dvcs.iter().filter(|dvc| dvc.denies(candidate, wanted)).count();
        if denials >= quorum_nack {
            op = candidate - 1;
            break;
        }
    }
    headers.retain(|&header_op, _| header_op <= op);
    let all_answered = dvcs.len() >= replica_count;
    let unsettled = |op| if all_answered { Merge::Stalled { op } } else { Merge::Waiting };
    if op > commit_max && !headers.contains_key(&op) {
        return unsettled(op);
    }
    // 2. The new primary needs every uncommitted header: fill gaps in the canonical
    //    headers from any sender, following the hash chain down from the head.
    let mut below = op;
    while below > commit_max + 1 {
        let parent = headers[&below].parent;
        let want = below - 1;
        if headers.get(&want).is_none_or(|header| header.checksum != parent) {
            let found = dvcs
                .iter()
                .filter_map(|dvc| dvc.entry(want).and_then(|entry| entry.header))
                .find(|header| header.checksum == parent);
            match found {
                Some(header) => {
                    headers.insert(want, header);
                }
                None => return unsettled(want),
            }
        }
        below = want;
    }
    // 3. Every uncommitted op kept must be held intact by some sender, or its body may
    //    be gone: wait for more answers (or stall once everyone answered).
    for kept in commit_max + 1..=op {
        if !dvcs.iter().any(|dvc| dvc.vouches(&headers[&kept])) {
            return unsettled(kept);
        }
    }
    Merge::Complete { headers: headers.into_values().collect(), op, commit_max }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vireo_protocol::vsr::Command;

    fn chain(ops: std::ops::RangeInclusive<u64>, view: u32, commit: u64) -> Vec<Header> {
        let mut parent = 0;
        ops.map(|op| {
            let mut header = Header::new(Command::Prepare);
            header.op = op;
            header.view = view;
            header.parent = parent;
            header.commit = commit;
            header.seal(&[]);
            parent = header.checksum;
            header
        })
        .collect()
    }

    /// A DVC holding `headers` for ops `low..=op`, with each op's state given by `state`:
    /// 'p' present, 'd' header without prepare (nack), 'f' faulty, 'b' blank (nack).
    fn dvc(replica: u8, log_view: u32, headers: &[Header], states: &str, commit_min: u64) -> Dvc {
        let mut entries = BTreeMap::new();
        for (header, state) in headers.iter().zip(states.chars()) {
            let entry = match state {
                'p' => DvcEntry { header: Some(*header), present: true, nack: false },
                'd' => DvcEntry { header: Some(*header), present: false, nack: true },
                'f' => DvcEntry { header: Some(*header), present: false, nack: false },
                'b' => DvcEntry { header: None, present: false, nack: true },
                _ => unreachable!(),
            };
            entries.insert(header.op, entry);
        }
        let op = headers
            .iter()
            .zip(states.chars())
            .filter(|(_, s)| *s != 'b')
            .map(|(h, _)| h.op)
            .max()
            .unwrap();
        Dvc { replica, log_view, op, commit_min, entries }
    }

    #[test]
    fn keeps_op_held_by_anyone_and_everything_below() {
        let log = chain(1..=5, 1, 2);
        let a = dvc(0, 1, &log, "ppppp", 2);
        let b = dvc(1, 1, &log[..3], "ppp", 2);
        assert_eq!(merge(&[a, b], 3, 2, 4), Merge::Complete { headers: log, op: 5, commit_max: 2 });
    }

    #[test]
    fn cuts_op_denied_by_nack_quorum() {
        let log = chain(1..=5, 1, 2);
        // Replica 0 has op 5's header but not its prepare; replica 1 never saw op 5.
        let a = dvc(0, 1, &log, "ppppd", 2);
        let b = dvc(1, 1, &log[..4], "pppp", 2);
        assert_eq!(
            merge(&[a, b], 3, 2, 4),
            Merge::Complete { headers: log[..4].to_vec(), op: 4, commit_max: 2 }
        );
    }

    #[test]
    fn faulty_copy_never_counts_as_a_nack() {
        let log = chain(1..=5, 1, 2);
        // Replica 0's copy of op 5 is damaged (faulty): it neither vouches nor denies.
        let a = dvc(0, 1, &log, "ppppf", 2);
        let b = dvc(1, 1, &log[..4], "pppp", 2);
        assert_eq!(merge(&[a.clone(), b.clone()], 3, 2, 4), Merge::Waiting);
        // The third replica holds it: kept.
        let c = dvc(2, 1, &log, "ppppp", 2);
        assert_eq!(
            merge(&[a.clone(), b.clone(), c], 3, 2, 4),
            Merge::Complete { headers: log.clone(), op: 5, commit_max: 2 }
        );
        // The third replica never got it either: two denials, so at most one replica
        // (the faulty one) ever held it — it never committed, and is cut.
        let c = dvc(2, 1, &log[..4], "pppp", 2);
        let Merge::Complete { op, .. } = merge(&[a.clone(), b.clone(), c], 3, 2, 4) else {
            panic!()
        };
        assert_eq!(op, 4);
        // The third replica's copy is damaged too: nobody can vouch or deny — a stall
        // (safe, not live), never a cut.
        let c = dvc(2, 1, &log, "ppppf", 2);
        assert_eq!(merge(&[a, b, c], 3, 2, 4), Merge::Stalled { op: 5 });
    }

    #[test]
    fn a_hole_denied_by_a_nack_quorum_cuts_everything_above_it() {
        let log = chain(1..=5, 1, 2);
        // Both hold op 5 intact but neither holds op 4 (its write was torn): op 4 never
        // committed, so neither did op 5, which can commit only after it.
        let a = dvc(0, 1, &log, "pppbp", 2);
        let b = dvc(1, 1, &log, "pppbp", 2);
        assert_eq!(
            merge(&[a, b], 3, 2, 4),
            Merge::Complete { headers: log[..3].to_vec(), op: 3, commit_max: 2 }
        );
    }

    #[test]
    fn a_sender_ahead_of_every_canonical_head_makes_the_view_obsolete() {
        let log = chain(1..=5, 1, 2);
        let canonical = dvc(0, 3, &log, "ppppp", 2);
        // Replica 1 state-synced to op 9 from a later view while this one was collecting.
        let mut ahead = dvc(1, 1, &log[..2], "pp", 9);
        ahead.commit_min = 9;
        assert_eq!(merge(&[canonical, ahead], 3, 2, 4), Merge::Obsolete);
    }

    #[test]
    fn highest_log_view_wins_over_longer_stale_log() {
        let old = chain(1..=6, 1, 2);
        let mut new = old[..3].to_vec();
        let mut header = Header::new(Command::Prepare);
        header.op = 4;
        header.view = 3;
        header.parent = new[2].checksum;
        header.commit = 3;
        header.seal(&[]);
        new.push(header);
        let stale = dvc(0, 1, &old, "pppppp", 2);
        let canonical = dvc(1, 3, &new, "pppp", 3);
        let Merge::Complete { headers, op, commit_max } = merge(&[stale, canonical], 3, 2, 4)
        else {
            panic!()
        };
        assert_eq!(op, 4);
        assert_eq!(commit_max, 3);
        assert_eq!(headers.last().unwrap().checksum, header.checksum);
    }

    #[test]
    fn stale_headers_below_the_last_pipeline_do_not_conflict() {
        // A DVC reaches two pipelines back; below its last pipeline a canonical sender may
        // still hold a header from an older view (never repaired). Seed 14188874111789693638.
        let log = chain(1..=6, 1, 0);
        let mut stale = log.clone();
        let mut old = Header::new(Command::Prepare);
        old.op = 2;
        old.view = 0;
        old.seal(b"older view");
        stale[1] = old;
        let a = dvc(0, 3, &log, "pppppp", 0);
        let b = dvc(1, 3, &stale, "pppppp", 0);
        assert_eq!(
            merge(&[a, b], 3, 2, 2),
            Merge::Complete { headers: log[3..].to_vec(), op: 6, commit_max: 4 }
        );
    }

    #[test]
    fn never_cuts_at_or_below_commit_max() {
        let log = chain(1..=5, 1, 4);
        // Header 5 says op 4 committed: even if everyone nacks 4's body... only 5 is settled.
        let a = dvc(0, 1, &log, "pppdd", 0);
        let b = dvc(1, 1, &log, "pppdd", 0);
        let Merge::Complete { op, commit_max, .. } = merge(&[a, b], 3, 2, 4) else { panic!() };
        assert_eq!((op, commit_max), (4, 4));
    }
}

#[cfg(test)]
#[path = "dvc_merge_tests.rs"]
mod recovering_tests;
