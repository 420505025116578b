//! The body of a metadata prepare: an 8-byte node header, then the rkyv archive of
//! `vireo_protocol::metadata::MetadataOp`.
//!
//! ```text
//! [version u8 = 1][reserved u8 = 0][options_set u16][reserved u32 = 0][archive…]
//! ```
//!
//! `options_set` records which topic options the client set explicitly (the protocol's
//! op carries the resolved values only); 8 bytes keep the archive 8-aligned in place.

use vireo_protocol::metadata::{MetadataOp, decode, encode};
use vireo_protocol::vsr::Operation;

/// The consensus operation of every metadata prepare.
pub const METADATA_OPERATION: Operation = Operation(Operation::USER_MIN);

const VERSION: u8 = 1;
const PREFIX_SIZE: usize = 8;

/// Topic option bits of `options_set`.
pub mod option_bits {
    /// `message_expiry`.
    pub const MESSAGE_EXPIRY: u16 = 1 << 0;
    /// `max_topic_size`.
    pub const MAX_TOPIC_SIZE: u16 = 1 << 1;
    /// `segment_size`.
    pub const SEGMENT_SIZE: u16 = 1 << 2;
    /// `durability`.
    pub const DURABILITY: u16 = 1 << 3;
    /// `consumer_offset_durability`.
    pub const CONSUMER_OFFSET_DURABILITY: u16 = 1 << 4;
    /// `compression_algorithm`.
    pub const COMPRESSION: u16 = 1 << 5;
}

/// A metadata op as the edge proposes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataCommand {
    /// The op.
    pub op: MetadataOp,
    /// Explicitly set topic options (0 for other ops).
    pub options_set: u16,
}

/// Why a body is not a metadata command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Shorter than the prefix, or an unknown version.
    #[error("bad metadata command prefix")]
    Prefix,
    /// The archive does not validate.
    #[error("bad metadata archive")]
    Archive,
}

impl MetadataCommand {
    /// The prepare body.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let archive = encode(&self.op);
        let mut out = Vec::with_capacity(PREFIX_SIZE + archive.len());
        out.push(VERSION);
        out.push(0);
        out.extend_from_slice(&self.options_set.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&archive);
        out
    }

    /// Reads a prepare body. Total: any bytes give a command or an error.
    pub fn decode(body: &[u8]) -> Result<Self, CommandError> {
        if body.len() <= PREFIX_SIZE || body[0] != VERSION || body[1] != 0 || body[4..8] != [0; 4] {
            return Err(CommandError::Prefix);
        }
        let options_set = u16::from_le_bytes([body[2], body[3]]);
        let op = decode(&body[PREFIX_SIZE..]).map_err(|_| CommandError::Archive)?;
        Ok(Self { op, options_set })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let command =
            MetadataCommand { op: MetadataOp::CreateStream { name: "s".into() }, options_set: 3 };
        let bytes = command.encode();
        assert_eq!(MetadataCommand::decode(&bytes), Ok(command));
        assert_eq!(MetadataCommand::decode(&bytes[..4]), Err(CommandError::Prefix));
        let mut bad = bytes.clone();
        bad[0] = 9;
        assert_eq!(MetadataCommand::decode(&bad), Err(CommandError::Prefix));
        let mut bad = bytes;
        let last = bad.len() - 1;
        bad.truncate(last - 3);
        assert!(MetadataCommand::decode(&bad).is_err());
    }
}
