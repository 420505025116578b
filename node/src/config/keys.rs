//! Every configuration key, once: its dotted name (TOML `[section] key`), its
//! environment variable (`VIREO_SECTION_KEY`), its help text and its parser.

use vireo_consensus::Durability;

use super::Config;
use super::value::{
    ValueError, parse_address, parse_bool, parse_cluster_id, parse_path, parse_size, parse_u32,
    parse_u64,
};

/// One configuration key.
#[derive(Clone, Copy)]
pub struct Key {
    /// Dotted name: `section.key`.
    pub name: &'static str,
    /// One line for `--help` and the docs.
    pub help: &'static str,
    /// Parses `text` into the config.
    pub apply: fn(&mut Config, &str) -> Result<(), ValueError>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Key {
    /// The environment variable that overrides this key.
    #[must_use]
    pub fn env_name(&self) -> String {
        format!("VIREO_{}", self.name.replace('.', "_").to_ascii_uppercase())
    }
}

fn durability(text: &str) -> Result<Durability, ValueError> {
    match text.trim() {
        "replicated" => Ok(Durability::Replicated),
        "persisted" => Ok(Durability::Persisted),
        _ => Err(ValueError { expected: "replicated or persisted", got: text.to_owned() }),
    }
}

fn non_empty(text: &str) -> Result<String, ValueError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ValueError { expected: "a non-empty string", got: text.to_owned() });
    }
    Ok(trimmed.to_owned())
}

macro_rules! key {
    ($name:literal, $help:literal, |$c:ident, $v:ident| $body:expr) => {
        Key {
            name: $name,
            help: $help,
            apply: |$c: &mut Config, $v: &str| {
                $body;
                Ok(())
            },
        }
    };
}

/// The key table.
pub const KEYS: &[Key] = &[
    key!("node.name", "node name reported in cluster metadata", |c, v| c.node.name = non_empty(v)?),
    key!("node.data_dir", "directory holding all node data", |c, v| {
        c.node.data_dir =
            parse_path(v)?.ok_or(ValueError { expected: "a directory path", got: v.to_owned() })?;
    }),
    key!("node.shards", "shard threads; 0 = one per core", |c, v| c.node.shards = parse_u32(v)?),
    key!("node.pin_cores", "pin each shard thread to a core", |c, v| c.node.pin_cores =
        parse_bool(v)?),
    key!(
        "node.force_recover",
        "ACCEPTS DATA LOSS: open replicas that lost unsynced writes as if they had not",
        |c, v| c.node.force_recover = parse_bool(v)?
    ),
    key!("tcp.enabled", "serve the TCP client edge", |c, v| c.tcp.enabled = parse_bool(v)?),
    key!("tcp.address", "TCP listen address", |c, v| c.tcp.address = parse_address(v)?),
    key!("tcp.tls_enabled", "TLS on TCP", |c, v| c.tcp.tls_enabled = parse_bool(v)?),
    key!("tcp.tls_cert_file", "PEM certificate for TCP TLS (empty = self-signed)", |c, v| c
        .tcp
        .tls_cert_file =
        parse_path(v)?),
    key!("tcp.tls_key_file", "PEM key for TCP TLS (empty = self-signed)", |c, v| c
        .tcp
        .tls_key_file =
        parse_path(v)?),
    key!("tcp.connections_max", "most TCP connections per shard", |c, v| c.tcp.connections_max =
        parse_u32(v)?),
    key!("quic.enabled", "serve the QUIC client edge", |c, v| c.quic.enabled = parse_bool(v)?),
    key!("quic.address", "QUIC (UDP) listen address", |c, v| c.quic.address = parse_address(v)?),
    key!("quic.cert_file", "PEM certificate for QUIC (empty = self-signed)", |c, v| c
        .quic
        .cert_file =
        parse_path(v)?),
    key!("quic.key_file", "PEM key for QUIC (empty = self-signed)", |c, v| c.quic.key_file =
        parse_path(v)?),
    key!("quic.idle_timeout_ms", "close idle QUIC connections after this", |c, v| c
        .quic
        .idle_timeout_ms =
        parse_u64(v)?),
    key!("quic.connections_max", "most QUIC connections", |c, v| c.quic.connections_max =
        parse_u32(v)?),
    key!("http.enabled", "serve /ping, /ready and /metrics", |c, v| c.http.enabled =
        parse_bool(v)?),
    key!("http.address", "HTTP listen address", |c, v| c.http.address = parse_address(v)?),
    key!("root.username", "root user name (first start)", |c, v| c.root.username = non_empty(v)?),
    key!("root.password", "root password (first start; empty = generate and print)", |c, v| {
        let trimmed = v.trim();
        c.root.password = (!trimmed.is_empty()).then(|| trimmed.to_owned());
    }),
    key!("consensus.cluster_id", "cluster id (decimal or 0x hex)", |c, v| c.consensus.cluster_id =
        parse_cluster_id(v)?),
    key!("consensus.cluster_name", "cluster name", |c, v| c.consensus.cluster_name = non_empty(v)?),
    key!("consensus.partition_groups", "partition consensus groups (fixed)", |c, v| c
        .consensus
        .partition_groups =
        parse_u32(v)?),
    key!("consensus.tick_ms", "replica tick period", |c, v| c.consensus.tick_ms = parse_u64(v)?),
    key!("consensus.durability", "replicated (quorum ack) or persisted (fsync)", |c, v| c
        .consensus
        .durability =
        durability(v)?),
    key!("consensus.clients_max", "consensus sessions per group", |c, v| c.consensus.clients_max =
        parse_u32(v)?),
    key!("consensus.pipeline_max", "prepares in flight per group", |c, v| c
        .consensus
        .pipeline_max =
        parse_u32(v)?),
    key!("consensus.metadata_journal_slots", "metadata journal slots", |c, v| c
        .consensus
        .metadata_journal_slots =
        parse_u64(v)?),
    key!("consensus.metadata_message_size_max", "largest metadata request", |c, v| c
        .consensus
        .metadata_message_size_max =
        parse_size(v)?),
    key!("consensus.metadata_snapshot_size_max", "largest metadata snapshot", |c, v| c
        .consensus
        .metadata_snapshot_size_max =
        parse_size(v)?),
    key!("consensus.partition_journal_slots", "journal slots per partition group", |c, v| c
        .consensus
        .partition_journal_slots =
        parse_u64(v)?),
    key!("consensus.partition_message_size_max", "largest produce request", |c, v| c
        .consensus
        .partition_message_size_max =
        parse_size(v)?),
    key!("consensus.partition_snapshot_size_max", "largest partition-group snapshot", |c, v| c
        .consensus
        .partition_snapshot_size_max =
        parse_size(v)?),
    key!("consensus.request_timeout_ms", "wait for a commit before answering 57", |c, v| c
        .consensus
        .request_timeout_ms =
        parse_u64(v)?),
    key!("storage.io_queue_depth", "io_uring entries per shard", |c, v| c.storage.io_queue_depth =
        parse_u32(v)?),
    key!("storage.direct_io", "O_DIRECT for data files", |c, v| c.storage.direct_io =
        parse_bool(v)?),
    key!("storage.segment_size", "default segment size of new topics", |c, v| c
        .storage
        .segment_size =
        parse_size(v)?),
    key!("storage.preallocate_segments", "preallocate segment files by default", |c, v| c
        .storage
        .preallocate_segments =
        parse_bool(v)?),
    key!("storage.partition_cache_size", "recent bytes kept in memory per partition", |c, v| c
        .storage
        .partition_cache_size =
        parse_size(v)?),
    key!("cluster.replica", "this node's index in cluster.nodes", |c, v| {
        c.cluster.replica = u8::try_from(parse_u32(v)?)
            .map_err(|_| ValueError { expected: "an index 0..=5", got: v.to_owned() })?;
    }),
    key!("cluster.secret", "shared secret of the replica bus (>= 16 bytes)", |c, v| {
        let trimmed = v.trim();
        c.cluster.secret = (!trimmed.is_empty()).then(|| trimmed.to_owned());
    }),
    key!(
        "cluster.nodes",
        "roster: name=replica,tcp,quic,http;… (TOML: array of tables)",
        |c, v| c.cluster.nodes = super::cluster::parse_nodes(v)?
    ),
    key!("retention.interval_ms", "how often retention runs", |c, v| c.retention.interval_ms =
        parse_u64(v)?),
];

/// The key named `name`.
#[must_use]
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_env_names_follow() {
        for (i, key) in KEYS.iter().enumerate() {
            assert!(KEYS[i + 1..].iter().all(|other| other.name != key.name), "{}", key.name);
            assert_eq!(key.name.split('.').count(), 2, "{}", key.name);
        }
        assert_eq!(find("tcp.address").unwrap().env_name(), "VIREO_TCP_ADDRESS");
        assert_eq!(find("root.password").unwrap().env_name(), "VIREO_ROOT_PASSWORD");
    }
}
