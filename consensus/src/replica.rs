//! The replica: its state, its inputs, and the helpers every protocol phase shares.
//!
//! Protocol phases live in sibling files, each adding `impl Replica` blocks:
//! `normal.rs` (request → prepare → prepare_ok → commit), `commit.rs` (applying committed
//! ops, replies, checkpoints), `view_change.rs` (start_view_change, do_view_change,
//! start_view), `repair.rs` (headers and prepares from peers), `recovery.rs` (restart,
//! recovering_head), `sync.rs` (state transfer), `io.rs` (completions), `tick.rs`
//! (timeouts) and `invariants.rs`.

use std::collections::{BTreeMap, BTreeSet};

use vireo_protocol::vsr::{Checksum, Command, Header, Message, Operation};
use vireo_storage::journal::Journal;
use vireo_storage::superblock::{CheckpointState, VsrState};

use crate::action::Action;
use crate::client_table::ClientTable;
use crate::config::ReplicaConfig;
use crate::pipeline::Pipeline;
use crate::prng::Prng;
use crate::state_machine::StateMachine;
use crate::sync::SyncState;
use crate::timeout::Timeout;

/// Where a replica stands in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Serving in `view`: the primary orders requests, backups journal and acknowledge.
    Normal,
    /// A quorum agreed to leave the previous view; waiting for the new primary's log.
    ViewChange,
    /// Restarted without proof of what it acknowledged before the crash (unsynced journal
    /// writes may be lost): it casts no votes and sends no prepare_ok until a start_view
    /// that provably postdates the crash (a higher view, or its nonce echoed).
    RecoveringHead,
}

/// Evidence about the journal's contents after a restart, provided by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartEvidence {
    /// Every completed journal write is still readable (same OS boot: the process died
    /// but the kernel and disk kept its writes; or a clean shutdown synced them).
    CompletedWritesKept,
    /// Unsynced writes may be lost (power loss, kernel crash, a new boot).
    UnsyncedWritesMayBeLost,
}

/// Counters exposed to drivers, metrics and the simulator's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicaStats {
    /// View changes completed (entered normal status in a new view).
    pub view_changes: u64,
    /// Prepares received as repair and written.
    pub prepares_repaired: u64,
    /// Headers installed by repair.
    pub headers_repaired: u64,
    /// Journal slots found faulty (damaged or unreadable, may have been acknowledged) when
    /// the replica opened, before any were marked for a lost-writes restart.
    pub faulty_at_recovery: u64,
    /// State transfers completed.
    pub syncs: u64,
    /// Checkpoints completed.
    pub checkpoints: u64,
    /// Requests answered from the client table (retries).
    pub replies_cached: u64,
    /// Sessions evicted.
    pub evictions: u64,
    /// Messages dropped as invalid for their state (stale views, wrong sender, …).
    pub messages_ignored: u64,
}

/// A Viewstamped Replication replica of one consensus group.
#[derive(Debug)]
pub struct Replica<S: StateMachine> {
    pub(crate) config: ReplicaConfig,
    pub(crate) state_machine: S,
    pub(crate) prng: Prng,
    pub(crate) outbox: Vec<Action>,
    pub(crate) stats: ReplicaStats,

    pub(crate) status: Status,
    pub(crate) view: u32,
    pub(crate) log_view: u32,
    /// The head: highest op with a header in the journal.
    pub(crate) op: u64,
    /// Every op ≤ this is applied to the state machine.
    pub(crate) commit_min: u64,
    /// Checksum of the prepare at `commit_min` (the anchor of the chain above it).
    pub(crate) commit_min_checksum: Checksum,
    /// Highest op known to be committed.
    pub(crate) commit_max: u64,
    /// The current primary's statement of `commit_max`'s checksum, for catching up.
    pub(crate) commit_max_checksum: Option<(u64, Checksum)>,
    /// The current primary's latest checkpoint, from its heartbeats.
    pub(crate) primary_checkpoint_op: u64,
    /// Repair rounds since `commit_min` last moved while behind `commit_max`.
    pub(crate) repair_rounds_stalled: u64,
    pub(crate) repair_commit_min_seen: u64,
    /// The head is known to lie on the current view's chain (see `commit.rs`).
    pub(crate) head_trusted: bool,
    /// Cached result of `chain_low` (reset whenever a header changes off the head).
    pub(crate) chain_low: Option<u64>,
    /// Highest prepare timestamp seen; the next prepare's timestamp exceeds it.
    pub(crate) timestamp_max: u64,
    pub(crate) journal: Journal,
    /// Prepares kept in memory (bounded), so commits and repairs rarely read the disk.
    pub(crate) cache: BTreeMap<u64, Message>,
    /// Journal writes submitted and not yet completed.
    pub(crate) journal_writing: BTreeSet<(u64, Checksum)>,
    pub(crate) client_table: ClientTable,
    pub(crate) pipeline: Pipeline,

    // Durability.
    pub(crate) superblock: VsrState,
    pub(crate) superblock_writing: Option<VsrState>,
    pub(crate) superblock_queued: bool,
    /// False from start-up until the first superblock write completes (see
    /// [`Replica::superblock_durable`]).
    pub(crate) superblock_synced: bool,
    pub(crate) synced_op: u64,
    pub(crate) sync_in_flight: Option<u64>,
    pub(crate) journal_sync_wanted: bool,
    /// The view whose start this primary has announced (start_view, timers).
    pub(crate) view_started: Option<u32>,
    pub(crate) checkpoint: CheckpointState,
    /// The durable checkpoint's snapshot, served to replicas that state-sync.
    pub(crate) checkpoint_snapshot: Vec<u8>,
    /// The snapshot being written, until the superblock naming it is durable.
    pub(crate) checkpoint_snapshot_pending: Vec<u8>,
    pub(crate) checkpoint_writing: Option<(u64, Checksum)>,
    /// Ops in `(faulty_floor_op, faulty_ceiling_op]` not held intact may have been
    /// acknowledged before a crash that lost them: they are marked faulty when installed.
    pub(crate) faulty_floor_op: u64,
    /// Ops marked faulty whose header is not yet durably in the header ring (unknown, or
    /// its write in flight). While any remain, the superblock keeps `recovering_head`, so a
    /// crash cannot make the replica forget it may have acknowledged them.
    pub(crate) faulty_unpersisted: BTreeSet<u64>,

    // View change.
    pub(crate) start_view_change_votes: BTreeMap<u32, u8>,
    pub(crate) do_view_change_from: BTreeMap<u8, Message>,
    pub(crate) nonce: u128,
    /// A higher view peers report (from pings), and since when.
    pub(crate) higher_view: Option<(u32, u64)>,
    /// A checkpoint is wanted now, not at the next interval: our ring is too short for
    /// a view or a commit point we must reach (see `want_checkpoint`).
    pub(crate) checkpoint_wanted: bool,
    /// A start_view to ask for again once that checkpoint is durable.
    pub(crate) start_view_after_checkpoint: Option<u32>,

    // Reads in flight: commit and repair serving.
    pub(crate) commit_reading: Option<u64>,
    pub(crate) repair_reads: BTreeMap<(u64, Checksum), u8>,
    pub(crate) sync: Option<SyncState>,

    // Liveness bookkeeping.
    pub(crate) ticks: u64,
    pub(crate) last_heard_ticks: Vec<u64>,
    pub(crate) ping_timeout: Timeout,
    pub(crate) prepare_timeout: Timeout,
    pub(crate) commit_message_timeout: Timeout,
    pub(crate) normal_heartbeat_timeout: Timeout,
    pub(crate) view_change_message_timeout: Timeout,
    pub(crate) view_change_status_timeout: Timeout,
    pub(crate) repair_timeout: Timeout,
    pub(crate) request_start_view_timeout: Timeout,
    pub(crate) journal_sync_timeout: Timeout,
    pub(crate) sync_timeout: Timeout,
}

/// Most prepares kept in the in-memory cache beyond the pipeline.
pub const PREPARE_CACHE_MAX: usize = 64;
/// Most views ahead of ours for which start_view_change votes are tracked.
pub const VOTE_VIEWS_MAX: u32 = 16;
/// Most headers in one `Headers` reply or `RequestHeaders` range.
pub const HEADERS_BATCH_MAX: u64 = 32;
/// Most prepares requested per repair tick.
pub const REPAIR_PREPARES_PER_TICK_MAX: usize = 8;
/// Most concurrent journal reads on behalf of peers' repair requests.
pub const REPAIR_READS_MAX: usize = 16;
/// Repair rounds without applying anything before a lagging backup gives up on repair
/// and fetches the primary's checkpoint instead (its ops may have left every peer's ring).
pub const REPAIR_ROUNDS_BEFORE_SYNC: u64 = 40;

impl<S: StateMachine> Replica<S> {
    pub(crate) fn new_inner(
        config: ReplicaConfig,
        state_machine: S,
        superblock: VsrState,
        seed: u64,
    ) -> Self {
        config.validate().expect("replica config is validated by the caller");
        assert!(config.pipeline_prepare_queue_max <= crate::config::PIPELINE_MAX);
        let timeouts = config.timeouts;
        let replicas = usize::from(config.replica_count);
        let mut prng = Prng::new(seed ^ u64::from(config.replica) << 56 ^ u64::from(config.group));
        let nonce = prng.nonce();
        Self {
            journal: Journal::new(config.journal_slot_count),
            client_table: ClientTable::new(config.clients_max),
            pipeline: Pipeline::new(config.pipeline_prepare_queue_max, config.request_queue_max),
            state_machine,
            prng,
            outbox: Vec::new(),
            stats: ReplicaStats::default(),
            status: Status::Normal,
            view: superblock.view,
            log_view: superblock.log_view,
            op: 0,
            commit_min: 0,
            commit_min_checksum: 0,
            commit_max: superblock.commit_max,
            commit_max_checksum: None,
            primary_checkpoint_op: 0,
            repair_rounds_stalled: 0,
            repair_commit_min_seen: 0,
            head_trusted: false,
            chain_low: None,
            timestamp_max: 0,
            cache: BTreeMap::new(),
            journal_writing: BTreeSet::new(),
            synced_op: superblock.synced_op,
            sync_in_flight: None,
            journal_sync_wanted: false,
            view_started: None,
            checkpoint: superblock.checkpoint,
            checkpoint_snapshot: Vec::new(),
            checkpoint_snapshot_pending: Vec::new(),
            checkpoint_writing: None,
            faulty_floor_op: u64::MAX,
            faulty_unpersisted: BTreeSet::new(),
            superblock,
            superblock_writing: None,
            superblock_queued: false,
            superblock_synced: false,
            start_view_change_votes: BTreeMap::new(),
            do_view_change_from: BTreeMap::new(),
            nonce,
            higher_view: None,
            checkpoint_wanted: false,
            start_view_after_checkpoint: None,
            commit_reading: None,
            repair_reads: BTreeMap::new(),
            sync: None,
            ticks: 0,
            last_heard_ticks: vec![0; replicas],
            ping_timeout: Timeout::new("ping", timeouts.ping_ticks),
            prepare_timeout: Timeout::new("prepare", timeouts.prepare_ticks),
            commit_message_timeout: Timeout::new("commit_message", timeouts.commit_message_ticks),
            normal_heartbeat_timeout: Timeout::new(
                "normal_heartbeat",
                timeouts.normal_heartbeat_ticks,
            ),
            view_change_message_timeout: Timeout::new(
                "view_change_message",
                timeouts.view_change_message_ticks,
            ),
            view_change_status_timeout: Timeout::new(
                "view_change_status",
                timeouts.view_change_status_ticks,
            ),
            repair_timeout: Timeout::new("repair", timeouts.repair_ticks),
            request_start_view_timeout: Timeout::new(
                "request_start_view",
                timeouts.request_start_view_ticks,
            ),
            journal_sync_timeout: Timeout::new("journal_sync", timeouts.journal_sync_ticks),
            sync_timeout: Timeout::new("sync", timeouts.sync_ticks),
            config,
        }
    }

    // ---- Inputs -------------------------------------------------------------------------

    /// A message from another replica (or a forwarded client request).
    pub fn on_message(&mut self, message: Message) {
        let header = *message.header();
        if !self.valid_sender(&header) {
            self.stats.messages_ignored += 1;
            return;
        }
        if header.command != Command::Request && header.command != Command::Prepare {
            self.last_heard_ticks[usize::from(header.replica)] = self.ticks;
        }
        match header.command {
            Command::Ping => self.on_ping(&header),
            Command::Pong => {}
            Command::Request => self.on_request(message),
            Command::Prepare => self.on_prepare(message),
            Command::PrepareOk => self.on_prepare_ok(&header),
            Command::Commit => self.on_commit(&header),
            Command::StartViewChange => self.on_start_view_change(&header),
            Command::DoViewChange => self.on_do_view_change(message),
            Command::StartView => self.on_start_view(&message),
            Command::RequestStartView => self.on_request_start_view(&header),
            Command::RequestHeaders => self.on_request_headers(&header),
            Command::Headers => self.on_headers(&message),
            Command::RequestPrepare => self.on_request_prepare(&header),
            Command::RequestSyncChunk => self.on_request_sync_chunk(&header),
            Command::SyncChunk => self.on_sync_chunk(&message),
            // Partition data transfer is the node's, outside consensus (the bus routes it
            // to the partition machine; it never reaches a replica).
            Command::Reply
            | Command::Eviction
            | Command::RequestPartitionData
            | Command::PartitionData => self.stats.messages_ignored += 1,
        }
        self.after_event();
    }

    /// One tick of time.
    pub fn on_tick(&mut self) {
        self.ticks += 1;
        self.tick_timeouts();
        self.after_event();
    }

    /// Takes every pending action, in the order they were emitted.
    pub fn drain_actions(&mut self) -> std::vec::Drain<'_, Action> {
        self.outbox.drain(..)
    }

    /// Pending actions, without taking them.
    #[must_use]
    pub fn actions(&self) -> &[Action] {
        &self.outbox
    }

    fn valid_sender(&self, header: &Header) -> bool {
        if header.cluster != self.config.cluster || header.group != self.config.group {
            return false;
        }
        match header.command {
            // A client request forwarded by a backup (or sent directly: u8::MAX).
            Command::Request => header.client != 0,
            // A prepare travels verbatim: `replica` names the primary that prepared it,
            // which may be this replica (a repair answer for our own old prepare).
            Command::Prepare => header.replica < self.config.replica_count,
            _ => {
                header.replica < self.config.replica_count && header.replica != self.config.replica
            }
        }
    }

    pub(crate) fn after_event(&mut self) {
        self.commit_journal();
        self.maybe_checkpoint();
        // Queued requests wait on several conditions (pipeline room, a durable view, a
        // checkpoint freeing the ring, catching up); whichever cleared, drain them now.
        if self.is_primary() && self.pipeline.requests_len() > 0 {
            self.primary_pipeline_next();
        }
    }

    // ---- Accessors ----------------------------------------------------------------------

    /// The replica's status.
    #[must_use]
    pub fn status(&self) -> Status {
        self.status
    }

    /// The current view.
    #[must_use]
    pub fn view(&self) -> u32 {
        self.view
    }

    /// The latest view in which the status was normal.
    #[must_use]
    pub fn log_view(&self) -> u32 {
        self.log_view
    }

    /// The head op.
    #[must_use]
    pub fn op(&self) -> u64 {
        self.op
    }

    /// Highest applied op.
    #[must_use]
    pub fn commit_min(&self) -> u64 {
        self.commit_min
    }

    /// Highest op known committed.
    #[must_use]
    pub fn commit_max(&self) -> u64 {
        self.commit_max
    }

    /// The latest durable checkpoint.
    #[must_use]
    pub fn checkpoint(&self) -> &CheckpointState {
        &self.checkpoint
    }

    /// This replica's index.
    #[must_use]
    pub fn replica(&self) -> u8 {
        self.config.replica
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ReplicaConfig {
        &self.config
    }

    /// True if this replica is the primary of its view and in normal status.
    #[must_use]
    pub fn is_primary(&self) -> bool {
        self.status == Status::Normal && self.primary_index(self.view) == self.config.replica
    }

    /// The primary of the current view.
    #[must_use]
    pub fn primary(&self) -> u8 {
        self.primary_index(self.view)
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &ReplicaStats {
        &self.stats
    }

    /// The state machine.
    #[must_use]
    pub fn state_machine(&self) -> &S {
        &self.state_machine
    }

    /// The state machine, mutably (drivers flush its files at checkpoints).
    pub fn state_machine_mut(&mut self) -> &mut S {
        &mut self.state_machine
    }

    /// The journal index.
    #[must_use]
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The client table.
    #[must_use]
    pub fn client_table(&self) -> &ClientTable {
        &self.client_table
    }

    /// The durable superblock state.
    #[must_use]
    pub fn superblock(&self) -> &VsrState {
        &self.superblock
    }

    /// Why this replica cannot make progress on its own, if that is the case: a restart
    /// lost unsynced journal writes and no current primary has answered yet. When a whole
    /// quorum reports this at once, acknowledged writes may be lost and the cluster stalls
    /// by design (the operator decides; see the crate docs).
    #[must_use]
    pub fn stall_reason(&self) -> Option<&'static str> {
        (self.status == Status::RecoveringHead).then_some(
            "recovering_head: restarted after losing unsynced journal writes; waiting for a \
             start_view from the current primary that postdates the crash",
        )
    }

    // ---- Shared helpers -----------------------------------------------------------------

    pub(crate) fn primary_index(&self, view: u32) -> u8 {
        self.config.primary_index(view)
    }

    pub(crate) fn is_primary_of(&self, view: u32) -> bool {
        self.primary_index(view) == self.config.replica
    }

    /// A header of `command` stamped with cluster, group, sender and view.
    pub(crate) fn header(&self, command: Command) -> Header {
        let mut header = Header::new(command);
        header.cluster = self.config.cluster;
        header.group = self.config.group;
        header.replica = self.config.replica;
        header.view = self.view;
        header.checkpoint_op = self.superblock.checkpoint.op; // What peers can fetch.
        header
    }

    pub(crate) fn send(&mut self, replica: u8, message: Message) {
        assert_ne!(replica, self.config.replica, "never send to self");
        assert!(replica < self.config.replica_count);
        self.outbox.push(Action::Send { replica, message });
    }

    pub(crate) fn send_header(&mut self, replica: u8, header: Header) {
        self.send(replica, Message::new(header, &[]));
    }

    pub(crate) fn broadcast(&mut self, message: &Message) {
        for replica in 0..self.config.replica_count {
            if replica != self.config.replica {
                self.send(replica, message.clone());
            }
        }
    }

    /// The header of `op` in the journal, or the checkpoint's anchor at `commit_min`.
    pub(crate) fn checksum_of(&self, op: u64) -> Option<Checksum> {
        if op == self.commit_min {
            return Some(self.commit_min_checksum);
        }
        self.journal.header(op).map(|header| header.checksum)
    }

    /// Adds a prepare to the bounded cache, evicting the oldest applied ones first.
    pub(crate) fn cache_insert(&mut self, message: Message) {
        let op = message.header().op;
        self.cache.insert(op, message);
        while self.cache.len() > PREPARE_CACHE_MAX + self.config.pipeline_prepare_queue_max {
            let oldest = *self.cache.keys().next().expect("non-empty");
            self.cache.remove(&oldest);
        }
    }

    /// The cached prepare `(op, checksum)`, if held.
    pub(crate) fn cache_get(&self, op: u64, checksum: Checksum) -> Option<&Message> {
        self.cache.get(&op).filter(|message| message.header().checksum == checksum)
    }

    /// Durably records the current view, log_view, commit, checkpoint and view headers.
    /// Writes are serialized: a change during a write is written right after it.
    pub(crate) fn persist(&mut self) {
        if self.superblock_writing.is_some() {
            self.superblock_queued = true;
            return;
        }
        let mut state = self.superblock.clone();
        state.sequence += 1;
        state.view = self.view;
        state.log_view = self.log_view;
        state.commit_max = self.commit_max.max(state.commit_max).max(self.checkpoint.op);
        state.synced_op = self.synced_op;
        state.checkpoint = self.checkpoint;
        state.clean_shutdown = false;
        state.recovering_head =
            self.status == Status::RecoveringHead || !self.faulty_unpersisted.is_empty();
        state.view_headers = self.view_headers();
        self.superblock_writing = Some(state.clone());
        self.outbox.push(Action::SuperblockWrite { state: Box::new(state) });
    }

    /// The suffix of the log that a view change installed or would install: headers of
    /// ops `max(op - pipeline, checkpoint + 1)..=op` that the journal holds.
    pub(crate) fn view_headers(&self) -> Vec<Header> {
        let low = self.op.saturating_sub(self.config.pipeline_prepare_queue_max as u64).max(1);
        (low..=self.op).filter_map(|op| self.journal.header(op).copied()).collect()
    }

    /// True once `view` is durable (messages of that view may be sent).
    pub(crate) fn view_durable(&self) -> bool {
        self.superblock_synced && self.superblock.view == self.view
    }

    /// True once `log_view` is durable (start_view and prepare_ok may be sent).
    pub(crate) fn log_view_durable(&self) -> bool {
        self.view_durable() && self.superblock.log_view == self.log_view
    }

    /// The superblock state known to be on stable storage: `None` right after a restart,
    /// until this replica's first superblock write completes — the copy read at start-up
    /// may have been written but never synced (a process crash keeps such writes, a power
    /// loss does not), so nothing may depend on it yet.
    #[must_use]
    pub fn superblock_durable(&self) -> Option<&VsrState> {
        self.superblock_synced.then_some(&self.superblock)
    }

    /// Headers of ops `low..=high` held in the journal, ascending.
    pub(crate) fn headers_between(&self, low: u64, high: u64) -> Vec<Header> {
        (low..=high).filter_map(|op| self.journal.header(op).copied()).collect()
    }

    /// A register or user request's operation is one the replica accepts from clients.
    pub(crate) fn client_operation_valid(operation: Operation) -> bool {
        operation == Operation::REGISTER || operation.is_user()
    }
}
