//! The time index (`.timeindex`): one fixed-size entry per record of a segment, parallel to
//! the offset index (entry `i` describes the same record), mapping time to offsets.
//!
//! ```text
//! offset size field
//!      0    8 timestamp_us     running maximum of the records' max_timestamp_us within the
//!                              segment, so the file is sorted and binary-searchable even
//!                              when producers' clocks go backwards
//!      8    4 relative_offset  base_offset - segment base offset
//!     12    4 checksum         crc32c (time-index domain) over bytes 0..12 and the slot
//! ```
//!
//! Lookup of "first batch with a message at or after T" is a binary search over segments
//! then over entries, as for the offset index.

use super::index::{IndexStop, parse_entries};

/// Size of one time-index entry in bytes.
pub const TIME_INDEX_ENTRY_SIZE: usize = 16;
const DOMAIN: u32 = 0x71AE_1DE0;

/// One time-index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeIndexEntry {
    /// Running maximum timestamp within the segment up to and including this record.
    pub timestamp_us: u64,
    /// `base_offset` of the record minus the segment's base offset.
    pub relative_offset: u32,
}

fn checksum(body: &[u8], entry_index: u64) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c_append(DOMAIN, &entry_index.to_le_bytes()), body)
}

impl TimeIndexEntry {
    /// Encodes the entry stored at slot `entry_index`.
    #[must_use]
    pub fn encode(&self, entry_index: u64) -> [u8; TIME_INDEX_ENTRY_SIZE] {
        let mut bytes = [0_u8; TIME_INDEX_ENTRY_SIZE];
        bytes[0..8].copy_from_slice(&self.timestamp_us.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.relative_offset.to_le_bytes());
        let sum = checksum(&bytes[0..12], entry_index);
        bytes[12..16].copy_from_slice(&sum.to_le_bytes());
        bytes
    }

    /// Decodes slot `entry_index`; `None` when its checksum fails (including all zeros).
    #[must_use]
    pub fn decode(bytes: &[u8; TIME_INDEX_ENTRY_SIZE], entry_index: u64) -> Option<Self> {
        let stored = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
        if stored != checksum(&bytes[0..12], entry_index) {
            return None;
        }
        Some(Self {
            timestamp_us: u64::from_le_bytes(bytes[0..8].try_into().expect("8 bytes")),
            relative_offset: u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")),
        })
    }
}

/// Parses a time-index file. Total on any input.
#[must_use]
pub fn parse_time_index(bytes: &[u8]) -> (Vec<TimeIndexEntry>, IndexStop) {
    parse_entries(bytes, TimeIndexEntry::decode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::index::OffsetIndexEntry;
    use proptest::prelude::*;

    #[test]
    fn domains_differ_from_the_offset_index() {
        let offset =
            OffsetIndexEntry { relative_offset: 0, position_bytes: 0, record_size_bytes: 0 };
        let bytes = offset.encode(0);
        assert_eq!(TimeIndexEntry::decode(&bytes, 0), None, "an offset entry is no time entry");
        let entry = TimeIndexEntry { timestamp_us: 77, relative_offset: 3 };
        let (entries, stop) = parse_time_index(&entry.encode(0));
        assert_eq!((entries, stop), (vec![entry], IndexStop::End));
    }

    proptest! {
        #[test]
        fn round_trip(ts in any::<u64>(), rel in any::<u32>(), slot in any::<u64>()) {
            let entry = TimeIndexEntry { timestamp_us: ts, relative_offset: rel };
            prop_assert_eq!(TimeIndexEntry::decode(&entry.encode(slot), slot), Some(entry));
        }
    }
}
