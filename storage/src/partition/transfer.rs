//! Moving stored records between replicas' logs (partition data catch-up).
//!
//! **Export** ([`export_records`]): the serving replica reads batches with the ordinary
//! read path ([`PartitionLog::read`], whose disk reads verify every record) and encodes a
//! bounded run of them, starting exactly at a record boundary, as on-disk records
//! (header with crc32c, then the batch): the same bytes its segment files hold.
//!
//! **Import** ([`PartitionLog::verify_import`], [`PartitionLog::import_records`]): the
//! catching-up replica checks the whole run *before* appending anything: every record
//! parses and its crc32c matches, offsets continue the log exactly (no gap, no overlap),
//! ops never decrease and stay at or below the checkpoint op, and each record's stored
//! Where the source's stored positions show a flush (a flush pads the log's tail to a
//! sector boundary), the importer flushes at the same record, so a log imported from
//! empty gets the source's exact layout (same positions, same rotation points). A log
//! that already held a prefix, or was reopened mid-fetch, may have padded elsewhere; its
//! records are still identical, at its own positions.
//! Corrupt or torn input is refused with a typed [`ImportError`] and leaves the log
//! untouched. Imported records are then appended like any batch (same op, same metadata,
//! same bytes), so indexes, cache and durability follow the usual path.

use bytes::Bytes;

use crate::partition::error::LogError;
use crate::partition::log::{OpenSegmentEnd, PartitionLog};
use crate::partition::record::{
    BatchMeta, RECORD_HEADER_SIZE, RecordError, StoredBatch, encode_header, parse_record,
};
use crate::storage::Storage;

fn round_up_sector(position: u64) -> u64 {
    position.next_multiple_of(crate::SECTOR_SIZE as u64)
}

/// Most records one import accepts (bounds the verification work per message).
pub const IMPORT_RECORDS_MAX: usize = 1 << 16;

/// An encoded run of records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportedRecords {
    /// The records, back to back.
    pub bytes: Vec<u8>,
    /// How many.
    pub count: u32,
    /// One past the last exported offset (the next export starts here).
    pub next_offset: u64,
}

/// Why a run could not be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// No batch starts at the requested offset (it is not a record boundary).
    #[error("no record starts at offset {0}")]
    Misaligned(u64),
}

/// Encodes batches (in offset order, as a read returned them) from `from_offset`: whole
/// records only, stopping before `end_offset`, before a record written by an op above
/// `op_max`, and before `bytes_max` bytes — but always at least one record if the first
/// one qualifies. Batches below `from_offset` are skipped.
pub fn export_records(
    batches: &[StoredBatch],
    from_offset: u64,
    end_offset: u64,
    op_max: u64,
    bytes_max: usize,
) -> Result<ExportedRecords, ExportError> {
    let mut out = ExportedRecords { next_offset: from_offset, ..ExportedRecords::default() };
    for batch in batches {
        let header = &batch.header;
        if header.end_offset() <= out.next_offset {
            continue;
        }
        if header.meta.base_offset != out.next_offset {
            if out.count == 0 {
                return Err(ExportError::Misaligned(from_offset));
            }
            break;
        }
        let size = RECORD_HEADER_SIZE + batch.payload.len();
        if header.end_offset() > end_offset
            || header.op > op_max
            || (out.count > 0 && out.bytes.len() + size > bytes_max)
        {
            break;
        }
        out.bytes.extend_from_slice(&encode_header(
            header.op,
            &header.meta,
            header.position_bytes,
            &batch.payload,
        ));
        out.bytes.extend_from_slice(&batch.payload);
        out.count += 1;
        out.next_offset = header.end_offset();
    }
    Ok(out)
}

/// One verified record, ready to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRecord {
    /// The source flushed right before it (a flush pads the log's tail to a sector
    /// boundary): flush before appending it to land at the same position.
    pub pad_before: bool,
    /// The op that wrote it.
    pub op: u64,
    /// Its metadata.
    pub meta: BatchMeta,
    /// The batch bytes.
    pub payload: Bytes,
}

/// Why records were refused. Nothing was appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Record `index` does not parse or its checksum does not match (corrupt or torn).
    #[error("record {index}: {error}")]
    Record {
        /// Its position in the run.
        index: usize,
        /// What is wrong.
        error: RecordError,
    },
    /// Record `index` does not start where the log (or the previous record) ends.
    #[error("record {index} starts at offset {found}, expected {expected}")]
    Discontinuous {
        /// Its position in the run.
        index: usize,
        /// The offset it had to start at.
        expected: u64,
        /// The offset it starts at.
        found: u64,
    },
    /// Record `index` was written by an op below the previous one or above the bound.
    #[error("record {index} has op {op} outside {min}..={max}")]
    Op {
        /// Its position in the run.
        index: usize,
        /// Its op.
        op: u64,
        /// Lowest acceptable.
        min: u64,
        /// Highest acceptable.
        max: u64,
    },
    /// Record `index` exceeds this log's payload bound.
    #[error("record {index} payload above the log's maximum")]
    TooLarge {
        /// Its position in the run.
        index: usize,
    },
    /// More than [`IMPORT_RECORDS_MAX`] records, or none.
    #[error("{0} records in one import")]
    Count(usize),
    /// Appending failed (after verification; the records before `appended` are in).
    #[error("append after {appended} records: {error}")]
    Append {
        /// Records appended before the failure.
        appended: usize,
        /// The log's error.
        error: LogError,
    },
}

impl PartitionLog {
    /// Verifies a run of records for appending at `next_offset` (see the module docs);
    /// nothing changes. `op_max` bounds the ops (the checkpoint being filled in).
    pub fn verify_import(
        &self,
        records: &Bytes,
        op_max: u64,
    ) -> Result<Vec<ImportedRecord>, ImportError> {
        let open = self.segments.back().expect("open segment");
        let mut at = OpenSegmentEnd {
            base_offset: open.base_offset,
            end_bytes: open.log.end(),
            empty: open.entries.is_empty(),
        };
        let mut next_offset = self.next_offset;
        let mut last_op = self.last_op;
        let mut imported = Vec::new();
        let mut rest = &records[..];
        while !rest.is_empty() {
            let index = imported.len();
            if index == IMPORT_RECORDS_MAX {
                return Err(ImportError::Count(index + 1));
            }
            let (header, payload) =
                parse_record(rest).map_err(|error| ImportError::Record { index, error })?;
            if header.meta.base_offset != next_offset {
                return Err(ImportError::Discontinuous {
                    index,
                    expected: next_offset,
                    found: header.meta.base_offset,
                });
            }
            if header.op < last_op || header.op > op_max {
                return Err(ImportError::Op { index, op: header.op, min: last_op, max: op_max });
            }
            if header.payload_size_bytes > self.config.record_payload_size_max {
                return Err(ImportError::TooLarge { index });
            }
            let size = header.record_size_bytes();
            let end_offset = header.end_offset();
            let segment_size = self.config.segment_size_bytes;
            let padded = OpenSegmentEnd { end_bytes: round_up_sector(at.end_bytes), ..at };
            let mut pad_before = false;
            if at.rotates(segment_size, size, end_offset) {
                at = OpenSegmentEnd { base_offset: next_offset, end_bytes: 0, empty: true };
            } else if header.position_bytes == 0 && padded.rotates(segment_size, size, end_offset) {
                // The source flushed (padding its tail) and then rotated.
                pad_before = true;
                at = OpenSegmentEnd { base_offset: next_offset, end_bytes: 0, empty: true };
            } else if header.position_bytes != at.end_bytes
                && header.position_bytes == padded.end_bytes
            {
                pad_before = true; // The source flushed just before this record.
                at = padded;
            }
            // Otherwise the record lands where this log's own history puts it: a log
            // kept from before (or reopened mid-fetch) padded at other points than the
            // source, so its positions may differ; the records themselves do not.
            at.end_bytes += size;
            at.empty = false;
            let start = records.len() - rest.len() + RECORD_HEADER_SIZE;
            imported.push(ImportedRecord {
                pad_before,
                op: header.op,
                meta: header.meta,
                payload: records.slice(start..start + payload.len()),
            });
            next_offset = end_offset;
            last_op = header.op;
            rest = &rest[usize::try_from(size).expect("bounded record")..];
        }
        if imported.is_empty() {
            return Err(ImportError::Count(0));
        }
        Ok(imported)
    }

    /// Verifies and appends a run of records (for owners that never meet backpressure
    /// inside one import; the node appends [`Self::verify_import`]'s output with its own
    /// backpressure handling). Returns the new `next_offset`.
    pub fn import_records<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        records: &Bytes,
        op_max: u64,
    ) -> Result<u64, ImportError> {
        let imported = self.verify_import(records, op_max)?;
        for (appended, record) in imported.into_iter().enumerate() {
            if record.pad_before {
                self.flush(storage).map_err(|error| ImportError::Append { appended, error })?;
            }
            self.append(storage, record.op, record.meta, record.payload)
                .map_err(|error| ImportError::Append { appended, error })?;
        }
        self.check_invariants();
        Ok(self.next_offset)
    }
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
mod tests;
