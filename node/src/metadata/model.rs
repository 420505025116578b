//! The metadata plane's state: streams > topics > partitions and consumer groups, users
//! and their personal access tokens. Deterministic containers only (`BTreeMap`), ids
//! lowest-free and 0-based, times from `ApplyContext`.
//!
//! The state is also the **read view** other shards use: it is cheap to clone because
//! every stream and user sits behind an `Arc` (a mutation copies only the entity it
//! changes, `Arc::make_mut`), so the metadata shard publishes `Arc<MetadataState>`
//! after each round of applied ops.

use std::collections::BTreeMap;
use std::sync::Arc;

use rkyv::{Archive, Deserialize, Serialize};
use vireo_protocol::iggy::primitives::Permissions;
use vireo_protocol::metadata::{TopicConfig, UserStatus};

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub struct Partition {
    /// 0-based, dense within the topic.
    pub id: u32,
    /// Creation time, µs.
    pub created_at: u64,
    /// The metadata op that created it: with the ids, names this partition for ever
    /// (ids are reused after a delete; incarnations never are).
    pub incarnation: u64,
}

/// A consumer group of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub struct ConsumerGroup {
    /// Lowest-free id within the topic.
    pub id: u32,
    /// Unique within the topic.
    pub name: String,
    /// The op that created it (keys its stored offsets; see `Partition::incarnation`).
    pub incarnation: u64,
    /// Members (Iggy client ids) and the partitions each is assigned.
    pub members: BTreeMap<u32, Vec<u32>>,
    /// Bumped on every change of membership or partitions (`sync_consumer_group`).
    pub generation: u64,
}

/// A topic.
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub struct Topic {
    /// Lowest-free id within the stream.
    pub id: u32,
    /// Unique within the stream.
    pub name: String,
    /// Creation time, µs.
    pub created_at: u64,
    /// Resolved settings.
    pub config: TopicConfig,
    /// Which settings the client set explicitly (bits of `topic_keys::*`): those are
    /// rendered as `options`, the rest as `derived_options`.
    pub options_set: u16,
    /// Partitions, ids `0..len`.
    pub partitions: Vec<Partition>,
    /// Consumer groups by id.
    pub groups: BTreeMap<u32, ConsumerGroup>,
}

/// A stream.
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub struct Stream {
    /// Lowest-free id.
    pub id: u32,
    /// Unique.
    pub name: String,
    /// Creation time, µs.
    pub created_at: u64,
    /// Topics by id.
    pub topics: BTreeMap<u32, Topic>,
}

/// A personal access token (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub struct Token {
    /// blake3 of the raw token, hex.
    pub hash: String,
    /// Absolute expiry, µs; `None` = never.
    pub expiry_at: Option<u64>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub struct User {
    /// Lowest-free id; the root user is 0.
    pub id: u32,
    /// Unique.
    pub username: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// May it log in.
    pub status: UserStatus,
    /// Its permissions (`None` = none; the root user has all regardless).
    pub permissions: Option<Permissions>,
    /// Creation time, µs.
    pub created_at: u64,
    /// Personal access tokens by name.
    pub tokens: BTreeMap<String, Token>,
}

/// Id of the root user.
pub const ROOT_USER_ID: u32 = 0;

/// The whole metadata state (and read view).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataState {
    /// Streams by id.
    pub streams: BTreeMap<u32, Arc<Stream>>,
    /// Users by id.
    pub users: BTreeMap<u32, Arc<User>>,
    /// The last applied op (0 = none): the view's version.
    pub applied_op: u64,
}

/// The lowest id not in `used`.
pub fn lowest_free<V>(used: &BTreeMap<u32, V>) -> Option<u32> {
    let mut candidate = 0u32;
    for &id in used.keys() {
        if id != candidate {
            break;
        }
        candidate = candidate.checked_add(1)?;
    }
    Some(candidate)
}

impl MetadataState {
    /// The stream named `name`.
    #[must_use]
    pub fn stream_by_name(&self, name: &str) -> Option<&Arc<Stream>> {
        self.streams.values().find(|stream| stream.name == name)
    }

    /// The user named `name`.
    #[must_use]
    pub fn user_by_name(&self, name: &str) -> Option<&Arc<User>> {
        self.users.values().find(|user| user.username == name)
    }

    /// A deterministic upper estimate of the snapshot bytes this state needs; the
    /// machine refuses ops that would take it past its budget.
    #[must_use]
    pub fn size_estimate(&self) -> u64 {
        let mut total = 64;
        for stream in self.streams.values() {
            total += 96 + stream.name.len() as u64;
            for topic in stream.topics.values() {
                total += 192 + topic.name.len() as u64 + 48 * topic.partitions.len() as u64;
                for group in topic.groups.values() {
                    total += 96 + group.name.len() as u64;
                    total += group.members.values().map(|p| 24 + 4 * p.len() as u64).sum::<u64>();
                }
            }
        }
        for user in self.users.values() {
            total += 160 + user.username.len() as u64 + user.password_hash.len() as u64;
            if let Some(permissions) = &user.permissions {
                total += 64
                    + permissions
                        .streams
                        .iter()
                        .map(|s| 64 + 24 * s.topics.len() as u64)
                        .sum::<u64>();
            }
            total += user
                .tokens
                .iter()
                .map(|(name, token)| 64 + (name.len() + token.hash.len()) as u64)
                .sum::<u64>();
        }
        total
    }

    /// Asserts the structural invariants (every machine input in tests; debug builds).
    pub fn check_invariants(&self) {
        for (&id, stream) in &self.streams {
            assert_eq!(stream.id, id, "stream keyed by its id");
            assert!(!stream.name.is_empty());
            assert_eq!(
                self.streams.values().filter(|other| other.name == stream.name).count(),
                1,
                "stream names are unique"
            );
            for (&topic_id, topic) in &stream.topics {
                assert_eq!(topic.id, topic_id, "topic keyed by its id");
                assert_eq!(
                    stream.topics.values().filter(|other| other.name == topic.name).count(),
                    1,
                    "topic names are unique within a stream"
                );
                for (index, partition) in topic.partitions.iter().enumerate() {
                    assert_eq!(partition.id as usize, index, "partition ids are dense");
                }
                let count = topic.partitions.len() as u32;
                for (&group_id, group) in &topic.groups {
                    assert_eq!(group.id, group_id);
                    let mut assigned: Vec<u32> =
                        group.members.values().flatten().copied().collect();
                    assigned.sort_unstable();
                    let expected: Vec<u32> =
                        if group.members.is_empty() { Vec::new() } else { (0..count).collect() };
                    assert_eq!(assigned, expected, "every partition assigned exactly once");
                }
            }
        }
        for (&id, user) in &self.users {
            assert_eq!(user.id, id, "user keyed by its id");
            assert_eq!(
                self.users.values().filter(|other| other.username == user.username).count(),
                1,
                "usernames are unique"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_fills_holes_first() {
        let mut used: BTreeMap<u32, ()> = BTreeMap::new();
        assert_eq!(lowest_free(&used), Some(0));
        used.insert(0, ());
        used.insert(1, ());
        used.insert(3, ());
        assert_eq!(lowest_free(&used), Some(2));
        used.insert(2, ());
        assert_eq!(lowest_free(&used), Some(4));
    }
}
