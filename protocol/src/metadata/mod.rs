//! Bodies of metadata prepares: what the node makes of an Iggy metadata request once
//! it has authenticated it and resolved every name to a numeric id.
//!
//! Replicas read these in place: a prepare's body is an rkyv archive of
//! [`MetadataOp`], validated with bytecheck by [`access`] because a journal or a peer
//! may hand us corrupt bytes. Everything a replica needs to apply the op
//! deterministically is inside: resolved ids, the password *hash* (never a password),
//! typed topic settings. What is not: creation time (the prepare header's timestamp)
//! and the acting user (the prepare header's `user_id`).

mod codec;
mod op;

pub use codec::{MetadataError, access, decode, encode};
pub use op::{
    ArchivedMetadataOp, ConsumerKey, MetadataOp, OffsetOwner, TopicConfig, TopicPatch, UserStatus,
};

#[cfg(test)]
mod tests;
