//! Reply frames and bodies, built into a caller-provided `Vec<u8>`.
//!
//! How the SDK reads a reply decides how a server must write it:
//!
//! 1. `command` 13 is an eviction; anything but 8 is refused.
//! 2. `status` ≠ 0 is that error, whatever the body (send an empty one).
//! 3. Result-framed operations (metadata, offset writes, and a non-empty Register)
//!    start with `[count u32]`: 0 then the payload on success, or `count ×
//!    {index u32, result u32}` whose first `result` is the error.
//! 4. Everything else is the raw payload; an empty body from a get means "not found".
//!
//! [`ReplyWriter`] handles the header and the result section; the body encoders of the
//! submodules append payloads; [`decode_reply`] is the SDK's side, for our own client.

mod bodies;
mod system;
mod users;

pub use bodies::{
    ClientGroupReply, ClientReply, ConsumerGroupReply, ConsumerOffsetReply, GroupMemberReply,
    PartitionReply, SendConfirmation, StreamReply, SyncConsumerGroupReply, TopicReply,
    decode_send_confirmations, encode_send_confirmations,
};
pub use system::{
    CacheMetric, ClusterMetadataReply, ClusterNode, NodeRole, NodeStatus, OptionDescriptor,
    PollRoutingReply, StatsReply,
};
pub use users::{
    LoginRegisterReply, PersonalAccessTokenReply, RawTokenReply, UserReply,
    decode_user_permissions, encode_user_permissions,
};

use super::ErrorCode;
use super::header::{EvictionHeader, HEADER_SIZE, HeaderError, ReplyHeader};
use super::operation::Operation;
use super::wire::{DecodeError, Put, Reader, patch_u32};
use super::{COMMAND_EVICTION, COMMAND_OFFSET};

/// Whether a successful reply to `operation` opens with the result section.
/// Register is framed only when it has a body; a successful login always has one.
#[must_use]
pub fn is_result_framed(operation: Operation) -> bool {
    operation.is_result_framed() || operation == Operation::Register
}

/// Builds one successful reply frame in place: header slot first, the `[0u32]`
/// result section when the operation needs it, then whatever the caller appends to
/// [`Self::body`]; [`Self::finish`] patches `size` and writes the header.
#[derive(Debug)]
pub struct ReplyWriter<'o> {
    out: &'o mut Vec<u8>,
    start: usize,
    header: ReplyHeader,
}

impl<'o> ReplyWriter<'o> {
    /// Starts a reply at the end of `out`.
    pub fn begin(out: &'o mut Vec<u8>, header: ReplyHeader) -> Self {
        let start = out.len();
        out.resize(start + HEADER_SIZE, 0);
        if is_result_framed(header.operation) {
            out.put_u32(0);
        }
        Self { out, start, header }
    }

    /// The buffer to append the payload to.
    pub fn body(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// Writes the final header; returns the frame's length.
    ///
    /// # Panics
    /// If the frame exceeds `u32::MAX` bytes (a bug: replies are bounded far below).
    pub fn finish(self) -> usize {
        let length = self.out.len() - self.start;
        let mut header = self.header;
        header.size = u32::try_from(length).expect("reply fits a u32 size");
        header.status = 0;
        let slot: &mut [u8; HEADER_SIZE] =
            (&mut self.out[self.start..self.start + HEADER_SIZE]).try_into().expect("256 bytes");
        header.encode(slot);
        length
    }
}

/// Appends a reply whose `status` carries `code` and whose body is empty: the
/// pre-commit refusal channel (authorization, malformed body, not leader).
pub fn write_status(out: &mut Vec<u8>, header: ReplyHeader, code: ErrorCode) {
    let header = ReplyHeader { size: HEADER_SIZE as u32, status: code.0, ..header };
    let start = out.len();
    out.resize(start + HEADER_SIZE, 0);
    let slot: &mut [u8; HEADER_SIZE] = (&mut out[start..]).try_into().expect("256 bytes");
    header.encode(slot);
}

/// Appends a committed rejection of a result-framed operation: status 0 and the
/// section `[1][index 0][code]` (what a replica applies when, say, a stream name
/// already exists). For other operations use [`write_status`].
pub fn write_rejection(out: &mut Vec<u8>, header: ReplyHeader, code: ErrorCode) {
    let start = out.len();
    out.resize(start + HEADER_SIZE, 0);
    out.put_u32(1);
    out.put_u32(0);
    out.put_u32(code.0);
    let header = ReplyHeader { size: (HEADER_SIZE + 12) as u32, status: 0, ..header };
    let slot: &mut [u8; HEADER_SIZE] =
        (&mut out[start..start + HEADER_SIZE]).try_into().expect("256 bytes");
    header.encode(slot);
}

/// Appends an eviction frame (header only).
pub fn write_eviction(out: &mut Vec<u8>, eviction: &EvictionHeader) {
    out.extend_from_slice(&eviction.to_bytes());
}

/// A reply a client cannot use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The header is malformed, or the frame is shorter than its `size`.
    #[error("malformed reply: {0}")]
    Header(#[from] HeaderError),
    /// The server ended the session.
    #[error("evicted: {0:?}")]
    Evicted(EvictionHeader),
    /// `status` carried an error.
    #[error("status {}", .0.0)]
    Status(ErrorCode),
    /// The result section carried an error.
    #[error("rejected with {}", .0.0)]
    Rejected(ErrorCode),
    /// A result section claims entries the body does not hold.
    #[error("malformed result section")]
    MalformedResult,
}

/// Reads a reply frame the way the 0.11.0 SDK does and returns its header and payload
/// (result section stripped). `frame` must hold at least `size` bytes.
pub fn decode_reply(frame: &[u8]) -> Result<(ReplyHeader, &[u8]), ReplyError> {
    if frame.get(COMMAND_OFFSET) == Some(&COMMAND_EVICTION) {
        return Err(ReplyError::Evicted(EvictionHeader::decode(frame)?));
    }
    let header = ReplyHeader::decode(frame)?;
    let body =
        frame.get(HEADER_SIZE..header.size as usize).ok_or(HeaderError::Size(header.size))?;
    if header.status != 0 {
        return Err(ReplyError::Status(ErrorCode(header.status)));
    }
    let framed = header.operation.is_result_framed()
        || (header.operation == Operation::Register && !body.is_empty());
    if !framed {
        return Ok((header, body));
    }
    let mut reader = Reader::new(body);
    let count = reader.u32().map_err(|_| ReplyError::MalformedResult)?;
    if count == 0 {
        return Ok((header, reader.rest()));
    }
    let _index = reader.u32().map_err(|_| ReplyError::MalformedResult)?;
    let code = reader.u32().map_err(|_| ReplyError::MalformedResult)?;
    Err(ReplyError::Rejected(ErrorCode(code)))
}

/// Appends a `u32`-length-prefixed options block (how replies carry options).
pub fn encode_prefixed_options(options: &super::primitives::Options<'_>, out: &mut Vec<u8>) {
    out.put_u32(options.as_bytes().len() as u32);
    out.put_bytes(options.as_bytes());
}

/// Reads a `u32`-length-prefixed options block.
pub fn decode_prefixed_options<'a>(
    reader: &mut Reader<'a>,
) -> Result<super::primitives::Options<'a>, DecodeError> {
    let length = reader.u32()? as usize;
    Ok(super::primitives::Options::parse(reader.bytes(length)?)?)
}

/// Decodes `count` items (or, with `None`, items until the body ends), sizing the
/// vector by what the bytes can hold so a hostile count cannot force an allocation.
pub fn decode_list<'a, T>(
    reader: &mut Reader<'a>,
    count: Option<u32>,
    item_size_min: usize,
    mut decode: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let bound = reader.remaining() / item_size_min.max(1);
    let mut items = Vec::with_capacity(count.map_or(bound, |count| (count as usize).min(bound)));
    match count {
        Some(count) => {
            for _ in 0..count {
                items.push(decode(reader)?);
            }
        }
        None => {
            while !reader.is_empty() {
                items.push(decode(reader)?);
            }
        }
    }
    Ok(items)
}

/// Back-patches a `u32` count written as a placeholder at `at`.
pub fn patch_count(out: &mut [u8], at: usize, count: u32) {
    patch_u32(out, at, count);
}

#[cfg(test)]
mod tests;
