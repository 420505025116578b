//! [`Client`]: one lockstep connection with failover, and the request loop every typed
//! command goes through.
//!
//! # Retry rules
//!
//! A call has one deadline ([`ClientConfig::request_timeout`]); each wait for a reply
//! is bounded by [`ClientConfig::reply_timeout`] and reconnects by
//! [`ClientConfig::reconnects_max`]; no retry starts with less than
//! [`ClientConfig::attempt_time_min`] left. Within those bounds:
//!
//! * **57 TransientNotCommitted**: the request may commit later. Replay the *same*
//!   header (session and request number) on the same connection after
//!   [`ClientConfig::transient_backoff`]; the server's client table answers a
//!   committed replay from its cache, so this never applies twice.
//! * **58 TransientNotAccepted**: the node did not admit the request (not the
//!   primary, view change). Re-read the roster (`get_cluster_metadata`), move to the
//!   leader if it is elsewhere, and resend.
//! * **Session evictions** (no session, stale client, …): log in again and resend;
//!   the server refused the request without executing it.
//! * **New connection**: consumer groups joined earlier are joined again first
//!   ([`super::restore`]); membership belongs to a connection.
//! * **Connection lost**: reconnect to the next node (leader first when known). A
//!   read, or a request that provably was not sent, is resent. "Provably not sent":
//!   the dial failed, a QUIC stream could not open, or the TCP connection was found
//!   closed (or carrying stray bytes) just before the request was written — a node
//!   that died while the connection was idle. A write that may have been delivered is
//!   reported as [`ClientError::OutcomeUnknown`] unless [`AmbiguousWrites::Resend`]
//!   asks for at-least-once.
//!
//! # What a retried send means
//!
//! * Replayed after 57 on the same connection: the same session and request number,
//!   so the server's client table applies it at most once — exactly once if a reply
//!   arrives.
//! * Resent on a new connection (a new session: the server cannot relate it to the
//!   first attempt): exactly once only when the first attempt provably never left
//!   (above); after an ambiguous failure the default reports `OutcomeUnknown` (at most
//!   once), and `Resend` may append the batch twice (at least once). No exactly-once
//!   is claimed across a reconnect.
//!
//! Every other status is final and returned as [`ClientError::Server`]. A success is
//! returned only for a reply that echoes this request's client id, request number
//! and operation.

use std::time::Duration;

use tokio::time::Instant;
use vireo_protocol::iggy::{Operation, ReplyHeader, RequestHeader};

use super::config::{AmbiguousWrites, ClientConfig};
use super::endpoints::Endpoints;
use super::error::{
    ClientError, Delivery, ServerError, TimeoutBound, TransportError, eviction_error,
};
use super::reply::{Outcome, classify, session_lost};
use super::session::SessionIds;
use super::transport::{Connection, Connector, NetConnector};

/// Counters a caller (bench, tests) can read to see what the failover logic did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientStats {
    /// Successful dial-and-login sequences (the first connect included).
    pub connects: u64,
    /// Reconnects after a lost connection or a lost session.
    pub reconnects: u64,
    /// Replays after status 57.
    pub not_committed_replays: u64,
    /// Resends after status 58.
    pub not_accepted_retries: u64,
    /// Moves to the leader named by the roster.
    pub leader_redirects: u64,
    /// Request frames sent (replays and group re-joins included; logins excluded).
    pub exchanges: u64,
    /// Consumer groups joined again on a new connection ([`super::restore`]).
    pub groups_rejoined: u64,
}

/// A live connection and the session logged in on it.
#[derive(Debug)]
pub(super) struct Link<K> {
    pub(super) connection: K,
    pub(super) ids: SessionIds,
    pub(super) user_id: u32,
}

/// An Iggy-protocol client: one connection (one request in flight), failover across
/// the nodes it knows. Not `Clone`: run one per task.
#[derive(Debug)]
pub struct Client<C: Connector = NetConnector> {
    pub(super) config: ClientConfig,
    pub(super) connector: C,
    pub(super) link: Option<Link<C::Connection>>,
    pub(super) endpoints: Endpoints,
    pub(super) reply: Vec<u8>,
    pub(super) stats: ClientStats,
    /// `JOIN_CONSUMER_GROUP` bodies to send again on every new link.
    pub(super) groups: Vec<Vec<u8>>,
    /// `stats.connects` when the groups were last re-joined (a new link has a higher
    /// count).
    pub(super) restored_at: u64,
    /// The backoff jitter generator's state (`None`: no jitter).
    pub(super) jitter: Option<u64>,
}

impl Client<NetConnector> {
    /// Connects and logs in over the real network per `config`.
    pub async fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        let connector = NetConnector::new(&config).map_err(ClientError::InvalidArgument)?;
        Self::connect_with(config, connector).await
    }
}

impl<C: Connector> Client<C> {
    /// Connects and logs in through `connector` (tests pass a simulated network).
    pub async fn connect_with(config: ClientConfig, connector: C) -> Result<Self, ClientError> {
        let mut client = Self::new_with(config, connector)?;
        let deadline = Instant::now() + client.config.request_timeout;
        client.connect_any(deadline).await?;
        Ok(client)
    }

    /// A client that connects on its first call.
    pub fn new_with(config: ClientConfig, connector: C) -> Result<Self, ClientError> {
        if config.addresses.is_empty() {
            return Err(ClientError::InvalidArgument("no node address given".to_owned()));
        }
        let jitter = config.backoff_jitter_seed;
        Ok(Self {
            endpoints: Endpoints::new(&config.addresses),
            config,
            connector,
            link: None,
            reply: Vec::new(),
            stats: ClientStats::default(),
            groups: Vec::new(),
            restored_at: 0,
            jitter,
        })
    }

    /// What the failover logic has done so far.
    #[must_use]
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The address of the node currently connected, if any.
    #[must_use]
    pub fn current_address(&self) -> Option<&str> {
        self.link.as_ref().map(|link| link.connection.address())
    }

    /// The logged-in user's id, if connected.
    #[must_use]
    pub fn user_id(&self) -> Option<u32> {
        self.link.as_ref().map(|link| link.user_id)
    }

    /// Every node address known (configured and learned).
    #[must_use]
    pub fn known_addresses(&self) -> &[String] {
        self.endpoints.known()
    }

    /// Drops the connection (the next call reconnects).
    pub fn disconnect(&mut self) {
        self.link = None;
    }

    /// The payload of the last successful reply.
    pub(super) fn payload(&self, start: usize) -> &[u8] {
        &self.reply[start..]
    }

    /// Sends command `code` with `body` under the retry rules of this module and
    /// returns the reply header and where its payload starts in the reply buffer.
    pub(super) async fn call(
        &mut self,
        code: u32,
        body: &[u8],
    ) -> Result<(ReplyHeader, usize), ClientError> {
        let started = Instant::now();
        let deadline = started + self.config.request_timeout;
        let idempotent = Operation::for_code(code) == Operation::NonReplicated;
        let mut attempts = 0u32;
        let mut reconnects = 0u32;
        let mut replay: Option<RequestHeader> = None;
        // Set once this request was answered 57: its fate is then open until a reply
        // to the same header settles it.
        let mut unsure = false;
        let mut maybe_applied = false;
        let mut last = String::from("request deadline passed before the first attempt");
        loop {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() || (attempts > 0 && left < self.config.attempt_time_min) {
                return Err(give_up(maybe_applied, attempts, now - started, last));
            }
            if self.link.is_none() {
                replay = None;
                if let Err(error) = self.connect_any(deadline).await {
                    return Err(if maybe_applied {
                        ClientError::OutcomeUnknown(format!("{last}; then {error}"))
                    } else {
                        error
                    });
                }
            }
            if let Err(reason) = self.restore(deadline).await {
                // Nothing of this request was sent on the new link: not ambiguous.
                self.link = None;
                last = reason;
                reconnects += 1;
                self.stats.reconnects += 1;
                if reconnects > self.config.reconnects_max {
                    return Err(give_up(maybe_applied, attempts, started.elapsed(), last));
                }
                let pause = self.backoff(reconnects);
                self.pause(pause, deadline).await;
                continue;
            }
            let Some(link) = self.link.as_mut() else { continue };
            let header = match replay.take() {
                Some(header) => header,
                None => link
                    .ids
                    .header(code, body)
                    .ok_or(ClientError::Server(ServerError::Unauthenticated))?,
            };
            attempts += 1;
            self.stats.exchanges += 1;
            let limit =
                self.config.reply_timeout.min(deadline.saturating_duration_since(Instant::now()));
            let header_bytes = header.to_bytes();
            let exchange = link.connection.exchange(&header_bytes, body, &mut self.reply);
            let failure = match tokio::time::timeout(limit, exchange).await {
                Err(_) => {
                    let bound = if limit < self.config.reply_timeout {
                        TimeoutBound::Request {
                            request_timeout: self.config.request_timeout,
                            elapsed: started.elapsed(),
                        }
                    } else {
                        TimeoutBound::Reply { reply_timeout: self.config.reply_timeout }
                    };
                    TransportError::timeout(link.connection.address(), limit, &bound)
                }
                Ok(Err(error)) => error,
                Ok(Ok(())) => match classify(&self.reply, &header) {
                    Ok(Outcome::Ok { header, start }) => return Ok((header, start)),
                    Ok(Outcome::Refused(ServerError::TransientNotCommitted)) => {
                        self.stats.not_committed_replays += 1;
                        last = format!(
                            "{}: {}",
                            link.connection.address(),
                            ServerError::TransientNotCommitted
                        );
                        replay = Some(header);
                        unsure = true;
                        if Instant::now() + self.config.transient_backoff >= deadline {
                            return Err(ServerError::TransientNotCommitted.into());
                        }
                        tokio::time::sleep(self.config.transient_backoff).await;
                        continue;
                    }
                    Ok(Outcome::Refused(ServerError::TransientNotAccepted)) => {
                        self.stats.not_accepted_retries += 1;
                        last = format!(
                            "{}: {}",
                            link.connection.address(),
                            ServerError::TransientNotAccepted
                        );
                        if unsure && !idempotent {
                            // An earlier replay of this request may still commit.
                            self.ambiguous(&last)?;
                            maybe_applied = true;
                        }
                        unsure = false;
                        self.pause(self.config.transient_backoff, deadline).await;
                        self.recheck_leader(deadline).await;
                        continue;
                    }
                    Ok(Outcome::Refused(error)) => return Err(error.into()),
                    Ok(Outcome::Evicted(reason)) if session_lost(reason) => {
                        last = format!("{}: evicted ({reason:?})", link.connection.address());
                        self.link = None;
                        if unsure && !idempotent {
                            self.ambiguous(&last)?;
                            maybe_applied = true;
                        }
                        unsure = false;
                        reconnects += 1;
                        self.stats.reconnects += 1;
                        if reconnects > self.config.reconnects_max {
                            let elapsed = started.elapsed();
                            return Err(give_up(maybe_applied, attempts, elapsed, last));
                        }
                        continue;
                    }
                    Ok(Outcome::Evicted(reason)) => {
                        self.link = None;
                        return Err(eviction_error(reason));
                    }
                    Err(detail) => TransportError::framing(link.connection.address(), detail),
                },
            };
            // The connection is unusable: a late reply would desync the framing.
            self.link = None;
            if self.endpoints.leader() == Some(failure.address.as_str()) {
                self.endpoints.forget_leader();
            }
            let delivered = failure.delivery == Delivery::MaybeSent || unsure;
            unsure = false;
            last = failure.to_string();
            if delivered && !idempotent {
                self.ambiguous(&last)?;
                maybe_applied = true;
            }
            reconnects += 1;
            self.stats.reconnects += 1;
            if reconnects > self.config.reconnects_max {
                return Err(give_up(maybe_applied, attempts, started.elapsed(), last));
            }
            let pause = self.backoff(reconnects);
            self.pause(pause, deadline).await;
        }
    }

    /// A write may have been applied and is about to be resent: allowed only under
    /// [`AmbiguousWrites::Resend`].
    fn ambiguous(&self, last: &str) -> Result<(), ClientError> {
        match self.config.ambiguous_writes {
            AmbiguousWrites::Report => Err(ClientError::OutcomeUnknown(last.to_owned())),
            AmbiguousWrites::Resend => Ok(()),
        }
    }

    /// The pause before reconnect `attempt`: [`ClientConfig::backoff`], jittered when
    /// [`ClientConfig::backoff_jitter_seed`] is set.
    pub(super) fn backoff(&mut self, attempt: u32) -> Duration {
        let pause = self.config.backoff(attempt);
        match self.jitter.as_mut() {
            Some(state) => super::config::jittered(pause, state),
            None => pause,
        }
    }

    /// Sleeps `pause`, but not past `deadline`.
    pub(super) async fn pause(&self, pause: Duration, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(pause.min(left)).await;
    }
}

fn give_up(maybe_applied: bool, attempts: u32, elapsed: Duration, last: String) -> ClientError {
    if maybe_applied {
        ClientError::OutcomeUnknown(format!(
            "gave up after {attempts} attempts in {elapsed:.1?}: {last}"
        ))
    } else {
        ClientError::RetriesExhausted { attempts, elapsed, last }
    }
}
