//! Shared harness of the partition-log fault tests: a `Disk` that can crash, restart and
//! have its files edited while down (memory or io_uring), a fault-injecting `Storage`
//! wrapper for latent sector errors, a seeded PRNG, and a model of what was appended.

#![allow(dead_code)] // Each test binary uses a different part.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;
use vireo_storage::partition::{
    BatchMeta, OpenError, PartitionLog, PartitionLogConfig, ReadError, ReadOutcome, ReadStart,
    RecoveryReport, StoredBatch, token_namespace,
};
use vireo_storage::{
    Completion, FileId, IoDone, IoError, IoRequest, IoToken, MemoryStorage, OpenMode, SECTOR_SIZE,
    Storage, StorageError, execute,
};

/// splitmix64: deterministic test randomness.
pub struct Prng(u64);

impl Prng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0);
        self.next() % bound
    }
}

/// A machine's disk: the storage, a crash/restart, and edits of files while it is down.
pub trait Disk {
    type S: Storage;
    fn storage(&mut self) -> &mut Self::S;
    /// Power loss and restart: no open handles or queued I/O survive.
    fn restart(&mut self);
    /// Changes a file's bytes (between a crash and the restart).
    fn edit(&mut self, name: &str, edit: &mut dyn FnMut(&mut Vec<u8>));
    fn read_file(&mut self, name: &str) -> Vec<u8> {
        let mut copy = Vec::new();
        self.edit(name, &mut |bytes| copy = bytes.clone());
        copy
    }
}

pub struct MemoryDisk(pub MemoryStorage);

impl MemoryDisk {
    pub fn new() -> Self {
        Self(MemoryStorage::new())
    }
}

impl Disk for MemoryDisk {
    type S = MemoryStorage;
    fn storage(&mut self) -> &mut MemoryStorage {
        &mut self.0
    }
    fn restart(&mut self) {
        self.0 = self.0.restarted();
    }
    fn edit(&mut self, name: &str, edit: &mut dyn FnMut(&mut Vec<u8>)) {
        edit(self.0.bytes_mut(name).expect("file exists"));
    }
}

#[cfg(feature = "io-uring")]
pub struct UringDisk {
    pub root: std::path::PathBuf,
    storage: Option<vireo_storage::UringStorage>,
}

#[cfg(feature = "io-uring")]
impl UringDisk {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let root = std::path::PathBuf::from(format!("/tmp/vireo-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let storage = Self::open(&root);
        Self { root, storage: Some(storage) }
    }

    fn open(root: &std::path::Path) -> vireo_storage::UringStorage {
        let config = vireo_storage::UringConfig { queue_depth: 64, direct_io: true };
        vireo_storage::UringStorage::new(root, &config).expect("io_uring available")
    }
}

#[cfg(feature = "io-uring")]
impl Drop for UringDisk {
    fn drop(&mut self) {
        self.storage = None;
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(feature = "io-uring")]
impl Disk for UringDisk {
    type S = vireo_storage::UringStorage;
    fn storage(&mut self) -> &mut vireo_storage::UringStorage {
        self.storage.as_mut().expect("running")
    }
    fn restart(&mut self) {
        self.storage = None; // Waits for in-flight I/O, closes every descriptor.
        self.storage = Some(Self::open(&self.root));
    }
    fn edit(&mut self, name: &str, edit: &mut dyn FnMut(&mut Vec<u8>)) {
        let path = self.root.join(name);
        let mut bytes = std::fs::read(&path).expect("file exists");
        edit(&mut bytes);
        std::fs::write(&path, &bytes).expect("rewrite file");
    }
}

/// Latent sector errors: reads touching a listed sector of a named file fail with EIO.
pub struct Faulty<'a, S: Storage> {
    pub inner: &'a mut S,
    names: BTreeMap<FileId, String>,
    pub bad_sectors: BTreeSet<(String, u64)>,
    /// Every write completes with EIO (and nothing is written).
    pub fail_writes: bool,
    ready: VecDeque<Completion>,
    pub reads_failed: usize,
}

impl<'a, S: Storage> Faulty<'a, S> {
    pub fn new(inner: &'a mut S) -> Self {
        Self {
            inner,
            names: BTreeMap::new(),
            bad_sectors: BTreeSet::new(),
            fail_writes: false,
            ready: VecDeque::new(),
            reads_failed: 0,
        }
    }
}

impl<S: Storage> Storage for Faulty<'_, S> {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<FileId, StorageError> {
        let file = self.inner.open(name, mode)?;
        self.names.insert(file, name.to_owned());
        Ok(file)
    }
    fn close(&mut self, file: FileId) -> Result<(), StorageError> {
        self.inner.close(file)
    }
    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.inner.remove(name)
    }
    fn list(&self) -> Result<Vec<String>, StorageError> {
        self.inner.list()
    }
    fn file_size(&self, file: FileId) -> Result<u64, StorageError> {
        self.inner.file_size(file)
    }
    fn set_file_size(&mut self, file: FileId, size_bytes: u64) -> Result<(), StorageError> {
        self.inner.set_file_size(file, size_bytes)
    }
    fn submit(&mut self, token: IoToken, request: IoRequest) -> Result<(), StorageError> {
        if self.fail_writes && matches!(request, IoRequest::Write { .. }) {
            let result = Err(IoError::Device(libc_eio()));
            self.ready.push_back(Completion { token, result });
            return Ok(());
        }
        if let IoRequest::Read { file, offset_bytes, buffer } = &request {
            let name = self.names.get(file).cloned().unwrap_or_default();
            let first = offset_bytes / SECTOR_SIZE as u64;
            let last = (offset_bytes + buffer.len() as u64 - 1) / SECTOR_SIZE as u64;
            if (first..=last).any(|sector| self.bad_sectors.contains(&(name.clone(), sector))) {
                self.reads_failed += 1;
                self.ready
                    .push_back(Completion { token, result: Err(IoError::Device(libc_eio())) });
                return Ok(());
            }
        }
        self.inner.submit(token, request)
    }
    fn submit_capacity(&self) -> usize {
        self.inner.submit_capacity()
    }
    fn poll(&mut self, completions: &mut Vec<Completion>) {
        completions.extend(self.ready.drain(..));
        self.inner.poll(completions);
    }
    fn wait(&mut self, completions: &mut Vec<Completion>) {
        if self.ready.is_empty() {
            self.inner.wait(completions);
        }
        completions.extend(self.ready.drain(..));
    }
    fn in_flight(&self) -> usize {
        self.inner.in_flight() + self.ready.len()
    }
}

pub const fn libc_eio() -> i32 {
    5
}

pub const DIRECTORY: &str = "streams/3/topics/1/partitions/2";

pub fn config(preallocate: bool) -> PartitionLogConfig {
    PartitionLogConfig {
        segment_size_bytes: 48 * 1024,
        record_payload_size_max: 6 * 1024,
        write_chunk_bytes: 8 * 1024,
        cache_bytes_max: 2 * 1024,
        write_bytes_pending_max: 256 * 1024,
        io_in_flight_max: 8,
        read_bytes_max: 32 * 1024,
        preallocate,
        ..PartitionLogConfig::new(DIRECTORY, 9)
    }
}

/// One appended batch and, once known, where it lives.
#[derive(Debug, Clone)]
pub struct Appended {
    pub op: u64,
    pub meta: BatchMeta,
    pub payload: Bytes,
    /// (segment base, position, size) after `locate`.
    pub location: Option<(u64, u64, u64)>,
}

pub struct Model {
    pub batches: Vec<Appended>,
    pub prng: Prng,
}

impl Model {
    pub fn new(seed: u64) -> Self {
        Self { batches: Vec::new(), prng: Prng::new(seed) }
    }

    pub fn index_of(&self, offset: u64) -> Option<usize> {
        self.batches.iter().position(|b| {
            b.meta.base_offset <= offset
                && offset < b.meta.base_offset + u64::from(b.meta.message_count)
        })
    }
}

pub fn drive<S: Storage>(storage: &mut S, log: &mut PartitionLog) {
    let mut completions = Vec::new();
    loop {
        storage.poll(&mut completions);
        if completions.is_empty() {
            if storage.in_flight() == 0 {
                return;
            }
            storage.wait(&mut completions);
        }
        for completion in completions.drain(..) {
            assert_eq!(token_namespace(completion.token), 9);
            log.on_io_done(storage, completion).expect("I/O succeeds");
            log.check_invariants();
        }
    }
}

pub fn append<S: Storage>(
    storage: &mut S,
    log: &mut PartitionLog,
    model: &mut Model,
    count: usize,
) {
    for _ in 0..count {
        let index = model.batches.len();
        let length = 20 + model.prng.below(5000) as usize;
        let payload: Bytes =
            (0..length).map(|_| model.prng.next() as u8).collect::<Vec<u8>>().into();
        let meta = BatchMeta {
            base_offset: log.next_offset(),
            message_count: 1 + model.prng.below(8) as u32,
            base_timestamp_us: 10 * index as u64,
            max_timestamp_us: 10 * index as u64 + 5,
        };
        let op = 1 + index as u64;
        log.append(storage, op, meta, payload.clone()).expect("append");
        log.check_invariants();
        model.batches.push(Appended { op, meta, payload, location: None });
        if model.prng.below(4) == 0 {
            drive(storage, log);
        }
    }
}

pub fn flush<S: Storage>(storage: &mut S, log: &mut PartitionLog) -> u64 {
    let target = log.flush(storage).expect("flush");
    drive(storage, log);
    assert_eq!(log.durable_next_offset(), target);
    target
}

pub fn open<S: Storage>(
    storage: &mut S,
    preallocate: bool,
) -> Result<(PartitionLog, RecoveryReport), OpenError> {
    let opened = PartitionLog::open(storage, config(preallocate), &mut Vec::new());
    if let Ok((log, _)) = &opened {
        log.check_invariants();
    }
    opened
}

/// Reads the batch holding `offset` (executing a plan if needed).
pub fn read_one<S: Storage>(
    storage: &mut S,
    log: &PartitionLog,
    offset: u64,
) -> Result<StoredBatch, ReadError> {
    let batches = match log.read(ReadStart::Offset(offset), 1)? {
        ReadOutcome::Batches(batches) => batches,
        ReadOutcome::Empty => panic!("offset {offset} below next_offset reads empty"),
        ReadOutcome::Plan(plan) => {
            let done =
                execute(storage, IoToken(1), plan.request(), &mut Vec::new()).expect("submit");
            match done {
                Ok(IoDone::Read(buffer)) => plan.complete(buffer)?,
                Ok(other) => panic!("{other:?}"),
                Err(error) => return Err(ReadError::Io(error)),
            }
        }
    };
    Ok(batches.into_iter().next().expect("at least one batch"))
}

/// Records where every batch lives (segment, position, size).
pub fn locate<S: Storage>(storage: &mut S, log: &PartitionLog, model: &mut Model) {
    let segments = log.segments();
    for appended in &mut model.batches {
        if appended.meta.base_offset >= log.next_offset() {
            continue;
        }
        let batch = read_one(storage, log, appended.meta.base_offset).expect("healthy log reads");
        let base = segments
            .iter()
            .rev()
            .find(|s| s.base_offset <= appended.meta.base_offset)
            .expect("segment")
            .base_offset;
        appended.location =
            Some((base, batch.header.position_bytes, batch.header.record_size_bytes()));
    }
}

/// Every stored batch either reads back exactly as appended or fails with a typed error;
/// batches for which `must_read` holds must read back. Returns how many read back.
pub fn verify<S: Storage>(
    storage: &mut S,
    log: &PartitionLog,
    model: &Model,
    must_read: &dyn Fn(usize) -> bool,
) -> usize {
    let mut served = 0;
    for (index, appended) in model.batches.iter().enumerate() {
        let offset = appended.meta.base_offset;
        if offset < log.first_offset() || offset >= log.next_offset() {
            assert!(
                !must_read(index),
                "batch {index} at {offset} was lost (log {}..{})",
                log.first_offset(),
                log.next_offset()
            );
            continue;
        }
        match read_one(storage, log, offset) {
            Ok(batch) => {
                assert_eq!(batch.header.meta, appended.meta, "batch {index}: wrong batch served");
                assert_eq!(batch.header.op, appended.op);
                assert_eq!(
                    batch.payload, appended.payload,
                    "batch {index}: corrupt payload served"
                );
                served += 1;
            }
            Err(error) => assert!(!must_read(index), "intact batch {index} unreadable: {error}"),
        }
    }
    served
}

pub fn log_name(base: u64) -> String {
    format!("{DIRECTORY}/{base:020}.log")
}

pub fn index_name(base: u64) -> String {
    format!("{DIRECTORY}/{base:020}.index")
}

pub fn time_index_name(base: u64) -> String {
    format!("{DIRECTORY}/{base:020}.timeindex")
}
