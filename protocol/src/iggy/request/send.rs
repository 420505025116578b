//! Code 101, the hot path: `[metadata_len u32][stream][topic][Partitioning]
//! [messages_count u32][batch]`, where `metadata_len` covers the four fields after it.
//!
//! Parsing proves the whole body (routing fields, batch layout, send rules, every
//! frame checksum and the batch checksum) in two passes over the bytes and no
//! allocation; the batch is then a view whose frames point into the received buffer,
//! ready to be stamped ([`crate::iggy::batch::stamp`]) and stored as is.

use super::Body;
use crate::iggy::batch::Batch;
use crate::iggy::primitives::{Identifier, Partitioning};
use crate::iggy::wire::{DecodeError, Put, Reader};

/// A validated send: routing plus a batch view borrowing the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendMessages<'a> {
    /// The stream.
    pub stream_id: Identifier<'a>,
    /// The topic.
    pub topic_id: Identifier<'a>,
    /// Where the batch goes (the 0.11.0 SDK always resolves to a partition id).
    pub partitioning: Partitioning<'a>,
    /// The messages, checksums verified.
    pub batch: Batch<'a>,
}

impl SendMessages<'_> {
    /// Bytes before the batch.
    #[must_use]
    pub fn metadata_size(&self) -> usize {
        4 + self.stream_id.encoded_size()
            + self.topic_id.encoded_size()
            + self.partitioning.encoded_size()
            + 4
    }
}

impl<'a> Body<'a> for SendMessages<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let length_offset = reader.offset();
        let metadata_length = reader.u32()?;
        let start = reader.offset();
        let stream_id = Identifier::decode(reader)?;
        let topic_id = Identifier::decode(reader)?;
        let partitioning = Partitioning::decode(reader)?;
        let messages_count = reader.u32()?;
        let actual = reader.offset() - start;
        if metadata_length as usize != actual {
            return Err(DecodeError::InvalidLength {
                field: "send metadata",
                offset: length_offset,
                length: metadata_length as usize,
            });
        }
        let batch = Batch::parse(reader.rest())?;
        if batch.message_count() != messages_count {
            return Err(DecodeError::CountMismatch {
                field: "messages",
                declared: u64::from(messages_count),
                actual: u64::from(batch.message_count()),
            });
        }
        batch.validate_send()?;
        Ok(Self { stream_id, topic_id, partitioning, batch })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let inner = self.metadata_size() - 4;
        out.put_u32(inner as u32);
        self.stream_id.encode(out);
        self.topic_id.encode(out);
        self.partitioning.encode(out);
        out.put_u32(self.batch.message_count());
        out.put_bytes(self.batch.as_bytes());
    }
}
