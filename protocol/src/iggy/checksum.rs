//! XxHash3-64 (seed 0), the one hash of the Iggy client plane, and the
//! `request_checksum` rule.
//!
//! The SDK stamps `request_checksum = xxh3(body)` (widened to u128) on Register,
//! Logout and metadata operations, so the server's client table can tell a genuine
//! retry from a reused request number; partition writes and reads carry 0. A zero
//! stamp means "unstamped" and is accepted; any other value must match the body.

use super::header::RequestHeader;
use super::operation::Operation;

/// XxHash3-64 of `bytes` with seed 0.
#[must_use]
pub fn xxh3(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// The `request_checksum` the official SDK stamps for `operation` carrying `body`.
#[must_use]
pub fn request_checksum(operation: Operation, body: &[u8]) -> u128 {
    if operation.is_checksummed() { u128::from(xxh3(body)) } else { 0 }
}

/// A non-zero `request_checksum` that does not match the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("request checksum {stamped:#x} does not match the body ({computed:#x})")]
pub struct RequestChecksumError {
    /// The header's value.
    pub stamped: u128,
    /// `xxh3(body)`.
    pub computed: u128,
}

/// Verifies a request's stamp: zero passes, anything else must equal `xxh3(body)`.
pub fn verify_request_checksum(
    header: &RequestHeader,
    body: &[u8],
) -> Result<(), RequestChecksumError> {
    if header.request_checksum == 0 {
        return Ok(());
    }
    let computed = u128::from(xxh3(body));
    if computed == header.request_checksum {
        Ok(())
    } else {
        Err(RequestChecksumError { stamped: header.request_checksum, computed })
    }
}

/// The partition a `messages_key` maps to, as the 0.11.0 SDK resolves it client-side:
/// `xxh32(key, seed 0) % partitions_count`. `None` when the topic has no partitions.
#[must_use]
pub fn messages_key_partition(key: &[u8], partitions_count: u32) -> Option<u32> {
    (partitions_count > 0).then(|| xxhash_rust::xxh32::xxh32(key, 0) % partitions_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // XXH3-64 of the empty input with seed 0 is a published constant.
        assert_eq!(xxh3(b""), 0x2d06_8005_38d3_94c2);
        assert_eq!(request_checksum(Operation::SendMessages, b"x"), 0);
        assert_eq!(request_checksum(Operation::NonReplicated, b"x"), 0);
        assert_eq!(request_checksum(Operation::CreateStream, b"x"), u128::from(xxh3(b"x")));
        assert_eq!(messages_key_partition(b"k", 0), None);
        assert!(messages_key_partition(b"k", 3).is_some_and(|p| p < 3));
    }

    #[test]
    fn verify_accepts_zero_and_match_only() {
        let mut header = RequestHeader {
            size: 257,
            client: 1,
            request_checksum: 0,
            timestamp: 0,
            request: 1,
            operation: Operation::CreateStream,
            session: 1,
            user_id: 0,
            code: 0,
        };
        assert!(verify_request_checksum(&header, b"a").is_ok());
        header.request_checksum = u128::from(xxh3(b"a"));
        assert!(verify_request_checksum(&header, b"a").is_ok());
        assert!(verify_request_checksum(&header, b"b").is_err());
    }
}
