//! Stream, topic, partition, segment and consumer-group request bodies.

use super::Body;
use crate::iggy::primitives::{Identifier, Name, Options};
use crate::iggy::wire::{DecodeError, Put, Reader};

/// Code 202: `[name Name][options…]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateStream<'a> {
    /// Stream name.
    pub name: Name<'a>,
    /// Options block (no stream keys are defined yet).
    pub options: Options<'a>,
}

impl<'a> Body<'a> for CreateStream<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self { name: Name::decode(reader)?, options: Options::parse(reader.rest())? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.name.encode(out);
        out.put_bytes(self.options.as_bytes());
    }
}

/// Code 204: `[stream][name Name][options…]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateStream<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// New name.
    pub name: Name<'a>,
    /// Options patch.
    pub options: Options<'a>,
}

impl<'a> Body<'a> for UpdateStream<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream_id: Identifier::decode(reader)?,
            name: Name::decode(reader)?,
            options: Options::parse(reader.rest())?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
        self.name.encode(out);
        out.put_bytes(self.options.as_bytes());
    }
}

/// Code 302: `[stream][partitions_count u32][name Name][options…]`. The topic's
/// settings (expiry, size caps, durability, compression) ride in the options; see
/// [`crate::iggy::topic_options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateTopic<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// Partitions to create (the SDK defaults to 1).
    pub partitions_count: u32,
    /// Topic name.
    pub name: Name<'a>,
    /// Options block.
    pub options: Options<'a>,
}

impl<'a> Body<'a> for CreateTopic<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream_id: Identifier::decode(reader)?,
            partitions_count: reader.u32()?,
            name: Name::decode(reader)?,
            options: Options::parse(reader.rest())?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
        out.put_u32(self.partitions_count);
        self.name.encode(out);
        out.put_bytes(self.options.as_bytes());
    }
}

/// Code 304: `[stream][topic][name Name][options…]` (options patch: only
/// `compression_algorithm`, `message_expiry`, `max_topic_size` are updatable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateTopic<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
    /// New name.
    pub name: Name<'a>,
    /// Options patch.
    pub options: Options<'a>,
}

impl<'a> Body<'a> for UpdateTopic<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream_id: Identifier::decode(reader)?,
            topic_id: Identifier::decode(reader)?,
            name: Name::decode(reader)?,
            options: Options::parse(reader.rest())?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
        self.topic_id.encode(out);
        self.name.encode(out);
        out.put_bytes(self.options.as_bytes());
    }
}

/// Codes 402/403: `[stream][topic][count u32]` (the server caps `count` at
/// [`crate::iggy::code::PARTITIONS_PER_REQUEST_MAX`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionsCount<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
    /// Partitions to add or remove.
    pub partitions_count: u32,
}

impl<'a> Body<'a> for PartitionsCount<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream_id: Identifier::decode(reader)?,
            topic_id: Identifier::decode(reader)?,
            partitions_count: reader.u32()?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
        self.topic_id.encode(out);
        out.put_u32(self.partitions_count);
    }
}

/// Code 503: `[stream][topic][partition u32][segments_count u32]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteSegments<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
    /// The partition.
    pub partition_id: u32,
    /// How many of the oldest sealed segments to delete.
    pub segments_count: u32,
}

impl<'a> Body<'a> for DeleteSegments<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream_id: Identifier::decode(reader)?,
            topic_id: Identifier::decode(reader)?,
            partition_id: reader.u32()?,
            segments_count: reader.u32()?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
        self.topic_id.encode(out);
        out.put_u32(self.partition_id);
        out.put_u32(self.segments_count);
    }
}

/// Code 602: `[stream][topic][name Name]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateConsumerGroup<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
    /// Group name.
    pub name: Name<'a>,
}

impl<'a> Body<'a> for CreateConsumerGroup<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream_id: Identifier::decode(reader)?,
            topic_id: Identifier::decode(reader)?,
            name: Name::decode(reader)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
        self.topic_id.encode(out);
        self.name.encode(out);
    }
}
