//! The 256-byte batch header.

use super::{BATCH_CHECKSUM_OFFSET, BATCH_HEADER_SIZE, BATCH_RESERVED_OFFSET, BatchError};

/// A decoded batch header (a copy of 52 bytes; the rest is reserved zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchHeader {
    /// Stamped by the server: the partition the batch was appended to.
    pub partition_id: u64,
    /// Stamped by the server: the offset of the batch's first frame (delta 0).
    pub base_offset: u64,
    /// Stamped by the server: append time, µs.
    pub base_timestamp: u64,
    /// The producer's earliest message timestamp, µs.
    pub origin_timestamp: u64,
    /// Header plus frames, in bytes.
    pub batch_length: u64,
    /// See the module docs of [`super`].
    pub batch_checksum: u64,
    /// Number of frames.
    pub message_count: u32,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

impl BatchHeader {
    /// Decodes the first 256 bytes; checks only that they exist and that the
    /// reserved part is zero.
    pub fn decode(bytes: &[u8]) -> Result<Self, BatchError> {
        let bytes = bytes.get(..BATCH_HEADER_SIZE).ok_or(BatchError::TooShort(bytes.len()))?;
        if bytes[BATCH_RESERVED_OFFSET..].iter().any(|&b| b != 0) {
            return Err(BatchError::HeaderReserved);
        }
        Ok(Self {
            partition_id: u64_at(bytes, 0),
            base_offset: u64_at(bytes, 8),
            base_timestamp: u64_at(bytes, 16),
            origin_timestamp: u64_at(bytes, 24),
            batch_length: u64_at(bytes, 32),
            batch_checksum: u64_at(bytes, BATCH_CHECKSUM_OFFSET),
            message_count: u32::from_le_bytes([bytes[48], bytes[49], bytes[50], bytes[51]]),
        })
    }

    /// Writes the header (reserved zeroed) into the first 256 bytes of `out`.
    ///
    /// # Panics
    /// If `out` is shorter than 256 bytes (a bug).
    pub fn encode(&self, out: &mut [u8]) {
        let out = &mut out[..BATCH_HEADER_SIZE];
        out.fill(0);
        out[0..8].copy_from_slice(&self.partition_id.to_le_bytes());
        out[8..16].copy_from_slice(&self.base_offset.to_le_bytes());
        out[16..24].copy_from_slice(&self.base_timestamp.to_le_bytes());
        out[24..32].copy_from_slice(&self.origin_timestamp.to_le_bytes());
        out[32..40].copy_from_slice(&self.batch_length.to_le_bytes());
        out[40..48].copy_from_slice(&self.batch_checksum.to_le_bytes());
        out[48..52].copy_from_slice(&self.message_count.to_le_bytes());
    }

    /// The 44 bytes of header fields `batch_checksum` starts with.
    #[must_use]
    pub fn checksum_prefix(&self) -> [u8; 44] {
        let mut out = [0u8; 44];
        out[0..8].copy_from_slice(&self.partition_id.to_le_bytes());
        out[8..16].copy_from_slice(&self.base_offset.to_le_bytes());
        out[16..24].copy_from_slice(&self.base_timestamp.to_le_bytes());
        out[24..32].copy_from_slice(&self.origin_timestamp.to_le_bytes());
        out[32..40].copy_from_slice(&self.batch_length.to_le_bytes());
        out[40..44].copy_from_slice(&self.message_count.to_le_bytes());
        out
    }
}
