//! The official side of the compatibility tests: frames built and read with the
//! published 0.11.0 crates' own types. The SDK's framing functions are crate-private,
//! so they are mirrored here from its public building blocks (`RequestHeader`,
//! `Operation::from_command_code`, `calculate_checksum`, `result_code`, …), following
//! `iggy-0.11.0/src/vsr.rs` rule for rule.

#![allow(dead_code)]

use iggy_binary_protocol::codes::{
    LOGIN_REGISTER_CODE, LOGIN_REGISTER_WITH_PAT_CODE, LOGOUT_USER_CODE,
};
use iggy_binary_protocol::consensus::{
    Command, EvictionHeader, HEADER_SIZE, Operation, ReplyHeader, RequestHeader, result_code,
    result_section_len,
};
use iggy_common::{IggyError, calculate_checksum, eviction_reason_to_error};

/// Client id every official frame in these tests carries.
pub const CLIENT: u128 = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321;
/// Session of a logged-in official client.
pub const SESSION: u64 = 77;
/// Request number of the frames built here.
pub const REQUEST: u64 = 5;

/// The operation the SDK sends `code` under.
pub fn operation_for(code: u32) -> Operation {
    match code {
        LOGIN_REGISTER_CODE | LOGIN_REGISTER_WITH_PAT_CODE => Operation::Register,
        LOGOUT_USER_CODE => Operation::Logout,
        _ => Operation::from_command_code(code).unwrap_or(Operation::NonReplicated),
    }
}

/// `[header][payload]` exactly as the 0.11.0 SDK frames `code` on a bound session.
pub fn frame(code: u32, payload: &[u8]) -> Vec<u8> {
    let operation = operation_for(code);
    let (request, session) =
        if operation == Operation::Register { (0, 0) } else { (REQUEST, SESSION) };
    let request_checksum = if operation.is_partition() || operation == Operation::NonReplicated {
        0
    } else {
        u128::from(calculate_checksum(payload))
    };
    let mut reserved = [0u8; 60];
    if operation == Operation::NonReplicated {
        reserved[..4].copy_from_slice(&code.to_le_bytes());
    }
    let header = RequestHeader {
        command: Command::Request,
        operation,
        size: u32::try_from(HEADER_SIZE + payload.len()).unwrap(),
        client: CLIENT,
        request,
        session,
        request_checksum,
        timestamp: 0,
        reserved,
        ..Default::default()
    };
    let mut out = bytemuck::bytes_of(&header).to_vec();
    out.extend_from_slice(payload);
    out
}

/// Reads a request header with the official type (unaligned-safe).
pub fn request_header(bytes: &[u8]) -> RequestHeader {
    bytemuck::checked::try_pod_read_unaligned::<RequestHeader>(&bytes[..HEADER_SIZE])
        .expect("official request header")
}

/// Reads a reply frame the way the SDK's `decode_response` does, returning the header
/// and the payload it would hand to a typed decoder.
pub fn read_reply(frame: &[u8]) -> Result<(ReplyHeader, Vec<u8>), IggyError> {
    assert!(frame.len() >= HEADER_SIZE);
    match frame[60] {
        13 => {
            let eviction =
                bytemuck::checked::try_pod_read_unaligned::<EvictionHeader>(&frame[..HEADER_SIZE])
                    .map_err(|_| IggyError::Unauthenticated)?;
            Err(eviction_reason_to_error(
                eviction.reason,
                eviction.server_protocol_version,
                eviction.server_protocol_version_min,
            ))
        }
        8 => {
            let header =
                bytemuck::checked::try_pod_read_unaligned::<ReplyHeader>(&frame[..HEADER_SIZE])
                    .map_err(|_| IggyError::InvalidCommand)?;
            let size = header.size as usize;
            if size < HEADER_SIZE || frame.len() < size {
                return Err(IggyError::InvalidCommand);
            }
            if header.status != 0 {
                return Err(IggyError::from_code(header.status));
            }
            let body = &frame[HEADER_SIZE..size];
            let framed = header.operation.is_result_framed()
                || (header.operation == Operation::Register && !body.is_empty());
            if !framed {
                return Ok((header, body.to_vec()));
            }
            match result_code(body) {
                Some(0) => {
                    let start = result_section_len(body).ok_or(IggyError::InvalidCommand)?;
                    Ok((header, body[start..].to_vec()))
                }
                Some(code) => Err(IggyError::from_code(code)),
                None => Err(IggyError::InvalidCommand),
            }
        }
        _ => Err(IggyError::InvalidCommand),
    }
}
