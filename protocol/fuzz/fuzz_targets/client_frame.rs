//! Hostile client frames: header decode, session rules and `parse_request` on
//! `[256-byte header][body]`; the same bytes as a batch through validation, stamping
//! and slicing. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vireo_protocol::iggy::batch::{Batch, slice_batch, stamp};
use vireo_protocol::iggy::{HEADER_SIZE, RequestHeader, parse_request, reply};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = RequestHeader::decode(data) {
        let _ = header.check_session();
        let body = &data[HEADER_SIZE..];
        if let Ok(request) = parse_request(&header, body) {
            // A parsed request must re-encode to the body it came from.
            let mut out = Vec::new();
            request.encode_body(&mut out);
            assert_eq!(out, body, "re-encoding changed the body");
        }
    }
    let _ = reply::decode_reply(data);
    if let Ok(batch) = Batch::parse(data) {
        let _ = batch.validate_send();
        let _ = batch.frames().count();
        let mut out = Vec::new();
        if let Some(first) = batch.first_offset() {
            let _ = slice_batch(&batch, first.saturating_add(1), 3, &mut out);
        }
        let mut copy = data.to_vec();
        stamp(&mut copy, 1, 2, 3).expect("a parsed batch can be stamped");
        Batch::parse(&copy).expect("stamping keeps the layout");
    }
});
