//! `[cluster]`: this node's place in the replica roster.
//!
//! ```toml
//! [cluster]
//! replica = 0
//! secret = "change-me-at-least-16-bytes"
//! nodes = [
//!   { name = "node-0", replica = "127.0.0.1:8070", tcp = "127.0.0.1:8090", quic = "127.0.0.1:8080", http = "127.0.0.1:3000" },
//! ]
//! ```
//!
//! The node listens for the replica bus on its own entry's `replica` address and dials
//! the other entries' `replica` addresses as written here (a chaos test may put a fault
//! proxy there). `tcp`/`quic`/`http` are what cluster metadata advertises. In the
//! environment `nodes` is one line: `name=replica,tcp,quic,http;name=…`. No entries =
//! a cluster of one.

use std::net::SocketAddr;

use super::value::{ValueError, parse_address};

/// Most replicas of a cluster (the consensus crate's bound).
pub const NODES_MAX: usize = 6;
/// Shortest shared secret of a multi-node cluster.
pub const SECRET_BYTES_MIN: usize = 16;

/// One member of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// Its name (cluster metadata).
    pub name: String,
    /// Its replica-bus address (as this node dials it).
    pub replica: SocketAddr,
    /// Its advertised TCP client address.
    pub tcp: SocketAddr,
    /// Its advertised QUIC client address.
    pub quic: SocketAddr,
    /// Its advertised HTTP address.
    pub http: SocketAddr,
}

/// `[cluster]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterSection {
    /// This node's index in `nodes`.
    pub replica: u8,
    /// The shared secret that authenticates the replica bus; `None` = unset.
    pub secret: Option<String>,
    /// The roster; empty = a cluster of one.
    pub nodes: Vec<ClusterNode>,
}

impl ClusterSection {
    /// Replicas per consensus group.
    #[must_use]
    pub fn replica_count(&self) -> u8 {
        u8::try_from(self.nodes.len().max(1)).unwrap_or(u8::MAX)
    }

    /// True when other nodes exist (a replica bus runs).
    #[must_use]
    pub fn is_multi_node(&self) -> bool {
        self.nodes.len() > 1
    }

    /// This node's entry, if the roster is set.
    #[must_use]
    pub fn me(&self) -> Option<&ClusterNode> {
        self.nodes.get(usize::from(self.replica))
    }
}

/// Parses the one-line roster `name=replica,tcp,quic,http;name=…` (empty = no roster).
pub fn parse_nodes(text: &str) -> Result<Vec<ClusterNode>, ValueError> {
    const EXPECTED: &str = "name=replica_addr,tcp_addr,quic_addr,http_addr;name=…";
    let bad = || ValueError { expected: EXPECTED, got: text.to_owned() };
    let mut nodes = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|entry| !entry.is_empty()) {
        let (name, addresses) = entry.split_once('=').ok_or_else(bad)?;
        let addresses: Vec<&str> = addresses.split(',').collect();
        let [replica, tcp, quic, http] = addresses.as_slice() else { return Err(bad()) };
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        nodes.push(ClusterNode {
            name: name.to_owned(),
            replica: parse_address(replica)?,
            tcp: parse_address(tcp)?,
            quic: parse_address(quic)?,
            http: parse_address(http)?,
        });
    }
    Ok(nodes)
}

/// Renders a TOML `nodes` array (of inline tables) as the one-line form, so the file and
/// the environment go through the same parser. A malformed entry renders as a marker
/// that the parser refuses with the offending text.
#[must_use]
pub fn nodes_from_toml(array: &[toml::Value]) -> String {
    let field = |table: &toml::Table, key: &str| {
        table.get(key).and_then(toml::Value::as_str).unwrap_or("<missing>").to_owned()
    };
    array
        .iter()
        .map(|value| match value.as_table() {
            Some(table) => format!(
                "{}={},{},{},{}",
                field(table, "name"),
                field(table, "replica"),
                field(table, "tcp"),
                field(table, "quic"),
                field(table, "http")
            ),
            None => format!("<not a table: {value}>"),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Every problem with the roster, as (key, message).
#[must_use]
pub fn problems(cluster: &ClusterSection) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let nodes = &cluster.nodes;
    if nodes.is_empty() {
        if cluster.replica != 0 {
            out.push(("cluster.replica", "must be 0 without cluster.nodes".to_owned()));
        }
        return out;
    }
    if nodes.len() > NODES_MAX {
        out.push(("cluster.nodes", format!("at most {NODES_MAX} nodes, got {}", nodes.len())));
    }
    if usize::from(cluster.replica) >= nodes.len() {
        out.push((
            "cluster.replica",
            format!("must be 0..{} (an index into cluster.nodes)", nodes.len()),
        ));
    }
    for (i, node) in nodes.iter().enumerate() {
        if nodes[i + 1..].iter().any(|other| other.name == node.name) {
            out.push(("cluster.nodes", format!("name {:?} appears twice", node.name)));
        }
    }
    // Replica, TCP and HTTP listen on TCP, QUIC on UDP: a port may repeat across kinds.
    let mut tcp: Vec<(SocketAddr, &str)> = Vec::new();
    let mut udp: Vec<(SocketAddr, &str)> = Vec::new();
    for node in nodes {
        for address in [node.replica, node.tcp, node.http] {
            if let Some((_, owner)) = tcp.iter().find(|(used, _)| *used == address) {
                out.push((
                    "cluster.nodes",
                    format!("TCP address {address} of {} is also used by {owner}", node.name),
                ));
            }
            tcp.push((address, &node.name));
        }
        if let Some((_, owner)) = udp.iter().find(|(used, _)| *used == node.quic) {
            out.push((
                "cluster.nodes",
                format!("QUIC address {} of {} is also used by {owner}", node.quic, node.name),
            ));
        }
        udp.push((node.quic, &node.name));
    }
    if nodes.len() > 1 {
        let length = cluster.secret.as_ref().map_or(0, String::len);
        if length < SECRET_BYTES_MIN {
            out.push((
                "cluster.secret",
                format!(
                    "a cluster of {} nodes needs a shared secret of at least {SECRET_BYTES_MIN} \
                     bytes (got {length})",
                    nodes.len()
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(count: usize) -> String {
        (0..count)
            .map(|i| {
                format!(
                    "node-{i}=127.0.0.1:{},127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}",
                    8070 + i,
                    8090 + i,
                    8080 + i,
                    3000 + i
                )
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    #[test]
    fn the_one_line_roster_parses_and_bad_rosters_are_refused() {
        let nodes = parse_nodes(&roster(3)).unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[2].name, "node-2");
        assert_eq!(nodes[1].quic.port(), 8081);
        assert_eq!(parse_nodes("").unwrap(), Vec::new());
        assert!(parse_nodes("a=1.2.3.4:1,1.2.3.4:2").is_err());
        assert!(parse_nodes("=1.2.3.4:1,1.2.3.4:2,1.2.3.4:3,1.2.3.4:4").is_err());

        let good = ClusterSection {
            replica: 2,
            secret: Some("0123456789abcdef".into()),
            nodes: nodes.clone(),
        };
        assert!(problems(&good).is_empty(), "{:?}", problems(&good));
        let keys = |section: &ClusterSection| -> Vec<&str> {
            problems(section).into_iter().map(|(key, _)| key).collect()
        };
        let short = ClusterSection { secret: Some("short".into()), ..good.clone() };
        assert_eq!(keys(&short), ["cluster.secret"]);
        let out_of_range = ClusterSection { replica: 3, ..good.clone() };
        assert_eq!(keys(&out_of_range), ["cluster.replica"]);
        let mut twice = good.clone();
        twice.nodes[1].name = "node-0".into();
        twice.nodes[2].replica = twice.nodes[0].replica;
        assert_eq!(keys(&twice), ["cluster.nodes", "cluster.nodes"]);
        let seven = ClusterSection {
            replica: 0,
            secret: good.secret,
            nodes: parse_nodes(&roster(7)).unwrap(),
        };
        assert_eq!(keys(&seven), ["cluster.nodes"]);
        let single = ClusterSection { replica: 0, secret: None, nodes: nodes[..1].to_vec() };
        assert!(problems(&single).is_empty(), "one node needs no secret");
    }
}
