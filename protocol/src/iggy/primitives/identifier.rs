//! Identifiers (`[kind u8][len u8][value]`) and consumers (`[kind u8][Identifier]`).

use super::name::Name;
use crate::iggy::wire::{DecodeError, Put, Reader};

const KIND_NUMERIC: u8 = 1;
const KIND_STRING: u8 = 2;

/// A stream, topic, group or user id: numeric (0-based) or by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identifier<'a> {
    /// `[1][4][u32]`.
    Numeric(u32),
    /// `[2][len][utf8]`, 1–255 bytes.
    Name(Name<'a>),
}

impl<'a> Identifier<'a> {
    /// Bytes on the wire.
    #[must_use]
    pub fn encoded_size(&self) -> usize {
        match self {
            Self::Numeric(_) => 6,
            Self::Name(name) => 1 + name.encoded_size(),
        }
    }

    /// The numeric id, if it is one.
    #[must_use]
    pub fn as_numeric(&self) -> Option<u32> {
        match self {
            Self::Numeric(id) => Some(*id),
            Self::Name(_) => None,
        }
    }

    /// Reads an identifier; the length must be 4 for numeric and 1..=255 for names.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        let kind = reader.u8()?;
        let length_offset = reader.offset();
        let length = reader.u8()?;
        match kind {
            KIND_NUMERIC if length == 4 => Ok(Self::Numeric(reader.u32()?)),
            KIND_NUMERIC => Err(DecodeError::InvalidLength {
                field: "numeric identifier",
                offset: length_offset,
                length: usize::from(length),
            }),
            KIND_STRING if length > 0 => {
                Ok(Self::Name(Name::new(reader.str(usize::from(length))?).map_err(|_| {
                    DecodeError::InvalidLength {
                        field: "identifier",
                        offset: length_offset,
                        length: 0,
                    }
                })?))
            }
            KIND_STRING => Err(DecodeError::InvalidLength {
                field: "string identifier",
                offset: length_offset,
                length: 0,
            }),
            value => Err(DecodeError::InvalidKind { field: "identifier", offset, value }),
        }
    }

    /// Appends the identifier.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Numeric(id) => {
                out.put_u8(KIND_NUMERIC);
                out.put_u8(4);
                out.put_u32(*id);
            }
            Self::Name(name) => {
                out.put_u8(KIND_STRING);
                name.encode(out);
            }
        }
    }
}

/// Whose offsets a poll or offset request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConsumerKind {
    /// A single consumer.
    Consumer = 1,
    /// A consumer group (without a partition, the member's assigned one is meant).
    ConsumerGroup = 2,
}

/// `[kind u8][Identifier]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Consumer<'a> {
    /// Single consumer or group.
    pub kind: ConsumerKind,
    /// The consumer's or group's id.
    pub id: Identifier<'a>,
}

impl<'a> Consumer<'a> {
    /// Reads a consumer. Kind 3 (external group) arrives only from 0.11.1-edge
    /// clients and is refused.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        let kind = match reader.u8()? {
            1 => ConsumerKind::Consumer,
            2 => ConsumerKind::ConsumerGroup,
            value => return Err(DecodeError::InvalidKind { field: "consumer", offset, value }),
        };
        Ok(Self { kind, id: Identifier::decode(reader)? })
    }

    /// Appends the consumer.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(self.kind as u8);
        self.id.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(id: Identifier<'_>) {
        let mut out = Vec::new();
        id.encode(&mut out);
        assert_eq!(out.len(), id.encoded_size());
        let mut reader = Reader::new(&out);
        assert_eq!(Identifier::decode(&mut reader), Ok(id));
        assert!(reader.is_empty());
    }

    #[test]
    fn identifiers_round_trip_and_reject_bad_lengths() {
        round_trip(Identifier::Numeric(0));
        round_trip(Identifier::Numeric(u32::MAX));
        round_trip(Identifier::Name(Name::new("orders").unwrap()));
        assert!(matches!(
            Identifier::decode(&mut Reader::new(&[1, 3, 0, 0, 0])),
            Err(DecodeError::InvalidLength { .. })
        ));
        assert!(matches!(
            Identifier::decode(&mut Reader::new(&[2, 0])),
            Err(DecodeError::InvalidLength { .. })
        ));
        assert!(matches!(
            Identifier::decode(&mut Reader::new(&[3, 0])),
            Err(DecodeError::InvalidKind { .. })
        ));
    }

    #[test]
    fn consumer_kinds() {
        let consumer = Consumer { kind: ConsumerKind::ConsumerGroup, id: Identifier::Numeric(4) };
        let mut out = Vec::new();
        consumer.encode(&mut out);
        assert_eq!(out[0], 2);
        assert_eq!(Consumer::decode(&mut Reader::new(&out)), Ok(consumer));
        out[0] = 3;
        assert!(matches!(
            Consumer::decode(&mut Reader::new(&out)),
            Err(DecodeError::InvalidKind { value: 3, .. })
        ));
    }
}
