//! Frame views: a message inside a batch, borrowed in place.

use super::FRAME_HEADER_SIZE;

/// The decoded 48-byte header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// xxh3 of `frame[8..]`.
    pub checksum: u64,
    /// Producer-chosen message id.
    pub id: u128,
    /// Position relative to the batch's `base_offset`.
    pub offset_delta: u32,
    /// µs after the batch's `origin_timestamp`.
    pub timestamp_delta: u32,
    /// Bytes of user headers after the payload.
    pub user_headers_length: u32,
    /// Bytes of payload.
    pub payload_length: u32,
}

impl FrameHeader {
    /// Decodes the first 48 bytes of a frame whose length was already checked.
    fn decode(bytes: &[u8; FRAME_HEADER_SIZE]) -> Self {
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let mut checksum = [0u8; 8];
        checksum.copy_from_slice(&bytes[0..8]);
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[8..24]);
        Self {
            checksum: u64::from_le_bytes(checksum),
            id: u128::from_le_bytes(id),
            offset_delta: u32_at(24),
            timestamp_delta: u32_at(28),
            user_headers_length: u32_at(32),
            payload_length: u32_at(36),
        }
    }

    /// Reads the header of the frame starting at `at` in `bytes`; `None` if fewer
    /// than 48 bytes remain.
    pub(crate) fn read(bytes: &[u8], at: usize) -> Option<(Self, &[u8; FRAME_HEADER_SIZE])> {
        let raw: &[u8; FRAME_HEADER_SIZE] =
            bytes.get(at..at.checked_add(FRAME_HEADER_SIZE)?)?.try_into().ok()?;
        Some((Self::decode(raw), raw))
    }

    /// Header, payload and user headers, in bytes (u64: cannot overflow).
    #[must_use]
    pub fn frame_size(&self) -> u64 {
        FRAME_HEADER_SIZE as u64
            + u64::from(self.payload_length)
            + u64::from(self.user_headers_length)
    }
}

/// One message, borrowed from its batch. Valid by construction: frames are only
/// handed out by a parsed [`super::Batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    header: FrameHeader,
    bytes: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The decoded frame header.
    #[must_use]
    pub fn header(&self) -> &FrameHeader {
        &self.header
    }

    /// The whole frame as it sits in the batch.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The payload.
    #[must_use]
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[FRAME_HEADER_SIZE..FRAME_HEADER_SIZE + self.header.payload_length as usize]
    }

    /// The raw user-headers block (possibly empty).
    #[must_use]
    pub fn user_headers(&self) -> &'a [u8] {
        &self.bytes[FRAME_HEADER_SIZE + self.header.payload_length as usize..]
    }

    /// Message id.
    #[must_use]
    pub fn id(&self) -> u128 {
        self.header.id
    }

    /// `xxh3(frame[8..])`, the value the checksum field must hold.
    #[must_use]
    pub fn computed_checksum(&self) -> u64 {
        crate::iggy::checksum::xxh3(&self.bytes[8..])
    }
}

/// Iterates the frames of a parsed batch. Stops at the end of the batch; a frame that
/// does not fit (impossible after parsing) also ends the iteration.
#[derive(Debug, Clone)]
pub struct FrameIter<'a> {
    frames: &'a [u8],
    at: usize,
}

impl<'a> FrameIter<'a> {
    /// Iterates frames tiling `frames` (the batch minus its header).
    pub(crate) fn new(frames: &'a [u8]) -> Self {
        Self { frames, at: 0 }
    }
}

impl<'a> Iterator for FrameIter<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let (header, _) = FrameHeader::read(self.frames, self.at)?;
        let end = self.at.checked_add(usize::try_from(header.frame_size()).ok()?)?;
        let bytes = self.frames.get(self.at..end)?;
        self.at = end;
        Some(Frame { header, bytes })
    }
}
