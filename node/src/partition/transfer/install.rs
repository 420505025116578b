//! Installing a transferred descriptor onto the logs this replica has (none, a prefix,
//! or — at a restart during a catch-up — part of the fetched data).
//!
//! Per partition of the descriptor (checkpoint first offset `F`, next offset `N`):
//!
//! * A local log is **kept** if it is a prefix of the checkpoint's log: nothing of an op
//!   above the checkpoint, ends at or below `N`, same segment size, and `F` is one of its
//!   segment bases. Its segments below `F` (deleted by ops up to the checkpoint) are
//!   deleted here, so it holds `[F, next)` with the checkpoint's segment boundaries.
//!   (Every replica builds segments alike from the same ops, so a prefix has the same
//!   boundaries; `F` not being a boundary means a purge restarted the log elsewhere.)
//! * Otherwise it is **wiped** and recreated empty at `F`.
//! * If it ends below `N`, the partition joins the catch-up's targets.
//!
//! Partitions the descriptor does not know are dropped; consumer offsets are replaced.

use std::collections::{BTreeMap, BTreeSet};

use super::super::key::PartitionKey;
use super::super::logs::{log_config, open_log};
use super::super::machine::{Entry, PartitionMachine};
use super::super::snapshot::{PartitionSnapshot, RegistryEntry};
use super::{Catchup, marker};

impl PartitionMachine {
    /// Restores `snapshot` on a running machine (state transfer): makes the marker
    /// durable first, reconciles every log, and starts the catch-up. Environment failures
    /// go to [`PartitionMachine::take_failure`] (the node stops).
    pub(crate) fn install_descriptor(&mut self, snapshot: PartitionSnapshot) {
        let op_max = snapshot.applied_op;
        if let Err(message) = marker::write(&self.data_dir, self.group) {
            self.fail(format!("catch-up marker: {message}"));
            return;
        }
        let known: BTreeSet<PartitionKey> =
            snapshot.partitions.iter().map(|entry| entry.key).collect();
        let stale: Vec<PartitionKey> =
            self.partitions.keys().filter(|key| !known.contains(key)).copied().collect();
        for key in stale {
            self.drop_partition(key);
        }
        let mut targets = BTreeMap::new();
        for entry in &snapshot.partitions {
            match self.reconcile(entry, op_max) {
                Ok(true) => {
                    targets.insert(entry.key, entry.next_offset);
                }
                Ok(false) => {}
                Err(message) => {
                    self.fail(message);
                    return;
                }
            }
        }
        self.offsets.clear();
        for offset in snapshot.offsets {
            self.offsets.entry(offset.key).or_default().insert(offset.owner, offset.offset);
        }
        self.applied_op = snapshot.applied_op;
        self.recount();
        tracing::info!(
            group = self.group,
            checkpoint_op = op_max,
            partitions = snapshot.partitions.len(),
            behind = targets.len(),
            "state transfer installed; fetching partition data"
        );
        self.catchup = Some(Catchup::new(op_max, targets));
        self.check_invariants();
    }

    /// Brings the local log of `entry.key` (if any) to a prefix of the checkpoint's log,
    /// creating it if needed. Returns true if it still lacks records below `next_offset`.
    pub(crate) fn reconcile(&mut self, entry: &RegistryEntry, op_max: u64) -> Result<bool, String> {
        let key = entry.key;
        if self.partitions.contains_key(&key) {
            if self.quiesce(key).is_err() {
                return Err(format!("partition {key:?}: never became quiet"));
            }
            let local = &self.partitions[&key];
            let segments = local.log.segments();
            let keep = local.log.last_op() <= op_max
                && local.log.next_offset() <= entry.next_offset
                && local.segment_size == entry.segment_size
                && segments.iter().any(|segment| segment.base_offset == entry.first_offset);
            if keep {
                let below =
                    segments.iter().filter(|segment| segment.base_offset < entry.first_offset);
                let count = below.count();
                if count > 0 {
                    let disk = std::rc::Rc::clone(&self.disk);
                    let mut disk = disk.borrow_mut();
                    let log = &mut self.partitions.get_mut(&key).expect("checked").log;
                    log.delete_segments(&mut disk.logs(), count)
                        .map_err(|error| format!("partition {key:?}: {error}"))?;
                    assert_eq!(log.first_offset(), entry.first_offset, "trimmed to the checkpoint");
                }
            } else {
                tracing::info!(
                    group = self.group,
                    ?key,
                    "local log does not prefix the checkpoint's: wiped"
                );
                self.drop_partition(key);
                if let Some(message) = self.failure.clone() {
                    return Err(message);
                }
            }
        }
        if !self.partitions.contains_key(&key) {
            self.create_log(entry)?;
        }
        Ok(self.partitions[&key].log.next_offset() < entry.next_offset)
    }

    /// An empty log for `entry` starting at the checkpoint's first offset.
    fn create_log(&mut self, entry: &RegistryEntry) -> Result<(), String> {
        let disk = std::rc::Rc::clone(&self.disk);
        let mut disk = disk.borrow_mut();
        let namespace = disk.allocate_namespace();
        let config = log_config(
            &self.settings,
            self.group,
            &entry.key,
            namespace,
            entry.segment_size,
            entry.preallocate,
            entry.first_offset,
        );
        config.validate().map_err(|error| format!("partition {:?}: {error}", entry.key))?;
        let log = open_log(&mut disk, config)
            .map_err(|message| format!("open partition {:?}: {message}", entry.key))?;
        assert_eq!(log.first_offset(), entry.first_offset, "a fresh log starts where asked");
        self.by_namespace.insert(namespace, entry.key);
        self.partitions.insert(
            entry.key,
            Entry { log, segment_size: entry.segment_size, preallocate: entry.preallocate },
        );
        Ok(())
    }
}
