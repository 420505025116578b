//! Test fixture for the per-handler unit tests (`*_tests.rs`): a replica on a real
//! `JournalStore` over `MemoryStorage`, whose I/O the test completes by hand, plus a
//! tiny state machine and the headers a test expects, stamped field by field.
//!
//! The style is openraft's `accept_vote_test.rs`: build a replica, feed it one input,
//! compare the exact actions it emits. I/O never runs by itself: `execute` performs the
//! journal and superblock actions on the store and returns their completions, which the
//! test feeds back with `complete` — so every step between an I/O and the message it
//! gates is visible.

use vireo_protocol::vsr::{Command, Header, HeadersBody, Message, Operation};
use vireo_storage::journal::JournalStore;
use vireo_storage::{MemoryStorage, OpenMode, Storage};

use crate::action::{Action, IoDone};
use crate::config::ReplicaConfig;
use crate::replica::{Replica, RestartEvidence};
use crate::state_machine::{ApplyContext, RestoreError, StateMachine};

/// The journal file's name on every fixture disk.
pub(crate) const FILE: &str = "group-0.vsr";

/// The user operation of [`Counter`]: add the body's length, reply with the new total.
pub(crate) const ADD: Operation = Operation(Operation::USER_MIN);

/// A tiny deterministic state machine: a running total of body lengths and the ops
/// applied, so a test sees both what was applied and in which order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counter {
    pub(crate) total: u64,
    pub(crate) ops: Vec<u64>,
    /// Not ready to apply (as a machine still fetching data after a state transfer).
    pub(crate) hold: bool,
}

impl StateMachine for Counter {
    fn apply(&mut self, context: &ApplyContext, body: &[u8], reply: &mut Vec<u8>) {
        self.total += body.len() as u64;
        self.ops.push(context.op);
        reply.extend_from_slice(&self.total.to_le_bytes());
    }

    fn snapshot(&self) -> Vec<u8> {
        self.total.to_le_bytes().to_vec()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError> {
        let bytes: [u8; 8] =
            snapshot.try_into().map_err(|_| RestoreError { reason: "counter snapshot size" })?;
        self.total = u64::from_le_bytes(bytes);
        self.ops.clear();
        Ok(())
    }

    fn apply_ready(&self) -> bool {
        !self.hold
    }
}

/// One replica, its disk and its journal store.
pub(crate) struct Node {
    pub(crate) replica: Replica<Counter>,
    pub(crate) storage: MemoryStorage,
    store: JournalStore,
}

/// A freshly formatted disk for `config`.
pub(crate) fn formatted(config: &ReplicaConfig) -> MemoryStorage {
    let mut storage = MemoryStorage::new();
    let file = storage.open(FILE, OpenMode::Create).expect("create journal");
    let state = Replica::<Counter>::format_state(config);
    JournalStore::format(&mut storage, file, &config.journal_layout(), &state).expect("format");
    storage
}

impl Node {
    /// Opens a replica on `storage` (recovery, then `Replica::open`). Its start-up
    /// actions (at least the superblock write) are left pending: see [`Node::take`].
    pub(crate) fn open(
        config: ReplicaConfig,
        mut storage: MemoryStorage,
        evidence: RestartEvidence,
    ) -> Self {
        let file = storage.open(FILE, OpenMode::Existing).expect("journal exists");
        let mut store =
            JournalStore::new(config.journal_layout(), file, config.message_size_max, 0);
        let recovered = store.recover(&mut storage).expect("recover");
        let seed = 7 + u64::from(config.replica);
        let replica =
            Replica::open(config, Counter::default(), recovered, evidence, seed).expect("open");
        Self { replica, storage, store }
    }

    /// A fresh replica `index` of `count`, its start-up I/O done and its actions dropped.
    pub(crate) fn fresh(index: u8, count: u8) -> Self {
        Self::fresh_with(ReplicaConfig::test(index, count))
    }

    /// A fresh replica with `config`, settled like [`Node::fresh`].
    pub(crate) fn fresh_with(config: ReplicaConfig) -> Self {
        let storage = formatted(&config);
        let mut node = Self::open(config, storage, RestartEvidence::CompletedWritesKept);
        node.settle();
        node
    }

    /// The process restarts on the same disk (every completed write kept: `MemoryStorage`
    /// loses nothing), telling recovery `evidence`. Start-up actions are left pending.
    pub(crate) fn restart(self, evidence: RestartEvidence) -> Self {
        let config = self.replica.config().clone();
        Self::open(config, self.storage.restarted(), evidence)
    }

    /// Flips a byte in the body of `op`'s prepare slot on disk (the redundant header stays
    /// intact): after a restart, recovery finds the slot faulty.
    pub(crate) fn corrupt_prepare(&mut self, op: u64) {
        let layout = self.replica.config().journal_layout();
        let offset = layout.prepare_offset(layout.slot(op));
        let at = usize::try_from(offset).expect("fits") + vireo_protocol::vsr::HEADER_SIZE - 1;
        let bytes = self.storage.bytes_mut(FILE).expect("journal file");
        bytes[at] ^= 0x5a;
    }

    /// The replica's pending actions, taken.
    pub(crate) fn take(&mut self) -> Vec<Action> {
        self.replica.check_invariants();
        self.replica.drain_actions().collect()
    }

    /// A message from a peer; returns exactly what the replica emitted.
    pub(crate) fn message(&mut self, message: Message) -> Vec<Action> {
        self.replica.on_message(message);
        self.take()
    }

    /// A client request; returns exactly what the replica emitted.
    pub(crate) fn request(&mut self, request: Message) -> Vec<Action> {
        self.replica.on_request(request);
        self.take()
    }

    /// Completions fed back; returns exactly what the replica emitted.
    pub(crate) fn complete(&mut self, done: Vec<IoDone>) -> Vec<Action> {
        for done in done {
            self.replica.on_io_done(done);
            self.replica.check_invariants();
        }
        self.take()
    }

    /// Performs the I/O actions among `actions` on the disk and returns their completions
    /// in order, without feeding them to the replica. Other actions are ignored.
    pub(crate) fn execute(&mut self, actions: &[Action]) -> Vec<IoDone> {
        for action in actions {
            crate::driver::execute_io(&mut self.store, &mut self.storage, action);
        }
        let mut events = Vec::new();
        for _ in 0..16 {
            let mut completions = Vec::new();
            self.storage.poll(&mut completions);
            for completion in completions {
                self.store.on_completion(&mut self.storage, completion, &mut events);
            }
            self.store.poll_ready(&mut events);
            if self.store.in_flight() == 0 {
                return events.into_iter().map(io_done).collect();
            }
        }
        panic!("journal store did not finish its I/O");
    }

    /// Runs I/O to quiescence; returns the non-I/O actions (sends, replies, applied).
    pub(crate) fn settle(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        for _ in 0..64 {
            let actions = self.take();
            if actions.is_empty() {
                return out;
            }
            let done = self.execute(&actions);
            out.extend(actions.into_iter().filter(|action| !is_io(action)));
            for done in done {
                self.replica.on_io_done(done);
                self.replica.check_invariants();
            }
        }
        panic!("replica did not settle");
    }

    /// Ticks (running background I/O such as journal syncs to completion) until a tick's
    /// non-I/O output satisfies `wanted`, at most `max` ticks; returns that tick's number
    /// and its whole non-I/O output.
    pub(crate) fn tick_until(
        &mut self,
        max: u64,
        wanted: impl Fn(&[Action]) -> bool,
    ) -> (u64, Vec<Action>) {
        for tick in 1..=max {
            self.replica.on_tick();
            let out = self.settle();
            if wanted(&out) {
                return (tick, out);
            }
        }
        panic!("nothing wanted in {max} ticks");
    }

    /// Executes and completes `actions`' I/O, then settles; returns every non-I/O action
    /// emitted after `actions`.
    pub(crate) fn settle_actions(&mut self, actions: &[Action]) -> Vec<Action> {
        let done = self.execute(actions);
        for done in done {
            self.replica.on_io_done(done);
            self.replica.check_invariants();
        }
        self.settle()
    }

    /// Like [`Node::message`], then settles; returns every non-I/O action.
    pub(crate) fn message_settled(&mut self, message: Message) -> Vec<Action> {
        self.replica.on_message(message);
        self.settle()
    }

    /// Like [`Node::request`], then settles; returns every non-I/O action.
    pub(crate) fn request_settled(&mut self, request: Message) -> Vec<Action> {
        self.replica.on_request(request);
        self.settle()
    }

    /// The header this replica stamps on `command` (cluster, group, replica, view,
    /// checkpoint_op): the starting point of every expected message.
    pub(crate) fn stamp(&self, command: Command) -> Header {
        let config = self.replica.config();
        let mut header = Header::new(command);
        header.cluster = config.cluster;
        header.group = config.group;
        header.replica = config.replica;
        header.view = self.replica.view();
        header.checkpoint_op = self.replica.superblock().checkpoint.op;
        header
    }

    /// The prepare header journaled for `op`.
    pub(crate) fn prepare_header(&self, op: u64) -> Header {
        *self.replica.journal().header(op).expect("header held")
    }
}

/// True for actions the disk executes.
pub(crate) fn is_io(action: &Action) -> bool {
    matches!(
        action,
        Action::JournalWrite { .. }
            | Action::JournalRead { .. }
            | Action::JournalSync { .. }
            | Action::SuperblockWrite { .. }
            | Action::SnapshotWrite { .. }
    )
}

pub(crate) use crate::driver::io_done;

/// `Send` actions among `actions`, as (destination, message).
pub(crate) fn sends(actions: &[Action]) -> Vec<(u8, Message)> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Send { replica, message } => Some((*replica, message.clone())),
            _ => None,
        })
        .collect()
}

/// The messages sent to `to` among `actions`.
pub(crate) fn sent_to(actions: &[Action], to: u8) -> Vec<Message> {
    sends(actions).into_iter().filter(|(replica, _)| *replica == to).map(|(_, m)| m).collect()
}

/// The one message of `command` sent to `to`; panics unless exactly one.
pub(crate) fn only_sent(actions: &[Action], to: u8, command: Command) -> Message {
    let found: Vec<Message> = sent_to(actions, to)
        .into_iter()
        .filter(|message| message.header().command == command)
        .collect();
    assert_eq!(found.len(), 1, "expected one {command:?} to {to}, got {actions:#?}");
    found.into_iter().next().expect("one")
}

/// True if `actions` send a message of `command`.
pub(crate) fn sends_command(actions: &[Action], command: Command) -> bool {
    sends(actions).iter().any(|(_, message)| message.header().command == command)
}

/// A `Send` of `header` (sealed with an empty body) to `to`.
pub(crate) fn send(to: u8, header: Header) -> Action {
    Action::Send { replica: to, message: Message::new(header, &[]) }
}

/// The same message sent to every replica of `count` but `from`, in index order.
pub(crate) fn broadcast(from: u8, count: u8, message: &Message) -> Vec<Action> {
    (0..count)
        .filter(|&to| to != from)
        .map(|to| Action::Send { replica: to, message: message.clone() })
        .collect()
}

/// A client's first request: register (request 0, no session, sent directly).
pub(crate) fn register(client: u128) -> Message {
    let config = ReplicaConfig::test(0, 3);
    let mut header = Header::new(Command::Request);
    header.cluster = config.cluster;
    header.group = config.group;
    header.client = client;
    header.replica = u8::MAX;
    header.operation = Operation::REGISTER;
    Message::new(header, &[])
}

/// A client request `request` in `session`, chained to the client's last reply `parent`.
pub(crate) fn request(
    client: u128,
    session: u64,
    request: u64,
    parent: u128,
    body: &[u8],
) -> Message {
    let config = ReplicaConfig::test(0, 3);
    let mut header = Header::new(Command::Request);
    header.cluster = config.cluster;
    header.group = config.group;
    header.client = client;
    header.replica = u8::MAX;
    header.operation = ADD;
    header.session = session;
    header.request = request;
    header.parent = parent;
    Message::new(header, body)
}

/// The prepare a primary in `view` builds for `request` at `op` after `parent`.
pub(crate) fn expected_prepare(
    primary: &Node,
    request: &Message,
    op: u64,
    parent: u128,
    commit: u64,
    timestamp: u64,
) -> Message {
    let req = request.header();
    let mut header = primary.stamp(Command::Prepare);
    header.op = op;
    header.parent = parent;
    header.commit = commit;
    header.client = req.client;
    header.session = req.session;
    header.request = req.request;
    header.request_checksum = req.checksum_body;
    header.operation = req.operation;
    header.timestamp = timestamp;
    Message::new(header, request.body())
}

/// The reply every replica builds for the committed `prepare` (body: the reply bytes).
pub(crate) fn expected_reply(prepare: &Header, session: u64, body: &[u8]) -> Message {
    let mut header = Header::new(Command::Reply);
    header.cluster = prepare.cluster;
    header.group = prepare.group;
    header.replica = prepare.replica;
    header.view = prepare.view;
    header.client = prepare.client;
    header.request = prepare.request;
    header.session = session;
    header.op = prepare.op;
    header.commit = prepare.op;
    header.context = prepare.checksum;
    header.request_checksum = prepare.request_checksum;
    header.operation = prepare.operation;
    header.timestamp = prepare.timestamp;
    Message::new(header, body)
}

/// Decodes a headers body (start_view, do_view_change, headers).
pub(crate) fn headers_body(message: &Message) -> HeadersBody {
    HeadersBody::decode(message.body(), 64).expect("valid headers body")
}

/// A small cluster of fixture nodes and a synchronous pump between them: enough to
/// bring one replica into the state a unit test starts from.
pub(crate) struct Nodes {
    pub(crate) nodes: Vec<Node>,
}

impl Nodes {
    /// `count` fresh replicas, each settled.
    pub(crate) fn fresh(count: u8) -> Self {
        Self { nodes: (0..count).map(|index| Node::fresh(index, count)).collect() }
    }

    /// Delivers `sends` from `from`, and everything they cause, until quiet (bounded),
    /// except messages to replicas listed in `cut`. Returns client replies.
    pub(crate) fn pump(&mut self, from: u8, actions: &[Action], cut: &[u8]) -> Vec<Message> {
        let mut queue: Vec<(u8, u8, Message)> =
            sends(actions).into_iter().map(|(to, message)| (from, to, message)).collect();
        let mut replies: Vec<Message> = actions
            .iter()
            .filter_map(|action| match action {
                Action::Reply { message } => Some(message.clone()),
                _ => None,
            })
            .collect();
        for _ in 0..10_000 {
            if queue.is_empty() {
                return replies;
            }
            let (_, to, message) = queue.remove(0);
            if cut.contains(&to) {
                continue;
            }
            let out = self.nodes[usize::from(to)].message_settled(message);
            for action in out {
                match action {
                    Action::Send { replica, message } => queue.push((to, replica, message)),
                    Action::Reply { message } => replies.push(message),
                    _ => {}
                }
            }
        }
        panic!("pump did not quiesce");
    }

    /// The primary (replica 0 in view 0) orders `request`; everything is delivered.
    pub(crate) fn submit(&mut self, request: Message, cut: &[u8]) -> Vec<Message> {
        let actions = self.nodes[0].request_settled(request);
        self.pump(0, &actions, cut)
    }

    /// Registers `client` and returns its reply (session = its op).
    pub(crate) fn register(&mut self, client: u128) -> Message {
        let replies = self.submit(register(client), &[]);
        replies.into_iter().find(|reply| reply.header().client == client).expect("replied")
    }

    /// `count` replicas where client `client` registered (op 1) and then made `requests`
    /// requests (ops 2..), every op committed and applied everywhere (heartbeat delivered).
    pub(crate) fn committed(count: u8, client: u128, requests: u64) -> Self {
        Self::committed_without(count, client, requests, &[])
    }

    /// Like [`Nodes::committed`], but nothing ever reaches the replicas in `cut`.
    pub(crate) fn committed_without(count: u8, client: u128, requests: u64, cut: &[u8]) -> Self {
        let mut nodes = Self::fresh(count);
        let replies = nodes.submit(register(client), cut);
        let mut parent = replies[0].header().checksum;
        for number in 1..=requests {
            let body = [u8::try_from(number % 251).expect("small")];
            let replies = nodes.submit(request(client, 1, number, parent, &body), cut);
            parent = replies[0].header().checksum;
        }
        nodes.heartbeat(cut);
        for (index, node) in nodes.nodes.iter().enumerate() {
            let cut = cut.contains(&u8::try_from(index).expect("small"));
            assert_eq!(node.replica.commit_min(), if cut { 0 } else { requests + 1 });
        }
        nodes
    }

    /// The committed prepare heartbeat: the primary's next `Commit` delivered to all.
    pub(crate) fn heartbeat(&mut self, cut: &[u8]) {
        let ticks = self.nodes[0].replica.config().timeouts.commit_message_ticks;
        let actions: Vec<Action> = (0..ticks)
            .flat_map(|_| {
                self.nodes[0].replica.on_tick();
                self.nodes[0].settle()
            })
            .collect();
        let commits: Vec<Action> = actions
            .into_iter()
            .filter(|action| {
                matches!(action, Action::Send { message, .. }
                    if message.header().command == Command::Commit)
            })
            .collect();
        assert!(!commits.is_empty(), "the primary heartbeats");
        self.pump(0, &commits, cut);
    }
}

/// Asserts `actual == expected` exactly; on a mismatch, prints both compactly, one line
/// per action with every header field that is not zero, so the difference is readable.
#[track_caller]
pub(crate) fn assert_actions(actual: &[Action], expected: &[Action]) {
    if actual != expected {
        let show = |actions: &[Action]| {
            actions.iter().map(|action| format!("  {}\n", describe(action))).collect::<String>()
        };
        panic!("actions differ\nactual:\n{}expected:\n{}", show(actual), show(expected));
    }
}

/// One line: the action and the non-zero fields of its header or state.
pub(crate) fn describe(action: &Action) -> String {
    match action {
        Action::Send { replica, message } => {
            format!(
                "send to {replica}: {} body {}B",
                describe_header(message.header()),
                message.body().len()
            )
        }
        Action::Reply { message } => format!("reply: {}", describe_header(message.header())),
        Action::JournalWrite { message } => {
            format!("journal write: {}", describe_header(message.header()))
        }
        Action::Applied { header } => format!("applied: {}", describe_header(header)),
        Action::SuperblockWrite { state } => format!(
            "superblock write: sequence {} view {} log_view {} commit_max {} synced_op {} \
             checkpoint {} clean {} recovering_head {} view_headers {:?}",
            state.sequence,
            state.view,
            state.log_view,
            state.commit_max,
            state.synced_op,
            state.checkpoint.op,
            state.clean_shutdown,
            state.recovering_head,
            state.view_headers.iter().map(|header| header.op).collect::<Vec<_>>()
        ),
        other => format!("{other:?}"),
    }
}

fn describe_header(header: &Header) -> String {
    let mut out = format!("{:?} replica {} view {}", header.command, header.replica, header.view);
    for (name, value) in [
        ("log_view", u128::from(header.log_view)),
        ("op", u128::from(header.op)),
        ("commit", u128::from(header.commit)),
        ("timestamp", u128::from(header.timestamp)),
        ("request", u128::from(header.request)),
        ("session", u128::from(header.session)),
        ("checkpoint_op", u128::from(header.checkpoint_op)),
        ("flags", u128::from(header.flags)),
        ("operation", u128::from(header.operation.0)),
        ("client", header.client),
        ("context", header.context % 100_000),
        ("parent", header.parent % 100_000),
        ("checksum", header.checksum % 100_000),
    ] {
        if value != 0 {
            out.push_str(&format!(" {name} {value}"));
        }
    }
    out
}
