//! The end-of-run summary: knobs, work done, faults injected by kind, stalls.

use crate::checker::Violation;
use crate::network::NetworkFaults;
use crate::partition_logs::LogStats;
use crate::sim_storage::StorageFaults;

/// Replica-level faults injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeFaults {
    /// Process crashes (completed writes kept).
    pub crashes: u64,
    /// Power losses of one replica (unsynced writes lost).
    pub power_losses: u64,
    /// Whole-cluster power losses.
    pub cluster_power_losses: u64,
    /// Restarts.
    pub restarts: u64,
    /// Pauses.
    pub pauses: u64,
    /// Clients whose clock is skewed (their timestamps stamp requests).
    pub clock_skews: u64,
    /// Graceful handovers (the primary abdicated, as on SIGTERM).
    pub abdications: u64,
}

/// A failure recorded mid-run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A checker failed.
    Correctness(Violation),
}

/// Counters of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Ticks simulated.
    pub ticks: u64,
    /// Ops in the committed history.
    pub ops_committed: u64,
    /// Checksum of the committed history's head.
    pub history_checksum: u128,
    /// Client requests (first attempts).
    pub requests: u64,
    /// Client retries.
    pub retries: u64,
    /// Replies clients accepted.
    pub acknowledged: u64,
    /// Evictions clients saw.
    pub evictions_seen: u64,
    /// View changes (summed over replicas).
    pub view_changes: u64,
    /// Highest view reached.
    pub view_max: u32,
    /// Prepares repaired.
    pub prepares_repaired: u64,
    /// Headers repaired.
    pub headers_repaired: u64,
    /// State transfers.
    pub syncs: u64,
    /// Checkpoints.
    pub checkpoints: u64,
    /// Packets delivered.
    pub delivered: u64,
    /// Network faults.
    pub network_faults: NetworkFaults,
    /// Storage faults.
    pub storage_faults: StorageFaults,
    /// Replica faults.
    pub node_faults: NodeFaults,
    /// What the partition logs did, and what the checker verified.
    pub partition_logs: LogStats,
    /// Crash effects on the data disks (torn writes, lost unsynced sectors).
    pub data_disk_faults: StorageFaults,
    /// Longest stretch without a new commit, in ticks.
    pub longest_stall_ticks: u64,
    /// Ticks from heal to convergence.
    pub heal_to_convergence_ticks: u64,
    /// A failure noted mid-run.
    pub failure: Option<Failure>,
}

impl Summary {
    /// Adds another run's work and fault counts (swarm totals); maxima for stalls.
    pub fn accumulate(&mut self, other: &Self) {
        self.ticks += other.ticks;
        self.ops_committed += other.ops_committed;
        self.requests += other.requests;
        self.retries += other.retries;
        self.acknowledged += other.acknowledged;
        self.evictions_seen += other.evictions_seen;
        self.view_changes += other.view_changes;
        self.view_max = self.view_max.max(other.view_max);
        self.prepares_repaired += other.prepares_repaired;
        self.headers_repaired += other.headers_repaired;
        self.syncs += other.syncs;
        self.checkpoints += other.checkpoints;
        self.delivered += other.delivered;
        let (n, o) = (&mut self.network_faults, &other.network_faults);
        n.drops += o.drops;
        n.duplicates += o.duplicates;
        n.overflows += o.overflows;
        n.partition_drops += o.partition_drops;
        n.clogs += o.clogs;
        n.partitions_isolate += o.partitions_isolate;
        n.partitions_halves += o.partitions_halves;
        n.partitions_asymmetric += o.partitions_asymmetric;
        self.storage_faults.add(&other.storage_faults);
        self.partition_logs.add(&other.partition_logs);
        self.data_disk_faults.add(&other.data_disk_faults);
        let (d, o) = (&mut self.node_faults, &other.node_faults);
        d.crashes += o.crashes;
        d.power_losses += o.power_losses;
        d.cluster_power_losses += o.cluster_power_losses;
        d.restarts += o.restarts;
        d.pauses += o.pauses;
        d.clock_skews += o.clock_skews;
        d.abdications += o.abdications;
        self.longest_stall_ticks = self.longest_stall_ticks.max(other.longest_stall_ticks);
        self.heal_to_convergence_ticks =
            self.heal_to_convergence_ticks.max(other.heal_to_convergence_ticks);
    }

    /// Human-readable lines.
    #[must_use]
    pub fn describe(&self) -> String {
        let n = &self.network_faults;
        let s = &self.storage_faults;
        let d = &self.node_faults;
        let l = &self.partition_logs;
        format!(
            "ticks={} ops_committed={} acknowledged={} requests={} retries={} evictions={} history={:032x}\n\
             view_changes={} view_max={} prepares_repaired={} headers_repaired={} state_syncs={} checkpoints={} \
             delivered={}\n\
             faults: network drops={} duplicates={} overflows={} partition_drops={} clogs={} \
             partitions(isolate={} halves={} one_way={})\n\
             faults: storage write_corrupt={} read_corrupt={} misdirect={} latent={} torn_writes={} lost_sectors={}\n\
             faults: nodes crashes={} power_losses={} cluster_power_losses={} restarts={} pauses={} clock_skews={} abdications={}\n\
             partition logs: appends={} checkpoint_flushes={} opens={} torn_tails_cut={} recovery_faults={} \
             index_repairs={} records_truncated={} sync_resets={} records_fetched={} catchups_completed={} \
             restart_resets={} backpressure_waits={} \
             data_disk(torn_writes={} lost_sectors={})\n\
             partition-log checks: checks={} batches_verified={} disk_reads={}\n\
             longest_stall_ticks={} heal_to_convergence_ticks={}",
            self.ticks,
            self.ops_committed,
            self.acknowledged,
            self.requests,
            self.retries,
            self.evictions_seen,
            self.history_checksum,
            self.view_changes,
            self.view_max,
            self.prepares_repaired,
            self.headers_repaired,
            self.syncs,
            self.checkpoints,
            self.delivered,
            n.drops,
            n.duplicates,
            n.overflows,
            n.partition_drops,
            n.clogs,
            n.partitions_isolate,
            n.partitions_halves,
            n.partitions_asymmetric,
            s.write_corruptions,
            s.read_corruptions,
            s.misdirects,
            s.latent_errors,
            s.torn_writes,
            s.lost_sectors,
            d.crashes,
            d.power_losses,
            d.cluster_power_losses,
            d.restarts,
            d.pauses,
            d.clock_skews,
            d.abdications,
            l.appends,
            l.checkpoint_flushes,
            l.opens,
            l.torn_tails_cut,
            l.recovery_faults,
            l.index_repairs,
            l.records_truncated,
            l.sync_resets,
            l.records_fetched,
            l.catchups_completed,
            l.restart_resets,
            l.backpressure_waits,
            self.data_disk_faults.torn_writes,
            self.data_disk_faults.lost_sectors,
            l.checks,
            l.batches_verified,
            l.disk_reads,
            self.longest_stall_ticks,
            self.heal_to_convergence_ticks,
        )
    }
}
