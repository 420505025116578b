//! Stamping: the server writes the three fields it owns into a received batch, in
//! place, and recomputes `batch_checksum` from the frame checksums (no payload read).

use xxhash_rust::xxh3::Xxh3Default;

use super::view::walk_layout;
use super::{BATCH_CHECKSUM_OFFSET, BATCH_HEADER_SIZE, BatchError, BatchHeader, FRAME_HEADER_SIZE};

/// `batch_checksum` for `header` over the frames in `frames` (the batch minus its
/// header), which must tile exactly; returns an error otherwise.
pub fn batch_checksum(header: &BatchHeader, frames: &[u8]) -> Result<u64, BatchError> {
    walk_layout(frames)?;
    let mut hasher = Xxh3Default::new();
    hasher.update(&header.checksum_prefix());
    let mut at = 0usize;
    while at < frames.len() {
        hasher.update(&frames[at..at + 8]);
        let payload = u32::from_le_bytes([
            frames[at + 36],
            frames[at + 37],
            frames[at + 38],
            frames[at + 39],
        ]);
        let headers = u32::from_le_bytes([
            frames[at + 32],
            frames[at + 33],
            frames[at + 34],
            frames[at + 35],
        ]);
        at += FRAME_HEADER_SIZE + payload as usize + headers as usize;
    }
    Ok(hasher.digest())
}

/// Writes `partition_id`, `base_offset` and `base_timestamp` into the batch in
/// `bytes` (exactly one batch) and recomputes `batch_checksum`. Frame bytes and
/// frame checksums are untouched, so per-frame verification still holds.
pub fn stamp(
    bytes: &mut [u8],
    partition_id: u64,
    base_offset: u64,
    base_timestamp: u64,
) -> Result<(), BatchError> {
    let mut header = BatchHeader::decode(bytes)?;
    if usize::try_from(header.batch_length).ok() != Some(bytes.len()) {
        return Err(BatchError::Length { declared: header.batch_length, available: bytes.len() });
    }
    header.partition_id = partition_id;
    header.base_offset = base_offset;
    header.base_timestamp = base_timestamp;
    header.batch_checksum = batch_checksum(&header, &bytes[BATCH_HEADER_SIZE..])?;
    bytes[0..8].copy_from_slice(&partition_id.to_le_bytes());
    bytes[8..16].copy_from_slice(&base_offset.to_le_bytes());
    bytes[16..24].copy_from_slice(&base_timestamp.to_le_bytes());
    bytes[BATCH_CHECKSUM_OFFSET..BATCH_CHECKSUM_OFFSET + 8]
        .copy_from_slice(&header.batch_checksum.to_le_bytes());
    Ok(())
}
