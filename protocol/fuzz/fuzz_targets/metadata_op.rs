//! Hostile metadata prepare bodies: validated in-place access and owned decode.
//! Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rkyv::util::AlignedVec;
use vireo_protocol::metadata::{access, decode, encode};

fuzz_target!(|data: &[u8]| {
    let mut aligned = AlignedVec::<16>::with_capacity(data.len());
    aligned.extend_from_slice(data);
    let in_place = access(&aligned).is_ok();
    match decode(data) {
        Ok(op) => {
            assert!(in_place, "decode and access must agree");
            let again = decode(&encode(&op)).expect("an encoded op decodes");
            assert_eq!(again, op);
        }
        Err(_) => assert!(!in_place, "decode and access must agree"),
    }
});
