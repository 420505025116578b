//! Reads: by offset, by timestamp, first and last. Recent batches come from the in-memory
//! cache at once; older ones need one disk read, returned as a [`ReadPlan`] that the caller
//! executes with its own token, then [`ReadPlan::complete`] verifies every record (crc32c,
//! stored position, offsets) before returning it. A corrupt record is never served.

use bytes::Bytes;

use crate::SECTOR_SIZE;
use crate::buffer::{AlignedBuffer, round_up};
use crate::partition::error::ReadError;
use crate::partition::log::PartitionLog;
use crate::partition::record::{StoredBatch, parse_record};
use crate::storage::{FileId, IoRequest};

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStart {
    /// The batch holding this offset (offsets below the first stored one start at it).
    Offset(u64),
    /// The first batch holding a message with a timestamp at or after this (microseconds).
    Timestamp(u64),
    /// The first stored batch.
    First,
    /// The last batch.
    Last,
}

/// What a read gives.
#[derive(Debug)]
pub enum ReadOutcome {
    /// Batches served from memory, in offset order (at least one).
    Batches(Vec<StoredBatch>),
    /// Batches on disk: execute the plan's read, then call [`ReadPlan::complete`].
    Plan(ReadPlan),
    /// Nothing at or after the start.
    Empty,
}

#[derive(Debug, Clone, Copy)]
struct ExpectedRecord {
    position_bytes: u64,
    size_bytes: u64,
    base_offset: u64,
    message_count: u32,
}

/// One disk read covering whole records of one segment, and what it must contain.
#[derive(Debug)]
pub struct ReadPlan {
    /// The segment's log file (valid until retention deletes the segment).
    pub file: FileId,
    /// Sector-aligned start of the read.
    pub offset_bytes: u64,
    /// Sector-aligned length of the read.
    pub length_bytes: usize,
    segment_base_offset: u64,
    records: Vec<ExpectedRecord>,
}

/// Lets a read buffer back `Bytes` without a copy.
struct SectorBytes(AlignedBuffer);

impl AsRef<[u8]> for SectorBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl ReadPlan {
    /// The I/O to submit (with a buffer of `length_bytes`).
    #[must_use]
    pub fn request(&self) -> IoRequest {
        IoRequest::Read {
            file: self.file,
            offset_bytes: self.offset_bytes,
            buffer: AlignedBuffer::zeroed(self.length_bytes),
        }
    }

    /// Verifies and returns the planned records from the read buffer. The first record
    /// failing verification is an error if it is the first planned one; otherwise the
    /// verified records before it are returned (the next read starting there reports it).
    pub fn complete(&self, buffer: AlignedBuffer) -> Result<Vec<StoredBatch>, ReadError> {
        if buffer.len() != self.length_bytes {
            return Err(ReadError::BufferSize {
                expected: self.length_bytes,
                actual: buffer.len(),
            });
        }
        let bytes = Bytes::from_owner(SectorBytes(buffer));
        let mut batches = Vec::with_capacity(self.records.len());
        for expected in &self.records {
            match self.verify(&bytes, expected) {
                Ok(batch) => batches.push(batch),
                Err(error) if batches.is_empty() => return Err(error),
                Err(_) => break,
            }
        }
        Ok(batches)
    }

    fn verify(&self, bytes: &Bytes, expected: &ExpectedRecord) -> Result<StoredBatch, ReadError> {
        let start = usize::try_from(expected.position_bytes - self.offset_bytes).expect("planned");
        let end = start + usize::try_from(expected.size_bytes).expect("planned");
        let corrupt = |error| ReadError::Corrupt {
            segment_base_offset: self.segment_base_offset,
            position_bytes: expected.position_bytes,
            error,
        };
        let (header, payload) = parse_record(&bytes[start..end]).map_err(corrupt)?;
        let matches = header.position_bytes == expected.position_bytes
            && header.record_size_bytes() == expected.size_bytes
            && header.meta.base_offset == expected.base_offset
            && header.meta.message_count == expected.message_count;
        if !matches {
            return Err(ReadError::Mismatch {
                segment_base_offset: self.segment_base_offset,
                position_bytes: expected.position_bytes,
            });
        }
        let payload_start = end - payload.len();
        Ok(StoredBatch { header, payload: bytes.slice(payload_start..end) })
    }
}

impl PartitionLog {
    /// Reads batches from `start`, at least one and at most about `bytes_max` bytes of
    /// payload (capped by `read_bytes_max` for disk reads).
    pub fn read(&self, start: ReadStart, bytes_max: u32) -> Result<ReadOutcome, ReadError> {
        self.read_messages(start, bytes_max, u32::MAX)
    }

    /// As [`Self::read`], but also stops once the batches hold `messages_max` messages
    /// at or after the start. A poll asking for a few messages must not read (from
    /// disk, where every read is a fresh device read) megabytes it then discards.
    pub fn read_messages(
        &self,
        start: ReadStart,
        bytes_max: u32,
        messages_max: u32,
    ) -> Result<ReadOutcome, ReadError> {
        let Some(offset) = self.resolve(start) else { return Ok(ReadOutcome::Empty) };
        if offset >= self.next_offset {
            return Ok(ReadOutcome::Empty);
        }
        let limit = Limit { offset, bytes_max, messages_max };
        if offset >= self.cache.first_offset() {
            return Ok(ReadOutcome::Batches(self.cache.read(
                offset,
                u64::from(bytes_max),
                messages_max,
            )));
        }
        let limit = Limit { bytes_max: bytes_max.min(self.config.read_bytes_max), ..limit };
        self.plan(limit).map(ReadOutcome::Plan)
    }

    fn resolve(&self, start: ReadStart) -> Option<u64> {
        match start {
            ReadStart::Offset(offset) => Some(offset.max(self.first_offset())),
            ReadStart::First => Some(self.first_offset()),
            ReadStart::Last => {
                let segment = self.segments.iter().rev().find(|s| !s.entries.is_empty())?;
                let entry = segment.entries.last().expect("non-empty");
                Some(segment.entry_base_offset(entry))
            }
            ReadStart::Timestamp(timestamp_us) => {
                let key = |segment: &crate::partition::segment::Segment| {
                    segment.entries.last().map_or(u64::MAX, |e| e.running_max_timestamp_us)
                };
                let index = self.segments.partition_point(|s| key(s) < timestamp_us);
                let segment = self.segments.get(index)?;
                let entry =
                    segment.entries.partition_point(|e| e.running_max_timestamp_us < timestamp_us);
                segment.entries.get(entry).map(|e| segment.entry_base_offset(e))
            }
        }
    }

    fn plan(&self, limit: Limit) -> Result<ReadPlan, ReadError> {
        let Limit { offset, bytes_max, messages_max } = limit;
        let segment = &self.segments[self.segment_for_offset(offset)];
        let first = segment.find_entry(offset);
        let mut records = Vec::new();
        let mut start = None;
        let mut end = 0_u64;
        let mut messages = 0_u64;
        for entry in &segment.entries[first..] {
            let base_offset = segment.entry_base_offset(entry);
            if !records.is_empty() && messages >= u64::from(messages_max) {
                break;
            }
            if let Some(kind) = entry.fault {
                if records.is_empty() {
                    return Err(ReadError::Faulty {
                        base_offset,
                        end_offset: base_offset + u64::from(entry.message_count),
                        kind,
                    });
                }
                break;
            }
            if base_offset >= self.cache.first_offset() {
                break; // From here on the cache serves it.
            }
            let aligned_start = *start.get_or_insert(round_down(u64::from(entry.position_bytes)));
            let entry_end = entry.end_position_bytes();
            let length = round_up(usize::try_from(entry_end - aligned_start).expect("bounded"));
            if !records.is_empty() && length > bytes_max as usize {
                break;
            }
            assert!(entry_end <= segment.log.written_end(), "planned bytes not yet written");
            end = entry_end;
            messages += (base_offset + u64::from(entry.message_count))
                .saturating_sub(offset.max(base_offset));
            records.push(ExpectedRecord {
                position_bytes: u64::from(entry.position_bytes),
                size_bytes: u64::from(entry.size_bytes),
                base_offset,
                message_count: entry.message_count,
            });
        }
        let offset_bytes = start.expect("at least one planned record");
        let length_bytes = round_up(usize::try_from(end - offset_bytes).expect("bounded"));
        Ok(ReadPlan {
            file: segment.log.file,
            offset_bytes,
            length_bytes,
            segment_base_offset: segment.base_offset,
            records,
        })
    }
}

/// Where a read starts and when it stops.
#[derive(Debug, Clone, Copy)]
struct Limit {
    offset: u64,
    bytes_max: u32,
    messages_max: u32,
}

fn round_down(position: u64) -> u64 {
    position - position % SECTOR_SIZE as u64
}
