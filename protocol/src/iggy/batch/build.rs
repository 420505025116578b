//! Encoding a batch from messages: what a producer does (our bench client, tests).
//! The server never calls this: it stores and serves batches as received.

use super::stamp::batch_checksum;
use super::{BATCH_HEADER_SIZE, BatchError, BatchHeader, FRAME_HEADER_SIZE};
use crate::iggy::checksum::xxh3;
use crate::iggy::wire::Put;

/// One message to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingMessage<'a> {
    /// Producer-chosen id (the SDK mints a random one when 0).
    pub id: u128,
    /// Producer timestamp, µs.
    pub origin_timestamp: u64,
    /// Payload bytes.
    pub payload: &'a [u8],
    /// A valid user-headers block, or empty.
    pub user_headers: &'a [u8],
}

/// Appends a batch of `messages` to `out`, exactly as the 0.11.0 SDK lays it out:
/// server fields zero, `origin_timestamp` = the earliest message's, `offset_delta` =
/// position, checksums computed. Returns the batch's byte range start.
pub fn encode_batch(
    out: &mut Vec<u8>,
    messages: &[OutgoingMessage<'_>],
) -> Result<usize, BatchError> {
    if messages.is_empty() {
        return Err(BatchError::Empty);
    }
    let origin_timestamp = messages.iter().map(|m| m.origin_timestamp).min().unwrap_or(0);
    let message_count = u32::try_from(messages.len()).map_err(|_| BatchError::TooLarge)?;
    let start = out.len();
    out.resize(start + BATCH_HEADER_SIZE, 0);
    for (index, message) in (0u32..).zip(messages) {
        let delta = message.origin_timestamp - origin_timestamp;
        let timestamp_delta =
            u32::try_from(delta).map_err(|_| BatchError::TimestampDelta(delta))?;
        let frame_start = out.len();
        out.put_u64(0);
        out.put_u128(message.id);
        out.put_u32(index);
        out.put_u32(timestamp_delta);
        out.put_u32(u32::try_from(message.user_headers.len()).map_err(|_| BatchError::TooLarge)?);
        out.put_u32(u32::try_from(message.payload.len()).map_err(|_| BatchError::TooLarge)?);
        out.put_u64(0);
        debug_assert_eq!(out.len() - frame_start, FRAME_HEADER_SIZE);
        out.put_bytes(message.payload);
        out.put_bytes(message.user_headers);
        let checksum = xxh3(&out[frame_start + 8..]);
        out[frame_start..frame_start + 8].copy_from_slice(&checksum.to_le_bytes());
    }
    let batch_length = out.len() - start;
    if u32::try_from(batch_length).is_err() {
        out.truncate(start);
        return Err(BatchError::TooLarge);
    }
    let mut header = BatchHeader {
        origin_timestamp,
        batch_length: batch_length as u64,
        message_count,
        ..BatchHeader::default()
    };
    header.batch_checksum = batch_checksum(&header, &out[start + BATCH_HEADER_SIZE..])?;
    header.encode(&mut out[start..]);
    Ok(start)
}
