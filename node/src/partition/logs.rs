//! Opening partition logs: on first use (inside `apply`) and at restart, where the logs
//! are brought back to the checkpoint so that consensus can replay the journal on top.
//!
//! **Restart.** The checkpoint snapshot records, per partition, the log's `next_offset`
//! at the checkpoint op `C`; the driver flushed every log before writing it, so all of
//! it is durable. At restart each log is cut after `C` (`truncate_after_op`) and must end
//! at exactly that offset again. One case moves it: a purge (or retention) after `C` left
//! no record at or below `C` and a new empty segment further on; then the log is empty
//! and is recreated at the checkpoint's offset, because replay re-applies those
//! deletions anyway. A log that ends *below* the checkpoint's offset lost durable data:
//! the node stops and says so. Directories of partitions the snapshot does not know were
//! created after `C` and are wiped: replay recreates them.

use std::path::Path;

use vireo_storage::partition::segment::{SegmentFileKind, segment_file_name};
use vireo_storage::partition::{PartitionLog, PartitionLogConfig};
use vireo_storage::{Completion, Storage, StorageError};

use super::key::PartitionKey;
use crate::shard::disk::Disk;

/// Node-wide settings of every partition log of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// Recent bytes kept in memory per partition.
    pub cache_bytes_max: u64,
    /// Largest batch (the group's message size bounds it).
    pub record_payload_size_max: u32,
}

/// A log's configuration.
#[must_use]
pub fn log_config(
    settings: &LogSettings,
    group: u32,
    key: &PartitionKey,
    namespace: u32,
    segment_size: u64,
    preallocate: bool,
    initial_offset: u64,
) -> PartitionLogConfig {
    let mut config = PartitionLogConfig::new(key.directory(group), namespace);
    config.segment_size_bytes = segment_size;
    config.record_payload_size_max = settings.record_payload_size_max;
    config.cache_bytes_max = settings.cache_bytes_max;
    let record_max = u64::from(settings.record_payload_size_max) + 64;
    config.write_bytes_pending_max =
        config.write_bytes_pending_max.max(2 * (config.write_chunk_bytes as u64 + record_max));
    config.read_bytes_max = config
        .read_bytes_max
        .max(u32::try_from(record_max + 3 * vireo_storage::SECTOR_SIZE as u64).unwrap_or(u32::MAX));
    config.preallocate = preallocate;
    config.initial_offset = initial_offset;
    config
}

/// Why a log could not be opened or brought back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogOpenError {
    /// The storage crate refused to open it.
    #[error("partition {key:?}: {message}")]
    Open {
        /// The partition.
        key: PartitionKey,
        /// Why.
        message: String,
    },
    /// It ends below the checkpoint: durable data is missing.
    #[error(
        "partition {key:?} ends at offset {found} below its checkpoint's {expected}: \
         data that was flushed before the checkpoint is missing"
    )]
    Lost {
        /// The partition.
        key: PartitionKey,
        /// The checkpoint's next offset.
        expected: u64,
        /// The log's next offset after the cut.
        found: u64,
    },
}

/// Opens (or creates) a log, parking other owners' completions on the disk.
pub fn open_log(disk: &mut Disk, config: PartitionLogConfig) -> Result<PartitionLog, String> {
    let mut others: Vec<Completion> = Vec::new();
    let opened = PartitionLog::open(&mut disk.logs(), config, &mut others);
    for completion in others {
        disk.defer(completion);
    }
    match opened {
        Ok((log, report)) => {
            if report.torn_tail.is_some() || !report.faults.is_empty() {
                tracing::warn!(?report, "partition log recovered with repairs");
            }
            Ok(log)
        }
        Err(error) => Err(error.to_string()),
    }
}

/// Brings a log back to the checkpoint at `checkpoint_op` ending at `expected_next`.
pub fn restore_log(
    disk: &mut Disk,
    data_dir: &Path,
    key: PartitionKey,
    mut config: PartitionLogConfig,
    checkpoint_op: u64,
    expected_next: u64,
) -> Result<PartitionLog, LogOpenError> {
    let open_error = |message: String| LogOpenError::Open { key, message };
    config.initial_offset = expected_next;
    let mut log = open_log(disk, config.clone()).map_err(open_error)?;
    log.truncate_after_op(&mut disk.logs(), checkpoint_op)
        .map_err(|error| open_error(error.to_string()))?;
    let found = log.next_offset();
    if found == expected_next {
        return Ok(log);
    }
    let empty = log.segments().iter().all(|segment| segment.record_count == 0);
    if found > expected_next && empty {
        delete_log(disk, &log, &config.directory).map_err(open_error)?;
        remove_directory(data_dir, &config.directory).map_err(open_error)?;
        return open_log(disk, config).map_err(open_error);
    }
    Err(LogOpenError::Lost { key, expected: expected_next, found })
}

/// Removes every file of `log` through the storage (which also closes their handles).
/// The log must be quiet (no I/O in flight on its files).
pub fn delete_log(disk: &mut Disk, log: &PartitionLog, directory: &str) -> Result<(), String> {
    for segment in log.segments() {
        for kind in [SegmentFileKind::Log, SegmentFileKind::Index, SegmentFileKind::TimeIndex] {
            let name = segment_file_name(directory, segment.base_offset, kind);
            match disk.logs().remove(&name) {
                Ok(()) | Err(StorageError::NotFound(_)) => {}
                Err(error) => return Err(format!("remove {name}: {error}")),
            }
        }
    }
    Ok(())
}

/// Removes a partition directory and makes the removal durable.
pub fn remove_directory(data_dir: &Path, relative: &str) -> Result<(), String> {
    let path = data_dir.join(relative);
    match std::fs::remove_dir_all(&path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(format!("remove {}: {error}", path.display())),
    }
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)
            .and_then(|directory| directory.sync_all())
            .map_err(|error| format!("sync {}: {error}", parent.display()))?;
    }
    Ok(())
}

/// The partitions with a directory under this group's root.
pub fn list_directories(data_dir: &Path, group: u32) -> Result<Vec<PartitionKey>, String> {
    let root = data_dir.join(format!("partitions/g{group}"));
    let entries = match std::fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("list {}: {error}", root.display())),
    };
    let mut keys = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| format!("list {}: {error}", root.display()))?;
        let name = entry.file_name();
        match name.to_str().and_then(PartitionKey::from_directory_name) {
            Some(key) => keys.push(key),
            None => tracing::warn!(path = %entry.path().display(), "ignoring unknown entry"),
        }
    }
    keys.sort();
    Ok(keys)
}
