//! Start-up: a fresh format, and a restart from what the disk still holds.
//!
//! On restart the replica rebuilds its state machine from the checkpoint snapshot, its
//! journal index from the per-slot recovery decisions, and overlays the view suffix the
//! superblock kept (`view_headers`), which beats whatever older entries the journal holds.
//! Then it asks: can it be sure of every op it acknowledged before the crash?
//!
//! * Yes (the durability contract held: every completed write survived, or every ack was
//!   synced first, or the shutdown was clean): it resumes — as a backup in its view, or,
//!   if it was the primary, by voting for the next view (its volatile pipeline is gone).
//! * No (`Replicated` durability and a crash that may have dropped unsynced writes): ops
//!   above the persisted `synced_op` it no longer holds might have been acknowledged, so
//!   they are faulty (never nacked), and it enters `recovering_head`: no votes, no
//!   prepare_oks, until a start_view that postdates the crash.

use vireo_protocol::vsr::{Command, Header, Operation, checksum};
use vireo_storage::journal::{Journal, Recovered};
use vireo_storage::superblock::VsrState;

use crate::action::Action;
use crate::client_table::ClientTable;
use crate::config::{Durability, ReplicaConfig};
use crate::replica::{Replica, RestartEvidence, Status};
use crate::state_machine::StateMachine;

/// Why a replica refuses to open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The data file belongs to another cluster, group or replica slot.
    #[error(
        "data file belongs to cluster {cluster:#x} group {group} replica {replica} of {replica_count}"
    )]
    Identity {
        /// Its cluster.
        cluster: u128,
        /// Its group.
        group: u32,
        /// Its replica index.
        replica: u8,
        /// Its replica count.
        replica_count: u8,
    },
    /// The checkpoint snapshot could not be decoded or restored.
    #[error("checkpoint snapshot rejected: {0}")]
    Snapshot(&'static str),
}

/// The checksum that roots a group's hash chain (the "op 0" prepare), distinct per
/// cluster and group so chains of different groups can never be confused.
#[must_use]
pub fn root_checksum(cluster: u128, group: u32) -> u128 {
    let mut header = Header::new(Command::Prepare);
    header.cluster = cluster;
    header.group = group;
    header.operation = Operation::ROOT;
    header.seal(&[]);
    checksum(&header.to_bytes())
}

impl<S: StateMachine> Replica<S> {
    /// The superblock of a freshly formatted replica (the driver writes it with
    /// `JournalStore::format`, then opens the replica through recovery like any restart).
    #[must_use]
    pub fn format_state(config: &ReplicaConfig) -> VsrState {
        let mut state =
            VsrState::format(config.cluster, config.group, config.replica, config.replica_count);
        state.checkpoint.prepare_checksum = root_checksum(config.cluster, config.group);
        state
    }

    /// Opens a replica from what recovery read back.
    pub fn open(
        config: ReplicaConfig,
        mut state_machine: S,
        recovered: Recovered,
        evidence: RestartEvidence,
        seed: u64,
    ) -> Result<Self, OpenError> {
        let state = recovered.state;
        if (state.cluster, state.group, state.replica, state.replica_count)
            != (config.cluster, config.group, config.replica, config.replica_count)
        {
            return Err(OpenError::Identity {
                cluster: state.cluster,
                group: state.group,
                replica: state.replica,
                replica_count: state.replica_count,
            });
        }
        let mut client_table = ClientTable::new(config.clients_max);
        let mut checkpoint_header = None;
        if !recovered.snapshot.is_empty() {
            let snapshot = crate::snapshot::decode(&recovered.snapshot, &config)?;
            client_table = snapshot.client_table;
            checkpoint_header = snapshot.checkpoint_header;
            state_machine
                .restore(snapshot.machine)
                .map_err(|error| OpenError::Snapshot(error.reason))?;
        }
        let certain = !state.recovering_head
            && (evidence == RestartEvidence::CompletedWritesKept
                || state.clean_shutdown
                || config.durability == Durability::Persisted);
        let mut replica = Self::new_inner(config, state_machine, state.clone(), seed);
        replica.client_table = client_table;
        replica.checkpoint_snapshot = recovered.snapshot;
        replica.commit_min = state.checkpoint.op;
        replica.commit_min_checksum = state.checkpoint.prepare_checksum;
        replica.commit_max = state.commit_max.max(state.checkpoint.op);
        let (journal, head) = Journal::recover(&recovered.decisions, state.checkpoint.op);
        replica.journal = journal;
        replica.op = head.max(replica.commit_min);
        // What the disk itself damaged; `enter_recovering_head` below marks more, for
        // writes that may have been lost rather than found broken.
        replica.stats.faulty_at_recovery = (replica.commit_min + 1..=replica.op)
            .filter(|&op| replica.journal.faulty(op))
            .count() as u64;
        replica.install_checkpoint_header(checkpoint_header);
        replica.overlay_view_headers(&state);
        replica.timestamp_max = (replica.commit_min + 1..=replica.op)
            .filter_map(|op| replica.journal.header(op).map(|header| header.timestamp))
            .max()
            .unwrap_or(0);
        replica.ping_timeout.start();
        replica.repair_timeout.start();
        replica.journal_sync_timeout.start();
        if certain {
            replica.resume();
        } else {
            replica.enter_recovering_head();
        }
        // Clear the clean-shutdown mark before acknowledging anything new.
        replica.persist();
        replica.check_invariants();
        Ok(replica)
    }

    /// The superblock's view suffix wins over older journal entries, and entries above it
    /// from views before `log_view` were discarded by that view.
    fn overlay_view_headers(&mut self, state: &VsrState) {
        // A suffix recorded while a state transfer was installing a newer checkpoint can
        // reach past this checkpoint's ring; those ops were never journaled (the ring
        // guard follows the durable checkpoint), so they are not ours to claim.
        let ring_max = state.checkpoint.op + self.config.journal_slot_count;
        let view_headers: Vec<Header> =
            state.view_headers.iter().filter(|header| header.op <= ring_max).copied().collect();
        let Some(last) = view_headers.last().copied() else { return };
        for header in &view_headers {
            if header.op > self.commit_min && self.journal.header(header.op) != Some(header) {
                self.install_header(*header);
            }
        }
        let stale: Vec<u64> = (last.op + 1..=self.op)
            .filter(|&op| {
                self.journal.header(op).is_some_and(|header| header.view < state.log_view)
            })
            .collect();
        if let Some(&first) = stale.first() {
            self.journal_remove_above(first - 1);
        }
        // Below the head a cut op can come back the same way: the view change forgot it in
        // memory, its slot was never rewritten, and recovery read it back intact. The chain
        // exposes it — its successor, from a later view, names another parent — and it must
        // not be offered in a do_view_change as if it were this log_view's op (seed
        // 11725465274580678326). Forgotten, it is a blank: this replica never held the op
        // the chain names (an uncertain restart then marks it faulty, never nacked).
        let head = self.op.max(last.op);
        for op in (self.commit_min + 1..head).rev() {
            let (Some(lower), Some(upper)) =
                (self.journal.header(op).copied(), self.journal.header(op + 1).copied())
            else {
                continue;
            };
            if upper.parent != lower.checksum && lower.view < upper.view {
                self.journal.forget(op);
                self.chain_low = None;
            }
        }
        self.op = (self.commit_min..=self.op.max(last.op))
            .rev()
            .find(|&op| self.journal.header(op).is_some())
            .unwrap_or(self.commit_min)
            .max(self.commit_min);
    }

    /// A certain restart.
    fn resume(&mut self) {
        if self.config.replica_count == 1 {
            // A cluster of one is its own quorum: continue as primary.
            self.status = Status::Normal;
            self.log_view = self.view;
            self.head_trusted = true;
            // Its own quorum: every op it holds intact, in an unbroken chain from what it
            // applied, committed (an op commits only after every op below it did, so the
            // first hole — a torn write — marks where never-acknowledged ops begin).
            let mut head = self.commit_min;
            while head < self.op {
                let next = head + 1;
                let Some(header) = self.journal.header(next).copied() else { break };
                let parent = self.checksum_of(head);
                if Some(header.parent) != parent || !self.journal.has_prepare(next, header.checksum)
                {
                    break;
                }
                head = next;
            }
            self.journal_remove_above(head);
            self.op = head;
            self.commit_max = self.commit_max.max(head);
            self.commit_message_timeout.start();
            self.prepare_timeout.start();
        } else if self.fresh() {
            // A freshly formatted cluster: nothing was ever prepared, view 0 starts as is.
            self.status = Status::Normal;
            self.head_trusted = true;
            if self.is_primary_of(self.view) {
                self.commit_message_timeout.start();
            } else {
                self.normal_heartbeat_timeout.start_jittered(&mut self.prng);
            }
        } else if self.log_view == self.view && !self.is_primary_of(self.view) {
            self.status = Status::Normal;
            self.head_trusted = true;
            self.normal_heartbeat_timeout.start_jittered(&mut self.prng);
        } else {
            // Was the primary (its pipeline is gone) or was mid view change: let a view
            // change settle the log, voting for the next view now.
            self.status = Status::ViewChange;
            self.view_change_status_timeout.start_jittered(&mut self.prng);
            self.view_change_message_timeout.start();
            if self.log_view == self.view {
                self.vote_start_view_change(self.view + 1);
            }
        }
    }

    /// Never ran: the formatted superblock, nothing journaled.
    fn fresh(&self) -> bool {
        self.superblock.sequence == 1 && self.view == 0 && self.op == 0 && self.commit_max == 0
    }

    fn enter_recovering_head(&mut self) {
        self.status = Status::RecoveringHead;
        self.faulty_floor_op = self.synced_op.max(self.commit_min);
        for op in self.faulty_floor_op + 1..=self.op {
            let held = self.journal.header(op).copied();
            if held.is_none_or(|header| !self.journal.has_prepare(op, header.checksum)) {
                self.mark_faulty_durably(op);
            }
        }
        self.chain_low = None;
        self.request_start_view_timeout.start();
        self.request_start_view_broadcast();
    }

    /// A recovering replica asks every peer; the current primary answers with its nonce.
    pub(crate) fn request_start_view_broadcast(&mut self) {
        let mut header = self.header(Command::RequestStartView);
        header.context = self.nonce;
        for replica in 0..self.config.replica_count {
            if replica != self.config.replica {
                self.send_header(replica, header);
            }
        }
    }

    /// Puts the checkpoint op's header back in the index (its body is not needed: the op
    /// is applied), so the log can be described from the checkpoint on.
    pub(crate) fn install_checkpoint_header(&mut self, header: Option<Header>) {
        let Some(header) = header else { return };
        assert_eq!(header.op, self.commit_min, "the snapshot's header is its checkpoint op's");
        assert_eq!(
            header.checksum, self.commit_min_checksum,
            "the snapshot's header anchors the chain"
        );
        // Only into an empty slot: the op one ring ahead (checkpoint + slot_count) may
        // already live there, and it is the one that matters now.
        if self.journal.slot_header(header.op).is_none() {
            self.install_header(header);
        }
    }

    /// Marks `op` faulty and makes the mark durable: its header goes into the header ring
    /// (without its prepare), or, while the header is unknown, the superblock keeps
    /// `recovering_head` until it is (see `faulty_unpersisted`).
    pub(crate) fn mark_faulty_durably(&mut self, op: u64) {
        self.journal.mark_faulty(op);
        self.chain_low = None;
        self.faulty_unpersisted.insert(op);
        if let Some(header) = self.journal.header(op).copied() {
            self.outbox.push(Action::JournalWriteHeader { header });
        }
    }

    /// Forgets headers above `op` (and the cached chain with them).
    pub(crate) fn journal_remove_above(&mut self, op: u64) {
        self.journal.remove_above(op);
        self.faulty_unpersisted.retain(|&faulty| faulty <= op);
        self.synced_op = self.synced_op.min(op);
        self.chain_low = None;
    }
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
