//! The metadata operation enum and its parts.

use rkyv::{Archive, Deserialize, Serialize};

use crate::iggy::primitives::Permissions;
use crate::iggy::topic_options::{Compression, Durability};

/// A user's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Archive, Serialize, Deserialize)]
#[rkyv(derive(Debug, PartialEq, Eq), compare(PartialEq))]
pub enum UserStatus {
    /// May log in (wire code 1).
    Active,
    /// May not log in (wire code 2).
    Inactive,
}

/// A topic's settings at creation, resolved by the node from the request's options
/// and the server defaults, so every replica applies identical values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Archive, Serialize, Deserialize)]
#[rkyv(derive(Debug))]
pub struct TopicConfig {
    /// Message expiry, µs; `u64::MAX` = never.
    pub message_expiry: u64,
    /// Size cap, bytes; `u64::MAX` = unlimited.
    pub max_topic_size: u64,
    /// Segment size, bytes.
    pub segment_size: u64,
    /// When a produce is acknowledged.
    pub durability: Durability,
    /// When an offset write is acknowledged.
    pub consumer_offset_durability: Durability,
    /// Recorded compression algorithm.
    pub compression: Compression,
}

/// The settings an update may change; `None` keeps the current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Archive, Serialize, Deserialize)]
#[rkyv(derive(Debug))]
pub struct TopicPatch {
    /// New expiry, µs.
    pub message_expiry: Option<u64>,
    /// New size cap, bytes.
    pub max_topic_size: Option<u64>,
    /// New compression.
    pub compression: Option<Compression>,
}

/// A single consumer's key: consumers are not registered entities, so their id stays
/// as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Archive, Serialize, Deserialize)]
#[rkyv(derive(Debug))]
pub enum ConsumerKey {
    /// A numeric consumer id.
    Numeric(u32),
    /// A named consumer.
    Name(String),
}

/// Whose stored offset an offset operation touches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Archive, Serialize, Deserialize)]
#[rkyv(derive(Debug))]
pub enum OffsetOwner {
    /// A single consumer.
    Consumer(ConsumerKey),
    /// A consumer group, by resolved id.
    Group(u32),
}

/// One metadata mutation, ready to be applied by every replica.
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
#[rkyv(derive(Debug))]
#[allow(missing_docs)] // Fields are the resolved ids and values the variant names.
pub enum MetadataOp {
    /// Creates a stream; the id is the lowest free one, chosen at apply.
    CreateStream {
        name: String,
    },
    UpdateStream {
        stream_id: u32,
        name: String,
    },
    DeleteStream {
        stream_id: u32,
    },
    PurgeStream {
        stream_id: u32,
    },
    /// Creates a topic with `partitions_count` partitions.
    CreateTopic {
        stream_id: u32,
        name: String,
        partitions_count: u32,
        config: TopicConfig,
    },
    UpdateTopic {
        stream_id: u32,
        topic_id: u32,
        name: String,
        patch: TopicPatch,
    },
    DeleteTopic {
        stream_id: u32,
        topic_id: u32,
    },
    PurgeTopic {
        stream_id: u32,
        topic_id: u32,
    },
    CreatePartitions {
        stream_id: u32,
        topic_id: u32,
        count: u32,
    },
    DeletePartitions {
        stream_id: u32,
        topic_id: u32,
        count: u32,
    },
    /// Deletes the `segments_count` oldest sealed segments of a partition.
    DeleteSegments {
        stream_id: u32,
        topic_id: u32,
        partition_id: u32,
        segments_count: u32,
    },
    CreateConsumerGroup {
        stream_id: u32,
        topic_id: u32,
        name: String,
    },
    DeleteConsumerGroup {
        stream_id: u32,
        topic_id: u32,
        group_id: u32,
    },
    /// Adds client `member` (the node's client id) to a group.
    JoinConsumerGroup {
        stream_id: u32,
        topic_id: u32,
        group_id: u32,
        member: u32,
    },
    LeaveConsumerGroup {
        stream_id: u32,
        topic_id: u32,
        group_id: u32,
        member: u32,
    },
    /// Creates a user; `password_hash` is a PHC string (argon2), never a password.
    CreateUser {
        username: String,
        password_hash: String,
        status: UserStatus,
        permissions: Option<Permissions>,
    },
    UpdateUser {
        user_id: u32,
        username: Option<String>,
        status: Option<UserStatus>,
    },
    DeleteUser {
        user_id: u32,
    },
    /// Replaces a password; the node checked the current one and hashed the new one.
    ChangePassword {
        user_id: u32,
        password_hash: String,
    },
    UpdatePermissions {
        user_id: u32,
        permissions: Option<Permissions>,
    },
    /// Stores a token's hash; the raw token only ever goes back to the client.
    CreatePersonalAccessToken {
        user_id: u32,
        name: String,
        token_hash: String,
        expiry_at: Option<u64>,
    },
    DeletePersonalAccessToken {
        user_id: u32,
        name: String,
    },
    StoreConsumerOffset {
        owner: OffsetOwner,
        stream_id: u32,
        topic_id: u32,
        partition_id: u32,
        offset: u64,
    },
    DeleteConsumerOffset {
        owner: OffsetOwner,
        stream_id: u32,
        topic_id: u32,
        partition_id: u32,
    },
}
