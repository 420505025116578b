//! Encoding and validated access.

use rkyv::rancor;
use rkyv::util::AlignedVec;

use super::op::{ArchivedMetadataOp, MetadataOp};

/// Alignment an archive needs to be read in place.
const ALIGNMENT: usize = std::mem::align_of::<ArchivedMetadataOp>();

/// Bytes that are not a valid archived [`MetadataOp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The buffer is not aligned for in-place access; use [`decode`] or realign.
    #[error("archive not aligned to {0} bytes")]
    Unaligned(usize),
    /// Validation failed: truncated, out-of-range pointers, bad discriminant, bad UTF-8.
    #[error("invalid metadata archive")]
    Invalid,
}

/// Archives `op` for a prepare body.
///
/// # Panics
/// Never for in-memory values: serializing into a growable buffer cannot fail.
#[must_use]
pub fn encode(op: &MetadataOp) -> Vec<u8> {
    rkyv::to_bytes::<rancor::Error>(op).expect("serializing to memory cannot fail").into_vec()
}

/// Validates `bytes` and returns the archived op, read in place. Total: any bytes
/// give the op or an error. Needs `bytes` aligned like the archive (8 bytes), which a
/// prepare body at offset 256 of an allocated buffer is.
pub fn access(bytes: &[u8]) -> Result<&ArchivedMetadataOp, MetadataError> {
    if bytes.is_empty() {
        return Err(MetadataError::Invalid);
    }
    if bytes.as_ptr().align_offset(ALIGNMENT) != 0 {
        return Err(MetadataError::Unaligned(ALIGNMENT));
    }
    rkyv::access::<ArchivedMetadataOp, rancor::Failure>(bytes).map_err(|_| MetadataError::Invalid)
}

/// Validates and deserializes `bytes` into an owned op, copying to an aligned buffer
/// first when needed (for bodies that sit at an odd address).
pub fn decode(bytes: &[u8]) -> Result<MetadataOp, MetadataError> {
    let mut aligned = AlignedVec::<16>::with_capacity(bytes.len());
    aligned.extend_from_slice(bytes);
    let archived = access(&aligned)?;
    rkyv::deserialize::<MetadataOp, rancor::Failure>(archived).map_err(|_| MetadataError::Invalid)
}
