//! Completions of the I/O a replica asked for, and what each makes possible.

use vireo_protocol::vsr::FLAG_PERSISTED;
use vireo_storage::superblock::CheckpointState;

use crate::action::{Action, IoDone};
use crate::replica::{Replica, Status};
use crate::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// An I/O the replica asked for finished.
    pub fn on_io_done(&mut self, done: IoDone) {
        match done {
            IoDone::JournalWrite { op, checksum } => self.on_journal_write_done(op, checksum),
            IoDone::JournalHeaderWrite { op, checksum } => {
                let written = self.journal.header(op).is_some_and(|held| held.checksum == checksum);
                if written
                    && self.faulty_unpersisted.remove(&op)
                    && self.faulty_unpersisted.is_empty()
                {
                    self.persist(); // Every fault is on disk now: `recovering_head` may clear.
                }
            }
            IoDone::JournalRead { op, checksum, message } => {
                let requester = self.repair_reads.remove(&(op, checksum));
                if self.commit_reading == Some(op) {
                    self.commit_reading = None;
                }
                match message {
                    Some(message) => {
                        if let Some(replica) = requester {
                            self.send(replica, (*message).clone());
                        }
                        if self.journal.has_prepare(op, checksum) {
                            self.cache_insert(*message);
                        }
                    }
                    None if self.journal.has_prepare(op, checksum) => {
                        // The index said intact, the disk disagrees: repair it from peers.
                        self.journal.mark_faulty(op);
                        self.synced_op = self.synced_op.min(op - 1);
                    }
                    None => {}
                }
            }
            IoDone::JournalSync { op } => {
                let before = self.synced_op;
                self.sync_in_flight = None;
                self.synced_op = self.synced_op.max(op);
                for synced in before + 1..=self.synced_op {
                    if synced > self.commit_min {
                        self.ok_after_durable(synced);
                    }
                }
                if self.journal_sync_wanted {
                    self.request_journal_sync();
                }
            }
            IoDone::SuperblockWrite { sequence } => {
                let state =
                    self.superblock_writing.take().expect("a superblock write was in flight");
                assert_eq!(state.sequence, sequence, "superblock writes complete in order");
                self.superblock = state;
                self.superblock_synced = true;
                if let Some((op, _)) = self.checkpoint_writing
                    && self.superblock.checkpoint.op == op
                {
                    self.checkpoint_writing = None;
                    self.checkpoint_snapshot =
                        std::mem::take(&mut self.checkpoint_snapshot_pending);
                    self.stats.checkpoints += 1;
                    if let Some(view) = self.start_view_after_checkpoint.take() {
                        self.request_start_view(view);
                    }
                }
                if self.superblock_queued {
                    self.superblock_queued = false;
                    self.persist();
                }
                self.on_durable();
            }
            IoDone::SnapshotWrite { area, size, checksum } => {
                let (op, prepare_checksum) =
                    self.checkpoint_writing.expect("a snapshot write was in flight");
                self.checkpoint = CheckpointState {
                    op,
                    prepare_checksum,
                    area,
                    snapshot_size: size,
                    snapshot_checksum: checksum,
                };
                self.persist();
            }
        }
        self.after_event();
    }

    fn on_journal_write_done(&mut self, op: u64, checksum: u128) {
        self.journal_writing.remove(&(op, checksum));
        self.journal.set_clean(op, checksum);
        if self.journal.has_prepare(op, checksum) && self.faulty_unpersisted.remove(&op) {
            // Repaired: its header is on disk with it.
            if self.faulty_unpersisted.is_empty() {
                self.persist();
            }
        }
        let Some(header) = self.journal.header(op).copied() else { return };
        if header.checksum != checksum {
            return; // Superseded while writing.
        }
        if header.flags & FLAG_PERSISTED != 0 {
            self.request_journal_sync();
        }
        self.ok_after_durable(op);
    }

    /// The primary counts itself, a backup answers prepare_ok (each checks durability).
    fn ok_after_durable(&mut self, op: u64) {
        if self.is_primary() {
            self.primary_ok_self(op);
        } else {
            self.send_prepare_ok(op);
        }
    }

    /// Syncs the journal through the longest prefix of intact prepares.
    pub(crate) fn request_journal_sync(&mut self) {
        if self.sync_in_flight.is_some() {
            self.journal_sync_wanted = true;
            return;
        }
        let mut target = self.synced_op.max(self.superblock.checkpoint.op);
        while target < self.op {
            let next = target + 1;
            let intact = self
                .journal
                .header(next)
                .is_some_and(|header| self.journal.has_prepare(next, header.checksum));
            if !intact {
                break;
            }
            target = next;
        }
        if target <= self.synced_op {
            return;
        }
        self.journal_sync_wanted = false;
        self.sync_in_flight = Some(target);
        self.outbox.push(Action::JournalSync { op: target });
    }

    /// What a newly durable superblock allows.
    fn on_durable(&mut self) {
        match self.status {
            Status::ViewChange => self.send_do_view_change(),
            Status::Normal if self.is_primary() => {
                if self.log_view_durable() && self.view_started != Some(self.view) {
                    self.view_started = Some(self.view);
                    self.on_view_durable_as_primary();
                }
            }
            Status::Normal => {
                if self.log_view_durable() {
                    for op in self.commit_min + 1..=self.op {
                        self.send_prepare_ok(op);
                    }
                }
            }
            Status::RecoveringHead => {}
        }
    }
}
