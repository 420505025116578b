//! Wire primitives shared by request and reply bodies. Each decodes from a
//! [`Reader`](super::wire::Reader) into a view that borrows the received bytes, and
//! encodes by appending to a `Vec<u8>`.

mod identifier;
mod name;
mod permissions;
mod polling;
mod tlv;
mod version;

pub use identifier::{Consumer, ConsumerKind, Identifier};
pub use name::{Name, Secret, ValueError};
pub use permissions::{
    GlobalPermissions, Permissions, PermissionsView, StreamPermissions, TopicPermissions,
};
pub use polling::{
    AckLevel, Partitioning, PollingKind, PollingStrategy, decode_partition, encode_partition,
};
pub use tlv::{
    HeaderKind, OPTIONS_BYTES_MAX, OPTIONS_COUNT_MAX, Options, TlvBuilder, TlvEntry, TlvError,
    TlvIter, UserHeaders,
};
pub use version::{ClientVersionInfo, pack_version};
