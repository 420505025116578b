//! [`GroupDriver`]: the real driver of one consensus group — its `Replica`, its
//! `JournalStore` on the shard's disk, and the clients waiting for replies. The shape is
//! the simulator's `node.rs`: execute the replica's actions, feed completions back with
//! `on_io_done`, repeat until quiet.
//!
//! Two differences from the simulator: journal I/O shares one io_uring with the group's
//! partition logs (completions are routed by token in `shard/run.rs`), and a checkpoint
//! snapshot is written only after the state machine's own files are durable
//! ([`Machine::begin_checkpoint`]): the snapshot promises that replaying the journal from
//! its op rebuilds everything.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use vireo_consensus::driver::{execute_io, io_done};
use vireo_consensus::{Action, Replica, ReplicaConfig, RestartEvidence, StateMachine};
use vireo_protocol::vsr::{Command, Header, Message, Operation};
use vireo_storage::journal::{JournalEvent, JournalLayout, JournalStore};
use vireo_storage::{Completion, FileId, OpenMode, Storage};

use super::disk::{Disk, journal_tag};
use super::inbox::GroupReply;
use crate::metadata::MetadataMachine;
use crate::partition::{PartitionKey, PartitionMachine};

/// What the driver needs from a state machine beyond `StateMachine`.
pub trait Machine: StateMachine {
    /// Starts making the machine's own files durable up to the last applied op; returns
    /// what [`Self::checkpoint_ready`] waits for.
    fn begin_checkpoint(&mut self) -> Result<Vec<(PartitionKey, u64)>, String>;
    /// True once what `begin_checkpoint` started is durable.
    fn checkpoint_ready(&self, targets: &[(PartitionKey, u64)]) -> bool;
    /// An environment failure the machine met (the node must stop).
    fn take_failure(&mut self) -> Option<String>;
    /// Asserts the machine's invariants.
    fn check_machine(&self);
}

impl Machine for MetadataMachine {
    fn begin_checkpoint(&mut self) -> Result<Vec<(PartitionKey, u64)>, String> {
        Ok(Vec::new()) // All state is in the snapshot.
    }
    fn checkpoint_ready(&self, _: &[(PartitionKey, u64)]) -> bool {
        true
    }
    fn take_failure(&mut self) -> Option<String> {
        None
    }
    fn check_machine(&self) {
        self.check_invariants();
    }
}

impl Machine for PartitionMachine {
    fn begin_checkpoint(&mut self) -> Result<Vec<(PartitionKey, u64)>, String> {
        self.flush_all()
    }
    fn checkpoint_ready(&self, targets: &[(PartitionKey, u64)]) -> bool {
        self.flushed(targets)
    }
    fn take_failure(&mut self) -> Option<String> {
        PartitionMachine::take_failure(self)
    }
    fn check_machine(&self) {
        self.check_invariants();
    }
}

/// True if `reply` (a `Reply` or `Eviction`) answers `request`: a reply carries the
/// request's number, session (a register's reply names the new session) and body
/// checksum; an eviction names the session the request used.
#[must_use]
pub fn answers(reply: &Header, request: &Header) -> bool {
    match reply.command {
        Command::Reply => {
            reply.client == request.client
                && reply.request == request.request
                && (request.operation == Operation::REGISTER || reply.session == request.session)
                && reply.request_checksum == request.checksum_body
        }
        Command::Eviction => reply.client == request.client && reply.session == request.session,
        _ => false,
    }
}

/// A local client waiting for its reply, and the request it waits on (re-submitted
/// when a new view starts: the copy forwarded to the old primary may be lost).
#[derive(Debug)]
struct Waiter {
    reply: flume::Sender<GroupReply>,
    request: Message,
}

#[derive(Debug)]
struct PendingSnapshot {
    area: u8,
    snapshot: Vec<u8>,
    targets: Vec<(PartitionKey, u64)>,
}

/// Why a group could not start.
#[derive(Debug, thiserror::Error)]
pub enum GroupStartError {
    /// The data file could not be created, formatted or read.
    #[error("group {group} data file: {message}")]
    Storage {
        /// The group.
        group: u32,
        /// What failed.
        message: String,
    },
    /// The replica refused the recovered state.
    #[error("group {group}: {message}")]
    Open {
        /// The group.
        group: u32,
        /// Why.
        message: String,
    },
}

/// One consensus group on this shard.
#[derive(Debug)]
pub struct GroupDriver<S: Machine> {
    /// The group.
    pub group: u32,
    /// Its replica.
    pub replica: Replica<S>,
    store: JournalStore,
    file: FileId,
    waiting: HashMap<u128, Waiter>,
    /// The view in which the replica was last seen in normal status (see
    /// [`Self::resubmit_after_view_change`]).
    normal_view: Option<u32>,
    /// For a client whose request arrived over the replica bus: the node it came from,
    /// where its reply goes back (see `shard/replica_plane.rs`).
    origins: HashMap<u128, (u8, u64)>,
    snapshot_pending: Option<PendingSnapshot>,
    /// Ops applied since start (metrics).
    pub applied: u64,
}

/// The data file of `group`.
#[must_use]
pub fn data_file_name(group: u32) -> String {
    format!("group-{group}.vsr")
}

fn storage_error(group: u32) -> impl Fn(String) -> GroupStartError {
    move |message| GroupStartError::Storage { group, message }
}

/// Creates and formats `group`'s data file if it does not exist yet. Formatting goes to
/// a temporary name that is renamed into place once synced, so a crash mid-format never
/// leaves a half-formatted file under the real name.
pub fn ensure_formatted(
    disk: &mut Disk,
    data_dir: &Path,
    config: &ReplicaConfig,
    layout: &JournalLayout,
) -> Result<(), GroupStartError> {
    let group = config.group;
    let name = data_file_name(group);
    if data_dir.join(&name).exists() {
        return Ok(());
    }
    let error = storage_error(group);
    let temporary = format!("{name}.format");
    let storage = disk.journal();
    let file = storage.open(&temporary, OpenMode::Create).map_err(|e| error(e.to_string()))?;
    let state = Replica::<MetadataMachine>::format_state(config);
    JournalStore::format(storage, file, layout, &state).map_err(|e| error(e.to_string()))?;
    storage.close(file).map_err(|e| error(e.to_string()))?;
    std::fs::rename(data_dir.join(&temporary), data_dir.join(&name))
        .and_then(|()| std::fs::File::open(data_dir)?.sync_all())
        .map_err(|e| error(format!("rename {temporary}: {e}")))?;
    tracing::info!(group, bytes = layout.total_size_bytes(), "formatted data file");
    Ok(())
}

impl<S: Machine> GroupDriver<S> {
    /// Recovers the group's data file and opens its replica.
    ///
    /// `force_recover` is the operator's escape hatch (see `server/evidence.rs`): a
    /// replica that was left in `recovering_head` by an earlier start (the superblock
    /// records it) is opened as if its completed writes had survived, accepting the loss
    /// of acknowledged writes that were not synced.
    pub fn open(
        disk: &mut Disk,
        config: ReplicaConfig,
        layout: JournalLayout,
        machine: S,
        evidence: RestartEvidence,
        force_recover: bool,
        seed: u64,
    ) -> Result<Self, GroupStartError> {
        let group = config.group;
        let error = storage_error(group);
        let storage = disk.journal();
        let file = storage
            .open(&data_file_name(group), OpenMode::Existing)
            .map_err(|e| error(e.to_string()))?;
        let mut store =
            JournalStore::new(layout, file, config.message_size_max, journal_tag(group));
        let mut recovered = store.recover(storage).map_err(|e| error(e.to_string()))?;
        if force_recover && recovered.state.recovering_head {
            tracing::warn!(
                group,
                "--force-recover: leaving recovering_head; acknowledged writes that were not \
                 synced before the crash may be lost"
            );
            recovered.state.recovering_head = false;
        }
        let replica = Replica::open(config, machine, recovered, evidence, seed)
            .map_err(|e| GroupStartError::Open { group, message: e.to_string() })?;
        replica.check_invariants();
        Ok(Self {
            group,
            replica,
            store,
            file,
            waiting: HashMap::new(),
            normal_view: None,
            origins: HashMap::new(),
            snapshot_pending: None,
            applied: 0,
        })
    }

    /// The journal's file (the shutdown sync).
    #[must_use]
    pub fn file(&self) -> FileId {
        self.file
    }

    /// Remembers who waits for `client`'s reply to `request` (one request in flight per
    /// client).
    pub fn wait_for(&mut self, client: u128, reply: flume::Sender<GroupReply>, request: Message) {
        self.waiting.insert(client, Waiter { reply, request });
    }

    /// Takes the local waiter that `reply` (a reply or eviction) answers, if any. A reply
    /// to an *earlier* request of the same client — a duplicate from a re-send, arriving
    /// after the client moved on — answers nothing and leaves the waiter in place.
    pub fn take_waiter(&mut self, reply: &Header) -> Option<flume::Sender<GroupReply>> {
        let waiter = self.waiting.get(&reply.client)?;
        if !answers(reply, waiter.request.header()) {
            return None;
        }
        self.waiting.remove(&reply.client).map(|waiter| waiter.reply)
    }

    /// In a cluster, when the replica enters normal status in a new view, submits every
    /// waiting local request again: a backup forwarded it to the old primary, which may
    /// have died with it, and waiting for the origin's periodic re-send would stretch the
    /// failover. The client table answers a request that did commit. Returns true if it
    /// submitted any.
    pub fn resubmit_after_view_change(&mut self) -> bool {
        if self.replica.config().replica_count == 1
            || self.replica.status() != vireo_consensus::Status::Normal
        {
            return false;
        }
        let view = self.replica.view();
        let previous = self.normal_view.replace(view);
        if previous.is_none_or(|previous| previous == view) || self.waiting.is_empty() {
            return false;
        }
        let requests: Vec<Message> =
            self.waiting.values().map(|waiter| waiter.request.clone()).collect();
        for request in requests {
            self.replica.on_request(request);
        }
        true
    }

    /// Remembers that `client`'s request number `request` came over the bus from replica
    /// `from`. Bounded: when the map is full it is cleared; a client whose entry was lost
    /// gets no reply from this node, and its origin re-sends (the client table answers the
    /// retry).
    pub fn remember_origin(&mut self, client: u128, from: u8, request: u64) {
        let bound = self.replica.config().clients_max + self.replica.config().request_queue_max;
        if self.origins.len() >= bound && !self.origins.contains_key(&client) {
            self.origins.clear();
        }
        self.origins.insert(client, (from, request));
    }

    /// The node a remote client's reply goes back to. The entry stays until the reply to
    /// the latest forwarded request goes out: a late reply to an earlier request (a new
    /// primary committing its predecessor's pipeline) must not consume it.
    pub fn take_origin(&mut self, reply: &Header) -> Option<u8> {
        let &(node, request) = self.origins.get(&reply.client)?;
        if reply.command == Command::Eviction || reply.request >= request {
            self.origins.remove(&reply.client);
        }
        Some(node)
    }

    /// A reply to an earlier request of `client` arrived while it waits for a later one:
    /// the primary was busy with the earlier request (one request per client in flight)
    /// and dropped the later one, so submit it again now. Returns true if it did.
    pub fn resubmit_waiting(&mut self, client: u128) -> bool {
        let Some(request) = self.waiting.get(&client).map(|waiter| waiter.request.clone()) else {
            return false;
        };
        self.replica.on_request(request);
        true
    }

    /// Forgets waiters that gave up (timed out or disconnected).
    pub fn prune_waiting(&mut self) {
        self.waiting.retain(|_, waiter| !waiter.reply.is_disconnected());
    }

    /// Executes every pending action. Replies to local clients are collected into
    /// `replies` for the shard to deliver (it attaches the metadata view); sends and
    /// replies to clients of other nodes go to the replica `bus`. Returns true if any
    /// action ran.
    pub fn execute(
        &mut self,
        disk: &RefCell<Disk>,
        bus: Option<&crate::bus::Bus>,
        replies: &mut Vec<(flume::Sender<GroupReply>, Message)>,
    ) -> Result<bool, String> {
        let actions: Vec<Action> = self.replica.drain_actions().collect();
        let progress = !actions.is_empty();
        let mut stale = Vec::new();
        for action in actions {
            match action {
                Action::Send { replica, message } => match bus {
                    Some(bus) => {
                        bus.send(replica, message);
                    }
                    None => {
                        tracing::warn!(group = self.group, replica, "no replica bus: dropped send");
                    }
                },
                Action::Reply { message } => {
                    let client = message.header().client;
                    let keep = message.header().command == Command::Reply
                        || message.header().command == Command::Eviction;
                    if !keep {
                        continue;
                    }
                    let header = *message.header();
                    if self.waiting.contains_key(&client) {
                        // Local: deliver only what answers the waiting request.
                        if let Some(reply) = self.take_waiter(&header) {
                            replies.push((reply, message));
                        } else {
                            stale.push(client);
                        }
                    } else if let Some(bus) = bus
                        && let Some(origin) = self.take_origin(&header)
                    {
                        bus.send(origin, message);
                    }
                }
                Action::SnapshotWrite { area, snapshot, .. } => {
                    assert!(self.snapshot_pending.is_none(), "one checkpoint at a time");
                    let targets = self.replica.state_machine_mut().begin_checkpoint()?;
                    self.snapshot_pending = Some(PendingSnapshot { area, snapshot, targets });
                }
                Action::Applied { .. } => self.applied += 1,
                Action::StateSynced { op } => {
                    tracing::info!(group = self.group, op, "state transfer installed");
                }
                io => {
                    let executed = execute_io(&mut self.store, disk.borrow_mut().journal(), &io);
                    assert!(executed, "every other action is journal I/O");
                }
            }
        }
        for client in stale {
            self.resubmit_waiting(client);
        }
        self.advance_checkpoint(disk);
        Ok(progress)
    }

    /// Writes the pending snapshot once the machine's files are durable.
    fn advance_checkpoint(&mut self, disk: &RefCell<Disk>) {
        let ready = self
            .snapshot_pending
            .as_ref()
            .is_some_and(|pending| self.replica.state_machine().checkpoint_ready(&pending.targets));
        if ready {
            let pending = self.snapshot_pending.take().expect("checked");
            self.store.write_snapshot(disk.borrow_mut().journal(), pending.area, &pending.snapshot);
        }
    }

    /// Handles a completion of this group's journal and feeds the resulting events.
    pub fn on_journal_completion(&mut self, disk: &RefCell<Disk>, completion: Completion) {
        let mut events = Vec::new();
        self.store.on_completion(disk.borrow_mut().journal(), completion, &mut events);
        self.feed(events);
    }

    /// Feeds events produced without I/O (and re-checks a waiting checkpoint). Returns
    /// true if any event was fed.
    pub fn feed_ready(&mut self, disk: &RefCell<Disk>) -> bool {
        self.advance_checkpoint(disk);
        let mut events = Vec::new();
        self.store.poll_ready(&mut events);
        let progress = !events.is_empty();
        self.feed(events);
        progress
    }

    fn feed(&mut self, events: Vec<JournalEvent>) {
        for event in events {
            self.replica.on_io_done(io_done(event));
        }
    }

    /// Asserts the driver's invariants: the replica's, the machine's, and that every
    /// waiting client is a distinct session (one request in flight per client).
    pub fn check_invariants(&self) {
        self.replica.check_invariants();
        self.replica.state_machine().check_machine();
        assert!(
            self.waiting.len()
                <= self.replica.config().clients_max + self.replica.config().request_queue_max,
            "more waiting clients than sessions and queued requests"
        );
        if let Some(pending) = &self.snapshot_pending {
            assert!(pending.area < 2, "snapshot areas alternate between 0 and 1");
        }
    }

    /// Journal I/Os in flight.
    #[must_use]
    pub fn journal_in_flight(&self) -> usize {
        self.store.in_flight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(session: u64, number: u64, body: &[u8]) -> Message {
        let mut header = Header::new(Command::Request);
        header.client = 7;
        header.session = session;
        header.request = number;
        header.operation = Operation(Operation::USER_MIN);
        Message::new(header, body)
    }

    fn reply_to(request: &Message) -> Header {
        let mut header = Header::new(Command::Reply);
        header.client = request.header().client;
        header.session = request.header().session;
        header.request = request.header().request;
        header.request_checksum = request.header().checksum_body;
        header
    }

    #[test]
    fn only_the_answer_to_the_waiting_request_is_delivered() {
        let first = request(5, 1, b"a");
        let second = request(5, 2, b"a");
        assert!(answers(&reply_to(&first), first.header()));
        assert!(
            !answers(&reply_to(&first), second.header()),
            "a duplicate reply to request 1 must not answer request 2"
        );
        let other_session = request(9, 1, b"a");
        assert!(!answers(&reply_to(&first), other_session.header()), "old session's reply");
        let other_body = request(5, 1, b"b");
        assert!(!answers(&reply_to(&first), other_body.header()));
        let mut eviction = Header::new(Command::Eviction);
        eviction.client = 7;
        eviction.session = 5;
        assert!(answers(&eviction, second.header()));
        eviction.session = 4;
        assert!(!answers(&eviction, second.header()), "eviction of an older session");
    }
}
