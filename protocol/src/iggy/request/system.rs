//! System, client and routing request bodies.

use super::Body;
use crate::iggy::wire::{DecodeError, Put, Reader};

/// Code 21: `[client_id u32]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetClient {
    /// The server-assigned client id.
    pub client_id: u32,
}

impl Body<'_> for GetClient {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { client_id: reader.u32()? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.client_id);
    }
}

/// Code 11: `[compression u8][count u8][type u8]*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetSnapshot<'a> {
    /// Archive compression code.
    pub compression: u8,
    /// Requested snapshot type codes.
    pub snapshot_types: &'a [u8],
}

impl<'a> Body<'a> for GetSnapshot<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let compression = reader.u8()?;
        let count = reader.u8()?;
        Ok(Self { compression, snapshot_types: reader.bytes(usize::from(count))? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(self.compression);
        out.put_u8(self.snapshot_types.len() as u8);
        out.put_bytes(self.snapshot_types);
    }
}

/// Code 13: `[scope u8]`, 1 topic, 2 stream, 3 user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescribeOptions {
    /// Which resource's option catalog.
    pub scope: u8,
}

impl Body<'_> for DescribeOptions {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        match reader.u8()? {
            scope @ 1..=3 => Ok(Self { scope }),
            value => Err(DecodeError::InvalidKind { field: "options scope", offset, value }),
        }
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(self.scope);
    }
}

/// Code 14 (multi-node polling): binds a data connection to the coordinator session
/// a routing reply named. `[client_id u128][session u64][metadata_watermark u64]`;
/// the same 32 bytes open a routing reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachConsumerSession {
    /// The coordinator connection's client id.
    pub client_id: u128,
    /// Its session.
    pub session: u64,
    /// The metadata commit the data node must have applied.
    pub metadata_watermark: u64,
}

impl Body<'_> for AttachConsumerSession {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            client_id: reader.u128()?,
            session: reader.u64()?,
            metadata_watermark: reader.u64()?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u128(self.client_id);
        out.put_u64(self.session);
        out.put_u64(self.metadata_watermark);
    }
}
