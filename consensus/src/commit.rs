//! Applying committed ops: in op order, only along a verified hash chain, exactly once.
//!
//! An op is applied when it is committed (≤ `commit_max`), its prepare is intact in the
//! journal, and the hash chain connects the trusted head down to it and it to the last
//! applied op. The head is *trusted* once it comes from the current view's primary (a
//! prepare, the start_view suffix, or the primary itself); walking `parent` links down
//! from it is what proves a journal entry is the committed one and not a leftover of an
//! older view.

use vireo_protocol::vsr::{Command, EvictionReason, Message, Operation};

use crate::action::Action;
use crate::replica::{Replica, Status};
use crate::state_machine::{ApplyContext, StateMachine};

/// Most ops applied per input event, so one event never stalls a shard for long.
pub const COMMITS_PER_EVENT_MAX: usize = 256;

impl<S: StateMachine> Replica<S> {
    /// The lowest op `low` such that every op in `low..=op` has a header and each header's
    /// `parent` is the previous header's checksum (cached until the journal changes).
    pub(crate) fn chain_low(&mut self) -> u64 {
        if let Some(low) = self.chain_low {
            return low;
        }
        let low = self.chain_low_from(self.op);
        self.chain_low = Some(low);
        low
    }

    /// Like `chain_low`, from any anchor at or below the head (uncached).
    fn chain_low_from(&self, anchor: u64) -> u64 {
        if self.journal.header(anchor).is_none() {
            return anchor + 1;
        }
        let mut low = anchor;
        while low > self.commit_min + 1 {
            let (Some(header), Some(below)) =
                (self.journal.header(low), self.journal.header(low - 1))
            else {
                break;
            };
            if header.parent != below.checksum {
                break;
            }
            low -= 1;
        }
        low
    }

    /// Applies every committed op it can, in order.
    pub(crate) fn commit_journal(&mut self) {
        if self.status != Status::Normal || self.sync.is_some() || !self.state_machine.apply_ready()
        {
            return;
        }
        // The trust anchor: the head once the current primary vouched for it, or else the
        // op the primary's heartbeat named, when our header there matches.
        let anchor = if self.head_trusted {
            self.op
        } else {
            match self.commit_max_checksum {
                Some((op, checksum))
                    if self.journal.header(op).is_some_and(|h| h.checksum == checksum) =>
                {
                    op
                }
                _ => return,
            }
        };
        for _ in 0..COMMITS_PER_EVENT_MAX {
            if self.commit_reading.is_some() {
                return;
            }
            let op = self.commit_min + 1;
            if op > self.commit_max || op > anchor {
                return;
            }
            let low =
                if anchor == self.op { self.chain_low() } else { self.chain_low_from(anchor) };
            if low > op {
                return;
            }
            let header = *self.journal.header(op).expect("chain_low ≤ op implies a header");
            assert_eq!(
                header.parent, self.commit_min_checksum,
                "replica {} group {}: the trusted chain at op {op} does not extend the applied history",
                self.config.replica, self.config.group
            );
            if !self.journal.has_prepare(op, header.checksum) {
                return; // Repair fetches it.
            }
            if let Some(message) = self.cache_get(op, header.checksum).cloned() {
                self.apply(&message);
            } else {
                self.commit_reading = Some(op);
                self.outbox.push(Action::JournalRead { op, checksum: header.checksum });
                return;
            }
        }
    }

    /// Applies one committed prepare: state machine, client table, reply.
    pub(crate) fn apply(&mut self, message: &Message) {
        let header = *message.header();
        assert_eq!(header.op, self.commit_min + 1, "ops apply in order");
        assert_eq!(header.parent, self.commit_min_checksum, "ops apply along the hash chain");
        assert!(header.op <= self.commit_max, "only committed ops apply");
        let mut reply_body = Vec::new();
        let mut session = header.session;
        if header.operation == Operation::REGISTER {
            session = header.op;
            self.register_client(header.client);
        } else if header.operation.is_user() {
            let context = ApplyContext {
                op: header.op,
                timestamp: header.timestamp,
                operation: header.operation,
                client: header.client,
            };
            self.state_machine.apply(&context, message.body(), &mut reply_body);
        }
        self.commit_min = header.op;
        self.commit_min_checksum = header.checksum;
        self.outbox.push(Action::Applied { header });
        // A committed op can never be cut: its fault no longer needs to outlive a crash.
        if self.faulty_unpersisted.first().is_some_and(|&faulty| faulty <= header.op) {
            self.faulty_unpersisted.retain(|&faulty| faulty > header.op);
            if self.faulty_unpersisted.is_empty() {
                self.persist();
            }
        }
        // A client evicted between prepare and commit gets no reply (its retry is told
        // it was evicted); the op itself applied like any committed op.
        let record = header.client != 0
            && (header.operation == Operation::REGISTER
                || self
                    .client_table
                    .get(header.client)
                    .is_some_and(|entry| entry.session == session));
        if record {
            // Every replica builds the same reply from the same prepare.
            let mut reply = self.header(Command::Reply);
            reply.view = header.view;
            reply.replica = header.replica;
            reply.checkpoint_op = 0;
            reply.client = header.client;
            reply.request = header.request;
            reply.session = session;
            reply.op = header.op;
            reply.commit = header.op;
            reply.context = header.checksum;
            reply.request_checksum = header.request_checksum;
            reply.operation = header.operation;
            reply.timestamp = header.timestamp;
            let reply = Message::new(reply, &reply_body);
            self.client_table.commit(header.client, session, header.request, reply.clone());
            if self.is_primary() {
                self.outbox.push(Action::Reply { message: reply });
            }
        }
        if self.is_primary() {
            if self.pipeline.head().is_some_and(|entry| entry.header.op == header.op) {
                self.pipeline.pop_head();
            }
            self.primary_pipeline_next();
            if self.pipeline.prepares().is_empty() {
                self.prepare_timeout.stop();
            }
        }
    }

    /// Opens a session, evicting the least recently used one when the table is full.
    fn register_client(&mut self, client: u128) {
        if self.client_table.get(client).is_some() {
            self.client_table.remove(client);
        } else if self.client_table.full() {
            let evicted =
                self.client_table.least_recently_used().expect("a full table has entries");
            let session = self.client_table.remove(evicted).expect("listed").session;
            self.stats.evictions += 1;
            if self.is_primary() {
                self.send_eviction(evicted, session, EvictionReason::TableFull);
            }
        }
    }

    /// Takes a checkpoint when `checkpoint_interval_ops` ops have applied since the last.
    pub(crate) fn maybe_checkpoint(&mut self) {
        if self.checkpoint_writing.is_some() || self.sync.is_some() {
            return;
        }
        let due = self.commit_min >= self.checkpoint.op + self.config.checkpoint_interval_ops;
        let wanted = self.checkpoint_wanted && self.commit_min > self.checkpoint.op;
        if !due && !wanted {
            return;
        }
        self.checkpoint_wanted = false;
        let snapshot = self.encode_snapshot();
        assert!(
            snapshot.len() <= self.config.snapshot_size_max,
            "checkpoint snapshot of {} bytes exceeds snapshot_size_max {}",
            snapshot.len(),
            self.config.snapshot_size_max
        );
        let area = 1 - self.superblock.checkpoint.area;
        self.checkpoint_writing = Some((self.commit_min, self.commit_min_checksum));
        self.checkpoint_snapshot_pending = snapshot.clone();
        self.outbox.push(Action::SnapshotWrite { op: self.commit_min, area, snapshot });
    }

    /// Asks for a checkpoint at the next opportunity rather than the next interval: a
    /// replica that applied far enough but whose ring (anchored at its durable
    /// checkpoint) cannot hold the ops it must journal next. Then, if given, asks for
    /// that view's start_view again.
    pub(crate) fn want_checkpoint(&mut self, view: Option<u32>) {
        self.checkpoint_wanted = true;
        if view.is_some() {
            self.start_view_after_checkpoint = view;
        }
    }

    /// The checkpoint snapshot at `commit_min` (see `snapshot.rs`).
    pub(crate) fn encode_snapshot(&self) -> Vec<u8> {
        let header = self.journal.header(self.commit_min);
        crate::snapshot::encode(header, &self.client_table, &self.state_machine.snapshot())
    }
}
