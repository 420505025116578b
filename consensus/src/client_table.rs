//! Client sessions and their latest replies: what makes a retried request idempotent.
//!
//! A session starts when a client's `register` op commits (the session number is that
//! op). The table records, per client, the latest *committed* request number and its
//! reply. Recording only committed requests (as TigerBeetle does) avoids two VRR bugs:
//! request-number collisions after a client restarts, and a client locked out because an
//! uncommitted request was reordered by a view change.

use std::collections::BTreeMap;

use bytes::Bytes;
use vireo_protocol::vsr::Message;

/// One client's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEntry {
    /// The session number: the op of the register that opened it.
    pub session: u64,
    /// The latest committed request number (0 = the register itself).
    pub request: u64,
    /// The reply to that request, verbatim.
    pub reply: Message,
}

/// The client table. Deterministic: iteration is by client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTable {
    clients_max: usize,
    entries: BTreeMap<u128, ClientEntry>,
}

/// A client table snapshot could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("client table snapshot is malformed")]
pub struct ClientTableDecodeError;

impl ClientTable {
    /// An empty table holding at most `clients_max` sessions.
    #[must_use]
    pub fn new(clients_max: usize) -> Self {
        assert!(clients_max > 0);
        Self { clients_max, entries: BTreeMap::new() }
    }

    /// The session of `client`, if any.
    #[must_use]
    pub fn get(&self, client: u128) -> Option<&ClientEntry> {
        self.entries.get(&client)
    }

    /// Number of sessions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no session exists.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when registering a new client would evict another.
    #[must_use]
    pub fn full(&self) -> bool {
        self.entries.len() >= self.clients_max
    }

    /// The least recently used session (oldest latest reply), evicted when full.
    #[must_use]
    pub fn least_recently_used(&self) -> Option<u128> {
        self.entries
            .iter()
            .min_by_key(|(client, entry)| (entry.reply.header().op, **client))
            .map(|(client, _)| *client)
    }

    /// Removes a session.
    pub fn remove(&mut self, client: u128) -> Option<ClientEntry> {
        self.entries.remove(&client)
    }

    /// Records a committed request and its reply. A register replaces any older session.
    ///
    /// # Panics
    /// If the table would exceed its bound (callers evict first) or the request does not
    /// follow the session's latest (a bug: the primary ordered requests per client).
    pub fn commit(&mut self, client: u128, session: u64, request: u64, reply: Message) {
        match self.entries.get_mut(&client) {
            Some(entry) if request > 0 => {
                assert_eq!(entry.session, session, "request from another session");
                assert!(request > entry.request, "request numbers only grow");
                entry.request = request;
                entry.reply = reply;
            }
            _ => {
                assert_eq!(request, 0, "a new session starts with the register");
                if !self.entries.contains_key(&client) {
                    assert!(!self.full(), "evict before registering into a full table");
                }
                self.entries.insert(client, ClientEntry { session, request, reply });
            }
        }
    }

    /// Encodes the table for a checkpoint snapshot.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&u32::try_from(self.entries.len()).expect("bounded").to_le_bytes());
        for (client, entry) in &self.entries {
            out.extend_from_slice(&client.to_le_bytes());
            out.extend_from_slice(&entry.session.to_le_bytes());
            out.extend_from_slice(&entry.request.to_le_bytes());
            let reply = entry.reply.as_bytes();
            out.extend_from_slice(&u32::try_from(reply.len()).expect("bounded").to_le_bytes());
            out.extend_from_slice(reply);
        }
        out
    }

    /// Decodes a table; returns it and the bytes consumed. Total.
    pub fn decode(
        bytes: &[u8],
        clients_max: usize,
        message_size_max: usize,
    ) -> Result<(Self, usize), ClientTableDecodeError> {
        let mut at = 0;
        let mut take = |n: usize| -> Result<&[u8], ClientTableDecodeError> {
            let slice = bytes.get(at..at + n).ok_or(ClientTableDecodeError)?;
            at += n;
            Ok(slice)
        };
        let count = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
        if count > clients_max {
            return Err(ClientTableDecodeError);
        }
        let mut table = Self::new(clients_max);
        for _ in 0..count {
            let client = u128::from_le_bytes(take(16)?.try_into().expect("16 bytes"));
            let session = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
            let request = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
            let length = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
            let reply = Bytes::copy_from_slice(take(length)?);
            let reply =
                Message::decode(reply, message_size_max).map_err(|_| ClientTableDecodeError)?;
            if table.entries.insert(client, ClientEntry { session, request, reply }).is_some() {
                return Err(ClientTableDecodeError);
            }
        }
        Ok((table, at))
    }

    /// Asserts the table's invariants.
    pub fn check_invariants(&self) {
        assert!(self.entries.len() <= self.clients_max);
        for (client, entry) in &self.entries {
            assert_ne!(*client, 0, "client ids are non-zero");
            assert!(entry.session > 0);
            assert_eq!(entry.reply.header().client, *client);
            assert_eq!(entry.reply.header().request, entry.request);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vireo_protocol::vsr::{Command, Header};

    fn reply(client: u128, request: u64, op: u64) -> Message {
        let mut header = Header::new(Command::Reply);
        header.client = client;
        header.request = request;
        header.op = op;
        Message::new(header, b"r")
    }

    #[test]
    fn commit_lru_and_round_trip() {
        let mut table = ClientTable::new(2);
        table.commit(7, 3, 0, reply(7, 0, 3));
        table.commit(9, 4, 0, reply(9, 0, 4));
        assert!(table.full());
        table.commit(7, 3, 1, reply(7, 1, 5));
        assert_eq!(table.least_recently_used(), Some(9));
        assert_eq!(table.get(7).unwrap().request, 1);
        table.check_invariants();
        let bytes = table.encode();
        let (decoded, used) = ClientTable::decode(&bytes, 2, 4096).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(decoded, table);
        assert!(ClientTable::decode(&bytes[..bytes.len() - 1], 2, 4096).is_err());
        assert!(ClientTable::decode(&bytes, 1, 4096).is_err());
    }

    #[test]
    #[should_panic(expected = "request numbers only grow")]
    fn stale_commit_is_a_bug() {
        let mut table = ClientTable::new(2);
        table.commit(7, 3, 0, reply(7, 0, 3));
        table.commit(7, 3, 2, reply(7, 2, 4));
        table.commit(7, 3, 1, reply(7, 1, 5));
    }
}
