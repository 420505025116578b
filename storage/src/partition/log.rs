//! [`PartitionLog`]: one partition's append-only log of batches — appends, flushes, I/O
//! completions and invariants. Reads are in `reader.rs`, recovery in `recovery.rs`,
//! truncation in `truncate.rs`, retention in `retention.rs`.
//!
//! **Driving it.** The log never blocks and never owns the `Storage`: every method that may
//! issue I/O takes `&mut S`. Writes are queued and submitted up to the log's in-flight bound
//! and the storage's free capacity; the owner polls the storage and hands each completion
//! whose token namespace is this log's ([`crate::partition::token_namespace`]) to
//! [`PartitionLog::on_io_done`], which submits whatever was waiting. Many logs (and the
//! journal) can share one `Storage` this way; when the storage was full, the owner calls
//! [`PartitionLog::pump`] on logs after it frees capacity.
//!
//! **Durability.** An append is in memory (and readable) at once, on disk once its write
//! completes, and durable after a [`PartitionLog::flush`] that started after it completes:
//! [`PartitionLog::durable_next_offset`] reaches the `next_offset` that `flush` returned.

use std::collections::{BTreeSet, VecDeque};
use std::ops::Bound::{Excluded, Unbounded};

use bytes::Bytes;

use crate::partition::cache::RecentCache;
use crate::partition::config::{INDEX_CHUNK_BYTES, PartitionLogConfig};
use crate::partition::error::LogError;
use crate::partition::ledger::{InFlightIo, IoKind, IoLedger, SegmentFile};
use crate::partition::record::{
    BatchMeta, RECORD_HEADER_SIZE, StoredBatch, encode_header, parse_header,
};
use crate::partition::segment::{
    Entry, Segment, SegmentFileKind, offset_index_entry, segment_file_name, time_index_entry,
};
use crate::partition::writer::BufferPool;
use crate::storage::{Completion, IoDone, IoError, IoRequest, OpenMode, Storage, StorageError};

/// A flush: durable once every write enqueued before `barrier_seq` completed and the
/// dirty files were then synced.
#[derive(Debug, Clone, Copy)]
struct FlushRequest {
    next_offset: u64,
    barrier_seq: u64,
}

#[derive(Debug)]
enum FlushPhase {
    Writing,
    Syncing { to_submit: Vec<(u64, SegmentFile)>, in_flight: usize },
}

#[derive(Debug, Default)]
struct FlushState {
    active: Option<(FlushRequest, FlushPhase)>,
    /// A flush asked for while one was active; coalesced into the latest.
    pending: Option<FlushRequest>,
}

/// One partition's log. See the module documentation.
#[derive(Debug)]
pub struct PartitionLog {
    pub(crate) config: PartitionLogConfig,
    /// Oldest first; the last one is open for appends, all others are sealed.
    pub(crate) segments: VecDeque<Segment>,
    pub(crate) next_offset: u64,
    pub(crate) last_op: u64,
    pub(crate) running_max_timestamp_us: u64,
    pub(crate) cache: RecentCache,
    pub(crate) ledger: IoLedger,
    pub(crate) log_pool: BufferPool,
    pub(crate) index_pool: BufferPool,
    /// Bases of segments with queued or in-flight writes.
    pub(crate) busy: BTreeSet<u64>,
    flush: FlushState,
    pub(crate) durable_next_offset: u64,
    pub(crate) failure: Option<IoError>,
    /// Sum of the segments' `size_bytes`.
    pub(crate) size_bytes: u64,
}

/// Summary of one segment, for operators and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// First offset.
    pub base_offset: u64,
    /// One past the last offset.
    pub end_offset: u64,
    /// Bytes of records in the log file.
    pub size_bytes: u64,
    /// Number of records (valid and faulty).
    pub record_count: usize,
    /// Whether the segment is sealed (no more appends).
    pub sealed: bool,
}

impl PartitionLog {
    /// A log over recovered segments, all of whose files recovery has synced (so all of
    /// it is durable).
    pub(crate) fn from_parts(config: PartitionLogConfig, segments: VecDeque<Segment>) -> Self {
        let last = segments.back().expect("a log has at least one segment");
        let next_offset = last.end_offset();
        let last_op = segments.iter().rev().find_map(|s| s.entries.last()).map_or(0, |e| e.op);
        let running_max_timestamp_us = segments
            .iter()
            .rev()
            .find_map(|s| s.entries.last())
            .map_or(0, |e| e.running_max_timestamp_us);
        let size_bytes = segments.iter().map(Segment::size_bytes).sum();
        // Enough chunks for every pending write: a steady stream then reuses them instead of
        // faulting in fresh pages for each chunk (memory stays within the pending bound).
        let pool_max = usize::try_from(config.write_bytes_pending_max).unwrap_or(usize::MAX)
            / config.write_chunk_bytes
            + 2;
        Self {
            log_pool: BufferPool::new(config.write_chunk_bytes, pool_max),
            index_pool: BufferPool::new(INDEX_CHUNK_BYTES, 4),
            ledger: IoLedger::new(config.io_namespace),
            config,
            segments,
            next_offset,
            last_op,
            running_max_timestamp_us,
            cache: RecentCache::new(next_offset),
            busy: BTreeSet::new(),
            flush: FlushState::default(),
            durable_next_offset: next_offset,
            failure: None,
            size_bytes,
        }
    }

    /// The offset the next appended batch must start at.
    #[must_use]
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// The first offset still stored (retention moves it forward).
    #[must_use]
    pub fn first_offset(&self) -> u64 {
        self.segments.front().expect("at least one segment").base_offset
    }

    /// Every offset below this is durable (written and synced).
    #[must_use]
    pub fn durable_next_offset(&self) -> u64 {
        self.durable_next_offset
    }

    /// The op of the last appended record (0 for an empty log).
    #[must_use]
    pub fn last_op(&self) -> u64 {
        self.last_op
    }

    /// Bytes of records stored (all segments' log files, padding between records included).
    #[must_use]
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// The token namespace of this log's I/O.
    #[must_use]
    pub fn io_namespace(&self) -> u32 {
        self.config.io_namespace
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &PartitionLogConfig {
        &self.config
    }

    /// The segments, oldest first.
    #[must_use]
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.segments
            .iter()
            .map(|segment| SegmentInfo {
                base_offset: segment.base_offset,
                end_offset: segment.end_offset(),
                size_bytes: segment.size_bytes(),
                record_count: segment.entries.len(),
                sealed: segment.sealed,
            })
            .collect()
    }

    /// No I/O queued, in flight or staged, and no flush in progress.
    #[must_use]
    pub fn is_quiet(&self) -> bool {
        self.ledger.is_idle()
            && self.flush.active.is_none()
            && self.segments.iter().all(Segment::is_flushed)
    }

    pub(crate) fn check_failed(&self) -> Result<(), LogError> {
        self.failure.map_or(Ok(()), |error| Err(LogError::Failed(error)))
    }

    pub(crate) fn segment_position(&self, base_offset: u64) -> Option<usize> {
        self.segments.binary_search_by_key(&base_offset, |segment| segment.base_offset).ok()
    }

    /// Index of the segment holding `offset` (first_offset <= offset < next_offset).
    pub(crate) fn segment_for_offset(&self, offset: u64) -> usize {
        assert!(offset >= self.first_offset() && offset < self.next_offset, "offset outside");
        self.segments.partition_point(|segment| segment.base_offset <= offset) - 1
    }

    /// Appends one batch written by `op`. The batch must start at `next_offset` (a caller
    /// bug otherwise) and ops never decrease. Returns the new `next_offset`.
    pub fn append<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        op: u64,
        meta: BatchMeta,
        payload: Bytes,
    ) -> Result<u64, LogError> {
        self.check_failed()?;
        assert_eq!(meta.base_offset, self.next_offset, "append must continue the log");
        assert!(op >= self.last_op, "op {op} below the last op {}", self.last_op);
        assert!(meta.message_count >= 1, "a batch holds at least one message");
        assert!(meta.max_timestamp_us >= meta.base_timestamp_us, "max timestamp below base");
        if payload.len() as u64 > u64::from(self.config.record_payload_size_max) {
            return Err(LogError::PayloadTooLarge {
                size_bytes: payload.len() as u64,
                size_max_bytes: self.config.record_payload_size_max,
            });
        }
        let record_size = (RECORD_HEADER_SIZE + payload.len()) as u64;
        let pending = self.ledger.pending_write_bytes + self.staged_bytes();
        if pending + record_size > self.config.write_bytes_pending_max {
            return Err(LogError::Backpressure { pending_bytes: pending });
        }
        let open = self.segments.back().expect("open segment");
        let end_offset = meta.base_offset + u64::from(meta.message_count);
        let open_at = OpenSegmentEnd {
            base_offset: open.base_offset,
            end_bytes: open.log.end(),
            empty: open.entries.is_empty(),
        };
        if open_at.rotates(self.config.segment_size_bytes, record_size, end_offset) {
            self.rotate(storage)?;
        }
        self.append_record(op, meta, payload);
        self.pump(storage);
        self.evict_cache();
        Ok(self.next_offset)
    }

    fn staged_bytes(&self) -> u64 {
        self.segments.back().map_or(0, |segment| segment.log.staged_bytes() as u64)
    }

    fn append_record(&mut self, op: u64, meta: BatchMeta, payload: Bytes) {
        let segment = self.segments.back_mut().expect("open segment");
        assert!(!segment.sealed, "appending to a sealed segment");
        let position = segment.log.end();
        let size_before = segment.size_bytes();
        let header_bytes = encode_header(op, &meta, position, &payload);
        let header = parse_header(&header_bytes).expect("freshly encoded header parses");
        segment.log.append(&header_bytes, &mut self.log_pool, &mut self.ledger);
        segment.log.append(&payload, &mut self.log_pool, &mut self.ledger);
        self.running_max_timestamp_us = self.running_max_timestamp_us.max(meta.max_timestamp_us);
        let entry = Entry {
            relative_offset: u32::try_from(meta.base_offset - segment.base_offset)
                .expect("a segment holds fewer than 2^32 offsets"),
            message_count: meta.message_count,
            position_bytes: u32::try_from(position).expect("segment positions fit u32"),
            size_bytes: u32::try_from(header.record_size_bytes()).expect("bounded record"),
            op,
            max_timestamp_us: meta.max_timestamp_us,
            running_max_timestamp_us: self.running_max_timestamp_us,
            fault: None,
        };
        let slot = segment.entries.len() as u64;
        let running_before = segment.time_running_max_us;
        segment.time_running_max_us = running_before.max(meta.max_timestamp_us);
        segment.index.append(
            &offset_index_entry(&entry).encode(slot),
            &mut self.index_pool,
            &mut self.ledger,
        );
        segment.time_index.append(
            &time_index_entry(&entry, running_before).encode(slot),
            &mut self.index_pool,
            &mut self.ledger,
        );
        segment.entries.push(entry);
        self.size_bytes += segment.size_bytes() - size_before;
        let base = segment.base_offset;
        self.busy.insert(base);
        self.cache.push(base, StoredBatch { header, payload });
        self.next_offset = meta.base_offset + u64::from(meta.message_count);
        self.last_op = op;
    }

    /// Seals the open segment (its staged tails are queued for writing) and opens a new
    /// one at `next_offset`.
    fn rotate<S: Storage + ?Sized>(&mut self, storage: &mut S) -> Result<(), LogError> {
        let files = create_segment_files(storage, &self.config, self.next_offset)?;
        let segment = self.segments.back_mut().expect("open segment");
        for writer in segment.writers_mut() {
            writer.flush_tail(&mut self.ledger);
        }
        segment.log.release_staging(&mut self.log_pool);
        segment.index.release_staging(&mut self.index_pool);
        segment.time_index.release_staging(&mut self.index_pool);
        segment.sealed = true;
        self.busy.insert(segment.base_offset);
        let chunk = self.config.write_chunk_bytes;
        self.segments.push_back(Segment::new(self.next_offset, files, Vec::new(), 0, chunk));
        Ok(())
    }

    /// Starts making every batch appended so far durable. Returns the `next_offset` that
    /// [`Self::durable_next_offset`] reaches when it completes. A flush requested while
    /// another runs is started after it (requests coalesce).
    pub fn flush<S: Storage + ?Sized>(&mut self, storage: &mut S) -> Result<u64, LogError> {
        self.check_failed()?;
        let segment = self.segments.back_mut().expect("open segment");
        for writer in segment.writers_mut() {
            writer.flush_tail(&mut self.ledger);
        }
        if !segment.is_idle() {
            self.busy.insert(segment.base_offset);
        }
        let request =
            FlushRequest { next_offset: self.next_offset, barrier_seq: self.ledger.next_seq() };
        if self.flush.active.is_none() {
            self.flush.active = Some((request, FlushPhase::Writing));
        } else {
            self.flush.pending = Some(request);
        }
        self.advance_flush();
        self.pump(storage);
        Ok(self.next_offset)
    }

    /// Moves the flush state machine as far as completed I/O allows.
    fn advance_flush(&mut self) {
        loop {
            let Some((request, phase)) = &mut self.flush.active else { return };
            match phase {
                FlushPhase::Writing => {
                    if !self.ledger.writes_complete_below(request.barrier_seq) {
                        return;
                    }
                    let mut to_submit = Vec::new();
                    for segment in &mut self.segments {
                        let base = segment.base_offset;
                        for kind in [SegmentFile::Log, SegmentFile::Index, SegmentFile::TimeIndex] {
                            let writer = segment.writer_mut(kind);
                            if writer.dirty {
                                writer.dirty = false;
                                to_submit.push((base, kind));
                            }
                        }
                    }
                    *phase = FlushPhase::Syncing { to_submit, in_flight: 0 };
                }
                FlushPhase::Syncing { to_submit, in_flight } => {
                    if !to_submit.is_empty() || *in_flight > 0 {
                        return;
                    }
                    self.durable_next_offset = self.durable_next_offset.max(request.next_offset);
                    self.flush.active = self.flush.pending.take().map(|r| (r, FlushPhase::Writing));
                }
            }
        }
    }

    /// Submits queued writes and syncs while the log's in-flight bound and the storage's
    /// capacity allow. Called by every method that queues I/O; call it after freeing
    /// capacity of a shared storage.
    pub fn pump<S: Storage + ?Sized>(&mut self, storage: &mut S) {
        if self.failure.is_some() {
            return;
        }
        let in_flight_max = self.config.io_in_flight_max as usize;
        let mut next_busy = self.busy.first().copied();
        'segments: while let Some(base) = next_busy {
            next_busy = self.busy.range((Excluded(base), Unbounded)).next().copied();
            let index = self.segment_position(base).expect("busy segment exists");
            for file in [SegmentFile::Log, SegmentFile::Index, SegmentFile::TimeIndex] {
                loop {
                    if self.ledger.in_flight_count() >= in_flight_max
                        || storage.submit_capacity() == 0
                    {
                        break 'segments;
                    }
                    let writer = self.segments[index].writer_mut(file);
                    let Some(write) = writer.pop_submittable() else { break };
                    let token = self.ledger.token(write.seq);
                    let length_bytes = write.buffer.len() as u64;
                    let request = IoRequest::Write {
                        file: writer.file,
                        offset_bytes: write.offset_bytes,
                        buffer: write.buffer,
                    };
                    storage.submit(token, request).expect("write to an open file with capacity");
                    let kind = IoKind::Write { seq: write.seq, length_bytes };
                    self.ledger
                        .submitted(token, InFlightIo { segment_base_offset: base, file, kind });
                }
            }
        }
        self.pump_syncs(storage);
    }

    fn pump_syncs<S: Storage + ?Sized>(&mut self, storage: &mut S) {
        let in_flight_max = self.config.io_in_flight_max as usize;
        let Some((_, FlushPhase::Syncing { to_submit, in_flight })) = &mut self.flush.active else {
            return;
        };
        while let Some(&(base, file)) = to_submit.last() {
            if self.ledger.in_flight_count() >= in_flight_max || storage.submit_capacity() == 0 {
                return;
            }
            to_submit.pop();
            // A segment deleted since (retention) needs no sync any more.
            let Some(index) = self.segments.binary_search_by_key(&base, |s| s.base_offset).ok()
            else {
                continue;
            };
            let seq = self.ledger.allocate();
            let token = self.ledger.token(seq);
            let handle = self.segments[index].file(file);
            storage.submit(token, IoRequest::Sync { file: handle }).expect("sync of an open file");
            self.ledger.submitted(
                token,
                InFlightIo { segment_base_offset: base, file, kind: IoKind::Sync },
            );
            *in_flight += 1;
        }
        self.advance_flush();
    }

    /// Handles the completion of one of this log's I/Os (`token_namespace(token)` equals
    /// this log's namespace) and submits whatever was waiting for it. A failed write or
    /// sync fails the log for good (returned here and by every later call).
    pub fn on_io_done<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        completion: Completion,
    ) -> Result<(), LogError> {
        let io = self.ledger.completed(completion.token);
        let index = self.segment_position(io.segment_base_offset);
        let index = index.expect("segments with I/O in flight are never deleted");
        match (io.kind, completion.result) {
            (IoKind::Write { seq, .. }, Ok(IoDone::Write(buffer))) => {
                let segment = &mut self.segments[index];
                segment.writer_mut(io.file).on_write_done(seq);
                if segment.is_idle() {
                    self.busy.remove(&segment.base_offset);
                }
                match io.file {
                    SegmentFile::Log => self.log_pool.give(buffer),
                    SegmentFile::Index | SegmentFile::TimeIndex => self.index_pool.give(buffer),
                }
            }
            (IoKind::Sync, Ok(IoDone::Sync)) => {
                let Some((_, FlushPhase::Syncing { in_flight, .. })) = &mut self.flush.active
                else {
                    panic!("sync completed outside a flush");
                };
                *in_flight -= 1;
            }
            (IoKind::Write { .. } | IoKind::Sync, Err(error)) => {
                self.failure.get_or_insert(error);
                return Err(LogError::Failed(error));
            }
            (kind, result) => panic!("completion {result:?} does not match the I/O {kind:?}"),
        }
        self.advance_flush();
        self.pump(storage);
        self.evict_cache();
        Ok(())
    }

    /// Drops cached batches beyond `cache_bytes_max`, oldest first, once written.
    fn evict_cache(&mut self) {
        while self.cache.payload_bytes() > self.config.cache_bytes_max {
            let Some(front) = self.cache.front() else { return };
            let end = front.batch.header.position_bytes + front.batch.header.record_size_bytes();
            let written = self
                .segment_position(front.segment_base_offset)
                .is_none_or(|index| self.segments[index].log.written_end() >= end);
            if !written {
                return;
            }
            self.cache.pop_front();
        }
    }

    /// Checks every structural invariant; panics on a violation (a bug).
    pub fn check_invariants(&self) {
        assert!(!self.segments.is_empty(), "no segment");
        let mut size = 0;
        for (i, segment) in self.segments.iter().enumerate() {
            segment.check_invariants();
            let last = i + 1 == self.segments.len();
            assert_eq!(segment.sealed, !last, "only the last segment is open");
            assert!(
                !segment.sealed || segment.writers().iter().all(|writer| !writer.holds_staging()),
                "sealed segment {} holds a staging chunk",
                segment.base_offset
            );
            if let Some(next) = self.segments.get(i + 1) {
                assert_eq!(segment.end_offset(), next.base_offset, "segments not contiguous");
            }
            assert!(
                segment.is_idle() || self.busy.contains(&segment.base_offset),
                "a segment with queued writes is not tracked as busy"
            );
            size += segment.size_bytes();
        }
        assert_eq!(size, self.size_bytes, "size not accounted");
        let last = self.segments.back().expect("open segment");
        assert_eq!(last.end_offset(), self.next_offset, "next_offset out of step");
        assert!(self.durable_next_offset <= self.next_offset, "durable beyond the end");
        assert!(self.cache.first_offset() >= self.first_offset(), "cache below the log");
        self.cache.check_invariants(self.next_offset);
        if let Some(header) = self.cache.last_header() {
            assert_eq!(header.op, self.last_op, "cache and log disagree on the last op");
        }
        self.ledger.check_invariants(self.config.io_in_flight_max);
        // Backpressure admits a record only below the bound; rotation and flush add at most
        // a partial chunk per file on top.
        let slack =
            3 * self.config.write_chunk_bytes.max(crate::partition::config::INDEX_CHUNK_BYTES);
        assert!(
            self.ledger.pending_write_bytes <= self.config.write_bytes_pending_max + slack as u64,
            "pending writes above their bound"
        );
    }
}

/// Where the open segment ends: enough to decide where the next record lands (the same
/// rule for appends and for the layout check of imported records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpenSegmentEnd {
    pub(crate) base_offset: u64,
    pub(crate) end_bytes: u64,
    pub(crate) empty: bool,
}

impl OpenSegmentEnd {
    /// True if a record of `record_size` bytes ending at `end_offset` opens a new segment:
    /// the open one would grow past `segment_size_bytes`, or span 2^32 offsets (relative
    /// offsets are u32). An empty segment takes any record.
    pub(crate) fn rotates(
        &self,
        segment_size_bytes: u64,
        record_size: u64,
        end_offset: u64,
    ) -> bool {
        let full = self.end_bytes + record_size > segment_size_bytes;
        let offsets_full = end_offset - self.base_offset > u64::from(u32::MAX);
        !self.empty && (full || offsets_full)
    }
}

/// Creates (or empties) the three files of a new segment and preallocates its log.
pub(crate) fn create_segment_files<S: Storage + ?Sized>(
    storage: &mut S,
    config: &PartitionLogConfig,
    base_offset: u64,
) -> Result<[crate::storage::FileId; 3], StorageError> {
    let mut files = [crate::storage::FileId(0); 3];
    for (slot, kind) in files.iter_mut().zip(SegmentFileKind::ALL) {
        let name = segment_file_name(&config.directory, base_offset, kind);
        let file = storage.open(&name, OpenMode::Create)?;
        if storage.file_size(file)? > 0 {
            storage.set_file_size(file, 0)?;
        }
        *slot = file;
    }
    if config.preallocate {
        storage.set_file_size(files[0], config.segment_size_bytes)?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests;
