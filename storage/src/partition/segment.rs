//! One segment in memory: its base offset, its three files (`.log`, `.index`,
//! `.timeindex`), their writers and the entry of every record (valid or faulty).

use crate::SECTOR_SIZE;
use crate::buffer::round_up;
use crate::partition::config::INDEX_CHUNK_BYTES;
use crate::partition::index::{OFFSET_INDEX_ENTRY_SIZE, OffsetIndexEntry};
use crate::partition::ledger::SegmentFile;
use crate::partition::scan::FaultKind;
use crate::partition::time_index::{TIME_INDEX_ENTRY_SIZE, TimeIndexEntry};
use crate::partition::writer::{FileWriter, TailPolicy};
use crate::storage::FileId;

/// File name of a segment file: `<directory>/<base_offset:020>.<extension>`.
#[must_use]
pub fn segment_file_name(directory: &str, base_offset: u64, file: SegmentFileKind) -> String {
    format!("{directory}/{base_offset:020}.{}", file.extension())
}

/// The three files of a segment, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFileKind {
    /// `.log`: the records.
    Log,
    /// `.index`: the offset index.
    Index,
    /// `.timeindex`: the time index.
    TimeIndex,
}

impl SegmentFileKind {
    pub(crate) const ALL: [Self; 3] = [Self::Log, Self::Index, Self::TimeIndex];

    /// The file extension.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Index => "index",
            Self::TimeIndex => "timeindex",
        }
    }

    /// Parses `<20 digits>.<extension>` into a base offset and kind.
    #[must_use]
    pub fn parse_file_name(name: &str) -> Option<(u64, Self)> {
        let (stem, extension) = name.split_once('.')?;
        let kind = Self::ALL.into_iter().find(|kind| kind.extension() == extension)?;
        let digits = stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| stem.parse().ok()).flatten().map(|base| (base, kind))
    }

    pub(crate) fn ledger_file(self) -> SegmentFile {
        match self {
            Self::Log => SegmentFile::Log,
            Self::Index => SegmentFile::Index,
            Self::TimeIndex => SegmentFile::TimeIndex,
        }
    }
}

/// One record of a segment as the log knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) relative_offset: u32,
    /// Messages covered; a faulty span may cover zero.
    pub(crate) message_count: u32,
    pub(crate) position_bytes: u32,
    pub(crate) size_bytes: u32,
    /// The op that appended it; for a faulty span, the op of the last valid record before it.
    pub(crate) op: u64,
    /// The record's own max timestamp (0 for a faulty span).
    pub(crate) max_timestamp_us: u64,
    /// Running maximum of `max_timestamp_us` over the whole log up to this entry: the
    /// monotone key of lookups by time.
    pub(crate) running_max_timestamp_us: u64,
    pub(crate) fault: Option<FaultKind>,
}

impl Entry {
    pub(crate) fn end_position_bytes(&self) -> u64 {
        u64::from(self.position_bytes) + u64::from(self.size_bytes)
    }
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base_offset: u64,
    pub(crate) entries: Vec<Entry>,
    pub(crate) log: FileWriter,
    pub(crate) index: FileWriter,
    pub(crate) time_index: FileWriter,
    pub(crate) sealed: bool,
    /// Largest record timestamp in the segment so far: the next time-index entry's floor.
    pub(crate) time_running_max_us: u64,
}

impl Segment {
    /// A segment over open files whose log's next record goes at `log_end_bytes` and whose
    /// index files hold exactly `entries`.
    pub(crate) fn new(
        base_offset: u64,
        files: [FileId; 3],
        entries: Vec<Entry>,
        log_end_bytes: u64,
        write_chunk_bytes: usize,
    ) -> Self {
        let index_bytes = encode_offset_index(&entries);
        let time_bytes = encode_time_index(&entries);
        let tail = |bytes: &[u8]| bytes.len() - bytes.len() % SECTOR_SIZE;
        let index = FileWriter::new(
            files[1],
            TailPolicy::Rewrite,
            INDEX_CHUNK_BYTES,
            index_bytes.len() as u64,
            &index_bytes[tail(&index_bytes)..],
        );
        let time_index = FileWriter::new(
            files[2],
            TailPolicy::Rewrite,
            INDEX_CHUNK_BYTES,
            time_bytes.len() as u64,
            &time_bytes[tail(&time_bytes)..],
        );
        let log_start = round_up(usize::try_from(log_end_bytes).expect("segment fits usize"));
        let log =
            FileWriter::new(files[0], TailPolicy::Pad, write_chunk_bytes, log_start as u64, &[]);
        let time_running_max_us = entries.iter().map(|e| e.max_timestamp_us).max().unwrap_or(0);
        Self { base_offset, entries, log, index, time_index, sealed: false, time_running_max_us }
    }

    /// A sealed segment over open files whose log ends at `log_end_bytes` and whose index
    /// files hold exactly `entries` (recovery): it is never appended to, so its writers
    /// hold no staging chunks (an open segment's two index chunks alone are
    /// `2 * INDEX_CHUNK_BYTES`; a restart must not pin that for every sealed segment).
    pub(crate) fn new_sealed(
        base_offset: u64,
        files: [FileId; 3],
        entries: Vec<Entry>,
        log_end_bytes: u64,
        write_chunk_bytes: usize,
    ) -> Self {
        let index_end = (entries.len() * OFFSET_INDEX_ENTRY_SIZE) as u64;
        let time_end = (entries.len() * TIME_INDEX_ENTRY_SIZE) as u64;
        let index =
            FileWriter::new_released(files[1], TailPolicy::Rewrite, INDEX_CHUNK_BYTES, index_end);
        let time_index =
            FileWriter::new_released(files[2], TailPolicy::Rewrite, INDEX_CHUNK_BYTES, time_end);
        let log_start = round_up(usize::try_from(log_end_bytes).expect("segment fits usize"));
        let log = FileWriter::new_released(
            files[0],
            TailPolicy::Pad,
            write_chunk_bytes,
            log_start as u64,
        );
        let time_running_max_us = entries.iter().map(|e| e.max_timestamp_us).max().unwrap_or(0);
        Self { base_offset, entries, log, index, time_index, sealed: true, time_running_max_us }
    }

    pub(crate) fn file(&self, kind: SegmentFile) -> FileId {
        self.writer(kind).file
    }

    pub(crate) fn writer(&self, kind: SegmentFile) -> &FileWriter {
        match kind {
            SegmentFile::Log => &self.log,
            SegmentFile::Index => &self.index,
            SegmentFile::TimeIndex => &self.time_index,
        }
    }

    pub(crate) fn writer_mut(&mut self, kind: SegmentFile) -> &mut FileWriter {
        match kind {
            SegmentFile::Log => &mut self.log,
            SegmentFile::Index => &mut self.index,
            SegmentFile::TimeIndex => &mut self.time_index,
        }
    }

    pub(crate) fn writers_mut(&mut self) -> [&mut FileWriter; 3] {
        [&mut self.log, &mut self.index, &mut self.time_index]
    }

    pub(crate) fn writers(&self) -> [&FileWriter; 3] {
        [&self.log, &self.index, &self.time_index]
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.writers().iter().all(|writer| writer.is_idle())
    }

    pub(crate) fn is_flushed(&self) -> bool {
        self.writers().iter().all(|writer| writer.is_flushed())
    }

    /// One past the last offset of the segment.
    pub(crate) fn end_offset(&self) -> u64 {
        self.entries.last().map_or(self.base_offset, |entry| {
            self.base_offset + u64::from(entry.relative_offset) + u64::from(entry.message_count)
        })
    }

    /// Bytes of the log file holding records (up to the end of the last one).
    pub(crate) fn size_bytes(&self) -> u64 {
        self.entries.last().map_or(0, Entry::end_position_bytes)
    }

    pub(crate) fn entry_base_offset(&self, entry: &Entry) -> u64 {
        self.base_offset + u64::from(entry.relative_offset)
    }

    /// Index of the entry holding `offset` (which must lie in the segment).
    pub(crate) fn find_entry(&self, offset: u64) -> usize {
        assert!(offset >= self.base_offset && offset < self.end_offset(), "offset outside");
        let relative = offset - self.base_offset;
        let index = self.entries.partition_point(|e| u64::from(e.relative_offset) <= relative);
        assert!(index > 0, "offset below the first entry");
        index - 1
    }

    /// Largest record timestamp of the valid entries (for retention by age).
    pub(crate) fn max_timestamp_us(&self) -> u64 {
        self.time_running_max_us
    }

    pub(crate) fn check_invariants(&self) {
        let mut relative = 0_u64;
        let mut position = 0_u64;
        let mut op = 0_u64;
        let mut running = 0_u64;
        for entry in &self.entries {
            assert_eq!(u64::from(entry.relative_offset), relative, "offsets not dense");
            assert!(entry.fault.is_some() || entry.message_count >= 1, "empty record");
            let start = u64::from(entry.position_bytes);
            assert!(start >= position, "records overlap");
            // Only zero padding up to a sector boundary, or a faulty span, separates records.
            assert!(start == position || start <= round_up(position as usize) as u64);
            assert!(entry.op >= op, "ops decrease");
            assert!(entry.running_max_timestamp_us >= running, "running max decreases");
            assert!(entry.running_max_timestamp_us >= entry.max_timestamp_us);
            relative += u64::from(entry.message_count);
            position = entry.end_position_bytes();
            op = entry.op;
            running = entry.running_max_timestamp_us;
        }
        let time_max = self.entries.iter().map(|entry| entry.max_timestamp_us).max();
        assert_eq!(time_max.unwrap_or(0), self.time_running_max_us, "time index floor");
        assert!(self.log.end() >= position, "log writer behind the records");
        let index_bytes = (self.entries.len() * OFFSET_INDEX_ENTRY_SIZE) as u64;
        assert_eq!(self.index.end(), index_bytes, "offset index out of step");
        assert_eq!(self.time_index.end(), (self.entries.len() * TIME_INDEX_ENTRY_SIZE) as u64);
        for writer in self.writers() {
            writer.check_invariants();
        }
    }
}

/// The offset-index file contents for `entries`.
pub(crate) fn encode_offset_index(entries: &[Entry]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * OFFSET_INDEX_ENTRY_SIZE);
    for (slot, entry) in (0_u64..).zip(entries) {
        bytes.extend_from_slice(&offset_index_entry(entry).encode(slot));
    }
    bytes
}

pub(crate) fn offset_index_entry(entry: &Entry) -> OffsetIndexEntry {
    OffsetIndexEntry {
        relative_offset: entry.relative_offset,
        position_bytes: entry.position_bytes,
        record_size_bytes: entry.size_bytes,
    }
}

/// The time-index file contents for `entries` (running maximum within the segment).
pub(crate) fn encode_time_index(entries: &[Entry]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * TIME_INDEX_ENTRY_SIZE);
    let mut running = 0;
    for (slot, entry) in (0_u64..).zip(entries) {
        running = time_index_entry(entry, running).timestamp_us;
        bytes.extend_from_slice(&time_index_entry(entry, running).encode(slot));
    }
    bytes
}

/// The time-index entry of `entry` given the segment's running maximum before it.
pub(crate) fn time_index_entry(entry: &Entry, running_before: u64) -> TimeIndexEntry {
    TimeIndexEntry {
        timestamp_us: running_before.max(entry.max_timestamp_us),
        relative_offset: entry.relative_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        let name = segment_file_name("s/1", 42, SegmentFileKind::TimeIndex);
        assert_eq!(name, "s/1/00000000000000000042.timeindex");
        let file = name.rsplit('/').next().unwrap();
        assert_eq!(SegmentFileKind::parse_file_name(file), Some((42, SegmentFileKind::TimeIndex)));
        assert_eq!(SegmentFileKind::parse_file_name("42.log"), None);
        assert_eq!(SegmentFileKind::parse_file_name("0000000000000000004x.log"), None);
        assert_eq!(SegmentFileKind::parse_file_name("00000000000000000042.tmp"), None);
        assert_eq!(SegmentFileKind::parse_file_name("99999999999999999999.log"), None, "overflow");
    }
}
