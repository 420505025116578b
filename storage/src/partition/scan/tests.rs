//! Scanning: clean files, padding, torn tails, interior faults, misdirected records,
//! unreadable sectors, and totality on arbitrary bytes.

use super::*;
use crate::partition::record::{BatchMeta, encode_header};
use proptest::prelude::*;

/// Builds a segment of records with `counts` messages each, padding to a sector after the
/// records listed in `pad_after`.
fn segment(base: u64, counts: &[u32], pad_after: &[usize]) -> (Vec<u8>, Vec<u64>) {
    let mut bytes = Vec::new();
    let mut positions = Vec::new();
    let mut offset = base;
    for (i, &count) in counts.iter().enumerate() {
        let payload = vec![i as u8; 100 + i * 37];
        let meta = BatchMeta {
            base_offset: offset,
            message_count: count,
            base_timestamp_us: 5,
            max_timestamp_us: 9,
        };
        positions.push(bytes.len() as u64);
        let header = encode_header(i as u64 + 1, &meta, bytes.len() as u64, &payload);
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&payload);
        offset += u64::from(count);
        if pad_after.contains(&i) {
            bytes.resize(bytes.len().div_ceil(SECTOR_SIZE) * SECTOR_SIZE, 0);
        }
    }
    (bytes, positions)
}

fn start(base: u64) -> ScanStart {
    ScanStart { base_offset: base, op_min: 0 }
}

fn records(scan: &SegmentScan) -> Vec<u64> {
    scan.items
        .iter()
        .filter_map(|item| match item {
            ScanItem::Record(header) => Some(header.meta.base_offset),
            ScanItem::Fault { .. } => None,
        })
        .collect()
}

#[test]
fn clean_segment_with_padding_and_trailing_zeros() {
    let (mut bytes, positions) = segment(10, &[2, 3, 1, 4], &[1]);
    assert_eq!(positions[2], SECTOR_SIZE as u64, "padding moved record 2 to the boundary");
    let end = bytes.len() as u64;
    bytes.resize(64 * 1024, 0); // preallocated
    let scan = scan_segment(&bytes, &[], start(10));
    assert_eq!(records(&scan), vec![10, 12, 15, 16]);
    assert_eq!(scan.tail, ScanTail::Clean);
    assert_eq!(scan.data_end_bytes, end);
}

#[test]
fn torn_final_record_is_a_garbage_tail() {
    let (bytes, positions) = segment(0, &[1, 1, 1], &[]);
    let cut = positions[2] as usize + 70;
    let scan = scan_segment(&bytes[..cut], &[], start(0));
    assert_eq!(records(&scan), vec![0, 1]);
    assert!(
        matches!(scan.tail, ScanTail::Garbage { position_bytes, unreadable: false, .. } if position_bytes == positions[2])
    );
    assert_eq!(scan.data_end_bytes, positions[2]);
}

#[test]
fn interior_corruption_is_a_fault_followed_by_records() {
    let (mut bytes, positions) = segment(0, &[1, 2, 3, 4], &[]);
    bytes[positions[1] as usize + 80] ^= 0x40; // payload of record 1
    let scan = scan_segment(&bytes, &[], start(0));
    assert_eq!(records(&scan), vec![0, 3, 6]);
    assert!(matches!(
        scan.items[1],
        ScanItem::Fault { position_bytes, end_bytes, kind: FaultKind::Corrupt(RecordError::Checksum { .. }) }
            if position_bytes == positions[1] && end_bytes == positions[2]
    ));
    assert_eq!(scan.tail, ScanTail::Clean);
}

#[test]
fn misdirected_record_is_classified() {
    let (mut bytes, positions) = segment(0, &[1, 1, 1, 1], &[]);
    // Record 3's bytes also land over record 1's position (records 1 and 2 are lost).
    let record3 = bytes[positions[3] as usize..].to_vec();
    bytes[positions[1] as usize..positions[1] as usize + record3.len()].copy_from_slice(&record3);
    let scan = scan_segment(&bytes, &[], start(0));
    assert!(
        matches!(
            scan.items[1],
            ScanItem::Fault { kind: FaultKind::Misdirected { claimed_position_bytes }, position_bytes, end_bytes }
                if claimed_position_bytes == positions[3] && position_bytes == positions[1] && end_bytes == positions[3]
        ),
        "{:?}",
        scan.items
    );
    assert_eq!(records(&scan), vec![0, 3]);
}

#[test]
fn unreadable_sectors_are_never_a_clean_or_cuttable_end() {
    let (mut bytes, _) = segment(0, &[1; 60], &[]);
    assert!(bytes.len() > 2 * SECTOR_SIZE);
    let last_sector = (bytes.len() - 1) / SECTOR_SIZE;
    let mut unreadable = vec![false; last_sector + 1];
    unreadable[last_sector] = true;
    bytes[last_sector * SECTOR_SIZE..].fill(0);
    let scan = scan_segment(&bytes, &unreadable, start(0));
    assert!(matches!(scan.tail, ScanTail::Garbage { unreadable: true, .. }), "{:?}", scan.tail);
    // An unreadable sector in the middle is a fault with a resync after it.
    let (mut bytes, _) = segment(0, &[1; 120], &[]);
    let mut unreadable = vec![false; bytes.len().div_ceil(SECTOR_SIZE)];
    unreadable[1] = true;
    bytes[SECTOR_SIZE..2 * SECTOR_SIZE].fill(0);
    let scan = scan_segment(&bytes, &unreadable, start(0));
    assert!(
        scan.items
            .iter()
            .any(|item| matches!(item, ScanItem::Fault { kind: FaultKind::Unreadable, .. }))
    );
    assert_eq!(scan.tail, ScanTail::Clean);
}

#[test]
fn out_of_sequence_first_record() {
    let (bytes, _) = segment(5, &[1, 1], &[]);
    let scan = scan_segment(&bytes, &[], start(4));
    // Record at offset 5 is not offset 4: a fault, then the records continue.
    assert!(
        matches!(scan.items[0], ScanItem::Fault { kind: FaultKind::OutOfSequence, .. })
            || records(&scan).is_empty()
    );
}

proptest! {
    #[test]
    fn scan_is_total_and_consistent(bytes in proptest::collection::vec(any::<u8>(), 0..3000), base in any::<u64>()) {
        let scan = scan_segment(&bytes, &[], ScanStart { base_offset: base, op_min: 0 });
        prop_assert!(scan.data_end_bytes <= bytes.len() as u64);
    }

    #[test]
    fn every_prefix_keeps_the_complete_records(counts in proptest::collection::vec(1_u32..5, 1..12), cut in any::<prop::sample::Index>()) {
        let (bytes, positions) = segment(0, &counts, &[]);
        let cut = cut.index(bytes.len() + 1);
        let scan = scan_segment(&bytes[..cut], &[], start(0));
        let complete = positions.iter().zip(counts.iter().enumerate())
            .filter(|(p, (i, _))| **p + 64 + 100 + (*i as u64) * 37 <= cut as u64).count();
        prop_assert_eq!(records(&scan).len(), complete);
        let faults = scan.items.iter().filter(|item| matches!(item, ScanItem::Fault { .. })).count();
        prop_assert_eq!(faults, 0);
    }
}

#[test]
fn valid_records_with_unaddressable_offsets_are_rejected_not_panicking() {
    let payload = [1_u8; 10];
    let meta = BatchMeta {
        base_offset: 1 << 33,
        message_count: 1,
        base_timestamp_us: 0,
        max_timestamp_us: 0,
    };
    let mut bytes = encode_header(1, &meta, 0, &payload).to_vec();
    bytes.extend_from_slice(&payload);
    // Expected offset matches, but it lies 2^33 past the segment base.
    let scan = scan_segment(&bytes, &[], ScanStart { base_offset: 0, op_min: 0 });
    assert!(records(&scan).is_empty());
    assert!(matches!(scan.tail, ScanTail::Garbage { kind: FaultKind::OutOfSequence, .. }));
}
