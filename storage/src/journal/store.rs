//! Executes the journal's and superblock's I/O on any [`Storage`], and recovers them.
//!
//! The replica decides *what* to write (actions); this store decides *how*: which offsets,
//! in which order, with which barriers. It owns the image of the redundant header ring,
//! serializes writes to the same prepare slot and to the same header sector (two
//! overlapping writes in flight would leave the disk in an undefined order), and reports
//! completions as [`JournalEvent`]s. A prepare counts as written only once its redundant
//! header has been written after it.
//!
//! Tokens: every I/O it submits carries `IoToken(tag << 48 | sequence)`, so one `Storage`
//! can be shared by many stores (one per consensus group) and other owners; the driver
//! routes a completion to the store whose tag matches [`JournalStore::owns`].

use std::collections::{BTreeMap, VecDeque};

use vireo_protocol::vsr::{HEADER_SIZE, Header, Message, checksum};

use super::layout::JournalLayout;
use super::slot::{SlotDecision, classify_slot, verify_prepare};
use crate::buffer::{AlignedBuffer, SECTOR_SIZE};
use crate::storage::{
    Completion, FileId, IoDone, IoRequest, IoToken, Storage, StorageError, execute,
};
use crate::superblock::{SUPERBLOCK_COPIES, SUPERBLOCK_COPY_SIZE, SuperblockError, VsrState};

/// Bits of a token reserved for the sequence number; the owner tag sits above them.
pub const TOKEN_SEQUENCE_BITS: u32 = 48;

/// Marker written into the header ring for a slot whose header is unknown (faulty): it
/// never decodes, so the slot stays faulty across further crashes instead of reading as
/// an empty (nackable) slot.
const FAULTY_MARKER: u8 = 0xff;

/// What a finished journal I/O means to the replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalEvent {
    /// A redundant header alone is written (see [`JournalStore::write_header`]).
    HeaderWritten {
        /// Its op.
        op: u64,
        /// Its checksum.
        checksum: u128,
    },
    /// The prepare and then its redundant header are written.
    PrepareWritten {
        /// Its op.
        op: u64,
        /// Its checksum.
        checksum: u128,
    },
    /// A prepare read back: `None` if it is missing, corrupt, or another prepare.
    PrepareRead {
        /// Requested op.
        op: u64,
        /// Requested checksum.
        checksum: u128,
        /// The verified prepare (boxed: events are otherwise a few words).
        message: Option<Box<Message>>,
    },
    /// Every write completed before the sync with this marker is durable.
    Synced {
        /// The caller's marker (the highest op whose write had completed).
        op: u64,
    },
    /// Every superblock copy is written and synced.
    SuperblockWritten {
        /// The sequence now durable.
        sequence: u64,
    },
    /// A checkpoint snapshot is written and synced in `area`.
    SnapshotWritten {
        /// Area (0 or 1).
        area: u8,
        /// Bytes.
        size: u32,
        /// blake3 of the bytes.
        checksum: u128,
    },
}

/// Everything recovery learned from a data file.
#[derive(Debug)]
pub struct Recovered {
    /// The newest valid superblock.
    pub state: VsrState,
    /// One decision per slot.
    pub decisions: Vec<SlotDecision>,
    /// The checkpoint snapshot named by the superblock, verified (empty = initial state).
    pub snapshot: Vec<u8>,
}

/// Why recovery could not produce a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// The storage refused an operation.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// No superblock copy is valid: not a formatted data file, or every copy destroyed.
    #[error("superblock: {0}")]
    Superblock(#[from] SuperblockError),
    /// The checkpoint snapshot the superblock names is unreadable or does not match its
    /// checksum; the replica must state-sync from peers.
    #[error("checkpoint snapshot is corrupt")]
    Snapshot,
}

#[derive(Debug)]
enum Pending {
    Prepare { op: u64, checksum: u128, header: Header },
    HeaderSector { sector: usize, waiters: Vec<Waiter> },
    Read { op: u64, checksum: u128 },
    Sync { op: u64 },
    SuperblockCopy { sequence: u64 },
    SuperblockSync { sequence: u64 },
    SnapshotWrite { area: u8, size: u32, checksum: u128 },
    SnapshotSync { area: u8, size: u32, checksum: u128 },
}

/// Who waits for a header sector write, and for what event.
#[derive(Debug, Clone, Copy)]
enum Waiter {
    Prepare(u64, u128),
    Header(u64, u128),
}

#[derive(Debug, Default)]
struct SectorState {
    in_flight: bool,
    /// Writes that completed while the sector was in flight; they need another write.
    queued: Vec<Waiter>,
}

/// The journal and superblock I/O executor for one consensus group.
#[derive(Debug)]
pub struct JournalStore {
    layout: JournalLayout,
    file: FileId,
    message_size_max: usize,
    tag: u64,
    sequence: u64,
    header_image: Vec<u8>,
    sectors: Vec<SectorState>,
    /// Per slot: a prepare write in flight, and the newest write waiting behind it.
    slot_writing: Vec<bool>,
    slot_queued: BTreeMap<usize, Message>,
    pending: BTreeMap<u64, Pending>,
    superblock_copies_left: usize,
    /// Events produced without I/O (e.g. superseded writes), delivered on the next poll.
    ready: VecDeque<JournalEvent>,
}

impl JournalStore {
    /// A store for `file` laid out as `layout`, tagging its tokens with `tag` (< 2^16).
    #[must_use]
    pub fn new(layout: JournalLayout, file: FileId, message_size_max: usize, tag: u16) -> Self {
        assert!(message_size_max as u64 <= layout.slot_size_bytes);
        let slots = usize::try_from(layout.slot_count).expect("fits usize");
        let image_size = usize::try_from(layout.header_ring_size_bytes()).expect("fits usize");
        Self {
            layout,
            file,
            message_size_max,
            tag: u64::from(tag),
            sequence: 0,
            header_image: vec![0; image_size],
            sectors: (0..layout.header_sector_count()).map(|_| SectorState::default()).collect(),
            slot_writing: vec![false; slots],
            slot_queued: BTreeMap::new(),
            pending: BTreeMap::new(),
            superblock_copies_left: 0,
            ready: VecDeque::new(),
        }
    }

    /// The layout.
    #[must_use]
    pub fn layout(&self) -> &JournalLayout {
        &self.layout
    }

    /// True if `token` was submitted by this store.
    #[must_use]
    pub fn owns(&self, token: IoToken) -> bool {
        token.0 >> TOKEN_SEQUENCE_BITS == self.tag
    }

    /// Number of I/Os in flight.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    fn submit<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        request: IoRequest,
        pending: Pending,
    ) {
        self.sequence += 1;
        assert!(self.sequence < 1 << TOKEN_SEQUENCE_BITS);
        let token = IoToken(self.tag << TOKEN_SEQUENCE_BITS | self.sequence);
        storage.submit(token, request).expect("journal I/O is aligned and its file is open");
        self.pending.insert(self.sequence, pending);
    }

    /// Writes a fresh data file: superblock copies of `state`, zeroed header ring.
    pub fn format<S: Storage + ?Sized>(
        storage: &mut S,
        file: FileId,
        layout: &JournalLayout,
        state: &VsrState,
    ) -> Result<(), StorageError> {
        storage.set_file_size(file, layout.total_size_bytes())?;
        let mut others = Vec::new();
        let copy = AlignedBuffer::from_slice(&state.encode());
        for index in 0..SUPERBLOCK_COPIES {
            let request = IoRequest::Write {
                file,
                offset_bytes: layout.superblock_offset(index),
                buffer: copy.clone(),
            };
            let _ = execute(storage, IoToken(u64::MAX), request, &mut others)?;
        }
        let ring =
            AlignedBuffer::zeroed(usize::try_from(layout.header_ring_size_bytes()).expect("fits"));
        let request =
            IoRequest::Write { file, offset_bytes: layout.header_ring_offset(), buffer: ring };
        let _ = execute(storage, IoToken(u64::MAX), request, &mut others)?;
        let _ = execute(storage, IoToken(u64::MAX), IoRequest::Sync { file }, &mut others)?;
        assert!(others.is_empty(), "format runs alone");
        Ok(())
    }

    /// Reads everything back after a restart (blocking; start-up only) and classifies
    /// every slot. Slots whose prepare is intact but whose redundant header is not are
    /// fixed on disk before this returns.
    pub fn recover<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
    ) -> Result<Recovered, RecoveryError> {
        assert!(self.pending.is_empty(), "recover runs before any other I/O");
        let state = self.read_superblock(storage)?;
        // Sector by sector, so a latent error costs 16 slots' headers, not the ring.
        for sector in 0..self.sectors.len() {
            let offset = self.layout.header_sector_offset(sector);
            let bytes = self.read_blocking(storage, offset, SECTOR_SIZE)?;
            let image = &mut self.header_image[sector * SECTOR_SIZE..(sector + 1) * SECTOR_SIZE];
            match bytes {
                Some(bytes) => image.copy_from_slice(&bytes[..SECTOR_SIZE]),
                None => image.fill(FAULTY_MARKER),
            }
        }
        let slot_size = usize::try_from(self.layout.slot_size_bytes).expect("fits usize");
        let mut decisions = Vec::with_capacity(self.slot_writing.len());
        let mut fixed_sectors = Vec::new();
        for slot in 0..self.slot_writing.len() {
            let prepare =
                self.read_blocking(storage, self.layout.prepare_offset(slot), slot_size)?;
            let redundant = &self.header_image[slot * HEADER_SIZE..(slot + 1) * HEADER_SIZE];
            let decision = match &prepare {
                Some(bytes) => classify_slot(
                    slot,
                    self.layout.slot_count,
                    redundant,
                    bytes,
                    self.message_size_max,
                ),
                // A latent read error on the prepare reads like a corrupt prepare.
                None => classify_slot(
                    slot,
                    self.layout.slot_count,
                    redundant,
                    &[0xff; HEADER_SIZE],
                    self.message_size_max,
                ),
            };
            if let SlotDecision::Fix(header) = decision {
                self.set_image(slot, &header);
                fixed_sectors.push(slot * HEADER_SIZE / SECTOR_SIZE);
            }
            decisions.push(decision);
        }
        fixed_sectors.dedup();
        for sector in fixed_sectors {
            let offset = self.layout.header_sector_offset(sector);
            let bytes = AlignedBuffer::from_slice(
                &self.header_image[sector * SECTOR_SIZE..(sector + 1) * SECTOR_SIZE],
            );
            let mut others = Vec::new();
            let request = IoRequest::Write { file: self.file, offset_bytes: offset, buffer: bytes };
            let _ = execute(storage, IoToken(u64::MAX), request, &mut others)?;
        }
        let snapshot = self.read_snapshot(storage, &state)?;
        Ok(Recovered { state, decisions, snapshot })
    }

    fn read_superblock<S: Storage + ?Sized>(
        &self,
        storage: &mut S,
    ) -> Result<VsrState, RecoveryError> {
        let mut copies = Vec::with_capacity(SUPERBLOCK_COPIES);
        for copy in 0..SUPERBLOCK_COPIES {
            if let Some(bytes) = self.read_blocking(
                storage,
                self.layout.superblock_offset(copy),
                SUPERBLOCK_COPY_SIZE,
            )? {
                copies.push(bytes);
            }
        }
        Ok(VsrState::read_newest(copies.iter().map(Vec::as_slice))?)
    }

    fn read_snapshot<S: Storage + ?Sized>(
        &self,
        storage: &mut S,
        state: &VsrState,
    ) -> Result<Vec<u8>, RecoveryError> {
        let size = state.checkpoint.snapshot_size as usize;
        if size == 0 {
            return Ok(Vec::new());
        }
        if size as u64 > self.layout.snapshot_size_max_bytes {
            return Err(RecoveryError::Snapshot);
        }
        let offset = self.layout.snapshot_offset(state.checkpoint.area);
        let bytes = self.read_blocking(storage, offset, size)?.ok_or(RecoveryError::Snapshot)?;
        let snapshot = bytes[..size].to_vec();
        if checksum(&snapshot) != state.checkpoint.snapshot_checksum {
            return Err(RecoveryError::Snapshot);
        }
        Ok(snapshot)
    }

    /// Reads `length` bytes (rounded up to sectors); `None` on a device error.
    fn read_blocking<S: Storage + ?Sized>(
        &self,
        storage: &mut S,
        offset_bytes: u64,
        length: usize,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let buffer = AlignedBuffer::for_length(length);
        let mut others = Vec::new();
        let request = IoRequest::Read { file: self.file, offset_bytes, buffer };
        let result = execute(storage, IoToken(u64::MAX), request, &mut others)?;
        assert!(others.is_empty(), "recovery runs alone");
        Ok(match result {
            Ok(IoDone::Read(buffer)) => Some(buffer.to_vec()),
            Ok(_) => unreachable!("a read completes as a read"),
            Err(_) => None,
        })
    }

    fn set_image(&mut self, slot: usize, header: &Header) {
        self.header_image[slot * HEADER_SIZE..(slot + 1) * HEADER_SIZE]
            .copy_from_slice(&header.to_bytes());
    }

    /// Writes a prepare into its slot, then its redundant header. At most one write per
    /// slot is in flight; a newer write for a busy slot waits and supersedes older waiters.
    pub fn write_prepare<S: Storage + ?Sized>(&mut self, storage: &mut S, message: &Message) {
        assert!(message.as_bytes().len() <= self.message_size_max);
        let slot = self.layout.slot(message.header().op);
        if self.slot_writing[slot] {
            self.slot_queued.insert(slot, message.clone());
            return;
        }
        self.slot_writing[slot] = true;
        let header = *message.header();
        let request = IoRequest::Write {
            file: self.file,
            offset_bytes: self.layout.prepare_offset(slot),
            buffer: AlignedBuffer::from_slice(message.as_bytes()),
        };
        self.submit(
            storage,
            request,
            Pending::Prepare { op: header.op, checksum: header.checksum, header },
        );
    }

    /// Reads the prepare `(op, checksum)` back from its slot.
    pub fn read_prepare<S: Storage + ?Sized>(&mut self, storage: &mut S, op: u64, checksum: u128) {
        let slot = self.layout.slot(op);
        let request = IoRequest::Read {
            file: self.file,
            offset_bytes: self.layout.prepare_offset(slot),
            buffer: AlignedBuffer::for_length(self.message_size_max),
        };
        self.submit(storage, request, Pending::Read { op, checksum });
    }

    /// Syncs the file; `op` is echoed in [`JournalEvent::Synced`].
    pub fn sync<S: Storage + ?Sized>(&mut self, storage: &mut S, op: u64) {
        self.submit(storage, IoRequest::Sync { file: self.file }, Pending::Sync { op });
    }

    /// Writes every superblock copy, then syncs. One update at a time.
    pub fn write_superblock<S: Storage + ?Sized>(&mut self, storage: &mut S, state: &VsrState) {
        assert_eq!(self.superblock_copies_left, 0, "one superblock update at a time");
        let bytes = AlignedBuffer::from_slice(&state.encode());
        self.superblock_copies_left = SUPERBLOCK_COPIES;
        for copy in 0..SUPERBLOCK_COPIES {
            let request = IoRequest::Write {
                file: self.file,
                offset_bytes: self.layout.superblock_offset(copy),
                buffer: bytes.clone(),
            };
            self.submit(storage, request, Pending::SuperblockCopy { sequence: state.sequence });
        }
    }

    /// Writes a checkpoint snapshot into `area`, then syncs.
    ///
    /// # Panics
    /// If the snapshot exceeds the layout's area (the caller bounds snapshots).
    pub fn write_snapshot<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        area: u8,
        snapshot: &[u8],
    ) {
        assert!(snapshot.len() as u64 <= self.layout.snapshot_size_max_bytes, "snapshot too large");
        let size = u32::try_from(snapshot.len()).expect("bounded by the area size");
        let sum = checksum(snapshot);
        if snapshot.is_empty() {
            self.ready.push_back(JournalEvent::SnapshotWritten { area, size, checksum: sum });
            return;
        }
        let request = IoRequest::Write {
            file: self.file,
            offset_bytes: self.layout.snapshot_offset(area),
            buffer: AlignedBuffer::from_slice(snapshot),
        };
        self.submit(storage, request, Pending::SnapshotWrite { area, size, checksum: sum });
    }

    /// Delivers events that needed no I/O.
    pub fn poll_ready(&mut self, events: &mut Vec<JournalEvent>) {
        events.extend(self.ready.drain(..));
    }

    /// Handles one completion of a token this store owns, appending resulting events.
    ///
    /// A failed write or sync is an environment failure the replica cannot reason about
    /// (the data may or may not be on disk), so it panics with a clear message; the
    /// simulator injects faults as corrupted bytes, not failed writes. A failed read is
    /// reported as a missing prepare.
    pub fn on_completion<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        completion: Completion,
        events: &mut Vec<JournalEvent>,
    ) {
        assert!(self.owns(completion.token));
        let sequence = completion.token.0 & ((1 << TOKEN_SEQUENCE_BITS) - 1);
        let pending = self.pending.remove(&sequence).expect("completion of a pending journal I/O");
        match (pending, completion.result) {
            (Pending::Read { op, checksum }, result) => {
                let message = match result {
                    Ok(IoDone::Read(buffer)) => {
                        verify_prepare(&buffer, op, checksum, self.message_size_max).map(Box::new)
                    }
                    _ => None,
                };
                events.push(JournalEvent::PrepareRead { op, checksum, message });
            }
            (_, Err(error)) => panic!("journal write or sync failed: {error}"),
            (Pending::Prepare { op, checksum, header }, Ok(_)) => {
                self.on_prepare_written(storage, op, checksum, &header);
            }
            (Pending::HeaderSector { sector, waiters }, Ok(_)) => {
                for waiter in waiters {
                    events.push(match waiter {
                        Waiter::Prepare(op, checksum) => {
                            JournalEvent::PrepareWritten { op, checksum }
                        }
                        Waiter::Header(op, checksum) => {
                            JournalEvent::HeaderWritten { op, checksum }
                        }
                    });
                }
                self.sectors[sector].in_flight = false;
                if !self.sectors[sector].queued.is_empty() {
                    self.write_sector(storage, sector);
                }
            }
            (Pending::Sync { op }, Ok(_)) => events.push(JournalEvent::Synced { op }),
            (Pending::SuperblockCopy { sequence }, Ok(_)) => {
                self.superblock_copies_left -= 1;
                if self.superblock_copies_left == 0 {
                    self.submit(
                        storage,
                        IoRequest::Sync { file: self.file },
                        Pending::SuperblockSync { sequence },
                    );
                }
            }
            (Pending::SuperblockSync { sequence }, Ok(_)) => {
                events.push(JournalEvent::SuperblockWritten { sequence });
            }
            (Pending::SnapshotWrite { area, size, checksum }, Ok(_)) => {
                let pending = Pending::SnapshotSync { area, size, checksum };
                self.submit(storage, IoRequest::Sync { file: self.file }, pending);
            }
            (Pending::SnapshotSync { area, size, checksum }, Ok(_)) => {
                events.push(JournalEvent::SnapshotWritten { area, size, checksum });
            }
        }
    }

    fn on_prepare_written<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        op: u64,
        checksum: u128,
        header: &Header,
    ) {
        let slot = self.layout.slot(op);
        self.slot_writing[slot] = false;
        if let Some(next) = self.slot_queued.remove(&slot) {
            // Superseded before its header was written: the newer prepare takes the slot.
            self.write_prepare(storage, &next);
            return;
        }
        self.set_image(slot, header);
        self.queue_sector(storage, slot, Waiter::Prepare(op, checksum));
    }

    fn queue_sector<S: Storage + ?Sized>(&mut self, storage: &mut S, slot: usize, waiter: Waiter) {
        let sector = slot * HEADER_SIZE / SECTOR_SIZE;
        self.sectors[sector].queued.push(waiter);
        if !self.sectors[sector].in_flight {
            self.write_sector(storage, sector);
        }
    }

    /// Writes `header` into the redundant header ring *without* its prepare: after a
    /// crash the slot then reads "header intact, prepare missing" — faulty, never nacked.
    /// This is how a replica makes a faulty mark survive a restart (an op it may have
    /// acknowledged but no longer holds). Completes with [`JournalEvent::HeaderWritten`].
    pub fn write_header<S: Storage + ?Sized>(&mut self, storage: &mut S, header: &Header) {
        let slot = self.layout.slot(header.op);
        self.set_image(slot, header);
        self.queue_sector(storage, slot, Waiter::Header(header.op, header.checksum));
    }

    fn write_sector<S: Storage + ?Sized>(&mut self, storage: &mut S, sector: usize) {
        let state = &mut self.sectors[sector];
        assert!(!state.in_flight);
        state.in_flight = true;
        let waiters = std::mem::take(&mut state.queued);
        let bytes = &self.header_image[sector * SECTOR_SIZE..(sector + 1) * SECTOR_SIZE];
        let request = IoRequest::Write {
            file: self.file,
            offset_bytes: self.layout.header_sector_offset(sector),
            buffer: AlignedBuffer::from_slice(bytes),
        };
        self.submit(storage, request, Pending::HeaderSector { sector, waiters });
    }
}
