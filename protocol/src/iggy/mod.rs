//! The client plane: the Apache Iggy 0.11.0 wire protocol, byte for byte as the
//! official `iggy` 0.11.0 SDK and `iggy-cli` 0.14.0 speak it.
//!
//! Every message is `[256-byte header][body]`. A server reads a [`RequestHeader`],
//! checks [`RequestHeader::check_session`], and hands header and body to
//! [`parse_request`], which yields a typed [`Request`] borrowing the body. Replies are
//! built into a caller-provided `Vec<u8>` with [`reply`]. Message batches
//! ([`batch`]) are validated, stamped and sliced in place and never re-encoded.
//!
//! Where these modules and `shared/reference/iggy-wire-0.11.md` disagree, the
//! published 0.11.0 crates decided; each such place says so in its docs.

pub mod batch;
pub mod checksum;
pub mod code;
mod error_code;
mod header;
mod operation;
pub mod primitives;
pub mod reply;
pub mod request;
pub mod topic_options;
pub mod wire;

pub use error_code::ErrorCode;
pub use header::{
    COMMAND_EVICTION, COMMAND_OFFSET, COMMAND_REPLY, COMMAND_REQUEST, EvictionHeader,
    EvictionReason, HEADER_SIZE, HeaderError, ReplyHeader, RequestHeader, SIZE_OFFSET,
    SessionError, read_size,
};
pub use operation::Operation;
pub use request::{Request, RequestError, parse_request};
pub use wire::DecodeError;
