//! Partition data catch-up: a replica that installed a checkpoint by state transfer (or
//! restarted in the middle of doing so) fetches the partition records the checkpoint
//! only *describes*, from a peer, while the other replicas keep serving.
//!
//! **The gap.** A partition group's snapshot is a descriptor: per partition, the first
//! and next offset at the checkpoint op `C` (plus consumer offsets), not the messages.
//! A wiped or far-behind replica that installs it holds none (or a prefix) of the
//! records below the checkpoint's next offset `N`, while every op above `C` appends at
//! `N` and beyond.
//!
//! **Choice: hold applies until the gap is filled.** While any partition of the group
//! lacks data, [`PartitionMachine::apply_ready`](vireo_consensus::StateMachine) is false
//! and consensus applies nothing above `C` (it keeps journaling prepares and sending
//! prepare_ok, so the group's quorum is not weakened). The fetched records are appended
//! to an ordinary log that starts at the checkpoint's first offset, exactly as the
//! source appended them (same ops, metadata and bytes, verified on import), so the log
//! ends up byte-identical to the source's for `[first, N)` with the same segment
//! boundaries, and the ops above `C` then append at `N` as on every replica. Why not
//! append new ops first and slot the old records in below: segment-level ops
//! (`delete_segments`, retention) replicated after `C` must see the same segments on
//! every replica, which only an in-order rebuild guarantees without new storage surgery.
//! The cost: this replica's commits lag until the fetch ends; if that outlasts its
//! journal ring, consensus transfers a newer checkpoint and the fetch resumes from what
//! is already here ([`install`]).
//!
//! **Serving** ([`serve`]): any replica answers `RequestPartitionData` from its applied
//! log only (records of ops at or below the requester's checkpoint), or says why not
//! (gone: deleted by a later op; behind; unknown). **Fetching** ([`fetch`]): one request
//! in flight per group, bounded bytes per answer, a timeout and a source rotation on
//! failure. **Crash safety** ([`marker`]): a durable per-group marker, written before the
//! transferred snapshot can become durable and removed once the fetched data is flushed,
//! tells a restart that short logs are expected and must be fetched again, not "lost".
//!
//! Polls of a group that is fetching are refused with [`Syncing`] (the edge maps it to a
//! transient status); `/ready` is false while [`PartitionMachine::syncing`].

pub mod bus;
mod fetch;
mod install;
pub(crate) mod marker;
mod serve;

use std::collections::BTreeMap;

use vireo_protocol::vsr::{Command, Header, Message};

pub use bus::{FRAME_SLACK_BYTES, ShardTransferBus};

use super::key::PartitionKey;
use super::machine::PartitionMachine;

/// Record bytes asked for per request (an answer holds at least one whole record); also
/// at most half the group's largest batch, so that a full answer fits a message.
pub const TRANSFER_BYTES_MAX: u32 = 1 << 20;
/// Ticks without an answer before the request is sent again, to the next source.
pub const TRANSFER_TIMEOUT_TICKS: u64 = 20;
/// Ticks to wait after a refusal (behind, gone, unknown, bad records) before retrying.
pub const TRANSFER_RETRY_TICKS: u64 = 5;
/// Ticks a primary may stay unable to apply (fetching) before it hands primaryship over:
/// a primary that cannot apply stalls its group's replies, and a primary never takes a
/// newer checkpoint (which a fetch whose records were deleted at every peer needs).
pub const HANDOVER_AFTER_TICKS: u64 = 50;

/// What the fetch sends through: the replica bus (the shard) or a test's queue.
pub trait TransferBus {
    /// The cluster id stamped into every message.
    fn cluster(&self) -> u128;
    /// This replica's index.
    fn replica(&self) -> u8;
    /// Replicas in the cluster.
    fn replica_count(&self) -> u8;
    /// Sends `message` to `replica` (best effort: a lost message times out and is
    /// requested again).
    fn send(&mut self, replica: u8, message: Message);
}

/// A poll of a group whose data is still being fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("partition group {group} is catching up (state transfer) and serves no reads yet")]
pub struct Syncing {
    /// The group.
    pub group: u32,
}

/// The outstanding request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InFlight {
    pub(crate) key: PartitionKey,
    pub(crate) from_offset: u64,
    pub(crate) source: u8,
    pub(crate) sent_tick: u64,
}

/// Counters, for logs, metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Requests sent.
    pub requests: u64,
    /// Records imported.
    pub records_imported: u64,
    /// Record bytes imported.
    pub bytes_imported: u64,
    /// Answers refused (gone, behind, unknown) or with records that failed verification.
    pub refusals: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Requests served to peers.
    pub served: u64,
}

/// The group's catch-up: what is missing and the fetch's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Catchup {
    /// The checkpoint whose data is fetched: records of ops above it are never taken.
    pub(crate) checkpoint_op: u64,
    /// Partitions still short, with the offset their log must reach.
    pub(crate) targets: BTreeMap<PartitionKey, u64>,
    /// The replica asked next.
    pub(crate) source: Option<u8>,
    pub(crate) in_flight: Option<InFlight>,
    /// No request before this tick (after a refusal).
    pub(crate) retry_tick: u64,
    /// Flush started once every target was reached; the marker goes when it completes.
    pub(crate) final_flush: Option<Vec<(PartitionKey, u64)>>,
    /// Transfer ticks counted since this catch-up started.
    pub(crate) ticks: u64,
}

impl Catchup {
    pub(crate) fn new(checkpoint_op: u64, targets: BTreeMap<PartitionKey, u64>) -> Self {
        Self {
            checkpoint_op,
            targets,
            source: None,
            in_flight: None,
            retry_tick: 0,
            final_flush: None,
            ticks: 0,
        }
    }
}

impl PartitionMachine {
    /// True while some partition of this group lacks data below its checkpoint: the group
    /// applies nothing, serves no polls, and the node is not ready.
    #[must_use]
    pub fn syncing(&self) -> bool {
        self.catchup.as_ref().is_some_and(|catchup| !catchup.targets.is_empty())
    }

    /// True once this group has been fetching for [`HANDOVER_AFTER_TICKS`]: a primary
    /// should abdicate (the shard calls `Replica::abdicate`).
    #[must_use]
    pub fn should_hand_over(&self) -> bool {
        self.syncing() && self.catchup.as_ref().is_some_and(|c| c.ticks > HANDOVER_AFTER_TICKS)
    }

    /// Whether polls of this group may be served now.
    pub fn readable(&self) -> Result<(), Syncing> {
        if self.syncing() { Err(Syncing { group: self.group }) } else { Ok(()) }
    }

    /// The transfer's counters.
    #[must_use]
    pub fn transfer_stats(&self) -> TransferStats {
        self.transfer_stats
    }

    /// A replica-plane message outside consensus for this group, from replica `from`.
    /// Malformed or misaddressed messages are dropped (and logged).
    pub fn on_transfer_message(&mut self, from: u8, message: &Message, bus: &mut dyn TransferBus) {
        let header = message.header();
        if header.group != self.group
            || header.replica != from
            || from >= bus.replica_count()
            || from == bus.replica()
            || header.cluster != bus.cluster()
        {
            tracing::debug!(group = self.group, from, "misaddressed transfer message dropped");
            return;
        }
        match header.command {
            Command::RequestPartitionData => self.serve(from, message, bus),
            Command::PartitionData => self.on_partition_data(from, message, bus),
            command => tracing::debug!(?command, "not a transfer command"),
        }
    }

    /// One tick: (re)sends the request that is due, and finishes a completed catch-up.
    pub fn transfer_tick(&mut self, bus: &mut dyn TransferBus) {
        self.transfer_ticks += 1;
        if let Some(catchup) = &mut self.catchup {
            catchup.ticks += 1;
        }
        self.fetch_tick(bus);
    }

    /// Bytes asked for (or served) per answer.
    pub(crate) fn transfer_bytes_max(&self) -> u32 {
        TRANSFER_BYTES_MAX.min(self.settings.record_payload_size_max / 2).max(1)
    }

    pub(crate) fn transfer_header(&self, command: Command, bus: &dyn TransferBus) -> Header {
        let mut header = Header::new(command);
        header.cluster = bus.cluster();
        header.replica = bus.replica();
        header.group = self.group;
        header
    }
}

#[cfg(test)]
mod tests;
