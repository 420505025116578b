//! Power loss with unsynced writes: the simulator's disk model. Writes stay volatile until
//! their file is synced; at the crash each one is independently lost, kept, or torn (only
//! some of its sectors land). Whatever survives, recovery must keep every durable batch
//! intact (the log never rewrites a synced sector) and report the rest as torn or faulty;
//! the consensus layer's `truncate_after_op(durable op)` then leaves a clean log.

mod common;

use std::collections::{BTreeMap, VecDeque};

use common::*;
use vireo_storage::{
    AlignedBuffer, Completion, FileId, IoDone, IoRequest, IoToken, MemoryStorage, OpenMode,
    SECTOR_SIZE, Storage, StorageError,
};

/// A `MemoryStorage` whose writes are volatile until synced (reads see them, like a page
/// cache); `crash` decides the fate of each unsynced write.
struct Volatile {
    inner: MemoryStorage,
    names: BTreeMap<FileId, String>,
    pending: BTreeMap<String, Vec<(u64, AlignedBuffer)>>,
    ready: VecDeque<Completion>,
}

impl Volatile {
    fn new(inner: MemoryStorage) -> Self {
        Self { inner, names: BTreeMap::new(), pending: BTreeMap::new(), ready: VecDeque::new() }
    }

    fn apply(inner: &mut MemoryStorage, name: &str, offset: u64, bytes: &[u8]) {
        let data = inner.bytes_mut(name).expect("file exists");
        let start = offset as usize;
        if data.len() < start + bytes.len() {
            data.resize(start + bytes.len(), 0);
        }
        data[start..start + bytes.len()].copy_from_slice(bytes);
    }

    fn sync(&mut self, name: &str) {
        for (offset, buffer) in self.pending.remove(name).unwrap_or_default() {
            Self::apply(&mut self.inner, name, offset, &buffer);
        }
    }

    /// Power loss: every unsynced write is lost, lands, or lands torn; returns the disk.
    fn crash(mut self, prng: &mut Prng) -> MemoryStorage {
        for (name, writes) in std::mem::take(&mut self.pending) {
            for (offset, buffer) in writes {
                match prng.below(3) {
                    0 => {}
                    1 => Self::apply(&mut self.inner, &name, offset, &buffer),
                    _ => {
                        let sectors = buffer.len() / SECTOR_SIZE;
                        for sector in 0..sectors {
                            if prng.below(2) == 0 {
                                let at = sector * SECTOR_SIZE;
                                let bytes = &buffer[at..at + SECTOR_SIZE];
                                Self::apply(&mut self.inner, &name, offset + at as u64, bytes);
                            }
                        }
                    }
                }
            }
        }
        self.inner.restarted()
    }
}

impl Storage for Volatile {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<FileId, StorageError> {
        let file = self.inner.open(name, mode)?;
        self.names.insert(file, name.to_owned());
        Ok(file)
    }
    fn close(&mut self, file: FileId) -> Result<(), StorageError> {
        self.inner.close(file)
    }
    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.pending.remove(name);
        self.inner.remove(name)
    }
    fn list(&self) -> Result<Vec<String>, StorageError> {
        self.inner.list()
    }
    fn file_size(&self, file: FileId) -> Result<u64, StorageError> {
        let size = self.inner.file_size(file)?;
        let name = &self.names[&file];
        let pending = self.pending.get(name).into_iter().flatten();
        Ok(pending.map(|(offset, buffer)| offset + buffer.len() as u64).fold(size, u64::max))
    }
    fn set_file_size(&mut self, file: FileId, size_bytes: u64) -> Result<(), StorageError> {
        let name = self.names[&file].clone();
        self.sync(&name); // Durable once it returns: settle the file first.
        self.inner.set_file_size(file, size_bytes)
    }
    fn submit(&mut self, token: IoToken, request: IoRequest) -> Result<(), StorageError> {
        vireo_storage::validate_alignment(&request)?;
        let result = match request {
            IoRequest::Write { file, offset_bytes, buffer } => {
                let name = self.names[&file].clone();
                self.pending.entry(name).or_default().push((offset_bytes, buffer.clone()));
                IoDone::Write(buffer)
            }
            IoRequest::Sync { file } => {
                let name = self.names[&file].clone();
                self.sync(&name);
                IoDone::Sync
            }
            IoRequest::Read { file, offset_bytes, mut buffer } => {
                let name = self.names[&file].clone();
                let mut data = self.inner.bytes(&name).unwrap_or_default().to_vec();
                for (offset, pending) in self.pending.get(&name).into_iter().flatten() {
                    let start = *offset as usize;
                    if data.len() < start + pending.len() {
                        data.resize(start + pending.len(), 0);
                    }
                    data[start..start + pending.len()].copy_from_slice(pending);
                }
                vireo_storage::read_into(&data, offset_bytes, &mut buffer);
                IoDone::Read(buffer)
            }
        };
        self.ready.push_back(Completion { token, result: Ok(result) });
        Ok(())
    }
    fn submit_capacity(&self) -> usize {
        1024 - self.ready.len()
    }
    fn poll(&mut self, completions: &mut Vec<Completion>) {
        completions.extend(self.ready.drain(..));
    }
    fn wait(&mut self, completions: &mut Vec<Completion>) {
        self.poll(completions);
    }
    fn in_flight(&self) -> usize {
        self.ready.len()
    }
}

#[test]
fn lost_and_torn_unsynced_writes_never_touch_durable_batches() {
    for seed in 0..300 {
        let mut prng = Prng::new(seed);
        let mut storage = Volatile::new(MemoryStorage::new());
        let mut model = Model::new(seed);
        let preallocate = seed % 3 == 0;
        let (mut log, _) = open(&mut storage, preallocate).unwrap();
        let rounds = 1 + prng.below(4);
        for _ in 0..rounds {
            append(&mut storage, &mut log, &mut model, 1 + prng.below(25) as usize);
            if prng.below(2) == 0 {
                flush(&mut storage, &mut log);
            }
        }
        let durable = log.durable_next_offset();
        let durable_count =
            model.batches.iter().take_while(|b| b.meta.base_offset < durable).count();
        append(&mut storage, &mut log, &mut model, prng.below(30) as usize);
        drive(&mut storage, &mut log);
        drop(log);
        let mut disk = storage.crash(&mut prng);
        let (mut log, report) =
            open(&mut disk, preallocate).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(log.next_offset() >= durable, "seed {seed}: durable batches lost");
        for fault in &report.faults {
            assert!(
                fault.base_offset >= durable,
                "seed {seed}: fault below the durable point: {fault:?}"
            );
        }
        verify(&mut disk, &log, &model, &|i| i < durable_count);
        // The consensus layer rolls back to its checkpoint (here: the durable point).
        let op = durable_count.checked_sub(1).map_or(0, |i| model.batches[i].op);
        log.truncate_after_op(&mut disk, op).unwrap();
        log.check_invariants();
        assert!(log.faults().is_empty(), "seed {seed}: faults above the checkpoint remain");
        assert_eq!(log.next_offset(), durable.max(log.first_offset()), "seed {seed}");
        model.batches.truncate(durable_count);
        verify(&mut disk, &log, &model, &|_| true);
        // And it keeps going.
        append(&mut disk, &mut log, &mut model, 5);
        flush(&mut disk, &mut log);
        verify(&mut disk, &log, &model, &|_| true);
    }
}
