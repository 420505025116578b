//! Configuration of one partition log, validated once into [`PartitionLogConfig`] checks.
//! Every size, cache and in-flight bound of the log comes from here.

use crate::SECTOR_SIZE;
use crate::partition::record::{RECORD_HEADER_SIZE, RECORD_PAYLOAD_SIZE_MAX};

/// Largest segment: record positions are stored as `u32` in the offset index, and recovery
/// reads a whole segment into memory.
pub const SEGMENT_SIZE_BYTES_MAX: u64 = 1 << 30;
/// Smallest segment (one sector of records).
pub const SEGMENT_SIZE_BYTES_MIN: u64 = SECTOR_SIZE as u64;
/// Largest write the log submits in one I/O (its staging chunk size).
pub const WRITE_CHUNK_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Largest number of I/Os one log keeps in flight.
pub const IO_IN_FLIGHT_MAX: u32 = 1024;
/// Staging chunk of the two index files (index entries are small; 4096 entries per write).
pub const INDEX_CHUNK_BYTES: usize = 64 * 1024;
/// Recovery reads a log file in one I/O; when that fails it rereads it in pieces of this
/// size, and a failing piece sector by sector, to isolate unreadable sectors.
pub const RECOVERY_READ_BYTES: usize = 8 * 1024 * 1024;

const _: () = assert!(SEGMENT_SIZE_BYTES_MAX <= u32::MAX as u64);
const _: () = assert!(INDEX_CHUNK_BYTES.is_multiple_of(SECTOR_SIZE));
const _: () = assert!(RECOVERY_READ_BYTES.is_multiple_of(SECTOR_SIZE));

/// Settings of one partition log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLogConfig {
    /// Directory (relative to the storage root) holding this partition's segment files.
    pub directory: String,
    /// Token namespace: every I/O this log submits carries `IoToken(namespace << 32 | n)`.
    pub io_namespace: u32,
    /// A segment is sealed when the next record would take it past this size.
    pub segment_size_bytes: u64,
    /// Largest batch payload accepted by `append`.
    pub record_payload_size_max: u32,
    /// Size of each log write (the staging chunk); a multiple of the sector size.
    pub write_chunk_bytes: usize,
    /// Bytes of recent batches kept in memory beyond those not yet written.
    pub cache_bytes_max: u64,
    /// Bytes of writes queued or in flight before `append` reports backpressure.
    pub write_bytes_pending_max: u64,
    /// I/Os this log keeps in flight at once.
    pub io_in_flight_max: u32,
    /// Bytes one cold read plan covers at most (at least one whole record).
    pub read_bytes_max: u32,
    /// Preallocate each new segment's log file to `segment_size_bytes` (fallocate), so
    /// appends overwrite allocated extents instead of extending the file.
    pub preallocate: bool,
    /// Offset of the first message when the directory holds no segment yet.
    pub initial_offset: u64,
}

impl PartitionLogConfig {
    /// Defaults for a partition stored in `directory` with token namespace `io_namespace`.
    #[must_use]
    pub fn new(directory: impl Into<String>, io_namespace: u32) -> Self {
        Self {
            directory: directory.into(),
            io_namespace,
            segment_size_bytes: 256 * 1024 * 1024,
            record_payload_size_max: 8 * 1024 * 1024,
            write_chunk_bytes: 1024 * 1024,
            cache_bytes_max: 32 * 1024 * 1024,
            write_bytes_pending_max: 64 * 1024 * 1024,
            io_in_flight_max: 16,
            read_bytes_max: 16 * 1024 * 1024,
            preallocate: true,
            initial_offset: 0,
        }
    }

    /// Checks every bound and relation between settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::storage::validate_name(&self.directory)
            .map_err(|_| ConfigError::Directory(self.directory.clone()))?;
        if !(SEGMENT_SIZE_BYTES_MIN..=SEGMENT_SIZE_BYTES_MAX).contains(&self.segment_size_bytes) {
            return Err(ConfigError::SegmentSize(self.segment_size_bytes));
        }
        let record_max = RECORD_HEADER_SIZE as u64 + u64::from(self.record_payload_size_max);
        if self.record_payload_size_max > RECORD_PAYLOAD_SIZE_MAX
            || record_max > self.segment_size_bytes
        {
            return Err(ConfigError::RecordSize(self.record_payload_size_max));
        }
        if self.write_chunk_bytes == 0
            || !self.write_chunk_bytes.is_multiple_of(SECTOR_SIZE)
            || self.write_chunk_bytes > WRITE_CHUNK_BYTES_MAX
        {
            return Err(ConfigError::WriteChunk(self.write_chunk_bytes));
        }
        if self.io_in_flight_max < 4 || self.io_in_flight_max > IO_IN_FLIGHT_MAX {
            // Four: a log write, two index writes and a sync must fit at once.
            return Err(ConfigError::IoInFlight(self.io_in_flight_max));
        }
        if self.write_bytes_pending_max < self.write_chunk_bytes as u64 + record_max {
            return Err(ConfigError::WritePending(self.write_bytes_pending_max));
        }
        if u64::from(self.read_bytes_max) < record_max + 2 * SECTOR_SIZE as u64 {
            return Err(ConfigError::ReadSize(self.read_bytes_max));
        }
        Ok(())
    }
}

/// A setting out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The directory is not a valid storage-relative name.
    #[error("invalid partition directory {0:?}")]
    Directory(String),
    /// `segment_size_bytes` outside `SEGMENT_SIZE_BYTES_MIN..=SEGMENT_SIZE_BYTES_MAX`.
    #[error("segment_size_bytes {0} out of range")]
    SegmentSize(u64),
    /// A record of the largest payload would not fit a segment or exceeds the format limit.
    #[error("record_payload_size_max {0} out of range")]
    RecordSize(u32),
    /// `write_chunk_bytes` is zero, unaligned or above `WRITE_CHUNK_BYTES_MAX`.
    #[error("write_chunk_bytes {0} invalid")]
    WriteChunk(usize),
    /// `io_in_flight_max` outside `4..=IO_IN_FLIGHT_MAX`.
    #[error("io_in_flight_max {0} out of range")]
    IoInFlight(u32),
    /// `write_bytes_pending_max` cannot hold one chunk plus one largest record.
    #[error("write_bytes_pending_max {0} too small")]
    WritePending(u64),
    /// `read_bytes_max` cannot cover one largest record.
    #[error("read_bytes_max {0} too small")]
    ReadSize(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        let config = PartitionLogConfig::new("p/0", 1);
        assert_eq!(config.validate(), Ok(()));
        let mut bad = config.clone();
        bad.write_chunk_bytes = 1000;
        assert_eq!(bad.validate(), Err(ConfigError::WriteChunk(1000)));
        let mut bad = config.clone();
        bad.segment_size_bytes = SEGMENT_SIZE_BYTES_MAX + 1;
        assert!(matches!(bad.validate(), Err(ConfigError::SegmentSize(_))));
        let mut bad = config.clone();
        bad.directory = "../x".into();
        assert!(matches!(bad.validate(), Err(ConfigError::Directory(_))));
        let mut bad = config;
        bad.segment_size_bytes = 1 << 20;
        assert!(matches!(bad.validate(), Err(ConfigError::RecordSize(_))));
    }
}
