//! A parsed batch: a header copy plus the borrowed bytes; frames are walked in place.

use xxhash_rust::xxh3::Xxh3Default;

use super::frame::{FrameHeader, FrameIter};
use super::{BATCH_HEADER_SIZE, BatchError, BatchHeader, FRAME_HEADER_SIZE};
use crate::iggy::primitives::UserHeaders;

/// A batch whose layout is proven: the frames tile `batch_length` exactly, number
/// `message_count`, and every reserved field is zero. Checksums are checked by
/// [`Batch::verify`]. Parsing never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch<'a> {
    header: BatchHeader,
    bytes: &'a [u8],
}

impl<'a> Batch<'a> {
    /// Parses a buffer that is exactly one batch.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BatchError> {
        let (batch, rest) = Self::parse_prefix(bytes)?;
        if !rest.is_empty() {
            return Err(BatchError::Length {
                declared: batch.header.batch_length,
                available: bytes.len(),
            });
        }
        Ok(batch)
    }

    /// Parses the batch at the start of `bytes` and returns the bytes after it (a
    /// stream of stored batches, a poll reply).
    pub fn parse_prefix(bytes: &'a [u8]) -> Result<(Self, &'a [u8]), BatchError> {
        let header = BatchHeader::decode(bytes)?;
        let length_error =
            BatchError::Length { declared: header.batch_length, available: bytes.len() };
        let length = usize::try_from(header.batch_length).map_err(|_| length_error)?;
        if length < BATCH_HEADER_SIZE || length > bytes.len() {
            return Err(length_error);
        }
        let (batch, rest) = bytes.split_at(length);
        let found = walk_layout(&batch[BATCH_HEADER_SIZE..])?;
        if found != header.message_count {
            return Err(BatchError::Count { declared: header.message_count, found });
        }
        Ok((Self { header, bytes: batch }, rest))
    }

    /// The header.
    #[must_use]
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The whole batch, exactly as received or stored.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of frames.
    #[must_use]
    pub fn message_count(&self) -> u32 {
        self.header.message_count
    }

    /// The frames, as views into the batch.
    #[must_use]
    pub fn frames(&self) -> FrameIter<'a> {
        FrameIter::new(&self.bytes[BATCH_HEADER_SIZE..])
    }

    /// The offset of the first frame (`base_offset + its delta`); `None` if empty.
    #[must_use]
    pub fn first_offset(&self) -> Option<u64> {
        self.frames().next().map(|frame| {
            self.header.base_offset.saturating_add(u64::from(frame.header().offset_delta))
        })
    }

    /// The offset of the last frame; `None` if empty.
    #[must_use]
    pub fn last_offset(&self) -> Option<u64> {
        self.frames().last().map(|frame| {
            self.header.base_offset.saturating_add(u64::from(frame.header().offset_delta))
        })
    }

    /// Verifies every frame checksum and `batch_checksum`, in one pass.
    pub fn verify(&self) -> Result<(), BatchError> {
        let mut hasher = Xxh3Default::new();
        hasher.update(&self.header.checksum_prefix());
        for (index, frame) in (0u32..).zip(self.frames()) {
            let stored = frame.header().checksum;
            let computed = frame.computed_checksum();
            if stored != computed {
                return Err(BatchError::FrameChecksum { index, stored, computed });
            }
            hasher.update(&frame.as_bytes()[..8]);
        }
        let computed = hasher.digest();
        if computed != self.header.batch_checksum {
            return Err(BatchError::BatchChecksum { stored: self.header.batch_checksum, computed });
        }
        Ok(())
    }

    /// The rules a producer's batch must meet beyond layout: at least one message,
    /// `offset_delta` equal to the frame's position (so stamped offsets are dense),
    /// and well-formed user headers. Then [`Self::verify`].
    pub fn validate_send(&self) -> Result<(), BatchError> {
        if self.header.message_count == 0 {
            return Err(BatchError::Empty);
        }
        for (index, frame) in (0u32..).zip(self.frames()) {
            if frame.header().offset_delta != index {
                return Err(BatchError::OffsetDelta { index, found: frame.header().offset_delta });
            }
            UserHeaders::parse(frame.user_headers())
                .map_err(|error| BatchError::UserHeaders { index, error })?;
        }
        self.verify()
    }
}

/// Walks frame headers over `frames` (the batch minus its header) and returns how
/// many tile it exactly. Reads 48 bytes per frame, never a payload.
pub(super) fn walk_layout(frames: &[u8]) -> Result<u32, BatchError> {
    let mut at = 0usize;
    let mut index = 0u32;
    while at < frames.len() {
        let truncated = BatchError::FrameTruncated { index, offset: BATCH_HEADER_SIZE + at };
        let (header, raw) = FrameHeader::read(frames, at).ok_or(truncated)?;
        if raw[40..FRAME_HEADER_SIZE].iter().any(|&b| b != 0) {
            return Err(BatchError::FrameReserved(index));
        }
        let size = usize::try_from(header.frame_size()).map_err(|_| truncated)?;
        let end = at.checked_add(size).ok_or(truncated)?;
        if end > frames.len() {
            return Err(truncated);
        }
        at = end;
        index = index.checked_add(1).ok_or(truncated)?;
    }
    Ok(index)
}
