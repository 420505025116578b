//! Both index parsers are total, accept only a prefix of whole entries, and every entry
//! they accept re-encodes to the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vireo_storage::partition::index::{IndexStop, OFFSET_INDEX_ENTRY_SIZE, parse_offset_index};
use vireo_storage::partition::time_index::{TIME_INDEX_ENTRY_SIZE, parse_time_index};

fuzz_target!(|data: &[u8]| {
    let (entries, stop) = parse_offset_index(data);
    for (slot, entry) in entries.iter().enumerate() {
        let at = slot * OFFSET_INDEX_ENTRY_SIZE;
        assert_eq!(&entry.encode(slot as u64)[..], &data[at..at + OFFSET_INDEX_ENTRY_SIZE]);
    }
    if let IndexStop::Corrupt { entry_index } = stop {
        assert_eq!(entry_index, entries.len() as u64);
    }
    let (entries, _) = parse_time_index(data);
    for (slot, entry) in entries.iter().enumerate() {
        let at = slot * TIME_INDEX_ENTRY_SIZE;
        assert_eq!(&entry.encode(slot as u64)[..], &data[at..at + TIME_INDEX_ENTRY_SIZE]);
    }
});
