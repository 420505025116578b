//! Poll, consumer-offset and flush request bodies.

use super::Body;
use super::targets::OffsetTarget;
use crate::iggy::primitives::{
    AckLevel, Consumer, Identifier, PollingStrategy, decode_partition, encode_partition,
};
use crate::iggy::wire::{DecodeError, Put, Reader};

/// Codes 100, 103 and 104: `[Consumer][stream][topic][optional partition]
/// [PollingStrategy][count u32][auto_commit u8]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollMessages<'a> {
    /// Who polls (its stored offset serves `Next`).
    pub consumer: Consumer<'a>,
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
    /// The partition; `None` with a group consumer means the member's assignment.
    pub partition_id: Option<u32>,
    /// Where to start.
    pub strategy: PollingStrategy,
    /// Most messages to return.
    pub count: u32,
    /// Store the last returned offset as the consumer's offset.
    pub auto_commit: bool,
}

impl<'a> Body<'a> for PollMessages<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            consumer: Consumer::decode(reader)?,
            stream_id: Identifier::decode(reader)?,
            topic_id: Identifier::decode(reader)?,
            partition_id: decode_partition(reader)?,
            strategy: PollingStrategy::decode(reader)?,
            count: reader.u32()?,
            auto_commit: reader.flag()?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.consumer.encode(out);
        self.stream_id.encode(out);
        self.topic_id.encode(out);
        encode_partition(self.partition_id, out);
        self.strategy.encode(out);
        out.put_u32(self.count);
        out.put_u8(u8::from(self.auto_commit));
    }
}

/// Code 121: `[OffsetTarget][offset u64][ack u8]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConsumerOffset<'a> {
    /// Whose offset, where.
    pub target: OffsetTarget<'a>,
    /// The offset to store.
    pub offset: u64,
    /// Acknowledgement level.
    pub ack: AckLevel,
}

impl<'a> Body<'a> for StoreConsumerOffset<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            target: OffsetTarget::decode(reader)?,
            offset: reader.u64()?,
            ack: AckLevel::decode(reader)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.target.encode(out);
        out.put_u64(self.offset);
        out.put_u8(self.ack as u8);
    }
}

/// Code 122: `[OffsetTarget][ack u8]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteConsumerOffset<'a> {
    /// Whose offset, where.
    pub target: OffsetTarget<'a>,
    /// Acknowledgement level.
    pub ack: AckLevel,
}

impl<'a> Body<'a> for DeleteConsumerOffset<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self { target: OffsetTarget::decode(reader)?, ack: AckLevel::decode(reader)? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.target.encode(out);
        out.put_u8(self.ack as u8);
    }
}

/// Code 102: `[stream][topic][partition u32][fsync u8]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushUnsavedBuffer<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
    /// The partition.
    pub partition_id: u32,
    /// Also fsync.
    pub fsync: bool,
}

impl<'a> Body<'a> for FlushUnsavedBuffer<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream_id: Identifier::decode(reader)?,
            topic_id: Identifier::decode(reader)?,
            partition_id: reader.u32()?,
            fsync: reader.flag()?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
        self.topic_id.encode(out);
        out.put_u32(self.partition_id);
        out.put_u8(u8::from(self.fsync));
    }
}
