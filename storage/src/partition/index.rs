//! The offset index (`.index`): one fixed-size entry per record of a segment, in record
//! order, so entry `i` lives at file position `i * OFFSET_INDEX_ENTRY_SIZE`.
//!
//! ```text
//! offset size field
//!      0    4 relative_offset   base_offset - segment base offset
//!      4    4 position_bytes    where the record starts in the .log
//!      8    4 record_size_bytes header + payload
//!     12    4 checksum          crc32c (offset-index domain) over bytes 0..12 and the
//!                               entry's own index, so a sector landing at the wrong place
//!                               in the file fails its checksums
//! ```
//!
//! **Lookup complexity.** The partition log keeps every segment's entries in memory (loaded
//! and verified at open). Finding the record holding offset `o` is a binary search over the
//! segments by base offset, `O(log S)`, then a binary search over that segment's entries by
//! relative offset, `O(log E_s)` with `E_s <= segment_size_bytes / RECORD_HEADER_SIZE`;
//! the entry then gives the record's file position directly, and on disk entry `i` is at
//! `i * 16` (O(1)). The index is a checked cache of the log: recovery verifies it against
//! the log and rebuilds it when it disagrees.

/// Size of one offset-index entry in bytes.
pub const OFFSET_INDEX_ENTRY_SIZE: usize = 16;
const DOMAIN: u32 = 0x1DE0_0FF5;

/// One offset-index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetIndexEntry {
    /// `base_offset` of the record minus the segment's base offset.
    pub relative_offset: u32,
    /// Record position in the segment's log file.
    pub position_bytes: u32,
    /// Header plus payload.
    pub record_size_bytes: u32,
}

fn checksum(body: &[u8], entry_index: u64) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c_append(DOMAIN, &entry_index.to_le_bytes()), body)
}

impl OffsetIndexEntry {
    /// Encodes the entry stored at slot `entry_index`.
    #[must_use]
    pub fn encode(&self, entry_index: u64) -> [u8; OFFSET_INDEX_ENTRY_SIZE] {
        let mut bytes = [0_u8; OFFSET_INDEX_ENTRY_SIZE];
        bytes[0..4].copy_from_slice(&self.relative_offset.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.position_bytes.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.record_size_bytes.to_le_bytes());
        let sum = checksum(&bytes[0..12], entry_index);
        bytes[12..16].copy_from_slice(&sum.to_le_bytes());
        bytes
    }

    /// Decodes slot `entry_index`; `None` when its checksum fails (including all zeros).
    #[must_use]
    pub fn decode(bytes: &[u8; OFFSET_INDEX_ENTRY_SIZE], entry_index: u64) -> Option<Self> {
        let field = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
        if field(12) != checksum(&bytes[0..12], entry_index) {
            return None;
        }
        Some(Self {
            relative_offset: field(0),
            position_bytes: field(4),
            record_size_bytes: field(8),
        })
    }
}

/// Where parsing an index file stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexStop {
    /// At the end of the file, or at an all-zero slot followed only by zeros.
    End,
    /// At slot `entry_index`, which fails its checksum and is not trailing zeros.
    Corrupt {
        /// The first bad slot.
        entry_index: u64,
    },
}

/// Parses the valid prefix of a fixed-size-entry file with `decode`. Total on any input.
pub fn parse_entries<T, const N: usize>(
    bytes: &[u8],
    decode: impl Fn(&[u8; N], u64) -> Option<T>,
) -> (Vec<T>, IndexStop) {
    let mut entries = Vec::with_capacity(bytes.len() / N);
    for (entry_index, chunk) in (0_u64..).zip(bytes.chunks(N)) {
        let decoded = <&[u8; N]>::try_from(chunk).ok().and_then(|slot| decode(slot, entry_index));
        match decoded {
            Some(entry) => entries.push(entry),
            None => {
                let start = usize::try_from(entry_index).expect("bounded by len") * N;
                let stop = if bytes[start..].iter().all(|&b| b == 0) {
                    IndexStop::End
                } else {
                    IndexStop::Corrupt { entry_index }
                };
                return (entries, stop);
            }
        }
    }
    (entries, IndexStop::End)
}

/// Parses an offset-index file.
#[must_use]
pub fn parse_offset_index(bytes: &[u8]) -> (Vec<OffsetIndexEntry>, IndexStop) {
    parse_entries(bytes, OffsetIndexEntry::decode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slot_is_bound_into_the_checksum() {
        let entry =
            OffsetIndexEntry { relative_offset: 5, position_bytes: 64, record_size_bytes: 99 };
        let bytes = entry.encode(3);
        assert_eq!(OffsetIndexEntry::decode(&bytes, 3), Some(entry));
        assert_eq!(OffsetIndexEntry::decode(&bytes, 4), None, "misplaced entry must fail");
        assert_eq!(OffsetIndexEntry::decode(&[0; 16], 0), None);
    }

    /// An entry encoded by an independent implementation (`storage/fuzz/make_seeds.py`).
    #[test]
    fn independent_encoding_of_the_documented_layout_decodes() {
        let hex = "0500000040000000630000009a287723";
        let bytes: Vec<u8> =
            (0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
        let slot: [u8; 16] = bytes.try_into().unwrap();
        let expected =
            OffsetIndexEntry { relative_offset: 5, position_bytes: 64, record_size_bytes: 99 };
        assert_eq!(OffsetIndexEntry::decode(&slot, 2), Some(expected));
    }

    #[test]
    fn parse_stops_at_zeros_or_corruption() {
        let mut file = Vec::new();
        for i in 0..4_u32 {
            let entry = OffsetIndexEntry {
                relative_offset: i,
                position_bytes: i * 100,
                record_size_bytes: 100,
            };
            file.extend_from_slice(&entry.encode(u64::from(i)));
        }
        let (entries, stop) = parse_offset_index(&file);
        assert_eq!((entries.len(), stop), (4, IndexStop::End));
        let mut padded = file.clone();
        padded.resize(4096, 0);
        let (entries, stop) = parse_offset_index(&padded);
        assert_eq!((entries.len(), stop), (4, IndexStop::End));
        file[20] ^= 1;
        let (entries, stop) = parse_offset_index(&file);
        assert_eq!((entries.len(), stop), (1, IndexStop::Corrupt { entry_index: 1 }));
        // A partial trailing entry of garbage is corruption, of zeros is the end.
        let (entries, stop) = parse_offset_index(&[1, 2, 3]);
        assert_eq!((entries.len(), stop), (0, IndexStop::Corrupt { entry_index: 0 }));
        let (entries, stop) = parse_offset_index(&[0, 0, 0]);
        assert_eq!((entries.len(), stop), (0, IndexStop::End));
    }

    proptest! {
        #[test]
        fn round_trip(rel in any::<u32>(), pos in any::<u32>(), size in any::<u32>(), slot in any::<u64>()) {
            let entry = OffsetIndexEntry { relative_offset: rel, position_bytes: pos, record_size_bytes: size };
            prop_assert_eq!(OffsetIndexEntry::decode(&entry.encode(slot), slot), Some(entry));
        }

        #[test]
        fn parse_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let (entries, _) = parse_offset_index(&bytes);
            prop_assert!(entries.len() <= bytes.len() / OFFSET_INDEX_ENTRY_SIZE);
        }
    }
}
