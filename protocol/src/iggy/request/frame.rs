//! Building a whole request frame, as the SDK does (our bench client, tests).

use super::Request;
use crate::iggy::checksum::request_checksum;
use crate::iggy::header::{HEADER_SIZE, RequestHeader};
use crate::iggy::operation::Operation;

/// The session numbers a request frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestIds {
    /// The client's random id.
    pub client: u128,
    /// The session from the login reply (0 before login).
    pub session: u64,
    /// The request number (0 for Register).
    pub request: u64,
}

/// Appends `[header][body]` for `request` to `out` and returns the header. The
/// operation, code, `request_checksum` and `size` are derived exactly as the 0.11.0
/// SDK derives them.
///
/// # Panics
/// If the frame exceeds `u32::MAX` bytes (a bug: frames are bounded far below).
pub fn encode_request(out: &mut Vec<u8>, ids: RequestIds, request: &Request<'_>) -> RequestHeader {
    let start = out.len();
    out.resize(start + HEADER_SIZE, 0);
    request.encode_body(out);
    let code = request.code();
    let operation = Operation::for_code(code);
    let header = RequestHeader {
        size: u32::try_from(out.len() - start).expect("request fits a u32 size"),
        client: ids.client,
        request_checksum: request_checksum(operation, &out[start + HEADER_SIZE..]),
        timestamp: 0,
        request: ids.request,
        operation,
        session: ids.session,
        user_id: 0,
        code: if operation == Operation::NonReplicated { code } else { 0 },
    };
    let slot: &mut [u8; HEADER_SIZE] =
        (&mut out[start..start + HEADER_SIZE]).try_into().expect("256 bytes");
    header.encode(slot);
    header
}
