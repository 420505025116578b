//! The identity one connection's requests carry, numbered as the 0.11.0 SDK numbers
//! them: Register travels with request 0 and session 0; after login every replicated
//! request (metadata, partition writes, logout) takes the next number from 1 up; reads
//! and other `NonReplicated` commands carry the current number without consuming it.
//! A reconnect is a new session with a new random client id.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use vireo_protocol::iggy::checksum::request_checksum;
use vireo_protocol::iggy::{HEADER_SIZE, Operation, RequestHeader};

/// One session's numbering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIds {
    client: u128,
    session: Option<u64>,
    next_request: u64,
}

impl SessionIds {
    /// A new unregistered session with a random, non-zero client id.
    #[must_use]
    pub fn fresh() -> Self {
        Self::with_client(random_client_id())
    }

    /// A new unregistered session with a given client id (tests).
    ///
    /// # Panics
    /// If `client` is 0 (the server could not route replies to it).
    #[must_use]
    pub fn with_client(client: u128) -> Self {
        assert_ne!(client, 0, "client id must be non-zero");
        Self { client, session: None, next_request: 1 }
    }

    /// The client id.
    #[must_use]
    pub fn client(&self) -> u128 {
        self.client
    }

    /// The session from the login reply.
    #[must_use]
    pub fn session(&self) -> Option<u64> {
        self.session
    }

    /// Records the login reply's session.
    ///
    /// # Panics
    /// If already bound or `session` is 0 (the caller checks the reply first).
    pub fn bind(&mut self, session: u64) {
        assert!(self.session.is_none(), "session already bound");
        assert!(session > 0, "session must be above 0");
        self.session = Some(session);
    }

    /// The header for a request with command `code` and `body`, advancing the request
    /// number when the operation is replicated. `None` for a replicated operation
    /// before login (the server would evict it).
    pub fn header(&mut self, code: u32, body: &[u8]) -> Option<RequestHeader> {
        let operation = Operation::for_code(code);
        let (session, request) = match operation {
            Operation::Register => (0, 0),
            Operation::NonReplicated => (self.session.unwrap_or(0), self.next_request),
            _ => {
                let session = self.session?;
                let request = self.next_request;
                self.next_request += 1;
                (session, request)
            }
        };
        Some(RequestHeader {
            size: u32::try_from(HEADER_SIZE + body.len()).ok()?,
            client: self.client,
            request_checksum: request_checksum(operation, body),
            timestamp: 0,
            request,
            operation,
            session,
            user_id: 0,
            code: if operation == Operation::NonReplicated { code } else { 0 },
        })
    }
}

/// 128 random bits from the standard library's per-process random hash keys (seeded
/// by the OS), mixed with a counter and the clock; never 0.
fn random_client_id() -> u128 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let half = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(salt);
        hasher.write_u64(count);
        hasher.write_u128(nanos);
        hasher.finish()
    };
    let id = (u128::from(half(1)) << 64) | u128::from(half(2));
    id.max(1)
}

#[cfg(test)]
mod tests {
    use vireo_protocol::iggy::code;

    use super::*;

    #[test]
    fn numbering_follows_the_sdk() {
        let mut ids = SessionIds::with_client(42);
        let login = ids.header(code::LOGIN_REGISTER, b"body").unwrap();
        assert_eq!((login.operation, login.session, login.request), (Operation::Register, 0, 0));
        assert_ne!(login.request_checksum, 0, "register is checksummed");
        assert!(ids.header(code::CREATE_STREAM, b"x").is_none(), "no replicated op before login");
        let ping = ids.header(code::PING, &[]).unwrap();
        assert_eq!((ping.operation, ping.session, ping.code), (Operation::NonReplicated, 0, 1));
        ids.bind(99);
        let create = ids.header(code::CREATE_STREAM, b"x").unwrap();
        assert_eq!((create.session, create.request), (99, 1));
        assert_ne!(create.request_checksum, 0);
        let read = ids.header(code::GET_STREAMS, &[]).unwrap();
        assert_eq!((read.session, read.request, read.code), (99, 2, code::GET_STREAMS));
        let send = ids.header(code::SEND_MESSAGES, b"batch").unwrap();
        assert_eq!(
            (send.operation, send.request, send.request_checksum),
            (Operation::SendMessages, 2, 0)
        );
        let read = ids.header(code::GET_STREAMS, &[]).unwrap();
        assert_eq!(read.request, 3, "reads reuse the current number");
        let logout = ids.header(code::LOGOUT_USER, &[]).unwrap();
        assert_eq!((logout.operation, logout.request), (Operation::Logout, 3));
        assert_eq!(ids.header(code::CREATE_TOPIC, b"y").unwrap().size, 257);
    }

    #[test]
    fn client_ids_are_random_and_non_zero() {
        let a = SessionIds::fresh().client();
        let b = SessionIds::fresh().client();
        assert_ne!(a, 0);
        assert_ne!(a, b);
    }
}
