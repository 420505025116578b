//! Stats, cluster metadata, routing and option-catalog reply bodies.

use std::borrow::Cow;

use super::decode_list;
use crate::iggy::primitives::Name;
use crate::iggy::request::{AttachConsumerSession, Body};
use crate::iggy::wire::{DecodeError, Put, Reader};

/// A node's role in `get_cluster_metadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum NodeRole {
    /// Serves writes; the SDK reconnects to it.
    Leader = 0,
    /// Any other replica.
    Follower = 1,
}

/// A node's status in `get_cluster_metadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum NodeStatus {
    /// Serving.
    Healthy = 0,
    /// Starting up.
    Starting = 1,
    /// Shutting down.
    Stopping = 2,
    /// Not reachable from the reporting node.
    Unreachable = 3,
    /// Under maintenance.
    Maintenance = 4,
}

/// A cluster node: `[name u32-len][ip u32-len][tcp u16][quic u16][http u16][ws u16]
/// [role u8][status u8]`. A port of 0 means the transport is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterNode<'a> {
    /// Node name.
    pub name: &'a str,
    /// Address clients dial.
    pub ip: &'a str,
    /// TCP port.
    pub tcp_port: u16,
    /// QUIC port.
    pub quic_port: u16,
    /// HTTP port.
    pub http_port: u16,
    /// WebSocket port.
    pub websocket_port: u16,
    /// Leader or follower.
    pub role: NodeRole,
    /// Health.
    pub status: NodeStatus,
}

impl<'a> ClusterNode<'a> {
    /// Appends the node.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_str_u32(self.name);
        out.put_str_u32(self.ip);
        out.put_u16(self.tcp_port);
        out.put_u16(self.quic_port);
        out.put_u16(self.http_port);
        out.put_u16(self.websocket_port);
        out.put_u8(self.role as u8);
        out.put_u8(self.status as u8);
    }

    /// Reads a node; unknown role or status codes are refused, as the SDK does.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let name = reader.str_u32()?;
        let ip = reader.str_u32()?;
        let ports = [reader.u16()?, reader.u16()?, reader.u16()?, reader.u16()?];
        let offset = reader.offset();
        let role = match reader.u8()? {
            0 => NodeRole::Leader,
            1 => NodeRole::Follower,
            value => return Err(DecodeError::InvalidKind { field: "node role", offset, value }),
        };
        let status = match reader.u8()? {
            0 => NodeStatus::Healthy,
            1 => NodeStatus::Starting,
            2 => NodeStatus::Stopping,
            3 => NodeStatus::Unreachable,
            4 => NodeStatus::Maintenance,
            value => {
                return Err(DecodeError::InvalidKind {
                    field: "node status",
                    offset: offset + 1,
                    value,
                });
            }
        };
        Ok(Self {
            name,
            ip,
            tcp_port: ports[0],
            quic_port: ports[1],
            http_port: ports[2],
            websocket_port: ports[3],
            role,
            status,
        })
    }
}

/// `get_cluster_metadata` (12): `[name u32-len][count u32][ClusterNode]*`. The SDK
/// needs at least one node and reconnects to the healthy leader when there are more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetadataReply<'a> {
    /// Cluster name.
    pub name: &'a str,
    /// The roster.
    pub nodes: Cow<'a, [ClusterNode<'a>]>,
}

impl<'a> ClusterMetadataReply<'a> {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_str_u32(self.name);
        out.put_u32(self.nodes.len() as u32);
        for node in self.nodes.iter() {
            node.encode(out);
        }
    }

    /// Reads the body.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let name = reader.str_u32()?;
        let count = reader.u32()?;
        Ok(Self {
            name,
            nodes: Cow::Owned(decode_list(reader, Some(count), 18, ClusterNode::decode)?),
        })
    }
}

/// Routing reply (103, 123): the coordinator session to attach (same 32 bytes as
/// request 14), then the partition primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollRoutingReply<'a> {
    /// Session the data connection must attach.
    pub consumer_session: AttachConsumerSession,
    /// Where to send the poll or offset write.
    pub primary: ClusterNode<'a>,
}

impl<'a> PollRoutingReply<'a> {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.consumer_session.encode(out);
        self.primary.encode(out);
    }

    /// Reads the body.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            consumer_session: AttachConsumerSession::decode(reader)?,
            primary: ClusterNode::decode(reader)?,
        })
    }
}

/// One entry of `describe_options` (13): `[key Name][kind u8][default u32-len]
/// [description u32-len]`, the list prefixed by `[count u32]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionDescriptor<'a> {
    /// Option key.
    pub key: Name<'a>,
    /// Canonical value kind (see `HeaderKind`).
    pub kind: u8,
    /// Default, encoded in `kind`; empty when none.
    pub default_value: &'a [u8],
    /// Human-readable description.
    pub description: &'a str,
}

impl<'a> OptionDescriptor<'a> {
    /// Appends the entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.key.encode(out);
        out.put_u8(self.kind);
        out.put_u32(self.default_value.len() as u32);
        out.put_bytes(self.default_value);
        out.put_str_u32(self.description);
    }

    /// Reads the entry.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let key = Name::decode(reader)?;
        let kind = reader.u8()?;
        let length = reader.u32()? as usize;
        Ok(Self { key, kind, default_value: reader.bytes(length)?, description: reader.str_u32()? })
    }
}

/// Per-partition cache statistics inside [`StatsReply`]: 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheMetric {
    /// Stream id.
    pub stream_id: u32,
    /// Topic id.
    pub topic_id: u32,
    /// Partition id.
    pub partition_id: u32,
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// hits / (hits + misses).
    pub hit_ratio: f32,
}

/// `get_stats` (10), in wire order.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // Field names say what each is; units are bytes, µs and percent.
pub struct StatsReply<'a> {
    pub process_id: u32,
    pub cpu_usage: f32,
    pub total_cpu_usage: f32,
    pub memory_usage: u64,
    pub total_memory: u64,
    pub available_memory: u64,
    pub run_time: u64,
    pub start_time: u64,
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
    pub hostname: &'a str,
    pub os_name: &'a str,
    pub os_version: &'a str,
    pub kernel_version: &'a str,
    pub server_version: &'a str,
    /// Packed semver of the server; 0 = unknown.
    pub server_semver: u32,
    pub cache_metrics: Cow<'a, [CacheMetric]>,
    pub threads_count: u32,
    pub free_disk_space: u64,
    pub total_disk_space: u64,
}

impl<'a> StatsReply<'a> {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.process_id);
        out.put_f32(self.cpu_usage);
        out.put_f32(self.total_cpu_usage);
        for value in [
            self.memory_usage,
            self.total_memory,
            self.available_memory,
            self.run_time,
            self.start_time,
            self.read_bytes,
            self.written_bytes,
            self.messages_size_bytes,
        ] {
            out.put_u64(value);
        }
        for value in
            [self.streams_count, self.topics_count, self.partitions_count, self.segments_count]
        {
            out.put_u32(value);
        }
        out.put_u64(self.messages_count);
        out.put_u32(self.clients_count);
        out.put_u32(self.consumer_groups_count);
        for text in
            [self.hostname, self.os_name, self.os_version, self.kernel_version, self.server_version]
        {
            out.put_str_u32(text);
        }
        out.put_u32(self.server_semver);
        out.put_u32(self.cache_metrics.len() as u32);
        for metric in self.cache_metrics.iter() {
            out.put_u32(metric.stream_id);
            out.put_u32(metric.topic_id);
            out.put_u32(metric.partition_id);
            out.put_u64(metric.hits);
            out.put_u64(metric.misses);
            out.put_f32(metric.hit_ratio);
        }
        out.put_u32(self.threads_count);
        out.put_u64(self.free_disk_space);
        out.put_u64(self.total_disk_space);
    }

    /// Reads the body.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let process_id = reader.u32()?;
        let cpu_usage = reader.f32()?;
        let total_cpu_usage = reader.f32()?;
        let mut big = [0u64; 8];
        for value in &mut big {
            *value = reader.u64()?;
        }
        let mut counts = [0u32; 4];
        for value in &mut counts {
            *value = reader.u32()?;
        }
        let messages_count = reader.u64()?;
        let clients_count = reader.u32()?;
        let consumer_groups_count = reader.u32()?;
        let mut texts = [""; 5];
        for text in &mut texts {
            *text = reader.str_u32()?;
        }
        let server_semver = reader.u32()?;
        let count = reader.u32()?;
        let cache_metrics = decode_list(reader, Some(count), 32, |reader| {
            Ok(CacheMetric {
                stream_id: reader.u32()?,
                topic_id: reader.u32()?,
                partition_id: reader.u32()?,
                hits: reader.u64()?,
                misses: reader.u64()?,
                hit_ratio: reader.f32()?,
            })
        })?;
        Ok(Self {
            process_id,
            cpu_usage,
            total_cpu_usage,
            memory_usage: big[0],
            total_memory: big[1],
            available_memory: big[2],
            run_time: big[3],
            start_time: big[4],
            read_bytes: big[5],
            written_bytes: big[6],
            messages_size_bytes: big[7],
            streams_count: counts[0],
            topics_count: counts[1],
            partitions_count: counts[2],
            segments_count: counts[3],
            messages_count,
            clients_count,
            consumer_groups_count,
            hostname: texts[0],
            os_name: texts[1],
            os_version: texts[2],
            kernel_version: texts[3],
            server_version: texts[4],
            server_semver,
            cache_metrics: Cow::Owned(cache_metrics),
            threads_count: reader.u32()?,
            free_disk_space: reader.u64()?,
            total_disk_space: reader.u64()?,
        })
    }
}
