//! Message batches: the one layout a send body, a replicated prepare, a stored
//! segment record and a poll reply all share.
//!
//! ```text
//! batch  = [BatchHeader 256][frame]…
//! header = partition_id u64@0 base_offset u64@8 base_timestamp u64@16
//!          origin_timestamp u64@24 batch_length u64@32 batch_checksum u64@40
//!          message_count u32@48 reserved[204]@52 (zero)
//! frame  = [checksum u64][id u128][offset_delta u32][timestamp_delta u32]
//!          [user_headers_length u32][payload_length u32][reserved u64 = 0]
//!          [payload][user headers]
//! ```
//!
//! Checksums (XxHash3-64, seed 0): a frame's `checksum` covers `frame[8..]` (the rest
//! of its header, payload and user headers). `batch_checksum` is one streaming hash of
//! partition_id, base_offset, base_timestamp, origin_timestamp, batch_length (u64 LE
//! each), message_count (u32 LE), then every frame's 8 checksum bytes in order. So the
//! server can stamp the three server-owned fields and recompute `batch_checksum`
//! without touching a payload, and a verifier binds every payload byte by checking
//! each frame.
//!
//! Message `i` has offset `base_offset + offset_delta`, append time
//! `base_timestamp`, and origin time `origin_timestamp + timestamp_delta`.

mod build;
mod frame;
mod header;
mod poll;
mod slice;
mod stamp;
mod view;

pub use build::{OutgoingMessage, encode_batch};
pub use frame::{Frame, FrameHeader, FrameIter};
pub use header::BatchHeader;
pub use poll::{POLL_REPLY_HEADER_SIZE, PollReplyHeader, PolledBatches};
pub use slice::{Slice, slice_batch};
pub use stamp::{batch_checksum, stamp};
pub use view::Batch;

/// Size of the batch header.
pub const BATCH_HEADER_SIZE: usize = 256;
/// Size of a frame header.
pub const FRAME_HEADER_SIZE: usize = 48;
/// Offset of `batch_checksum` in the batch header.
pub const BATCH_CHECKSUM_OFFSET: usize = 40;
/// Where the reserved (zero) part of the batch header starts.
pub const BATCH_RESERVED_OFFSET: usize = 52;

/// Ways a batch can be malformed or corrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Fewer bytes than a batch header.
    #[error("batch of {0} bytes is shorter than its header")]
    TooShort(usize),
    /// `batch_length` disagrees with the bytes available.
    #[error("batch_length {declared} disagrees with {available} bytes")]
    Length {
        /// The header's `batch_length`.
        declared: u64,
        /// Bytes available.
        available: usize,
    },
    /// The reserved part of the batch header is not zero.
    #[error("batch header reserved bytes are not zero")]
    HeaderReserved,
    /// A frame runs past the end of the batch.
    #[error("frame {index} at byte {offset} runs past the batch")]
    FrameTruncated {
        /// Frame position.
        index: u32,
        /// Where the frame starts within the batch.
        offset: usize,
    },
    /// A frame's reserved field is not zero.
    #[error("frame {0} reserved bytes are not zero")]
    FrameReserved(u32),
    /// The frames do not number `message_count`.
    #[error("message_count {declared} but {found} frames")]
    Count {
        /// The header's `message_count`.
        declared: u32,
        /// Frames found.
        found: u32,
    },
    /// A send carried no message.
    #[error("empty batch")]
    Empty,
    /// A frame's `offset_delta` is not its position (sends must be dense from 0).
    #[error("frame {index} has offset_delta {found}")]
    OffsetDelta {
        /// Frame position.
        index: u32,
        /// The delta found.
        found: u32,
    },
    /// A frame's user headers are malformed.
    #[error("frame {index} user headers: {error}")]
    UserHeaders {
        /// Frame position.
        index: u32,
        /// What is wrong.
        error: crate::iggy::primitives::TlvError,
    },
    /// A frame's checksum does not match its bytes.
    #[error("frame {index} checksum {stored:#x}, computed {computed:#x}")]
    FrameChecksum {
        /// Frame position.
        index: u32,
        /// The frame's value.
        stored: u64,
        /// xxh3 of the frame.
        computed: u64,
    },
    /// `batch_checksum` does not match.
    #[error("batch checksum {stored:#x}, computed {computed:#x}")]
    BatchChecksum {
        /// The header's value.
        stored: u64,
        /// The recomputed value.
        computed: u64,
    },
    /// A message's origin timestamp is more than `u32::MAX` µs after the batch's
    /// earliest (encode side).
    #[error("timestamp delta {0} µs does not fit u32")]
    TimestampDelta(u64),
    /// The batch would not fit the u32 frame size (encode side).
    #[error("batch too large")]
    TooLarge,
}

#[cfg(test)]
mod tests;
