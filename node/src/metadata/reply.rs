//! The compact reply every metadata op commits: `[status u32][value u32]`.
//!
//! The consensus client table caches each session's latest reply and the checkpoint
//! snapshot carries the table, so replies must stay small and bounded (see
//! `config::validate::REPLY_BODY_MAX`). The full Iggy reply (a created topic with its
//! partitions, a user with permissions) is rendered by the edge from the read view that
//! comes back with the commit; the state machine only says whether the op applied and
//! which id it produced.

use vireo_protocol::iggy::ErrorCode;

/// Bytes of a metadata reply body.
pub const METADATA_REPLY_SIZE: usize = 8;

/// What a committed metadata op produced.
pub type Outcome = Result<u32, ErrorCode>;

/// Encodes an outcome.
pub fn encode(outcome: Outcome, out: &mut Vec<u8>) {
    let (status, value) = match outcome {
        Ok(value) => (0, value),
        Err(code) => (code.0, 0),
    };
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&value.to_le_bytes());
}

/// Decodes a reply body; `None` if it is not one (a bug or a foreign reply).
#[must_use]
pub fn decode(body: &[u8]) -> Option<Outcome> {
    let bytes: [u8; METADATA_REPLY_SIZE] = body.try_into().ok()?;
    let status = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let value = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    Some(if status == 0 { Ok(value) } else { Err(ErrorCode(status)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for outcome in [Ok(7), Err(ErrorCode::STREAM_ID_NOT_FOUND)] {
            let mut out = Vec::new();
            encode(outcome, &mut out);
            assert_eq!(out.len(), METADATA_REPLY_SIZE);
            assert_eq!(decode(&out), Some(outcome));
        }
        assert_eq!(decode(&[1, 2, 3]), None);
    }
}
