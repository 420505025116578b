//! One simulated replica process: the real `Replica`, the real `JournalStore`, on a
//! `SimStorage` disk — the same pieces the node uses, with the simulator as the driver.

use vireo_consensus::{Action, OpenError, Replica, ReplicaConfig, RestartEvidence};
use vireo_protocol::vsr::{Header, Message};
use vireo_storage::journal::store::RecoveryError;
use vireo_storage::journal::{JournalLayout, JournalStore};
use vireo_storage::{FileId, OpenMode, Storage};

use crate::sim_storage::SimStorage;
use crate::state_machine::SimStateMachine;

/// The journal file's name on a replica's disk.
pub const JOURNAL_FILE: &str = "group-0.vsr";

/// Bound on action/completion rounds per input, so a bug cannot spin forever.
const ROUNDS_MAX: usize = 1_000;

/// What a replica produced for the world outside its process.
#[derive(Debug, Default)]
pub struct Outputs {
    /// Messages to other replicas.
    pub sends: Vec<(u8, Message)>,
    /// Replies and evictions to clients.
    pub replies: Vec<Message>,
    /// Committed ops applied, in order; a state transfer (the op it installed) resets
    /// the sequence.
    pub applied: Vec<Applied>,
}

/// An applied op, or a jump to a checkpoint by state transfer.
#[derive(Debug, Clone, Copy)]
pub enum Applied {
    /// The op's prepare header.
    Op(Header),
    /// State transfer to the checkpoint at this op.
    Synced(u64),
}

/// Why a replica failed to start.
#[derive(Debug)]
pub enum StartError {
    /// Recovery could not read a state.
    Recovery(RecoveryError),
    /// The replica refused the state.
    Open(OpenError),
}

/// A replica process and its disk.
#[derive(Debug)]
pub struct SimNode {
    /// Replica index.
    pub index: u8,
    config: ReplicaConfig,
    /// The disk (survives crashes).
    pub storage: SimStorage,
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
    /// A node with an empty disk (not started).
    #[must_use]
    pub fn new(index: u8, config: ReplicaConfig, storage: SimStorage, seed: u64) -> Self {
        Self {
            index,
            config,
            storage,
            store: None,
            replica: None,
            paused: false,
            seed,
            boots: 0,
            last_crash_evidence: RestartEvidence::CompletedWritesKept,
        }
    }

    fn layout(&self) -> JournalLayout {
        JournalLayout::new(
            self.config.journal_slot_count,
            self.config.message_size_max,
            self.config.snapshot_size_max,
        )
    }

    /// Formats the disk (first boot).
    pub fn format(&mut self) {
        let file = self.storage.open(JOURNAL_FILE, OpenMode::Create).expect("open journal");
        let state = Replica::<SimStateMachine>::format_state(&self.config);
        let layout = self.layout();
        JournalStore::format(&mut self.storage, file, &layout, &state).expect("format journal");
    }

    /// Starts the process: recovers the journal and opens the replica.
    pub fn start(&mut self, evidence: RestartEvidence) -> Result<Outputs, StartError> {
        assert!(self.replica.is_none());
        let file: FileId =
            self.storage.open(JOURNAL_FILE, OpenMode::Existing).expect("journal exists");
        let mut store = JournalStore::new(self.layout(), file, self.config.message_size_max, 0);
        let recovered = store.recover(&mut self.storage).map_err(StartError::Recovery)?;
        self.boots += 1;
        let seed = self.seed.wrapping_add(self.boots);
        let replica = Replica::open(
            self.config.clone(),
            SimStateMachine::default(),
            recovered,
            evidence,
            seed,
        )
        .map_err(StartError::Open)?;
        self.store = Some(store);
        self.replica = Some(replica);
        self.paused = false;
        Ok(self.run())
    }

    /// Kills the process; the disk keeps what it keeps.
    pub fn crash(&mut self, power_loss: bool) {
        self.replica = None;
        self.store = None;
        self.paused = false;
        self.storage.crash(power_loss);
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
                match action {
                    Action::Send { replica, message } => outputs.sends.push((replica, message)),
                    Action::Reply { message } => outputs.replies.push(message),
                    Action::Applied { header } => outputs.applied.push(Applied::Op(header)),
                    Action::StateSynced { op } => outputs.applied.push(Applied::Synced(op)),
                    io => {
                        vireo_consensus::driver::execute_io(store, &mut self.storage, &io);
                    }
                }
            }
            let mut completions = Vec::new();
            self.storage.poll(&mut completions);
            let mut events = Vec::new();
            for completion in completions {
                store.on_completion(&mut self.storage, completion, &mut events);
            }
            store.poll_ready(&mut events);
            if events.is_empty() && replica.actions().is_empty() {
                return outputs;
            }
            for event in events {
                replica.on_io_done(io_done(event));
            }
        }
        panic!("replica {} did not quiesce in {ROUNDS_MAX} rounds", self.index);
    }
}

use vireo_consensus::driver::io_done;
