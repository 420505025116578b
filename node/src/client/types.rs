//! Owned values the typed commands take and return (the protocol crate's views
//! borrow the reply buffer, which the next call overwrites).

use std::fmt;
use std::str::FromStr;

use vireo_protocol::iggy::primitives::{Identifier, Name};
use vireo_protocol::iggy::reply::{
    ClusterNode, NodeRole, PartitionReply, StatsReply, StreamReply, TopicReply,
};

use super::error::ClientError;

/// A stream, topic, group or user: by numeric id or by name. Parses from text as a
/// number when it is one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    /// Numeric (0-based).
    Numeric(u32),
    /// By name.
    Name(String),
}

impl Id {
    /// The wire identifier.
    pub fn wire(&self) -> Result<Identifier<'_>, ClientError> {
        match self {
            Self::Numeric(id) => Ok(Identifier::Numeric(*id)),
            Self::Name(name) => Name::new(name).map(Identifier::Name).map_err(|_| {
                ClientError::InvalidArgument(format!("name {name:?} must be 1..=255 bytes"))
            }),
        }
    }
}

impl From<u32> for Id {
    fn from(id: u32) -> Self {
        Self::Numeric(id)
    }
}

impl From<&str> for Id {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl FromStr for Id {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err("an id or name must not be empty".to_owned());
        }
        Ok(text.parse().map_or_else(|_| Self::Name(text.to_owned()), Self::Numeric))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Numeric(id) => write!(f, "{id}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

/// A stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StreamInfo {
    /// Id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Creation time, µs since the epoch.
    pub created_at: u64,
    /// Topics.
    pub topics_count: u32,
    /// Bytes stored.
    pub size_bytes: u64,
    /// Messages stored.
    pub messages_count: u64,
}

impl From<&StreamReply<'_>> for StreamInfo {
    fn from(reply: &StreamReply<'_>) -> Self {
        Self {
            id: reply.id,
            name: reply.name.as_str().to_owned(),
            created_at: reply.created_at,
            topics_count: reply.topics_count,
            size_bytes: reply.size_bytes,
            messages_count: reply.messages_count,
        }
    }
}

/// A topic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TopicInfo {
    /// Id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Creation time, µs since the epoch.
    pub created_at: u64,
    /// Partitions.
    pub partitions_count: u32,
    /// Message expiry, µs (`u64::MAX` or 0 = never).
    pub message_expiry: u64,
    /// Size cap, bytes (`u64::MAX` = none).
    pub max_topic_size: u64,
    /// Bytes stored.
    pub size_bytes: u64,
    /// Messages stored.
    pub messages_count: u64,
}

impl From<&TopicReply<'_>> for TopicInfo {
    fn from(reply: &TopicReply<'_>) -> Self {
        Self {
            id: reply.id,
            name: reply.name.as_str().to_owned(),
            created_at: reply.created_at,
            partitions_count: reply.partitions_count,
            message_expiry: reply.message_expiry,
            max_topic_size: reply.max_topic_size,
            size_bytes: reply.size_bytes,
            messages_count: reply.messages_count,
        }
    }
}

/// A partition of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PartitionInfo {
    /// Id.
    pub id: u32,
    /// Segments.
    pub segments_count: u32,
    /// Last offset.
    pub current_offset: u64,
    /// Bytes stored.
    pub size_bytes: u64,
    /// Messages stored.
    pub messages_count: u64,
}

impl From<&PartitionReply> for PartitionInfo {
    fn from(reply: &PartitionReply) -> Self {
        Self {
            id: reply.id,
            segments_count: reply.segments_count,
            current_offset: reply.current_offset,
            size_bytes: reply.size_bytes,
            messages_count: reply.messages_count,
        }
    }
}

/// A topic with its partitions (`get_topic`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TopicDetails {
    /// The topic.
    pub topic: TopicInfo,
    /// Its partitions.
    pub partitions: Vec<PartitionInfo>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupInfo {
    /// Id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Partitions of the topic.
    pub partitions_count: u32,
    /// Members.
    pub members_count: u32,
}

/// A cluster node from `get_cluster_metadata`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeInfo {
    /// Name.
    pub name: String,
    /// Address clients dial.
    pub ip: String,
    /// TCP port (0 = not served).
    pub tcp_port: u16,
    /// QUIC port (0 = not served).
    pub quic_port: u16,
    /// HTTP port (0 = not served).
    pub http_port: u16,
    /// Whether it leads.
    pub leader: bool,
    /// Health, as the server names it.
    pub status: String,
}

impl From<&ClusterNode<'_>> for NodeInfo {
    fn from(node: &ClusterNode<'_>) -> Self {
        Self {
            name: node.name.to_owned(),
            ip: node.ip.to_owned(),
            tcp_port: node.tcp_port,
            quic_port: node.quic_port,
            http_port: node.http_port,
            leader: node.role == NodeRole::Leader,
            status: format!("{:?}", node.status).to_lowercase(),
        }
    }
}

/// Server statistics (`get_stats`), the fields an operator reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[allow(missing_docs)] // Named after the wire fields; units are bytes and µs.
pub struct Stats {
    pub process_id: u32,
    pub cpu_usage: f32,
    pub memory_usage: u64,
    pub total_memory: u64,
    pub run_time: u64,
    pub read_bytes: u64,
    pub written_bytes: u64,
    pub messages_size_bytes: u64,
    pub streams_count: u32,
    pub topics_count: u32,
    pub partitions_count: u32,
    pub segments_count: u32,
    pub messages_count: u64,
    pub clients_count: u32,
    pub consumer_groups_count: u32,
    pub hostname: String,
    pub os_name: String,
    pub os_version: String,
    pub kernel_version: String,
    pub server_version: String,
    pub threads_count: u32,
    pub free_disk_space: u64,
    pub total_disk_space: u64,
}

impl From<&StatsReply<'_>> for Stats {
    fn from(reply: &StatsReply<'_>) -> Self {
        Self {
            process_id: reply.process_id,
            cpu_usage: reply.cpu_usage,
            memory_usage: reply.memory_usage,
            total_memory: reply.total_memory,
            run_time: reply.run_time,
            read_bytes: reply.read_bytes,
            written_bytes: reply.written_bytes,
            messages_size_bytes: reply.messages_size_bytes,
            streams_count: reply.streams_count,
            topics_count: reply.topics_count,
            partitions_count: reply.partitions_count,
            segments_count: reply.segments_count,
            messages_count: reply.messages_count,
            clients_count: reply.clients_count,
            consumer_groups_count: reply.consumer_groups_count,
            hostname: reply.hostname.to_owned(),
            os_name: reply.os_name.to_owned(),
            os_version: reply.os_version.to_owned(),
            kernel_version: reply.kernel_version.to_owned(),
            server_version: reply.server_version.to_owned(),
            threads_count: reply.threads_count,
            free_disk_space: reply.free_disk_space,
            total_disk_space: reply.total_disk_space,
        }
    }
}

/// One polled message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolledMessage {
    /// Offset in the partition.
    pub offset: u64,
    /// Producer-chosen id.
    pub id: u128,
    /// Append time, µs since the epoch.
    pub timestamp: u64,
    /// Producer time, µs since the epoch.
    pub origin_timestamp: u64,
    /// Payload.
    pub payload: Vec<u8>,
    /// Raw user-headers block.
    pub user_headers: Vec<u8>,
}

/// A poll's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolledMessages {
    /// The partition served.
    pub partition_id: u32,
    /// The partition's last offset.
    pub current_offset: u64,
    /// The messages, in offset order.
    pub messages: Vec<PolledMessage>,
}

/// A poll's result without copying payloads (the bench's consumers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollSummary {
    /// The partition served.
    pub partition_id: u32,
    /// The partition's last offset.
    pub current_offset: u64,
    /// Messages returned.
    pub messages: u32,
    /// Payload bytes returned.
    pub payload_bytes: u64,
    /// Offset of the first message returned.
    pub first_offset: Option<u64>,
    /// Offset of the last message returned.
    pub last_offset: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_numbers_as_numeric() {
        assert_eq!("7".parse::<Id>(), Ok(Id::Numeric(7)));
        assert_eq!("orders".parse::<Id>(), Ok(Id::Name("orders".into())));
        assert_eq!("-1".parse::<Id>(), Ok(Id::Name("-1".into())));
        assert!("".parse::<Id>().is_err());
        assert!(Id::Name("x".repeat(256)).wire().is_err());
        assert_eq!(Id::Numeric(3).wire().unwrap(), Identifier::Numeric(3));
        assert_eq!(Id::Name("a".into()).to_string(), "a");
    }
}
