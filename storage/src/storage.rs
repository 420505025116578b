//! The `Storage` trait: how every on-disk structure reaches a disk.
//!
//! io_uring-shaped and simulator-friendly: the caller *submits* a positional read, write or
//! sync on an owned, sector-aligned buffer together with a token it chooses, and a
//! completion carrying that token (and the buffer) arrives later from `poll`/`wait`. No
//! method blocks on data I/O except `wait`. File management (open, remove, list, resize) is
//! synchronous: it is rare, and happens on start-up, segment rotation and retention.
//!
//! Three implementations: [`crate::MemoryStorage`] (fault-free, for unit tests), the
//! io_uring one for the node, and the simulator's faulty one.

use crate::buffer::AlignedBuffer;

/// A handle to an open file, valid until `close`/`remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// Caller-chosen identity of a submitted I/O, echoed in its completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IoToken(pub u64);

/// One positional I/O. Offsets and buffer lengths are multiples of [`crate::SECTOR_SIZE`].
#[derive(Debug)]
pub enum IoRequest {
    /// Read `buffer.len()` bytes at `offset_bytes`; bytes past the end of file read as zero.
    Read {
        /// Target file.
        file: FileId,
        /// Byte offset, sector-aligned.
        offset_bytes: u64,
        /// Destination; its length is the read length.
        buffer: AlignedBuffer,
    },
    /// Write the whole `buffer` at `offset_bytes`, growing the file if needed.
    Write {
        /// Target file.
        file: FileId,
        /// Byte offset, sector-aligned.
        offset_bytes: u64,
        /// Source bytes.
        buffer: AlignedBuffer,
    },
    /// Make every write to `file` completed before this submit durable (fdatasync).
    Sync {
        /// Target file.
        file: FileId,
    },
}

/// What a successful I/O gives back.
#[derive(Debug, Clone)]
pub enum IoDone {
    /// The filled buffer.
    Read(AlignedBuffer),
    /// The written buffer, returned for reuse.
    Write(AlignedBuffer),
    /// The sync finished.
    Sync,
}

/// Why an I/O failed. The buffer is lost with it; callers treat the range as unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IoError {
    /// The device reported an error (errno); a latent sector error reads as `EIO`.
    #[error("I/O error (errno {0})")]
    Device(i32),
    /// The file handle was closed or removed while the I/O was queued.
    #[error("file closed")]
    Closed,
}

/// A finished I/O.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The token given at submit.
    pub token: IoToken,
    /// Outcome.
    pub result: Result<IoDone, IoError>,
}

/// Errors of synchronous file management and of submission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The name is empty, absolute, or contains `..` or empty components.
    #[error("invalid file name {0:?}")]
    InvalidName(String),
    /// No such file (open without create, remove of a missing file).
    #[error("no such file {0:?}")]
    NotFound(String),
    /// The handle is not open.
    #[error("unknown file handle {0:?}")]
    UnknownFile(FileId),
    /// Offset or length is not sector-aligned (a caller bug surfaced as an error).
    #[error("unaligned I/O at {offset_bytes} of {length_bytes} bytes")]
    Unaligned {
        /// Offending offset.
        offset_bytes: u64,
        /// Offending length.
        length_bytes: usize,
    },
    /// The submission queue is full; poll completions and retry.
    #[error("submission queue full")]
    QueueFull,
    /// An operating-system error (errno) from file management.
    #[error("{operation} failed with errno {errno}")]
    Os {
        /// What was attempted.
        operation: &'static str,
        /// The errno.
        errno: i32,
    },
}

/// Whether `open` may create the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Fail with `NotFound` if the file does not exist.
    Existing,
    /// Create an empty file if it does not exist.
    Create,
}

/// Positional I/O on named files, submitted and completed by token.
pub trait Storage {
    /// Opens `name` (a relative `/`-separated path under the storage root).
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<FileId, StorageError>;
    /// Closes a handle; queued I/O on it completes with [`IoError::Closed`] or finishes.
    fn close(&mut self, file: FileId) -> Result<(), StorageError>;
    /// Deletes a file (closing any handle to it). Durable once it returns.
    fn remove(&mut self, name: &str) -> Result<(), StorageError>;
    /// All file names under the root, sorted.
    fn list(&self) -> Result<Vec<String>, StorageError>;
    /// Current size of an open file in bytes.
    fn file_size(&self, file: FileId) -> Result<u64, StorageError>;
    /// Truncates or extends (preallocates, zero-filled) an open file. Durable once it returns.
    fn set_file_size(&mut self, file: FileId, size_bytes: u64) -> Result<(), StorageError>;
    /// Queues one I/O. Errors only for a bad handle, misalignment or a full queue.
    fn submit(&mut self, token: IoToken, request: IoRequest) -> Result<(), StorageError>;
    /// How many more I/Os `submit` accepts right now before it returns
    /// [`StorageError::QueueFull`]. `submit` consumes its request (and buffer) even when it
    /// fails, so a caller that must not lose a write checks this first.
    fn submit_capacity(&self) -> usize;
    /// Appends every finished I/O to `completions` without blocking.
    fn poll(&mut self, completions: &mut Vec<Completion>);
    /// Like `poll`, but blocks until at least one I/O finishes when any is in flight.
    fn wait(&mut self, completions: &mut Vec<Completion>);
    /// Number of submitted I/Os whose completion has not been returned yet.
    fn in_flight(&self) -> usize;
}

/// Submits one request and waits for its own completion: for start-up and recovery paths
/// only, where nothing else runs. Completions of other tokens are handed to `others`.
pub fn execute<S: Storage + ?Sized>(
    storage: &mut S,
    token: IoToken,
    request: IoRequest,
    others: &mut Vec<Completion>,
) -> Result<Result<IoDone, IoError>, StorageError> {
    storage.submit(token, request)?;
    let mut completions = Vec::new();
    // Bounded: each `wait` returns at least one completion while ours is in flight.
    loop {
        storage.wait(&mut completions);
        let mut found = None;
        for completion in completions.drain(..) {
            if completion.token == token && found.is_none() {
                found = Some(completion.result);
            } else {
                others.push(completion);
            }
        }
        if let Some(result) = found {
            return Ok(result);
        }
        assert!(storage.in_flight() > 0, "submitted I/O vanished without a completion");
    }
}

/// Validates a storage-relative file name: non-empty components, no `..`, not absolute.
pub fn validate_name(name: &str) -> Result<(), StorageError> {
    let bad = name.is_empty()
        || name.starts_with('/')
        || name.split('/').any(|part| part.is_empty() || part == "." || part == "..")
        || name.contains('\0');
    if bad { Err(StorageError::InvalidName(name.to_owned())) } else { Ok(()) }
}

/// Checks sector alignment of an I/O request.
pub fn validate_alignment(request: &IoRequest) -> Result<(), StorageError> {
    let (offset_bytes, length_bytes) = match request {
        IoRequest::Read { offset_bytes, buffer, .. }
        | IoRequest::Write { offset_bytes, buffer, .. } => (*offset_bytes, buffer.len()),
        IoRequest::Sync { .. } => return Ok(()),
    };
    let sector = crate::SECTOR_SIZE as u64;
    if !offset_bytes.is_multiple_of(sector) || !(length_bytes as u64).is_multiple_of(sector) {
        return Err(StorageError::Unaligned { offset_bytes, length_bytes });
    }
    Ok(())
}
