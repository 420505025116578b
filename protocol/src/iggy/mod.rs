//! The client plane: the Apache Iggy 0.11.0 wire protocol, byte for byte as the
//! official `iggy` 0.11.0 SDK and `iggy-cli` 0.14.0 speak it.
//!
//! Every message is `[256-byte header][body]`. How a server handles one frame:
//!
//! ```text
//! header  = RequestHeader::decode(frame)?            // command 5, size, operation, reserved
//! header.check_session()?                              // Err(NoSession) => EvictionHeader(NoSession)
//! request = parse_request(&header, &frame[256..])?     // Err(e) => e.response(): status or eviction
//! match request { Request::SendMessages(send) => { stamp(batch, partition, offset, now); … } … }
//! ReplyWriter::begin(&mut out, ReplyHeader::answering(&header)) … .finish()
//! ```
//!
//! [`parse_request`] yields a typed [`Request`] borrowing the body (a send is fully
//! verified: layout, frame and batch checksums, dense offset deltas). Replies are built
//! into a caller-provided `Vec<u8>` with [`reply`]; the result section (`[0u32]`) is
//! written by [`reply::ReplyWriter`] when the operation needs it. Message batches
//! ([`batch`]) are validated, stamped and sliced in place and never re-encoded. Topic
//! settings come out of a create/update's options with [`topic_options`].
//!
//! # Where the published 0.11.0 crates differ from `shared/reference/iggy-wire-0.11.md`
//!
//! The crates decided; these modules follow them.
//!
//! * `DeleteSegments` (operation 138) sits in the metadata range but is neither a
//!   metadata op nor result-framed: its reply is a raw (empty) body. It is still
//!   stamped with `request_checksum`, like Register and Logout.
//! * Register frames carry no command code: 40 and 45 are told apart by the body's
//!   shape ([`parse_request`]).
//! * The 0.11.0 SDK advances the request number for partition writes too (only
//!   `NonReplicated` reuses the current one).
//! * `get_topics` replies are `[count u32]` then topic headers; streams, users and
//!   clients are bare sequences. Topic `compression_algorithm` is 1 none / 2 gzip (the
//!   SDK refuses 0). Client transport 3 is HTTP; `user_id` `u32::MAX` means no user.
//! * `create_user`, `create_consumer_group` and `create_personal_access_token` reply
//!   with the detailed user, the detailed group and the raw token; a detailed user ends
//!   with `[0u32]` (no permissions) or `[1][len u32][permissions]`.
//! * The SDK polls consumer groups through code 606 (`sync_consumer_group`:
//!   `[generation u64][count u32][partition u32]*`, empty = not a member) and resolves
//!   `Balanced`/`MessagesKey` partitioning itself (`xxh32(key) % partitions`).
//! * The SDK keeps every message of a polled batch, even below the requested offset:
//!   the server must slice stored batches ([`batch::slice_batch`]).
//! * `batch_checksum` hashes `message_count` as 4 bytes; delete-PAT's body is the
//!   token name; the stats numeric prefix is 108 bytes.

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
