//! The storage half of a driver: executes a replica's journal and superblock actions on a
//! `JournalStore` over any `Storage`, and turns the store's events back into completions.
//! The node, the simulator and the tests all drive replicas with it, so a new action is
//! handled in one place.

use vireo_protocol::vsr::{Header, Message};
use vireo_storage::Storage;
use vireo_storage::journal::{JournalEvent, JournalStore};

use crate::action::{Action, IoDone};

/// What a replica emitted for the world outside its process, as a driver collects it
/// between inputs (the simulator and the scenario tests route these themselves).
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

impl Outputs {
    /// Keeps `action` if it leaves the process; gives the I/O actions back to the caller.
    pub fn collect(&mut self, action: Action) -> Option<Action> {
        match action {
            Action::Send { replica, message } => self.sends.push((replica, message)),
            Action::Reply { message } => self.replies.push(message),
            Action::Applied { header } => self.applied.push(Applied::Op(header)),
            Action::StateSynced { op } => self.applied.push(Applied::Synced(op)),
            io => return Some(io),
        }
        None
    }
}

/// Feeds the storage's completions to the store and appends the events it can report
/// now, in the order the replica must see them.
pub fn poll_journal<S: Storage + ?Sized>(
    store: &mut JournalStore,
    storage: &mut S,
    events: &mut Vec<JournalEvent>,
) {
    let mut completions = Vec::new();
    storage.poll(&mut completions);
    for completion in completions {
        store.on_completion(storage, completion, events);
    }
    store.poll_ready(events);
}

/// Executes `action` if it is journal/superblock/snapshot I/O; returns false for the
/// actions the caller routes itself (sends, replies, observations).
///
/// `SnapshotWrite` only writes the snapshot bytes: a driver whose state machine keeps
/// files of its own must make them durable up to the snapshot's op *before* calling this.
pub fn execute_io<S: Storage + ?Sized>(
    store: &mut JournalStore,
    storage: &mut S,
    action: &Action,
) -> bool {
    match action {
        Action::JournalWrite { message } => store.write_prepare(storage, message),
        Action::JournalWriteHeader { header } => store.write_header(storage, header),
        Action::JournalRead { op, checksum } => store.read_prepare(storage, *op, *checksum),
        Action::JournalSync { op } => store.sync(storage, *op),
        Action::SuperblockWrite { state } => store.write_superblock(storage, state),
        Action::SnapshotWrite { area, snapshot, .. } => {
            store.write_snapshot(storage, *area, snapshot);
        }
        Action::Send { .. }
        | Action::Reply { .. }
        | Action::Applied { .. }
        | Action::StateSynced { .. } => {
            return false;
        }
    }
    true
}

/// The store's event as the replica's completion.
#[must_use]
pub fn io_done(event: JournalEvent) -> IoDone {
    match event {
        JournalEvent::PrepareWritten { op, checksum } => IoDone::JournalWrite { op, checksum },
        JournalEvent::HeaderWritten { op, checksum } => IoDone::JournalHeaderWrite { op, checksum },
        JournalEvent::PrepareRead { op, checksum, message } => {
            IoDone::JournalRead { op, checksum, message }
        }
        JournalEvent::Synced { op } => IoDone::JournalSync { op },
        JournalEvent::SuperblockWritten { sequence } => IoDone::SuperblockWrite { sequence },
        JournalEvent::SnapshotWritten { area, size, checksum } => {
            IoDone::SnapshotWrite { area, size, checksum }
        }
    }
}
