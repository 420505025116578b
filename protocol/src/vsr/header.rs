//! The fixed 256-byte header of every replica-plane message.
//!
//! Layout (little-endian; `name type @offset`). Bytes 0..64 are the generic prefix shared
//! with the Iggy client plane's headers (checksum, checksum_body, cluster, size, view,
//! release, command, replica), so one framing routine reads both planes.
//!
//! ```text
//! checksum u128 @0       checksum_body u128 @16   cluster u128 @32
//! size u32 @48           view u32 @52             release u32 @56
//! command u8 @60         replica u8 @61           protocol u8 @62    operation u8 @63
//! group u32 @64          log_view u32 @68
//! parent u128 @72        client u128 @88          context u128 @104  request_checksum u128 @120
//! op u64 @136            commit u64 @144          timestamp u64 @152 request u64 @160
//! session u64 @168       checkpoint_op u64 @176   flags u8 @184      reserved [u8; 71] @185 (zero)
//! ```
//!
//! Field meaning by command (fields not listed are zero):
//!
//! | command | fields |
//! |---|---|
//! | Ping / Pong | view, replica, timestamp (sender's tick; echoed by pong), op (sender's head), commit, checkpoint_op |
//! | Request | client, session, request (number), operation, parent (checksum of the client's last reply: the per-client chain), replica (forwarding replica, or `u8::MAX` when direct) |
//! | Prepare | view, replica (primary), op, commit (primary's commit_max), parent (op-1's checksum), client, session, request, request_checksum, operation, timestamp, checkpoint_op, flags |
//! | PrepareOk | view, replica (sender), op, commit (sender's commit_min), context (checksum of the prepare), checkpoint_op |
//! | Reply | view, replica, client, request, session, op, commit, context (checksum of the prepare), operation, timestamp |
//! | Commit | view, replica (primary), commit (commit_max), context (checksum of the commit op's prepare), timestamp (primary's tick), checkpoint_op |
//! | StartViewChange | view (proposed), replica |
//! | DoViewChange | view (proposed), log_view, op (head), commit (commit_min), replica, checkpoint_op; body: headers suffix + bitsets |
//! | StartView | view, op (head), commit (commit_max), context (nonce echoed, or 0), replica, checkpoint_op; body: headers suffix |
//! | RequestStartView | view, context (nonce), replica |
//! | RequestHeaders | view, replica, commit (op_min), op (op_max) |
//! | Headers | view, replica; body: headers |
//! | RequestPrepare | view, replica, op, context (checksum wanted, 0 = any in the chain) |
//! | Eviction | view, replica, client, session (the one evicted), operation (the [`super::EvictionReason`]) |
//! | RequestSyncChunk | view, replica, checkpoint_op, context (checkpoint id), op (chunk index) |
//! | SyncChunk | view, replica, checkpoint_op, context (checkpoint id), op (chunk index), commit (chunk count), timestamp (total bytes); body: chunk |
//! | RequestPartitionData | view, replica, group; body: [`super::PartitionDataRequest`] |
//! | PartitionData | view, replica, group; body: [`super::PartitionData`] (prefix + stored records) |

use super::checksum::{Checksum, checksum};
use super::command::{Command, Operation};
use crate::le::{u32_at, u64_at, u128_at};

/// Size of every replica-plane header in bytes.
pub const HEADER_SIZE: usize = 256;

/// The header format version (byte 62). A replica refuses any other value.
pub const PROTOCOL_VERSION: u8 = 1;

const RESERVED_OFFSET: usize = 185;

/// `flags` bit: every replica syncs its journal before sending prepare_ok for this prepare
/// (the topic's durability is `persisted`); without it the quorum's acknowledgement alone is
/// the durability boundary.
pub const FLAG_PERSISTED: u8 = 1;

const FLAGS_KNOWN: u8 = FLAG_PERSISTED;

/// A decoded replica-plane header. A plain value: decoding copies 256 bytes once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// blake3 of bytes `16..256` (the header after this field, `checksum_body` included).
    pub checksum: Checksum,
    /// blake3 of the whole body.
    pub checksum_body: Checksum,
    /// The cluster this message belongs to; replicas drop messages of other clusters.
    pub cluster: u128,
    /// Header plus body, in bytes.
    pub size: u32,
    /// The sender's view (for a view change: the proposed view).
    pub view: u32,
    /// The sender's software release (reserved for upgrades; 0 today).
    pub release: u32,
    /// The message kind.
    pub command: Command,
    /// Replica index of the sender (for `Request`: forwarding replica or `u8::MAX`).
    pub replica: u8,
    /// See [`Operation`].
    pub operation: Operation,
    /// The consensus group: 0 is metadata, 1.. are partition groups.
    pub group: u32,
    /// The latest view in which the sender's status was normal (DoViewChange).
    pub log_view: u32,
    /// Checksum of the previous prepare (Prepare) or of the client's last reply (Request).
    pub parent: Checksum,
    /// Client id (random, non-zero).
    pub client: u128,
    /// Command-specific: acked prepare, nonce, checkpoint id (see the table above).
    pub context: u128,
    /// Checksum of the client request a prepare was made from.
    pub request_checksum: Checksum,
    /// Operation number.
    pub op: u64,
    /// Commit number (commit_max for the primary, commit_min for backups).
    pub commit: u64,
    /// Prepare: primary's timestamp for the op; Ping/Pong: sender ticks.
    pub timestamp: u64,
    /// Client request number.
    pub request: u64,
    /// Client session number (the op that registered it).
    pub session: u64,
    /// The op of the sender's latest durable checkpoint.
    pub checkpoint_op: u64,
    /// Prepare options, see [`FLAG_PERSISTED`]; unknown bits are rejected.
    pub flags: u8,
}

/// Ways 256 header bytes can be wrong. Every variant is a property of the bytes alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Fewer than [`HEADER_SIZE`] bytes.
    #[error("header truncated: {0} bytes")]
    Truncated(usize),
    /// `checksum` does not match the header bytes.
    #[error("header checksum mismatch")]
    Checksum,
    /// Byte 62 is not [`PROTOCOL_VERSION`].
    #[error("unsupported protocol version {0}")]
    Protocol(u8),
    /// Byte 60 is not a known [`Command`].
    #[error("unknown command {0}")]
    Command(u8),
    /// `size` is smaller than the header itself.
    #[error("size {0} smaller than the header")]
    SizeTooSmall(u32),
    /// Reserved bytes or unknown flag bits are not zero.
    #[error("reserved bytes not zero")]
    Reserved,
}

impl Header {
    /// A header of `command` with every other field zero and `size` = the header alone.
    #[must_use]
    pub fn new(command: Command) -> Self {
        Self {
            checksum: 0,
            checksum_body: 0,
            cluster: 0,
            size: HEADER_SIZE as u32,
            view: 0,
            release: 0,
            command,
            replica: 0,
            operation: Operation::RESERVED,
            group: 0,
            log_view: 0,
            parent: 0,
            client: 0,
            context: 0,
            request_checksum: 0,
            op: 0,
            commit: 0,
            timestamp: 0,
            request: 0,
            session: 0,
            checkpoint_op: 0,
            flags: 0,
        }
    }

    /// Writes the header into exactly 256 bytes.
    pub fn encode(&self, out: &mut [u8; HEADER_SIZE]) {
        out[0..16].copy_from_slice(&self.checksum.to_le_bytes());
        self.encode_after_checksum(out);
    }

    /// Encodes into a new array.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        self.encode(&mut out);
        out
    }

    fn encode_after_checksum(&self, out: &mut [u8; HEADER_SIZE]) {
        out[16..32].copy_from_slice(&self.checksum_body.to_le_bytes());
        out[32..48].copy_from_slice(&self.cluster.to_le_bytes());
        out[48..52].copy_from_slice(&self.size.to_le_bytes());
        out[52..56].copy_from_slice(&self.view.to_le_bytes());
        out[56..60].copy_from_slice(&self.release.to_le_bytes());
        out[60] = self.command as u8;
        out[61] = self.replica;
        out[62] = PROTOCOL_VERSION;
        out[63] = self.operation.0;
        out[64..68].copy_from_slice(&self.group.to_le_bytes());
        out[68..72].copy_from_slice(&self.log_view.to_le_bytes());
        out[72..88].copy_from_slice(&self.parent.to_le_bytes());
        out[88..104].copy_from_slice(&self.client.to_le_bytes());
        out[104..120].copy_from_slice(&self.context.to_le_bytes());
        out[120..136].copy_from_slice(&self.request_checksum.to_le_bytes());
        out[136..144].copy_from_slice(&self.op.to_le_bytes());
        out[144..152].copy_from_slice(&self.commit.to_le_bytes());
        out[152..160].copy_from_slice(&self.timestamp.to_le_bytes());
        out[160..168].copy_from_slice(&self.request.to_le_bytes());
        out[168..176].copy_from_slice(&self.session.to_le_bytes());
        out[176..184].copy_from_slice(&self.checkpoint_op.to_le_bytes());
        out[184] = self.flags;
        out[RESERVED_OFFSET..].fill(0);
    }

    /// The checksum this header should carry, computed over bytes `16..256`.
    #[must_use]
    pub fn calculate_checksum(&self) -> Checksum {
        let mut bytes = [0u8; HEADER_SIZE];
        self.encode_after_checksum(&mut bytes);
        checksum(&bytes[16..])
    }

    /// Seals the header: sets `checksum_body` and `size` from `body`, then `checksum`.
    ///
    /// # Panics
    /// If the body does not fit the u32 `size` field (a bug: callers bound bodies).
    pub fn seal(&mut self, body: &[u8]) {
        let size = HEADER_SIZE + body.len();
        self.size = u32::try_from(size).expect("message size fits u32");
        self.checksum_body = checksum(body);
        self.checksum = self.calculate_checksum();
    }

    /// True if `checksum` matches the other fields.
    #[must_use]
    pub fn valid_checksum(&self) -> bool {
        self.checksum == self.calculate_checksum()
    }

    /// True if `checksum_body` matches `body`.
    #[must_use]
    pub fn valid_checksum_body(&self, body: &[u8]) -> bool {
        self.checksum_body == checksum(body)
    }

    /// Body length implied by `size`.
    #[must_use]
    pub fn body_size(&self) -> usize {
        (self.size as usize).saturating_sub(HEADER_SIZE)
    }

    /// Decodes and verifies a header from the first 256 bytes of `bytes`.
    ///
    /// Total: any input yields a header whose checksum is valid, or a typed error.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        let bytes: &[u8; HEADER_SIZE] = bytes
            .get(..HEADER_SIZE)
            .and_then(|b| b.try_into().ok())
            .ok_or(HeaderError::Truncated(bytes.len()))?;
        let stored = u128_at(bytes, 0);
        if stored != checksum(&bytes[16..]) {
            return Err(HeaderError::Checksum);
        }
        if bytes[62] != PROTOCOL_VERSION {
            return Err(HeaderError::Protocol(bytes[62]));
        }
        let command = Command::from_u8(bytes[60]).ok_or(HeaderError::Command(bytes[60]))?;
        if bytes[RESERVED_OFFSET..].iter().any(|&b| b != 0) || bytes[184] & !FLAGS_KNOWN != 0 {
            return Err(HeaderError::Reserved);
        }
        let size = u32_at(bytes, 48);
        if (size as usize) < HEADER_SIZE {
            return Err(HeaderError::SizeTooSmall(size));
        }
        Ok(Self {
            checksum: stored,
            checksum_body: u128_at(bytes, 16),
            cluster: u128_at(bytes, 32),
            size,
            view: u32_at(bytes, 52),
            release: u32_at(bytes, 56),
            command,
            replica: bytes[61],
            operation: Operation(bytes[63]),
            group: u32_at(bytes, 64),
            log_view: u32_at(bytes, 68),
            parent: u128_at(bytes, 72),
            client: u128_at(bytes, 88),
            context: u128_at(bytes, 104),
            request_checksum: u128_at(bytes, 120),
            op: u64_at(bytes, 136),
            commit: u64_at(bytes, 144),
            timestamp: u64_at(bytes, 152),
            request: u64_at(bytes, 160),
            session: u64_at(bytes, 168),
            checkpoint_op: u64_at(bytes, 176),
            flags: bytes[184],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Header {
        let mut header = Header::new(Command::Prepare);
        header.cluster = 7;
        header.view = 3;
        header.op = 42;
        header.commit = 41;
        header.parent = 0xdead_beef;
        header.client = 99;
        header.operation = Operation(17);
        header.group = 2;
        header.seal(b"body");
        header
    }

    #[test]
    fn encode_decode_round_trip() {
        let header = sample();
        let decoded = Header::decode(&header.to_bytes()).expect("valid");
        assert_eq!(decoded, header);
        assert!(decoded.valid_checksum_body(b"body"));
        assert!(!decoded.valid_checksum_body(b"bodx"));
        assert_eq!(decoded.body_size(), 4);
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let bytes = sample().to_bytes();
        for index in 0..HEADER_SIZE {
            let mut bad = bytes;
            bad[index] ^= 0x01;
            assert!(Header::decode(&bad).is_err(), "flip at {index} went unnoticed");
        }
    }

    #[test]
    fn truncated_is_an_error() {
        let bytes = sample().to_bytes();
        assert_eq!(Header::decode(&bytes[..255]), Err(HeaderError::Truncated(255)));
    }

    proptest! {
        #[test]
        fn decode_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Header::decode(&bytes);
        }

        #[test]
        fn round_trip_any_fields(
            view in any::<u32>(), op in any::<u64>(), commit in any::<u64>(),
            parent in any::<u128>(), client in any::<u128>(), group in any::<u32>(),
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut header = Header::new(Command::Commit);
            header.view = view;
            header.op = op;
            header.commit = commit;
            header.parent = parent;
            header.client = client;
            header.group = group;
            header.seal(&body);
            let decoded = Header::decode(&header.to_bytes()).unwrap();
            prop_assert_eq!(decoded, header);
            prop_assert!(decoded.valid_checksum_body(&body));
        }
    }
}
