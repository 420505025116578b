//! The addressing shapes many request bodies share.

use super::Body;
use crate::iggy::primitives::{Consumer, Identifier, decode_partition, encode_partition};
use crate::iggy::wire::{DecodeError, Reader};

/// `[stream Identifier]`: get/delete/purge stream, get topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTarget<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
}

impl<'a> Body<'a> for StreamTarget<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self { stream_id: Identifier::decode(reader)? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
    }
}

/// `[stream][topic]`: get/delete/purge topic, get consumer groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicTarget<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
}

impl<'a> Body<'a> for TopicTarget<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self { stream_id: Identifier::decode(reader)?, topic_id: Identifier::decode(reader)? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
        self.topic_id.encode(out);
    }
}

/// `[stream][topic][group]`: get/delete/join/leave/sync consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupTarget<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
    /// The consumer group.
    pub group_id: Identifier<'a>,
}

impl<'a> Body<'a> for GroupTarget<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream_id: Identifier::decode(reader)?,
            topic_id: Identifier::decode(reader)?,
            group_id: Identifier::decode(reader)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.stream_id.encode(out);
        self.topic_id.encode(out);
        self.group_id.encode(out);
    }
}

/// `[user Identifier]`: get/delete user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserTarget<'a> {
    /// The user.
    pub user_id: Identifier<'a>,
}

impl<'a> Body<'a> for UserTarget<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self { user_id: Identifier::decode(reader)? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.user_id.encode(out);
    }
}

/// `[Consumer][stream][topic][optional partition]`: get consumer offset, the prefix
/// of store/delete, and the routing query 123.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetTarget<'a> {
    /// Whose offset.
    pub consumer: Consumer<'a>,
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
    /// The partition; for a group without one, the member's assigned partition.
    pub partition_id: Option<u32>,
}

impl<'a> Body<'a> for OffsetTarget<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            consumer: Consumer::decode(reader)?,
            stream_id: Identifier::decode(reader)?,
            topic_id: Identifier::decode(reader)?,
            partition_id: decode_partition(reader)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.consumer.encode(out);
        self.stream_id.encode(out);
        self.topic_id.encode(out);
        encode_partition(self.partition_id, out);
    }
}
