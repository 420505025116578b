//! What shards (and the QUIC edge thread) send each other. Every inbox is a bounded
//! flume channel: a full inbox makes the sender wait, which is the node's backpressure
//! between shards. Replies travel on one-shot (capacity 1) channels carried in the
//! message.

use std::sync::Arc;

use bytes::Bytes;
use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::vsr::Message;

use crate::metadata::MetadataState;
use crate::net::quic::QuicLink;
use crate::partition::{OwnerKey, PartitionKey, PartitionStats};

/// Capacity of each shard's inbox.
pub const INBOX_CAPACITY: usize = 4096;

/// A committed reply (or eviction) and, for the metadata group, a read view at least as
/// new as the op it answers (so the edge renders read-your-writes).
#[derive(Debug, Clone)]
pub struct GroupReply {
    /// The reply or eviction.
    pub message: Message,
    /// The metadata view after the op (metadata group only).
    pub view: Option<Arc<MetadataState>>,
}

/// Where a poll starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStart {
    /// At this offset.
    Offset(u64),
    /// At the first message stamped at or after this time (µs).
    Timestamp(u64),
    /// The first stored message.
    First,
    /// The last `count` messages.
    Last,
    /// After the owner's stored offset (the first message if none).
    Next,
}

/// A poll of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollQuery {
    /// The partition.
    pub key: PartitionKey,
    /// Where to start.
    pub start: PollStart,
    /// Most messages.
    pub count: u32,
    /// Whose stored offset `Next` follows.
    pub owner: Option<OwnerKey>,
    /// Most bytes of batches in the reply.
    pub bytes_max: u32,
}

/// A piece of a poll reply: a stored batch shared as is, or a sliced copy.
#[derive(Debug, Clone)]
pub enum PollPart {
    /// A whole stored batch (zero-copy).
    Whole(Bytes),
    /// A batch cut to the requested range.
    Sliced(Vec<u8>),
}

impl PollPart {
    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Whole(bytes) => bytes,
            Self::Sliced(bytes) => bytes,
        }
    }
}

/// What a poll found.
#[derive(Debug, Clone, Default)]
pub struct Polled {
    /// The partition's state when served.
    pub stats: PartitionStats,
    /// Batches, in offset order.
    pub parts: Vec<PollPart>,
    /// Messages in `parts`.
    pub messages_count: u32,
    /// Offset of the last message served (when any).
    pub last_offset: Option<u64>,
}

/// Health of one consensus group, for `/ready` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupHealth {
    /// Group.
    pub group: u32,
    /// Normal status, primary, every committed op applied.
    pub ready: bool,
    /// Why it cannot make progress, if stalled.
    pub stall_reason: Option<&'static str>,
    /// View.
    pub view: u32,
    /// Head op.
    pub op: u64,
    /// Applied op.
    pub commit_min: u64,
    /// Committed op.
    pub commit_max: u64,
    /// Durable checkpoint op.
    pub checkpoint_op: u64,
    /// Journal prepares repaired from peers since the replica opened.
    pub prepares_repaired: u64,
    /// Journal slots found faulty when the replica opened.
    pub faulty_at_recovery: u64,
    /// State transfers completed since the replica opened (a log too far behind to repair).
    pub syncs: u64,
}

/// One connected client, for `get_clients`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// Iggy client id.
    pub client_id: u32,
    /// Logged-in user, if any.
    pub user_id: Option<u32>,
    /// 1 TCP, 2 QUIC.
    pub transport: u8,
    /// Peer address.
    pub address: String,
    /// Consumer groups joined: (stream, topic, group).
    pub groups: Vec<(u32, u32, u32)>,
}

/// A shard's report.
#[derive(Debug, Clone, Default)]
pub struct ShardReport {
    /// The applied op of the shard's metadata view.
    pub view_op: u64,
    /// Its groups.
    pub groups: Vec<GroupHealth>,
    /// Its connections.
    pub clients: Vec<ClientInfo>,
}

/// A message to a shard.
#[derive(Debug)]
pub enum ShardMessage {
    /// A consensus request for a group this shard owns.
    Request {
        /// The group.
        group: u32,
        /// The request, sealed.
        message: Message,
        /// Where the reply goes.
        reply: flume::Sender<GroupReply>,
    },
    /// A poll of a partition this shard owns.
    Poll {
        /// The partition's group.
        group: u32,
        /// What to read.
        query: PollQuery,
        /// Where the result goes.
        reply: flume::Sender<Result<Polled, ErrorCode>>,
    },
    /// A stored offset and the partition's state.
    Offset {
        /// The partition's group.
        group: u32,
        /// The partition.
        key: PartitionKey,
        /// Whose offset.
        owner: OwnerKey,
        /// Where the answer goes.
        reply: flume::Sender<(PartitionStats, Option<u64>)>,
    },
    /// Statistics of partitions this shard owns.
    Stats {
        /// (group, partition) pairs.
        partitions: Vec<(u32, PartitionKey)>,
        /// Where the answer goes (same order).
        reply: flume::Sender<Vec<PartitionStats>>,
    },
    /// A newer metadata view.
    View(Arc<MetadataState>),
    /// A QUIC connection to serve on this shard.
    Serve(QuicLink),
    /// The metadata shard's current view (sent to the owner of group 0).
    LatestView {
        /// Where the view goes.
        reply: flume::Sender<Arc<MetadataState>>,
    },
    /// A replica-plane message from replica `from`, received by the replica bus, for a
    /// group this shard owns.
    Replica {
        /// The sender's replica index (authenticated by the bus handshake).
        from: u8,
        /// The verified message.
        message: Message,
    },
    /// Health and clients.
    Report {
        /// Where the report goes.
        reply: flume::Sender<ShardReport>,
    },
}
