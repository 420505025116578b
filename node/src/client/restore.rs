//! What a new connection must re-create before the first request resent on it.
//!
//! A server ties consumer-group membership to the connection (the member is the
//! connection's client id, and it leaves the group when the connection closes or its
//! node dies). So the client remembers every group it joined and, on each new link
//! (a reconnect, a move to the leader), joins them again before anything else is sent:
//! a group poll after a failover then reads the partitions assigned to the new member
//! instead of failing with "member not found".
//!
//! A re-join is a replicated op on the new session: 57 is replayed on the same header
//! (at most [`REJOIN_REPLAYS_MAX`] times), a group that no longer exists is forgotten,
//! and any other failure drops the link so the call's reconnect loop tries again
//! elsewhere. The request being retried was not sent on the new link yet, so a failed
//! re-join never makes its outcome ambiguous.

use tokio::time::Instant;
use vireo_protocol::iggy::code;

use super::call::Client;
use super::error::ServerError;
use super::reply::{Outcome, classify};
use super::transport::{Connection, Connector};

/// Most 57 replays of one re-join.
pub const REJOIN_REPLAYS_MAX: u32 = 20;
/// Most groups one client re-joins (each costs a round trip on every reconnect).
pub const REJOINED_GROUPS_MAX: usize = 64;

impl<C: Connector> Client<C> {
    /// Remembers a joined group (its `JOIN_CONSUMER_GROUP` body).
    pub(super) fn remember_group(&mut self, body: &[u8]) {
        if !self.groups.iter().any(|known| known.as_slice() == body)
            && self.groups.len() < REJOINED_GROUPS_MAX
        {
            self.groups.push(body.to_vec());
        }
    }

    /// Forgets a group left or deleted (a group target body).
    pub(super) fn forget_group(&mut self, body: &[u8]) {
        self.groups.retain(|known| known.as_slice() != body);
    }

    /// Groups re-joined on every new link.
    #[must_use]
    pub fn joined_groups(&self) -> usize {
        self.groups.len()
    }

    /// Re-joins every remembered group on the current link if it is new. `Err` names
    /// why the link is unusable (the caller drops it and reconnects).
    pub(super) async fn restore(&mut self, deadline: Instant) -> Result<(), String> {
        if self.restored_at == self.stats.connects {
            return Ok(());
        }
        let groups = self.groups.clone();
        for body in &groups {
            match self.rejoin(body, deadline).await? {
                Rejoined::Member => {}
                Rejoined::Gone => self.forget_group(body),
            }
        }
        self.restored_at = self.stats.connects;
        Ok(())
    }

    async fn rejoin(&mut self, body: &[u8], deadline: Instant) -> Result<Rejoined, String> {
        let Some(link) = self.link.as_mut() else { return Err("no connection".to_owned()) };
        let address = link.connection.address().to_owned();
        let header = link
            .ids
            .header(code::JOIN_CONSUMER_GROUP, body)
            .ok_or_else(|| format!("{address}: no session to re-join a group on"))?;
        let header_bytes = header.to_bytes();
        for _ in 0..REJOIN_REPLAYS_MAX {
            let limit =
                self.config.reply_timeout.min(deadline.saturating_duration_since(Instant::now()));
            let exchange = link.connection.exchange(&header_bytes, body, &mut self.reply);
            match tokio::time::timeout(limit, exchange).await {
                Err(_) => {
                    return Err(format!("{address}: no reply to a group re-join in {limit:?}"));
                }
                Ok(Err(error)) => return Err(error.to_string()),
                Ok(Ok(())) => {}
            }
            self.stats.exchanges += 1;
            match classify(&self.reply, &header) {
                Ok(Outcome::Ok { .. }) => {
                    self.stats.groups_rejoined += 1;
                    return Ok(Rejoined::Member);
                }
                Ok(Outcome::Refused(ServerError::TransientNotCommitted)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    tokio::time::sleep(self.config.transient_backoff.min(left)).await;
                }
                Ok(Outcome::Refused(ServerError::NotFound(_))) => return Ok(Rejoined::Gone),
                Ok(Outcome::Refused(error)) => {
                    return Err(format!("{address}: group re-join refused: {error}"));
                }
                Ok(Outcome::Evicted(reason)) => {
                    return Err(format!("{address}: evicted ({reason:?}) while re-joining"));
                }
                Err(detail) => return Err(format!("{address}: {detail}")),
            }
        }
        Err(format!("{address}: group re-join not committed after {REJOIN_REPLAYS_MAX} replays"))
    }
}

enum Rejoined {
    Member,
    Gone,
}
