//! The metadata machine's checkpoint snapshot: a versioned rkyv archive of every stream
//! and user, in id order (so identical states give identical bytes on every replica).

use std::sync::Arc;

use rkyv::rancor;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Deserialize, Serialize};

use super::model::{MetadataState, Stream, User};

const VERSION: u32 = 1;

#[derive(Archive, Serialize, Deserialize)]
struct SnapshotV1 {
    version: u32,
    applied_op: u64,
    streams: Vec<Stream>,
    users: Vec<User>,
}

/// Encodes `state`.
///
/// # Panics
/// Never for in-memory values (serializing to memory cannot fail).
#[must_use]
pub fn encode(state: &MetadataState) -> Vec<u8> {
    let snapshot = SnapshotV1 {
        version: VERSION,
        applied_op: state.applied_op,
        streams: state.streams.values().map(|stream| (**stream).clone()).collect(),
        users: state.users.values().map(|user| (**user).clone()).collect(),
    };
    rkyv::to_bytes::<rancor::Error>(&snapshot).expect("serializing to memory").into_vec()
}

/// Decodes a snapshot; `None` if the bytes are not one this version wrote.
#[must_use]
pub fn decode(bytes: &[u8]) -> Option<MetadataState> {
    let mut aligned = AlignedVec::<16>::with_capacity(bytes.len());
    aligned.extend_from_slice(bytes);
    let snapshot = rkyv::from_bytes::<SnapshotV1, rancor::Failure>(&aligned).ok()?;
    if snapshot.version != VERSION {
        return None;
    }
    let mut state = MetadataState { applied_op: snapshot.applied_op, ..MetadataState::default() };
    for stream in snapshot.streams {
        if state.streams.insert(stream.id, Arc::new(stream)).is_some() {
            return None;
        }
    }
    for user in snapshot.users {
        if state.users.insert(user.id, Arc::new(user)).is_some() {
            return None;
        }
    }
    Some(state)
}
