//! A faulty, deterministic `Storage`: the disk the real journal and superblock code runs
//! on inside the simulator.
//!
//! Each file keeps two images: `current` (what reads see: every completed write) and
//! `durable` (what survives a power loss: writes covered by a completed sync). Faults,
//! only where the fault atlas allows them:
//!
//! * **write corruption**: a completed write lands with one byte flipped;
//! * **read corruption**: a sector reads back with one byte flipped, until rewritten;
//! * **latent sector error**: a sector's reads fail with `EIO`, until rewritten;
//! * **misdirected write**: a write lands at another slot of the same chunk, the target
//!   keeps its old bytes;
//! * **crash**: in-flight writes are torn (a random prefix of their sectors lands), and on
//!   a power loss every write not covered by a sync is lost. With *scattered crashes*
//!   (the data disk, per seed) a torn write lands a random subset of its sectors, and a
//!   power loss loses each unsynced sector independently (the rest reached the media):
//!   the adversary the partition log's recovery is written for.
//!
//! Latency: every I/O completes after a random number of ticks, so completions reorder.

use std::collections::{BTreeMap, BTreeSet};

use vireo_consensus::prng::Prng;
use vireo_storage::journal::JournalLayout;
use vireo_storage::journal::layout::HEADERS_PER_SECTOR;
use vireo_storage::{
    AlignedBuffer, Completion, FileId, IoDone, IoError, IoRequest, IoToken, OpenMode, SECTOR_SIZE,
    Storage, StorageError, validate_alignment, validate_name,
};

use crate::options::StorageOptions;

/// Most I/Os in flight (a submission queue's depth).
pub const IN_FLIGHT_MAX: usize = 4096;

/// Counts of injected storage faults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StorageFaults {
    /// Writes that landed corrupted.
    pub write_corruptions: u64,
    /// Sectors made to read corrupted.
    pub read_corruptions: u64,
    /// Writes that landed elsewhere.
    pub misdirects: u64,
    /// Sectors given a latent read error.
    pub latent_errors: u64,
    /// Writes torn by a crash.
    pub torn_writes: u64,
    /// Sectors of completed-but-unsynced writes lost by a power loss.
    pub lost_sectors: u64,
}

impl StorageFaults {
    /// Adds another replica's counts.
    pub fn add(&mut self, other: &Self) {
        self.write_corruptions += other.write_corruptions;
        self.read_corruptions += other.read_corruptions;
        self.misdirects += other.misdirects;
        self.latent_errors += other.latent_errors;
        self.torn_writes += other.torn_writes;
        self.lost_sectors += other.lost_sectors;
    }
}

/// Where this replica's disk may be faulted: chunks of the journal (a chunk is one header
/// sector and the prepare slots whose headers it holds). The cluster assigns each chunk
/// to fewer than a replication quorum of replicas, so a good copy always exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultAtlas {
    /// The journal file name.
    pub journal_file: String,
    /// Its layout.
    pub layout: JournalLayout,
    /// Chunks that may be faulted on this replica.
    pub chunks: BTreeSet<usize>,
}

impl FaultAtlas {
    /// The faultable chunk containing `[offset, offset + length)`, if all of it is in one.
    fn chunk_of(&self, name: &str, offset: u64, length: u64) -> Option<usize> {
        if name != self.journal_file || length == 0 {
            return None;
        }
        let layout = &self.layout;
        let ring = layout.header_ring_offset();
        let prepares = ring + layout.header_ring_size_bytes();
        let end = offset + length;
        let chunk = if offset >= ring && end <= prepares {
            let first = usize::try_from((offset - ring) / SECTOR_SIZE as u64).ok()?;
            let last = usize::try_from((end - 1 - ring) / SECTOR_SIZE as u64).ok()?;
            (first == last).then_some(first)?
        } else if offset >= prepares && end <= layout.total_size_bytes() {
            let slot = (offset - prepares) / layout.slot_size_bytes;
            let last = (end - 1 - prepares) / layout.slot_size_bytes;
            (slot == last).then_some(usize::try_from(slot).ok()? / HEADERS_PER_SECTOR)?
        } else {
            return None;
        };
        self.chunks.contains(&chunk).then_some(chunk)
    }
}

#[derive(Debug, Clone, Default)]
struct SimFile {
    current: Vec<u8>,
    durable: Vec<u8>,
    dirty: BTreeSet<u64>,
    read_corrupt: BTreeSet<u64>,
    latent: BTreeSet<u64>,
}

#[derive(Debug)]
struct InFlight {
    due_tick: u64,
    sequence: u64,
    token: IoToken,
    name: String,
    request: IoRequest,
    /// Sectors dirty at submit time (a sync covers exactly these).
    sync_sectors: Vec<u64>,
}

/// The simulated disk of one replica.
#[derive(Debug)]
pub struct SimStorage {
    files: BTreeMap<String, SimFile>,
    handles: BTreeMap<FileId, String>,
    next_handle: u32,
    in_flight: Vec<InFlight>,
    sequence: u64,
    now_tick: u64,
    prng: Prng,
    options: StorageOptions,
    atlas: Option<FaultAtlas>,
    faults_enabled: bool,
    scattered_crashes: bool,
    /// Injected faults so far.
    pub faults: StorageFaults,
}

impl SimStorage {
    /// An empty disk.
    #[must_use]
    pub fn new(seed: u64, options: StorageOptions) -> Self {
        Self {
            files: BTreeMap::new(),
            handles: BTreeMap::new(),
            next_handle: 0,
            in_flight: Vec::new(),
            sequence: 0,
            now_tick: 0,
            prng: Prng::new(seed),
            options,
            atlas: None,
            faults_enabled: false,
            scattered_crashes: false,
            faults: StorageFaults::default(),
        }
    }

    /// Sets where faults may be injected.
    pub fn set_atlas(&mut self, atlas: Option<FaultAtlas>) {
        self.atlas = atlas;
    }

    /// Turns random faults on or off (off for first boot and the liveness phase).
    pub fn set_faults_enabled(&mut self, enabled: bool) {
        self.faults_enabled = enabled;
    }

    /// Crashes tear writes into any subset of their sectors, and power losses lose each
    /// unsynced sector independently (see the module documentation).
    pub fn set_scattered_crashes(&mut self, scattered: bool) {
        self.scattered_crashes = scattered;
    }

    /// Advances the disk's clock; I/O due by now completes on the next `poll`.
    pub fn set_tick(&mut self, tick: u64) {
        self.now_tick = tick;
    }

    fn roll(&mut self, probability: f64) -> bool {
        self.faults_enabled
            && probability > 0.0
            && (self.prng.below(1_000_000) as f64) < probability * 1e6
    }

    fn latency(&mut self, (low, high): (u64, u64)) -> u64 {
        low + self.prng.below(high - low + 1)
    }

    fn chunk_of(&self, name: &str, offset: u64, length: u64) -> Option<usize> {
        self.atlas.as_ref()?.chunk_of(name, offset, length)
    }

    /// A crash: in-flight writes are torn, reads and syncs vanish; on a power loss every
    /// write not covered by a completed sync is lost too. Handles close.
    pub fn crash(&mut self, power_loss: bool) {
        let in_flight = std::mem::take(&mut self.in_flight);
        for io in in_flight {
            if let IoRequest::Write { offset_bytes, buffer, .. } = io.request {
                let sectors = buffer.len() / SECTOR_SIZE;
                let file = self.files.entry(io.name).or_default();
                if self.scattered_crashes {
                    let mut landed = 0;
                    for (index, sector) in buffer.chunks_exact(SECTOR_SIZE).enumerate() {
                        if self.prng.below(2) == 0 {
                            write_bytes(file, offset_bytes + (index * SECTOR_SIZE) as u64, sector);
                            landed += 1;
                        }
                    }
                    if landed < sectors {
                        self.faults.torn_writes += 1;
                    }
                } else {
                    let landed =
                        usize::try_from(self.prng.below(sectors as u64 + 1)).expect("small");
                    if landed < sectors {
                        self.faults.torn_writes += 1;
                    }
                    write_bytes(file, offset_bytes, &buffer[..landed * SECTOR_SIZE]);
                }
            }
        }
        if power_loss {
            for file in self.files.values_mut() {
                for sector in std::mem::take(&mut file.dirty) {
                    let start = usize::try_from(sector).expect("fits") * SECTOR_SIZE;
                    let end = start + SECTOR_SIZE;
                    if self.scattered_crashes && self.prng.below(2) == 0 {
                        // This one reached the media before the power went.
                        let end = end.min(file.current.len());
                        if file.durable.len() < end {
                            file.durable.resize(end, 0);
                        }
                        if start < end {
                            let (current, durable) = (&file.current, &mut file.durable);
                            durable[start..end].copy_from_slice(&current[start..end]);
                        }
                        continue;
                    }
                    if end <= file.current.len() {
                        let old = file
                            .durable
                            .get(start..end)
                            .map_or_else(|| vec![0; SECTOR_SIZE], <[u8]>::to_vec);
                        file.current[start..end].copy_from_slice(&old);
                        self.faults.lost_sectors += 1;
                    }
                }
            }
        }
        self.handles.clear();
    }

    /// Reads what a read submitted now would see (every completed write), at once and
    /// without faults, latency or randomness: for checkers, so that looking at a disk
    /// never changes the run. Errors like `submit` for a bad handle or misalignment.
    pub fn read_now(
        &self,
        file: FileId,
        offset_bytes: u64,
        mut buffer: AlignedBuffer,
    ) -> Result<AlignedBuffer, StorageError> {
        let sector = SECTOR_SIZE as u64;
        if !offset_bytes.is_multiple_of(sector) || !(buffer.len() as u64).is_multiple_of(sector) {
            return Err(StorageError::Unaligned { offset_bytes, length_bytes: buffer.len() });
        }
        let name = self.handles.get(&file).ok_or(StorageError::UnknownFile(file))?;
        vireo_storage::read_into(&self.files[name].current, offset_bytes, &mut buffer);
        Ok(buffer)
    }

    /// A fault-free copy of what reads see now (every completed write counts as durable),
    /// with nothing in flight and no handle open: for checkers that reopen a disk's files
    /// without touching the original.
    #[must_use]
    pub fn image_copy(&self) -> Self {
        let mut copy = Self::new(0, self.options.clone());
        for (name, file) in &self.files {
            let image = SimFile {
                current: file.current.clone(),
                durable: file.current.clone(),
                ..SimFile::default()
            };
            copy.files.insert(name.clone(), image);
        }
        copy
    }

    fn complete(&mut self, io: InFlight) -> Completion {
        let InFlight { token, name, request, sync_sectors, .. } = io;
        let result = match request {
            IoRequest::Read { offset_bytes, buffer, .. } => {
                self.complete_read(&name, offset_bytes, buffer)
            }
            IoRequest::Write { offset_bytes, buffer, .. } => {
                Ok(self.complete_write(&name, offset_bytes, buffer))
            }
            IoRequest::Sync { .. } => {
                let file = self.files.get_mut(&name).expect("synced file exists");
                if file.durable.len() < file.current.len() {
                    file.durable.resize(file.current.len(), 0);
                }
                for sector in sync_sectors {
                    if file.dirty.remove(&sector) {
                        let start = usize::try_from(sector).expect("fits") * SECTOR_SIZE;
                        let end = (start + SECTOR_SIZE).min(file.current.len());
                        assert!(start < end, "a dirty sector lies past the end of its file");
                        let (current, durable) = (&file.current, &mut file.durable);
                        durable[start..end].copy_from_slice(&current[start..end]);
                    }
                }
                Ok(IoDone::Sync)
            }
        };
        Completion { token, result }
    }

    fn complete_read(
        &mut self,
        name: &str,
        offset: u64,
        mut buffer: AlignedBuffer,
    ) -> Result<IoDone, IoError> {
        let length = buffer.len() as u64;
        if let Some(chunk) = self.chunk_of(name, offset, length) {
            let sector = offset / SECTOR_SIZE as u64 + self.prng.below(length / SECTOR_SIZE as u64);
            let _ = chunk;
            if self.roll(self.options.read_corrupt) {
                self.files.get_mut(name).expect("exists").read_corrupt.insert(sector);
                self.faults.read_corruptions += 1;
            } else if self.roll(self.options.latent_error) {
                self.files.get_mut(name).expect("exists").latent.insert(sector);
                self.faults.latent_errors += 1;
            }
        }
        let file = &self.files[name];
        vireo_storage::read_into(&file.current, offset, &mut buffer);
        let first = offset / SECTOR_SIZE as u64;
        for index in 0..length / SECTOR_SIZE as u64 {
            let sector = first + index;
            if file.latent.contains(&sector) {
                return Err(IoError::Device(5)); // EIO
            }
            if file.read_corrupt.contains(&sector) {
                let at =
                    usize::try_from(index).expect("fits") * SECTOR_SIZE + flip_position(sector);
                buffer[at] ^= 0x5a;
            }
        }
        Ok(IoDone::Read(buffer))
    }

    fn complete_write(&mut self, name: &str, offset: u64, buffer: AlignedBuffer) -> IoDone {
        let length = buffer.len() as u64;
        let mut target = offset;
        let mut data = buffer.to_vec();
        if let Some(chunk) = self.chunk_of(name, offset, length) {
            if self.roll(self.options.misdirect) {
                if let Some(other) = self.misdirect_target(name, offset, length, chunk) {
                    target = other;
                    self.faults.misdirects += 1;
                }
            } else if self.roll(self.options.write_corrupt) {
                let at = usize::try_from(self.prng.below(length)).expect("fits");
                data[at] ^= 0x20;
                self.faults.write_corruptions += 1;
            }
        }
        let file = self.files.get_mut(name).expect("written file exists");
        write_bytes(file, target, &data);
        IoDone::Write(buffer)
    }

    /// Another location of the same size in the same chunk (a prepare slot's neighbour).
    fn misdirect_target(
        &mut self,
        name: &str,
        offset: u64,
        length: u64,
        chunk: usize,
    ) -> Option<u64> {
        let layout = self.atlas.as_ref()?.layout;
        let prepares = layout.header_ring_offset() + layout.header_ring_size_bytes();
        if offset < prepares {
            return None; // One header sector per chunk: nowhere else to land.
        }
        let slot = (offset - prepares) / layout.slot_size_bytes;
        let first = chunk as u64 * HEADERS_PER_SECTOR as u64;
        let last = (first + HEADERS_PER_SECTOR as u64).min(layout.slot_count);
        let other = first + self.prng.below(last - first);
        if other == slot {
            return None;
        }
        let target = prepares
            + other * layout.slot_size_bytes
            + (offset - prepares) % layout.slot_size_bytes;
        self.chunk_of(name, target, length).map(|_| target)
    }
}

/// Deterministic byte position a corrupted sector flips.
fn flip_position(sector: u64) -> usize {
    usize::try_from(sector.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52).expect("small") % SECTOR_SIZE
}

fn write_bytes(file: &mut SimFile, offset: u64, data: &[u8]) {
    let start = usize::try_from(offset).expect("fits");
    let end = start + data.len();
    if file.current.len() < end {
        file.current.resize(end, 0);
    }
    file.current[start..end].copy_from_slice(data);
    let first = offset / SECTOR_SIZE as u64;
    for index in 0..(data.len() / SECTOR_SIZE) as u64 {
        file.dirty.insert(first + index);
        // A rewrite heals latent and read faults of the sector.
        file.read_corrupt.remove(&(first + index));
        file.latent.remove(&(first + index));
    }
}

impl Storage for SimStorage {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<FileId, StorageError> {
        validate_name(name)?;
        if !self.files.contains_key(name) {
            if mode == OpenMode::Existing {
                return Err(StorageError::NotFound(name.to_owned()));
            }
            self.files.insert(name.to_owned(), SimFile::default());
        }
        let file = FileId(self.next_handle);
        self.next_handle += 1;
        self.handles.insert(file, name.to_owned());
        Ok(file)
    }

    fn close(&mut self, file: FileId) -> Result<(), StorageError> {
        self.handles.remove(&file).map(|_| ()).ok_or(StorageError::UnknownFile(file))
    }

    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.files
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| StorageError::NotFound(name.to_owned()))?;
        self.handles.retain(|_, open| open != name);
        Ok(())
    }

    fn list(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.files.keys().cloned().collect())
    }

    fn file_size(&self, file: FileId) -> Result<u64, StorageError> {
        let name = self.handles.get(&file).ok_or(StorageError::UnknownFile(file))?;
        Ok(self.files[name].current.len() as u64)
    }

    fn set_file_size(&mut self, file: FileId, size_bytes: u64) -> Result<(), StorageError> {
        let name = self.handles.get(&file).ok_or(StorageError::UnknownFile(file))?;
        let size = usize::try_from(size_bytes)
            .map_err(|_| StorageError::Os { operation: "set_file_size", errno: 27 })?;
        let entry = self.files.get_mut(name).expect("open file exists");
        // Durable at once (like fallocate + fsync of metadata).
        entry.current.resize(size, 0);
        entry.durable.resize(size, 0);
        // Whole sectors cut off are gone: nothing left to sync, lose or fault there.
        let first_gone = size.div_ceil(SECTOR_SIZE) as u64;
        for sectors in [&mut entry.dirty, &mut entry.read_corrupt, &mut entry.latent] {
            sectors.split_off(&first_gone);
        }
        Ok(())
    }

    fn submit(&mut self, token: IoToken, request: IoRequest) -> Result<(), StorageError> {
        validate_alignment(&request)?;
        if self.in_flight.len() >= IN_FLIGHT_MAX {
            return Err(StorageError::QueueFull);
        }
        let file = match &request {
            IoRequest::Read { file, .. }
            | IoRequest::Write { file, .. }
            | IoRequest::Sync { file } => *file,
        };
        let name = self.handles.get(&file).ok_or(StorageError::UnknownFile(file))?.clone();
        let latency = match &request {
            IoRequest::Read { .. } => self.latency(self.options.read_latency_ticks),
            IoRequest::Write { .. } | IoRequest::Sync { .. } => {
                self.latency(self.options.write_latency_ticks)
            }
        };
        let sync_sectors = match &request {
            IoRequest::Sync { .. } => self.files[&name].dirty.iter().copied().collect(),
            _ => Vec::new(),
        };
        self.sequence += 1;
        self.in_flight.push(InFlight {
            due_tick: self.now_tick + latency,
            sequence: self.sequence,
            token,
            name,
            request,
            sync_sectors,
        });
        Ok(())
    }

    fn submit_capacity(&self) -> usize {
        IN_FLIGHT_MAX.saturating_sub(self.in_flight.len())
    }

    fn poll(&mut self, completions: &mut Vec<Completion>) {
        let now = self.now_tick;
        let mut due: Vec<InFlight> = Vec::new();
        let mut index = 0;
        while index < self.in_flight.len() {
            if self.in_flight[index].due_tick <= now {
                due.push(self.in_flight.swap_remove(index));
            } else {
                index += 1;
            }
        }
        due.sort_by_key(|io| (io.due_tick, io.sequence));
        for io in due {
            let completion = self.complete(io);
            completions.push(completion);
        }
    }

    fn wait(&mut self, completions: &mut Vec<Completion>) {
        // Start-up and recovery: complete everything in flight at once, in order.
        let mut all = std::mem::take(&mut self.in_flight);
        all.sort_by_key(|io| (io.due_tick, io.sequence));
        for io in all {
            let completion = self.complete(io);
            completions.push(completion);
        }
    }

    fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}
