//! Checks of every value and every relation between values, run once at start.
//! Also derives what the node builds from the configuration (replica configs, journal
//! layouts), so the checks and the running node use the same numbers.

use vireo_consensus::{PIPELINE_MAX, ReplicaConfig, Timeouts};
use vireo_protocol::vsr::{HEADER_SIZE, MESSAGE_SIZE_MAX_LIMIT};
use vireo_storage::journal::JournalLayout;

use super::Config;

/// Most shard threads.
pub const SHARDS_MAX: u32 = 64;
/// Most partition groups.
pub const PARTITION_GROUPS_MAX: u32 = 1024;
/// Bytes the client table needs per session beyond its reply body (id, session,
/// request, length prefix, reply header).
const CLIENT_ENTRY_BYTES: u64 = 16 + 8 + 8 + 4 + HEADER_SIZE as u64;
/// Largest reply body a state machine caches per session (replies are compact: see
/// `metadata/reply.rs` and `partition/op.rs`).
pub const REPLY_BODY_MAX: u64 = 64;
/// io_uring entries reserved for one group's journal (pipeline writes, header sectors,
/// superblock copies, syncs, snapshot, repair reads).
pub const JOURNAL_IO_RESERVE: u32 = 128;

/// A relation between values that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ValidationError {
    /// The key to change.
    pub key: &'static str,
    /// Why.
    pub message: String,
}

fn check(errors: &mut Vec<ValidationError>, ok: bool, key: &'static str, message: String) {
    if !ok {
        errors.push(ValidationError { key, message });
    }
}

/// Every problem with `config`, empty when it is usable.
pub fn validate(config: &Config) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    let c = &config.consensus;
    let e = &mut errors;
    check(e, config.node.shards <= SHARDS_MAX, "node.shards", format!("at most {SHARDS_MAX}"));
    check(
        e,
        (1..=PARTITION_GROUPS_MAX).contains(&c.partition_groups),
        "consensus.partition_groups",
        format!("must be 1..={PARTITION_GROUPS_MAX}"),
    );
    check(e, (1..=1000).contains(&c.tick_ms), "consensus.tick_ms", "must be 1..=1000".into());
    check(
        e,
        c.pipeline_max >= 1 && (c.pipeline_max as usize) <= PIPELINE_MAX,
        "consensus.pipeline_max",
        format!("must be 1..={PIPELINE_MAX}"),
    );
    for (key, slots) in [
        ("consensus.metadata_journal_slots", c.metadata_journal_slots),
        ("consensus.partition_journal_slots", c.partition_journal_slots),
    ] {
        check(
            e,
            slots >= 4 * u64::from(c.pipeline_max) && slots <= 1 << 20,
            key,
            format!("must be 4 × pipeline_max ({}) ..= 2^20", 4 * c.pipeline_max),
        );
    }
    for (key, size) in [
        ("consensus.metadata_message_size_max", c.metadata_message_size_max),
        ("consensus.partition_message_size_max", c.partition_message_size_max),
    ] {
        let min = (HEADER_SIZE + 1024) as u64;
        check(
            e,
            (min..=MESSAGE_SIZE_MAX_LIMIT as u64).contains(&size),
            key,
            format!("must be {min}..={MESSAGE_SIZE_MAX_LIMIT} bytes"),
        );
    }
    let table = u64::from(c.clients_max) * (CLIENT_ENTRY_BYTES + REPLY_BODY_MAX);
    for (key, size) in [
        ("consensus.metadata_snapshot_size_max", c.metadata_snapshot_size_max),
        ("consensus.partition_snapshot_size_max", c.partition_snapshot_size_max),
    ] {
        check(
            e,
            size >= 2 * table + (1 << 20) && size <= 1 << 30,
            key,
            format!(
                "must hold twice the client table ({table} bytes for {} sessions) plus 1 MiB, \
                 and be at most 1 GiB",
                c.clients_max
            ),
        );
    }
    check(e, c.clients_max >= 16, "consensus.clients_max", "must be at least 16".into());
    check(
        e,
        c.request_timeout_ms >= 100,
        "consensus.request_timeout_ms",
        "must be at least 100".into(),
    );
    check(e, c.cluster_name.len() <= 255, "consensus.cluster_name", "at most 255 bytes".into());
    validate_storage(config, e);
    validate_edges(config, e);
    for (key, message) in super::cluster::problems(&config.cluster) {
        e.push(ValidationError { key, message });
    }
    for group in [0, 1] {
        if let Err(error) = config.replica_config(group).validate() {
            e.push(ValidationError { key: "consensus", message: error.to_string() });
        }
    }
    errors
}

fn validate_storage(config: &Config, e: &mut Vec<ValidationError>) {
    let s = &config.storage;
    let segment = vireo_protocol::iggy::topic_options::is_valid_segment_size(s.segment_size);
    check(
        e,
        segment && s.segment_size > config.consensus.partition_message_size_max + 64,
        "storage.segment_size",
        "must be 1 MiB..=1 GiB, a multiple of 512, and larger than \
         consensus.partition_message_size_max"
            .into(),
    );
    let groups_per_shard = config.consensus.partition_groups.div_ceil(config.shard_count()) + 1;
    let reserve = groups_per_shard * JOURNAL_IO_RESERVE;
    check(
        e,
        s.io_queue_depth >= reserve + 64 && s.io_queue_depth <= 4096,
        "storage.io_queue_depth",
        format!("must be {}..=4096 for {groups_per_shard} groups per shard", reserve + 64),
    );
    check(
        e,
        s.partition_cache_size >= 1 << 20,
        "storage.partition_cache_size",
        "must be at least 1 MiB".into(),
    );
    check(
        e,
        config.retention.interval_ms >= 100,
        "retention.interval_ms",
        "must be at least 100".into(),
    );
}

fn validate_edges(config: &Config, e: &mut Vec<ValidationError>) {
    let tls_files = (config.tcp.tls_cert_file.is_some(), config.tcp.tls_key_file.is_some());
    check(
        e,
        tls_files.0 == tls_files.1,
        "tcp.tls_cert_file",
        "set both tls_cert_file and tls_key_file, or neither".into(),
    );
    let quic_files = (config.quic.cert_file.is_some(), config.quic.key_file.is_some());
    check(
        e,
        quic_files.0 == quic_files.1,
        "quic.cert_file",
        "set both cert_file and key_file, or neither".into(),
    );
    let tcp = config.tcp.enabled.then_some(config.tcp.address);
    let http = config.http.enabled.then_some(config.http.address);
    check(
        e,
        tcp.is_none() || http.is_none() || tcp != http,
        "http.address",
        "must differ from tcp.address".into(),
    );
    check(
        e,
        config.tcp.enabled || config.quic.enabled,
        "tcp.enabled",
        "at least one of tcp and quic must be enabled".into(),
    );
    let name = config.root.username.len();
    check(e, (3..=50).contains(&name), "root.username", "must be 3..=50 bytes".into());
    if let Some(password) = &config.root.password {
        check(
            e,
            (3..=100).contains(&password.len()),
            "root.password",
            "must be 3..=100 bytes".into(),
        );
    }
    check(
        e,
        config.quic.idle_timeout_ms >= 1000,
        "quic.idle_timeout_ms",
        "must be at least 1000".into(),
    );
}

impl Config {
    /// The replica configuration of `group`: this node's index and the replica count
    /// come from the `[cluster]` roster (a cluster of one without it).
    #[must_use]
    pub fn replica_config(&self, group: u32) -> ReplicaConfig {
        let c = &self.consensus;
        let (slots, message_size_max, snapshot_size_max) = if group == 0 {
            (c.metadata_journal_slots, c.metadata_message_size_max, c.metadata_snapshot_size_max)
        } else {
            (c.partition_journal_slots, c.partition_message_size_max, c.partition_snapshot_size_max)
        };
        ReplicaConfig {
            cluster: c.cluster_id,
            group,
            replica_count: self.cluster.replica_count(),
            replica: self.cluster.replica,
            journal_slot_count: slots,
            pipeline_prepare_queue_max: c.pipeline_max as usize,
            request_queue_max: (c.clients_max as usize).min(1024),
            message_size_max: usize::try_from(message_size_max).unwrap_or(usize::MAX),
            clients_max: c.clients_max as usize,
            checkpoint_interval_ops: slots / 2,
            snapshot_size_max: usize::try_from(snapshot_size_max).unwrap_or(usize::MAX),
            durability: c.durability,
            timeouts: Timeouts::default(),
        }
    }

    /// The journal layout of `group`'s data file.
    #[must_use]
    pub fn journal_layout(&self, group: u32) -> JournalLayout {
        let replica = self.replica_config(group);
        JournalLayout::new(
            replica.journal_slot_count,
            replica.message_size_max,
            replica.snapshot_size_max,
        )
    }

    /// Bytes the state machine of `group` may use in its snapshot: what is left after
    /// the client table at its largest (half the snapshot, by validation).
    #[must_use]
    pub fn state_bytes_max(&self, group: u32) -> u64 {
        let replica = self.replica_config(group);
        replica.snapshot_size_max as u64 / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_relations_are_checked() {
        let config = Config::default();
        assert_eq!(validate(&config), Vec::new());
        let layout = config.journal_layout(1);
        assert!(layout.total_size_bytes() <= 256 << 20, "{}", layout.total_size_bytes());
        assert!(config.journal_layout(0).total_size_bytes() <= 256 << 20);

        let mut bad = Config::default();
        bad.consensus.pipeline_max = 100;
        bad.consensus.partition_snapshot_size_max = 1024;
        bad.storage.segment_size = 1000;
        bad.tcp.tls_cert_file = Some("cert.pem".into());
        let keys: Vec<&str> = validate(&bad).iter().map(|error| error.key).collect();
        for key in [
            "consensus.pipeline_max",
            "consensus.partition_snapshot_size_max",
            "storage.segment_size",
            "tcp.tls_cert_file",
        ] {
            assert!(keys.contains(&key), "{key} not reported: {keys:?}");
        }
    }
}
