//! Hostile replica-plane bytes: whole messages, headers bodies and partition transfer
//! bodies. Any panic is a bug.
//!
//! Random bytes almost never carry valid blake3 checksums, so each input is tried
//! twice: as is (the checksum gate), and re-sealed (checksums recomputed over the
//! fuzzed fields) so the fuzzer reaches the field checks behind the gate.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use vireo_protocol::vsr::{
    HEADER_SIZE, HeadersBody, Message, PartitionData, PartitionDataRequest, checksum,
};

fuzz_target!(|data: &[u8]| {
    let _ = Message::decode(Bytes::copy_from_slice(data), 1 << 20);
    if data.len() >= HEADER_SIZE {
        let mut sealed = data.to_vec();
        let body_checksum = checksum(&sealed[HEADER_SIZE..]);
        sealed[16..32].copy_from_slice(&body_checksum.to_le_bytes());
        let header_checksum = checksum(&sealed[16..HEADER_SIZE]);
        sealed[0..16].copy_from_slice(&header_checksum.to_le_bytes());
        if let Ok(message) = Message::decode(Bytes::from(sealed), 1 << 20) {
            assert_eq!(message.header().size as usize, data.len());
            let _ = HeadersBody::decode(message.body(), 64);
            let _ = PartitionDataRequest::decode(message.body());
            let _ = PartitionData::decode(message.body());
        }
    }
    if let Ok(body) = HeadersBody::decode(data, 64) {
        assert_eq!(body.encode(), data, "a decoded headers body re-encodes to itself");
    }
    if let Ok(request) = PartitionDataRequest::decode(data) {
        assert_eq!(request.encode(), data, "a decoded transfer request re-encodes to itself");
    }
    if let Ok(answer) = PartitionData::decode(data) {
        assert_eq!(answer.encode(), data, "a decoded transfer answer re-encodes to itself");
    }
});
