//! What a handler answers, and how an answer becomes a reply frame.
//!
//! The SDK reads errors two ways, and both reach it as the same `IggyError`: a `status`
//! in the reply header (refused before commit: authorization, a bad body, an unknown id
//! in the edge's view) or, for result-framed operations, a committed rejection in the
//! result section (the op reached the state machine and was refused there).

use bytes::Bytes;
use vireo_protocol::iggy::batch::PollReplyHeader;
use vireo_protocol::iggy::reply::{ReplyWriter, write_eviction, write_rejection, write_status};
use vireo_protocol::iggy::{
    ErrorCode, EvictionHeader, EvictionReason, HEADER_SIZE, ReplyHeader, RequestHeader,
};

use crate::shard::inbox::PollPart;

/// A handler's answer.
#[derive(Debug)]
pub enum Answer {
    /// Success; the payload follows the result section when the operation has one.
    Ok(Vec<u8>),
    /// Success of a replicated op committed at `op`.
    Committed {
        /// The payload.
        payload: Vec<u8>,
        /// The op it committed at.
        op: u64,
    },
    /// A poll: its 16-byte header, then stored batches.
    Polled(PollReplyHeader, Vec<PollPart>),
    /// Refused before commit.
    Status(ErrorCode),
    /// Refused by the committed op.
    Rejected(ErrorCode),
    /// The session ends.
    Evict(EvictionReason),
}

impl From<ErrorCode> for Answer {
    fn from(code: ErrorCode) -> Self {
        Self::Status(code)
    }
}

/// A reply ready to write: whole frames as chunks (stored batches stay shared).
#[derive(Debug, Default)]
pub struct Outgoing {
    /// Bytes to write, in order.
    pub chunks: Vec<Bytes>,
    /// Close the connection after writing (the stream cannot be resynchronised).
    pub close: bool,
}

impl Outgoing {
    /// A single frame.
    #[must_use]
    pub fn frame(bytes: Vec<u8>) -> Self {
        Self { chunks: vec![Bytes::from(bytes)], close: false }
    }

    /// Total bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum()
    }

    /// True when there is nothing to write.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if the frame carries an error status or an eviction (metrics).
    #[must_use]
    pub fn is_error(&self) -> bool {
        let Some(first) = self.chunks.first() else { return false };
        if first.get(60) == Some(&vireo_protocol::iggy::COMMAND_EVICTION) {
            return true;
        }
        first.get(216..220).is_some_and(|status| status != [0; 4])
    }
}

/// Builds the reply frame for `answer` to `request`.
#[must_use]
pub fn finish(request: &RequestHeader, answer: Answer) -> Outgoing {
    let header = ReplyHeader::answering(request);
    let mut out = Vec::new();
    match answer {
        Answer::Ok(payload) => {
            let mut writer = ReplyWriter::begin(&mut out, header);
            writer.body().extend_from_slice(&payload);
            writer.finish();
        }
        Answer::Committed { payload, op } => {
            let header = ReplyHeader { op, commit: op, ..header };
            let mut writer = ReplyWriter::begin(&mut out, header);
            writer.body().extend_from_slice(&payload);
            writer.finish();
        }
        Answer::Polled(poll, parts) => return polled(header, &poll, parts),
        Answer::Status(code) => write_status(&mut out, header, code),
        Answer::Rejected(code) if request.operation.is_result_framed() => {
            write_rejection(&mut out, header, code);
        }
        Answer::Rejected(code) => write_status(&mut out, header, code),
        Answer::Evict(reason) => {
            let mut eviction = EvictionHeader::new(nonzero(request.client), reason);
            if reason == EvictionReason::IncompatibleProtocol {
                eviction.server_protocol_version = super::session::SERVER_PROTOCOL_VERSION;
                eviction.server_protocol_version_min = super::session::SERVER_PROTOCOL_VERSION_MIN;
            }
            write_eviction(&mut out, &eviction);
        }
    }
    Outgoing::frame(out)
}

/// An answer to a frame whose header could not be decoded: status `code`, echoing
/// nothing (the SDK never sends such frames; raw clients get a well-formed refusal).
#[must_use]
pub fn refuse_undecodable(code: ErrorCode) -> Outgoing {
    let header = ReplyHeader {
        size: HEADER_SIZE as u32,
        request_checksum: 0,
        context: 0,
        client: 0,
        op: 0,
        commit: 0,
        timestamp: 0,
        request: 0,
        operation: vireo_protocol::iggy::Operation::NonReplicated,
        status: 0,
    };
    let mut out = Vec::new();
    write_status(&mut out, header, code);
    Outgoing::frame(out)
}

fn polled(header: ReplyHeader, poll: &PollReplyHeader, parts: Vec<PollPart>) -> Outgoing {
    let body_size: usize = 16 + parts.iter().map(|part| part.as_bytes().len()).sum::<usize>();
    let size = u32::try_from(HEADER_SIZE + body_size).expect("polls are bounded far below 4 GiB");
    let mut head = vec![0u8; HEADER_SIZE];
    let slot: &mut [u8; HEADER_SIZE] = (&mut head[..]).try_into().expect("256 bytes");
    ReplyHeader { size, ..header }.encode(slot);
    poll.encode(&mut head);
    let mut chunks = Vec::with_capacity(1 + parts.len());
    chunks.push(Bytes::from(head));
    for part in parts {
        chunks.push(match part {
            PollPart::Whole(bytes) => bytes,
            PollPart::Sliced(bytes) => Bytes::from(bytes),
        });
    }
    Outgoing { chunks, close: false }
}

/// Evictions must name a non-zero client for the SDK to route them.
fn nonzero(client: u128) -> u128 {
    if client == 0 { 1 } else { client }
}
