//! Batch layout, checksums, stamping and slicing, including hostile bytes.

use proptest::prelude::*;

use super::*;
use crate::iggy::primitives::TlvBuilder;

fn messages(count: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
    let payloads = (0..count).map(|i| format!("payload-{i}").into_bytes()).collect();
    let mut headers = TlvBuilder::new();
    headers.string("trace", "abc").unwrap();
    (payloads, headers.into_bytes())
}

fn encoded(count: usize) -> Vec<u8> {
    let (payloads, headers) = messages(count);
    let outgoing: Vec<OutgoingMessage<'_>> = payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| OutgoingMessage {
            id: i as u128 + 1,
            origin_timestamp: 1_000 + i as u64,
            payload,
            user_headers: if i % 2 == 0 { &headers } else { &[] },
        })
        .collect();
    let mut out = Vec::new();
    encode_batch(&mut out, &outgoing).unwrap();
    out
}

#[test]
fn encoded_batch_parses_and_verifies() {
    let bytes = encoded(5);
    let batch = Batch::parse(&bytes).unwrap();
    assert_eq!(batch.message_count(), 5);
    assert_eq!(batch.header().origin_timestamp, 1_000);
    assert_eq!(batch.header().batch_length as usize, bytes.len());
    batch.validate_send().unwrap();
    let frames: Vec<Frame<'_>> = batch.frames().collect();
    assert_eq!(frames.len(), 5);
    assert_eq!(frames[3].payload(), b"payload-3");
    assert_eq!(frames[3].header().timestamp_delta, 3);
    assert_eq!(frames[3].id(), 4);
    assert!(frames[3].user_headers().is_empty());
    assert!(!frames[2].user_headers().is_empty());
}

#[test]
fn every_single_bit_flip_is_caught() {
    let bytes = encoded(3);
    for index in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[index] ^= 0x10;
        let result = Batch::parse(&bad).and_then(|batch| batch.validate_send());
        assert!(result.is_err(), "flip at byte {index} went unnoticed");
    }
}

#[test]
fn layout_errors_are_typed() {
    let bytes = encoded(2);
    assert_eq!(Batch::parse(&bytes[..100]), Err(BatchError::TooShort(100)));
    assert!(matches!(Batch::parse(&bytes[..bytes.len() - 1]), Err(BatchError::Length { .. })));
    let mut count = bytes.clone();
    count[48] = 3;
    assert_eq!(Batch::parse(&count), Err(BatchError::Count { declared: 3, found: 2 }));
    let mut reserved = bytes.clone();
    reserved[200] = 1;
    assert_eq!(Batch::parse(&reserved), Err(BatchError::HeaderReserved));
    let mut frame_reserved = bytes.clone();
    frame_reserved[256 + 45] = 1;
    assert_eq!(Batch::parse(&frame_reserved), Err(BatchError::FrameReserved(0)));
    let mut huge = bytes.clone();
    huge[256 + 36..256 + 40].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(Batch::parse(&huge), Err(BatchError::FrameTruncated { index: 0, .. })));
    let mut delta = bytes;
    delta[256 + 24] = 9;
    let batch = Batch::parse(&delta).unwrap();
    assert_eq!(batch.validate_send(), Err(BatchError::OffsetDelta { index: 0, found: 9 }));
}

#[test]
fn stamp_rewrites_server_fields_and_keeps_checksums_valid() {
    let mut bytes = encoded(4);
    stamp(&mut bytes, 7, 1_000, 123_456).unwrap();
    let batch = Batch::parse(&bytes).unwrap();
    batch.verify().unwrap();
    assert_eq!(batch.header().partition_id, 7);
    assert_eq!(batch.header().base_offset, 1_000);
    assert_eq!(batch.header().base_timestamp, 123_456);
    assert_eq!(batch.first_offset(), Some(1_000));
    assert_eq!(batch.last_offset(), Some(1_003));
    let mut short = bytes.clone();
    short.push(0);
    assert!(stamp(&mut short, 0, 0, 0).is_err());
}

#[test]
fn slicing_keeps_frames_and_recomputes_the_checksum() {
    let mut bytes = encoded(10);
    stamp(&mut bytes, 1, 100, 5).unwrap();
    let batch = Batch::parse(&bytes).unwrap();

    let mut out = Vec::new();
    let slice = slice_batch(&batch, 103, 4, &mut out).unwrap();
    assert_eq!((slice.message_count, slice.first_offset, slice.last_offset), (4, 103, 106));
    assert_eq!(slice.length, out.len());
    let sliced = Batch::parse(&out).unwrap();
    sliced.verify().unwrap();
    assert_eq!(sliced.header().base_offset, 100, "base kept: deltas still resolve");
    assert_eq!(sliced.first_offset(), Some(103));
    let original: Vec<&[u8]> = batch.frames().skip(3).take(4).map(|f| f.as_bytes()).collect();
    let copied: Vec<&[u8]> = sliced.frames().map(|f| f.as_bytes()).collect();
    assert_eq!(original, copied, "frames copied byte for byte");

    let mut whole = Vec::new();
    slice_batch(&batch, 0, u32::MAX, &mut whole).unwrap();
    assert_eq!(whole, bytes, "a full slice is the batch itself");
    let mut none = Vec::new();
    assert_eq!(slice_batch(&batch, 110, 5, &mut none), None);
    assert_eq!(slice_batch(&batch, 0, 0, &mut none), None);
    assert!(none.is_empty());
}

#[test]
fn poll_reply_walks_batches() {
    let mut first = encoded(2);
    stamp(&mut first, 0, 0, 1).unwrap();
    let mut second = encoded(3);
    stamp(&mut second, 0, 2, 2).unwrap();
    let mut out = Vec::new();
    PollReplyHeader { partition_id: 0, current_offset: 4, messages_count: 5 }.encode(&mut out);
    out.extend_from_slice(&first);
    out.extend_from_slice(&second);
    let mut reader = crate::iggy::wire::Reader::new(&out);
    let header = PollReplyHeader::decode(&mut reader).unwrap();
    assert_eq!(header.messages_count, 5);
    let batches: Vec<Batch<'_>> =
        PolledBatches::new(reader.rest()).collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1].last_offset(), Some(4));
    let truncated = &out[POLL_REPLY_HEADER_SIZE..out.len() - 1];
    assert!(PolledBatches::new(truncated).any(|b| b.is_err()));
}

#[test]
fn encode_refuses_empty_and_wide_timestamps() {
    let mut out = Vec::new();
    assert_eq!(encode_batch(&mut out, &[]), Err(BatchError::Empty));
    let wide = [
        OutgoingMessage { id: 1, origin_timestamp: 0, payload: b"a", user_headers: &[] },
        OutgoingMessage {
            id: 2,
            origin_timestamp: u64::from(u32::MAX) + 1,
            payload: b"b",
            user_headers: &[],
        },
    ];
    assert!(matches!(encode_batch(&mut out, &wide), Err(BatchError::TimestampDelta(_))));
}

proptest! {
    #[test]
    fn parse_and_verify_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        if let Ok(batch) = Batch::parse(&bytes) {
            let _ = batch.validate_send();
            let _ = batch.frames().count();
            let mut out = Vec::new();
            let _ = slice_batch(&batch, 1, 2, &mut out);
        }
        let mut copy = bytes.clone();
        let _ = stamp(&mut copy, 1, 2, 3);
        let _ = PolledBatches::new(&bytes).count();
    }

    #[test]
    fn round_trip_any_messages(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..20),
        base in any::<u32>(),
    ) {
        let outgoing: Vec<OutgoingMessage<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| OutgoingMessage { id: i as u128, origin_timestamp: u64::from(base) + i as u64, payload: p, user_headers: &[] })
            .collect();
        let mut out = Vec::new();
        encode_batch(&mut out, &outgoing).unwrap();
        let batch = Batch::parse(&out).unwrap();
        prop_assert!(batch.validate_send().is_ok());
        let decoded: Vec<&[u8]> = batch.frames().map(|f| f.payload()).collect();
        let expected: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(decoded, expected);
    }
}
