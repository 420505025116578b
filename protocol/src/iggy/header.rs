//! The three 256-byte headers of the client plane: request, reply and eviction.
//!
//! All share the generic prefix of bytes 0..128 (`checksum`, `checksum_body`,
//! `cluster`, `size`@48, `view`, `release`, `command`@60, `replica`, reserved). The
//! client plane leaves every checksum of that prefix at zero and never verifies it:
//! the body is protected per operation (`request_checksum`, batch checksums) instead.
//!
//! ```text
//! request: client u128@128 request_checksum u128@144 timestamp u64@160 request u64@168
//!          operation u8@176 pad[7] session u64@184 user_id u32@192 reserved[60]@196
//!          (NonReplicated: the command code is the u32 at 196..200)
//! reply:   request_checksum u128@128 context u128@144 client u128@160 op u64@176
//!          commit u64@184 timestamp u64@192 request u64@200 operation u8@208 pad[7]
//!          status u32@216 reserved[36]@220
//! eviction: client u128@128 server_protocol_version u32@144 .._min u32@148
//!          reserved[103]@152 reason u8@255 (header only)
//! ```

use super::operation::Operation;
use crate::le::{u32_at, u64_at, u128_at};

/// Size of every client-plane header.
pub const HEADER_SIZE: usize = 256;

/// Offset of the `size` field shared by every header: a framer reads it first.
pub const SIZE_OFFSET: usize = 48;

/// Offset of the `command` byte shared by every header.
pub const COMMAND_OFFSET: usize = 60;

/// The `command` byte of a client request.
pub const COMMAND_REQUEST: u8 = 5;
/// The `command` byte of a reply.
pub const COMMAND_REPLY: u8 = 8;
/// The `command` byte of an eviction.
pub const COMMAND_EVICTION: u8 = 13;

const CODE_OFFSET: usize = 196;

/// Ways a 256-byte header can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Fewer than [`HEADER_SIZE`] bytes.
    #[error("header truncated: {0} bytes")]
    Truncated(usize),
    /// Byte 60 is not the command this header type needs.
    #[error("command {found}, expected {expected}")]
    Command {
        /// The command required.
        expected: u8,
        /// The byte found.
        found: u8,
    },
    /// `size` is below the header size (or, for an eviction, not exactly it).
    #[error("size {0} is invalid for this header")]
    Size(u32),
    /// The operation byte is reserved, server-internal or unknown.
    #[error("unknown operation {0}")]
    Operation(u8),
    /// Reserved bytes that the official encoders always zero are not zero.
    #[error("reserved bytes not zero")]
    Reserved,
    /// The eviction reason byte is unknown (or the reserved 0).
    #[error("unknown eviction reason {0}")]
    EvictionReason(u8),
}

/// Reads `size` from any client-plane header prefix; `None` if too short.
#[must_use]
pub fn read_size(bytes: &[u8]) -> Option<u32> {
    let field = bytes.get(SIZE_OFFSET..SIZE_OFFSET + 4)?;
    Some(u32::from_le_bytes([field[0], field[1], field[2], field[3]]))
}

fn header_bytes(bytes: &[u8]) -> Result<&[u8; HEADER_SIZE], HeaderError> {
    bytes
        .get(..HEADER_SIZE)
        .and_then(|b| b.try_into().ok())
        .ok_or(HeaderError::Truncated(bytes.len()))
}

fn check_command(bytes: &[u8; HEADER_SIZE], expected: u8) -> Result<(), HeaderError> {
    let found = bytes[COMMAND_OFFSET];
    if found == expected { Ok(()) } else { Err(HeaderError::Command { expected, found }) }
}

/// Writes the generic prefix: zero checksums and cluster, `size`, `command`.
fn encode_prefix(out: &mut [u8; HEADER_SIZE], size: u32, command: u8) {
    out.fill(0);
    out[SIZE_OFFSET..SIZE_OFFSET + 4].copy_from_slice(&size.to_le_bytes());
    out[COMMAND_OFFSET] = command;
}

/// A client request header (command 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    /// Header plus body, in bytes.
    pub size: u32,
    /// The client's random, per-session id.
    pub client: u128,
    /// `xxh3(body)` for checksummed operations, else 0 (see [`super::checksum`]).
    pub request_checksum: u128,
    /// Client timestamp; the SDK sends 0.
    pub timestamp: u64,
    /// Request number: 0 for Register, then 1, 2, … (reads reuse the current one).
    pub request: u64,
    /// What the request is.
    pub operation: Operation,
    /// Session from the login reply; 0 before login.
    pub session: u64,
    /// Stamped by the server for replicated ops; the client's value is never trusted.
    pub user_id: u32,
    /// The command code, meaningful for `NonReplicated` only (bytes 196..200).
    pub code: u32,
}

impl RequestHeader {
    /// Decodes the first 256 bytes of `bytes`. Checks the command, `size`, the
    /// operation and that reserved bytes are zero; session rules are separate
    /// ([`Self::check_session`]) because the server answers them with an eviction.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        let bytes = header_bytes(bytes)?;
        check_command(bytes, COMMAND_REQUEST)?;
        let size = u32_at(bytes, SIZE_OFFSET);
        if (size as usize) < HEADER_SIZE {
            return Err(HeaderError::Size(size));
        }
        let operation = Operation::from_u8(bytes[176]).ok_or(HeaderError::Operation(bytes[176]))?;
        let code_bytes = [bytes[196], bytes[197], bytes[198], bytes[199]];
        let code = u32::from_le_bytes(code_bytes);
        // Only NonReplicated frames use the reserved area, and only its first 4 bytes.
        let reserved_from =
            if operation == Operation::NonReplicated { CODE_OFFSET + 4 } else { CODE_OFFSET };
        if bytes[reserved_from..].iter().any(|&b| b != 0) || bytes[177..184].iter().any(|&b| b != 0)
        {
            return Err(HeaderError::Reserved);
        }
        Ok(Self {
            size,
            client: u128_at(bytes, 128),
            request_checksum: u128_at(bytes, 144),
            timestamp: u64_at(bytes, 160),
            request: u64_at(bytes, 168),
            operation,
            session: u64_at(bytes, 184),
            user_id: u32_at(bytes, 192),
            code: if operation == Operation::NonReplicated { code } else { 0 },
        })
    }

    /// Writes the header into 256 bytes.
    pub fn encode(&self, out: &mut [u8; HEADER_SIZE]) {
        encode_prefix(out, self.size, COMMAND_REQUEST);
        out[128..144].copy_from_slice(&self.client.to_le_bytes());
        out[144..160].copy_from_slice(&self.request_checksum.to_le_bytes());
        out[160..168].copy_from_slice(&self.timestamp.to_le_bytes());
        out[168..176].copy_from_slice(&self.request.to_le_bytes());
        out[176] = self.operation as u8;
        out[184..192].copy_from_slice(&self.session.to_le_bytes());
        out[192..196].copy_from_slice(&self.user_id.to_le_bytes());
        if self.operation == Operation::NonReplicated {
            out[CODE_OFFSET..CODE_OFFSET + 4].copy_from_slice(&self.code.to_le_bytes());
        }
    }

    /// Encodes into a new array.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        self.encode(&mut out);
        out
    }

    /// Body length implied by `size`.
    #[must_use]
    pub fn body_size(&self) -> usize {
        (self.size as usize).saturating_sub(HEADER_SIZE)
    }

    /// The official session rules: Register needs `session == 0` and `request == 0`;
    /// every op but `NonReplicated` needs `session > 0` and `request > 0`.
    pub fn check_session(&self) -> Result<(), SessionError> {
        match self.operation {
            Operation::Register if self.session != 0 || self.request != 0 => {
                Err(SessionError::RegisterWithSession)
            }
            operation if operation.needs_session() && self.session == 0 => {
                Err(SessionError::NoSession)
            }
            operation if operation.needs_session() && self.request == 0 => {
                Err(SessionError::NoRequestNumber)
            }
            _ => Ok(()),
        }
    }
}

/// A request header whose session fields break the protocol's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// A Register carries a session or request number.
    #[error("register must carry session 0 and request 0")]
    RegisterWithSession,
    /// A replicated op has no session: the server answers `Eviction(NoSession)`.
    #[error("operation needs a session")]
    NoSession,
    /// A replicated op has request number 0.
    #[error("operation needs a request number above 0")]
    NoRequestNumber,
}

/// A reply header (command 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyHeader {
    /// Header plus body, in bytes.
    pub size: u32,
    /// Echo of the request's `request_checksum`.
    pub request_checksum: u128,
    /// Server context (the prepare's checksum for committed ops); 0 otherwise.
    pub context: u128,
    /// Echo of the request's `client`.
    pub client: u128,
    /// The op number a replicated request committed at; 0 for reads.
    pub op: u64,
    /// The server's commit number; the SDK tracks it as a metadata watermark.
    pub commit: u64,
    /// Server timestamp.
    pub timestamp: u64,
    /// Echo of the request number.
    pub request: u64,
    /// Echo of the request's operation; selects how the SDK reads the body.
    pub operation: Operation,
    /// 0 = ok; otherwise an [`super::ErrorCode`] and the body must be empty.
    pub status: u32,
}

impl ReplyHeader {
    /// A reply to `request` with `size` = the header alone and status 0.
    #[must_use]
    pub fn answering(request: &RequestHeader) -> Self {
        Self {
            size: HEADER_SIZE as u32,
            request_checksum: request.request_checksum,
            context: 0,
            client: request.client,
            op: 0,
            commit: 0,
            timestamp: 0,
            request: request.request,
            operation: request.operation,
            status: 0,
        }
    }

    /// Writes the header into 256 bytes.
    pub fn encode(&self, out: &mut [u8; HEADER_SIZE]) {
        encode_prefix(out, self.size, COMMAND_REPLY);
        out[128..144].copy_from_slice(&self.request_checksum.to_le_bytes());
        out[144..160].copy_from_slice(&self.context.to_le_bytes());
        out[160..176].copy_from_slice(&self.client.to_le_bytes());
        out[176..184].copy_from_slice(&self.op.to_le_bytes());
        out[184..192].copy_from_slice(&self.commit.to_le_bytes());
        out[192..200].copy_from_slice(&self.timestamp.to_le_bytes());
        out[200..208].copy_from_slice(&self.request.to_le_bytes());
        out[208] = self.operation as u8;
        out[216..220].copy_from_slice(&self.status.to_le_bytes());
    }

    /// Encodes into a new array.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        self.encode(&mut out);
        out
    }

    /// Decodes a reply header (our own client's side). Checks command, size and
    /// operation, as the SDK does.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        let bytes = header_bytes(bytes)?;
        check_command(bytes, COMMAND_REPLY)?;
        let size = u32_at(bytes, SIZE_OFFSET);
        if (size as usize) < HEADER_SIZE {
            return Err(HeaderError::Size(size));
        }
        let operation = Operation::from_u8(bytes[208]).ok_or(HeaderError::Operation(bytes[208]))?;
        Ok(Self {
            size,
            request_checksum: u128_at(bytes, 128),
            context: u128_at(bytes, 144),
            client: u128_at(bytes, 160),
            op: u64_at(bytes, 176),
            commit: u64_at(bytes, 184),
            timestamp: u64_at(bytes, 192),
            request: u64_at(bytes, 200),
            operation,
            status: u32_at(bytes, 216),
        })
    }
}

/// Why a session was evicted (byte 255 of an eviction). Session-terminal: the SDK
/// maps it to an error and stops; it never retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EvictionReason {
    /// No session for this client (SDK: Unauthenticated).
    NoSession = 1,
    /// Client release below the cluster's minimum.
    ClientReleaseTooLow = 2,
    /// Client release above the cluster's maximum.
    ClientReleaseTooHigh = 3,
    /// Invalid operation byte.
    InvalidRequestOperation = 4,
    /// The body failed validation.
    InvalidRequestBody = 5,
    /// The body size is inconsistent.
    InvalidRequestBodySize = 6,
    /// The session is below the retained minimum.
    SessionTooLow = 7,
    /// The session's release differs from the client's.
    SessionReleaseMismatch = 8,
    /// Wrong username or password (SDK: InvalidCredentials).
    InvalidCredentials = 9,
    /// Wrong personal access token (SDK: InvalidPersonalAccessToken).
    InvalidToken = 10,
    /// The user is inactive (SDK: Unauthenticated).
    UserInactive = 11,
    /// Session bookkeeping failed (SDK: Unauthenticated).
    SessionError = 12,
    /// The client missed heartbeats (SDK: StaleClient).
    StaleClient = 13,
    /// Protocol version outside the accepted window, carried in the header.
    IncompatibleProtocol = 14,
    /// A login body without a decodable version prefix, or a classic login code
    /// (SDK: InvalidFormat).
    MalformedLogin = 15,
}

impl EvictionReason {
    /// Decodes the reason byte; `None` for 0 and unknown values.
    #[must_use]
    pub fn from_u8(value: u8) -> Option<Self> {
        use EvictionReason as R;
        Some(match value {
            1 => R::NoSession,
            2 => R::ClientReleaseTooLow,
            3 => R::ClientReleaseTooHigh,
            4 => R::InvalidRequestOperation,
            5 => R::InvalidRequestBody,
            6 => R::InvalidRequestBodySize,
            7 => R::SessionTooLow,
            8 => R::SessionReleaseMismatch,
            9 => R::InvalidCredentials,
            10 => R::InvalidToken,
            11 => R::UserInactive,
            12 => R::SessionError,
            13 => R::StaleClient,
            14 => R::IncompatibleProtocol,
            15 => R::MalformedLogin,
            _ => return None,
        })
    }
}

/// An eviction (command 13): header only, ends the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvictionHeader {
    /// The evicted client; must be non-zero so the SDK can route it.
    pub client: u128,
    /// Newest protocol version accepted (reason 14 only, else 0).
    pub server_protocol_version: u32,
    /// Oldest protocol version accepted (reason 14 only, else 0).
    pub server_protocol_version_min: u32,
    /// Why.
    pub reason: EvictionReason,
}

impl EvictionHeader {
    /// An eviction for `reason` with no version window.
    #[must_use]
    pub fn new(client: u128, reason: EvictionReason) -> Self {
        Self { client, server_protocol_version: 0, server_protocol_version_min: 0, reason }
    }

    /// Writes the 256-byte frame (size is always 256).
    pub fn encode(&self, out: &mut [u8; HEADER_SIZE]) {
        encode_prefix(out, HEADER_SIZE as u32, COMMAND_EVICTION);
        out[128..144].copy_from_slice(&self.client.to_le_bytes());
        out[144..148].copy_from_slice(&self.server_protocol_version.to_le_bytes());
        out[148..152].copy_from_slice(&self.server_protocol_version_min.to_le_bytes());
        out[255] = self.reason as u8;
    }

    /// Encodes into a new array.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        self.encode(&mut out);
        out
    }

    /// Decodes an eviction frame.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        let bytes = header_bytes(bytes)?;
        check_command(bytes, COMMAND_EVICTION)?;
        let size = u32_at(bytes, SIZE_OFFSET);
        if size as usize != HEADER_SIZE {
            return Err(HeaderError::Size(size));
        }
        if bytes[152..255].iter().any(|&b| b != 0) || bytes[62..128].iter().any(|&b| b != 0) {
            return Err(HeaderError::Reserved);
        }
        let reason =
            EvictionReason::from_u8(bytes[255]).ok_or(HeaderError::EvictionReason(bytes[255]))?;
        Ok(Self {
            client: u128_at(bytes, 128),
            server_protocol_version: u32_at(bytes, 144),
            server_protocol_version_min: u32_at(bytes, 148),
            reason,
        })
    }
}

#[cfg(test)]
#[path = "header_tests.rs"]
mod tests;
