//! A partition group's checkpoint snapshot: the registry of its partitions (where each
//! log ended at the checkpoint, and how to recreate it) and every stored consumer
//! offset. The logs' contents are not in it: they are files the driver flushed before the
//! snapshot was written (see `logs.rs` for how a restart uses the two together), or, on a
//! replica that installed the snapshot by state transfer, files it fetches from a peer
//! (`transfer`).

use rkyv::rancor;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Deserialize, Serialize};

use super::key::{OwnerKey, PartitionKey};

/// Version 2 added [`RegistryEntry::first_offset`] (partition data catch-up needs the
/// checkpoint's first stored offset to rebuild the same segments).
const VERSION: u32 = 2;

/// One partition of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub struct RegistryEntry {
    /// The partition.
    pub key: PartitionKey,
    /// Its log's next offset at the checkpoint.
    pub next_offset: u64,
    /// Its log's first stored offset at the checkpoint (the base of its first segment).
    pub first_offset: u64,
    /// Segment size of its topic.
    pub segment_size: u64,
    /// Preallocate segment files.
    pub preallocate: bool,
}

/// One stored offset.
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub struct OffsetEntry {
    /// The partition.
    pub key: PartitionKey,
    /// Whose.
    pub owner: OwnerKey,
    /// The offset.
    pub offset: u64,
}

/// The whole snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Archive, Serialize, Deserialize)]
pub struct PartitionSnapshot {
    /// Format version.
    pub version: u32,
    /// The op it reflects.
    pub applied_op: u64,
    /// Partitions in key order.
    pub partitions: Vec<RegistryEntry>,
    /// Offsets in (key, owner) order.
    pub offsets: Vec<OffsetEntry>,
}

impl PartitionSnapshot {
    /// Encodes the snapshot (stamping the version).
    ///
    /// # Panics
    /// Never for in-memory values.
    #[must_use]
    pub fn encode(mut self) -> Vec<u8> {
        self.version = VERSION;
        rkyv::to_bytes::<rancor::Error>(&self).expect("serializing to memory").into_vec()
    }

    /// Decodes a snapshot; `None` if the bytes are not one this version wrote.
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut aligned = AlignedVec::<16>::with_capacity(bytes.len());
        aligned.extend_from_slice(bytes);
        let snapshot = rkyv::from_bytes::<Self, rancor::Failure>(&aligned).ok()?;
        (snapshot.version == VERSION).then_some(snapshot)
    }
}
