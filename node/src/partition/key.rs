//! Names of partitions and of offset owners inside a partition group.

use rkyv::{Archive, Deserialize, Serialize};

/// A partition, for ever: ids are reused after deletes, the incarnation (the metadata op
/// that created the partition) never is, so a recreated topic never meets the old one's
/// data or offsets.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Archive, Serialize, Deserialize,
)]
pub struct PartitionKey {
    /// Stream id.
    pub stream_id: u32,
    /// Topic id.
    pub topic_id: u32,
    /// Partition id.
    pub partition_id: u32,
    /// The metadata op that created it.
    pub incarnation: u64,
}

impl PartitionKey {
    /// The directory of its log, relative to the data directory.
    #[must_use]
    pub fn directory(&self, group: u32) -> String {
        format!(
            "partitions/g{group}/{}-{}-{}-{}",
            self.stream_id, self.topic_id, self.partition_id, self.incarnation
        )
    }

    /// Parses the last component of [`Self::directory`].
    #[must_use]
    pub fn from_directory_name(name: &str) -> Option<Self> {
        let mut parts = name.split('-');
        let key = Self {
            stream_id: parts.next()?.parse().ok()?,
            topic_id: parts.next()?.parse().ok()?,
            partition_id: parts.next()?.parse().ok()?,
            incarnation: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(key)
    }
}

/// Whose stored offset: a single consumer (its id as the client sent it) or a consumer
/// group (by id and incarnation, so a recreated group starts fresh).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Archive, Serialize, Deserialize)]
pub enum OwnerKey {
    /// A numeric consumer id.
    ConsumerId(u32),
    /// A named consumer.
    ConsumerName(String),
    /// A consumer group.
    Group {
        /// Group id.
        id: u32,
        /// The op that created the group.
        incarnation: u64,
    },
}

/// The group of a partition: `1 + stable_hash(stream, topic, partition) % groups`.
/// Stable across versions and machines (xxh3 of the little-endian ids), so every node
/// and every restart routes a partition to the same group.
#[must_use]
pub fn partition_group(stream_id: u32, topic_id: u32, partition_id: u32, groups: u32) -> u32 {
    assert!(groups > 0, "at least one partition group");
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&stream_id.to_le_bytes());
    bytes[4..8].copy_from_slice(&topic_id.to_le_bytes());
    bytes[8..].copy_from_slice(&partition_id.to_le_bytes());
    let hash = vireo_protocol::iggy::checksum::xxh3(&bytes);
    1 + u32::try_from(hash % u64::from(groups)).expect("below groups")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_round_trip_and_groups_spread() {
        let key = PartitionKey { stream_id: 1, topic_id: 2, partition_id: 3, incarnation: 44 };
        let directory = key.directory(7);
        assert_eq!(directory, "partitions/g7/1-2-3-44");
        let name = directory.rsplit('/').next().unwrap();
        assert_eq!(PartitionKey::from_directory_name(name), Some(key));
        assert_eq!(PartitionKey::from_directory_name("1-2-3"), None);
        assert_eq!(PartitionKey::from_directory_name("1-2-3-4-5"), None);

        let mut seen = [0u32; 4];
        for partition in 0..400 {
            let group = partition_group(0, 0, partition, 4);
            assert!((1..=4).contains(&group));
            seen[group as usize - 1] += 1;
        }
        assert!(seen.iter().all(|&count| count > 50), "{seen:?}");
        assert_eq!(partition_group(3, 1, 9, 4), partition_group(3, 1, 9, 4));
    }
}
