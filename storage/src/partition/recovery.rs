//! Opening a partition log: protocol-aware recovery of its segments.
//!
//! 1. List the directory; remove index files whose log is gone (orphans).
//! 2. Read and scan every segment's log file in full (`scan.rs`): records are checked by
//!    crc32c, position, offset and op. Reads that fail are retried sector by sector; the
//!    sectors that still fail are *unreadable*.
//! 3. Decide what is torn and what is faulty. The *torn tail* is everything after the last
//!    valid record of the whole log: bytes no valid record follows were never completely
//!    written, so nothing acknowledged as durable can be there, and they are cut (with any
//!    later segments). Every bad span *before* the last valid record — inside a segment, at
//!    the end of a sealed segment, or offsets missing between segments — is a *fault*: it
//!    is kept, reported in [`RecoveryReport::faults`], and reads of it fail with
//!    `ReadError::Faulty` until the consensus layer repairs or truncates it. An unreadable
//!    tail is never cut (its records may have been durable): open fails instead.
//! 4. Verify both index files against the records and rewrite any that disagree (missing,
//!    lagging, ahead, corrupt) from the log.
//! 5. fdatasync every file, so that everything the log now holds is durable.

use std::collections::{BTreeMap, VecDeque};

use crate::SECTOR_SIZE;
use crate::buffer::{AlignedBuffer, round_up};
use crate::partition::config::{PartitionLogConfig, RECOVERY_READ_BYTES, SEGMENT_SIZE_BYTES_MAX};
use crate::partition::error::OpenError;
use crate::partition::index::{IndexStop, OFFSET_INDEX_ENTRY_SIZE, parse_offset_index};
use crate::partition::ledger::IoLedger;
use crate::partition::log::{PartitionLog, create_segment_files};
use crate::partition::scan::{FaultKind, ScanItem, ScanStart, ScanTail, SegmentScan, scan_segment};
use crate::partition::segment::{
    Entry, Segment, SegmentFileKind, encode_offset_index, encode_time_index, segment_file_name,
};
use crate::partition::time_index::{TIME_INDEX_ENTRY_SIZE, parse_time_index};

const _: () = assert!(OFFSET_INDEX_ENTRY_SIZE == TIME_INDEX_ENTRY_SIZE);
use crate::storage::{Completion, FileId, IoDone, IoError, IoRequest, OpenMode, Storage, execute};

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments after recovery.
    pub segment_count: usize,
    /// The log's next offset after recovery.
    pub next_offset: u64,
    /// The torn tail that was cut, if any.
    pub torn_tail: Option<TornTail>,
    /// Faulty spans kept in the log (reads of them fail until repaired or truncated).
    pub faults: Vec<FaultReport>,
    /// Index files rewritten from the log.
    pub index_repairs: Vec<IndexRepair>,
    /// Files removed because their segment's log file is missing.
    pub orphans_removed: Vec<String>,
}

/// The cut torn tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// The segment cut.
    pub segment_base_offset: u64,
    /// Where it was cut (end of its last valid record).
    pub position_bytes: u64,
    /// Whether non-zero bytes were cut (a partially written record); false when the tail
    /// was lost entirely (only whole later segments or offsets vanished).
    pub garbage: bool,
    /// Later segments removed entirely.
    pub segments_removed: usize,
}

/// A faulty span of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultReport {
    /// Its segment.
    pub segment_base_offset: u64,
    /// Where it starts in the segment's log file.
    pub position_bytes: u64,
    /// Its length in the file.
    pub size_bytes: u64,
    /// First offset it covers.
    pub base_offset: u64,
    /// Offsets it covers (may be zero for damaged padding).
    pub message_count: u32,
    /// The op of the last valid record before it (its own op is at least this).
    pub op_min: u64,
    /// What is wrong.
    pub kind: FaultKind,
}

/// Which index file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexFile {
    /// `.index`.
    Offset,
    /// `.timeindex`.
    Time,
}

/// What was wrong with an index file before it was rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexProblem {
    /// The file did not exist.
    Missing,
    /// The file could not be read.
    Unreadable,
    /// A valid prefix, then fewer entries than records (appends not yet written).
    Lagging {
        /// Entries missing.
        entries_missing: u64,
    },
    /// All entries, then more (records cut since).
    Ahead {
        /// Extra entries.
        entries_extra: u64,
    },
    /// Entry `entry_index` is corrupt or disagrees with the log.
    Corrupt {
        /// The first bad entry.
        entry_index: u64,
    },
}

/// One rewritten index file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexRepair {
    /// The segment.
    pub segment_base_offset: u64,
    /// The file.
    pub file: IndexFile,
    /// What was wrong.
    pub problem: IndexProblem,
}

struct ScannedSegment {
    base_offset: u64,
    files: [FileId; 3],
    file_size_bytes: u64,
    scan: SegmentScan,
}

impl ScannedSegment {
    fn has_records(&self) -> bool {
        self.scan.items.iter().any(|item| matches!(item, ScanItem::Record(_)))
    }

    fn last_op(&self) -> Option<u64> {
        self.scan.items.iter().rev().find_map(|item| match item {
            ScanItem::Record(header) => Some(header.op),
            ScanItem::Fault { .. } => None,
        })
    }
}

struct Recovery<'a, S: Storage + ?Sized> {
    storage: &'a mut S,
    config: &'a PartitionLogConfig,
    ledger: IoLedger,
    others: &'a mut Vec<Completion>,
    report: RecoveryReport,
    /// The last log read's buffer, reused for the next segment (saves faulting in a
    /// segment's worth of fresh pages per segment).
    spare: Option<AlignedBuffer>,
}

impl PartitionLog {
    /// Opens (creating if empty) the log in `config.directory`, recovering as described in
    /// the module documentation. Completions of other owners' I/O that arrive meanwhile
    /// are appended to `others`.
    pub fn open<S: Storage + ?Sized>(
        storage: &mut S,
        config: PartitionLogConfig,
        others: &mut Vec<Completion>,
    ) -> Result<(Self, RecoveryReport), OpenError> {
        config.validate()?;
        let ledger = IoLedger::new(config.io_namespace);
        let mut recovery = Recovery {
            storage,
            config: &config,
            ledger,
            others,
            report: RecoveryReport::default(),
            spare: None,
        };
        let segments = recovery.run()?;
        let mut report = recovery.report;
        let log = Self::from_parts(config, segments);
        report.segment_count = log.segments.len();
        report.next_offset = log.next_offset;
        report.faults = log.faults();
        log.check_invariants();
        Ok((log, report))
    }

    /// Every faulty span currently in the log.
    #[must_use]
    pub fn faults(&self) -> Vec<FaultReport> {
        let mut faults = Vec::new();
        for segment in &self.segments {
            for entry in &segment.entries {
                if let Some(kind) = entry.fault {
                    faults.push(FaultReport {
                        segment_base_offset: segment.base_offset,
                        position_bytes: u64::from(entry.position_bytes),
                        size_bytes: u64::from(entry.size_bytes),
                        base_offset: segment.entry_base_offset(entry),
                        message_count: entry.message_count,
                        op_min: entry.op,
                        kind,
                    });
                }
            }
        }
        faults
    }
}

impl<S: Storage + ?Sized> Recovery<'_, S> {
    fn run(&mut self) -> Result<VecDeque<Segment>, OpenError> {
        let bases = self.list_segments()?;
        let mut scanned = Vec::with_capacity(bases.len());
        let mut op_min = 0;
        for base in bases {
            let segment = self.scan(base, op_min)?;
            op_min = segment.last_op().unwrap_or(op_min);
            scanned.push(segment);
        }
        if scanned.is_empty() {
            let files =
                create_segment_files(self.storage, self.config, self.config.initial_offset)?;
            let chunk = self.config.write_chunk_bytes;
            return Ok(VecDeque::from([Segment::new(
                self.config.initial_offset,
                files,
                Vec::new(),
                0,
                chunk,
            )]));
        }
        self.cut_torn_tail(&mut scanned)?;
        let mut segments = VecDeque::with_capacity(scanned.len());
        let mut running = 0;
        for i in 0..scanned.len() {
            let next_base = scanned.get(i + 1).map(|s| s.base_offset);
            let (entries, data_end) = build_entries(&scanned[i], next_base, &mut running)?;
            self.repair_indexes(&scanned[i], &entries)?;
            let chunk = self.config.write_chunk_bytes;
            let (base, files) = (scanned[i].base_offset, scanned[i].files);
            let segment = if next_base.is_some() {
                Segment::new_sealed(base, files, entries, data_end, chunk)
            } else {
                Segment::new(base, files, entries, data_end, chunk)
            };
            segments.push_back(segment);
        }
        let last = segments.back().expect("at least one segment");
        if self.config.preallocate {
            let file = last.log.file;
            if self.storage.file_size(file)? < self.config.segment_size_bytes {
                self.storage.set_file_size(file, self.config.segment_size_bytes)?;
            }
        }
        for segment in &segments {
            for kind in SegmentFileKind::ALL {
                let file = segment.file(kind.ledger_file());
                self.io(IoRequest::Sync { file })?;
            }
        }
        Ok(segments)
    }

    /// Segment base offsets that have a log file; removes orphaned index files.
    fn list_segments(&mut self) -> Result<Vec<u64>, OpenError> {
        let prefix = format!("{}/", self.config.directory);
        let mut found: BTreeMap<u64, Vec<SegmentFileKind>> = BTreeMap::new();
        for name in self.storage.list()? {
            let Some(file) = name.strip_prefix(&prefix) else { continue };
            if let Some((base, kind)) = SegmentFileKind::parse_file_name(file) {
                found.entry(base).or_default().push(kind);
            }
        }
        let mut bases = Vec::new();
        for (base, kinds) in found {
            if kinds.contains(&SegmentFileKind::Log) {
                bases.push(base);
                continue;
            }
            for kind in kinds {
                let name = segment_file_name(&self.config.directory, base, kind);
                self.storage.remove(&name)?;
                self.report.orphans_removed.push(name);
            }
        }
        Ok(bases)
    }

    fn scan(&mut self, base_offset: u64, op_min: u64) -> Result<ScannedSegment, OpenError> {
        let mut files = [FileId(0); 3];
        for (slot, kind) in files.iter_mut().zip(SegmentFileKind::ALL) {
            let name = segment_file_name(&self.config.directory, base_offset, kind);
            *slot = self.storage.open(&name, OpenMode::Create)?;
        }
        let file_size_bytes = self.storage.file_size(files[0])?;
        if file_size_bytes > SEGMENT_SIZE_BYTES_MAX {
            let name = segment_file_name(&self.config.directory, base_offset, SegmentFileKind::Log);
            return Err(OpenError::SegmentTooLarge { name, size_bytes: file_size_bytes });
        }
        let (buffer, unreadable) = self.read_log(files[0], file_size_bytes)?;
        let size = usize::try_from(file_size_bytes).expect("bounded");
        let bytes = buffer.as_deref().map_or(&[][..], |buffer| &buffer[..size]);
        let scan = scan_segment(bytes, &unreadable, ScanStart { base_offset, op_min });
        self.spare = buffer;
        Ok(ScannedSegment { base_offset, files, file_size_bytes, scan })
    }

    /// Reads a whole file; sectors that fail even when read alone are flagged unreadable
    /// (and read as zeros).
    /// Reads a whole log file in one I/O (no copy: the scan runs over the read buffer).
    /// If that fails, reads it again piecewise, and sector by sector where a piece fails;
    /// sectors that still fail are flagged unreadable (and read as zeros).
    fn read_log(
        &mut self,
        file: FileId,
        size_bytes: u64,
    ) -> Result<(Option<AlignedBuffer>, Vec<bool>), OpenError> {
        let size = usize::try_from(size_bytes).expect("bounded by SEGMENT_SIZE_BYTES_MAX");
        let mut unreadable = vec![false; size.div_ceil(SECTOR_SIZE)];
        if size == 0 {
            return Ok((None, unreadable));
        }
        let spare = self.spare.take().filter(|spare| spare.len() >= round_up(size));
        let buffer = spare.unwrap_or_else(|| AlignedBuffer::zeroed(round_up(size)));
        if let Ok(buffer) = self.read_into(file, 0, buffer)? {
            return Ok((Some(buffer), unreadable));
        }
        let mut bytes = AlignedBuffer::zeroed(round_up(size));
        for position in (0..size).step_by(RECOVERY_READ_BYTES) {
            let length = round_up(RECOVERY_READ_BYTES.min(size - position));
            if let Ok(buffer) = self.read(file, position, length)? {
                bytes[position..position + length].copy_from_slice(&buffer);
                continue;
            }
            for sector in (position..position + length).step_by(SECTOR_SIZE) {
                match self.read(file, sector, SECTOR_SIZE)? {
                    Ok(buffer) => bytes[sector..sector + SECTOR_SIZE].copy_from_slice(&buffer),
                    Err(_) => unreadable[sector / SECTOR_SIZE] = true,
                }
            }
        }
        Ok((Some(bytes), unreadable))
    }

    fn read(
        &mut self,
        file: FileId,
        offset: usize,
        length: usize,
    ) -> Result<Result<AlignedBuffer, IoError>, OpenError> {
        self.read_into(file, offset, AlignedBuffer::zeroed(length))
    }

    fn read_into(
        &mut self,
        file: FileId,
        offset: usize,
        buffer: AlignedBuffer,
    ) -> Result<Result<AlignedBuffer, IoError>, OpenError> {
        let request = IoRequest::Read { file, offset_bytes: offset as u64, buffer };
        let seq = self.ledger.allocate();
        let token = self.ledger.token(seq);
        Ok(match execute(self.storage, token, request, self.others)? {
            Ok(IoDone::Read(buffer)) => Ok(buffer),
            Ok(other) => panic!("read completed as {other:?}"),
            Err(error) => Err(error),
        })
    }

    fn io(&mut self, request: IoRequest) -> Result<(), OpenError> {
        let seq = self.ledger.allocate();
        let token = self.ledger.token(seq);
        execute(self.storage, token, request, self.others)?.map(|_| ()).map_err(OpenError::Io)
    }

    /// Cuts everything after the last valid record of the log (see the module docs).
    fn cut_torn_tail(&mut self, scanned: &mut Vec<ScannedSegment>) -> Result<(), OpenError> {
        let last_valid = scanned.iter().rposition(ScannedSegment::has_records).unwrap_or(0);
        for segment in &scanned[last_valid..] {
            if let ScanTail::Garbage { position_bytes, unreadable: true, .. } = segment.scan.tail {
                return Err(OpenError::UnreadableTail {
                    segment_base_offset: segment.base_offset,
                    position_bytes,
                });
            }
        }
        let end_offset = last_end_offset(&scanned[last_valid]);
        // A trailing, empty, clean segment at exactly the right base is the open segment of
        // a log that rotated and had not appended yet: nothing is torn.
        let trailing = &scanned[last_valid + 1..];
        let clean_open = trailing.len() == 1
            && trailing[0].base_offset == end_offset
            && trailing[0].scan.items.is_empty()
            && trailing[0].scan.tail == ScanTail::Clean;
        let keep = if clean_open { last_valid + 2 } else { last_valid + 1 };
        let removed: Vec<ScannedSegment> = scanned.drain(keep..).collect();
        for segment in &removed {
            for (file, kind) in segment.files.iter().zip(SegmentFileKind::ALL) {
                self.storage.close(*file)?;
                self.storage.remove(&segment_file_name(
                    &self.config.directory,
                    segment.base_offset,
                    kind,
                ))?;
            }
        }
        // Bad bytes after the log's last valid record are the torn tail itself.
        let torn = &mut scanned[last_valid];
        let garbage = matches!(torn.scan.tail, ScanTail::Garbage { .. });
        if garbage {
            let cut = torn.scan.data_end_bytes;
            self.storage.set_file_size(torn.files[0], cut)?;
            torn.file_size_bytes = cut;
            torn.scan.tail = ScanTail::Clean;
        }
        if garbage || !removed.is_empty() {
            self.report.torn_tail = Some(TornTail {
                segment_base_offset: torn.base_offset,
                position_bytes: torn.scan.data_end_bytes,
                garbage,
                segments_removed: removed.len(),
            });
        }
        Ok(())
    }

    /// Rewrites an index file that disagrees with `entries`.
    fn repair_indexes(
        &mut self,
        segment: &ScannedSegment,
        entries: &[Entry],
    ) -> Result<(), OpenError> {
        let offset_bytes = encode_offset_index(entries);
        let time_bytes = encode_time_index(entries);
        let targets = [
            (IndexFile::Offset, segment.files[1], offset_bytes),
            (IndexFile::Time, segment.files[2], time_bytes),
        ];
        for (which, file, expected) in targets {
            let size = self.storage.file_size(file)?;
            let problem = if size == 0 && !expected.is_empty() {
                Some(IndexProblem::Missing)
            } else {
                let read_length = round_up(
                    usize::try_from(size)
                        .unwrap_or(usize::MAX)
                        .min(expected.len() + SECTOR_SIZE)
                        .max(1),
                );
                match self.read(file, 0, read_length)? {
                    Err(_) => Some(IndexProblem::Unreadable),
                    Ok(buffer) => {
                        let stored =
                            &buffer[..usize::try_from(size).unwrap_or(usize::MAX).min(read_length)];
                        index_problem(which, stored, &expected)
                    }
                }
            };
            let Some(problem) = problem else { continue };
            if !expected.is_empty() {
                let buffer = AlignedBuffer::from_slice(&expected);
                self.io(IoRequest::Write { file, offset_bytes: 0, buffer })?;
            }
            self.storage.set_file_size(file, expected.len() as u64)?;
            self.report.index_repairs.push(IndexRepair {
                segment_base_offset: segment.base_offset,
                file: which,
                problem,
            });
        }
        Ok(())
    }
}

/// Compares a stored index file with the expected one; `None` when it is intact.
fn index_problem(which: IndexFile, stored: &[u8], expected: &[u8]) -> Option<IndexProblem> {
    // Both index files have entries of one size (asserted below), compared slot by slot.
    let entry_size = OFFSET_INDEX_ENTRY_SIZE;
    let expected_count = (expected.len() / entry_size) as u64;
    let (count, stop) = match which {
        IndexFile::Offset => {
            let (e, s) = parse_offset_index(stored);
            (e.len() as u64, s)
        }
        IndexFile::Time => {
            let (e, s) = parse_time_index(stored);
            (e.len() as u64, s)
        }
    };
    let compared = usize::try_from(count.min(expected_count)).expect("bounded") * entry_size;
    if stored[..compared] != expected[..compared] {
        let first_bad = stored[..compared]
            .chunks(entry_size)
            .zip(expected.chunks(entry_size))
            .position(|(a, b)| a != b);
        return Some(IndexProblem::Corrupt {
            entry_index: first_bad.expect("a chunk differs") as u64,
        });
    }
    match (count.cmp(&expected_count), stop) {
        (std::cmp::Ordering::Equal, IndexStop::End) => None,
        (std::cmp::Ordering::Less, IndexStop::End) => {
            Some(IndexProblem::Lagging { entries_missing: expected_count - count })
        }
        (std::cmp::Ordering::Greater, _) => {
            Some(IndexProblem::Ahead { entries_extra: count - expected_count })
        }
        (_, IndexStop::Corrupt { entry_index }) => Some(IndexProblem::Corrupt { entry_index }),
    }
}

fn last_end_offset(segment: &ScannedSegment) -> u64 {
    segment
        .scan
        .items
        .iter()
        .rev()
        .find_map(|item| match item {
            ScanItem::Record(header) => Some(header.end_offset()),
            ScanItem::Fault { .. } => None,
        })
        .unwrap_or(segment.base_offset)
}

/// The entries of a kept segment and its data end. Faults take their offsets from the
/// records around them; a sealed segment's bad tail or missing offsets run up to the next
/// segment's base.
fn build_entries(
    segment: &ScannedSegment,
    next_base: Option<u64>,
    running: &mut u64,
) -> Result<(Vec<Entry>, u64), OpenError> {
    let base = segment.base_offset;
    let mut entries = Vec::with_capacity(segment.scan.items.len());
    let mut offset = base;
    let mut op = 0;
    let items = &segment.scan.items;
    let relative = |offset: u64| u32::try_from(offset - base).expect("segment offsets fit u32");
    for (i, item) in items.iter().enumerate() {
        match *item {
            ScanItem::Record(header) => {
                *running = (*running).max(header.meta.max_timestamp_us);
                entries.push(Entry {
                    relative_offset: relative(header.meta.base_offset),
                    message_count: header.meta.message_count,
                    position_bytes: u32::try_from(header.position_bytes).expect("bounded"),
                    size_bytes: u32::try_from(header.record_size_bytes()).expect("bounded"),
                    op: header.op,
                    max_timestamp_us: header.meta.max_timestamp_us,
                    running_max_timestamp_us: *running,
                    fault: None,
                });
                offset = header.end_offset();
                op = header.op;
            }
            ScanItem::Fault { position_bytes, end_bytes, kind } => {
                let Some(ScanItem::Record(next)) = items.get(i + 1) else {
                    panic!("a scan fault is always followed by a record");
                };
                entries.push(fault_entry(
                    relative(offset),
                    next.meta.base_offset - offset,
                    position_bytes,
                    end_bytes - position_bytes,
                    op,
                    *running,
                    kind,
                ));
                offset = next.meta.base_offset;
            }
        }
    }
    let mut data_end = segment.scan.data_end_bytes;
    if let Some(next_base) = next_base {
        if offset > next_base {
            return Err(OpenError::SegmentOverlap {
                segment_base_offset: base,
                next_base_offset: next_base,
            });
        }
        if next_base - base > u64::from(u32::MAX) {
            return Err(OpenError::SegmentGap {
                segment_base_offset: base,
                next_base_offset: next_base,
            });
        }
        let tail = match segment.scan.tail {
            ScanTail::Garbage { position_bytes, kind, .. } => {
                Some((position_bytes, segment.file_size_bytes - position_bytes, kind))
            }
            ScanTail::Clean if offset < next_base => Some((data_end, 0, FaultKind::Missing)),
            ScanTail::Clean => None,
        };
        if let Some((position, size, kind)) = tail {
            entries.push(fault_entry(
                relative(offset),
                next_base - offset,
                position,
                size,
                op,
                *running,
                kind,
            ));
            data_end = position + size;
        }
    }
    Ok((entries, data_end))
}

fn fault_entry(
    relative_offset: u32,
    count: u64,
    position: u64,
    size: u64,
    op: u64,
    running: u64,
    kind: FaultKind,
) -> Entry {
    Entry {
        relative_offset,
        message_count: u32::try_from(count).expect("fault spans fewer than 2^32 offsets"),
        position_bytes: u32::try_from(position).expect("bounded"),
        size_bytes: u32::try_from(size).expect("bounded"),
        op,
        max_timestamp_us: 0,
        running_max_timestamp_us: running,
        fault: Some(kind),
    }
}
