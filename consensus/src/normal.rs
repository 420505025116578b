//! Normal operation: client request → prepare → prepare_ok → commit heartbeat.
//!
//! The primary orders a request by giving it the next op and chaining it to the previous
//! prepare (`parent`), journals it and sends it to every backup. A backup journals it and
//! answers prepare_ok — to the current primary only — once the write (and, for persisted
//! prepares, a sync) completed. The primary commits an op when a replication quorum, itself
//! included, holds it and every lower op committed.

use vireo_protocol::vsr::{Command, EvictionReason, FLAG_PERSISTED, Header, Message, Operation};

use crate::action::Action;
use crate::config::Durability;
use crate::pipeline::PipelineEntry;
use crate::replica::{Replica, Status};
use crate::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// A request from a client connected to this replica's node. A backup forwards it to
    /// its primary; the primary orders it.
    pub fn on_request(&mut self, request: Message) {
        let header = *request.header();
        if header.command != Command::Request
            || header.client == 0
            || header.cluster != self.config.cluster
            || header.group != self.config.group
            || !Self::client_operation_valid(header.operation)
            || request.as_bytes().len() > self.config.message_size_max
        {
            self.stats.messages_ignored += 1;
            return;
        }
        if self.is_primary() {
            self.on_request_as_primary(request);
        } else if self.status == Status::Normal && header.replica == u8::MAX {
            // Forward once, verbatim; a forwarded request is never forwarded again.
            let primary = self.primary();
            self.send(primary, request);
        } else {
            self.stats.messages_ignored += 1;
        }
        self.after_event();
    }

    fn on_request_as_primary(&mut self, request: Message) {
        let header = *request.header();
        if !self.primary_ready() {
            // Not caught up: the client table may not know this session yet, so judge the
            // request only once every op is applied (`primary_pipeline_next`).
            if !self.pipeline.push_request(request) {
                self.stats.messages_ignored += 1;
            }
            return;
        }
        if !self.request_is_new(&header) || self.pipeline.has_client(header.client) {
            return;
        }
        if self.pipeline.prepares_full() || self.ring_full() {
            if !self.pipeline.push_request(request) {
                self.stats.messages_ignored += 1; // Backpressure: the client retries.
            }
            return;
        }
        self.primary_prepare(&request);
    }

    /// Checks the request against the client table. Answers retries from the cache and
    /// stale sessions with an eviction; true only for a request that should be ordered.
    fn request_is_new(&mut self, header: &Header) -> bool {
        let entry = self.client_table.get(header.client);
        if header.operation == Operation::REGISTER {
            if header.request != 0 {
                self.stats.messages_ignored += 1;
                return false;
            }
            if let Some(entry) = entry.filter(|entry| entry.request == 0) {
                // A retried register: the session already exists.
                let reply = entry.reply.clone();
                self.stats.replies_cached += 1;
                self.outbox.push(Action::Reply { message: reply });
                return false;
            }
            return true;
        }
        if entry.is_none_or(|entry| entry.session != header.session) {
            // A session opened by an op we have not applied may well exist: we are
            // behind (a stale primary). Only a session we must know of is truly gone.
            if header.session <= self.commit_min {
                self.send_eviction(header.client, header.session, EvictionReason::NoSession);
            }
            return false;
        }
        let entry = entry.expect("checked above");
        if header.request == entry.request {
            if header.checksum_body == entry.reply.header().request_checksum {
                let reply = entry.reply.clone();
                self.stats.replies_cached += 1;
                self.outbox.push(Action::Reply { message: reply });
            } else {
                self.stats.messages_ignored += 1; // Same number, other body: a client bug.
            }
            return false;
        }
        // Only the next request, chained to the reply the client saw, is new.
        let next =
            header.request == entry.request + 1 && header.parent == entry.reply.header().checksum;
        if !next {
            self.stats.messages_ignored += 1;
        }
        next
    }

    /// Tells `client` its `session` is gone (the session lets it ignore a stale eviction
    /// that arrives after it registered again).
    pub(crate) fn send_eviction(&mut self, client: u128, session: u64, reason: EvictionReason) {
        let mut header = self.header(Command::Eviction);
        header.client = client;
        header.session = session;
        header.operation = Operation(reason as u8);
        self.outbox.push(Action::Reply { message: Message::new(header, &[]) });
    }

    /// True when the primary may prepare: normal, primary, and its view durable.
    ///
    /// Also: every op not yet applied must be in the pipeline, so that a retried request
    /// still waiting to be applied is recognised by `Pipeline::has_client` and is never
    /// prepared twice (after a view change the new primary may still be applying ops).
    pub(crate) fn primary_ready(&self) -> bool {
        let unapplied_in_pipeline = match self.pipeline.head() {
            Some(entry) => entry.header.op == self.commit_min + 1,
            None => self.commit_min == self.op,
        };
        self.is_primary() && self.log_view_durable() && self.sync.is_none() && unapplied_in_pipeline
    }

    /// True when the next op would overwrite a slot not yet covered by a checkpoint.
    pub(crate) fn ring_full(&self) -> bool {
        self.op + 1 > self.superblock.checkpoint.op + self.config.journal_slot_count
    }

    fn primary_prepare(&mut self, request: &Message) {
        assert!(self.primary_ready());
        let request_header = request.header();
        let op = self.op + 1;
        let parent = self.checksum_of(self.op).expect("the primary holds its head header");
        let mut header = self.header(Command::Prepare);
        header.op = op;
        header.parent = parent;
        header.commit = self.commit_max;
        header.client = request_header.client;
        header.session = request_header.session;
        header.request = request_header.request;
        header.request_checksum = request_header.checksum_body;
        header.operation = request_header.operation;
        header.timestamp = self.timestamp_max.saturating_add(1).max(request_header.timestamp);
        if self.config.durability == Durability::Persisted
            || request_header.flags & FLAG_PERSISTED != 0
        {
            header.flags |= FLAG_PERSISTED;
        }
        let message = Message::new(header, request.body());
        let header = *message.header();
        self.install_header(header);
        self.op = op;
        self.pipeline.push_prepare(PipelineEntry {
            header,
            message: Some(message.clone()),
            ok_from: 0,
        });
        self.cache_insert(message.clone());
        self.journal_write(message.clone());
        self.broadcast(&message);
        if !self.prepare_timeout.running() {
            self.prepare_timeout.start();
        }
    }

    /// Moves queued requests into free pipeline slots.
    pub(crate) fn primary_pipeline_next(&mut self) {
        while self.primary_ready() && !self.pipeline.prepares_full() && !self.ring_full() {
            let Some(request) = self.pipeline.pop_request() else { break };
            if self.request_is_new(request.header())
                && !self.pipeline.has_client(request.header().client)
            {
                self.primary_prepare(&request);
            }
        }
    }

    /// Records a header in the journal index (the prepare itself is written separately).
    pub(crate) fn install_header(&mut self, header: Header) {
        // Appending the next op onto the head keeps the cached chain; anything else resets it.
        let extends_head =
            header.op == self.op + 1 && self.checksum_of(self.op) == Some(header.parent);
        self.journal.set_header_dirty(header);
        if self.faulty_unpersisted.contains(&header.op) {
            if self.journal.faulty(header.op) {
                // The header of an op faulty without one: now it can be made durable.
                self.outbox.push(Action::JournalWriteHeader { header });
            } else {
                self.faulty_unpersisted.remove(&header.op);
            }
        }
        self.synced_op = self.synced_op.min(header.op - 1);
        self.timestamp_max = self.timestamp_max.max(header.timestamp);
        if !extends_head {
            self.chain_low = None;
        }
    }

    /// Submits a journal write unless the same prepare is already being written.
    pub(crate) fn journal_write(&mut self, message: Message) {
        let key = (message.header().op, message.header().checksum);
        if self.journal_writing.insert(key) {
            self.outbox.push(Action::JournalWrite { message });
        }
    }

    pub(crate) fn on_prepare(&mut self, message: Message) {
        let header = *message.header();
        if header.view > self.view {
            self.request_start_view(header.view);
            return;
        }
        if self.status != Status::Normal {
            return;
        }
        if header.view == self.view && header.replica == self.primary() && !self.is_primary() {
            self.on_prepare_from_primary(message);
        } else {
            self.on_prepare_repair(message);
        }
    }

    fn on_prepare_from_primary(&mut self, message: Message) {
        let header = *message.header();
        self.normal_heartbeat_timeout.reset();
        self.commit_max = self.commit_max.max(header.commit);
        let ring_max = self.superblock.checkpoint.op + self.config.journal_slot_count;
        if header.op <= self.commit_min || header.op > ring_max {
            return; // Already applied, or beyond our ring: catch up first (or sync).
        }
        if self.journal.has_prepare(header.op, header.checksum) {
            self.send_prepare_ok(header.op); // A retransmission: the primary lost our ok.
            return;
        }
        // The primary answers request_prepare with its own prepare (same view, same
        // sender), so a repair it serves arrives here, not in `on_prepare_repair`: an op
        // already known committed, or a slot found damaged, is being repaired.
        if header.op <= self.commit_max || self.journal.faulty(header.op) {
            self.stats.prepares_repaired += 1;
        }
        let held = self.journal.header(header.op).copied();
        if held.is_none_or(|held| held.checksum != header.checksum) {
            // The current primary's prepare fills a gap or replaces a leftover of an older
            // view; entries above that do not chain onto it are repaired (never truncated
            // here: they may be this primary's own, received out of order).
            self.install_header(header);
        }
        self.op = self.op.max(header.op);
        if header.op == self.op {
            self.head_trusted = true;
        }
        self.cache_insert(message.clone());
        self.journal_write(message);
    }

    /// A backup acknowledges a prepare it holds, to the current primary only.
    pub(crate) fn send_prepare_ok(&mut self, op: u64) {
        if self.status != Status::Normal || self.is_primary() || !self.log_view_durable() {
            return;
        }
        let Some(prepare) = self.journal.header(op).copied() else { return };
        if !self.journal.has_prepare(op, prepare.checksum) || !self.prepare_durable(&prepare) {
            return;
        }
        let mut header = self.header(Command::PrepareOk);
        header.op = op;
        header.commit = self.commit_min;
        header.context = prepare.checksum;
        header.client = prepare.client;
        let primary = self.primary();
        self.send_header(primary, header);
    }

    /// A written prepare counts as held: always under `Replicated`, after a sync otherwise.
    pub(crate) fn prepare_durable(&self, prepare: &Header) -> bool {
        prepare.flags & FLAG_PERSISTED == 0 || prepare.op <= self.synced_op
    }

    pub(crate) fn on_prepare_ok(&mut self, header: &Header) {
        if header.view > self.view {
            self.request_start_view(header.view);
            return;
        }
        if !self.is_primary() || header.view != self.view {
            return;
        }
        let Some(entry) = self.pipeline.entry_mut(header.op) else { return };
        if entry.header.checksum != header.context {
            return;
        }
        entry.ok_from |= 1 << header.replica;
        self.commit_pipeline();
    }

    /// The primary counts its own copy once written (and synced, if persisted).
    pub(crate) fn primary_ok_self(&mut self, op: u64) {
        if !self.is_primary() {
            return;
        }
        let Some(prepare) = self.journal.header(op).copied() else { return };
        if !self.journal.has_prepare(op, prepare.checksum) || !self.prepare_durable(&prepare) {
            return;
        }
        let replica = self.config.replica;
        if let Some(entry) = self.pipeline.entry_mut(op)
            && entry.header.checksum == prepare.checksum
        {
            entry.ok_from |= 1 << replica;
        }
        self.commit_pipeline();
    }

    /// Raises `commit_max` over every pipeline prepare a replication quorum holds.
    pub(crate) fn commit_pipeline(&mut self) {
        let quorum = self.config.quorum_replication();
        let mut committed = self.commit_max;
        for entry in self.pipeline.prepares() {
            if entry.ok_count() < quorum {
                break; // A quorum holds it: committed, even if our own body awaits repair.
            }
            committed = committed.max(entry.header.op);
        }
        self.commit_max = committed;
    }

    pub(crate) fn on_commit(&mut self, header: &Header) {
        if header.view > self.view {
            self.request_start_view(header.view);
            return;
        }
        if header.view < self.view
            || self.status != Status::Normal
            || self.is_primary()
            || header.replica != self.primary()
        {
            return;
        }
        self.normal_heartbeat_timeout.reset();
        self.primary_checkpoint_op = header.checkpoint_op;
        if header.commit > self.commit_max {
            self.commit_max = header.commit;
        }
        if header.commit >= self.commit_min && header.context != 0 {
            self.commit_max_checksum = Some((header.commit, header.context));
        }
        // The primary still lacks a quorum above its commit: our prepare_oks may have been
        // lost. Repeat them (bounded by a pipeline); the primary needs no bodies for that.
        if self.op > header.commit {
            let pipeline_max = self.config.pipeline_prepare_queue_max as u64;
            for op in header.commit + 1..=self.op.min(header.commit + pipeline_max) {
                self.send_prepare_ok(op);
            }
        }
        self.maybe_start_sync(header.op);
    }

    /// The primary's heartbeat: its commit number and the checksum of that op, so a
    /// backup that missed prepares can fetch the head and repair backwards.
    pub(crate) fn send_commit_heartbeat(&mut self) {
        if !self.primary_ready() || !self.primary_has_quorum_contact() {
            return;
        }
        let mut header = self.header(Command::Commit);
        header.commit = self.commit_max;
        header.op = self.op;
        header.context = self.checksum_of(self.commit_max).unwrap_or(0);
        header.timestamp = self.ticks;
        self.broadcast(&Message::new(header, &[]));
    }

    /// True if enough backups were heard recently for the primary to be useful; a primary
    /// that cannot hear a quorum stops heartbeating so the backups elect another.
    fn primary_has_quorum_contact(&self) -> bool {
        let window = self.config.timeouts.primary_abdicate_ticks;
        let heard = (0..self.config.replica_count)
            .filter(|&replica| replica != self.config.replica)
            .filter(|&replica| {
                self.ticks.saturating_sub(self.last_heard_ticks[usize::from(replica)]) <= window
            })
            .count();
        heard + 1 >= self.config.quorum_replication() || self.ticks <= window
    }

    /// The primary resends prepares that still lack a quorum.
    pub(crate) fn resend_pipeline_prepares(&mut self) {
        let quorum = self.config.quorum_replication();
        let pending: Vec<_> =
            self.pipeline
                .prepares()
                .iter()
                .filter(|entry| entry.ok_count() < quorum)
                .filter_map(|entry| {
                    let message = entry.message.clone().or_else(|| {
                        self.cache_get(entry.header.op, entry.header.checksum).cloned()
                    });
                    message.map(|message| (message, entry.ok_from))
                })
                .collect();
        for (message, ok_from) in pending {
            for replica in 0..self.config.replica_count {
                if replica != self.config.replica && ok_from & (1 << replica) == 0 {
                    self.send(replica, message.clone());
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "normal_tests.rs"]
mod tests;
