//! Classifying a reply frame against the request it answers.

use vireo_protocol::iggy::reply::{ReplyError, decode_reply};
use vireo_protocol::iggy::{EvictionReason, ReplyHeader, RequestHeader};

use super::error::ServerError;

/// What a reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success; the payload is `reply[start..]` (result section stripped).
    Ok {
        /// The reply header.
        header: ReplyHeader,
        /// Where the payload starts in the frame.
        start: usize,
    },
    /// A status, or a committed rejection in the result section.
    Refused(ServerError),
    /// The server ended the session.
    Evicted(EvictionReason),
}

/// Whether an eviction only ends the session, so a fresh login may retry the request
/// (which the server refused without executing it).
#[must_use]
pub fn session_lost(reason: EvictionReason) -> bool {
    matches!(
        reason,
        EvictionReason::NoSession
            | EvictionReason::SessionTooLow
            | EvictionReason::SessionError
            | EvictionReason::SessionReleaseMismatch
            | EvictionReason::StaleClient
    )
}

/// Reads `frame` as the reply to `request`. `Err` is a framing problem: a malformed
/// header, a result section that lies, or a reply to some other request.
pub fn classify(frame: &[u8], request: &RequestHeader) -> Result<Outcome, String> {
    match decode_reply(frame) {
        Ok((header, payload)) => {
            if header.client != request.client
                || header.request != request.request
                || header.operation != request.operation
            {
                return Err(format!(
                    "reply to client {:#x} request {} {:?}, expected {:#x} request {} {:?}",
                    header.client,
                    header.request,
                    header.operation,
                    request.client,
                    request.request,
                    request.operation
                ));
            }
            Ok(Outcome::Ok { header, start: frame.len() - payload.len() })
        }
        Err(ReplyError::Status(code) | ReplyError::Rejected(code)) => {
            Ok(Outcome::Refused(ServerError::from_code(code)))
        }
        Err(ReplyError::Evicted(eviction)) => Ok(Outcome::Evicted(eviction.reason)),
        Err(error @ (ReplyError::Header(_) | ReplyError::MalformedResult)) => {
            Err(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use vireo_protocol::iggy::reply::{ReplyWriter, write_eviction, write_rejection, write_status};
    use vireo_protocol::iggy::{ErrorCode, EvictionHeader, Operation, code};

    use super::*;
    use crate::client::session::SessionIds;

    fn request(code: u32) -> RequestHeader {
        let mut ids = SessionIds::with_client(7);
        ids.bind(3);
        ids.header(code, b"body").unwrap()
    }

    #[test]
    fn success_strips_the_result_section() {
        let sent = request(code::CREATE_STREAM);
        let mut frame = Vec::new();
        let mut writer = ReplyWriter::begin(&mut frame, ReplyHeader::answering(&sent));
        writer.body().extend_from_slice(b"stream");
        writer.finish();
        let Ok(Outcome::Ok { start, .. }) = classify(&frame, &sent) else { panic!() };
        assert_eq!(&frame[start..], b"stream");
    }

    #[test]
    fn statuses_rejections_and_evictions_are_typed() {
        let sent = request(code::CREATE_STREAM);
        let mut frame = Vec::new();
        write_status(&mut frame, ReplyHeader::answering(&sent), ErrorCode(58));
        assert_eq!(
            classify(&frame, &sent),
            Ok(Outcome::Refused(ServerError::TransientNotAccepted))
        );
        frame.clear();
        write_rejection(&mut frame, ReplyHeader::answering(&sent), ErrorCode(1012));
        assert!(matches!(
            classify(&frame, &sent),
            Ok(Outcome::Refused(ServerError::AlreadyExists(ErrorCode(1012))))
        ));
        frame.clear();
        write_eviction(&mut frame, &EvictionHeader::new(7, EvictionReason::NoSession));
        assert_eq!(classify(&frame, &sent), Ok(Outcome::Evicted(EvictionReason::NoSession)));
        assert!(session_lost(EvictionReason::NoSession));
        assert!(!session_lost(EvictionReason::InvalidCredentials));
    }

    #[test]
    fn a_reply_to_another_request_is_a_framing_error() {
        let sent = request(code::GET_STREAMS);
        let mut other = sent;
        other.request += 1;
        let mut frame = Vec::new();
        ReplyWriter::begin(&mut frame, ReplyHeader::answering(&other)).finish();
        assert!(classify(&frame, &sent).is_err());
        let mut wrong_op = ReplyHeader::answering(&sent);
        wrong_op.operation = Operation::CreateStream;
        frame.clear();
        ReplyWriter::begin(&mut frame, wrong_op).finish();
        assert!(classify(&frame, &sent).is_err());
    }
}
