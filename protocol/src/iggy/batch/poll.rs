//! Poll replies: `[partition_id u32][current_offset u64][messages_count u32]`, then
//! stored batches appended as they are.

use super::{Batch, BatchError};
use crate::iggy::wire::{DecodeError, Put, Reader};

/// Size of the poll reply header.
pub const POLL_REPLY_HEADER_SIZE: usize = 16;

/// The 16-byte header of a poll reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollReplyHeader {
    /// The partition served. A consumer-group member with nothing assigned gets
    /// `u32::MAX - 1`; a fenced stale assignment gets `u32::MAX` (SDK sentinels).
    pub partition_id: u32,
    /// The partition's current (last) offset.
    pub current_offset: u64,
    /// Messages in the batches that follow; the SDK pre-sizes its vector with it.
    pub messages_count: u32,
}

impl PollReplyHeader {
    /// Sentinel partition id: the group member holds no partition.
    pub const NO_ASSIGNED_PARTITION: u32 = u32::MAX - 1;
    /// Sentinel partition id: the member's assignment is stale; it must re-sync.
    pub const RESYNC_REQUIRED: u32 = u32::MAX;

    /// Appends the header; the caller then appends whole batches
    /// (`out.extend_from_slice(stored)` or [`super::slice_batch`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.partition_id);
        out.put_u64(self.current_offset);
        out.put_u32(self.messages_count);
    }

    /// Reads the header.
    pub fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            partition_id: reader.u32()?,
            current_offset: reader.u64()?,
            messages_count: reader.u32()?,
        })
    }
}

/// Iterates the batches of a poll reply body (after its header), proving each one's
/// layout; checksums are the caller's choice ([`Batch::verify`]).
#[derive(Debug, Clone)]
pub struct PolledBatches<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> PolledBatches<'a> {
    /// Iterates the batches in `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes, failed: false }
    }
}

impl<'a> Iterator for PolledBatches<'a> {
    type Item = Result<Batch<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        match Batch::parse_prefix(self.rest) {
            Ok((batch, rest)) => {
                self.rest = rest;
                Some(Ok(batch))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}
