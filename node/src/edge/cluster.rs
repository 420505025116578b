//! What the edge tells clients about the cluster: the roster of `get_cluster_metadata`
//! (code 12) and the node a routed poll or offset write goes to (codes 103/123).
//!
//! The official 0.11.0 SDK reads the roster after login and, with more than one node,
//! reconnects to the node marked Leader + Healthy; the leader is the node whose
//! replica is primary of the metadata group (group 0) in the view this node believes
//! current. During a view change no node is Leader, and the SDK waits (up to 5 s) and
//! asks again. A peer is Healthy while this node's replica bus to it is connected and
//! Unreachable otherwise; this node always reports itself Healthy (it is answering).
//!
//! The roster itself (names and advertised client addresses) is static configuration
//! (`[cluster] nodes`); the live facts (connectivity, metadata primary) come as a
//! [`ClusterFacts`] snapshot of the replica bus and the metadata group's replica
//! (`shard/cluster_state.rs`, see `Session::cluster_facts`).

use std::net::SocketAddr;

use vireo_protocol::iggy::reply::{ClusterMetadataReply, ClusterNode, NodeRole, NodeStatus};

use super::Session;

/// Live cluster facts the edge reads at request time (a snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterFacts {
    /// Per replica index: whether this node's replica bus to it is connected
    /// (authenticated and exchanging frames). Missing entries count as not connected.
    pub connected: Vec<bool>,
    /// The replica that is primary of the metadata group's current view, as this node
    /// believes; `None` while a view change runs.
    pub metadata_primary: Option<usize>,
}

impl ClusterFacts {
    /// A cluster of one: this node is the metadata primary and has no peers.
    #[must_use]
    pub fn single() -> Self {
        Self { connected: Vec::new(), metadata_primary: Some(0) }
    }

    fn connected(&self, replica: usize) -> bool {
        self.connected.get(replica).copied().unwrap_or(false)
    }
}

/// One roster entry as clients see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// Node name.
    pub name: String,
    /// Advertised TCP client address; `None` = not served.
    pub tcp: Option<SocketAddr>,
    /// Advertised QUIC client address; `None` = not served.
    pub quic: Option<SocketAddr>,
    /// Advertised HTTP address; `None` = not served.
    pub http: Option<SocketAddr>,
}

impl RosterEntry {
    /// The one ip the Iggy node record carries: the TCP address's, else QUIC's, else
    /// HTTP's (every transport of a node normally shares one host).
    fn ip(&self) -> String {
        self.tcp.or(self.quic).or(self.http).map_or_else(String::new, |a| a.ip().to_string())
    }
}

/// The roster with its live facts applied: what codes 12, 103 and 123 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    /// Cluster name.
    pub name: String,
    /// Every node, in replica order.
    pub entries: Vec<RosterEntry>,
    /// This node's index in `entries`.
    pub this: usize,
    /// Per entry: Leader / Healthy flags, as reported.
    roles: Vec<(NodeRole, NodeStatus)>,
}

impl ClusterView {
    /// Applies `facts` to the roster `entries` (this node at index `this`).
    ///
    /// # Panics
    /// If `this` is not an index into `entries` (validated configuration guarantees it).
    #[must_use]
    pub fn new(name: String, entries: Vec<RosterEntry>, this: usize, facts: &ClusterFacts) -> Self {
        assert!(this < entries.len(), "this node {this} outside a roster of {}", entries.len());
        let primary = facts.metadata_primary;
        let roles = (0..entries.len())
            .map(|replica| {
                let role =
                    if primary == Some(replica) { NodeRole::Leader } else { NodeRole::Follower };
                let status = if replica == this || facts.connected(replica) {
                    NodeStatus::Healthy
                } else {
                    NodeStatus::Unreachable
                };
                (role, status)
            })
            .collect();
        Self { name, entries, this, roles }
    }

    /// Node `index` as the wire record (its ip passed in, borrowed).
    fn node<'a>(&'a self, index: usize, ip: &'a str) -> ClusterNode<'a> {
        let entry = &self.entries[index];
        let port = |address: Option<SocketAddr>| address.map_or(0, |a| a.port());
        let (role, status) = self.roles[index];
        ClusterNode {
            name: &entry.name,
            ip,
            tcp_port: port(entry.tcp),
            quic_port: port(entry.quic),
            http_port: port(entry.http),
            websocket_port: 0,
            role,
            status,
        }
    }

    /// The body of `get_cluster_metadata` (12).
    #[must_use]
    pub fn metadata_body(&self) -> Vec<u8> {
        let ips: Vec<String> = self.entries.iter().map(RosterEntry::ip).collect();
        let nodes: Vec<ClusterNode<'_>> =
            (0..self.entries.len()).map(|index| self.node(index, &ips[index])).collect();
        let mut body = Vec::new();
        ClusterMetadataReply { name: &self.name, nodes: nodes.into() }.encode(&mut body);
        body
    }

    /// Appends node `index`'s record (the target of a routed poll or offset write).
    ///
    /// # Panics
    /// If `index` is not an index into the roster.
    pub fn encode_node(&self, index: usize, out: &mut Vec<u8>) {
        let ip = self.entries[index].ip();
        self.node(index, &ip).encode(out);
    }
}

impl Session {
    /// The live facts of this node's cluster: a cluster of one answers for itself;
    /// with a roster, the replica bus's per-peer connectivity (this node's outgoing,
    /// authenticated connection) and the metadata group's primary when its replica
    /// here is in normal status (`shard/cluster_state.rs`).
    pub(super) fn cluster_facts(&self) -> ClusterFacts {
        if !self.shard.config.cluster.is_multi_node() {
            return ClusterFacts::single();
        }
        let state = self.shard.cluster_state();
        ClusterFacts {
            connected: state.connected(),
            metadata_primary: state.metadata_primary().map(usize::from),
        }
    }

    /// The roster as configured: `[cluster] nodes` (their advertised client
    /// addresses), or this node alone with its listen addresses. A transport this node
    /// does not serve is advertised for no node (the cluster's nodes share one shape).
    fn roster(&self) -> (Vec<RosterEntry>, usize) {
        let config = &self.shard.config;
        let enabled = |on: bool, address: SocketAddr| on.then_some(address);
        let cluster = &config.cluster;
        if cluster.nodes.is_empty() {
            let me = RosterEntry {
                name: config.node.name.clone(),
                tcp: enabled(config.tcp.enabled, config.tcp.address),
                quic: enabled(config.quic.enabled, config.quic.address),
                http: enabled(config.http.enabled, config.http.address),
            };
            return (vec![me], 0);
        }
        let entries = cluster
            .nodes
            .iter()
            .map(|node| RosterEntry {
                name: node.name.clone(),
                tcp: enabled(config.tcp.enabled, node.tcp),
                quic: enabled(config.quic.enabled, node.quic),
                http: enabled(config.http.enabled, node.http),
            })
            .collect();
        (entries, usize::from(cluster.replica))
    }

    /// The roster with the live facts applied.
    pub(super) fn cluster_view(&self) -> ClusterView {
        let (entries, this) = self.roster();
        let name = self.shard.config.consensus.cluster_name.clone();
        ClusterView::new(name, entries, this, &self.cluster_facts())
    }
}

#[cfg(test)]
mod tests {
    use vireo_protocol::iggy::wire::Reader;

    use super::*;

    fn entry(i: u16) -> RosterEntry {
        let at = |port: u16| Some(SocketAddr::from(([127, 0, 0, 1], port + i)));
        RosterEntry { name: format!("node-{i}"), tcp: at(8090), quic: at(8080), http: None }
    }

    fn decoded(view: &ClusterView) -> Vec<(String, String, u16, u16, u16, NodeRole, NodeStatus)> {
        let body = view.metadata_body();
        let mut reader = Reader::new(&body);
        let reply = ClusterMetadataReply::decode(&mut reader).unwrap();
        assert_eq!(reply.name, view.name);
        assert_eq!(reader.remaining(), 0);
        reply
            .nodes
            .iter()
            .map(|n| {
                (n.name.into(), n.ip.into(), n.tcp_port, n.quic_port, n.http_port, n.role, n.status)
            })
            .collect()
    }

    #[test]
    fn a_cluster_of_one_is_a_healthy_leader() {
        let view = ClusterView::new("c".into(), vec![entry(0)], 0, &ClusterFacts::single());
        let nodes = decoded(&view);
        assert_eq!(
            nodes,
            [(
                "node-0".into(),
                "127.0.0.1".into(),
                8090,
                8080,
                0,
                NodeRole::Leader,
                NodeStatus::Healthy
            )]
        );
    }

    #[test]
    fn three_nodes_mark_the_metadata_primary_and_unreachable_peers() {
        let entries = vec![entry(0), entry(1), entry(2)];
        let facts = ClusterFacts { connected: vec![false, true, false], metadata_primary: Some(1) };
        let view = ClusterView::new("c".into(), entries.clone(), 2, &facts);
        let nodes = decoded(&view);
        let roles: Vec<_> = nodes.iter().map(|n| (n.5, n.6)).collect();
        assert_eq!(
            roles,
            [
                (NodeRole::Follower, NodeStatus::Unreachable),
                (NodeRole::Leader, NodeStatus::Healthy),
                (NodeRole::Follower, NodeStatus::Healthy),
            ]
        );
        assert_eq!((nodes[1].2, nodes[1].3), (8091, 8081));

        // A view change: nobody is leader (the SDK waits and asks again).
        let facts = ClusterFacts { connected: vec![true, true, true], metadata_primary: None };
        let view = ClusterView::new("c".into(), entries, 0, &facts);
        assert!(decoded(&view).iter().all(|n| n.5 == NodeRole::Follower));
    }

    #[test]
    fn this_node_record_decodes_as_a_routing_target() {
        let facts = ClusterFacts { connected: vec![true, true], metadata_primary: Some(0) };
        let view = ClusterView::new("c".into(), vec![entry(0), entry(1)], 1, &facts);
        let mut out = Vec::new();
        view.encode_node(view.this, &mut out);
        let node = ClusterNode::decode(&mut Reader::new(&out)).unwrap();
        assert_eq!((node.name, node.tcp_port, node.role), ("node-1", 8091, NodeRole::Follower));
        assert_eq!(node.status, NodeStatus::Healthy);
    }
}
