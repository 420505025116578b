//! An in-memory cluster for scenario tests: replicas on [`disk::Disk`]s, a scripted
//! [`network::Network`], clients, and the [`history::History`] checker fed after every
//! step (every delivered packet, every tick, every start). Each replica's
//! `check_invariants()` runs after every input and every completed I/O.
//!
//! Time moves only in `tick`: every replica ticks once, then the network delivers until
//! quiet. A scenario reads as a script: `crash`, `power_loss`, `restart`, `partition`,
//! `heal`, `submit`, `run_until`.

pub mod disk;
pub mod history;
pub mod machine;
pub mod network;
pub mod node;

use vireo_consensus::{Durability, Replica, ReplicaConfig, Status, root_checksum};
use vireo_protocol::vsr::{Command, Header, Message, Operation};

use history::History;
use machine::{APPEND, Machine};
use network::{Network, Packet};
use node::{Node, Outputs};

/// Most packets delivered in one tick before the test gives up (a message storm is a bug).
const PACKETS_PER_TICK_MAX: usize = 100_000;
/// Ticks a client waits for a reply before it retries, at the next replica.
const CLIENT_RETRY_TICKS: u64 = 40;

/// A client: one request in flight at a time, retried verbatim until answered.
pub struct Client {
    pub id: u128,
    pub session: u64,
    pub request: u64,
    pub parent: u128,
    pub in_flight: Option<Message>,
    pub replies: Vec<Message>,
    pub evictions: u64,
    sent_tick: u64,
    target: u8,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    pub network: Network,
    pub history: History,
    pub clients: Vec<Client>,
    pub ticks: u64,
    /// Replies never reach clients (the checker still sees them).
    pub replies_lost: bool,
}

impl Cluster {
    /// `replica_count` replicas with the test configuration and `durability`, started.
    pub fn new(replica_count: u8, durability: Durability) -> Self {
        let mut cluster = Self::stopped(replica_count, durability);
        for replica in 0..replica_count {
            cluster.restart(replica);
        }
        cluster
    }

    /// Formatted but not started.
    pub fn stopped(replica_count: u8, durability: Durability) -> Self {
        let nodes: Vec<Node> = (0..replica_count)
            .map(|replica| {
                let mut config = ReplicaConfig::test(replica, replica_count);
                config.durability = durability;
                Node::formatted(config)
            })
            .collect();
        let config = &nodes[0].config;
        let root = root_checksum(config.cluster, config.group);
        Self {
            nodes,
            network: Network::new(u64::from(replica_count) * 1_000_003),
            history: History::new(replica_count, root),
            clients: Vec::new(),
            ticks: 0,
            replies_lost: false,
        }
    }

    pub fn replica(&self, index: u8) -> &Replica<Machine> {
        self.nodes[usize::from(index)].replica()
    }

    fn replica_count(&self) -> u8 {
        u8::try_from(self.nodes.len()).expect("few replicas")
    }

    fn up(&self) -> Vec<u8> {
        (0..self.replica_count()).filter(|&r| self.nodes[usize::from(r)].up()).collect()
    }

    // ---- Faults -----------------------------------------------------------------------

    /// The process of `replica` dies; its disk keeps every completed write.
    pub fn crash(&mut self, replica: u8) {
        self.nodes[usize::from(replica)].crash();
    }

    /// `replica` loses power: its disk keeps only what was synced.
    pub fn power_loss(&mut self, replica: u8) {
        self.nodes[usize::from(replica)].power_loss();
    }

    /// Starts `replica` again (or for the first time).
    pub fn restart(&mut self, replica: u8) {
        let (commit_min, outputs) = self.nodes[usize::from(replica)].start();
        self.history.started(replica, commit_min);
        self.absorb(replica, outputs);
    }

    /// Cuts every link between `replica` and the others, both ways.
    pub fn isolate(&mut self, replica: u8) {
        let others: Vec<u8> = (0..self.replica_count()).filter(|&r| r != replica).collect();
        self.network.partition(&[replica], &others);
    }

    // ---- Time -------------------------------------------------------------------------

    /// One tick everywhere, then every packet delivered.
    pub fn tick(&mut self) {
        self.ticks += 1;
        for replica in self.up() {
            self.nodes[usize::from(replica)].disk.advance();
            let outputs = self.nodes[usize::from(replica)].input(Replica::on_tick);
            self.absorb(replica, outputs);
        }
        self.retry_clients();
        self.deliver_all();
    }

    pub fn run(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.tick();
        }
    }

    /// Ticks until `done` holds (checked before each tick); false if `ticks_max` passed.
    pub fn run_until(&mut self, ticks_max: u64, done: impl Fn(&Self) -> bool) -> bool {
        for _ in 0..ticks_max {
            if done(self) {
                return true;
            }
            self.tick();
        }
        done(self)
    }

    /// Delivers packets until none is in flight.
    pub fn deliver_all(&mut self) {
        for _ in 0..PACKETS_PER_TICK_MAX {
            let Some(packet) = self.network.next() else { return };
            let to = packet.to;
            let outputs = self.nodes[usize::from(to)].input(|r| r.on_message(packet.message));
            self.absorb(to, outputs);
        }
        panic!("more than {PACKETS_PER_TICK_MAX} packets in one tick");
    }

    /// Takes one replica's outputs: the checker sees what it applied and replied, the
    /// network what it sent, clients their replies.
    fn absorb(&mut self, from: u8, outputs: Outputs) {
        for applied in outputs.applied {
            self.history.applied(from, applied);
        }
        for reply in &outputs.replies {
            self.history.replied(reply);
            if !self.replies_lost {
                self.deliver_reply(reply);
            }
        }
        for (to, message) in outputs.sends {
            self.network.send(Packet { from, to, message });
        }
    }

    // ---- Clients ------------------------------------------------------------------------

    /// A new client (not registered yet); returns its index.
    pub fn client(&mut self) -> usize {
        let index = self.clients.len();
        self.clients.push(Client {
            id: 0xc1 + index as u128,
            session: 0,
            request: 0,
            parent: 0,
            in_flight: None,
            replies: Vec::new(),
            evictions: 0,
            sent_tick: 0,
            target: 0,
        });
        index
    }

    /// The replica a client should talk to: the primary, as the up replicas see it.
    pub fn primary(&self) -> u8 {
        let up = self.up();
        if let Some(&primary) = up.iter().find(|&&r| self.replica(r).is_primary()) {
            return primary;
        }
        let view = up.iter().map(|&r| self.replica(r).view()).max().unwrap_or(0);
        u8::try_from(view % u32::from(self.replica_count())).expect("small")
    }

    /// The primary among `replicas` (the one in the highest view that is primary).
    pub fn primary_of(&self, replicas: &[u8]) -> u8 {
        replicas
            .iter()
            .copied()
            .filter(|&r| self.nodes[usize::from(r)].up() && self.replica(r).is_primary())
            .max_by_key(|&r| self.replica(r).view())
            .expect("a primary among them")
    }

    /// Sends client `index`'s next request (a register if it has no session) to the
    /// primary; returns the request.
    pub fn send(&mut self, index: usize, body: &[u8]) -> Message {
        let primary = self.primary();
        self.send_to(index, body, primary)
    }

    /// Like [`Cluster::send`], to the replica the client is connected to.
    pub fn send_to(&mut self, index: usize, body: &[u8], replica: u8) -> Message {
        let config = self.nodes[0].config.clone();
        let client = &mut self.clients[index];
        assert!(client.in_flight.is_none(), "one request in flight per client");
        let mut header = Header::new(Command::Request);
        header.cluster = config.cluster;
        header.group = config.group;
        header.client = client.id;
        header.replica = u8::MAX;
        if client.session == 0 {
            client.request = 0;
            header.operation = Operation::REGISTER;
        } else {
            client.request += 1;
            header.operation = APPEND;
            header.session = client.session;
            header.request = client.request;
            header.parent = client.parent;
        }
        let body = if client.session == 0 { &[][..] } else { body };
        let request = Message::new(header, body);
        client.in_flight = Some(request.clone());
        client.sent_tick = self.ticks;
        client.target = replica;
        self.send_request(replica, request.clone());
        request
    }

    /// Sends `request` to `replica` as a client connected there would.
    pub fn send_request(&mut self, replica: u8, request: Message) {
        let outputs = self.nodes[usize::from(replica)].input(|r| r.on_request(request));
        self.absorb(replica, outputs);
        self.deliver_all();
    }

    /// Sends client `index`'s request and waits for its reply; panics after `ticks_max`.
    pub fn submit(&mut self, index: usize, body: &[u8], ticks_max: u64) -> Message {
        self.send(index, body);
        self.await_reply(index, ticks_max)
    }

    /// Registers client `index` (a new client) and waits for its session.
    pub fn register(&mut self, index: usize) -> Message {
        assert_eq!(self.clients[index].session, 0);
        self.submit(index, &[], 500)
    }

    /// Waits (retrying) until client `index`'s request in flight is answered.
    pub fn await_reply(&mut self, index: usize, ticks_max: u64) -> Message {
        let answered = self.run_until(ticks_max, |c| c.clients[index].in_flight.is_none());
        assert!(answered, "client {index} got no reply in {ticks_max} ticks: {}", self.describe());
        self.clients[index].replies.last().cloned().expect("answered")
    }

    fn deliver_reply(&mut self, reply: &Message) {
        let header = reply.header();
        let Some(client) = self.clients.iter_mut().find(|c| c.id == header.client) else {
            return;
        };
        let Some(sent) = client.in_flight.as_ref().map(|m| *m.header()) else { return };
        match header.command {
            Command::Reply if header.request == sent.request => {
                if sent.operation == Operation::REGISTER {
                    if header.operation != Operation::REGISTER {
                        return;
                    }
                    client.session = header.session;
                } else if header.session != client.session {
                    return;
                }
                client.parent = header.checksum;
                client.in_flight = None;
                client.replies.push(reply.clone());
            }
            Command::Eviction if header.session == client.session && client.session != 0 => {
                client.session = 0;
                client.in_flight = None;
                client.evictions += 1;
            }
            _ => {}
        }
    }

    fn retry_clients(&mut self) {
        let count = self.replica_count();
        let mut retries = Vec::new();
        for client in &mut self.clients {
            let Some(request) = &client.in_flight else { continue };
            if self.ticks >= client.sent_tick + CLIENT_RETRY_TICKS {
                client.sent_tick = self.ticks;
                client.target = (client.target + 1) % count;
                retries.push((client.target, request.clone()));
            }
        }
        for (target, request) in retries {
            if self.nodes[usize::from(target)].up() {
                let outputs = self.nodes[usize::from(target)].input(|r| r.on_request(request));
                self.absorb(target, outputs);
            }
        }
    }

    // ---- Expectations -------------------------------------------------------------------

    /// True when every up replica is normal in one view and applied the same ops, at
    /// least every acknowledged one.
    pub fn converged(&self) -> bool {
        let up = self.up();
        let Some(&first) = up.first() else { return false };
        let (view, commit) = (self.replica(first).view(), self.replica(first).commit_min());
        commit >= self.history.acknowledged_max()
            && up.iter().all(|&r| {
                let replica = self.replica(r);
                replica.status() == Status::Normal
                    && replica.view() == view
                    && replica.commit_min() == commit
                    && replica.commit_max() == commit
            })
    }

    /// Runs until [`Cluster::converged`]; panics after `ticks_max`.
    pub fn converge(&mut self, ticks_max: u64) {
        let converged = self.run_until(ticks_max, Self::converged);
        assert!(converged, "no convergence in {ticks_max} ticks: {}", self.describe());
    }

    /// Status/view/op/commit per replica on one line.
    pub fn describe_short(&self) -> String {
        let mut out = String::new();
        for (index, node) in self.nodes.iter().enumerate() {
            match &node.replica {
                None => out.push_str(&format!("[{index} down] ")),
                Some(r) => out.push_str(&format!(
                    "[{index} {:?} v{} lv{} op{} cmin{} cmax{}] ",
                    r.status(),
                    r.view(),
                    r.log_view(),
                    r.op(),
                    r.commit_min(),
                    r.commit_max()
                )),
            }
        }
        out
    }

    /// One line per replica, for failure messages.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (index, node) in self.nodes.iter().enumerate() {
            match &node.replica {
                None => out.push_str(&format!("\n  {index}: down")),
                Some(r) => out.push_str(&format!(
                    "\n  {index}: {:?} view {} log_view {} op {} commit_min {} commit_max {} \
                     checkpoint {}",
                    r.status(),
                    r.view(),
                    r.log_view(),
                    r.op(),
                    r.commit_min(),
                    r.commit_max(),
                    r.superblock().checkpoint.op
                )),
            }
        }
        out.push_str(&format!("\n  acknowledged up to op {}", self.history.acknowledged_max()));
        out.push_str(&self.describe_journals());
        out
    }

    /// The journals around the highest commit, one line per op: per replica, the view
    /// and checksum tail of its header there, `p` present, `f` faulty, `-` nothing.
    pub fn describe_journals(&self) -> String {
        let up = self.up();
        let low = up.iter().map(|&r| self.replica(r).commit_min()).min().unwrap_or(0);
        let high = up.iter().map(|&r| self.replica(r).op()).max().unwrap_or(0);
        let mut out = String::new();
        for op in low.saturating_sub(2)..=high {
            let committed = self.history.committed.get(&op).map(|h| h.checksum % 10_000);
            out.push_str(&format!("\n  op {op:>4} committed {committed:?}:"));
            for &r in &up {
                let journal = self.replica(r).journal();
                let cell = match journal.header(op) {
                    Some(h) => format!(
                        "v{}#{}{}{}",
                        h.view,
                        h.checksum % 10_000,
                        if journal.has_prepare(op, h.checksum) { "p" } else { "" },
                        if journal.faulty(op) { "f" } else { "" }
                    ),
                    None if journal.faulty(op) => "f".to_owned(),
                    None => "-".to_owned(),
                };
                out.push_str(&format!(" r{r}={cell:<12}"));
            }
        }
        out
    }

    /// Every up replica's state machine is identical (same ops applied in the same order).
    pub fn assert_state_machines_equal(&self) {
        let up = self.up();
        for pair in up.windows(2) {
            assert_eq!(
                self.replica(pair[0]).state_machine(),
                self.replica(pair[1]).state_machine(),
                "replicas {} and {} diverged",
                pair[0],
                pair[1]
            );
        }
    }
}
