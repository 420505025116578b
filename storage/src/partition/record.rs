//! The on-disk record: a 64-byte header followed by one batch's bytes exactly as given.
//!
//! ```text
//! offset size field
//!      0    4 magic              RECORD_MAGIC
//!      4    4 checksum           crc32c over bytes 8..64 of the header, then the payload
//!      8    4 payload_size_bytes
//!     12    4 message_count      >= 1
//!     16    8 op                 the VSR op that appended the batch
//!     24    8 base_offset        offset of the batch's first message
//!     32    8 base_timestamp_us
//!     40    8 max_timestamp_us   >= base_timestamp_us
//!     48    8 position_bytes     where the record starts in its segment file: a record that
//!                                lands anywhere else (misdirected write) is detected
//!     56    8 reserved           zero
//! ```
//!
//! All integers are little-endian. [`parse_record`] is total: any bytes give `Ok` or a
//! typed [`RecordError`], never a panic.

use bytes::Bytes;

/// Identifies a record header ("VRLG").
pub const RECORD_MAGIC: u32 = u32::from_le_bytes(*b"VRLG");
/// Size of the record header in bytes.
pub const RECORD_HEADER_SIZE: usize = 64;
/// Largest payload any record may carry, whatever the configuration (keeps every length
/// computation far from overflow and bounds a reader's allocation).
pub const RECORD_PAYLOAD_SIZE_MAX: u32 = 64 * 1024 * 1024;

const _: () = assert!(RECORD_HEADER_SIZE.is_multiple_of(8));
const _: () = assert!((RECORD_PAYLOAD_SIZE_MAX as usize) < u32::MAX as usize - RECORD_HEADER_SIZE);

/// What the caller says about a batch it appends; the payload itself is opaque here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    /// Offset of the batch's first message; must equal the log's `next_offset`.
    pub base_offset: u64,
    /// Number of messages (>= 1); the batch covers `base_offset..base_offset + count`.
    pub message_count: u32,
    /// Timestamp of the batch's first message, microseconds.
    pub base_timestamp_us: u64,
    /// Largest message timestamp in the batch, microseconds (>= `base_timestamp_us`).
    pub max_timestamp_us: u64,
}

/// A decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Checksum as stored.
    pub checksum: u32,
    /// Length of the batch bytes that follow the header.
    pub payload_size_bytes: u32,
    /// The VSR op that appended this record.
    pub op: u64,
    /// The batch's metadata.
    pub meta: BatchMeta,
    /// Position of the record in its segment file.
    pub position_bytes: u64,
}

impl RecordHeader {
    /// Header plus payload.
    #[must_use]
    pub fn record_size_bytes(&self) -> u64 {
        RECORD_HEADER_SIZE as u64 + u64::from(self.payload_size_bytes)
    }

    /// One past the batch's last offset.
    #[must_use]
    pub fn end_offset(&self) -> u64 {
        self.meta.base_offset + u64::from(self.meta.message_count)
    }
}

/// A batch as stored: its header and its bytes (shared, never copied on the read path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// The record header (op, offsets, timestamps, position).
    pub header: RecordHeader,
    /// The batch bytes exactly as appended.
    pub payload: Bytes,
}

/// Why bytes are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Fewer bytes than the header or than the header's length claims.
    #[error("record truncated: {available} of {needed} bytes")]
    Truncated {
        /// Bytes the record needs.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// The magic does not match: not a record header.
    #[error("bad record magic {0:#010x}")]
    BadMagic(u32),
    /// A header field is out of range (length, count, timestamps, reserved bits).
    #[error("record header field out of range: {0}")]
    BadField(&'static str),
    /// The crc32c does not match: the header or payload is corrupt.
    #[error("record checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// As stored.
        stored: u32,
        /// As computed.
        computed: u32,
    },
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Encodes the header for `payload` at `position_bytes`, checksum included.
#[must_use]
pub fn encode_header(
    op: u64,
    meta: &BatchMeta,
    position_bytes: u64,
    payload: &[u8],
) -> [u8; RECORD_HEADER_SIZE] {
    assert!(meta.message_count >= 1, "a batch holds at least one message");
    assert!(meta.max_timestamp_us >= meta.base_timestamp_us, "max timestamp below base");
    let payload_size = u32::try_from(payload.len()).expect("payload length checked by caller");
    assert!(payload_size <= RECORD_PAYLOAD_SIZE_MAX, "payload above RECORD_PAYLOAD_SIZE_MAX");
    let mut header = [0_u8; RECORD_HEADER_SIZE];
    header[0..4].copy_from_slice(&RECORD_MAGIC.to_le_bytes());
    header[8..12].copy_from_slice(&payload_size.to_le_bytes());
    header[12..16].copy_from_slice(&meta.message_count.to_le_bytes());
    header[16..24].copy_from_slice(&op.to_le_bytes());
    header[24..32].copy_from_slice(&meta.base_offset.to_le_bytes());
    header[32..40].copy_from_slice(&meta.base_timestamp_us.to_le_bytes());
    header[40..48].copy_from_slice(&meta.max_timestamp_us.to_le_bytes());
    header[48..56].copy_from_slice(&position_bytes.to_le_bytes());
    let checksum = crc32c::crc32c_append(crc32c::crc32c(&header[8..]), payload);
    header[4..8].copy_from_slice(&checksum.to_le_bytes());
    header
}

/// Decodes and checks a header without the payload checksum (for scanning and resync).
pub fn parse_header(bytes: &[u8]) -> Result<RecordHeader, RecordError> {
    if bytes.len() < RECORD_HEADER_SIZE {
        return Err(RecordError::Truncated {
            needed: RECORD_HEADER_SIZE as u64,
            available: bytes.len() as u64,
        });
    }
    let magic = u32_at(bytes, 0);
    if magic != RECORD_MAGIC {
        return Err(RecordError::BadMagic(magic));
    }
    let payload_size_bytes = u32_at(bytes, 8);
    let message_count = u32_at(bytes, 12);
    let base_offset = u64_at(bytes, 24);
    let base_timestamp_us = u64_at(bytes, 32);
    let max_timestamp_us = u64_at(bytes, 40);
    if payload_size_bytes > RECORD_PAYLOAD_SIZE_MAX {
        return Err(RecordError::BadField("payload_size_bytes"));
    }
    if message_count == 0 || base_offset.checked_add(u64::from(message_count)).is_none() {
        return Err(RecordError::BadField("message_count"));
    }
    if max_timestamp_us < base_timestamp_us {
        return Err(RecordError::BadField("max_timestamp_us"));
    }
    if u64_at(bytes, 56) != 0 {
        return Err(RecordError::BadField("reserved"));
    }
    Ok(RecordHeader {
        checksum: u32_at(bytes, 4),
        payload_size_bytes,
        op: u64_at(bytes, 16),
        meta: BatchMeta { base_offset, message_count, base_timestamp_us, max_timestamp_us },
        position_bytes: u64_at(bytes, 48),
    })
}

/// Parses the record at the start of `bytes` and verifies its checksum. Returns the header
/// and the payload slice. Total on any input.
pub fn parse_record(bytes: &[u8]) -> Result<(RecordHeader, &[u8]), RecordError> {
    let header = parse_header(bytes)?;
    let size = header.record_size_bytes();
    if (bytes.len() as u64) < size {
        return Err(RecordError::Truncated { needed: size, available: bytes.len() as u64 });
    }
    let end = usize::try_from(size).expect("bounded by RECORD_PAYLOAD_SIZE_MAX");
    let payload = &bytes[RECORD_HEADER_SIZE..end];
    let computed = crc32c::crc32c_append(crc32c::crc32c(&bytes[8..RECORD_HEADER_SIZE]), payload);
    if computed != header.checksum {
        return Err(RecordError::Checksum { stored: header.checksum, computed });
    }
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(base_offset: u64, message_count: u32) -> BatchMeta {
        BatchMeta { base_offset, message_count, base_timestamp_us: 10, max_timestamp_us: 20 }
    }

    fn record(op: u64, meta: &BatchMeta, position: u64, payload: &[u8]) -> Vec<u8> {
        let mut bytes = encode_header(op, meta, position, payload).to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn round_trip_and_every_single_bit_flip_is_detected() {
        let bytes = record(7, &meta(100, 3), 4096, b"batch bytes");
        let (header, payload) = parse_record(&bytes).unwrap();
        assert_eq!(payload, b"batch bytes");
        assert_eq!(header.op, 7);
        assert_eq!(header.meta, meta(100, 3));
        assert_eq!(header.position_bytes, 4096);
        assert_eq!(header.end_offset(), 103);
        assert_eq!(header.record_size_bytes(), bytes.len() as u64);
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(parse_record(&flipped).is_err(), "flip of bit {bit} undetected");
        }
    }

    /// A record encoded by an independent implementation of the documented layout
    /// (`storage/fuzz/make_seeds.py`, its own crc32c) parses here, and re-encodes equal.
    #[test]
    fn independent_encoding_of_the_documented_layout_parses() {
        let hex = concat!(
            "56524c4797dd4478",
            "0400000003000000",
            "0700000000000000",
            "6400000000000000",
            "0a00000000000000",
            "0f00000000000000",
            "0010000000000000",
            "0000000000000000",
            "61626364",
        );
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let (header, payload) = parse_record(&bytes).unwrap();
        assert_eq!(payload, b"abcd");
        assert_eq!((header.op, header.position_bytes), (7, 4096));
        let expected = BatchMeta {
            base_offset: 100,
            message_count: 3,
            base_timestamp_us: 10,
            max_timestamp_us: 15,
        };
        assert_eq!(header.meta, expected);
        let encoded = encode_header(7, &header.meta, 4096, b"abcd");
        assert_eq!(&encoded[..], &bytes[..RECORD_HEADER_SIZE]);
    }

    #[test]
    fn truncation_and_bad_fields_are_typed() {
        let bytes = record(1, &meta(0, 1), 0, &[9; 100]);
        for length in 0..bytes.len() {
            assert!(matches!(parse_record(&bytes[..length]), Err(RecordError::Truncated { .. })));
        }
        assert!(matches!(parse_record(&[0; 64]), Err(RecordError::BadMagic(0))));
        let mut bad = bytes;
        bad[12..16].copy_from_slice(&0_u32.to_le_bytes());
        assert_eq!(parse_record(&bad), Err(RecordError::BadField("message_count")));
    }

    proptest! {
        #[test]
        fn encode_parse_round_trip(
            op in any::<u64>(),
            base in 0_u64..u64::MAX / 2,
            count in 1_u32..10_000,
            ts in 0_u64..u64::MAX / 2,
            span in 0_u64..1_000_000,
            position in any::<u64>(),
            payload in proptest::collection::vec(any::<u8>(), 0..2000),
        ) {
            let meta = BatchMeta { base_offset: base, message_count: count,
                base_timestamp_us: ts, max_timestamp_us: ts + span };
            let bytes = record(op, &meta, position, &payload);
            let (header, parsed) = parse_record(&bytes).unwrap();
            prop_assert_eq!(header.meta, meta);
            prop_assert_eq!(header.op, op);
            prop_assert_eq!(header.position_bytes, position);
            prop_assert_eq!(parsed, &payload[..]);
        }

        #[test]
        fn parse_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_record(&bytes);
        }
    }
}
