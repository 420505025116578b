//! Append-only writing of one file through `Storage`: bytes are staged in a sector-aligned
//! chunk in memory, each full chunk becomes one write, and `flush_tail` writes the partial
//! chunk (O_DIRECT needs whole sectors) so a following sync covers everything appended.
//!
//! What happens after a partial write decides the policy:
//! * [`TailPolicy::Pad`] (the log): the next byte goes to the next sector boundary, so a
//!   sector is written at most once and a torn write can only ever hit unsynced data. The
//!   zero padding costs at most one sector per flush; recovery skips it.
//! * [`TailPolicy::Rewrite`] (the indexes, whose entries must stay at fixed positions): the
//!   partial sector stays staged and is rewritten as it fills. Two writes of the same sector
//!   must not race in the kernel, so such a file has at most one write in flight. The
//!   indexes are derivable from the log, so a torn rewrite costs only a rebuild.

use std::collections::VecDeque;

use crate::SECTOR_SIZE;
use crate::buffer::{AlignedBuffer, round_up};
use crate::storage::FileId;

/// See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TailPolicy {
    Pad,
    Rewrite,
}

/// Reusable staging chunks of one size, bounded.
#[derive(Debug)]
pub(crate) struct BufferPool {
    chunk_bytes: usize,
    buffers: Vec<AlignedBuffer>,
    buffers_max: usize,
}

impl BufferPool {
    pub(crate) fn new(chunk_bytes: usize, buffers_max: usize) -> Self {
        assert!(chunk_bytes > 0 && chunk_bytes.is_multiple_of(SECTOR_SIZE), "bad chunk size");
        Self { chunk_bytes, buffers: Vec::new(), buffers_max }
    }

    fn take(&mut self) -> AlignedBuffer {
        self.buffers.pop().unwrap_or_else(|| AlignedBuffer::zeroed(self.chunk_bytes))
    }

    pub(crate) fn give(&mut self, buffer: AlignedBuffer) {
        if buffer.len() == self.chunk_bytes && self.buffers.len() < self.buffers_max {
            self.buffers.push(buffer);
        }
    }
}

/// A write waiting for submission.
#[derive(Debug)]
pub(crate) struct QueuedWrite {
    /// Log-wide sequence number (also the token's low bits).
    pub(crate) seq: u64,
    pub(crate) offset_bytes: u64,
    pub(crate) buffer: AlignedBuffer,
}

/// Issues sequence numbers for writes; implemented by the log's I/O ledger.
pub(crate) trait WriteSequencer {
    /// Registers a new write of `length_bytes` and returns its sequence number.
    fn write_enqueued(&mut self, length_bytes: u64) -> u64;
}

#[derive(Debug)]
struct WriteRange {
    seq: u64,
    end_bytes: u64,
    done: bool,
}

/// One file's append writer. See the module documentation.
#[derive(Debug)]
pub(crate) struct FileWriter {
    pub(crate) file: FileId,
    policy: TailPolicy,
    chunk_bytes: usize,
    staging: Option<AlignedBuffer>,
    /// File position of `staging[0]`; sector-aligned.
    staging_offset: u64,
    staging_len: usize,
    /// Staged bytes appended since the last `flush_tail` (for Rewrite the staged partial
    /// sector may already be on disk).
    unflushed: bool,
    /// The staging buffer was given back for good (sealed segment); for `Rewrite` the
    /// staged partial sector is on disk and no longer needed in memory.
    released: bool,
    queued: VecDeque<QueuedWrite>,
    in_flight: usize,
    /// Enqueued writes in file order; the completed prefix gives `written_end`.
    ranges: VecDeque<WriteRange>,
    written_end: u64,
    /// A write completed since the last sync was submitted.
    pub(crate) dirty: bool,
}

impl FileWriter {
    /// A writer whose next byte lands at `end_bytes`. For `Rewrite`, `tail` holds the bytes
    /// of the partial sector before `end_bytes` (already on disk); for `Pad` it must be
    /// empty and `end_bytes` sector-aligned.
    pub(crate) fn new(
        file: FileId,
        policy: TailPolicy,
        chunk_bytes: usize,
        end_bytes: u64,
        tail: &[u8],
    ) -> Self {
        let staging = (!tail.is_empty()).then(|| {
            let mut buffer = AlignedBuffer::zeroed(chunk_bytes);
            buffer[..tail.len()].copy_from_slice(tail);
            buffer
        });
        Self::build(file, policy, chunk_bytes, end_bytes, tail.len(), staging)
    }

    /// A writer of a sealed file ending at `end_bytes` (its partial tail sector, if any,
    /// is on disk): nothing is ever appended, so it holds no staging chunk — as if
    /// `release_staging` had been called.
    pub(crate) fn new_released(
        file: FileId,
        policy: TailPolicy,
        chunk_bytes: usize,
        end_bytes: u64,
    ) -> Self {
        let tail_length = usize::try_from(end_bytes % SECTOR_SIZE as u64).expect("below a sector");
        let mut writer = Self::build(file, policy, chunk_bytes, end_bytes, tail_length, None);
        writer.released = true;
        writer
    }

    fn build(
        file: FileId,
        policy: TailPolicy,
        chunk_bytes: usize,
        end_bytes: u64,
        tail_length: usize,
        staging: Option<AlignedBuffer>,
    ) -> Self {
        assert!(chunk_bytes.is_multiple_of(SECTOR_SIZE) && chunk_bytes > 0, "bad chunk size");
        assert_eq!(end_bytes % SECTOR_SIZE as u64, tail_length as u64, "tail must fill to end");
        assert!(policy == TailPolicy::Rewrite || tail_length == 0, "Pad writers start aligned");
        let staging_offset = end_bytes - tail_length as u64;
        Self {
            file,
            policy,
            chunk_bytes,
            staging,
            staging_offset,
            staging_len: tail_length,
            unflushed: false,
            released: false,
            queued: VecDeque::new(),
            in_flight: 0,
            ranges: VecDeque::new(),
            written_end: staging_offset,
            dirty: false,
        }
    }

    /// Where the next appended byte lands.
    pub(crate) fn end(&self) -> u64 {
        self.staging_offset + self.staging_len as u64
    }

    /// Every byte below this position has been written (its write completed).
    pub(crate) fn written_end(&self) -> u64 {
        self.written_end
    }

    /// No write queued or in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.queued.is_empty() && self.in_flight == 0
    }

    /// Nothing appended is waiting in memory or in a queue for its write.
    pub(crate) fn is_flushed(&self) -> bool {
        self.is_idle() && !self.unflushed
    }

    /// Whether a staging chunk is held in memory.
    pub(crate) fn holds_staging(&self) -> bool {
        self.staging.is_some()
    }

    /// Bytes staged and not yet handed to a write.
    pub(crate) fn staged_bytes(&self) -> usize {
        if self.unflushed { self.staging_len } else { 0 }
    }

    pub(crate) fn append(
        &mut self,
        mut bytes: &[u8],
        pool: &mut BufferPool,
        sequencer: &mut impl WriteSequencer,
    ) {
        assert_eq!(pool.chunk_bytes, self.chunk_bytes, "pool of another chunk size");
        assert!(!self.released, "append to a released (sealed) writer");
        while !bytes.is_empty() {
            let staging = self.staging.get_or_insert_with(|| pool.take());
            let space = self.chunk_bytes - self.staging_len;
            let take = space.min(bytes.len());
            staging[self.staging_len..self.staging_len + take].copy_from_slice(&bytes[..take]);
            self.staging_len += take;
            self.unflushed = true;
            bytes = &bytes[take..];
            if self.staging_len == self.chunk_bytes {
                let buffer = self.staging.take().expect("staging present");
                self.enqueue(buffer, sequencer);
                self.staging_offset += self.chunk_bytes as u64;
                self.staging_len = 0;
                self.unflushed = false;
            }
        }
    }

    /// Queues a write of the staged partial chunk (see the module documentation).
    pub(crate) fn flush_tail(&mut self, sequencer: &mut impl WriteSequencer) {
        if !self.unflushed {
            return;
        }
        assert!(self.staging_len > 0 && self.staging_len < self.chunk_bytes, "partial chunk");
        let staging = self.staging.as_mut().expect("unflushed bytes are staged");
        let length = self.staging_len;
        let mut buffer = AlignedBuffer::zeroed(round_up(length));
        buffer[..length].copy_from_slice(&staging[..length]);
        let full = length - length % SECTOR_SIZE;
        match self.policy {
            TailPolicy::Pad => {
                self.enqueue(buffer, sequencer);
                self.staging_offset += round_up(length) as u64;
                self.staging_len = 0;
            }
            TailPolicy::Rewrite => {
                staging.copy_within(full..length, 0);
                self.enqueue(buffer, sequencer);
                self.staging_offset += full as u64;
                self.staging_len = length - full;
            }
        }
        self.unflushed = false;
    }

    /// Returns the staging chunk to the pool (the segment is sealed and flushed).
    pub(crate) fn release_staging(&mut self, pool: &mut BufferPool) {
        assert!(!self.unflushed, "releasing unflushed staging");
        if let Some(buffer) = self.staging.take() {
            pool.give(buffer);
        }
        self.released = true;
    }

    fn enqueue(&mut self, buffer: AlignedBuffer, sequencer: &mut impl WriteSequencer) {
        let length = buffer.len() as u64;
        let seq = sequencer.write_enqueued(length);
        let end_bytes = self.staging_offset + length;
        if let Some(last) = self.ranges.back() {
            assert!(self.policy == TailPolicy::Rewrite || last.end_bytes == self.staging_offset);
        }
        self.ranges.push_back(WriteRange { seq, end_bytes, done: false });
        self.queued.push_back(QueuedWrite { seq, offset_bytes: self.staging_offset, buffer });
    }

    /// The next write that may be submitted now, if any.
    pub(crate) fn pop_submittable(&mut self) -> Option<QueuedWrite> {
        if self.policy == TailPolicy::Rewrite && self.in_flight > 0 {
            return None;
        }
        let write = self.queued.pop_front()?;
        self.in_flight += 1;
        Some(write)
    }

    /// Records the completion of write `seq`.
    pub(crate) fn on_write_done(&mut self, seq: u64) {
        assert!(self.in_flight > 0, "completion without a write in flight");
        self.in_flight -= 1;
        self.dirty = true;
        let range = self.ranges.iter_mut().find(|range| range.seq == seq);
        range.expect("completed write was enqueued here").done = true;
        while self.ranges.front().is_some_and(|range| range.done) {
            let range = self.ranges.pop_front().expect("front exists");
            self.written_end = self.written_end.max(range.end_bytes);
        }
    }

    pub(crate) fn check_invariants(&self) {
        assert!(self.staging_len < self.chunk_bytes, "full staging not enqueued");
        assert_eq!(self.staging_offset % SECTOR_SIZE as u64, 0, "staging unaligned");
        assert!(
            self.staging_len == 0 || self.staging.is_some() || self.released,
            "staged bytes without buffer"
        );
        assert!(self.in_flight + self.queued.len() <= self.ranges.len(), "write accounting");
        assert!(self.policy == TailPolicy::Pad || self.in_flight <= 1, "Rewrite races");
        if self.policy == TailPolicy::Pad {
            assert!(self.written_end <= self.staging_offset, "written past staging");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Counter(u64);

    impl WriteSequencer for Counter {
        fn write_enqueued(&mut self, _length_bytes: u64) -> u64 {
            self.0 += 1;
            self.0
        }
    }

    #[test]
    fn pad_writer_chunks_then_pads_at_flush() {
        let mut pool = BufferPool::new(2 * SECTOR_SIZE, 4);
        let mut seq = Counter::default();
        let mut writer = FileWriter::new(FileId(0), TailPolicy::Pad, 2 * SECTOR_SIZE, 0, &[]);
        writer.append(&[1; 3 * SECTOR_SIZE], &mut pool, &mut seq);
        assert_eq!(writer.end(), 3 * SECTOR_SIZE as u64);
        let first = writer.pop_submittable().unwrap();
        assert_eq!((first.offset_bytes, first.buffer.len()), (0, 2 * SECTOR_SIZE));
        assert!(writer.pop_submittable().is_none(), "the partial chunk waits for flush");
        writer.append(&[2; 10], &mut pool, &mut seq);
        writer.flush_tail(&mut seq);
        assert_eq!(writer.end(), 4 * SECTOR_SIZE as u64, "Pad jumps to the sector boundary");
        let second = writer.pop_submittable().unwrap();
        assert_eq!(
            (second.offset_bytes, second.buffer.len()),
            (2 * SECTOR_SIZE as u64, 2 * SECTOR_SIZE)
        );
        assert_eq!(&second.buffer[SECTOR_SIZE..SECTOR_SIZE + 10], &[2; 10]);
        assert!(second.buffer[SECTOR_SIZE + 10..].iter().all(|&b| b == 0));
        writer.on_write_done(second.seq);
        assert_eq!(writer.written_end(), 0, "prefix not complete yet");
        writer.on_write_done(first.seq);
        assert_eq!(writer.written_end(), 4 * SECTOR_SIZE as u64);
        assert!(writer.is_flushed());
        writer.check_invariants();
    }

    #[test]
    fn rewrite_writer_keeps_one_write_in_flight_and_rewrites_the_tail() {
        let mut pool = BufferPool::new(SECTOR_SIZE, 4);
        let mut seq = Counter::default();
        let mut writer = FileWriter::new(FileId(0), TailPolicy::Rewrite, SECTOR_SIZE, 4, &[9; 4]);
        writer.append(&[1; 8], &mut pool, &mut seq);
        writer.flush_tail(&mut seq);
        assert_eq!(writer.end(), 12);
        writer.append(&[2; 4], &mut pool, &mut seq);
        writer.flush_tail(&mut seq);
        let first = writer.pop_submittable().unwrap();
        assert_eq!(&first.buffer[..12], &[9, 9, 9, 9, 1, 1, 1, 1, 1, 1, 1, 1]);
        assert!(writer.pop_submittable().is_none(), "second rewrite of sector 0 must wait");
        writer.on_write_done(first.seq);
        let second = writer.pop_submittable().unwrap();
        assert_eq!(second.offset_bytes, 0);
        assert_eq!(&second.buffer[8..16], &[1, 1, 1, 1, 2, 2, 2, 2]);
        writer.on_write_done(second.seq);
        assert!(writer.is_flushed());
        writer.check_invariants();
    }
}
