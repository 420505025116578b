//! Bodies of the partition data transfer commands (`RequestPartitionData`, `PartitionData`).
//!
//! A replica that installed a checkpoint by state transfer holds the checkpoint's partition
//! *descriptor* (each partition's offsets) but not the messages: it fetches them from a
//! peer with these commands, outside consensus. Both travel in a replica-plane message of
//! the partition's group (`header.group`), with `view` and `replica` set as usual.
//!
//! ```text
//! RequestPartitionData body, 64 bytes:
//!   stream u32 @0  topic u32 @4  partition u32 @8  reserved u32 @12 (0)  incarnation u64 @16
//!   checkpoint_op u64 @24   records with op above it are never sent
//!   from_offset u64 @32     first offset wanted (a record boundary)
//!   end_offset u64 @40      one past the last offset wanted (the checkpoint's next offset)
//!   bytes_max u32 @48       bound on the answer's record bytes
//!   reserved [u8; 12] @52 (0)
//!
//! PartitionData body: 64-byte prefix, then `records_size` bytes of stored records:
//!   stream u32 @0  topic u32 @4  partition u32 @8  status u8 @12  reserved [u8; 3] @13 (0)
//!   incarnation u64 @16
//!   checkpoint_op u64 @24   echoed
//!   from_offset u64 @32     echoed; the records start exactly there
//!   first_offset u64 @40    the source's first stored offset
//!   next_offset u64 @48     the source's next offset (applied data only)
//!   record_count u32 @56    records that follow (0 unless status = Ok)
//!   records_size u32 @60    their bytes (the rest of the body)
//! ```
//!
//! The records are the storage crate's on-disk records (64-byte header with crc32c, then
//! the batch), exactly as the source stores them; this module only frames them. The
//! receiver verifies every record (checksum, offset continuity, op bound) on import.
//! Decoding is total: any bytes give a value or a typed error.

use crate::le::{u32_at, u64_at};

/// Size of a `RequestPartitionData` body.
pub const PARTITION_DATA_REQUEST_SIZE: usize = 64;
/// Size of the fixed prefix of a `PartitionData` body.
pub const PARTITION_DATA_PREFIX_SIZE: usize = 64;

/// A partition, as the node names it (its incarnation separates reused ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PartitionRef {
    /// Stream id.
    pub stream_id: u32,
    /// Topic id.
    pub topic_id: u32,
    /// Partition id.
    pub partition_id: u32,
    /// Incarnation of the partition.
    pub incarnation: u64,
}

/// A request for stored records of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionDataRequest {
    /// The partition.
    pub partition: PartitionRef,
    /// The checkpoint the requester installed: only records of ops at or below it.
    pub checkpoint_op: u64,
    /// First offset wanted.
    pub from_offset: u64,
    /// One past the last offset wanted.
    pub end_offset: u64,
    /// Bound on the answer's record bytes.
    pub bytes_max: u32,
}

/// What a `PartitionData` answer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PartitionDataStatus {
    /// Records follow (at least one), starting at `from_offset`.
    Ok = 1,
    /// The source no longer stores `from_offset` (deleted by an op after the checkpoint).
    Gone = 2,
    /// The source has not applied up to `from_offset` yet, or is itself catching up.
    Behind = 3,
    /// The source knows no such partition.
    Unknown = 4,
}

impl PartitionDataStatus {
    fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            1 => Self::Ok,
            2 => Self::Gone,
            3 => Self::Behind,
            4 => Self::Unknown,
            _ => return None,
        })
    }
}

/// A decoded `PartitionData` body; `records` borrows the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionData<'a> {
    /// The partition.
    pub partition: PartitionRef,
    /// The answer's kind.
    pub status: PartitionDataStatus,
    /// Echoed from the request.
    pub checkpoint_op: u64,
    /// Echoed from the request.
    pub from_offset: u64,
    /// The source's first stored offset.
    pub first_offset: u64,
    /// The source's next offset.
    pub next_offset: u64,
    /// Number of records in `records`.
    pub record_count: u32,
    /// Stored records, back to back (unverified here).
    pub records: &'a [u8],
}

/// Ways a transfer body can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PartitionDataError {
    /// Shorter than its fixed part, or longer than a request.
    #[error("partition data body has {0} bytes")]
    Length(usize),
    /// Reserved bytes are not zero.
    #[error("reserved bytes not zero")]
    Reserved,
    /// Unknown status byte.
    #[error("unknown partition data status {0}")]
    Status(u8),
    /// Offsets out of order, or records where none belong (or none where some must).
    #[error("partition data field out of range: {0}")]
    Field(&'static str),
}

fn put_partition(out: &mut Vec<u8>, partition: &PartitionRef) {
    out.extend_from_slice(&partition.stream_id.to_le_bytes());
    out.extend_from_slice(&partition.topic_id.to_le_bytes());
    out.extend_from_slice(&partition.partition_id.to_le_bytes());
}

fn partition_at(bytes: &[u8]) -> PartitionRef {
    PartitionRef {
        stream_id: u32_at(bytes, 0),
        topic_id: u32_at(bytes, 4),
        partition_id: u32_at(bytes, 8),
        incarnation: u64_at(bytes, 16),
    }
}

impl PartitionDataRequest {
    /// Encodes the body.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PARTITION_DATA_REQUEST_SIZE);
        put_partition(&mut out, &self.partition);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.partition.incarnation.to_le_bytes());
        out.extend_from_slice(&self.checkpoint_op.to_le_bytes());
        out.extend_from_slice(&self.from_offset.to_le_bytes());
        out.extend_from_slice(&self.end_offset.to_le_bytes());
        out.extend_from_slice(&self.bytes_max.to_le_bytes());
        out.extend_from_slice(&[0; 12]);
        debug_assert_eq!(out.len(), PARTITION_DATA_REQUEST_SIZE);
        out
    }

    /// Decodes a body. Total.
    pub fn decode(body: &[u8]) -> Result<Self, PartitionDataError> {
        if body.len() != PARTITION_DATA_REQUEST_SIZE {
            return Err(PartitionDataError::Length(body.len()));
        }
        if body[12..16] != [0; 4] || body[52..64] != [0; 12] {
            return Err(PartitionDataError::Reserved);
        }
        let request = Self {
            partition: partition_at(body),
            checkpoint_op: u64_at(body, 24),
            from_offset: u64_at(body, 32),
            end_offset: u64_at(body, 40),
            bytes_max: u32_at(body, 48),
        };
        if request.from_offset >= request.end_offset {
            return Err(PartitionDataError::Field("from_offset"));
        }
        Ok(request)
    }
}

impl<'a> PartitionData<'a> {
    /// Encodes the body (prefix, then the records as given).
    ///
    /// # Panics
    /// If the records exceed u32 bytes (a bug: messages are far smaller).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PARTITION_DATA_PREFIX_SIZE + self.records.len());
        put_partition(&mut out, &self.partition);
        out.push(self.status as u8);
        out.extend_from_slice(&[0; 3]);
        out.extend_from_slice(&self.partition.incarnation.to_le_bytes());
        out.extend_from_slice(&self.checkpoint_op.to_le_bytes());
        out.extend_from_slice(&self.from_offset.to_le_bytes());
        out.extend_from_slice(&self.first_offset.to_le_bytes());
        out.extend_from_slice(&self.next_offset.to_le_bytes());
        out.extend_from_slice(&self.record_count.to_le_bytes());
        let size = u32::try_from(self.records.len()).expect("records fit a message");
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(self.records);
        out
    }

    /// Decodes a body. Total: the records are only framed, not verified.
    pub fn decode(body: &'a [u8]) -> Result<Self, PartitionDataError> {
        if body.len() < PARTITION_DATA_PREFIX_SIZE {
            return Err(PartitionDataError::Length(body.len()));
        }
        if body[13..16] != [0; 3] {
            return Err(PartitionDataError::Reserved);
        }
        let status =
            PartitionDataStatus::from_u8(body[12]).ok_or(PartitionDataError::Status(body[12]))?;
        let records = &body[PARTITION_DATA_PREFIX_SIZE..];
        if u32_at(body, 60) as usize != records.len() {
            return Err(PartitionDataError::Length(body.len()));
        }
        let data = Self {
            partition: partition_at(body),
            status,
            checkpoint_op: u64_at(body, 24),
            from_offset: u64_at(body, 32),
            first_offset: u64_at(body, 40),
            next_offset: u64_at(body, 48),
            record_count: u32_at(body, 56),
            records,
        };
        if data.first_offset > data.next_offset {
            return Err(PartitionDataError::Field("first_offset"));
        }
        let has_records = data.record_count > 0 || !records.is_empty();
        let ok = status == PartitionDataStatus::Ok;
        if has_records != ok || (ok && (data.record_count == 0 || records.is_empty())) {
            return Err(PartitionDataError::Field("record_count"));
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn partition() -> PartitionRef {
        PartitionRef { stream_id: 1, topic_id: 2, partition_id: 3, incarnation: 9 }
    }

    #[test]
    fn request_round_trips_and_checks_fields() {
        let request = PartitionDataRequest {
            partition: partition(),
            checkpoint_op: 40,
            from_offset: 5,
            end_offset: 17,
            bytes_max: 1 << 20,
        };
        let bytes = request.encode();
        assert_eq!(PartitionDataRequest::decode(&bytes), Ok(request));
        let mut reserved = bytes.clone();
        reserved[60] = 1;
        assert_eq!(PartitionDataRequest::decode(&reserved), Err(PartitionDataError::Reserved));
        let empty = PartitionDataRequest { from_offset: 17, ..request }.encode();
        assert_eq!(
            PartitionDataRequest::decode(&empty),
            Err(PartitionDataError::Field("from_offset"))
        );
        assert_eq!(PartitionDataRequest::decode(&bytes[..63]), Err(PartitionDataError::Length(63)));
    }

    #[test]
    fn data_round_trips_and_checks_fields() {
        let records = [7_u8; 100];
        let data = PartitionData {
            partition: partition(),
            status: PartitionDataStatus::Ok,
            checkpoint_op: 40,
            from_offset: 5,
            first_offset: 0,
            next_offset: 30,
            record_count: 2,
            records: &records,
        };
        let bytes = data.encode();
        assert_eq!(PartitionData::decode(&bytes), Ok(data));
        // Records only with status Ok, and Ok only with records.
        let gone = PartitionData { status: PartitionDataStatus::Gone, ..data }.encode();
        assert_eq!(PartitionData::decode(&gone), Err(PartitionDataError::Field("record_count")));
        let empty = PartitionData { record_count: 0, records: &[], ..data }.encode();
        assert_eq!(PartitionData::decode(&empty), Err(PartitionDataError::Field("record_count")));
        let mut status = bytes.clone();
        status[12] = 9;
        assert_eq!(PartitionData::decode(&status), Err(PartitionDataError::Status(9)));
        let torn = &bytes[..bytes.len() - 1];
        assert!(matches!(PartitionData::decode(torn), Err(PartitionDataError::Length(_))));
        let inverted = PartitionData { first_offset: 31, ..data }.encode();
        assert_eq!(
            PartitionData::decode(&inverted),
            Err(PartitionDataError::Field("first_offset"))
        );
    }

    proptest! {
        #[test]
        fn decoding_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(request) = PartitionDataRequest::decode(&bytes) {
                prop_assert_eq!(request.encode(), bytes.clone());
            }
            if let Ok(data) = PartitionData::decode(&bytes) {
                prop_assert_eq!(data.encode(), bytes.clone());
            }
        }

        #[test]
        fn requests_round_trip(
            ids in any::<(u32, u32, u32, u64)>(),
            checkpoint_op in any::<u64>(),
            from_offset in 0..u64::MAX - 1,
            length in 1..1000_u64,
            bytes_max in any::<u32>(),
        ) {
            let request = PartitionDataRequest {
                partition: PartitionRef {
                    stream_id: ids.0, topic_id: ids.1, partition_id: ids.2, incarnation: ids.3,
                },
                checkpoint_op,
                from_offset,
                end_offset: from_offset.saturating_add(length),
                bytes_max,
            };
            prop_assert_eq!(PartitionDataRequest::decode(&request.encode()), Ok(request));
        }
    }
}
