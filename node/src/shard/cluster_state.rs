//! [`ClusterState`]: a snapshot of this node's view of the cluster — the roster, the
//! replica bus's connectivity per peer, and per consensus group the view, its primary
//! and progress as this node's replica believes them. Readable synchronously from any
//! shard (and the QUIC edge thread): each shard publishes its groups' facts into
//! relaxed atomics in the [`Router`](super::router::Router) after every event
//! (`Shard::run`), and the bus keeps its own per-peer flags.
//!
//! For the edge's cluster metadata (`get_cluster_metadata`, routing commands): call
//! [`Shard::cluster_state`](super::Shard::cluster_state) and read
//! [`ClusterState::metadata_primary`], [`ClusterState::primary_of`] and
//! [`ClusterState::connected`]; addresses are in `config.cluster.nodes`.
//! `GET /cluster` (net/http.rs) renders the same snapshot as JSON.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};

use vireo_consensus::Status;

/// Published facts of one group (relaxed atomics; a snapshot may mix two instants,
/// which monitoring and routing hints tolerate).
#[derive(Debug, Default)]
pub struct GroupLive {
    view: AtomicU32,
    /// 0 = not opened yet, 1 normal, 2 view change, 3 recovering head.
    status: AtomicU8,
    primary: AtomicU8,
    op: AtomicU64,
    commit_min: AtomicU64,
    commit_max: AtomicU64,
    /// The group's partition machine is fetching records after a state transfer.
    data_syncing: AtomicBool,
}

impl GroupLive {
    /// Publishes a replica's current facts.
    pub fn publish(
        &self,
        view: u32,
        status: Status,
        primary: u8,
        op: u64,
        commit_min: u64,
        commit_max: u64,
    ) {
        let status = match status {
            Status::Normal => 1,
            Status::ViewChange => 2,
            Status::RecoveringHead => 3,
        };
        self.view.store(view, Ordering::Relaxed);
        self.status.store(status, Ordering::Relaxed);
        self.primary.store(primary, Ordering::Relaxed);
        self.op.store(op, Ordering::Relaxed);
        self.commit_min.store(commit_min, Ordering::Relaxed);
        self.commit_max.store(commit_max, Ordering::Relaxed);
    }

    /// Publishes whether the partition machine still fetches data (`PartitionMachine::syncing`).
    pub fn publish_data_syncing(&self, syncing: bool) {
        self.data_syncing.store(syncing, Ordering::Relaxed);
    }

    /// A snapshot of group `group`.
    #[must_use]
    pub fn snapshot(&self, group: u32) -> GroupState {
        let status = match self.status.load(Ordering::Relaxed) {
            1 => "normal",
            2 => "view_change",
            3 => "recovering_head",
            _ => "opening",
        };
        let commit_min = self.commit_min.load(Ordering::Relaxed);
        let commit_max = self.commit_max.load(Ordering::Relaxed);
        GroupState {
            group,
            view: self.view.load(Ordering::Relaxed),
            primary: self.primary.load(Ordering::Relaxed),
            status,
            op: self.op.load(Ordering::Relaxed),
            commit_min,
            commit_max,
            syncing: commit_min < commit_max || self.data_syncing.load(Ordering::Relaxed),
        }
    }
}

/// One group as this node's replica sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    /// 0 = metadata, 1..=G partition groups.
    pub group: u32,
    /// The replica's view.
    pub view: u32,
    /// The primary of that view (`view % replica_count`).
    pub primary: u8,
    /// `normal`, `view_change`, `recovering_head` or `opening`.
    pub status: &'static str,
    /// Head op.
    pub op: u64,
    /// Applied op.
    pub commit_min: u64,
    /// Committed op (as known here).
    pub commit_max: u64,
    /// Behind what is known committed (repairing or state transfer in progress).
    pub syncing: bool,
}

impl GroupState {
    /// True in normal status.
    #[must_use]
    pub fn normal(&self) -> bool {
        self.status == "normal"
    }
}

/// One other node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerState {
    /// Its replica index.
    pub replica: u8,
    /// Its name.
    pub name: String,
    /// This node's outgoing bus connection to it is up (authenticated).
    pub connected: bool,
    /// Its bus connection to this node is up.
    pub inbound: bool,
}

/// The snapshot (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterState {
    /// This node's replica index.
    pub node: u8,
    /// Its name.
    pub name: String,
    /// Nodes in the cluster.
    pub replica_count: u8,
    /// The other nodes.
    pub peers: Vec<PeerState>,
    /// Every group, by number.
    pub groups: Vec<GroupState>,
}

impl ClusterState {
    /// The metadata group's primary (the cluster's "leader"), when this node's replica
    /// is in normal status; `None` during a view change.
    #[must_use]
    pub fn metadata_primary(&self) -> Option<u8> {
        self.primary_of(0)
    }

    /// `group`'s primary as this node believes, when in normal status.
    #[must_use]
    pub fn primary_of(&self, group: u32) -> Option<u8> {
        self.groups.iter().find(|g| g.group == group).filter(|g| g.normal()).map(|g| g.primary)
    }

    /// Per replica index: is it reachable over the bus (this node: always true).
    #[must_use]
    pub fn connected(&self) -> Vec<bool> {
        (0..self.replica_count)
            .map(|replica| {
                replica == self.node
                    || self.peers.iter().any(|peer| peer.replica == replica && peer.connected)
            })
            .collect()
    }

    /// `GET /cluster`'s JSON.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let peers: Vec<_> = self
            .peers
            .iter()
            .map(|peer| {
                serde_json::json!({"replica": peer.replica, "name": peer.name,
                    "connected": peer.connected, "inbound": peer.inbound})
            })
            .collect();
        let groups: Vec<_> = self
            .groups
            .iter()
            .map(|g| {
                serde_json::json!({"group": g.group,
                    "kind": if g.group == 0 { "metadata" } else { "partition" },
                    "view": g.view, "primary": g.primary, "status": g.status, "op": g.op,
                    "commit": g.commit_max, "applied": g.commit_min, "syncing": g.syncing})
            })
            .collect();
        serde_json::json!({"node": self.node, "name": self.name,
            "replica_count": self.replica_count, "peers": peers, "groups": groups})
    }
}
