//! A disk that can lose power: `MemoryStorage` for what the process sees, plus the
//! durable image — what a sync made stable. A process crash keeps every completed write
//! (the kernel still has them); a power loss keeps only the durable image.
//!
//! `MemoryStorage` completes every I/O at submit, so at a `Sync` submit every earlier
//! write of the file is complete: copying the file's bytes then is exactly what fdatasync
//! makes durable. A test may delay completions (not the I/O itself) to a later tick, so
//! messages arrive while the replica still waits for its own writes.

use std::collections::BTreeMap;

use vireo_consensus::prng::Prng;
use vireo_storage::{
    Completion, FileId, IoRequest, IoToken, MemoryStorage, OpenMode, Storage, StorageError,
};

/// A `Storage` with a durable image.
#[derive(Debug, Default)]
pub struct Disk {
    live: MemoryStorage,
    durable: BTreeMap<String, Vec<u8>>,
    names: BTreeMap<FileId, String>,
    /// Syncs executed (all files).
    pub syncs: u64,
    /// Percent of completions held back until the next tick.
    pub delay_percent: u64,
    prng: Option<Prng>,
    delayed: Vec<Completion>,
    due: Vec<Completion>,
}

impl Disk {
    pub fn new(seed: u64) -> Self {
        Self { live: MemoryStorage::new(), prng: Some(Prng::new(seed)), ..Self::default() }
    }

    /// A tick passed: completions held back so far become due.
    pub fn advance(&mut self) {
        self.due.append(&mut self.delayed);
    }

    /// True if completions are held back (the replica waits for them).
    pub fn delaying(&self) -> bool {
        !self.delayed.is_empty()
    }

    /// The process died: open handles and queued I/O are gone, completed writes stay.
    pub fn process_crash(&mut self) {
        self.live = self.live.restarted();
        self.names.clear();
        self.delayed.clear();
        self.due.clear();
    }

    /// The machine lost power: everything not synced is gone.
    pub fn power_loss(&mut self) {
        let mut live = MemoryStorage::new();
        for (name, bytes) in &self.durable {
            let file = live.open(name, OpenMode::Create).expect("recreate file");
            live.set_file_size(file, bytes.len() as u64).expect("size");
            live.bytes_mut(name).expect("exists").copy_from_slice(bytes);
            live.close(file).expect("close");
        }
        self.live = live;
        self.names.clear();
        self.delayed.clear();
        self.due.clear();
    }

    /// Bytes of a file as the process sees them, for corruption.
    pub fn bytes_mut(&mut self, name: &str) -> &mut Vec<u8> {
        self.live.bytes_mut(name).expect("file exists")
    }

    /// Corrupts the same bytes in the durable image too (a latent fault survives power).
    pub fn flip_durable(&mut self, name: &str, at: usize) {
        if let Some(bytes) = self.durable.get_mut(name) {
            bytes[at] ^= 0x5a;
        }
    }

    fn make_durable(&mut self, name: &str) {
        let bytes = self.live.bytes(name).expect("open file exists").to_vec();
        self.durable.insert(name.to_owned(), bytes);
    }
}

impl Storage for Disk {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<FileId, StorageError> {
        let file = self.live.open(name, mode)?;
        self.names.insert(file, name.to_owned());
        Ok(file)
    }

    fn close(&mut self, file: FileId) -> Result<(), StorageError> {
        self.names.remove(&file);
        self.live.close(file)
    }

    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.durable.remove(name);
        self.live.remove(name)
    }

    fn list(&self) -> Result<Vec<String>, StorageError> {
        self.live.list()
    }

    fn file_size(&self, file: FileId) -> Result<u64, StorageError> {
        self.live.file_size(file)
    }

    fn set_file_size(&mut self, file: FileId, size_bytes: u64) -> Result<(), StorageError> {
        self.live.set_file_size(file, size_bytes)?;
        // Durable once it returns (the trait's contract): the new size, zero-filled.
        let name = self.names[&file].clone();
        let size = usize::try_from(size_bytes).expect("fits");
        self.durable.entry(name).or_default().resize(size, 0);
        Ok(())
    }

    fn submit(&mut self, token: IoToken, request: IoRequest) -> Result<(), StorageError> {
        let synced = match &request {
            IoRequest::Sync { file } => Some(self.names[file].clone()),
            _ => None,
        };
        self.live.submit(token, request)?;
        if let Some(name) = synced {
            self.syncs += 1;
            self.make_durable(&name);
        }
        Ok(())
    }

    fn submit_capacity(&self) -> usize {
        self.live.submit_capacity()
    }

    fn poll(&mut self, completions: &mut Vec<Completion>) {
        completions.append(&mut self.due);
        let mut ready = Vec::new();
        self.live.poll(&mut ready);
        for completion in ready {
            let prng = self.prng.as_mut().expect("seeded");
            if self.delay_percent > 0 && prng.below(100) < self.delay_percent {
                self.delayed.push(completion);
            } else {
                completions.push(completion);
            }
        }
    }

    fn wait(&mut self, completions: &mut Vec<Completion>) {
        // Blocking callers (recovery) get everything, delayed or not.
        completions.append(&mut self.due);
        completions.append(&mut self.delayed);
        self.live.wait(completions);
    }

    fn in_flight(&self) -> usize {
        self.live.in_flight() + self.delayed.len() + self.due.len()
    }
}
