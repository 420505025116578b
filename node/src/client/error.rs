//! What can go wrong in a client call, typed at each boundary.
//!
//! * [`TransportError`]: the connection failed. It says whether the request may have
//!   reached the server ([`Delivery`]), which decides whether a retry is safe.
//! * [`ServerError`]: the server answered with an Iggy status (or a committed rejection);
//!   the common codes get their own variants, the rest keep their number.
//! * [`ClientError`]: what a call returns: a server answer, an eviction, an unknown
//!   outcome, or the retry budget spent.

use std::fmt;
use std::time::Duration;

use vireo_protocol::iggy::{ErrorCode, EvictionReason};

/// Whether a failed exchange may have delivered the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing reached the server (the connection could not be made or opened a
    /// stream): resending cannot apply the request twice.
    NotSent,
    /// Some or all of the request may have reached the server.
    MaybeSent,
}

/// What kind of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// Dialing, the TLS handshake or the QUIC handshake failed.
    Connect,
    /// A read or write failed, or the peer closed the connection.
    Io,
    /// No reply within the attempt's time limit.
    Timeout,
    /// The peer sent bytes that are not a reply frame (size out of bounds, wrong echo).
    Framing,
}

/// A failed exchange on one connection; the connection is unusable afterwards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} error talking to {address}: {detail}")]
pub struct TransportError {
    /// What failed.
    pub kind: TransportErrorKind,
    /// Whether the request may have been delivered.
    pub delivery: Delivery,
    /// The node's address.
    pub address: String,
    /// Human-readable cause.
    pub detail: String,
}

impl TransportError {
    /// A failure before anything was sent.
    pub fn connect(address: &str, detail: impl fmt::Display) -> Self {
        Self {
            kind: TransportErrorKind::Connect,
            delivery: Delivery::NotSent,
            address: address.to_owned(),
            detail: detail.to_string(),
        }
    }

    /// A failure after (part of) the request may have been sent.
    pub fn io(address: &str, delivery: Delivery, detail: impl fmt::Display) -> Self {
        Self {
            kind: TransportErrorKind::Io,
            delivery,
            address: address.to_owned(),
            detail: detail.to_string(),
        }
    }

    /// Bytes that are not a reply.
    pub fn framing(address: &str, detail: impl fmt::Display) -> Self {
        Self {
            kind: TransportErrorKind::Framing,
            delivery: Delivery::MaybeSent,
            address: address.to_owned(),
            detail: detail.to_string(),
        }
    }

    /// No reply in time: `waited` on this exchange, `bound` names the limit that expired
    /// (the per-exchange reply timeout, or what was left of the request's deadline, with
    /// the request's total elapsed time — the exchange's own wait alone misleads after
    /// retries used up most of the deadline).
    pub fn timeout(address: &str, waited: Duration, bound: &TimeoutBound) -> Self {
        Self {
            kind: TransportErrorKind::Timeout,
            delivery: Delivery::MaybeSent,
            address: address.to_owned(),
            detail: format!("no reply within {waited:?} ({bound})"),
        }
    }
}

/// Which limit ended a wait for a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutBound {
    /// The per-exchange `reply_timeout` expired.
    Reply {
        /// The configured reply timeout.
        reply_timeout: Duration,
    },
    /// The request's `request_timeout` expired (this exchange got what was left of it).
    Request {
        /// The configured request timeout.
        request_timeout: Duration,
        /// Time since the request started, retries included.
        elapsed: Duration,
    },
}

impl fmt::Display for TimeoutBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reply { reply_timeout } => write!(f, "reply_timeout {reply_timeout:?} expired"),
            Self::Request { request_timeout, elapsed } => write!(
                f,
                "request_timeout {request_timeout:?} expired: {elapsed:.1?} since the request \
                 started, retries included"
            ),
        }
    }
}

/// An Iggy status a server answered with: a definitive refusal (the request was not
/// applied), except for [`ServerError::TransientNotCommitted`], whose outcome is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// Code 40: not logged in.
    #[error("unauthenticated (40)")]
    Unauthenticated,
    /// Code 41: the user lacks the permission.
    #[error("unauthorized (41)")]
    Unauthorized,
    /// Code 42: wrong username or password.
    #[error("invalid credentials (42)")]
    InvalidCredentials,
    /// Code 57: the request could not be committed yet; its outcome is unknown.
    #[error("transient: not committed (57)")]
    TransientNotCommitted,
    /// Code 58: this node did not admit the request (not the primary, view change).
    #[error("transient: not accepted (58)")]
    TransientNotAccepted,
    /// Code 3: the server does not know the command.
    #[error("invalid command (3)")]
    InvalidCommand,
    /// Code 5: the server does not support the feature.
    #[error("feature unavailable (5)")]
    FeatureUnavailable,
    /// A stream, topic, partition, group, user, offset, … does not exist.
    #[error("{} ({})", name(*.0), .0.0)]
    NotFound(ErrorCode),
    /// A stream, topic, group, user, … with that name already exists.
    #[error("{} ({})", name(*.0), .0.0)]
    AlreadyExists(ErrorCode),
    /// Any other code.
    #[error("{} ({})", name(*.0), .0.0)]
    Other(ErrorCode),
}

fn name(code: ErrorCode) -> String {
    code.name().map_or_else(|| "error".to_owned(), |name| name.replace('_', " "))
}

impl ServerError {
    /// Maps a wire code to its variant.
    #[must_use]
    pub fn from_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::UNAUTHENTICATED => Self::Unauthenticated,
            ErrorCode::UNAUTHORIZED => Self::Unauthorized,
            ErrorCode::INVALID_CREDENTIALS => Self::InvalidCredentials,
            ErrorCode::TRANSIENT_NOT_COMMITTED => Self::TransientNotCommitted,
            ErrorCode::TRANSIENT_NOT_ACCEPTED => Self::TransientNotAccepted,
            ErrorCode::INVALID_COMMAND => Self::InvalidCommand,
            ErrorCode::FEATURE_UNAVAILABLE => Self::FeatureUnavailable,
            code => match code.name() {
                Some(name) if name.contains("not_found") => Self::NotFound(code),
                Some(name) if name.contains("already_exists") => Self::AlreadyExists(code),
                _ => Self::Other(code),
            },
        }
    }

    /// The wire code.
    #[must_use]
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::UNAUTHENTICATED,
            Self::Unauthorized => ErrorCode::UNAUTHORIZED,
            Self::InvalidCredentials => ErrorCode::INVALID_CREDENTIALS,
            Self::TransientNotCommitted => ErrorCode::TRANSIENT_NOT_COMMITTED,
            Self::TransientNotAccepted => ErrorCode::TRANSIENT_NOT_ACCEPTED,
            Self::InvalidCommand => ErrorCode::INVALID_COMMAND,
            Self::FeatureUnavailable => ErrorCode::FEATURE_UNAVAILABLE,
            Self::NotFound(code) | Self::AlreadyExists(code) | Self::Other(code) => code,
        }
    }
}

/// The result of a client call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server refused the request (or, for a result-framed operation, committed a
    /// rejection). The request was not applied.
    #[error("server error: {0}")]
    Server(#[from] ServerError),
    /// The server ended the session.
    #[error("evicted by the server: {0:?}")]
    Evicted(EvictionReason),
    /// No node could be reached (and logged into) within the connect budget.
    #[error("no node reachable ({attempts} attempts): {last}")]
    Unreachable {
        /// Dial and login attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The connection failed after the request may have reached the server, and the
    /// request is not safe to resend: it may or may not have been applied.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The retry budget (reconnects, transient replays or the request deadline) ran
    /// out before any node answered definitively; the request was never admitted.
    #[error("gave up after {attempts} attempts in {elapsed:?}: {last}")]
    RetriesExhausted {
        /// Exchanges tried.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last failure.
        last: String,
    },
    /// A reply decoded as garbage; the connection was dropped.
    #[error("malformed reply: {0}")]
    Protocol(String),
    /// The caller passed a value the wire cannot carry.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl ClientError {
    /// The server's status code, when the server answered.
    #[must_use]
    pub fn server_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server(error) => Some(error.code()),
            _ => None,
        }
    }

    /// Whether the failure proves the request was not applied.
    #[must_use]
    pub fn is_definitive(&self) -> bool {
        !matches!(self, Self::OutcomeUnknown(_) | Self::Server(ServerError::TransientNotCommitted))
    }
}

/// Maps an eviction to the error a caller sees.
#[must_use]
pub fn eviction_error(reason: EvictionReason) -> ClientError {
    match reason {
        EvictionReason::InvalidCredentials => ServerError::InvalidCredentials.into(),
        reason => ClientError::Evicted(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_variants_and_back() {
        for code in [40, 41, 42, 57, 58, 3, 5, 1009, 2010, 1012, 2013, 4027, 9999] {
            let error = ServerError::from_code(ErrorCode(code));
            assert_eq!(error.code(), ErrorCode(code), "{error:?}");
        }
        assert_eq!(ServerError::from_code(ErrorCode(58)), ServerError::TransientNotAccepted);
        assert!(matches!(ServerError::from_code(ErrorCode(1009)), ServerError::NotFound(_)));
        assert!(matches!(ServerError::from_code(ErrorCode(2013)), ServerError::AlreadyExists(_)));
        assert!(matches!(ServerError::from_code(ErrorCode(9999)), ServerError::Other(_)));
    }

    #[test]
    fn messages_name_the_code() {
        let text = ServerError::from_code(ErrorCode(1009)).to_string();
        assert!(text.contains("1009") && text.contains("not found"), "{text}");
        assert_eq!(ServerError::Unauthorized.to_string(), "unauthorized (41)");
    }

    #[test]
    fn only_unknown_outcomes_are_not_definitive() {
        assert!(!ClientError::OutcomeUnknown("x".into()).is_definitive());
        assert!(!ClientError::Server(ServerError::TransientNotCommitted).is_definitive());
        assert!(ClientError::Server(ServerError::TransientNotAccepted).is_definitive());
        assert!(ClientError::Unreachable { attempts: 1, last: String::new() }.is_definitive());
    }

    #[test]
    fn a_timeout_names_the_bound_that_expired() {
        let reply = TimeoutBound::Reply { reply_timeout: Duration::from_secs(15) };
        let text = TransportError::timeout("n1", Duration::from_secs(15), &reply).to_string();
        assert!(text.contains("reply_timeout 15s expired"), "{text}");
        // The last exchange got only what was left of the request's deadline: the message
        // says the request's own bound and how long the whole request took.
        let request = TimeoutBound::Request {
            request_timeout: Duration::from_secs(40),
            elapsed: Duration::from_millis(40_012),
        };
        let text = TransportError::timeout("n1", Duration::from_millis(984), &request).to_string();
        assert!(text.contains("request_timeout 40s expired"), "{text}");
        assert!(text.contains("40.0s since the request started"), "{text}");
    }
}
