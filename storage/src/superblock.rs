//! The superblock: a replica's durable VSR state, in several redundant checksummed copies.
//!
//! Every update writes all [`SUPERBLOCK_COPIES`] copies with a higher `sequence` and then
//! syncs; nothing that depends on the new state is sent before the sync completes. A crash
//! mid-update leaves some copies new, some old and at most one torn: reading picks the
//! newest copy whose checksum is valid, which is either the old state or the new one —
//! never a mix, and never nothing while any copy survives.

use vireo_protocol::vsr::{Checksum, HEADER_SIZE, Header, checksum};

/// Number of redundant copies; each lives in its own sectors.
pub const SUPERBLOCK_COPIES: usize = 4;

/// Bytes reserved per copy (a multiple of the sector size).
pub const SUPERBLOCK_COPY_SIZE: usize = 16 * 1024;

/// Most headers a superblock carries: the suffix of the log installed by the last view
/// change (`view_headers`). Bounds the consensus pipeline (see `vireo-consensus`).
pub const VIEW_HEADERS_MAX: usize = 56;

const MAGIC: u64 = u64::from_le_bytes(*b"VIREOSB1");
const FIXED_SIZE: usize =
    16 + 8 + 8 + 16 + 4 + 1 + 1 + 1 + 1 + 4 + 4 + 8 + 8 + 8 + 8 + 16 + 1 + 4 + 16 + 4;

const _: () = assert!(FIXED_SIZE + VIEW_HEADERS_MAX * HEADER_SIZE <= SUPERBLOCK_COPY_SIZE);
const _: () = assert!(SUPERBLOCK_COPY_SIZE.is_multiple_of(crate::SECTOR_SIZE));

/// Where the state machine's checkpoint snapshot lives and what it must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckpointState {
    /// The op the checkpoint reflects (every op ≤ it is applied in the snapshot).
    pub op: u64,
    /// Checksum of that op's prepare: anchors the hash chain of the ops after it.
    pub prepare_checksum: Checksum,
    /// Which of the two snapshot areas holds the snapshot (they alternate).
    pub area: u8,
    /// Snapshot length in bytes (0 = no snapshot: the empty initial state).
    pub snapshot_size: u32,
    /// blake3 of the snapshot bytes.
    pub snapshot_checksum: Checksum,
}

/// A replica's durable VSR state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsrState {
    /// Increases by one with every write; the newest valid copy wins.
    pub sequence: u64,
    /// The cluster this data file belongs to.
    pub cluster: u128,
    /// This replica's index.
    pub replica: u8,
    /// Number of replicas in the cluster.
    pub replica_count: u8,
    /// The consensus group.
    pub group: u32,
    /// The latest view this replica has voted in or joined; never decreases.
    pub view: u32,
    /// The latest view in which this replica's status was normal; ≤ `view`.
    pub log_view: u32,
    /// Highest op known committed when written.
    pub commit_max: u64,
    /// Every journal write of an op ≤ this was synced to disk.
    pub synced_op: u64,
    /// The latest durable checkpoint.
    pub checkpoint: CheckpointState,
    /// True only when written by a clean shutdown with every journal write synced; the
    /// replica clears it (durably) before it acknowledges anything after a restart.
    pub clean_shutdown: bool,
    /// True while the replica is in `recovering_head` (it lost unsynced journal writes and
    /// no start_view has vouched for its log since): a later restart, however clean, stays
    /// in doubt until one does.
    pub recovering_head: bool,
    /// The log suffix installed with `log_view` (headers, ascending op), so a crash after
    /// joining a view cannot resurrect entries that view discarded.
    pub view_headers: Vec<Header>,
}

/// Why a superblock copy was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SuperblockError {
    /// Shorter than a copy.
    #[error("superblock copy truncated")]
    Truncated,
    /// All zero: never written.
    #[error("superblock copy never written")]
    Empty,
    /// The checksum does not match.
    #[error("superblock copy checksum mismatch")]
    Checksum,
    /// Not a Vireo superblock, or another format version.
    #[error("bad superblock magic")]
    Magic,
    /// A field is out of range (log_view > view, too many headers, …).
    #[error("superblock field out of range")]
    Invalid,
    /// No copy is valid.
    #[error("no valid superblock copy")]
    NoValidCopy,
}

impl VsrState {
    /// The state of a freshly formatted replica.
    #[must_use]
    pub fn format(cluster: u128, group: u32, replica: u8, replica_count: u8) -> Self {
        assert!(replica < replica_count);
        Self {
            sequence: 1,
            cluster,
            replica,
            replica_count,
            group,
            view: 0,
            log_view: 0,
            commit_max: 0,
            synced_op: 0,
            checkpoint: CheckpointState::default(),
            clean_shutdown: true,
            recovering_head: false,
            view_headers: Vec::new(),
        }
    }

    /// Asserts the relations every stored state satisfies.
    pub fn check_invariants(&self) {
        assert!(self.replica < self.replica_count);
        assert!(self.log_view <= self.view);
        assert!(self.checkpoint.op <= self.commit_max);
        assert!(self.view_headers.len() <= VIEW_HEADERS_MAX);
        assert!(self.view_headers.windows(2).all(|w| w[0].op < w[1].op));
    }

    /// Encodes one copy into exactly [`SUPERBLOCK_COPY_SIZE`] bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        self.check_invariants();
        let mut out = Vec::with_capacity(SUPERBLOCK_COPY_SIZE);
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&self.cluster.to_le_bytes());
        out.extend_from_slice(&self.group.to_le_bytes());
        out.push(self.replica);
        out.push(self.replica_count);
        out.push(u8::from(self.clean_shutdown));
        out.push(u8::from(self.recovering_head));
        out.extend_from_slice(&self.view.to_le_bytes());
        out.extend_from_slice(&self.log_view.to_le_bytes());
        out.extend_from_slice(&self.commit_max.to_le_bytes());
        out.extend_from_slice(&self.synced_op.to_le_bytes());
        out.extend_from_slice(&self.checkpoint.op.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&self.checkpoint.prepare_checksum.to_le_bytes());
        out.push(self.checkpoint.area);
        out.extend_from_slice(&self.checkpoint.snapshot_size.to_le_bytes());
        out.extend_from_slice(&self.checkpoint.snapshot_checksum.to_le_bytes());
        let count = u32::try_from(self.view_headers.len()).expect("bounded by VIEW_HEADERS_MAX");
        out.extend_from_slice(&count.to_le_bytes());
        assert_eq!(out.len(), FIXED_SIZE);
        for header in &self.view_headers {
            out.extend_from_slice(&header.to_bytes());
        }
        out.resize(SUPERBLOCK_COPY_SIZE, 0);
        let sum = checksum(&out[16..]);
        out[..16].copy_from_slice(&sum.to_le_bytes());
        out
    }

    /// Decodes one copy. Total: any bytes give a valid state or a typed error.
    pub fn decode(bytes: &[u8]) -> Result<Self, SuperblockError> {
        let bytes = bytes.get(..SUPERBLOCK_COPY_SIZE).ok_or(SuperblockError::Truncated)?;
        if bytes.iter().all(|&b| b == 0) {
            return Err(SuperblockError::Empty);
        }
        let mut reader = Reader { bytes, at: 0 };
        let stored = reader.u128();
        if stored != checksum(&bytes[16..]) {
            return Err(SuperblockError::Checksum);
        }
        if reader.u64() != MAGIC {
            return Err(SuperblockError::Magic);
        }
        let sequence = reader.u64();
        let cluster = reader.u128();
        let group = reader.u32();
        let replica = reader.u8();
        let replica_count = reader.u8();
        let clean_shutdown = match reader.u8() {
            0 => false,
            1 => true,
            _ => return Err(SuperblockError::Invalid),
        };
        let recovering_head = match reader.u8() {
            0 => false,
            1 => true,
            _ => return Err(SuperblockError::Invalid),
        };
        let view = reader.u32();
        let log_view = reader.u32();
        let commit_max = reader.u64();
        let synced_op = reader.u64();
        let checkpoint_op = reader.u64();
        let _reserved = reader.u64();
        let prepare_checksum = reader.u128();
        let area = reader.u8();
        let snapshot_size = reader.u32();
        let snapshot_checksum = reader.u128();
        let count = reader.u32() as usize;
        if count > VIEW_HEADERS_MAX
            || replica >= replica_count
            || log_view > view
            || checkpoint_op > commit_max
            || area > 1
        {
            return Err(SuperblockError::Invalid);
        }
        let mut view_headers = Vec::with_capacity(count);
        for index in 0..count {
            let at = FIXED_SIZE + index * HEADER_SIZE;
            let header = Header::decode(&bytes[at..at + HEADER_SIZE])
                .map_err(|_| SuperblockError::Invalid)?;
            if view_headers.last().is_some_and(|last: &Header| last.op >= header.op) {
                return Err(SuperblockError::Invalid);
            }
            view_headers.push(header);
        }
        Ok(Self {
            sequence,
            cluster,
            replica,
            replica_count,
            group,
            view,
            log_view,
            commit_max,
            synced_op,
            checkpoint: CheckpointState {
                op: checkpoint_op,
                prepare_checksum,
                area,
                snapshot_size,
                snapshot_checksum,
            },
            clean_shutdown,
            recovering_head,
            view_headers,
        })
    }

    /// Picks the newest valid copy among `copies` (each [`SUPERBLOCK_COPY_SIZE`] bytes).
    pub fn read_newest<'a>(
        copies: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, SuperblockError> {
        copies
            .into_iter()
            .filter_map(|bytes| Self::decode(bytes).ok())
            .max_by_key(|state| state.sequence)
            .ok_or(SuperblockError::NoValidCopy)
    }
}

/// A cursor over bytes whose length was checked up front (the fixed part fits a copy).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        out
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn u128(&mut self) -> u128 {
        u128::from_le_bytes(self.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vireo_protocol::vsr::Command;

    fn state() -> VsrState {
        let mut state = VsrState::format(7, 1, 2, 3);
        state.sequence = 9;
        state.view = 5;
        state.log_view = 4;
        state.commit_max = 100;
        state.synced_op = 90;
        state.checkpoint.op = 64;
        state.checkpoint.prepare_checksum = 1234;
        state.clean_shutdown = false;
        state.view_headers = (95..=101)
            .map(|op| {
                let mut header = Header::new(Command::Prepare);
                header.op = op;
                header.seal(&[]);
                header
            })
            .collect();
        state
    }

    #[test]
    fn round_trip() {
        let state = state();
        let bytes = state.encode();
        assert_eq!(bytes.len(), SUPERBLOCK_COPY_SIZE);
        assert_eq!(VsrState::decode(&bytes), Ok(state));
    }

    #[test]
    fn newest_valid_copy_wins_and_torn_copy_is_skipped() {
        let old = state();
        let mut new = old.clone();
        new.sequence += 1;
        new.view += 1;
        let mut torn = new.encode();
        torn[FIXED_SIZE..].fill(0); // Only the first sectors landed.
        let old_bytes = old.encode();
        let new_bytes = new.encode();
        let picked = VsrState::read_newest([&old_bytes[..], &torn[..], &old_bytes[..]]).unwrap();
        assert_eq!(picked, old);
        let picked = VsrState::read_newest([&old_bytes[..], &new_bytes[..], &torn[..]]).unwrap();
        assert_eq!(picked, new);
        let zero = vec![0u8; SUPERBLOCK_COPY_SIZE];
        assert_eq!(
            VsrState::read_newest([&zero[..], &torn[..]]),
            Err(SuperblockError::NoValidCopy)
        );
    }

    #[test]
    fn every_flipped_byte_in_the_used_part_is_detected() {
        let bytes = state().encode();
        for index in (0..FIXED_SIZE + 7 * HEADER_SIZE).step_by(7) {
            let mut bad = bytes.clone();
            bad[index] ^= 0x40;
            assert!(VsrState::decode(&bad).is_err(), "flip at {index}");
        }
    }

    proptest! {
        #[test]
        fn decode_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..SUPERBLOCK_COPY_SIZE + 8)) {
            let _ = VsrState::decode(&bytes);
        }
    }
}
