//! One shard's disk: a single `UringStorage` shared by every journal, partition log and
//! read of the shard, and the token scheme that routes each completion to its owner.
//!
//! ```text
//! token bit 63 = 1          journal of group (token >> 48) & 0x7fff  (JournalStore tag)
//! token bits 63..62 = 00    partition log, namespace = token >> 32    (PartitionLog)
//! token bits 63..62 = 01    a poll's disk read, id = low 32 bits
//! ```
//!
//! **I/O reserve.** `JournalStore` treats a full submission queue as a bug (it cannot
//! lose a write), while partition logs check `submit_capacity` and wait. So logs and
//! reads see the storage through [`Reserved`], which hides `reserve` slots: the journals
//! always find room (`config::validate` sizes the reserve per group).
//!
//! **Deferred completions.** When an append meets log backpressure inside a state
//! machine's `apply` (which cannot wait), the machine drains the ring synchronously
//! ([`Disk::wait_one`]) and parks completions of other owners here; the shard routes
//! them on its next poll, in order.

use vireo_storage::{
    Completion, FileId, IoRequest, IoToken, OpenMode, Storage, StorageError, UringConfig,
    UringStorage,
};

/// Tag bit of journal tokens (bit 15 of the `JournalStore` tag).
const JOURNAL_TAG_BIT: u16 = 0x8000;
/// Namespace bit of read tokens.
const READ_NAMESPACE: u64 = 0x4000_0000;
/// Partition-log namespaces stay below this.
const LOG_NAMESPACE_LIMIT: u32 = 0x4000_0000;

/// Who submitted an I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    /// The journal of this group.
    Journal(u32),
    /// The partition log with this namespace.
    Log(u32),
    /// A poll's read.
    Read(u32),
}

/// The `JournalStore` tag of `group`.
#[must_use]
pub fn journal_tag(group: u32) -> u16 {
    let group = u16::try_from(group).expect("groups are bounded by config validation");
    assert!(group < JOURNAL_TAG_BIT, "group {group} does not fit a journal tag");
    JOURNAL_TAG_BIT | group
}

/// Routes a token to its owner.
#[must_use]
pub fn owner(token: IoToken) -> TokenOwner {
    let value = token.0;
    if value >> 63 == 1 {
        return TokenOwner::Journal(u32::try_from((value >> 48) & 0x7fff).expect("15 bits"));
    }
    let namespace = value >> 32;
    if namespace == READ_NAMESPACE {
        TokenOwner::Read(u32::try_from(value & 0xffff_ffff).expect("32 bits"))
    } else {
        TokenOwner::Log(u32::try_from(namespace).expect("below 2^31"))
    }
}

/// The shard's disk.
#[derive(Debug)]
pub struct Disk {
    storage: UringStorage,
    reserve: usize,
    deferred: Vec<Completion>,
    next_namespace: u32,
    next_read: u32,
}

impl Disk {
    /// Opens the ring rooted at `root`, keeping `reserve` slots for journals.
    pub fn new(
        root: &std::path::Path,
        queue_depth: u32,
        direct_io: bool,
        reserve: usize,
    ) -> Result<Self, StorageError> {
        assert!(reserve < queue_depth as usize, "the reserve leaves room for logs");
        let config = UringConfig { queue_depth, direct_io };
        Ok(Self {
            storage: UringStorage::new(root, &config)?,
            reserve,
            deferred: Vec::new(),
            next_namespace: 1,
            next_read: 0,
        })
    }

    /// The eventfd signalled on every completion.
    #[must_use]
    pub fn completion_eventfd(&self) -> std::os::fd::RawFd {
        self.storage.completion_eventfd()
    }

    /// The storage with its full capacity (journals only).
    pub fn journal(&mut self) -> &mut UringStorage {
        &mut self.storage
    }

    /// The storage as partition logs and reads must see it.
    pub fn logs(&mut self) -> Reserved<'_> {
        Reserved { storage: &mut self.storage, reserve: self.reserve }
    }

    /// A fresh partition-log namespace.
    pub fn allocate_namespace(&mut self) -> u32 {
        let namespace = self.next_namespace;
        assert!(namespace < LOG_NAMESPACE_LIMIT, "partition log namespaces exhausted");
        self.next_namespace += 1;
        namespace
    }

    /// A fresh read token.
    pub fn read_token(&mut self) -> IoToken {
        let id = self.next_read;
        self.next_read = self.next_read.wrapping_add(1);
        IoToken(READ_NAMESPACE << 32 | u64::from(id))
    }

    /// Every completion available now: deferred ones first, then the ring's.
    pub fn poll(&mut self, completions: &mut Vec<Completion>) {
        completions.append(&mut self.deferred);
        self.storage.poll(completions);
    }

    /// Blocks for at least one completion (only when something is in flight); for a
    /// state machine that must make room inside `apply`.
    pub fn wait_one(&mut self, completions: &mut Vec<Completion>) {
        self.storage.wait(completions);
    }

    /// Parks completions the caller does not own for the shard's next poll.
    pub fn defer(&mut self, completion: Completion) {
        self.deferred.push(completion);
    }

    /// I/Os in flight (submitted, not yet handed out), parked completions included.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.storage.in_flight() + self.deferred.len()
    }

    /// I/Os the ring itself still has to complete (what [`Self::wait_one`] can wait for).
    #[must_use]
    pub fn ring_in_flight(&self) -> usize {
        self.storage.in_flight()
    }
}

/// The storage minus the journal reserve (see the module docs).
#[derive(Debug)]
pub struct Reserved<'a> {
    storage: &'a mut UringStorage,
    reserve: usize,
}

impl Storage for Reserved<'_> {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<FileId, StorageError> {
        self.storage.open(name, mode)
    }
    fn close(&mut self, file: FileId) -> Result<(), StorageError> {
        self.storage.close(file)
    }
    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.storage.remove(name)
    }
    fn list(&self) -> Result<Vec<String>, StorageError> {
        self.storage.list()
    }
    fn file_size(&self, file: FileId) -> Result<u64, StorageError> {
        self.storage.file_size(file)
    }
    fn set_file_size(&mut self, file: FileId, size_bytes: u64) -> Result<(), StorageError> {
        self.storage.set_file_size(file, size_bytes)
    }
    fn submit(&mut self, token: IoToken, request: IoRequest) -> Result<(), StorageError> {
        if self.submit_capacity() == 0 {
            return Err(StorageError::QueueFull);
        }
        self.storage.submit(token, request)
    }
    fn submit_capacity(&self) -> usize {
        self.storage.submit_capacity().saturating_sub(self.reserve)
    }
    fn poll(&mut self, completions: &mut Vec<Completion>) {
        self.storage.poll(completions);
    }
    fn wait(&mut self, completions: &mut Vec<Completion>) {
        self.storage.wait(completions);
    }
    fn in_flight(&self) -> usize {
        self.storage.in_flight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_route_to_their_owner() {
        let journal = IoToken(u64::from(journal_tag(5)) << 48 | 77);
        assert_eq!(owner(journal), TokenOwner::Journal(5));
        let log = IoToken(u64::from(12u32) << 32 | 3);
        assert_eq!(owner(log), TokenOwner::Log(12));
        let read = IoToken(READ_NAMESPACE << 32 | 9);
        assert_eq!(owner(read), TokenOwner::Read(9));
        // A journal sequence that spills into bits 32..48 still routes to the journal.
        let spilled = IoToken(u64::from(journal_tag(0)) << 48 | 1 << 40);
        assert_eq!(owner(spilled), TokenOwner::Journal(0));
    }
}
