//! [`PartitionMachine`]: the state machine of one partition group. It owns the group's
//! partition logs and stored consumer offsets, and applies committed produces and
//! control ops to them (`apply.rs`). Reads (polls, stats) are served from the same logs
//! by the owner shard between events: only applied data is ever visible.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;

use vireo_consensus::{ApplyContext, RestoreError, StateMachine};
use vireo_protocol::iggy::ErrorCode;
use vireo_storage::Completion;
use vireo_storage::partition::PartitionLog;

use super::key::{OwnerKey, PartitionKey};
use super::logs::{
    LogOpenError, LogSettings, list_directories, log_config, remove_directory, restore_log,
};
use super::op::{CONTROL_OPERATION, SEND_OPERATION, encode_reply};
use super::snapshot::{OffsetEntry, PartitionSnapshot, RegistryEntry};
use super::transfer::{Catchup, TransferStats, marker};
use crate::shard::disk::Disk;

/// Estimated snapshot bytes per partition and per stored offset (plus its name).
const PARTITION_BYTES: u64 = 96;
const OFFSET_BYTES: u64 = 96;

/// One partition's log and how to recreate it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) log: PartitionLog,
    pub(crate) segment_size: u64,
    pub(crate) preallocate: bool,
}

/// The state machine of a partition group.
#[derive(Debug)]
pub struct PartitionMachine {
    pub(crate) group: u32,
    pub(crate) disk: Rc<RefCell<Disk>>,
    pub(crate) data_dir: PathBuf,
    pub(crate) settings: LogSettings,
    pub(crate) partitions: BTreeMap<PartitionKey, Entry>,
    pub(crate) by_namespace: BTreeMap<u32, PartitionKey>,
    pub(crate) offsets: BTreeMap<PartitionKey, BTreeMap<OwnerKey, u64>>,
    /// Snapshot bytes the registry and offsets take (estimate, deterministic).
    pub(crate) state_bytes: u64,
    pub(crate) state_bytes_max: u64,
    /// The registry restored from a snapshot, waiting for [`Self::open_logs`].
    restored: Option<PartitionSnapshot>,
    pub(crate) applied_op: u64,
    /// An environment failure met inside `apply`; the driver stops the node.
    pub(crate) failure: Option<String>,
    /// True once [`Self::open_logs`] ran: a later `restore` is a state transfer.
    opened: bool,
    /// Partition data still to fetch after a state transfer (`transfer`).
    pub(crate) catchup: Option<Catchup>,
    pub(crate) transfer_stats: TransferStats,
    pub(crate) transfer_ticks: u64,
}

impl PartitionMachine {
    /// An empty machine for `group`.
    #[must_use]
    pub fn new(
        group: u32,
        disk: Rc<RefCell<Disk>>,
        data_dir: PathBuf,
        settings: LogSettings,
        state_bytes_max: u64,
    ) -> Self {
        Self {
            group,
            disk,
            data_dir,
            settings,
            partitions: BTreeMap::new(),
            by_namespace: BTreeMap::new(),
            offsets: BTreeMap::new(),
            state_bytes: 0,
            state_bytes_max,
            restored: None,
            applied_op: 0,
            failure: None,
            opened: false,
            catchup: None,
            transfer_stats: TransferStats::default(),
            transfer_ticks: 0,
        }
    }

    /// After the replica opened (and restored the snapshot, if any): brings every log
    /// back to the checkpoint at `checkpoint_op` and wipes directories the checkpoint
    /// does not know, so that replaying the journal rebuilds exactly the applied state.
    /// If the group was catching up when the node stopped (durable marker), logs that
    /// end below the checkpoint are fetched again instead of being reported lost.
    pub fn open_logs(&mut self, checkpoint_op: u64) -> Result<(), LogOpenError> {
        self.opened = true;
        let snapshot = self.restored.take().unwrap_or_default();
        let catching_up = marker::exists(&self.data_dir, self.group);
        let known: BTreeMap<PartitionKey, &RegistryEntry> =
            snapshot.partitions.iter().map(|entry| (entry.key, entry)).collect();
        let on_disk = list_directories(&self.data_dir, self.group)
            .map_err(|message| LogOpenError::Open { key: PartitionKey::default_key(), message })?;
        for key in on_disk {
            if !known.contains_key(&key) {
                tracing::info!(
                    group = self.group,
                    ?key,
                    "wiping partition created after the checkpoint"
                );
                remove_directory(&self.data_dir, &key.directory(self.group))
                    .map_err(|message| LogOpenError::Open { key, message })?;
            }
        }
        let mut targets = BTreeMap::new();
        for entry in &snapshot.partitions {
            if catching_up {
                if self.reopen_catching_up(entry, checkpoint_op, snapshot.applied_op)? {
                    targets.insert(entry.key, entry.next_offset);
                }
                continue;
            }
            let disk = Rc::clone(&self.disk);
            let mut disk = disk.borrow_mut();
            let namespace = disk.allocate_namespace();
            let config = log_config(
                &self.settings,
                self.group,
                &entry.key,
                namespace,
                entry.segment_size,
                entry.preallocate,
                entry.next_offset,
            );
            let log = restore_log(
                &mut disk,
                &self.data_dir,
                entry.key,
                config,
                checkpoint_op,
                entry.next_offset,
            )?;
            self.by_namespace.insert(namespace, entry.key);
            self.partitions.insert(
                entry.key,
                Entry { log, segment_size: entry.segment_size, preallocate: entry.preallocate },
            );
        }
        for offset in snapshot.offsets {
            self.offsets.entry(offset.key).or_default().insert(offset.owner, offset.offset);
        }
        if catching_up {
            tracing::info!(
                group = self.group,
                behind = targets.len(),
                "resuming partition catch-up"
            );
            self.catchup = Some(Catchup::new(snapshot.applied_op, targets));
        }
        self.recount();
        self.check_invariants();
        Ok(())
    }

    /// Opens `entry`'s log at a restart during a catch-up: cut after the checkpoint,
    /// then reconciled like a transferred descriptor. True if it still lacks records.
    fn reopen_catching_up(
        &mut self,
        entry: &RegistryEntry,
        checkpoint_op: u64,
        op_max: u64,
    ) -> Result<bool, LogOpenError> {
        let key = entry.key;
        let open_error = |message: String| LogOpenError::Open { key, message };
        let disk = Rc::clone(&self.disk);
        {
            let mut disk = disk.borrow_mut();
            let namespace = disk.allocate_namespace();
            let config = log_config(
                &self.settings,
                self.group,
                &key,
                namespace,
                entry.segment_size,
                entry.preallocate,
                entry.first_offset,
            );
            let mut log = super::logs::open_log(&mut disk, config).map_err(open_error)?;
            log.truncate_after_op(&mut disk.logs(), checkpoint_op)
                .map_err(|error| open_error(error.to_string()))?;
            if let Some(fault) = log.faults().first() {
                // Fetched records are durable only after the catch-up's final flush: a
                // crash may tear them although their ops are at or below the checkpoint.
                // Cut from the first damaged one; the catch-up fetches the rest again.
                log.truncate_after_op(&mut disk.logs(), fault.op_min.saturating_sub(1))
                    .map_err(|error| open_error(error.to_string()))?;
            }
            self.by_namespace.insert(namespace, key);
            self.partitions.insert(
                key,
                Entry { log, segment_size: entry.segment_size, preallocate: entry.preallocate },
            );
        }
        self.reconcile(entry, op_max).map_err(open_error)
    }

    pub(crate) fn recount(&mut self) {
        let offsets: u64 = self
            .offsets
            .values()
            .flat_map(BTreeMap::keys)
            .map(|owner| OFFSET_BYTES + owner_name_len(owner))
            .sum();
        self.state_bytes = PARTITION_BYTES * self.partitions.len() as u64 + offsets;
    }

    pub(crate) fn offset_cost(owner: &OwnerKey) -> u64 {
        OFFSET_BYTES + owner_name_len(owner)
    }

    pub(crate) fn partition_cost() -> u64 {
        PARTITION_BYTES
    }

    /// True if a completion with this log namespace belongs to this machine.
    #[must_use]
    pub fn owns_namespace(&self, namespace: u32) -> bool {
        self.by_namespace.contains_key(&namespace)
    }

    /// Hands a log completion to its log.
    pub fn on_log_completion(&mut self, namespace: u32, completion: Completion) {
        let Some(key) = self.by_namespace.get(&namespace).copied() else {
            return; // The partition was dropped while its I/O was in flight.
        };
        let entry = self.partitions.get_mut(&key).expect("namespaces map to partitions");
        let disk = Rc::clone(&self.disk);
        let mut disk = disk.borrow_mut();
        if let Err(error) = entry.log.on_io_done(&mut disk.logs(), completion) {
            self.failure.get_or_insert(format!("partition {key:?}: {error}"));
        }
    }

    /// Lets every log submit writes that waited for queue room.
    pub fn pump(&mut self) {
        let disk = Rc::clone(&self.disk);
        let mut disk = disk.borrow_mut();
        for entry in self.partitions.values_mut() {
            entry.log.pump(&mut disk.logs());
        }
    }

    /// Starts flushing every log (before a checkpoint snapshot is written). Returns the
    /// offset each must reach.
    pub fn flush_all(&mut self) -> Result<Vec<(PartitionKey, u64)>, String> {
        let disk = Rc::clone(&self.disk);
        let mut disk = disk.borrow_mut();
        let mut targets = Vec::with_capacity(self.partitions.len());
        for (key, entry) in &mut self.partitions {
            let target = entry
                .log
                .flush(&mut disk.logs())
                .map_err(|error| format!("flush partition {key:?}: {error}"))?;
            targets.push((*key, target));
        }
        Ok(targets)
    }

    /// True once every flush target is durable (dropped partitions count as done).
    #[must_use]
    pub fn flushed(&self, targets: &[(PartitionKey, u64)]) -> bool {
        targets.iter().all(|(key, target)| {
            self.partitions.get(key).is_none_or(|entry| entry.log.durable_next_offset() >= *target)
        })
    }

    /// The failure met inside `apply`, if any.
    pub fn take_failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    /// The partition's log, if it exists yet.
    #[must_use]
    pub fn log(&self, key: &PartitionKey) -> Option<&PartitionLog> {
        self.partitions.get(key).map(|entry| &entry.log)
    }

    /// Every partition with a log.
    pub fn keys(&self) -> impl Iterator<Item = &PartitionKey> {
        self.partitions.keys()
    }

    /// `owner`'s stored offset in the partition.
    #[must_use]
    pub fn stored_offset(&self, key: &PartitionKey, owner: &OwnerKey) -> Option<u64> {
        self.offsets.get(key)?.get(owner).copied()
    }

    /// Asserts the invariants of the registry, the offsets and every log.
    pub fn check_invariants(&self) {
        assert_eq!(self.by_namespace.len(), self.partitions.len(), "one namespace per log");
        for (namespace, key) in &self.by_namespace {
            let entry = self.partitions.get(key).expect("namespace names a partition");
            assert_eq!(entry.log.io_namespace(), *namespace);
            entry.log.check_invariants();
        }
        assert!(self.state_bytes <= self.state_bytes_max, "partition group over budget");
        assert!(self.offsets.values().all(|owners| !owners.is_empty()), "no empty offset maps");
        if let Some(catchup) = &self.catchup {
            for (key, end_offset) in &catchup.targets {
                let log = &self.partitions.get(key).expect("a target has a log").log;
                assert!(log.next_offset() < *end_offset, "a reached target is still listed");
                assert!(log.last_op() <= catchup.checkpoint_op, "fetched past the checkpoint");
            }
            if let Some(in_flight) = catchup.in_flight {
                assert!(catchup.targets.contains_key(&in_flight.key), "request for no target");
            }
        }
    }

    fn encode_snapshot(&self) -> PartitionSnapshot {
        PartitionSnapshot {
            version: 0,
            applied_op: self.applied_op,
            partitions: self
                .partitions
                .iter()
                .map(|(key, entry)| RegistryEntry {
                    key: *key,
                    // A partition still fetching is described by its target (the marker
                    // makes a restart fetch the rest).
                    next_offset: self
                        .catchup
                        .as_ref()
                        .and_then(|catchup| catchup.targets.get(key).copied())
                        .unwrap_or_else(|| entry.log.next_offset()),
                    first_offset: entry.log.first_offset(),
                    segment_size: entry.segment_size,
                    preallocate: entry.preallocate,
                })
                .collect(),
            offsets: self
                .offsets
                .iter()
                .flat_map(|(key, owners)| {
                    owners.iter().map(|(owner, offset)| OffsetEntry {
                        key: *key,
                        owner: owner.clone(),
                        offset: *offset,
                    })
                })
                .collect(),
        }
    }
}

fn owner_name_len(owner: &OwnerKey) -> u64 {
    match owner {
        OwnerKey::ConsumerName(name) => name.len() as u64,
        OwnerKey::ConsumerId(_) | OwnerKey::Group { .. } => 0,
    }
}

impl PartitionKey {
    fn default_key() -> Self {
        Self { stream_id: 0, topic_id: 0, partition_id: 0, incarnation: 0 }
    }
}

impl StateMachine for PartitionMachine {
    fn apply(&mut self, context: &ApplyContext, body: &[u8], reply: &mut Vec<u8>) {
        assert!(!self.syncing(), "group {}: apply while partition data is missing", self.group);
        let mut payload = Vec::new();
        let outcome = match context.operation {
            SEND_OPERATION => self.apply_send(context, body, &mut payload),
            CONTROL_OPERATION => self.apply_control(context, body, &mut payload),
            _ => Err(ErrorCode::INVALID_COMMAND),
        };
        self.applied_op = context.op;
        encode_reply(outcome.map(|()| payload.as_slice()), reply);
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        self.encode_snapshot().encode()
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), RestoreError> {
        let snapshot = PartitionSnapshot::decode(bytes)
            .ok_or(RestoreError { reason: "malformed partition snapshot" })?;
        if self.opened {
            // State transfer on a running replica: the logs are live; reconcile them and
            // fetch what is missing (`transfer`).
            self.install_descriptor(snapshot);
            return Ok(());
        }
        self.applied_op = snapshot.applied_op;
        self.restored = Some(snapshot);
        Ok(())
    }

    fn apply_ready(&self) -> bool {
        !self.syncing()
    }
}
