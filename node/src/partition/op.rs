//! Bodies of partition-group prepares, and their compact replies.
//!
//! Two operations:
//!
//! * [`SEND_OPERATION`]: the produce hot path. A 40-byte routing prefix, then the Iggy
//!   batch exactly as the client sent it (already verified by the edge), so the prepare
//!   body is one copy of the received bytes and never an archive:
//!   `[stream u32][topic u32][partition u32][reserved u32][incarnation u64]
//!    [segment_size u64][preallocate u8][reserved 7][batch…]`.
//! * [`CONTROL_OPERATION`]: everything else, an rkyv archive of [`PartitionControl`].
//!
//! Replies are `[status u32][payload]`, at most `config::validate::REPLY_BODY_MAX`
//! bytes: a send's payload is the Iggy send confirmation (one partition).

use rkyv::rancor;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Deserialize, Serialize};
use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::vsr::Operation;

use super::key::{OwnerKey, PartitionKey};

/// The consensus operation of a produce.
pub const SEND_OPERATION: Operation = Operation(Operation::USER_MIN + 16);
/// The consensus operation of every other partition-group op.
pub const CONTROL_OPERATION: Operation = Operation(Operation::USER_MIN + 17);
/// Bytes before the batch in a send body.
pub const SEND_PREFIX_SIZE: usize = 40;

/// The routing prefix of a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendPrefix {
    /// Target partition.
    pub key: PartitionKey,
    /// The topic's segment size (used when the partition's log is created).
    pub segment_size: u64,
    /// Preallocate new segment files.
    pub preallocate: bool,
}

impl SendPrefix {
    /// Appends the prefix; the caller appends the batch.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key.stream_id.to_le_bytes());
        out.extend_from_slice(&self.key.topic_id.to_le_bytes());
        out.extend_from_slice(&self.key.partition_id.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.key.incarnation.to_le_bytes());
        out.extend_from_slice(&self.segment_size.to_le_bytes());
        out.push(u8::from(self.preallocate));
        out.extend_from_slice(&[0; 7]);
    }

    /// Splits a send body into its prefix and batch. Total.
    #[must_use]
    pub fn decode(body: &[u8]) -> Option<(Self, &[u8])> {
        let prefix = body.get(..SEND_PREFIX_SIZE)?;
        let u32_at = |at: usize| u32::from_le_bytes(prefix[at..at + 4].try_into().expect("4"));
        let u64_at = |at: usize| u64::from_le_bytes(prefix[at..at + 8].try_into().expect("8"));
        if prefix[12..16] != [0; 4] || prefix[33..40] != [0; 7] || prefix[32] > 1 {
            return None;
        }
        let key = PartitionKey {
            stream_id: u32_at(0),
            topic_id: u32_at(4),
            partition_id: u32_at(8),
            incarnation: u64_at(16),
        };
        let prefix = Self { key, segment_size: u64_at(24), preallocate: prefix[32] == 1 };
        Some((prefix, &body[SEND_PREFIX_SIZE..]))
    }
}

/// A partition-group op other than a send.
#[derive(Debug, Clone, PartialEq, Eq, Archive, Serialize, Deserialize)]
pub enum PartitionControl {
    /// Stores `owner`'s offset.
    StoreOffset {
        /// Partition.
        key: PartitionKey,
        /// Whose.
        owner: OwnerKey,
        /// The offset.
        offset: u64,
    },
    /// Deletes `owner`'s offset.
    DeleteOffset {
        /// Partition.
        key: PartitionKey,
        /// Whose.
        owner: OwnerKey,
    },
    /// Deletes up to `count` of the oldest sealed segments.
    DeleteSegments {
        /// Partition.
        key: PartitionKey,
        /// How many.
        count: u32,
    },
    /// Deletes every message (offsets continue where they were) and stored offsets.
    Purge {
        /// Partition.
        key: PartitionKey,
    },
    /// Applies the topic's retention at the op's timestamp.
    Retention {
        /// Partition.
        key: PartitionKey,
        /// Message expiry, µs (`None` = never).
        message_expiry_us: Option<u64>,
        /// Most bytes the partition may keep (`None` = unlimited).
        max_size_bytes: Option<u64>,
    },
    /// Forgets a partition whose topic (or stream, or the partition itself) was deleted.
    Drop {
        /// Partition.
        key: PartitionKey,
    },
}

impl PartitionControl {
    /// The prepare body.
    ///
    /// # Panics
    /// Never for in-memory values.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        rkyv::to_bytes::<rancor::Error>(self).expect("serializing to memory").into_vec()
    }

    /// Reads a prepare body; `None` if it is not a valid archive.
    #[must_use]
    pub fn decode(body: &[u8]) -> Option<Self> {
        let mut aligned = AlignedVec::<16>::with_capacity(body.len());
        aligned.extend_from_slice(body);
        rkyv::from_bytes::<Self, rancor::Failure>(&aligned).ok()
    }
}

/// Appends a reply: status, then the payload on success.
pub fn encode_reply(outcome: Result<&[u8], ErrorCode>, out: &mut Vec<u8>) {
    match outcome {
        Ok(payload) => {
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(payload);
        }
        Err(code) => out.extend_from_slice(&code.0.to_le_bytes()),
    }
}

/// Splits a reply into its outcome; `None` for a malformed body.
#[must_use]
pub fn decode_reply(body: &[u8]) -> Option<Result<&[u8], ErrorCode>> {
    let status = u32::from_le_bytes(body.get(..4)?.try_into().ok()?);
    Some(if status == 0 { Ok(&body[4..]) } else { Err(ErrorCode(status)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_garbage_is_refused() {
        let key = PartitionKey { stream_id: 1, topic_id: 2, partition_id: 3, incarnation: 4 };
        let prefix = SendPrefix { key, segment_size: 1 << 20, preallocate: true };
        let mut body = Vec::new();
        prefix.encode(&mut body);
        assert_eq!(body.len(), SEND_PREFIX_SIZE);
        body.extend_from_slice(b"batch");
        assert_eq!(SendPrefix::decode(&body), Some((prefix, &b"batch"[..])));
        body[14] = 1;
        assert_eq!(SendPrefix::decode(&body), None);
        assert_eq!(SendPrefix::decode(&body[..10]), None);

        let control = PartitionControl::StoreOffset {
            key,
            owner: OwnerKey::ConsumerName("c".into()),
            offset: 9,
        };
        assert_eq!(PartitionControl::decode(&control.encode()), Some(control));
        assert_eq!(PartitionControl::decode(b"nonsense"), None);

        let mut reply = Vec::new();
        encode_reply(Ok(b"xy"), &mut reply);
        assert_eq!(decode_reply(&reply), Some(Ok(&b"xy"[..])));
        let mut reply = Vec::new();
        encode_reply(Err(ErrorCode::INVALID_OFFSET), &mut reply);
        assert_eq!(decode_reply(&reply), Some(Err(ErrorCode::INVALID_OFFSET)));
        assert_eq!(decode_reply(&[1]), None);
    }
}
