//! One replica process: the real `Replica` and `JournalStore` on a [`Disk`], driven like
//! the simulator's node — every input is followed by its I/O, run to quiescence.

use vireo_consensus::driver;
pub use vireo_consensus::driver::{Applied, Outputs};
use vireo_consensus::{Action, Replica, ReplicaConfig, RestartEvidence};
use vireo_storage::journal::JournalStore;
use vireo_storage::{OpenMode, Storage};

use super::disk::Disk;
use super::machine::Machine;

/// The journal file on every disk.
pub const FILE: &str = "group-0.vsr";

pub struct Node {
    pub config: ReplicaConfig,
    pub disk: Disk,
    store: Option<JournalStore>,
    pub replica: Option<Replica<Machine>>,
    /// What the next start may assume about the disk.
    pub evidence: RestartEvidence,
    pub boots: u64,
}

impl Node {
    /// A node with a freshly formatted disk, not started.
    pub fn formatted(config: ReplicaConfig) -> Self {
        let mut disk = Disk::new(0xd15c ^ u64::from(config.replica));
        let file = disk.open(FILE, OpenMode::Create).expect("create");
        let state = Replica::<Machine>::format_state(&config);
        JournalStore::format(&mut disk, file, &config.journal_layout(), &state).expect("format");
        Self {
            config,
            disk,
            store: None,
            replica: None,
            evidence: RestartEvidence::CompletedWritesKept,
            boots: 0,
        }
    }

    pub fn up(&self) -> bool {
        self.replica.is_some()
    }

    pub fn replica(&self) -> &Replica<Machine> {
        self.replica.as_ref().expect("replica is up")
    }

    /// Starts the process: recovery, `Replica::open`, then its start-up I/O. Returns the
    /// op it had applied when it opened (its checkpoint) and what the start-up emitted.
    pub fn start(&mut self) -> (u64, Outputs) {
        assert!(self.replica.is_none(), "already up");
        let file = self.disk.open(FILE, OpenMode::Existing).expect("journal");
        let mut store =
            JournalStore::new(self.config.journal_layout(), file, self.config.message_size_max, 0);
        let recovered = store.recover(&mut self.disk).expect("recover");
        self.boots += 1;
        let seed = 0x5eed ^ u64::from(self.config.replica) << 8 ^ self.boots << 16;
        let replica =
            Replica::open(self.config.clone(), Machine::default(), recovered, self.evidence, seed)
                .expect("open");
        replica.check_invariants();
        let commit_min = replica.commit_min();
        self.store = Some(store);
        self.replica = Some(replica);
        (commit_min, self.run())
    }

    /// The process dies; its disk keeps completed writes.
    pub fn crash(&mut self) {
        self.replica = None;
        self.store = None;
        self.disk.process_crash();
        self.evidence = RestartEvidence::CompletedWritesKept;
    }

    /// The machine loses power; its disk keeps what was synced.
    pub fn power_loss(&mut self) {
        self.replica = None;
        self.store = None;
        self.disk.power_loss();
        self.evidence = RestartEvidence::UnsyncedWritesMayBeLost;
    }

    /// Flips a byte in the body of `op`'s prepare slot, on the live and durable images.
    pub fn corrupt_prepare(&mut self, op: u64) {
        assert!(!self.up(), "corrupt a disk while its replica is down");
        let layout = self.config.journal_layout();
        let at = usize::try_from(layout.prepare_offset(layout.slot(op))).expect("fits")
            + vireo_protocol::vsr::HEADER_SIZE
            - 1;
        self.disk.bytes_mut(FILE)[at] ^= 0x5a;
        self.disk.flip_durable(FILE, at);
    }

    /// Feeds one input, then runs its I/O to quiescence, checking invariants throughout.
    pub fn input(&mut self, input: impl FnOnce(&mut Replica<Machine>)) -> Outputs {
        let Some(replica) = &mut self.replica else { return Outputs::default() };
        input(replica);
        replica.check_invariants();
        self.run()
    }

    fn run(&mut self) -> Outputs {
        let mut outputs = Outputs::default();
        let (Some(replica), Some(store)) = (&mut self.replica, &mut self.store) else {
            return outputs;
        };
        for _ in 0..1_000 {
            let actions: Vec<Action> = replica.drain_actions().collect();
            for action in actions {
                if let Some(io) = outputs.collect(action) {
                    driver::execute_io(store, &mut self.disk, &io);
                }
            }
            let mut events = Vec::new();
            driver::poll_journal(store, &mut self.disk, &mut events);
            let waiting = store.in_flight() > 0 && !self.disk.delaying();
            if events.is_empty() && replica.actions().is_empty() && !waiting {
                return outputs;
            }
            for event in events {
                replica.on_io_done(driver::io_done(event));
                replica.check_invariants();
            }
        }
        panic!("replica {} did not quiesce", self.config.replica);
    }
}
