//! The replica plane: VSR messages between replicas, also stored verbatim in the journal.
//!
//! Every message is `[Header: 256 bytes][body]`. The header carries two 128-bit blake3
//! checksums: `checksum_body` over the whole body, and `checksum` over the rest of the
//! header (which includes `checksum_body`), so one 16-byte value names a message exactly.
//! Prepares chain through `parent` (the previous prepare's `checksum`): a replica that
//! holds op N's header knows the checksum of op N-1 and can repair its log backwards.

mod checksum;
mod command;
mod header;
mod headers_body;
mod message;
mod partition_data;

pub use checksum::{Checksum, checksum};
pub use command::{Command, EvictionReason, Operation};
pub use header::{FLAG_PERSISTED, HEADER_SIZE, Header, HeaderError, PROTOCOL_VERSION};
pub use headers_body::{HeadersBody, HeadersBodyError};
pub use message::{MESSAGE_SIZE_MAX_LIMIT, Message, MessageError};
pub use partition_data::{
    PARTITION_DATA_PREFIX_SIZE, PARTITION_DATA_REQUEST_SIZE, PartitionData, PartitionDataError,
    PartitionDataRequest, PartitionDataStatus, PartitionRef,
};
