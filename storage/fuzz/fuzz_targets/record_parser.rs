//! The record parser is total, and whatever it accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vireo_storage::partition::record::{RECORD_HEADER_SIZE, encode_header, parse_header, parse_record};

fuzz_target!(|data: &[u8]| {
    let header = parse_header(data);
    if let Ok((record, payload)) = parse_record(data) {
        assert_eq!(header, Ok(record), "full parse agrees with the header parse");
        let encoded = encode_header(record.op, &record.meta, record.position_bytes, payload);
        assert_eq!(&encoded[..], &data[..RECORD_HEADER_SIZE], "accepted bytes re-encode exactly");
        assert_eq!(payload.len() as u64 + RECORD_HEADER_SIZE as u64, record.record_size_bytes());
    }
});
