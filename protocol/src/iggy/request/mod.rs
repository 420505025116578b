//! Request bodies: one typed view per command, borrowing the received bytes, and the
//! single entry point [`parse_request`].
//!
//! Every body decodes totally (any bytes give a view or a typed error, never a panic)
//! and strictly: fixed-shape bodies must be consumed exactly, flags must be 0 or 1.
//! The official encoders only produce such bodies, so strictness costs no client and
//! keeps one meaning per byte string.

mod frame;
mod messages;
mod resources;
mod send;
mod system;
mod targets;
mod users;

pub use frame::{RequestIds, encode_request};
pub use messages::{DeleteConsumerOffset, FlushUnsavedBuffer, PollMessages, StoreConsumerOffset};
pub use resources::{
    CreateConsumerGroup, CreateStream, CreateTopic, DeleteSegments, PartitionsCount, UpdateStream,
    UpdateTopic,
};
pub use send::SendMessages;
pub use system::{AttachConsumerSession, DescribeOptions, GetClient, GetSnapshot};
pub use targets::{GroupTarget, OffsetTarget, StreamTarget, TopicTarget, UserTarget};
pub use users::{
    ChangePassword, CreatePersonalAccessToken, CreateUser, DeletePersonalAccessToken,
    LoginRegister, LoginRegisterWithPat, UpdatePermissions, UpdateUser,
};

use super::ErrorCode;
use super::checksum::{RequestChecksumError, verify_request_checksum};
use super::code;
use super::header::{EvictionReason, RequestHeader};
use super::operation::Operation;
use super::wire::{DecodeError, Reader};

/// A request body type: decodes from a reader over the body, encodes by appending.
pub trait Body<'a>: Sized {
    /// Decodes the body's fields (the caller checks that nothing trails).
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError>;
    /// Appends the body.
    fn encode(&self, out: &mut Vec<u8>);
}

/// Decodes a whole body: every byte must belong to it.
pub fn decode_body<'a, T: Body<'a>>(body: &'a [u8]) -> Result<T, DecodeError> {
    let mut reader = Reader::new(body);
    let value = T::decode(&mut reader)?;
    reader.finish()?;
    Ok(value)
}

/// Every request of the 0.11.0 client protocol, borrowing its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // Each variant is named after its command; see [`code`].
pub enum Request<'a> {
    Ping,
    GetStats,
    GetSnapshot(GetSnapshot<'a>),
    GetClusterMetadata,
    DescribeOptions(DescribeOptions),
    AttachConsumerSession(AttachConsumerSession),
    GetMe,
    GetClient(GetClient),
    GetClients,
    GetUser(UserTarget<'a>),
    GetUsers,
    CreateUser(CreateUser<'a>),
    DeleteUser(UserTarget<'a>),
    UpdateUser(UpdateUser<'a>),
    UpdatePermissions(UpdatePermissions<'a>),
    ChangePassword(ChangePassword<'a>),
    Logout,
    LoginRegister(LoginRegister<'a>),
    LoginRegisterWithPat(LoginRegisterWithPat<'a>),
    GetPersonalAccessTokens,
    CreatePersonalAccessToken(CreatePersonalAccessToken<'a>),
    DeletePersonalAccessToken(DeletePersonalAccessToken<'a>),
    PollMessages(PollMessages<'a>),
    SendMessages(SendMessages<'a>),
    FlushUnsavedBuffer(FlushUnsavedBuffer<'a>),
    GetPollRouting(PollMessages<'a>),
    PollMessagesOnPrimary(PollMessages<'a>),
    GetConsumerOffset(OffsetTarget<'a>),
    StoreConsumerOffset(StoreConsumerOffset<'a>),
    DeleteConsumerOffset(DeleteConsumerOffset<'a>),
    GetConsumerOffsetRouting(OffsetTarget<'a>),
    GetStream(StreamTarget<'a>),
    GetStreams,
    CreateStream(CreateStream<'a>),
    DeleteStream(StreamTarget<'a>),
    UpdateStream(UpdateStream<'a>),
    PurgeStream(StreamTarget<'a>),
    GetTopic(TopicTarget<'a>),
    GetTopics(StreamTarget<'a>),
    CreateTopic(CreateTopic<'a>),
    DeleteTopic(TopicTarget<'a>),
    UpdateTopic(UpdateTopic<'a>),
    PurgeTopic(TopicTarget<'a>),
    CreatePartitions(PartitionsCount<'a>),
    DeletePartitions(PartitionsCount<'a>),
    DeleteSegments(DeleteSegments<'a>),
    GetConsumerGroup(GroupTarget<'a>),
    GetConsumerGroups(TopicTarget<'a>),
    CreateConsumerGroup(CreateConsumerGroup<'a>),
    DeleteConsumerGroup(GroupTarget<'a>),
    JoinConsumerGroup(GroupTarget<'a>),
    LeaveConsumerGroup(GroupTarget<'a>),
    SyncConsumerGroup(GroupTarget<'a>),
}

/// Why a request frame was refused. [`RequestError::response`] says how to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body length differs from the header's `size - 256`.
    #[error("body has {actual} bytes, header says {expected}")]
    BodySize {
        /// From the header.
        expected: usize,
        /// Received.
        actual: usize,
    },
    /// A non-zero `request_checksum` does not match the body.
    #[error(transparent)]
    Checksum(#[from] RequestChecksumError),
    /// The code is not a 0.11.0 command this server serves.
    #[error("unknown command {0}")]
    UnknownCommand(u32),
    /// A replicated command arrived as `NonReplicated`: it would bypass consensus.
    #[error("command {0} must not travel as NonReplicated")]
    OperationMismatch(u32),
    /// A classic login code (38, 44); the VSR protocol answers with an eviction.
    #[error("classic login command {0}")]
    LegacyLogin(u32),
    /// The body does not decode for `code`.
    #[error("command {code}: {error}")]
    Body {
        /// The command.
        code: u32,
        /// What is wrong.
        error: DecodeError,
    },
}

/// How a server answers a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A reply whose `status` is this code and whose body is empty.
    Status(ErrorCode),
    /// A session-ending eviction.
    Evict(EvictionReason),
}

impl RequestError {
    /// The answer the official server gives for this failure.
    #[must_use]
    pub fn response(&self) -> Refusal {
        use super::batch::BatchError;
        match self {
            Self::UnknownCommand(_) | Self::OperationMismatch(_) => {
                Refusal::Status(ErrorCode::INVALID_COMMAND)
            }
            Self::LegacyLogin(_) => Refusal::Evict(EvictionReason::MalformedLogin),
            Self::Body { code: code::LOGIN_REGISTER | code::LOGIN_REGISTER_WITH_PAT, .. } => {
                Refusal::Evict(EvictionReason::MalformedLogin)
            }
            Self::Body { error: DecodeError::Batch(BatchError::FrameChecksum { .. }), .. } => {
                Refusal::Status(ErrorCode::INVALID_MESSAGE_CHECKSUM)
            }
            Self::Body { error: DecodeError::Batch(BatchError::BatchChecksum { .. }), .. } => {
                Refusal::Status(ErrorCode::INVALID_BATCH_CHECKSUM)
            }
            Self::Body { error: DecodeError::Batch(BatchError::Empty), .. } => {
                Refusal::Status(ErrorCode::INVALID_MESSAGES_COUNT)
            }
            Self::BodySize { .. } | Self::Checksum(_) | Self::Body { .. } => {
                Refusal::Status(ErrorCode::INVALID_FORMAT)
            }
        }
    }
}

/// Parses a request body for the command its header names.
///
/// Checks the body length and the `request_checksum` stamp, resolves the command
/// code (from the operation, from bytes 196..200 for `NonReplicated`, or from the
/// body's shape for `Register`: its frames do not carry 40 or 45), and decodes the
/// body. Session rules are checked by [`RequestHeader::check_session`].
pub fn parse_request<'a>(
    header: &RequestHeader,
    body: &'a [u8],
) -> Result<Request<'a>, RequestError> {
    if body.len() != header.body_size() {
        return Err(RequestError::BodySize { expected: header.body_size(), actual: body.len() });
    }
    verify_request_checksum(header, body)?;
    let code = match header.operation {
        Operation::NonReplicated => {
            if Operation::for_code(header.code) != Operation::NonReplicated {
                return Err(RequestError::OperationMismatch(header.code));
            }
            header.code
        }
        Operation::Register => return parse_register(body),
        operation => operation.code().ok_or(RequestError::UnknownCommand(0))?,
    };
    Request::decode(code, body)
}

/// Register frames carry no command code: a body that parses exactly as a
/// username/password login is code 40, otherwise one that parses as a token login is
/// code 45. (A body can only fit both with a crafted client context of 256+ bytes; the
/// SDK never sends a context, so this cannot misread an official client.)
fn parse_register(body: &[u8]) -> Result<Request<'_>, RequestError> {
    match decode_body::<LoginRegister<'_>>(body) {
        Ok(login) => Ok(Request::LoginRegister(login)),
        Err(error) => match decode_body::<LoginRegisterWithPat<'_>>(body) {
            Ok(login) => Ok(Request::LoginRegisterWithPat(login)),
            Err(_) => Err(RequestError::Body { code: code::LOGIN_REGISTER, error }),
        },
    }
}

mod dispatch;

#[cfg(test)]
mod tests;
