//! The partition plane (consensus groups `1..=G`): partition logs and consumer offsets.
//!
//! A partition belongs to group `1 + stable_hash(stream, topic, partition) % G`
//! ([`key::partition_group`]). Its log is created on the first produce (the op carries
//! the topic's segment settings), named by the partition's incarnation so that ids
//! reused after a delete never meet old data ([`key::PartitionKey`]). Produces are
//! applied by stamping offsets and the op's timestamp into the batch as received and
//! appending it ([`op`], `apply.rs`); consumer offsets, purges, segment deletion and
//! retention are replicated ops of the same group, so every replica's partition ends in
//! the same state. Checkpoints flush the logs before the snapshot (registry + offsets)
//! is written; a restart cuts the logs back to the checkpoint and consensus replays the
//! journal on top ([`logs`]). A replica that installs a checkpoint by state transfer
//! fetches the records the checkpoint only describes from a peer first ([`transfer`]).

mod apply;
pub mod key;
pub mod logs;
mod machine;
pub mod op;
pub mod snapshot;
pub mod transfer;

pub use key::{OwnerKey, PartitionKey, partition_group};
pub use machine::PartitionMachine;
pub use transfer::{Syncing, TransferBus, TransferStats};

/// What the edge reports about a partition (zeros before its first message).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionStats {
    /// Offset the next message gets.
    pub next_offset: u64,
    /// First offset still stored.
    pub first_offset: u64,
    /// Bytes stored.
    pub size_bytes: u64,
    /// Segments.
    pub segments_count: u32,
}

impl PartitionStats {
    /// Messages stored.
    #[must_use]
    pub fn messages_count(&self) -> u64 {
        self.next_offset - self.first_offset
    }

    /// Iggy's `current_offset`: the last offset, 0 when empty.
    #[must_use]
    pub fn current_offset(&self) -> u64 {
        self.next_offset.saturating_sub(1)
    }
}

impl PartitionMachine {
    /// The statistics of one partition.
    #[must_use]
    pub fn stats(&self, key: &PartitionKey) -> PartitionStats {
        self.log(key).map_or_else(PartitionStats::default, |log| PartitionStats {
            next_offset: log.next_offset(),
            first_offset: log.first_offset(),
            size_bytes: log.size_bytes(),
            segments_count: u32::try_from(log.segments().len()).unwrap_or(u32::MAX),
        })
    }
}

#[cfg(test)]
mod test_machine;
#[cfg(test)]
mod tests;
