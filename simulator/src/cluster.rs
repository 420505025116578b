//! The simulated world: replicas, network, clients, faults and checkers, one tick at a
//! time, everything drawn from one seed.

use std::collections::BTreeSet;

use vireo_consensus::prng::Prng;
use vireo_consensus::{Replica, ReplicaConfig, RestartEvidence, Status, Timeouts, root_checksum};
use vireo_protocol::vsr::Command;
use vireo_storage::journal::JournalLayout;

use crate::checker::{
    CheckpointChecker, CommitChecker, PartitionLogChecker, ReplyChecker, Shown, ViewChecker,
    Violation,
};
use crate::client::SimClient;
use crate::network::Network;
use crate::node::{Applied, JOURNAL_FILE, Outputs, SimNode, StartError};
use crate::options::{Options, StorageOptions};
use crate::sim_storage::{FaultAtlas, SimStorage};
use crate::summary::{Failure, Summary};

/// How a run ended badly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything converged; the run passed.
    Passed,
    /// The cluster stalled for a reason the run proves justified.
    StalledJustified(String),
    /// A safety property broke.
    Correctness(Violation),
    /// The healed core did not converge in time, and nothing justifies it.
    Liveness(String),
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// Nothing but the summary.
    Quiet,
    /// One line per replica status change.
    Short,
    /// Every message and fault.
    Full,
}

const CLUSTER: u128 = 0x7172_6565_6f53_494d;

/// Every running replica's partition logs are read back and compared with the committed
/// history this often (and at the end of every run).
const LOG_CHECK_PERIOD_TICKS: u64 = 500;

/// The world.
pub struct Cluster {
    /// The knobs.
    pub options: Options,
    /// Current tick.
    pub tick: u64,
    nodes: Vec<SimNode>,
    network: Network,
    clients: Vec<SimClient>,
    prng: Prng,
    log: Log,
    commits: CommitChecker,
    replies: ReplyChecker,
    views: ViewChecker,
    checkpoints: CheckpointChecker,
    logs: PartitionLogChecker,
    /// Run counters.
    pub summary: Summary,
    last_status: Vec<Option<(Status, u32)>>,
    cluster_power_loss_done: bool,
    cluster_power_loss_tick: u64,
    last_commit_progress_tick: u64,
}

fn config_for(options: &Options, replica: u8) -> ReplicaConfig {
    ReplicaConfig {
        cluster: CLUSTER,
        group: 0,
        replica_count: options.replica_count,
        replica,
        journal_slot_count: options.journal_slot_count,
        pipeline_prepare_queue_max: options.pipeline_max,
        request_queue_max: 16,
        message_size_max: 4096,
        clients_max: options.clients_max,
        checkpoint_interval_ops: options.checkpoint_interval_ops,
        snapshot_size_max: 64 * 1024,
        durability: options.durability,
        timeouts: Timeouts::default(),
    }
}

impl Cluster {
    /// Builds the world for `options` and boots every replica on a fresh disk.
    #[must_use]
    pub fn new(options: Options, log: Log) -> Self {
        let seed = options.seed;
        let n = options.replica_count;
        let quorum_replication = config_for(&options, 0).quorum_replication();
        let layout = JournalLayout::new(options.journal_slot_count, 4096, 64 * 1024);
        let chunks = layout.header_sector_count();
        // The fault atlas: each chunk may be faulted on at most quorum_replication - 1
        // replicas, rotating so no replica has every chunk faulted. None at n = 1.
        let faultable = if n == 1 { 0 } else { quorum_replication - 1 };
        let mut nodes = Vec::new();
        for replica in 0..n {
            let mut storage = SimStorage::new(
                seed ^ 0x5707_a6e0 ^ u64::from(replica) << 40,
                options.storage.clone(),
            );
            let allowed: BTreeSet<usize> = (0..chunks)
                .filter(|&chunk| {
                    (0..faultable).any(|k| (chunk + k) % usize::from(n) == usize::from(replica))
                })
                .collect();
            storage.set_atlas(Some(FaultAtlas {
                journal_file: JOURNAL_FILE.to_owned(),
                layout,
                chunks: allowed,
            }));
            // The data disk: no faults (no atlas), only crash effects.
            let data_options = StorageOptions {
                write_latency_ticks: options.log.write_latency_ticks,
                ..options.storage.clone()
            };
            let mut data_disk =
                SimStorage::new(seed ^ 0xda7a_d15c ^ u64::from(replica) << 40, data_options);
            data_disk.set_scattered_crashes(options.log.scattered_crashes);
            let mut node = SimNode::new(
                replica,
                config_for(&options, replica),
                storage,
                data_disk,
                options.log.clone(),
                seed ^ u64::from(replica) << 48,
            );
            node.format();
            nodes.push(node);
        }
        let clients = (0..options.client_count)
            .map(|index| {
                let mut client = SimClient::new(
                    seed ^ 0xc11e_0000 ^ (index as u64) << 32,
                    CLUSTER,
                    n,
                    options.requests_per_client,
                    options.client_timeout_ticks,
                    options.node.clock_skew_us_max,
                );
                client.payload_size_max = options.payload_size_max;
                client
            })
            .collect();
        let mut cluster = Self {
            network: Network::new(seed ^ 0x0e7, usize::from(n), options.network.clone()),
            prng: Prng::new(seed ^ 0xfa_0175),
            nodes,
            clients,
            log,
            commits: CommitChecker::new(root_checksum(CLUSTER, 0)),
            replies: ReplyChecker::default(),
            views: ViewChecker::default(),
            checkpoints: CheckpointChecker::default(),
            logs: PartitionLogChecker::default(),
            summary: Summary::default(),
            last_status: vec![None; usize::from(n)],
            cluster_power_loss_done: false,
            cluster_power_loss_tick: 0,
            last_commit_progress_tick: 0,
            tick: 0,
            options,
        };
        for replica in 0..n {
            cluster.start_node(replica, RestartEvidence::CompletedWritesKept);
            // First boot is clean; faults start once every replica is up.
            cluster.nodes[usize::from(replica)].storage.set_faults_enabled(true);
        }
        cluster
    }

    fn start_node(&mut self, replica: u8, evidence: RestartEvidence) {
        let index = usize::from(replica);
        match self.nodes[index].start(evidence) {
            Ok(outputs) => {
                let commit_min = self.nodes[index].replica.as_ref().expect("started").commit_min();
                self.commits.on_replica_reset(replica, commit_min);
                self.trace(|| {
                    format!("replica {replica} started ({evidence:?}) commit_min={commit_min}")
                });
                if let Err(violation) = self.route(replica, outputs) {
                    self.summary.failure.get_or_insert(Failure::Correctness(violation));
                }
            }
            Err(StartError::Recovery(error)) => {
                // Every superblock copy destroyed is beyond the fault model: a bug.
                panic!("replica {replica} cannot recover its data file: {error}");
            }
            Err(StartError::Open(error)) => {
                panic!("replica {replica} refused its data file: {error}")
            }
        }
    }

    fn trace(&self, line: impl FnOnce() -> String) {
        if self.log == Log::Full {
            println!("{:>7} {}", self.tick, line());
        }
    }

    /// Routes a replica's outputs: sends into the network, replies to clients, applies
    /// into the checkers.
    fn route(&mut self, from: u8, outputs: Outputs) -> Result<(), Violation> {
        for applied in &outputs.applied {
            match applied {
                Applied::Op(header) => {
                    if self.log == Log::Full {
                        println!(
                            "{:>7} replica {from} applied op={} checksum={:032x} view={}",
                            self.tick, header.op, header.checksum, header.view
                        );
                    }
                    self.commits.on_applied(from, header)?;
                }
                Applied::Synced(op) => self.commits.on_replica_reset(from, *op),
            }
        }
        if !outputs.applied.is_empty() {
            self.last_commit_progress_tick = self.tick;
        }
        for (to, message) in outputs.sends {
            if self.log == Log::Full {
                let h = message.header();
                println!(
                    "{:>7} {from} -> {to} {:?} view={} op={} commit={}",
                    self.tick, h.command, h.view, h.op, h.commit
                );
            }
            self.network.send(usize::from(from), usize::from(to), &message);
        }
        let n = usize::from(self.options.replica_count);
        for reply in outputs.replies {
            let client = reply.header().client;
            if let Some(index) = self.clients.iter().position(|c| c.id == client) {
                self.network.send(usize::from(from), n + index, &reply);
            }
        }
        Ok(())
    }

    /// Runs the safety phase, then heals and runs the liveness phase.
    pub fn run(&mut self) -> Outcome {
        while self.tick < self.options.ticks_safety {
            if let Err(violation) = self.step(true) {
                return Outcome::Correctness(violation);
            }
            if let Some(Failure::Correctness(violation)) = &self.summary.failure {
                return Outcome::Correctness(violation.clone());
            }
        }
        self.heal();
        let healed_tick = self.tick;
        let deadline = self.tick + self.options.ticks_liveness;
        while self.tick < deadline {
            if let Err(violation) = self.step(false) {
                return Outcome::Correctness(violation);
            }
            if self.converged() {
                self.summary.heal_to_convergence_ticks = self.tick - healed_tick;
                if let Err(violation) = self.final_log_check() {
                    return Outcome::Correctness(violation);
                }
                return Outcome::Passed;
            }
        }
        self.summary.heal_to_convergence_ticks = self.tick - healed_tick;
        // Safety holds in a stall too: whatever each replica applied, its logs hold.
        if let Err(violation) = self.final_log_check() {
            return Outcome::Correctness(violation);
        }
        match self.stall_justification() {
            Some(reason) => Outcome::StalledJustified(reason),
            None => Outcome::Liveness(self.describe_state()),
        }
    }

    /// Restarts and unpauses everyone, turns every fault off, stops new requests.
    fn heal(&mut self) {
        self.trace(|| "heal: faults off, every replica up".to_owned());
        self.network.set_faults_enabled(false);
        for index in 0..self.nodes.len() {
            self.nodes[index].storage.set_faults_enabled(false);
            self.nodes[index].paused = false;
            if self.nodes[index].replica.is_none() {
                let evidence = self.nodes[index].last_crash_evidence;
                self.start_node(u8::try_from(index).expect("small"), evidence);
            }
        }
        for client in &mut self.clients {
            client.issuing = false;
        }
    }

    fn converged(&self) -> bool {
        if self.clients.iter().any(|client| client.in_flight.is_some()) {
            return false;
        }
        let commit_max = self.commits.commit_max();
        self.nodes.iter().all(|node| {
            node.replica.as_ref().is_some_and(|replica| {
                replica.status() == Status::Normal
                    && replica.commit_min() == commit_max
                    && (replica.commit_min() + 1..=replica.op()).all(|op| {
                        replica
                            .journal()
                            .header(op)
                            .is_some_and(|h| replica.journal().has_prepare(op, h.checksum))
                    })
            })
        })
    }

    /// A stall is justified when no view-change quorum of replicas can vote (they lost
    /// unsynced state in a correlated power loss and no primary survives to vouch).
    fn stall_justification(&self) -> Option<String> {
        let replicas: Vec<&Replica<_>> =
            self.nodes.iter().filter_map(|node| node.replica.as_ref()).collect();
        let config = config_for(&self.options, 0);
        let recovering = replicas.iter().filter(|r| r.status() == Status::RecoveringHead).count();
        let voters = replicas.len() - recovering;
        let primary_alive = replicas.iter().any(|r| r.is_primary());
        if recovering > 0 && voters < config.quorum_view_change() && !primary_alive {
            return Some(format!(
                "{recovering} of {} replicas lost unsynced journal writes (power loss) and cannot vote: \
                 acknowledged writes may be lost, so the cluster stalls by design",
                replicas.len()
            ));
        }
        // An op some replica knows of but no replica holds intact, above what everyone
        // applied: lost beyond the fault model's guarantees (a power loss stacked on disk
        // faults). The protocol must not guess it away: safe, not live.
        let applied = replicas.iter().map(|r| r.commit_min()).max().unwrap_or(0);
        let head = replicas.iter().map(|r| r.op()).max().unwrap_or(0);
        for op in applied + 1..=head {
            let known =
                replicas.iter().any(|r| r.journal().header(op).is_some() || r.journal().faulty(op));
            let intact = replicas.iter().any(|r| {
                r.journal()
                    .header(op)
                    .is_some_and(|header| r.journal().has_prepare(op, header.checksum))
            });
            let faults = &self.summary.node_faults;
            let lost_with_power = faults.power_losses + faults.cluster_power_losses > 0;
            if known && !intact && lost_with_power {
                return Some(format!(
                    "op {op} is intact on no replica after a power loss: lost beyond the fault model, \
                     the stall is justified"
                ));
            }
        }
        None
    }

    fn describe_state(&self) -> String {
        let mut out = format!("no convergence: commit_max={}", self.commits.commit_max());
        for node in &self.nodes {
            match &node.replica {
                Some(r) => {
                    out.push_str(&format!(
                        "\n  replica {}: {:?} view={} log_view={} op={} commit_min={} commit_max={} checkpoint={}",
                        node.index,
                        r.status(),
                        r.view(),
                        r.log_view(),
                        r.op(),
                        r.commit_min(),
                        r.commit_max(),
                        r.checkpoint().op
                    ));
                    let journal = r.journal();
                    let first = r.commit_min() + 1;
                    let entries: Vec<String> = (first..=r.op().min(first + 12))
                        .map(|op| match journal.header(op) {
                            Some(h) if journal.has_prepare(op, h.checksum) => format!("{op}:ok"),
                            Some(_) if journal.faulty(op) => format!("{op}:faulty"),
                            Some(_) => format!("{op}:dirty"),
                            None if journal.faulty(op) => format!("{op}:faulty?"),
                            None => format!("{op}:-"),
                        })
                        .collect();
                    out.push_str(&format!("\n    journal {}", entries.join(" ")));
                }
                None => out.push_str(&format!("\n  replica {}: down", node.index)),
            }
        }
        let pending = self.clients.iter().filter(|c| c.in_flight.is_some()).count();
        out.push_str(&format!("\n  clients with a request in flight: {pending}"));
        out
    }

    /// One tick of the world.
    fn step(&mut self, faults: bool) -> Result<(), Violation> {
        self.tick += 1;
        let n = usize::from(self.options.replica_count);
        for (from, to, message) in self.network.step(self.tick) {
            if to < n {
                let node = &mut self.nodes[to];
                if !node.up() {
                    continue;
                }
                let command = message.header().command;
                let outputs = if command == Command::Request && from >= n {
                    node.input(|replica| replica.on_request(message))
                } else if matches!(command, Command::RequestPartitionData | Command::PartitionData)
                {
                    // Partition data catch-up: the state machine's, not consensus's.
                    node.input(|replica| {
                        if let Some(data) = replica.state_machine_mut().data.as_mut() {
                            data.on_transfer_message(&message);
                        }
                    })
                } else {
                    node.input(|replica| replica.on_message(message))
                };
                self.route(u8::try_from(to).expect("small"), outputs)?;
            } else {
                if self.log == Log::Full {
                    let h = message.header();
                    println!(
                        "{:>7} {from} -> client {} {:?} request={} op={} session={}",
                        self.tick,
                        to - n,
                        h.command,
                        h.request,
                        h.op,
                        h.session
                    );
                }
                let client = &mut self.clients[to - n];
                if client.on_message(&message) {
                    self.replies.on_reply(&message, &self.commits)?;
                }
            }
        }
        for index in 0..n {
            let outputs = self.nodes[index].poll_io(self.tick);
            self.route(u8::try_from(index).expect("small"), outputs)?;
            let outputs = if self.nodes[index].up() {
                self.nodes[index].input(|replica| {
                    replica.on_tick();
                    if let Some(data) = replica.state_machine_mut().data.as_mut() {
                        data.transfer_tick();
                    }
                })
            } else {
                Outputs::default()
            };
            self.route(u8::try_from(index).expect("small"), outputs)?;
        }
        for index in 0..self.clients.len() {
            if let Some((target, message)) = self.clients[index].tick(self.tick) {
                if self.log == Log::Full {
                    let h = message.header();
                    println!(
                        "{:>7} client {index} -> {target} request={} session={} operation={}",
                        self.tick, h.request, h.session, h.operation.0
                    );
                }
                self.commits.on_request_sent(message.header());
                self.replies.on_request_sent(&message);
                self.network.send(n + index, usize::from(target), &message);
            }
        }
        if faults {
            self.inject_node_faults();
            // Disk faults only while no replica is recovering from a power loss: it may
            // hold the only other copy of what it lost (as TigerBeetle's VOPR: storage
            // faults while a view-change quorum of healthy replicas remains).
            let recovering = self.nodes.iter().any(|node| {
                node.replica
                    .as_ref()
                    .is_some_and(|replica| replica.status() == Status::RecoveringHead)
                    || (node.replica.is_none()
                        && node.last_crash_evidence == RestartEvidence::UnsyncedWritesMayBeLost)
            });
            for node in &mut self.nodes {
                node.storage.set_faults_enabled(!recovering);
            }
        }
        self.observe()
    }

    fn roll(&mut self, probability: f64) -> bool {
        probability > 0.0 && (self.prng.below(1_000_000) as f64) < probability * 1e6
    }

    fn inject_node_faults(&mut self) {
        let options = self.options.node.clone();
        let n = self.nodes.len();
        if options.cluster_power_loss
            && !self.cluster_power_loss_done
            && self.tick >= self.options.ticks_safety / 2
        {
            self.cluster_power_loss_done = true;
            self.cluster_power_loss_tick = self.tick;
            self.summary.node_faults.cluster_power_losses += 1;
            self.trace(|| "cluster power loss".to_owned());
            for index in 0..n {
                if self.nodes[index].replica.is_some() {
                    self.crash_node(index, true);
                }
            }
            return;
        }
        for index in 0..n {
            let running = self.nodes[index].replica.is_some();
            if running && !self.nodes[index].paused {
                if self.roll(options.crash_probability) {
                    let power_loss = self.roll(options.power_loss_fraction);
                    // The contract excludes correlated loss of unsynced state: a power
                    // loss only while every other replica is up and fully repaired.
                    let others_healthy =
                        (0..n).filter(|&other| other != index).all(|other| self.healthy(other));
                    self.crash_node(index, power_loss && others_healthy);
                } else if self.roll(options.pause_probability / 2.0)
                    && self.nodes[index].replica.as_ref().is_some_and(Replica::is_primary)
                {
                    // A graceful handover, as on SIGTERM.
                    let outputs = self.nodes[index].input(Replica::abdicate);
                    self.summary.node_faults.abdications += 1;
                    self.trace(|| format!("replica {index} abdicated"));
                    if let Err(violation) = self.route(u8::try_from(index).expect("small"), outputs)
                    {
                        self.summary.failure.get_or_insert(Failure::Correctness(violation));
                    }
                } else if self.roll(options.pause_probability) {
                    self.nodes[index].paused = true;
                    self.summary.node_faults.pauses += 1;
                    self.trace(|| format!("replica {index} paused"));
                }
            } else if running && self.roll(options.unpause_probability) {
                self.nodes[index].paused = false;
                self.trace(|| format!("replica {index} resumed"));
            } else if !running && self.roll(options.restart_probability) {
                let evidence = self.nodes[index].last_crash_evidence;
                self.summary.node_faults.restarts += 1;
                self.start_node(u8::try_from(index).expect("small"), evidence);
            }
        }
    }

    /// Up, normal, and holding every op between its commit and its head intact.
    fn healthy(&self, index: usize) -> bool {
        let node = &self.nodes[index];
        node.up()
            && node.replica.as_ref().is_some_and(|replica| {
                replica.status() == Status::Normal
                    && (replica.commit_min() + 1..=replica.op()).all(|op| {
                        replica
                            .journal()
                            .header(op)
                            .is_some_and(|h| replica.journal().has_prepare(op, h.checksum))
                    })
            })
    }

    fn crash_node(&mut self, index: usize, power_loss: bool) {
        self.trace(|| format!("replica {index} crashed (power_loss={power_loss})"));
        self.nodes[index].crash(power_loss);
        self.nodes[index].last_crash_evidence = if power_loss {
            RestartEvidence::UnsyncedWritesMayBeLost
        } else {
            RestartEvidence::CompletedWritesKept
        };
        self.network.drop_inbound(index);
        if power_loss {
            self.summary.node_faults.power_losses += 1;
        } else {
            self.summary.node_faults.crashes += 1;
        }
    }

    /// Reads every running replica's partition logs back and compares them with the
    /// committed history (see `checker/partition_logs.rs`).
    fn check_logs(&mut self) -> Result<(), Violation> {
        self.logs.catch_up(&self.commits, &self.replies)?;
        for (index, node) in self.nodes.iter().enumerate() {
            if let Some(replica) = &node.replica {
                let id = u8::try_from(index).expect("small");
                self.logs.check(id, replica)?;
            }
        }
        Ok(())
    }

    /// At the end of a run: the live check, then each running replica's logs are flushed
    /// and their disk image reopened (a fresh recovery, every batch read from disk) and
    /// compared again.
    fn final_log_check(&mut self) -> Result<(), Violation> {
        self.check_logs()?;
        for index in 0..self.nodes.len() {
            let node = &mut self.nodes[index];
            let Some(replica) = node.replica.as_mut() else { continue };
            let commit_min = replica.commit_min();
            let data = replica.state_machine_mut().data.as_mut().expect("running");
            let image = data.reopened_image().map_err(|error| {
                Violation::new("partition-logs", format!("replica {index}: {error}"))
            })?;
            for (partition, (batches, reads)) in image.iter().enumerate() {
                self.logs.stats.disk_reads += reads;
                let log = &data.logs()[partition];
                self.logs.compare(Shown {
                    replica: u8::try_from(index).expect("small"),
                    catching_up: data.catching_up(partition),
                    commit_min,
                    partition,
                    first_offset: log.first_offset(),
                    next_offset: log.next_offset(),
                    from: log.first_offset(),
                    batches,
                    source: "reopened disk image",
                })?;
            }
        }
        Ok(())
    }

    /// Per-tick checks of every running replica.
    fn observe(&mut self) -> Result<(), Violation> {
        for (index, node) in self.nodes.iter().enumerate() {
            let problem = node.replica.as_ref().and_then(|r| r.state_machine().data.as_ref());
            if let Some(problem) = problem.and_then(|data| data.problem.as_ref()) {
                return Err(Violation::new(
                    "partition-logs",
                    format!("replica {index}: {problem}"),
                ));
            }
        }
        if self.tick.is_multiple_of(LOG_CHECK_PERIOD_TICKS) {
            self.check_logs()?;
        }
        for index in 0..self.nodes.len() {
            let Some(replica) = &self.nodes[index].replica else {
                self.last_status[index] = None;
                continue;
            };
            replica.check_invariants();
            let id = u8::try_from(index).expect("small");
            if let Some(durable) = replica.superblock_durable() {
                self.views.observe(id, durable.view, replica.view())?;
                let checkpoint = durable.checkpoint;
                self.checkpoints.observe(id, checkpoint.op, checkpoint.snapshot_checksum)?;
            }
            let status = (replica.status(), replica.view());
            if self.last_status[index] != Some(status) {
                self.last_status[index] = Some(status);
                if self.log != Log::Quiet {
                    println!(
                        "{:>7} replica {index} {:?} view={} op={} commit_min={}",
                        self.tick,
                        replica.status(),
                        replica.view(),
                        replica.op(),
                        replica.commit_min()
                    );
                }
            }
        }
        if self.clients.iter().all(|client| client.in_flight.is_none()) {
            self.last_commit_progress_tick = self.last_commit_progress_tick.max(self.tick - 1);
        }
        let stall = self.tick - self.last_commit_progress_tick;
        self.summary.longest_stall_ticks = self.summary.longest_stall_ticks.max(stall);
        Ok(())
    }

    /// Collects the summary counters.
    pub fn finish_summary(&mut self) {
        let summary = &mut self.summary;
        summary.ticks = self.tick;
        summary.ops_committed = self.commits.commit_max();
        summary.history_checksum = self.commits.history_checksum();
        summary.acknowledged = self.replies.acknowledged;
        summary.view_max = self.views.view_max;
        for client in &self.clients {
            summary.node_faults.clock_skews += u64::from(client.skewed());
            summary.requests += client.stats.requests;
            summary.retries += client.stats.retries;
            summary.evictions_seen += client.stats.evictions;
        }
        summary.partition_logs = self.logs.stats;
        for node in &self.nodes {
            summary.storage_faults.add(&node.storage.faults);
            summary.data_disk_faults.add(&node.data_disk().faults);
            summary.partition_logs.add(&node.log_stats_total());
            if let Some(replica) = &node.replica {
                let stats = replica.stats();
                summary.view_changes += stats.view_changes;
                summary.prepares_repaired += stats.prepares_repaired;
                summary.headers_repaired += stats.headers_repaired;
                summary.syncs += stats.syncs;
                summary.checkpoints += stats.checkpoints;
            }
        }
        summary.network_faults = self.network.faults;
        summary.delivered = self.network.delivered.values().sum();
    }
}
