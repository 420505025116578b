//! The node's [`TransferBus`]: the replica bus as a shard sees it.

use vireo_protocol::vsr::Message;

use super::TransferBus;

/// Extra bytes a `PartitionData` frame may need beyond the group's `message_size_max`:
/// one record of the largest batch is the batch plus a 64-byte record header, framed
/// with a 64-byte answer prefix, where a prepare carries the same batch with a 40-byte
/// send prefix (88 bytes more; rounded up). The bus accepts frames this much larger.
pub const FRAME_SLACK_BYTES: usize = 128;

/// Sends through the shard's replica bus (nothing without one: a cluster of one).
#[derive(Debug)]
pub struct ShardTransferBus<'a> {
    /// The bus, if this node has peers.
    pub bus: Option<&'a crate::bus::Bus>,
    /// The cluster id.
    pub cluster: u128,
    /// This node's replica index.
    pub replica: u8,
    /// Replicas in the cluster.
    pub replica_count: u8,
}

impl ShardTransferBus<'_> {
    /// The bus view of a shard.
    #[must_use]
    pub fn of(shard: &crate::shard::Shard) -> ShardTransferBus<'_> {
        ShardTransferBus {
            bus: shard.bus.as_deref(),
            cluster: shard.config.consensus.cluster_id,
            replica: shard.config.cluster.replica,
            replica_count: shard.config.cluster.replica_count(),
        }
    }
}

impl TransferBus for ShardTransferBus<'_> {
    fn cluster(&self) -> u128 {
        self.cluster
    }
    fn replica(&self) -> u8 {
        self.replica
    }
    fn replica_count(&self) -> u8 {
        self.replica_count
    }
    fn send(&mut self, replica: u8, message: Message) {
        if let Some(bus) = self.bus {
            // A full queue drops it; the request times out and is sent again.
            bus.send(replica, message);
        }
    }
}
