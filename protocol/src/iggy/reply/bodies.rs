//! Stream, topic, partition, consumer-group, client, offset and send reply bodies.

use std::borrow::Cow;

use super::{decode_list, decode_prefixed_options, encode_prefixed_options};
use crate::iggy::primitives::{Name, Options};
use crate::iggy::wire::{DecodeError, Put, Reader};

/// A stream header: `[id u32][created_at u64][topics_count u32][size u64][messages u64]
/// [name Name][options u32-len]`. `get_stream` (and `create_stream`, result-framed)
/// follow it with `topics_count` [`TopicReply`]s; `get_streams` is a bare sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamReply<'a> {
    /// 0-based id.
    pub id: u32,
    /// Creation time, µs.
    pub created_at: u64,
    /// Topics that follow in `get_stream`.
    pub topics_count: u32,
    /// Bytes stored.
    pub size_bytes: u64,
    /// Messages stored.
    pub messages_count: u64,
    /// Name.
    pub name: Name<'a>,
    /// Options the client set.
    pub options: Options<'a>,
}

impl<'a> StreamReply<'a> {
    /// Appends the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.id);
        out.put_u64(self.created_at);
        out.put_u32(self.topics_count);
        out.put_u64(self.size_bytes);
        out.put_u64(self.messages_count);
        self.name.encode(out);
        encode_prefixed_options(&self.options, out);
    }

    /// Reads the header.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            id: reader.u32()?,
            created_at: reader.u64()?,
            topics_count: reader.u32()?,
            size_bytes: reader.u64()?,
            messages_count: reader.u64()?,
            name: Name::decode(reader)?,
            options: decode_prefixed_options(reader)?,
        })
    }

    /// Reads a `get_streams` body.
    pub fn decode_all(body: &'a [u8]) -> Result<Vec<Self>, DecodeError> {
        decode_list(&mut Reader::new(body), None, 38, Self::decode)
    }
}

/// A topic header: `[id u32][created_at u64][partitions u32][message_expiry u64]
/// [compression u8][max_topic_size u64][size u64][messages u64][name Name]
/// [options u32-len][derived_options u32-len]`. `get_topic` (and `create_topic`,
/// result-framed) follow it with `partitions_count` [`PartitionReply`]s; `get_topics`
/// is `[count u32]` then headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicReply<'a> {
    /// 0-based id.
    pub id: u32,
    /// Creation time, µs.
    pub created_at: u64,
    /// Partitions (and partition entries that follow in `get_topic`).
    pub partitions_count: u32,
    /// Message expiry, µs; `u64::MAX` = never. The SDK reads 0 as never too.
    pub message_expiry: u64,
    /// 1 none, 2 gzip. The SDK refuses any other value (0 included).
    pub compression_algorithm: u8,
    /// Size cap, bytes; `u64::MAX` = unlimited.
    pub max_topic_size: u64,
    /// Bytes stored.
    pub size_bytes: u64,
    /// Messages stored.
    pub messages_count: u64,
    /// Name.
    pub name: Name<'a>,
    /// Options the client set.
    pub options: Options<'a>,
    /// Options the server resolved from defaults.
    pub derived_options: Options<'a>,
}

impl<'a> TopicReply<'a> {
    /// Appends the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.id);
        out.put_u64(self.created_at);
        out.put_u32(self.partitions_count);
        out.put_u64(self.message_expiry);
        out.put_u8(self.compression_algorithm);
        out.put_u64(self.max_topic_size);
        out.put_u64(self.size_bytes);
        out.put_u64(self.messages_count);
        self.name.encode(out);
        encode_prefixed_options(&self.options, out);
        encode_prefixed_options(&self.derived_options, out);
    }

    /// Reads the header.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            id: reader.u32()?,
            created_at: reader.u64()?,
            partitions_count: reader.u32()?,
            message_expiry: reader.u64()?,
            compression_algorithm: reader.u8()?,
            max_topic_size: reader.u64()?,
            size_bytes: reader.u64()?,
            messages_count: reader.u64()?,
            name: Name::decode(reader)?,
            options: decode_prefixed_options(reader)?,
            derived_options: decode_prefixed_options(reader)?,
        })
    }

    /// Appends a `get_topics` count prefix.
    pub fn encode_count(count: u32, out: &mut Vec<u8>) {
        out.put_u32(count);
    }

    /// Reads a `get_topics` body (`[count u32]` then headers).
    pub fn decode_all(body: &'a [u8]) -> Result<Vec<Self>, DecodeError> {
        let mut reader = Reader::new(body);
        let count = reader.u32()?;
        decode_list(&mut reader, Some(count), 59, Self::decode)
    }
}

/// A partition entry of `get_topic`: 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionReply {
    /// 0-based id.
    pub id: u32,
    /// Creation time, µs.
    pub created_at: u64,
    /// Segments.
    pub segments_count: u32,
    /// Last offset.
    pub current_offset: u64,
    /// Bytes stored.
    pub size_bytes: u64,
    /// Messages stored.
    pub messages_count: u64,
}

impl PartitionReply {
    /// Appends the entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.id);
        out.put_u64(self.created_at);
        out.put_u32(self.segments_count);
        out.put_u64(self.current_offset);
        out.put_u64(self.size_bytes);
        out.put_u64(self.messages_count);
    }

    /// Reads the entry.
    pub fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            id: reader.u32()?,
            created_at: reader.u64()?,
            segments_count: reader.u32()?,
            current_offset: reader.u64()?,
            size_bytes: reader.u64()?,
            messages_count: reader.u64()?,
        })
    }
}

/// A consumer group header: `[id u32][partitions u32][members u32][name Name]`.
/// `get_consumer_group` (and `create_consumer_group`, result-framed) follow it with
/// `members_count` [`GroupMemberReply`]s; `get_consumer_groups` is a bare sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerGroupReply<'a> {
    /// 0-based id.
    pub id: u32,
    /// Partitions of the topic.
    pub partitions_count: u32,
    /// Members (and member entries that follow in the detailed form).
    pub members_count: u32,
    /// Name.
    pub name: Name<'a>,
}

impl<'a> ConsumerGroupReply<'a> {
    /// Appends the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.id);
        out.put_u32(self.partitions_count);
        out.put_u32(self.members_count);
        self.name.encode(out);
    }

    /// Reads the header.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            id: reader.u32()?,
            partitions_count: reader.u32()?,
            members_count: reader.u32()?,
            name: Name::decode(reader)?,
        })
    }

    /// Reads a `get_consumer_groups` body.
    pub fn decode_all(body: &'a [u8]) -> Result<Vec<Self>, DecodeError> {
        decode_list(&mut Reader::new(body), None, 14, Self::decode)
    }
}

/// A member of a detailed group: `[id u32][partitions_count u32][partition u32]*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMemberReply<'a> {
    /// The member's client id.
    pub id: u32,
    /// Assigned partitions.
    pub partitions: Cow<'a, [u32]>,
}

impl GroupMemberReply<'_> {
    /// Appends the entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.id);
        encode_u32s(&self.partitions, out);
    }

    /// Reads the entry (allocates the partition list, bounded by the body).
    pub fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { id: reader.u32()?, partitions: Cow::Owned(decode_u32s(reader)?) })
    }
}

/// `sync_consumer_group` (606): `[generation u64][count u32][partition u32]*`; an empty
/// body means "not a member".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConsumerGroupReply<'a> {
    /// The group's assignment generation.
    pub generation: u64,
    /// The caller's partitions.
    pub partitions: Cow<'a, [u32]>,
}

impl SyncConsumerGroupReply<'_> {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u64(self.generation);
        encode_u32s(&self.partitions, out);
    }

    /// Reads the body.
    pub fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { generation: reader.u64()?, partitions: Cow::Owned(decode_u32s(reader)?) })
    }
}

fn encode_u32s(values: &[u32], out: &mut Vec<u8>) {
    out.put_u32(values.len() as u32);
    for &value in values {
        out.put_u32(value);
    }
}

fn decode_u32s(reader: &mut Reader<'_>) -> Result<Vec<u32>, DecodeError> {
    let count = reader.u32()?;
    decode_list(reader, Some(count), 4, Reader::u32)
}

/// A client: `[client_id u32][user_id u32][transport u8][address u32-len]
/// [consumer_groups_count u32]`; `get_client`/`get_me` follow it with that many
/// [`ClientGroupReply`]s, `get_clients` is a bare sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientReply<'a> {
    /// Server-assigned id.
    pub client_id: u32,
    /// Logged-in user, or `u32::MAX` for none (the SDK reads that as "no user").
    pub user_id: u32,
    /// 1 TCP, 2 QUIC, 3 HTTP, 4 WebSocket.
    pub transport: u8,
    /// Peer address.
    pub address: &'a str,
    /// Groups joined.
    pub consumer_groups_count: u32,
}

impl<'a> ClientReply<'a> {
    /// `user_id` of a client that has not logged in.
    pub const NO_USER: u32 = u32::MAX;

    /// Appends the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.client_id);
        out.put_u32(self.user_id);
        out.put_u8(self.transport);
        out.put_str_u32(self.address);
        out.put_u32(self.consumer_groups_count);
    }

    /// Reads the header.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            client_id: reader.u32()?,
            user_id: reader.u32()?,
            transport: reader.u8()?,
            address: reader.str_u32()?,
            consumer_groups_count: reader.u32()?,
        })
    }
}

/// A group a client belongs to: `[stream u32][topic u32][group u32]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientGroupReply {
    /// Stream id.
    pub stream_id: u32,
    /// Topic id.
    pub topic_id: u32,
    /// Group id.
    pub group_id: u32,
}

impl ClientGroupReply {
    /// Appends the entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.stream_id);
        out.put_u32(self.topic_id);
        out.put_u32(self.group_id);
    }

    /// Reads the entry.
    pub fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { stream_id: reader.u32()?, topic_id: reader.u32()?, group_id: reader.u32()? })
    }
}

/// `get_consumer_offset`: `[partition_id u32][current_offset u64][stored_offset u64]`;
/// an empty body means no stored offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerOffsetReply {
    /// The partition.
    pub partition_id: u32,
    /// The partition's last offset.
    pub current_offset: u64,
    /// The consumer's stored offset.
    pub stored_offset: u64,
}

impl ConsumerOffsetReply {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.partition_id);
        out.put_u64(self.current_offset);
        out.put_u64(self.stored_offset);
    }

    /// Reads the body.
    pub fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            partition_id: reader.u32()?,
            current_offset: reader.u64()?,
            stored_offset: reader.u64()?,
        })
    }
}

/// One partition a send was committed to: 20 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendConfirmation {
    /// Stream id.
    pub stream_id: u32,
    /// Topic id.
    pub topic_id: u32,
    /// Partition id.
    pub partition_id: u32,
    /// Offset of the batch's first message.
    pub base_offset: u64,
}

/// Appends a `send_messages` reply body: `[count u32]` then the confirmations. (An
/// empty body is also accepted by the SDK, which then reports no offsets.)
pub fn encode_send_confirmations(confirmations: &[SendConfirmation], out: &mut Vec<u8>) {
    out.put_u32(confirmations.len() as u32);
    for confirmation in confirmations {
        out.put_u32(confirmation.stream_id);
        out.put_u32(confirmation.topic_id);
        out.put_u32(confirmation.partition_id);
        out.put_u64(confirmation.base_offset);
    }
}

/// Reads a `send_messages` reply body; empty means no confirmations. Trailing bytes
/// are refused, as the SDK refuses them.
pub fn decode_send_confirmations(body: &[u8]) -> Result<Vec<SendConfirmation>, DecodeError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = Reader::new(body);
    let count = reader.u32()?;
    let confirmations = decode_list(&mut reader, Some(count), 20, |reader| {
        Ok(SendConfirmation {
            stream_id: reader.u32()?,
            topic_id: reader.u32()?,
            partition_id: reader.u32()?,
            base_offset: reader.u64()?,
        })
    })?;
    reader.finish()?;
    Ok(confirmations)
}
