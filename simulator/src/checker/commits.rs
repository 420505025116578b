//! Committed histories: one hash-chained history, identical on every replica; every
//! committed op came from a client request; no user request is applied twice.

use std::collections::{BTreeMap, BTreeSet};

use vireo_protocol::vsr::{Header, Operation};

use super::Violation;

/// Identity of a client request: (client, session, request number).
pub type RequestKey = (u128, u64, u64);

/// The canonical committed history, learned from every replica's applies.
#[derive(Debug, Default)]
pub struct CommitChecker {
    root: u128,
    /// Committed prepare headers, index = op - 1.
    pub history: Vec<Header>,
    /// Requests clients sent: (client, request number, body checksum).
    sent: BTreeSet<(u128, u64, u128)>,
    /// User requests committed, and at which op.
    applied: BTreeMap<RequestKey, u64>,
    /// Per replica, the highest op it applied since its last restart.
    replica_applied: BTreeMap<u8, u64>,
}

impl CommitChecker {
    /// A checker for a chain rooted at `root`.
    #[must_use]
    pub fn new(root: u128) -> Self {
        Self { root, ..Self::default() }
    }

    /// Records that a client sent a request.
    pub fn on_request_sent(&mut self, header: &Header) {
        self.sent.insert((header.client, header.request, header.checksum_body));
    }

    /// A replica restarted (or state-synced) and will apply from `commit_min` again.
    pub fn on_replica_reset(&mut self, replica: u8, commit_min: u64) {
        self.replica_applied.insert(replica, commit_min);
    }

    /// A replica applied `header`.
    pub fn on_applied(&mut self, replica: u8, header: &Header) -> Result<(), Violation> {
        let op = header.op;
        let last = self.replica_applied.get(&replica).copied().unwrap_or(0);
        if op != last + 1 {
            return Err(Violation::new(
                "commits",
                format!(
                    "replica {replica} applied op {op} after op {last}: ops must apply in order"
                ),
            ));
        }
        self.replica_applied.insert(replica, op);
        let index = usize::try_from(op - 1).expect("fits");
        if let Some(canonical) = self.history.get(index) {
            if canonical.checksum != header.checksum {
                return Err(Violation::new(
                    "commits",
                    format!(
                        "replica {replica} committed op {op} as {:032x}, another replica as {:032x}",
                        header.checksum, canonical.checksum
                    ),
                ));
            }
            return Ok(());
        }
        if index != self.history.len() {
            return Err(Violation::new(
                "commits",
                format!("replica {replica} committed op {op} past the history's end"),
            ));
        }
        let parent = self.history.last().map_or(self.root, |last| last.checksum);
        if header.parent != parent {
            return Err(Violation::new(
                "commits",
                format!("op {op} does not chain to op {}", op - 1),
            ));
        }
        if header.client != 0 {
            let request_body = header.request_checksum;
            if !self.sent.contains(&(header.client, header.request, request_body)) {
                return Err(Violation::new(
                    "commits",
                    format!(
                        "op {op} commits request {} of client {:x} that no client sent",
                        header.request, header.client
                    ),
                ));
            }
            if header.operation != Operation::REGISTER {
                let key = (header.client, header.session, header.request);
                if let Some(first) = self.applied.insert(key, op) {
                    return Err(Violation::new(
                        "commits",
                        format!("request {key:?} applied twice: at op {first} and op {op}"),
                    ));
                }
            }
        }
        self.history.push(*header);
        Ok(())
    }

    /// Highest committed op seen on any replica.
    #[must_use]
    pub fn commit_max(&self) -> u64 {
        self.history.len() as u64
    }

    /// A checksum of the whole history (for determinism checks).
    #[must_use]
    pub fn history_checksum(&self) -> u128 {
        self.history.last().map_or(self.root, |last| last.checksum)
    }
}
