//! [`ConsensusClient`]: how the node itself is a client of its consensus groups.
//!
//! Every Iggy connection owns one, with a node-generated random id (the SDK's `client`
//! field is chosen by the peer, so two connections could collide or impersonate each
//! other; ours cannot). Per group it keeps `(session, request, parent)`:
//!
//! * the first request to a group registers (`REGISTER`, request 0) and the committed
//!   reply's op is the session;
//! * each request carries the next number and `parent` = checksum of the previous reply,
//!   which is how the replica's client table recognises retries and orders requests;
//! * at most one request is in flight per group; one that timed out stays pending, and
//!   the next call first waits for it, so the chain never breaks (Iggy status 57 tells
//!   the SDK to retry meanwhile);
//! * an eviction (the table evicted this session, or the replica forgot it) clears the
//!   session; the request was not applied, so it is sent again once on a new session;
//! * a caller that retries the *same* request after a timeout (the SDK replays an Iggy
//!   request answered with status 57 under the same request number) passes the same
//!   `retry_key`, and gets the pending request's outcome instead of a second op: a
//!   retried produce or create is applied once.

use std::collections::BTreeMap;
use std::time::Duration;

use vireo_protocol::vsr::{Command, Header, Message, Operation};

use super::inbox::{GroupReply, ShardMessage};
use super::router::Router;

#[derive(Debug)]
struct Pending {
    request: u64,
    /// The caller's identity of the request (see `call`).
    retry_key: Option<u128>,
    reply: flume::Receiver<GroupReply>,
}

#[derive(Debug, Default)]
struct GroupSession {
    /// 0 = not registered.
    session: u64,
    request: u64,
    parent: u128,
    pending: Option<Pending>,
}

/// Why a call did not produce a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No reply within the timeout; the request may still commit (Iggy status 57).
    #[error("not committed yet")]
    Timeout,
    /// Evicted twice in a row: the group keeps refusing this client.
    #[error("evicted")]
    Evicted,
    /// The owning shard is gone (shutdown).
    #[error("shard gone")]
    ShardGone,
}

/// A consensus client (see the module docs).
#[derive(Debug)]
pub struct ConsensusClient {
    id: u128,
    cluster: u128,
    sessions: BTreeMap<u32, GroupSession>,
}

impl ConsensusClient {
    /// A client with a fresh random id.
    #[must_use]
    pub fn new(cluster: u128) -> Self {
        Self { id: random_client_id(), cluster, sessions: BTreeMap::new() }
    }

    /// The client id.
    #[must_use]
    pub fn id(&self) -> u128 {
        self.id
    }

    /// The session opened on `group`, if any (the login session is group 0's).
    #[must_use]
    pub fn session(&self, group: u32) -> Option<u64> {
        self.sessions.get(&group).map(|s| s.session).filter(|&s| s > 0)
    }

    /// Forgets the session on `group`: the next call registers a new one (a new login).
    pub fn reset(&mut self, group: u32) {
        self.sessions.remove(&group);
    }

    /// Registers on `group` unless already registered; returns the session.
    pub async fn register(
        &mut self,
        router: &Router,
        group: u32,
        timeout: Duration,
    ) -> Result<u64, CallError> {
        if let Some(session) = self.session(group) {
            return Ok(session);
        }
        let header = self.request_header(group, Operation::REGISTER, 0, 0, 0);
        let reply = self.exchange(router, group, Message::new(header, &[]), timeout).await?;
        let reply = match reply {
            Ok(reply) => reply,
            Err(Rejected::Evicted) => return Err(CallError::Evicted),
            Err(Rejected::Timeout(_)) => return Err(CallError::Timeout),
        };
        let header = reply.message.header();
        let state = self.sessions.entry(group).or_default();
        *state = GroupSession {
            session: header.session,
            request: 0,
            parent: header.checksum,
            pending: None,
        };
        Ok(header.session)
    }

    /// Submits one op to `group` and waits for its committed reply. `retry_key` names
    /// the caller's request: when the request pending on `group` (one that timed out)
    /// has the same key, this call waits for it instead of submitting again.
    #[allow(clippy::too_many_arguments)] // Each is one field of the request.
    pub async fn call(
        &mut self,
        router: &Router,
        group: u32,
        operation: Operation,
        body: &[u8],
        flags: u8,
        retry_key: Option<u128>,
        timeout: Duration,
    ) -> Result<GroupReply, CallError> {
        assert!(operation.is_user(), "only user operations are called");
        if let Some(reply) = self.rejoin_pending(group, retry_key, timeout).await? {
            return Ok(reply);
        }
        for _attempt in 0..2 {
            self.register(router, group, timeout).await?;
            self.settle_pending(group, timeout).await?;
            let (session, request, parent) = {
                let state = &self.sessions[&group];
                (state.session, state.request + 1, state.parent)
            };
            let mut header = self.request_header(group, operation, session, request, parent);
            header.flags = flags;
            let message = Message::new(header, body);
            match self.exchange(router, group, message, timeout).await? {
                Ok(reply) => {
                    let state = self.sessions.get_mut(&group).expect("registered");
                    state.request = request;
                    state.parent = reply.message.header().checksum;
                    return Ok(reply);
                }
                Err(Rejected::Evicted) => {
                    self.sessions.remove(&group);
                }
                Err(Rejected::Timeout(receiver)) => {
                    let state = self.sessions.get_mut(&group).expect("registered");
                    state.pending = Some(Pending { request, retry_key, reply: receiver });
                    return Err(CallError::Timeout);
                }
            }
        }
        Err(CallError::Evicted)
    }

    /// If the pending request on `group` is the caller's own (same key), waits for its
    /// outcome and returns it.
    async fn rejoin_pending(
        &mut self,
        group: u32,
        retry_key: Option<u128>,
        timeout: Duration,
    ) -> Result<Option<GroupReply>, CallError> {
        let Some(key) = retry_key else { return Ok(None) };
        let Some(state) = self.sessions.get_mut(&group) else { return Ok(None) };
        if state.pending.as_ref().is_none_or(|pending| pending.retry_key != Some(key)) {
            return Ok(None);
        }
        let pending = state.pending.take().expect("checked");
        match wait(&pending.reply, timeout).await {
            Waited::Reply(reply) if reply.message.header().command == Command::Reply => {
                state.request = pending.request;
                state.parent = reply.message.header().checksum;
                Ok(Some(*reply))
            }
            Waited::Reply(_) | Waited::Gone => {
                // Evicted before it applied: the caller's retry submits it anew.
                self.sessions.remove(&group);
                Ok(None)
            }
            Waited::Timeout => {
                state.pending = Some(pending);
                Err(CallError::Timeout)
            }
        }
    }

    /// Waits for a request that timed out earlier, so the next one chains onto its reply.
    async fn settle_pending(&mut self, group: u32, timeout: Duration) -> Result<(), CallError> {
        let Some(state) = self.sessions.get_mut(&group) else { return Ok(()) };
        let Some(pending) = state.pending.take() else { return Ok(()) };
        match wait(&pending.reply, timeout).await {
            Waited::Reply(reply) if reply.message.header().command == Command::Reply => {
                state.request = pending.request;
                state.parent = reply.message.header().checksum;
                Ok(())
            }
            Waited::Reply(_) | Waited::Gone => {
                // Evicted, or the shard dropped it: start a new session.
                self.sessions.remove(&group);
                Ok(())
            }
            Waited::Timeout => {
                state.pending = Some(pending);
                Err(CallError::Timeout)
            }
        }
    }

    async fn exchange(
        &self,
        router: &Router,
        group: u32,
        message: Message,
        timeout: Duration,
    ) -> Result<Result<GroupReply, Rejected>, CallError> {
        let (sender, receiver) = flume::bounded(1);
        let shard = router.shard_of(group);
        let deadline = std::time::Instant::now() + timeout;
        // In a cluster, re-send the same request (same client, session, request) while
        // no reply came: the copy forwarded to a primary may have been lost with it. The
        // last send hands over the only sender, so a shard that drops it is seen at once.
        let mut sender = Some(sender);
        let waited = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let slice = router.resend_interval().map_or(left, |interval| interval.min(left));
            let last = slice >= left;
            let reply = if last {
                sender.take().expect("the last send happens once")
            } else {
                sender.clone().expect("kept until the last send")
            };
            router
                .send(shard, ShardMessage::Request { group, message: message.clone(), reply })
                .await
                .map_err(|_| CallError::ShardGone)?;
            match wait(&receiver, slice).await {
                Waited::Timeout if !last => {}
                other => break other,
            }
        };
        drop(sender);
        if let Waited::Reply(reply) = &waited {
            // The shard delivers only the answer to this request (see `group::answers`);
            // anything else would chain the session onto the wrong reply.
            assert!(
                super::group::answers(reply.message.header(), message.header()),
                "group {group} delivered a reply to another request"
            );
        }
        Ok(match waited {
            Waited::Reply(reply) if reply.message.header().command == Command::Eviction => {
                Err(Rejected::Evicted)
            }
            Waited::Reply(reply) => Ok(*reply),
            Waited::Timeout => {
                let header = message.header();
                tracing::debug!(group, request = header.request, operation = ?header.operation,
                    "no committed reply within the request timeout");
                Err(Rejected::Timeout(receiver))
            }
            Waited::Gone => return Err(CallError::ShardGone),
        })
    }

    fn request_header(
        &self,
        group: u32,
        operation: Operation,
        session: u64,
        request: u64,
        parent: u128,
    ) -> Header {
        let mut header = Header::new(Command::Request);
        header.cluster = self.cluster;
        header.group = group;
        header.client = self.id;
        header.session = session;
        header.request = request;
        header.parent = parent;
        header.operation = operation;
        header.timestamp = crate::time::now_micros();
        header.replica = u8::MAX;
        header
    }
}

enum Rejected {
    Evicted,
    Timeout(flume::Receiver<GroupReply>),
}

enum Waited {
    Reply(Box<GroupReply>),
    Timeout,
    Gone,
}

async fn wait(receiver: &flume::Receiver<GroupReply>, timeout: Duration) -> Waited {
    match monoio::time::timeout(timeout, receiver.recv_async()).await {
        Ok(Ok(reply)) => Waited::Reply(Box::new(reply)),
        Ok(Err(_)) => Waited::Gone,
        Err(_) => Waited::Timeout,
    }
}

/// A random, non-zero 128-bit id from the kernel's generator.
#[must_use]
pub fn random_client_id() -> u128 {
    loop {
        let id = u128::from_le_bytes(random_bytes());
        if id != 0 {
            return id;
        }
    }
}

/// `N` random bytes from the kernel (getrandom(2)).
#[must_use]
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let mut filled = 0;
    while filled < N {
        // SAFETY: the pointer and length describe the unfilled tail of `bytes`.
        let read = unsafe { libc::getrandom(bytes[filled..].as_mut_ptr().cast(), N - filled, 0) };
        if read > 0 {
            filled += usize::try_from(read).expect("positive");
        } else {
            let error = std::io::Error::last_os_error();
            assert_eq!(error.raw_os_error(), Some(libc::EINTR), "getrandom failed: {error}");
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    fn reply_to(request: &Message, session: u64) -> GroupReply {
        let mut header = Header::new(Command::Reply);
        header.client = request.header().client;
        header.request = request.header().request;
        header.session = session;
        header.request_checksum = request.header().checksum_body;
        header.op = 9;
        GroupReply { message: Message::new(header, b"ok"), view: None }
    }

    type Held = Rc<RefCell<Vec<(Message, flume::Sender<GroupReply>)>>>;

    /// A fake shard: answers registers at once, holds every other request for the test.
    fn fake_shard(inbox: flume::Receiver<ShardMessage>, held: Held) {
        monoio::spawn(async move {
            while let Ok(ShardMessage::Request { message, reply, .. }) = inbox.recv_async().await {
                if message.header().operation == Operation::REGISTER {
                    let _ = reply.try_send(reply_to(&message, 5));
                } else {
                    held.borrow_mut().push((message, reply));
                }
            }
        });
    }

    #[test]
    fn a_retried_request_waits_for_the_pending_one_instead_of_resubmitting() {
        let mut runtime =
            monoio::RuntimeBuilder::<monoio::IoUringDriver>::new().enable_timer().build().unwrap();
        runtime.block_on(async {
            let (sender, inbox) = flume::bounded(16);
            let router = Router::new(vec![sender], 1);
            let held = Rc::new(RefCell::new(Vec::new()));
            fake_shard(inbox, Rc::clone(&held));
            let mut client = ConsensusClient::new(1);
            let operation = Operation(Operation::USER_MIN);
            let short = Duration::from_millis(30);

            let first = client.call(&router, 1, operation, b"a", 0, Some(7), short).await;
            assert_eq!(first.unwrap_err(), CallError::Timeout);
            assert_eq!(client.session(1), Some(5));
            assert_eq!(held.borrow().len(), 1, "submitted once");
            let submitted = held.borrow()[0].0.clone();
            assert_eq!(submitted.header().request, 1);

            // The replay (same key) does not submit again; it gets the first's outcome.
            let again = client.call(&router, 1, operation, b"a", 0, Some(7), short).await;
            assert_eq!(again.unwrap_err(), CallError::Timeout, "still pending");
            assert_eq!(held.borrow().len(), 1, "no second submission");
            let (message, reply) = held.borrow_mut().remove(0);
            reply.try_send(reply_to(&message, 5)).unwrap();
            let replayed = client.call(&router, 1, operation, b"a", 0, Some(7), short).await;
            assert_eq!(replayed.unwrap().message.header().request, 1);
            assert!(held.borrow().is_empty(), "answered from the pending request");

            // The next request chains onto that reply.
            let next = client.call(&router, 1, operation, b"b", 0, Some(8), short).await;
            assert_eq!(next.unwrap_err(), CallError::Timeout);
            let header = *held.borrow()[0].0.header();
            assert_eq!(header.request, 2);
            assert_eq!(header.parent, reply_to(&submitted, 5).message.header().checksum);
        });
    }
}
