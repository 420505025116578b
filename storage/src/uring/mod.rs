//! [`UringStorage`]: the `Storage` trait on Linux io_uring, with `O_DIRECT` files.
//!
//! One ring per instance; the node creates one per shard thread and never shares it. Data
//! I/O (read, write, fdatasync) goes through the ring; file management (open, remove, list,
//! resize) is synchronous and rare (see [`files`]).
//!
//! **Memory safety.** A submitted request's [`crate::AlignedBuffer`] moves into the in-flight table
//! and stays there until the kernel posts its completion, so the kernel never reads or
//! writes memory the caller could touch or free. Dropping the storage waits for every
//! in-flight I/O first. Each in-flight entry also holds its file descriptor (shared with the
//! file table), so `close` during an I/O cannot let a reused descriptor number receive a
//! resubmitted remainder.
//!
//! **Integrating with a monoio shard.** The ring posts a count to an eventfd on every
//! completion ([`UringStorage::completion_eventfd`]). The shard registers that descriptor
//! with its runtime as a readable fd (e.g. wrap it in a monoio `AsyncFd`-style readiness
//! source or poll it from the shard loop); when it becomes readable, the shard reads the
//! 8-byte counter (to re-arm it) and calls [`Storage::poll`], routing each completion by its
//! token. `submit` hands each SQE to the kernel at once, so nothing waits for a later
//! `poll` to be issued. Only `wait` ever blocks, and the shard loop should not call it.

mod files;
mod in_flight;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use io_uring::{IoUring, opcode, squeue, types};

use crate::storage::{
    Completion, FileId, IoDone, IoError, IoRequest, IoToken, OpenMode, Storage, StorageError,
    validate_alignment,
};
use files::FileTable;
use in_flight::{InFlight, InFlightTable, Operation};

/// Largest accepted queue depth (submission ring entries); the kernel caps rings at 32768.
pub const URING_QUEUE_DEPTH_MAX: u32 = 4096;

/// Configuration of one [`UringStorage`].
#[derive(Debug, Clone)]
pub struct UringConfig {
    /// Maximum I/Os in flight; `submit` returns [`StorageError::QueueFull`] beyond it.
    pub queue_depth: u32,
    /// Open files with `O_DIRECT` (falls back to buffered per file when refused).
    pub direct_io: bool,
}

impl Default for UringConfig {
    fn default() -> Self {
        Self { queue_depth: 256, direct_io: true }
    }
}

/// `Storage` on io_uring. See the module documentation.
pub struct UringStorage {
    ring: IoUring,
    files: FileTable,
    in_flight: InFlightTable,
    /// Completions taken off the ring, not yet handed out.
    ready: Vec<Completion>,
    eventfd: OwnedFd,
}

impl std::fmt::Debug for UringStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringStorage")
            .field("root", &self.files.root())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

fn io_failure(operation: &'static str, error: &std::io::Error) -> StorageError {
    StorageError::Os { operation, errno: error.raw_os_error().unwrap_or(libc::EIO) }
}

impl UringStorage {
    /// Creates the root directory if needed and sets up a ring of `config.queue_depth`
    /// entries (completion ring twice that, so it can never overflow).
    pub fn new(root: impl AsRef<Path>, config: &UringConfig) -> Result<Self, StorageError> {
        assert!(config.queue_depth > 0, "queue depth must be positive");
        assert!(config.queue_depth <= URING_QUEUE_DEPTH_MAX, "queue depth above maximum");
        let files = FileTable::new(PathBuf::from(root.as_ref()), config.direct_io)?;
        let ring = IoUring::builder()
            .setup_cqsize(config.queue_depth * 2)
            .build(config.queue_depth)
            .map_err(|e| io_failure("io_uring_setup", &e))?;
        // SAFETY: plain syscall; the returned descriptor is checked before use.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(io_failure("eventfd", &std::io::Error::last_os_error()));
        }
        // SAFETY: `raw` was just returned by `eventfd` and is owned by nobody else.
        let eventfd = unsafe { OwnedFd::from_raw_fd(raw) };
        ring.submitter()
            .register_eventfd(eventfd.as_raw_fd())
            .map_err(|e| io_failure("register_eventfd", &e))?;
        let capacity = usize::try_from(config.queue_depth).expect("u32 fits usize");
        Ok(Self {
            ring,
            files,
            in_flight: InFlightTable::new(capacity),
            ready: Vec::new(),
            eventfd,
        })
    }

    /// The eventfd the ring signals on every completion; see the module documentation.
    #[must_use]
    pub fn completion_eventfd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    /// The root directory all names are relative to.
    #[must_use]
    pub fn root(&self) -> &Path {
        self.files.root()
    }

    /// Whether an open file uses `O_DIRECT` (false after a logged fallback).
    pub fn is_direct(&self, file: FileId) -> Result<bool, StorageError> {
        Ok(self.files.get(file)?.direct)
    }

    /// Pushes the SQE for `slot` (first submission or a remainder) and enters the kernel.
    fn push(&mut self, slot: u32) {
        let entry = self.in_flight.get_mut(slot);
        let fd = types::Fd(entry.fd.as_raw_fd());
        let sqe = match &mut entry.operation {
            Operation::Read { buffer, offset_bytes, done_bytes } => {
                let remaining = buffer.len() - *done_bytes;
                // SAFETY: `done_bytes < buffer.len()`, so the pointer stays inside the buffer.
                let pointer = unsafe { buffer.as_mut_ptr().add(*done_bytes) };
                opcode::Read::new(fd, pointer, transfer_length(remaining))
                    .offset(*offset_bytes + *done_bytes as u64)
                    .build()
            }
            Operation::Write { buffer, offset_bytes, done_bytes } => {
                let remaining = buffer.len() - *done_bytes;
                // SAFETY: `done_bytes < buffer.len()`, so the pointer stays inside the buffer.
                let pointer = unsafe { buffer.as_ptr().add(*done_bytes) };
                opcode::Write::new(fd, pointer, transfer_length(remaining))
                    .offset(*offset_bytes + *done_bytes as u64)
                    .build()
            }
            Operation::Sync => opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build(),
        };
        let sqe: squeue::Entry = sqe.user_data(u64::from(slot));
        // SAFETY: the buffer (and the descriptor) referenced by the SQE are owned by the
        // in-flight table entry `slot`, which is only released after the kernel posts this
        // SQE's completion (see `reap`), and `Drop` waits for all completions; so the memory
        // stays valid and untouched for the whole operation. The SQ has room: in-flight
        // entries never exceed the ring's entry count and every push is submitted at once.
        let pushed = unsafe { self.ring.submission().push(&sqe) };
        assert!(pushed.is_ok(), "submission ring overflow despite the in-flight bound");
        self.enter();
    }

    /// Hands queued SQEs to the kernel. `EBUSY`/`EAGAIN`/`EINTR` leave them queued for the
    /// next call (the ring keeps them); anything else is an environment failure.
    fn enter(&mut self) {
        if let Err(error) = self.ring.submit() {
            let errno = error.raw_os_error();
            assert!(
                matches!(errno, Some(libc::EBUSY | libc::EAGAIN | libc::EINTR)),
                "io_uring_enter failed: {error}"
            );
        }
    }

    /// Moves every posted completion into `ready`, resubmitting short transfers.
    fn reap(&mut self) {
        let mut posted = Vec::new();
        for cqe in self.ring.completion() {
            posted.push((cqe.user_data(), cqe.result()));
        }
        for (user_data, result) in posted {
            let slot = u32::try_from(user_data).expect("user_data is a slot index");
            self.on_cqe(slot, result);
        }
    }

    fn on_cqe(&mut self, slot: u32, result: i32) {
        if result == -libc::EINTR || result == -libc::EAGAIN {
            self.push(slot);
            return;
        }
        if result < 0 {
            let entry = self.in_flight.release(slot);
            self.ready
                .push(Completion { token: entry.token, result: Err(IoError::Device(-result)) });
            return;
        }
        let transferred = usize::try_from(result).expect("non-negative result");
        let entry = self.in_flight.get_mut(slot);
        let finished = match &mut entry.operation {
            Operation::Read { buffer, done_bytes, .. } => {
                *done_bytes += transferred;
                assert!(*done_bytes <= buffer.len(), "kernel read past the buffer");
                // Zero bytes, or a count that is not whole sectors, means end of file: the
                // rest of the buffer reads as zeros (the trait's contract).
                let at_end = transferred == 0 || *done_bytes % crate::SECTOR_SIZE != 0;
                if at_end || *done_bytes == buffer.len() {
                    let done = *done_bytes;
                    buffer[done..].fill(0);
                    true
                } else {
                    false
                }
            }
            Operation::Write { buffer, done_bytes, .. } => {
                *done_bytes += transferred;
                assert!(*done_bytes <= buffer.len(), "kernel wrote past the buffer");
                if transferred == 0 {
                    // No progress on a regular file: treat as out of space.
                    let entry = self.in_flight.release(slot);
                    let failed = Err(IoError::Device(libc::ENOSPC));
                    self.ready.push(Completion { token: entry.token, result: failed });
                    return;
                }
                *done_bytes == buffer.len()
            }
            Operation::Sync => true,
        };
        if !finished {
            self.push(slot);
            return;
        }
        let entry = self.in_flight.release(slot);
        let done = match entry.operation {
            Operation::Read { buffer, .. } => IoDone::Read(buffer),
            Operation::Write { buffer, .. } => IoDone::Write(buffer),
            Operation::Sync => IoDone::Sync,
        };
        self.ready.push(Completion { token: entry.token, result: Ok(done) });
    }
}

/// One SQE moves at most what Linux moves in one read/write call; longer buffers complete
/// in several transfers (see `on_cqe`).
fn transfer_length(remaining: usize) -> u32 {
    const TRANSFER_BYTES_MAX: usize = 0x7fff_f000;
    u32::try_from(remaining.min(TRANSFER_BYTES_MAX)).expect("bounded by TRANSFER_BYTES_MAX")
}

impl Storage for UringStorage {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<FileId, StorageError> {
        self.files.open(name, mode)
    }

    fn close(&mut self, file: FileId) -> Result<(), StorageError> {
        self.files.close(file)
    }

    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.files.remove(name)
    }

    fn list(&self) -> Result<Vec<String>, StorageError> {
        self.files.list()
    }

    fn file_size(&self, file: FileId) -> Result<u64, StorageError> {
        self.files.file_size(file)
    }

    fn set_file_size(&mut self, file: FileId, size_bytes: u64) -> Result<(), StorageError> {
        self.files.set_file_size(file, size_bytes)
    }

    fn submit(&mut self, token: IoToken, request: IoRequest) -> Result<(), StorageError> {
        validate_alignment(&request)?;
        let file = match &request {
            IoRequest::Read { file, .. }
            | IoRequest::Write { file, .. }
            | IoRequest::Sync { file } => *file,
        };
        let fd = Rc::clone(&self.files.get(file)?.fd);
        if self.in_flight.is_full() {
            return Err(StorageError::QueueFull);
        }
        let operation = match request {
            IoRequest::Read { offset_bytes, buffer, .. } => {
                Operation::Read { buffer, offset_bytes, done_bytes: 0 }
            }
            IoRequest::Write { offset_bytes, buffer, .. } => {
                Operation::Write { buffer, offset_bytes, done_bytes: 0 }
            }
            IoRequest::Sync { .. } => Operation::Sync,
        };
        let slot = self.in_flight.insert(InFlight { token, fd, operation });
        self.push(slot);
        Ok(())
    }

    fn submit_capacity(&self) -> usize {
        self.in_flight.free_slots()
    }

    fn poll(&mut self, completions: &mut Vec<Completion>) {
        self.enter();
        self.reap();
        completions.append(&mut self.ready);
    }

    fn wait(&mut self, completions: &mut Vec<Completion>) {
        self.reap();
        while self.ready.is_empty() && !self.in_flight.is_empty() {
            if let Err(error) = self.ring.submit_and_wait(1) {
                assert!(
                    matches!(error.raw_os_error(), Some(libc::EINTR | libc::EAGAIN | libc::EBUSY)),
                    "io_uring_enter failed: {error}"
                );
            }
            self.reap();
        }
        completions.append(&mut self.ready);
    }

    fn in_flight(&self) -> usize {
        self.in_flight.len() + self.ready.len()
    }
}

impl Drop for UringStorage {
    fn drop(&mut self) {
        // The kernel may still be reading or writing in-flight buffers: wait for every
        // completion before the table (and its buffers) is freed.
        while !self.in_flight.is_empty() {
            if self.ring.submit_and_wait(1).is_err() {
                // EINTR and friends: try again; a dead ring cannot complete, but neither can
                // it touch memory after the process stops waiting on it.
            }
            self.reap();
        }
    }
}

#[cfg(test)]
mod tests;
