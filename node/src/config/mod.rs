//! The node's configuration: one TOML file, every key overridable by a `VIREO_…`
//! environment variable and by `--set key=value`, validated once at start into a
//! [`Config`] the rest of the node trusts.
//!
//! Layering, lowest to highest: built-in defaults ([`Config::default`], good enough to
//! run with no file: loopback addresses, Iggy's ports), the TOML file, the environment
//! (`tcp.address` is `VIREO_TCP_ADDRESS`), then command-line flags. Every key is listed
//! once in [`keys::KEYS`] with its parser and help text, so the three sources cannot
//! disagree about what a key means. Unknown keys are errors, not silently ignored: a typo
//! in a production config must not fall back to a default.

pub mod cluster;
pub mod keys;
mod load;
pub mod validate;
pub mod value;

use std::net::SocketAddr;
use std::path::PathBuf;

use vireo_consensus::Durability;

pub use cluster::{ClusterNode, ClusterSection};
pub use load::{ConfigError, load};
pub use validate::ValidationError;

/// Identity and threads of this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSection {
    /// Name reported in cluster metadata.
    pub name: String,
    /// Directory holding every file of the node.
    pub data_dir: PathBuf,
    /// Shard threads; 0 = one per available core.
    pub shards: u32,
    /// Pin each shard thread to its own core.
    pub pin_cores: bool,
    /// Operator escape hatch: open replicas that restarted without proof of their
    /// unsynced writes as if those writes survived (accepts losing them). See
    /// `server/evidence.rs`.
    pub force_recover: bool,
}

/// The TCP client edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSection {
    /// Serve TCP at all.
    pub enabled: bool,
    /// Listen address.
    pub address: SocketAddr,
    /// Wrap connections in TLS.
    pub tls_enabled: bool,
    /// PEM certificate chain; empty = the node's self-signed certificate.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key; empty = the node's self-signed key.
    pub tls_key_file: Option<PathBuf>,
    /// Most concurrent connections per shard.
    pub connections_max: u32,
}

/// The QUIC client edge (always TLS 1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicSection {
    /// Serve QUIC at all.
    pub enabled: bool,
    /// Listen address (UDP).
    pub address: SocketAddr,
    /// PEM certificate chain; empty = self-signed, generated into the data directory.
    pub cert_file: Option<PathBuf>,
    /// PEM private key; empty = self-signed.
    pub key_file: Option<PathBuf>,
    /// Connections idle this long are closed.
    pub idle_timeout_ms: u64,
    /// Most concurrent connections.
    pub connections_max: u32,
}

/// The HTTP operations port: `/ping`, `/ready`, `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSection {
    /// Serve HTTP at all.
    pub enabled: bool,
    /// Listen address.
    pub address: SocketAddr,
}

/// The root user created on first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSection {
    /// Its name.
    pub username: String,
    /// Its password; `None` = generate one and print it once.
    pub password: Option<String>,
}

/// Consensus groups and their journals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsensusSection {
    /// Cluster id stamped on every replica message and data file.
    pub cluster_id: u128,
    /// Cluster name reported in cluster metadata.
    pub cluster_name: String,
    /// Partition groups (fixed for the life of the cluster).
    pub partition_groups: u32,
    /// Replica tick period.
    pub tick_ms: u64,
    /// Default durability of every group.
    pub durability: Durability,
    /// Consensus sessions per group (one per connection that used the group).
    pub clients_max: u32,
    /// Prepares in flight per group.
    pub pipeline_max: u32,
    /// Journal slots of the metadata group.
    pub metadata_journal_slots: u64,
    /// Largest metadata request (header included).
    pub metadata_message_size_max: u64,
    /// Largest metadata checkpoint snapshot.
    pub metadata_snapshot_size_max: u64,
    /// Journal slots of each partition group.
    pub partition_journal_slots: u64,
    /// Largest produce request (header included): bounds a batch.
    pub partition_message_size_max: u64,
    /// Largest partition-group checkpoint snapshot.
    pub partition_snapshot_size_max: u64,
    /// How long the edge waits for a committed reply before answering "not committed
    /// yet" (Iggy status 57; the SDK retries).
    pub request_timeout_ms: u64,
}

/// Disk I/O and partition logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSection {
    /// io_uring queue depth per shard.
    pub io_queue_depth: u32,
    /// Open files with O_DIRECT.
    pub direct_io: bool,
    /// Default segment size of new topics.
    pub segment_size: u64,
    /// Preallocate segment files (fallocate) by default.
    pub preallocate_segments: bool,
    /// Recent batches kept in memory per partition.
    pub partition_cache_size: u64,
}

/// Background retention (message expiry, max topic size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSection {
    /// How often the primary proposes retention.
    pub interval_ms: u64,
}

/// The whole, validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[node]`.
    pub node: NodeSection,
    /// `[tcp]`.
    pub tcp: TcpSection,
    /// `[quic]`.
    pub quic: QuicSection,
    /// `[http]`.
    pub http: HttpSection,
    /// `[root]`.
    pub root: RootSection,
    /// `[consensus]`.
    pub consensus: ConsensusSection,
    /// `[storage]`.
    pub storage: StorageSection,
    /// `[retention]`.
    pub retention: RetentionSection,
    /// `[cluster]`.
    pub cluster: ClusterSection,
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl Default for Config {
    /// Defaults that run with no file: loopback only, Iggy's ports (QUIC 8080/udp, TCP
    /// 8090, HTTP 3000), data in `./vireo-data`, journals of ~128–256 MiB per group.
    fn default() -> Self {
        Self {
            node: NodeSection {
                name: "vireo-0".into(),
                data_dir: PathBuf::from("vireo-data"),
                shards: 0,
                pin_cores: true,
                force_recover: false,
            },
            tcp: TcpSection {
                enabled: true,
                address: loopback(8090),
                tls_enabled: false,
                tls_cert_file: None,
                tls_key_file: None,
                connections_max: 10_000,
            },
            quic: QuicSection {
                enabled: true,
                address: loopback(8080),
                cert_file: None,
                key_file: None,
                idle_timeout_ms: 30_000,
                connections_max: 10_000,
            },
            http: HttpSection { enabled: true, address: loopback(3000) },
            root: RootSection { username: "iggy".into(), password: None },
            consensus: ConsensusSection {
                cluster_id: 0x7669_7265_6f00,
                cluster_name: "vireo".into(),
                partition_groups: 4,
                tick_ms: 10,
                durability: Durability::Replicated,
                clients_max: 4096,
                pipeline_max: 16,
                metadata_journal_slots: 256,
                metadata_message_size_max: 256 << 10,
                metadata_snapshot_size_max: 16 << 20,
                partition_journal_slots: 64,
                partition_message_size_max: 2 << 20,
                partition_snapshot_size_max: 8 << 20,
                request_timeout_ms: 10_000,
            },
            storage: StorageSection {
                io_queue_depth: 1024,
                direct_io: true,
                segment_size: 64 << 20,
                preallocate_segments: false,
                partition_cache_size: 8 << 20,
            },
            retention: RetentionSection { interval_ms: 60_000 },
            cluster: ClusterSection::default(),
        }
    }
}

impl Config {
    /// The shard count this configuration runs with on this machine.
    #[must_use]
    pub fn shard_count(&self) -> u32 {
        if self.node.shards > 0 {
            return self.node.shards;
        }
        std::thread::available_parallelism().map_or(1, |cores| {
            u32::try_from(cores.get()).unwrap_or(u32::MAX).min(validate::SHARDS_MAX)
        })
    }
}
