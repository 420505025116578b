//! The checker: one committed history for the whole cluster, built from every replica's
//! `Applied` actions, and checked at every step.
//!
//! * every replica applies ops in order along the hash chain (`parent` = the previous
//!   op's checksum, from the group's root);
//! * replicas agree: an op number is only ever applied with one checksum, by anyone, at
//!   any time (across restarts and state transfers too);
//! * exactly once: a client request (client, session, request number) is applied at one
//!   op only;
//! * a reply names a committed op (its `context` is that op's checksum), and the same op
//!   always gets the same reply. Acknowledged ops are therefore never lost: a later
//!   history without one would disagree at its op number.

use std::collections::BTreeMap;

use vireo_protocol::vsr::{Command, Header, Message, Operation};

use super::node::Applied;

pub struct History {
    root: u128,
    /// Op → the prepare applied there.
    pub committed: BTreeMap<u64, Header>,
    /// (client, session, request) → the op that applied it.
    requests: BTreeMap<(u128, u64, u64), u64>,
    /// Op → the reply a client was (or would have been) given for it.
    pub acknowledged: BTreeMap<u64, Message>,
    /// Per replica: the last op applied and its checksum.
    last: Vec<(u64, u128)>,
}

impl History {
    pub fn new(replica_count: u8, root: u128) -> Self {
        Self {
            root,
            committed: BTreeMap::new(),
            requests: BTreeMap::new(),
            acknowledged: BTreeMap::new(),
            last: vec![(0, root); usize::from(replica_count)],
        }
    }

    /// Replica `replica` (re)started having applied everything up to `commit_min`.
    pub fn started(&mut self, replica: u8, commit_min: u64) {
        let checksum = if commit_min == 0 {
            self.root
        } else {
            self.committed.get(&commit_min).expect("a restart resumes from committed ops").checksum
        };
        self.last[usize::from(replica)] = (commit_min, checksum);
    }

    pub fn applied(&mut self, replica: u8, applied: Applied) {
        let last = &mut self.last[usize::from(replica)];
        match applied {
            Applied::Synced(op) => {
                let header = self.committed.get(&op).unwrap_or_else(|| {
                    panic!("replica {replica} state-synced to op {op}, which never committed")
                });
                assert!(op > last.0, "replica {replica} state-synced backwards to op {op}");
                *last = (op, header.checksum);
            }
            Applied::Op(header) => {
                assert_eq!(header.op, last.0 + 1, "replica {replica} applied out of order");
                assert_eq!(
                    header.parent, last.1,
                    "replica {replica}: op {} does not chain to op {}",
                    header.op, last.0
                );
                *last = (header.op, header.checksum);
                self.commit(replica, header);
            }
        }
    }

    fn commit(&mut self, replica: u8, header: Header) {
        if let Some(held) = self.committed.get(&header.op) {
            assert_eq!(
                held.checksum, header.checksum,
                "replica {replica} applied a different op {} than the cluster committed",
                header.op
            );
            return;
        }
        if header.operation != Operation::REGISTER && header.client != 0 {
            let key = (header.client, header.session, header.request);
            if let Some(first) = self.requests.insert(key, header.op) {
                panic!("request {key:?} applied twice: at op {first} and op {}", header.op);
            }
        }
        self.committed.insert(header.op, header);
    }

    /// A replica replied to a client.
    pub fn replied(&mut self, reply: &Message) {
        let header = reply.header();
        if header.command != Command::Reply {
            return;
        }
        let committed = self
            .committed
            .get(&header.op)
            .unwrap_or_else(|| panic!("reply for op {} that no replica applied", header.op));
        assert_eq!(committed.checksum, header.context, "reply names another prepare");
        assert_eq!(committed.client, header.client, "reply to another client");
        if let Some(earlier) = self.acknowledged.insert(header.op, reply.clone()) {
            assert_eq!(&earlier, reply, "op {} answered with two different replies", header.op);
        }
    }

    /// The highest acknowledged op.
    pub fn acknowledged_max(&self) -> u64 {
        self.acknowledged.keys().next_back().copied().unwrap_or(0)
    }

    /// How many times a request of `client` with number `request` was applied (0 or 1).
    pub fn applications(&self, client: u128, request: u64) -> usize {
        self.requests.keys().filter(|key| key.0 == client && key.2 == request).count()
    }
}
