//! Typed errors of the partition log, one enum per boundary.

use crate::partition::config::ConfigError;
use crate::partition::record::RecordError;
use crate::partition::scan::FaultKind;
use crate::storage::{IoError, StorageError};

/// Errors of append, flush, truncation and retention.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// File management failed (open, resize, remove) or a handle vanished.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// An earlier write or sync of this log failed; the log accepts nothing more. Its
    /// on-disk state is whatever recovery finds after a restart.
    #[error("a write or sync failed: {0}")]
    Failed(IoError),
    /// Too many bytes are waiting for their writes; poll completions and retry.
    #[error("write backpressure: {pending_bytes} bytes pending")]
    Backpressure {
        /// Bytes queued or in flight.
        pending_bytes: u64,
    },
    /// The payload exceeds `record_payload_size_max`.
    #[error("payload of {size_bytes} bytes exceeds the maximum of {size_max_bytes}")]
    PayloadTooLarge {
        /// Offered payload size.
        size_bytes: u64,
        /// Configured maximum.
        size_max_bytes: u32,
    },
    /// The operation needs a quiet log (no unflushed, queued or in-flight I/O, no flush in
    /// progress): flush, wait for it, and retry.
    #[error("log busy with I/O; flush and wait first")]
    Busy,
}

/// Why a log could not be opened. Corruption is *not* an open error: it is reported in the
/// `RecoveryReport` and the faulty spans stay visible to readers as typed read errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The configuration is invalid.
    #[error("config: {0}")]
    Config(#[from] ConfigError),
    /// File management failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The end of the log lies in sectors the device cannot read: whether records there
    /// were durable cannot be decided locally, so nothing is cut; repair needs peers.
    #[error("unreadable tail in segment {segment_base_offset} at byte {position_bytes}")]
    UnreadableTail {
        /// The segment.
        segment_base_offset: u64,
        /// Where the unreadable tail starts.
        position_bytes: u64,
    },
    /// A segment holds offsets at or beyond the next segment's base offset.
    #[error("segment {segment_base_offset} overlaps the next segment at {next_base_offset}")]
    SegmentOverlap {
        /// The segment.
        segment_base_offset: u64,
        /// The next segment's base.
        next_base_offset: u64,
    },
    /// The next segment starts 2^32 or more offsets after this one's base (file names not
    /// written by this code): the offsets in between cannot be represented.
    #[error("segment {segment_base_offset} is followed by {next_base_offset}: gap too large")]
    SegmentGap {
        /// The segment.
        segment_base_offset: u64,
        /// The next segment's base.
        next_base_offset: u64,
    },
    /// A segment file is larger than `SEGMENT_SIZE_BYTES_MAX` (not written by this code).
    #[error("segment file {name} is {size_bytes} bytes, above the maximum")]
    SegmentTooLarge {
        /// The file.
        name: String,
        /// Its size.
        size_bytes: u64,
    },
    /// A write or sync during recovery (index rebuild, tail cut) failed.
    #[error("recovery I/O failed: {0}")]
    Io(IoError),
}

/// Why a read could not return batches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The requested offset lies in a span recovery found faulty; it needs repair.
    #[error("offsets {base_offset}..{end_offset} are faulty ({kind:?})")]
    Faulty {
        /// First offset of the faulty span.
        base_offset: u64,
        /// One past its last offset.
        end_offset: u64,
        /// What is wrong.
        kind: FaultKind,
    },
    /// The bytes read for a planned record fail verification: never served.
    #[error("record at byte {position_bytes} of segment {segment_base_offset} is corrupt: {error}")]
    Corrupt {
        /// The segment.
        segment_base_offset: u64,
        /// The record's position.
        position_bytes: u64,
        /// Why it failed to parse.
        error: RecordError,
    },
    /// A record verified but is not the one the index promised (misdirected write).
    #[error(
        "record at byte {position_bytes} of segment {segment_base_offset} is not the expected one"
    )]
    Mismatch {
        /// The segment.
        segment_base_offset: u64,
        /// The record's position.
        position_bytes: u64,
    },
    /// The read I/O failed (e.g. a latent sector error).
    #[error("read failed: {0}")]
    Io(IoError),
    /// The buffer handed to `ReadPlan::complete` does not have the planned length.
    #[error("buffer of {actual} bytes, plan needs {expected}")]
    BufferSize {
        /// Planned length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
}
