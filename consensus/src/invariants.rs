//! `check_invariants`: the relations that hold after every input, checked by tests and
//! the simulator after every event.

use crate::replica::{Replica, Status};
use crate::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// Asserts every structural invariant of the replica.
    pub fn check_invariants(&self) {
        assert!(self.log_view <= self.view, "log_view {} > view {}", self.log_view, self.view);
        if self.status == Status::Normal {
            assert_eq!(self.log_view, self.view, "normal status means log_view == view");
        }
        assert!(
            self.commit_min <= self.commit_max,
            "commit_min {} > commit_max {}",
            self.commit_min,
            self.commit_max
        );
        assert!(self.commit_min <= self.op, "commit_min {} > op {}", self.commit_min, self.op);
        assert!(self.checkpoint.op <= self.commit_min);
        assert!(
            self.op == self.commit_min
                || self.journal.header(self.op).is_some()
                || self.journal.faulty(self.op),
            "replica {}: no header for head op {}",
            self.config.replica,
            self.op
        );
        assert!(self.superblock.checkpoint.op <= self.checkpoint.op);
        assert!(self.superblock.view <= self.view);
        assert!(self.superblock.log_view <= self.superblock.view);
        assert!(
            self.op <= self.superblock.checkpoint.op + self.config.journal_slot_count
                || self.checkpoint_writing.is_some(),
            "replica {}: head {} beyond the ring of checkpoint {}",
            self.config.replica,
            self.op,
            self.superblock.checkpoint.op
        );
        if self.is_primary() {
            if let Some(last) = self.pipeline.prepares().back() {
                assert_eq!(last.header.op, self.op, "the pipeline ends at the head");
                let first = self.pipeline.prepares().front().expect("non-empty").header.op;
                assert!(first > self.commit_min || first == self.commit_min + 1 || first > 0);
                assert!(self.op - first < self.config.pipeline_prepare_queue_max as u64);
            }
        } else if self.status != Status::Normal {
            assert!(self.pipeline.prepares().is_empty());
        }
        for entry in self.pipeline.prepares() {
            assert!(entry.header.op > self.commit_min || self.commit_min < self.commit_max);
            assert!(
                self.journal
                    .header(entry.header.op)
                    .is_some_and(|h| h.checksum == entry.header.checksum)
            );
        }
        assert!(
            self.cache.len()
                <= crate::replica::PREPARE_CACHE_MAX + self.config.pipeline_prepare_queue_max
        );
        assert!(self.repair_reads.len() <= crate::replica::REPAIR_READS_MAX);
        assert!(self.start_view_change_votes.keys().all(|&view| view > self.view));
        self.journal.check_invariants();
        self.client_table.check_invariants();
        self.pipeline.check_invariants();
        self.superblock.check_invariants();
    }
}
