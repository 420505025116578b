//! Where each zone of a group's data file lives.

use crate::buffer::{SECTOR_SIZE, round_up};
use crate::superblock::{SUPERBLOCK_COPIES, SUPERBLOCK_COPY_SIZE};
use vireo_protocol::vsr::HEADER_SIZE;

/// Redundant headers per header-ring sector.
pub const HEADERS_PER_SECTOR: usize = SECTOR_SIZE / HEADER_SIZE;

/// Geometry of one group's data file. All sizes are validated at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalLayout {
    /// Slots in the ring; op `o` lives in slot `o % slot_count`.
    pub slot_count: u64,
    /// Bytes per prepare slot: the largest message, rounded up to whole sectors.
    pub slot_size_bytes: u64,
    /// Bytes per checkpoint-snapshot area (two areas alternate).
    pub snapshot_size_max_bytes: u64,
}

impl JournalLayout {
    /// A layout for `slot_count` slots of messages up to `message_size_max` bytes.
    ///
    /// # Panics
    /// On a zero slot count or sizes that are zero (configuration is validated earlier).
    #[must_use]
    pub fn new(slot_count: u64, message_size_max: usize, snapshot_size_max: usize) -> Self {
        assert!(slot_count >= 4, "journal needs at least 4 slots");
        assert!(message_size_max >= HEADER_SIZE);
        assert!(snapshot_size_max > 0);
        Self {
            slot_count,
            slot_size_bytes: round_up(message_size_max) as u64,
            snapshot_size_max_bytes: round_up(snapshot_size_max) as u64,
        }
    }

    /// The slot of `op`.
    #[must_use]
    pub fn slot(&self, op: u64) -> usize {
        usize::try_from(op % self.slot_count).expect("slot fits usize")
    }

    /// Offset of superblock copy `copy`.
    #[must_use]
    pub fn superblock_offset(&self, copy: usize) -> u64 {
        assert!(copy < SUPERBLOCK_COPIES);
        (copy * SUPERBLOCK_COPY_SIZE) as u64
    }

    /// Offset of snapshot area `area` (0 or 1).
    #[must_use]
    pub fn snapshot_offset(&self, area: u8) -> u64 {
        assert!(area < 2);
        (SUPERBLOCK_COPIES * SUPERBLOCK_COPY_SIZE) as u64
            + u64::from(area) * self.snapshot_size_max_bytes
    }

    /// Offset of the redundant header ring.
    #[must_use]
    pub fn header_ring_offset(&self) -> u64 {
        self.snapshot_offset(1) + self.snapshot_size_max_bytes
    }

    /// Bytes of the header ring, whole sectors.
    #[must_use]
    pub fn header_ring_size_bytes(&self) -> u64 {
        let slots = usize::try_from(self.slot_count).expect("slot count fits usize");
        round_up(slots * HEADER_SIZE) as u64
    }

    /// Header-ring sectors.
    #[must_use]
    pub fn header_sector_count(&self) -> usize {
        usize::try_from(self.header_ring_size_bytes()).expect("fits usize") / SECTOR_SIZE
    }

    /// Offset of header-ring sector `sector`.
    #[must_use]
    pub fn header_sector_offset(&self, sector: usize) -> u64 {
        assert!(sector < self.header_sector_count());
        self.header_ring_offset() + (sector * SECTOR_SIZE) as u64
    }

    /// Offset of prepare slot `slot`.
    #[must_use]
    pub fn prepare_offset(&self, slot: usize) -> u64 {
        assert!((slot as u64) < self.slot_count);
        self.header_ring_offset()
            + self.header_ring_size_bytes()
            + slot as u64 * self.slot_size_bytes
    }

    /// Total size of the data file.
    #[must_use]
    pub fn total_size_bytes(&self) -> u64 {
        self.header_ring_offset()
            + self.header_ring_size_bytes()
            + self.slot_count * self.slot_size_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_do_not_overlap_and_are_aligned() {
        let layout = JournalLayout::new(64, 10_000, 5000);
        let sector = SECTOR_SIZE as u64;
        assert_eq!(layout.slot_size_bytes, 12_288);
        assert!(
            layout.superblock_offset(SUPERBLOCK_COPIES - 1) + SUPERBLOCK_COPY_SIZE as u64
                <= layout.snapshot_offset(0)
        );
        assert!(
            layout.snapshot_offset(0) + layout.snapshot_size_max_bytes <= layout.snapshot_offset(1)
        );
        assert_eq!(layout.header_sector_count(), 4);
        assert_eq!(layout.prepare_offset(0), layout.header_ring_offset() + 4 * sector);
        assert_eq!(layout.total_size_bytes(), layout.prepare_offset(63) + layout.slot_size_bytes);
        for offset in
            [layout.snapshot_offset(1), layout.header_ring_offset(), layout.prepare_offset(5)]
        {
            assert_eq!(offset % sector, 0);
        }
        assert_eq!(layout.slot(130), 2);
    }
}
