//! What a replica asks its driver to do, and what the driver reports back.

use vireo_protocol::vsr::{Header, Message};
use vireo_storage::superblock::VsrState;

/// One effect in the replica's outbox. The driver executes actions in order; I/O actions
/// complete later through [`crate::Replica::on_io_done`] with the matching [`IoDone`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a message to another replica (best effort: the network may drop it).
    Send {
        /// Destination replica index.
        replica: u8,
        /// The message.
        message: Message,
    },
    /// Deliver a reply or an eviction to the client named in its header.
    Reply {
        /// The reply (`Command::Reply` or `Command::Eviction`).
        message: Message,
    },
    /// Write a prepare to its journal slot, then its redundant header
    /// (completes with [`IoDone::JournalWrite`]).
    JournalWrite {
        /// The prepare, verbatim.
        message: Message,
    },
    /// Write only the redundant header of a faulty op (its prepare is missing), so the
    /// fault survives a restart (completes with [`IoDone::JournalHeaderWrite`]).
    JournalWriteHeader {
        /// The faulty op's header.
        header: Header,
    },
    /// Read a prepare back (completes with [`IoDone::JournalRead`]).
    JournalRead {
        /// Op wanted.
        op: u64,
        /// Its checksum.
        checksum: u128,
    },
    /// Make every completed journal write durable (completes with [`IoDone::JournalSync`]).
    JournalSync {
        /// Marker echoed back: the highest op whose write had completed.
        op: u64,
    },
    /// Write and sync the superblock (completes with [`IoDone::SuperblockWrite`]).
    SuperblockWrite {
        /// The new durable state.
        state: Box<VsrState>,
    },
    /// A committed op was applied (for observers: metrics, readiness, the simulator's
    /// checkers). Nothing to execute.
    Applied {
        /// The applied prepare's header.
        header: Header,
    },
    /// State transfer installed the checkpoint at `op`: ops after it apply next (for
    /// observers: metrics, the simulator's checkers). Nothing to execute.
    StateSynced {
        /// The installed checkpoint's op.
        op: u64,
    },
    /// Write and sync a checkpoint snapshot into `area` (completes with
    /// [`IoDone::SnapshotWrite`]). The driver first makes the state machine's own files
    /// durable up to `op` (e.g. flushes partition logs).
    SnapshotWrite {
        /// The op the snapshot reflects.
        op: u64,
        /// Alternating area (0 or 1).
        area: u8,
        /// Snapshot bytes.
        snapshot: Vec<u8>,
    },
}

/// A completed I/O, fed back with [`crate::Replica::on_io_done`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoDone {
    /// The prepare and its redundant header are on disk.
    JournalWrite {
        /// Op written.
        op: u64,
        /// Its checksum.
        checksum: u128,
    },
    /// A faulty op's redundant header is on disk.
    JournalHeaderWrite {
        /// Op written.
        op: u64,
        /// Its checksum.
        checksum: u128,
    },
    /// A prepare read back; `None` if missing or corrupt.
    JournalRead {
        /// Op requested.
        op: u64,
        /// Checksum requested.
        checksum: u128,
        /// The verified prepare.
        message: Option<Box<Message>>,
    },
    /// A journal sync finished.
    JournalSync {
        /// The marker given.
        op: u64,
    },
    /// The superblock with this sequence is durable.
    SuperblockWrite {
        /// Sequence written.
        sequence: u64,
    },
    /// A snapshot is durable.
    SnapshotWrite {
        /// Area written.
        area: u8,
        /// Bytes written.
        size: u32,
        /// Their checksum.
        checksum: u128,
    },
}
