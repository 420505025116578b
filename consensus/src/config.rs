//! Replica configuration: validated once, then trusted.

use vireo_protocol::vsr::{HEADER_SIZE, MESSAGE_SIZE_MAX_LIMIT};
use vireo_storage::journal::JournalLayout;
use vireo_storage::superblock::VIEW_HEADERS_MAX;

/// Most replicas a cluster may have (voters).
pub const REPLICAS_MAX: u8 = 6;

/// The largest pipeline of uncommitted prepares. A do_view_change carries two pipelines of
/// headers plus an anchor (see `build_do_view_change`), and the superblock keeps the view's
/// suffix (a pipeline plus the op below it); both fit `VIEW_HEADERS_MAX`.
pub const PIPELINE_MAX: usize = (VIEW_HEADERS_MAX - 1) / 2;

/// How a prepare becomes durable before a replica acknowledges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// prepare_ok once the journal *write* completes, without fsync: a replication
    /// quorum's acknowledgement is the durability boundary (Iggy's `replicated`).
    Replicated,
    /// prepare_ok only after the journal is synced: acknowledged = on a quorum's disks
    /// (Iggy's `persisted`).
    Persisted,
}

/// Timeouts, in ticks. The node ticks every 10 ms; the simulator ticks in virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Replicas ping each other (view discovery, liveness).
    pub ping_ticks: u64,
    /// The primary resends prepares still missing prepare_oks.
    pub prepare_ticks: u64,
    /// The primary's heartbeat (`Commit`) period.
    pub commit_message_ticks: u64,
    /// A backup that hears nothing from its primary this long votes to leave the view.
    pub normal_heartbeat_ticks: u64,
    /// Resend view-change messages while in view-change status.
    pub view_change_message_ticks: u64,
    /// A view change that has not completed this long moves on to the next view.
    pub view_change_status_ticks: u64,
    /// Ask peers for missing headers and prepares.
    pub repair_ticks: u64,
    /// Resend a request for the current view (after a restart or on seeing a higher view).
    pub request_start_view_ticks: u64,
    /// A primary that hears from fewer than a quorum of backups this long stops
    /// heartbeating, so that the backups depose it.
    pub primary_abdicate_ticks: u64,
    /// Background journal sync period (`Replicated` durability).
    pub journal_sync_ticks: u64,
    /// Resend state-transfer chunk requests.
    pub sync_ticks: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            ping_ticks: 50,
            prepare_ticks: 10,
            commit_message_ticks: 5,
            normal_heartbeat_ticks: 25,
            view_change_message_ticks: 10,
            view_change_status_ticks: 50,
            repair_ticks: 5,
            request_start_view_ticks: 20,
            primary_abdicate_ticks: 50,
            journal_sync_ticks: 10,
            sync_ticks: 10,
        }
    }
}

/// Everything a replica needs to know about itself and its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaConfig {
    /// Cluster id: messages of other clusters are dropped.
    pub cluster: u128,
    /// Consensus group (0 = metadata).
    pub group: u32,
    /// Number of replicas (1..=6).
    pub replica_count: u8,
    /// This replica's index.
    pub replica: u8,
    /// Slots in the journal ring.
    pub journal_slot_count: u64,
    /// Most prepares in flight at the primary.
    pub pipeline_prepare_queue_max: usize,
    /// Most client requests queued behind a full pipeline.
    pub request_queue_max: usize,
    /// Largest message (header + body) in bytes.
    pub message_size_max: usize,
    /// Most client sessions; registering one more evicts the least recently used.
    pub clients_max: usize,
    /// Ops between checkpoints.
    pub checkpoint_interval_ops: u64,
    /// Largest checkpoint snapshot (state machine + client table) in bytes.
    pub snapshot_size_max: usize,
    /// Default durability for prepares that do not ask for `persisted` themselves.
    pub durability: Durability,
    /// Timeouts.
    pub timeouts: Timeouts,
}

/// A configuration value that cannot work, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// replica_count out of 1..=6.
    #[error("replica_count must be 1..={REPLICAS_MAX}, got {0}")]
    ReplicaCount(u8),
    /// replica index not below replica_count.
    #[error("replica index {replica} must be below replica_count {replica_count}")]
    ReplicaIndex {
        /// Index given.
        replica: u8,
        /// Count given.
        replica_count: u8,
    },
    /// Pipeline too small or too large for the superblock's view headers.
    #[error("pipeline_prepare_queue_max must be 1..={max}, got {got}")]
    Pipeline {
        /// Value given.
        got: usize,
        /// Bound.
        max: usize,
    },
    /// Journal too small for the pipeline and checkpoint interval.
    #[error(
        "journal_slot_count {slots} must be at least checkpoint_interval_ops {interval} + 2 × pipeline {pipeline}"
    )]
    Journal {
        /// Slots given.
        slots: u64,
        /// Interval given.
        interval: u64,
        /// Pipeline given.
        pipeline: usize,
    },
    /// Message size outside [header + 1 KiB, 64 MiB].
    #[error("message_size_max must be {min}..={max} bytes, got {got}")]
    MessageSize {
        /// Value given.
        got: usize,
        /// Lower bound.
        min: usize,
        /// Upper bound.
        max: usize,
    },
    /// A zero where at least one is needed.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
}

impl ReplicaConfig {
    /// The journal file's layout for this configuration: every driver (node, simulator,
    /// tests) must agree on it, so it is derived here once.
    #[must_use]
    pub fn journal_layout(&self) -> JournalLayout {
        JournalLayout::new(self.journal_slot_count, self.message_size_max, self.snapshot_size_max)
    }

    /// A small configuration for tests and the simulator: 3 replicas, 32 slots, pipeline 4.
    #[must_use]
    pub fn test(replica: u8, replica_count: u8) -> Self {
        Self {
            cluster: 0x5eed,
            group: 0,
            replica_count,
            replica,
            journal_slot_count: 32,
            pipeline_prepare_queue_max: 4,
            request_queue_max: 8,
            message_size_max: 4096,
            clients_max: 8,
            checkpoint_interval_ops: 16,
            snapshot_size_max: 64 * 1024,
            durability: Durability::Replicated,
            timeouts: Timeouts::default(),
        }
    }

    /// Checks every value and every relation between values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.replica_count == 0 || self.replica_count > REPLICAS_MAX {
            return Err(ConfigError::ReplicaCount(self.replica_count));
        }
        if self.replica >= self.replica_count {
            return Err(ConfigError::ReplicaIndex {
                replica: self.replica,
                replica_count: self.replica_count,
            });
        }
        let pipeline_max = PIPELINE_MAX;
        if self.pipeline_prepare_queue_max == 0 || self.pipeline_prepare_queue_max > pipeline_max {
            return Err(ConfigError::Pipeline {
                got: self.pipeline_prepare_queue_max,
                max: pipeline_max,
            });
        }
        if self.checkpoint_interval_ops == 0 {
            return Err(ConfigError::Zero("checkpoint_interval_ops"));
        }
        let needed = self.checkpoint_interval_ops + 2 * self.pipeline_prepare_queue_max as u64;
        if self.journal_slot_count < needed {
            return Err(ConfigError::Journal {
                slots: self.journal_slot_count,
                interval: self.checkpoint_interval_ops,
                pipeline: self.pipeline_prepare_queue_max,
            });
        }
        let min = HEADER_SIZE + 1024;
        if self.message_size_max < min || self.message_size_max > MESSAGE_SIZE_MAX_LIMIT {
            return Err(ConfigError::MessageSize {
                got: self.message_size_max,
                min,
                max: MESSAGE_SIZE_MAX_LIMIT,
            });
        }
        for (name, value) in [
            ("clients_max", self.clients_max),
            ("request_queue_max", self.request_queue_max),
            ("snapshot_size_max", self.snapshot_size_max),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        Ok(())
    }

    /// Replicas that must hold a prepare before it commits (the primary included).
    /// ⌈n/2⌉, but both replicas of a pair: flexible quorums as in TigerBeetle.
    #[must_use]
    pub fn quorum_replication(&self) -> usize {
        let n = usize::from(self.replica_count);
        if n == 2 { 2 } else { n.div_ceil(2) }
    }

    /// Replicas that must agree to change view: intersects every replication quorum.
    #[must_use]
    pub fn quorum_view_change(&self) -> usize {
        // n − replication + 1 intersects every replication quorum; a pair needs both
        // replicas (a lone replica of two must never start a view by itself).
        let n = usize::from(self.replica_count);
        if n == 2 { 2 } else { n - self.quorum_replication() + 1 }
    }

    /// Replicas that must positively deny an op before a new primary discards it: with
    /// this many nacks, fewer than a replication quorum can hold it, so it never committed.
    #[must_use]
    pub fn quorum_nack(&self) -> usize {
        usize::from(self.replica_count) - self.quorum_replication() + 1
    }

    /// The primary of `view`: deterministic, round-robin.
    #[must_use]
    pub fn primary_index(&self, view: u32) -> u8 {
        u8::try_from(view % u32::from(self.replica_count)).expect("replica_count ≤ 6")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorums_intersect() {
        for n in 1..=REPLICAS_MAX {
            let config = ReplicaConfig::test(0, n);
            let replication = config.quorum_replication();
            let view_change = config.quorum_view_change();
            assert!(replication + view_change > usize::from(n), "n={n}");
            assert!(replication <= usize::from(n) && view_change <= usize::from(n));
        }
        let three = ReplicaConfig::test(0, 3);
        assert_eq!((three.quorum_replication(), three.quorum_view_change()), (2, 2));
        let two = ReplicaConfig::test(0, 2);
        assert_eq!(
            (two.quorum_replication(), two.quorum_view_change(), two.quorum_nack()),
            (2, 2, 1)
        );
        let four = ReplicaConfig::test(0, 4);
        assert_eq!((four.quorum_replication(), four.quorum_view_change()), (2, 3));
    }

    #[test]
    fn validate_rejects_bad_values() {
        assert_eq!(ReplicaConfig::test(0, 3).validate(), Ok(()));
        assert_eq!(ReplicaConfig::test(0, 7).validate(), Err(ConfigError::ReplicaCount(7)));
        assert!(ReplicaConfig::test(3, 3).validate().is_err());
        let mut config = ReplicaConfig::test(0, 3);
        config.journal_slot_count = 20;
        assert!(matches!(config.validate(), Err(ConfigError::Journal { .. })));
        let mut config = ReplicaConfig::test(0, 3);
        config.pipeline_prepare_queue_max = 0;
        assert!(matches!(config.validate(), Err(ConfigError::Pipeline { .. })));
    }
}
