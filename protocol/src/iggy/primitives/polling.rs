//! Partitioning, polling strategy, optional partition and acknowledgement level.

use crate::iggy::wire::{DecodeError, Put, Reader};

/// Where a producer wants its batch to go: `[kind u8][len u8][value]`.
///
/// The 0.11.0 SDK resolves `Balanced` and `MessagesKey` to a partition id itself
/// before sending, but other clients may not, so a server must handle all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partitioning<'a> {
    /// The server picks (round robin). `[1][0]`.
    Balanced,
    /// An explicit partition. `[2][4][u32]`.
    PartitionId(u32),
    /// Hash of a 1–255 byte key. `[3][len][key]`.
    MessagesKey(&'a [u8]),
}

impl<'a> Partitioning<'a> {
    /// Bytes on the wire.
    #[must_use]
    pub fn encoded_size(&self) -> usize {
        match self {
            Self::Balanced => 2,
            Self::PartitionId(_) => 6,
            Self::MessagesKey(key) => 2 + key.len(),
        }
    }

    /// Reads a partitioning; lengths must match the kind exactly.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        let kind = reader.u8()?;
        let length = reader.u8()?;
        let bad_length = DecodeError::InvalidLength {
            field: "partitioning",
            offset: offset + 1,
            length: usize::from(length),
        };
        match (kind, length) {
            (1, 0) => Ok(Self::Balanced),
            (2, 4) => Ok(Self::PartitionId(reader.u32()?)),
            (3, 1..) => Ok(Self::MessagesKey(reader.bytes(usize::from(length))?)),
            (1..=3, _) => Err(bad_length),
            (value, _) => Err(DecodeError::InvalidKind { field: "partitioning", offset, value }),
        }
    }

    /// Appends the partitioning.
    ///
    /// # Panics
    /// If a messages key is empty or longer than 255 bytes (the caller validates).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Balanced => {
                out.put_u8(1);
                out.put_u8(0);
            }
            Self::PartitionId(id) => {
                out.put_u8(2);
                out.put_u8(4);
                out.put_u32(*id);
            }
            Self::MessagesKey(key) => {
                assert!((1..=255).contains(&key.len()), "messages key must be 1..=255 bytes");
                out.put_u8(3);
                out.put_u8(key.len() as u8);
                out.put_bytes(key);
            }
        }
    }
}

/// How a poll picks its first message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PollingKind {
    /// From `value` as an offset.
    Offset = 1,
    /// From the first message at or after `value` (µs).
    Timestamp = 2,
    /// From the partition's first message.
    First = 3,
    /// The last `count` messages.
    Last = 4,
    /// After the consumer's stored offset (or from the start).
    Next = 5,
}

/// `[kind u8][value u64]`, 9 bytes. The value is kept even where the kind ignores
/// it, so re-encoding reproduces the client's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PollingStrategy {
    /// The strategy.
    pub kind: PollingKind,
    /// Offset or timestamp; 0 for the other kinds.
    pub value: u64,
}

impl PollingStrategy {
    /// Reads a strategy.
    pub fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        let kind = match reader.u8()? {
            1 => PollingKind::Offset,
            2 => PollingKind::Timestamp,
            3 => PollingKind::First,
            4 => PollingKind::Last,
            5 => PollingKind::Next,
            value => {
                return Err(DecodeError::InvalidKind { field: "polling strategy", offset, value });
            }
        };
        Ok(Self { kind, value: reader.u64()? })
    }

    /// Appends the strategy.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(self.kind as u8);
        out.put_u64(self.value);
    }
}

/// Reads an optional partition: `[flag u8][u32]`, the value always present. An absent
/// partition's value must be zero (as the SDK writes it), so each byte string has one
/// meaning.
pub fn decode_partition(reader: &mut Reader<'_>) -> Result<Option<u32>, DecodeError> {
    let present = reader.flag()?;
    let offset = reader.offset();
    let value = reader.u32()?;
    match (present, value) {
        (true, value) => Ok(Some(value)),
        (false, 0) => Ok(None),
        (false, _) => Err(DecodeError::NonZeroPadding { offset }),
    }
}

/// Appends an optional partition (`[0][0u32]` when absent).
pub fn encode_partition(partition: Option<u32>, out: &mut Vec<u8>) {
    out.put_u8(u8::from(partition.is_some()));
    out.put_u32(partition.unwrap_or(0));
}

/// Acknowledgement level of a consumer-offset write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum AckLevel {
    /// Local fast path on a single replica.
    NoAck = 0,
    /// Reply after a quorum committed it (the SDK's default).
    #[default]
    Quorum = 1,
}

impl AckLevel {
    /// Reads the level byte.
    pub fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        match reader.u8()? {
            0 => Ok(Self::NoAck),
            1 => Ok(Self::Quorum),
            value => Err(DecodeError::InvalidKind { field: "ack level", offset, value }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitioning_round_trip_and_rejections() {
        for partitioning in [
            Partitioning::Balanced,
            Partitioning::PartitionId(7),
            Partitioning::MessagesKey(b"user-42"),
        ] {
            let mut out = Vec::new();
            partitioning.encode(&mut out);
            assert_eq!(out.len(), partitioning.encoded_size());
            assert_eq!(Partitioning::decode(&mut Reader::new(&out)), Ok(partitioning));
        }
        assert!(matches!(
            Partitioning::decode(&mut Reader::new(&[1, 1, 0])),
            Err(DecodeError::InvalidLength { .. })
        ));
        assert!(matches!(
            Partitioning::decode(&mut Reader::new(&[3, 0])),
            Err(DecodeError::InvalidLength { .. })
        ));
        assert!(matches!(
            Partitioning::decode(&mut Reader::new(&[4, 0])),
            Err(DecodeError::InvalidKind { .. })
        ));
    }

    #[test]
    fn strategy_partition_and_ack() {
        let strategy = PollingStrategy { kind: PollingKind::Timestamp, value: 123 };
        let mut out = Vec::new();
        strategy.encode(&mut out);
        encode_partition(Some(3), &mut out);
        encode_partition(None, &mut out);
        out.push(1);
        let mut reader = Reader::new(&out);
        assert_eq!(PollingStrategy::decode(&mut reader), Ok(strategy));
        assert_eq!(decode_partition(&mut reader), Ok(Some(3)));
        assert_eq!(decode_partition(&mut reader), Ok(None));
        assert_eq!(AckLevel::decode(&mut reader), Ok(AckLevel::Quorum));
        assert!(PollingStrategy::decode(&mut Reader::new(&[6, 0, 0, 0, 0, 0, 0, 0, 0])).is_err());
        assert!(decode_partition(&mut Reader::new(&[2, 0, 0, 0, 0])).is_err());
        assert_eq!(
            decode_partition(&mut Reader::new(&[0, 2, 0, 0, 0])),
            Err(DecodeError::NonZeroPadding { offset: 1 })
        );
    }
}
