//! Serving a poll that starts or ends inside a stored batch.
//!
//! The 0.11.0 SDK does not drop messages below the offset it asked for: its
//! `poll_messages` returns every frame of every batch in the reply
//! (`PolledMessages::from_bytes` resolves `base_offset + offset_delta` and keeps
//! them all), and only the high-level `IggyConsumer` filters, and only for
//! partitions it has already consumed from (`message.header.offset > last
//! consumed`, unless `allow_replay`). A first poll, the CLI and any direct
//! `poll_messages` caller would see the earlier messages again. So the server must
//! cut stored batches to the requested range, which the format allows without
//! re-encoding: keep `base_offset` and every frame's bytes (their `offset_delta`
//! still resolves to the right offset), rewrite `batch_length` and `message_count`,
//! and recompute `batch_checksum` from the kept frames' checksums. The official
//! decoder documents exactly this ("a record may be a server-sliced view of a larger
//! stored batch").

use xxhash_rust::xxh3::Xxh3Default;

use super::frame::FrameIter;
use super::{BATCH_HEADER_SIZE, Batch, BatchHeader};

/// What [`slice_batch`] appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// Frames in the new batch (at least 1).
    pub message_count: u32,
    /// Offset of its first message.
    pub first_offset: u64,
    /// Offset of its last message.
    pub last_offset: u64,
    /// Bytes appended (header included).
    pub length: usize,
}

/// Appends to `out` a batch holding the frames of `batch` whose offset is at least
/// `from_offset`, at most `count_max` of them (contiguous, in order). Frames are
/// copied as bytes. Returns `None` and appends nothing when no frame qualifies.
pub fn slice_batch(
    batch: &Batch<'_>,
    from_offset: u64,
    count_max: u32,
    out: &mut Vec<u8>,
) -> Option<Slice> {
    let base_offset = batch.header().base_offset;
    let offset_of = |delta: u32| base_offset.saturating_add(u64::from(delta));
    // Byte range (within the frames) and offsets of the selected run.
    let mut at = 0usize;
    let mut start = None;
    let mut end = 0usize;
    let mut count = 0u32;
    let (mut first_offset, mut last_offset) = (0u64, 0u64);
    for frame in batch.frames() {
        let size = frame.as_bytes().len();
        let offset = offset_of(frame.header().offset_delta);
        if count == count_max {
            break;
        }
        if offset >= from_offset {
            if start.is_none() {
                start = Some(at);
                first_offset = offset;
            }
            last_offset = offset;
            end = at + size;
            count += 1;
        }
        at += size;
    }
    let start = start?;
    let frames = &batch.as_bytes()[BATCH_HEADER_SIZE + start..BATCH_HEADER_SIZE + end];
    let mut header = BatchHeader {
        batch_length: (BATCH_HEADER_SIZE + frames.len()) as u64,
        message_count: count,
        batch_checksum: 0,
        ..*batch.header()
    };
    let mut hasher = Xxh3Default::new();
    hasher.update(&header.checksum_prefix());
    for frame in FrameIter::new(frames) {
        hasher.update(&frame.as_bytes()[..8]);
    }
    header.batch_checksum = hasher.digest();
    let written_at = out.len();
    out.resize(written_at + BATCH_HEADER_SIZE, 0);
    header.encode(&mut out[written_at..]);
    out.extend_from_slice(frames);
    Some(Slice { message_count: count, first_offset, last_offset, length: out.len() - written_at })
}
