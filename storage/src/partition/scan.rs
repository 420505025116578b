//! Scanning one segment's log file: the pure, total heart of recovery (and a fuzz target).
//!
//! The scan walks records from position 0, expecting each to start where the previous one
//! ended (or at the next sector boundary after zero padding, see `writer::TailPolicy::Pad`),
//! with a valid checksum, its own position in the header, the next expected offset and a
//! non-decreasing op. At the first bad spot it looks for the next valid record anywhere
//! later in the file (a byte-by-byte resync on the magic, confirmed by the checksum and the
//! record's stored position). If one exists, the bad span is a *fault* in the middle of the
//! segment — reported, never cut. If none exists, the scan ends with a *garbage tail*, and
//! the caller decides (knowing the later segments) whether it is a torn tail that may be
//! cut or a fault followed by valid data elsewhere.

use crate::SECTOR_SIZE;
use crate::partition::record::{
    RECORD_HEADER_SIZE, RECORD_MAGIC, RecordError, RecordHeader, parse_header, parse_record,
};

/// Why a span of a segment is not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Bytes that do not parse or fail the checksum.
    Corrupt(RecordError),
    /// A valid record whose stored position is elsewhere: a misdirected write.
    Misdirected {
        /// The position the record claims.
        claimed_position_bytes: u64,
    },
    /// A valid record with an unexpected base offset or a smaller op than its predecessor.
    OutOfSequence,
    /// The device failed to read a sector of the span (latent sector error).
    Unreadable,
    /// Offsets between two segments that no bytes account for (lost writes).
    Missing,
}

/// One item of a scanned segment, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanItem {
    /// A valid record.
    Record(RecordHeader),
    /// A bad span followed, later in this file, by a valid record.
    Fault {
        /// Start of the span.
        position_bytes: u64,
        /// End of the span (start of the next valid record).
        end_bytes: u64,
        /// What is wrong with its first bytes.
        kind: FaultKind,
    },
}

/// How a scanned file ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanTail {
    /// At end of file, or zeros up to it.
    Clean,
    /// Bad bytes from `position_bytes` with no valid record after them in this file.
    Garbage {
        /// Where the bad bytes start.
        position_bytes: u64,
        /// What is wrong with them.
        kind: FaultKind,
        /// Whether an unreadable sector lies in the tail (then it cannot be proven torn).
        unreadable: bool,
    },
}

/// The result of scanning one segment's log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentScan {
    /// Records and faults in file order.
    pub items: Vec<ScanItem>,
    /// End of the last item (where a garbage tail starts, if any).
    pub data_end_bytes: u64,
    /// How the file ends.
    pub tail: ScanTail,
}

/// What the scan expects of the first record.
#[derive(Debug, Clone, Copy)]
pub struct ScanStart {
    /// The segment's base offset (the first record's base offset).
    pub base_offset: u64,
    /// The op of the last record of the previous segment (ops never decrease).
    pub op_min: u64,
}

struct Scanner<'a> {
    /// The segment's base offset: a record's offsets must stay within 2^32 of it.
    base_offset: u64,
    bytes: &'a [u8],
    /// One flag per sector of `bytes`; true where the read failed (bytes are zero there).
    unreadable: &'a [bool],
}

impl Scanner<'_> {
    /// Offsets of the record are addressable relative to the segment (u32 relative offsets).
    fn fits(&self, header: &RecordHeader) -> bool {
        header.meta.base_offset >= self.base_offset
            && u32::try_from(header.end_offset() - self.base_offset).is_ok()
    }

    fn any_unreadable(&self, start: u64, end: u64) -> bool {
        if start >= end {
            return false;
        }
        let first = usize::try_from(start / SECTOR_SIZE as u64).unwrap_or(usize::MAX);
        let last = usize::try_from((end - 1) / SECTOR_SIZE as u64).unwrap_or(usize::MAX);
        let last = last.min(self.unreadable.len().saturating_sub(1));
        first < self.unreadable.len() && self.unreadable[first..=last].iter().any(|&bad| bad)
    }

    fn is_zero(&self, start: usize, end: usize) -> bool {
        self.bytes[start..end].iter().all(|&b| b == 0)
            && !self.any_unreadable(start as u64, end as u64)
    }

    /// The record at `position`, checked against expectations.
    fn record_at(
        &self,
        position: usize,
        offset: u64,
        op_min: u64,
    ) -> Result<RecordHeader, FaultKind> {
        let rest = &self.bytes[position..];
        let header_end = (position + RECORD_HEADER_SIZE).min(self.bytes.len()) as u64;
        if self.any_unreadable(position as u64, header_end) {
            return Err(FaultKind::Unreadable);
        }
        let header = parse_header(rest).map_err(FaultKind::Corrupt)?;
        let end = position as u64 + header.record_size_bytes();
        if self.any_unreadable(position as u64, end.min(self.bytes.len() as u64)) {
            return Err(FaultKind::Unreadable);
        }
        parse_record(rest).map_err(FaultKind::Corrupt)?;
        if header.position_bytes != position as u64 {
            return Err(FaultKind::Misdirected { claimed_position_bytes: header.position_bytes });
        }
        if header.meta.base_offset != offset || header.op < op_min || !self.fits(&header) {
            return Err(FaultKind::OutOfSequence);
        }
        Ok(header)
    }

    /// The first valid record after `position` that could continue the log: checksum
    /// good, stored position equal to its actual position, offsets and op not going back.
    fn resync(&self, position: usize, offset: u64, op_min: u64) -> Option<(usize, RecordHeader)> {
        let magic = RECORD_MAGIC.to_le_bytes();
        let mut candidate = position + 1;
        while candidate + RECORD_HEADER_SIZE <= self.bytes.len() {
            let found = self.bytes[candidate..].windows(4).position(|window| window == magic)?;
            candidate += found;
            if let Some(header) = self.continuation_at(candidate, offset, op_min) {
                return Some((candidate, header));
            }
            candidate += 1;
        }
        None
    }

    fn continuation_at(&self, position: usize, offset: u64, op_min: u64) -> Option<RecordHeader> {
        // The cheap checks first: only the one position a record claims can hold it.
        let header = parse_header(&self.bytes[position..]).ok()?;
        if header.position_bytes != position as u64
            || header.meta.base_offset < offset
            || header.op < op_min
            || !self.fits(&header)
        {
            return None;
        }
        let end = position as u64 + header.record_size_bytes();
        if self.any_unreadable(position as u64, end.min(self.bytes.len() as u64)) {
            return None;
        }
        parse_record(&self.bytes[position..]).ok().map(|(header, _)| header)
    }
}

/// Scans a segment's log bytes. `unreadable` flags sectors whose read failed (their bytes
/// must be zero in `bytes`); it may be shorter than the file (missing flags are readable).
/// Total on any input.
#[must_use]
pub fn scan_segment(bytes: &[u8], unreadable: &[bool], start: ScanStart) -> SegmentScan {
    let scanner = Scanner { base_offset: start.base_offset, bytes, unreadable };
    let mut items = Vec::new();
    let mut position = 0_usize;
    let mut offset = start.base_offset;
    let mut op_min = start.op_min;
    let tail = loop {
        if position >= bytes.len() {
            break ScanTail::Clean;
        }
        if !position.is_multiple_of(SECTOR_SIZE) {
            let boundary = (position.div_ceil(SECTOR_SIZE) * SECTOR_SIZE).min(bytes.len());
            if scanner.is_zero(position, boundary) {
                position = boundary;
                continue;
            }
        }
        let header_end = (position + RECORD_HEADER_SIZE).min(bytes.len());
        if scanner.is_zero(position, header_end) && scanner.is_zero(position, bytes.len()) {
            break ScanTail::Clean;
        }
        match scanner.record_at(position, offset, op_min) {
            Ok(header) => {
                items.push(ScanItem::Record(header));
                position += usize::try_from(header.record_size_bytes()).expect("bounded");
                offset = header.end_offset();
                op_min = header.op;
            }
            Err(kind) => match scanner.resync(position, offset, op_min) {
                Some((next, header)) => {
                    items.push(ScanItem::Fault {
                        position_bytes: position as u64,
                        end_bytes: next as u64,
                        kind,
                    });
                    items.push(ScanItem::Record(header));
                    position = next + usize::try_from(header.record_size_bytes()).expect("bounded");
                    offset = header.end_offset();
                    op_min = header.op;
                }
                None => {
                    let unreadable = scanner.any_unreadable(position as u64, bytes.len() as u64);
                    break ScanTail::Garbage { position_bytes: position as u64, kind, unreadable };
                }
            },
        }
    };
    let data_end_bytes = match tail {
        ScanTail::Garbage { position_bytes, .. } => position_bytes,
        ScanTail::Clean => match items.last() {
            Some(ScanItem::Record(header)) => header.position_bytes + header.record_size_bytes(),
            Some(ScanItem::Fault { end_bytes, .. }) => *end_bytes,
            None => 0,
        },
    };
    SegmentScan { items, data_end_bytes, tail }
}

#[cfg(test)]
mod tests;
