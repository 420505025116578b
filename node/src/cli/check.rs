//! `vireo server --check`: load and validate the configuration exactly as a start would
//! (file, environment, `--set` and shorthands, every key and relation), then print one
//! line describing the node — without opening the data directory, loading certificates
//! or binding a port. Deploy scripts and CI run it against the real configuration files.

use crate::config::Config;

/// The one-line summary `--check` prints for a valid configuration.
#[must_use]
pub fn summary(config: &Config) -> String {
    let mut parts = vec![
        format!("node {}", config.node.name),
        format!("replica {} of {}", config.cluster.replica, config.cluster.replica_count()),
        format!("data_dir {}", config.node.data_dir.display()),
    ];
    let edges = [
        ("tcp", config.tcp.enabled, config.tcp.address),
        ("quic", config.quic.enabled, config.quic.address),
        ("http", config.http.enabled, config.http.address),
    ];
    for (edge, enabled, address) in edges {
        parts.push(if enabled { format!("{edge}={address}") } else { format!("{edge}=off") });
    }
    if let Some(me) = config.cluster.me() {
        parts.push(format!("replica_bus={}", me.replica));
    }
    parts.push(format!("partition_groups {}", config.consensus.partition_groups));
    format!("vireo: config OK: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_node_its_index_and_addresses() {
        let flags = ["node.name=alpha".to_owned(), "tcp.address=127.0.0.1:9100".to_owned()];
        let config = crate::config::load(None, Vec::new(), &flags).expect("valid");
        let line = summary(&config);
        assert!(line.starts_with("vireo: config OK: node alpha, replica 0 of 1"), "{line}");
        assert!(line.contains("tcp=127.0.0.1:9100"), "{line}");
        assert!(!line.contains('\n'), "one line: {line}");
    }
}
