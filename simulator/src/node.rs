//! One simulated replica process: the real `Replica`, the real `JournalStore`, on a
//! `SimStorage` disk, and the state machine's real partition logs on a second, data disk
//! — the same pieces the node uses, with the simulator as the driver.
//!
//! Checkpoints follow the node's driver: an `Action::SnapshotWrite` first flushes every
//! partition log, and the snapshot is written only once they are durable up to where
//! they were (the data disk's completions are polled each tick like the journal's).

use std::collections::VecDeque;

use vireo_consensus::driver;
pub use vireo_consensus::driver::{Applied, Outputs};
use vireo_consensus::{Action, OpenError, Replica, ReplicaConfig, RestartEvidence};
use vireo_storage::journal::JournalStore;
use vireo_storage::journal::store::RecoveryError;
use vireo_storage::{FileId, OpenMode, Storage};

use crate::options::LogOptions;
use crate::partition_logs::{DataLogs, Identity, LogStats};
use crate::sim_storage::SimStorage;
use crate::state_machine::{PARTITIONS, SimStateMachine};

/// The journal file's name on a replica's disk.
pub const JOURNAL_FILE: &str = "group-0.vsr";

/// Bound on action/completion rounds per input, so a bug cannot spin forever.
const ROUNDS_MAX: usize = 1_000;

/// Why a replica failed to start.
#[derive(Debug)]
pub enum StartError {
    /// Recovery could not read a state.
    Recovery(RecoveryError),
    /// The replica refused the state.
    Open(OpenError),
}

/// A snapshot write waiting for the partition logs to be durable.
#[derive(Debug)]
struct PendingSnapshot {
    action: Action,
    targets: [u64; PARTITIONS],
}

/// A replica process and its disks.
#[derive(Debug)]
pub struct SimNode {
    /// Replica index.
    pub index: u8,
    config: ReplicaConfig,
    /// The journal disk (survives crashes).
    pub storage: SimStorage,
    /// The data disk while the process is down (survives crashes); while it runs, the
    /// state machine owns it (`SimStateMachine::data`).
    data_disk: Option<SimStorage>,
    log_options: LogOptions,
    /// Snapshot writes waiting for their flush, in order.
    pending_snapshots: VecDeque<PendingSnapshot>,
    /// This replica installed a state transfer at least once.
    pub synced: bool,
    /// Partition-log counts of earlier incarnations.
    pub log_stats: LogStats,
    store: Option<JournalStore>,
    /// The running replica; `None` while crashed.
    pub replica: Option<Replica<SimStateMachine>>,
    /// A paused process holds its state but runs nothing.
    pub paused: bool,
    seed: u64,
    /// Times it started.
    pub boots: u64,
    /// What the last crash left on disk (tells the next start what to trust).
    pub last_crash_evidence: RestartEvidence,
}

impl SimNode {
    /// A node with empty disks (not started).
    #[must_use]
    pub fn new(
        index: u8,
        config: ReplicaConfig,
        storage: SimStorage,
        data_disk: SimStorage,
        log_options: LogOptions,
        seed: u64,
    ) -> Self {
        Self {
            index,
            config,
            storage,
            data_disk: Some(data_disk),
            log_options,
            pending_snapshots: VecDeque::new(),
            synced: false,
            log_stats: LogStats::default(),
            store: None,
            replica: None,
            paused: false,
            seed,
            boots: 0,
            last_crash_evidence: RestartEvidence::CompletedWritesKept,
        }
    }

    /// Formats the disk (first boot).
    pub fn format(&mut self) {
        let file = self.storage.open(JOURNAL_FILE, OpenMode::Create).expect("open journal");
        let state = Replica::<SimStateMachine>::format_state(&self.config);
        let layout = self.config.journal_layout();
        JournalStore::format(&mut self.storage, file, &layout, &state).expect("format journal");
    }

    /// Starts the process: recovers the journal, opens the partition logs and cuts them
    /// after the recovered checkpoint, and opens the replica (whose replay re-appends the
    /// ops after it).
    pub fn start(&mut self, evidence: RestartEvidence) -> Result<Outputs, StartError> {
        assert!(self.replica.is_none());
        let file: FileId =
            self.storage.open(JOURNAL_FILE, OpenMode::Existing).expect("journal exists");
        let mut store =
            JournalStore::new(self.config.journal_layout(), file, self.config.message_size_max, 0);
        let recovered = store.recover(&mut self.storage).map_err(StartError::Recovery)?;
        self.boots += 1;
        let seed = self.seed.wrapping_add(self.boots);
        let disk = self.data_disk.take().expect("a stopped process's data disk");
        let checkpoint_op = recovered.state.checkpoint.op;
        let data = DataLogs::open(disk, &self.log_options, checkpoint_op, self.boots);
        let machine = SimStateMachine { data: Some(data), ..SimStateMachine::default() };
        // (A refusal ends the run, data disk and all: the cluster panics on it.)
        let mut replica = Replica::open(self.config.clone(), machine, recovered, evidence, seed)
            .map_err(StartError::Open)?;
        let machine = replica.state_machine_mut();
        let expected = machine.model.next_offset;
        let data = machine.data.as_mut().expect("just opened");
        data.identity = Some(Identity {
            cluster: self.config.cluster,
            group: self.config.group,
            replica: self.index,
            replica_count: self.config.replica_count,
        });
        data.reconcile(&expected, self.synced);
        self.store = Some(store);
        self.replica = Some(replica);
        self.paused = false;
        Ok(self.run())
    }

    /// Kills the process; the disks keep what they keep.
    pub fn crash(&mut self, power_loss: bool) {
        if let Some(mut replica) = self.replica.take()
            && let Some(data) = replica.state_machine_mut().data.take()
        {
            let (disk, stats) = data.into_disk();
            self.data_disk = Some(disk);
            self.log_stats.add(&stats);
        }
        self.store = None;
        self.paused = false;
        self.pending_snapshots.clear();
        self.storage.crash(power_loss);
        self.data_disk.as_mut().expect("the data disk is back").crash(power_loss);
    }

    /// The data disk, wherever it is now.
    #[must_use]
    pub fn data_disk(&self) -> &SimStorage {
        match &self.replica {
            Some(replica) => &replica.state_machine().data.as_ref().expect("running").disk,
            None => self.data_disk.as_ref().expect("a stopped process's data disk"),
        }
    }

    /// Partition-log counts of every incarnation so far.
    #[must_use]
    pub fn log_stats_total(&self) -> LogStats {
        let mut total = self.log_stats;
        if let Some(data) = self.replica.as_ref().and_then(|r| r.state_machine().data.as_ref()) {
            total.add(&data.stats);
        }
        total
    }

    /// True if running and not paused.
    #[must_use]
    pub fn up(&self) -> bool {
        self.replica.is_some() && !self.paused
    }

    /// Feeds one input to the replica and runs its actions to quiescence.
    pub fn input(&mut self, input: impl FnOnce(&mut Replica<SimStateMachine>)) -> Outputs {
        let Some(replica) = &mut self.replica else { return Outputs::default() };
        input(replica);
        replica.check_invariants();
        let outputs = self.run();
        if let Some(replica) = &self.replica {
            replica.check_invariants();
        }
        outputs
    }

    /// Delivers due disk completions.
    pub fn poll_io(&mut self, tick: u64) -> Outputs {
        if !self.up() {
            return Outputs::default();
        }
        self.storage.set_tick(tick);
        if let Some(data) = self.replica.as_mut().and_then(|r| r.state_machine_mut().data.as_mut())
        {
            data.disk.set_tick(tick);
        }
        self.run()
    }

    /// Executes actions and completions until neither produces more.
    fn run(&mut self) -> Outputs {
        let mut outputs = Outputs::default();
        let (Some(replica), Some(store)) = (&mut self.replica, &mut self.store) else {
            return outputs;
        };
        for _ in 0..ROUNDS_MAX {
            let actions: Vec<Action> = replica.drain_actions().collect();
            for action in actions {
                if matches!(action, Action::StateSynced { .. }) {
                    self.synced = true;
                }
                match outputs.collect(action) {
                    None => {}
                    Some(action @ Action::SnapshotWrite { .. }) => {
                        // The logs' files first: durable up to where they are now.
                        let data = replica.state_machine_mut().data.as_mut().expect("running");
                        let targets = data.begin_checkpoint();
                        self.pending_snapshots.push_back(PendingSnapshot { action, targets });
                    }
                    Some(io) => {
                        driver::execute_io(store, &mut self.storage, &io);
                    }
                }
            }
            let data = replica.state_machine_mut().data.as_mut().expect("running");
            data.poll();
            outputs.sends.extend(data.take_outbox());
            while let Some(pending) = self.pending_snapshots.front()
                && data.checkpoint_ready(&pending.targets)
            {
                let pending = self.pending_snapshots.pop_front().expect("front exists");
                driver::execute_io(store, &mut self.storage, &pending.action);
            }
            let mut events = Vec::new();
            driver::poll_journal(store, &mut self.storage, &mut events);
            if events.is_empty() && replica.actions().is_empty() {
                return outputs;
            }
            for event in events {
                replica.on_io_done(driver::io_done(event));
            }
        }
        panic!("replica {} did not quiesce in {ROUNDS_MAX} rounds", self.index);
    }
}
