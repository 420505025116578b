//! 128-bit blake3 checksums: the identity of every header and body on the replica plane.

/// A 128-bit checksum (blake3, first 16 bytes, little-endian). Zero means "none".
pub type Checksum = u128;

/// The blake3 hash of `bytes`, truncated to 128 bits.
///
/// 128 bits keeps the header small while leaving accidental collisions out of reach;
/// blake3 is fast enough (several GB/s per core) to checksum every batch body once.
#[must_use]
pub fn checksum(bytes: &[u8]) -> Checksum {
    let hash = blake3::hash(bytes);
    let mut first = [0u8; 16];
    first.copy_from_slice(&hash.as_bytes()[..16]);
    u128::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_differs_for_different_bytes() {
        assert_ne!(checksum(b"a"), checksum(b"b"));
        assert_eq!(checksum(b"a"), checksum(b"a"));
        assert_ne!(checksum(b""), 0);
    }
}
