//! Viewstamped Replication as a pure state machine.
//!
//! A [`Replica`] is fed inputs — [`Replica::on_message`], [`Replica::on_request`],
//! [`Replica::on_tick`], [`Replica::on_io_done`] — and answers with an explicit outbox of
//! [`Action`]s (send, reply, write journal, read journal, sync, write superblock, write
//! snapshot). Nothing here awaits, reads a clock or touches a disk: time is ticks,
//! randomness comes from a seeded PRNG handed in, and storage is `vireo-storage`'s journal
//! and superblock logic driven through actions. The node's shard loop and the simulator
//! are two drivers of the same code, and several replicas (one per consensus group) can
//! run side by side on one thread: nothing is global.
//!
//! # Protocol
//!
//! VR Revisited with TigerBeetle's refinements: the primary is `view mod replica_count`;
//! prepares are hash-chained (`parent`) with 128-bit blake3 checksums over header and
//! body; a backup that loses its primary votes for the next view, and a view changes only
//! with a view-change quorum of votes; the new primary merges the logs of a quorum
//! ([`dvc_merge`]), keeping an uncommitted op unless a nack quorum positively denies it;
//! prepare_ok goes only to the current view's primary; missing entries are repaired along
//! the hash chain; a replica beyond the journal ring catches up by state transfer.
//!
//! # Durability contract
//!
//! **A replication quorum's acknowledgement is the durability boundary.** The primary
//! replies once a replication quorum (itself included) holds a prepare in its journal.
//! Under [`Durability::Replicated`] (the default; Iggy's `replicated`) "holds" means the
//! journal *write* completed — no fsync on that path; the journal is synced in the
//! background and the highest synced op is persisted. Under [`Durability::Persisted`]
//! (Iggy's `persisted`, per group or per prepare via `FLAG_PERSISTED`) a replica syncs
//! before it acknowledges.
//!
//! Always, whatever the mode: the superblock (view, log_view, commit, checkpoint, the view
//! suffix) is synced before any message that depends on it is sent; a corrupt journal
//! entry in the middle of the log is repaired from peers and never truncated; a replica
//! never nacks an op it may have acknowledged.
//!
//! The assumption under `Replicated`: **no correlated loss of a whole replication
//! quorum's unsynced state** (e.g. a power loss of every node at once). A replica that
//! restarts after losing unsynced writes treats every op above its synced watermark that
//! it no longer holds as *faulty* (never nacked) and enters `recovering_head`, casting no
//! vote until a start_view that postdates its crash (nonce). If a quorum restarts that way
//! at once, no primary can be elected: **the cluster stalls and says so**
//! ([`Replica::stall_reason`]) rather than serve a history that may have lost
//! acknowledged writes. A process crash on a running machine keeps completed writes (the
//! driver passes [`RestartEvidence::CompletedWritesKept`]) and loses nothing.

pub mod action;
pub mod client_table;
mod commit;
pub mod config;
pub mod driver;
pub mod dvc_merge;
mod invariants;
mod io;
mod normal;
pub mod pipeline;
pub mod prng;
mod recovery;
mod repair;
mod replica;
mod snapshot;
pub mod state_machine;
mod sync;
mod tick;
pub mod timeout;
mod view_change;

#[cfg(test)]
mod test_fixture;

pub use action::{Action, IoDone};
pub use config::{ConfigError, Durability, PIPELINE_MAX, ReplicaConfig, Timeouts};
pub use recovery::{OpenError, root_checksum};
pub use replica::{Replica, ReplicaStats, RestartEvidence, Status};
pub use state_machine::{ApplyContext, RestoreError, StateMachine};
