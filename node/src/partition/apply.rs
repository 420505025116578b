//! Applying committed partition-group ops. Deterministic: offsets come from the log
//! (itself a function of the applied ops), times from the op's timestamp. Operations that
//! depend on which segments are sealed and written (retention, delete_segments, purge,
//! drop) first wait for the log to be quiet, so every replica sees the same segments.
//!
//! `apply` cannot wait: when an append meets backpressure, or an op needs a quiet log,
//! the machine drains the shard's io_uring synchronously and parks other owners'
//! completions for the shard ([`Disk::defer`]). That blocks the shard for the time the
//! disk needs, which is what backpressure means.

use std::rc::Rc;

use bytes::Bytes;
use vireo_consensus::ApplyContext;
use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::batch::{Batch, stamp};
use vireo_protocol::iggy::reply::{SendConfirmation, encode_send_confirmations};
use vireo_storage::partition::{BatchMeta, LogError, RetentionPolicy};

use super::key::PartitionKey;
use super::logs::{delete_log, log_config, open_log, remove_directory};
use super::machine::{Entry, PartitionMachine};
use super::op::{PartitionControl, SendPrefix};
use crate::shard::disk::{TokenOwner, owner};

/// Bound on synchronous drain rounds for one op (each waits for ≥ 1 completion).
const DRAIN_ROUNDS_MAX: usize = 1 << 20;

impl PartitionMachine {
    pub(crate) fn apply_send(
        &mut self,
        context: &ApplyContext,
        body: &[u8],
        payload: &mut Vec<u8>,
    ) -> Result<(), ErrorCode> {
        let (prefix, batch) = SendPrefix::decode(body).ok_or(ErrorCode::INVALID_FORMAT)?;
        let view = Batch::parse(batch).map_err(|_| ErrorCode::INVALID_FORMAT)?;
        let message_count = view.message_count();
        if message_count == 0 {
            return Err(ErrorCode::INVALID_MESSAGES_COUNT);
        }
        self.ensure_log(&prefix)?;
        let key = prefix.key;
        let base_offset = self.partitions[&key].log.next_offset();
        let mut stamped = batch.to_vec();
        stamp(&mut stamped, u64::from(key.partition_id), base_offset, context.timestamp)
            .map_err(|_| ErrorCode::INVALID_FORMAT)?;
        let meta = BatchMeta {
            base_offset,
            message_count,
            base_timestamp_us: context.timestamp,
            max_timestamp_us: context.timestamp,
        };
        self.append(key, context.op, meta, &Bytes::from(stamped))?;
        let confirmation = SendConfirmation {
            stream_id: key.stream_id,
            topic_id: key.topic_id,
            partition_id: key.partition_id,
            base_offset,
        };
        encode_send_confirmations(&[confirmation], payload);
        Ok(())
    }

    pub(crate) fn apply_control(
        &mut self,
        context: &ApplyContext,
        body: &[u8],
        _payload: &mut Vec<u8>,
    ) -> Result<(), ErrorCode> {
        let control = PartitionControl::decode(body).ok_or(ErrorCode::INVALID_FORMAT)?;
        match control {
            PartitionControl::StoreOffset { key, owner, offset } => {
                let current = self
                    .partitions
                    .get(&key)
                    .map_or(0, |entry| entry.log.next_offset().saturating_sub(1));
                if offset > current {
                    return Err(ErrorCode::INVALID_OFFSET);
                }
                let owners = self.offsets.entry(key).or_default();
                if !owners.contains_key(&owner) {
                    let cost = Self::offset_cost(&owner);
                    if self.state_bytes + cost > self.state_bytes_max {
                        if owners.is_empty() {
                            self.offsets.remove(&key);
                        }
                        return Err(ErrorCode::TOO_MANY_CONSUMER_OFFSETS);
                    }
                    self.state_bytes += cost;
                }
                self.offsets.entry(key).or_default().insert(owner, offset);
                Ok(())
            }
            PartitionControl::DeleteOffset { key, owner } => {
                let owners =
                    self.offsets.get_mut(&key).ok_or(ErrorCode::CONSUMER_OFFSET_NOT_FOUND)?;
                owners.remove(&owner).ok_or(ErrorCode::CONSUMER_OFFSET_NOT_FOUND)?;
                self.state_bytes -= Self::offset_cost(&owner);
                if owners.is_empty() {
                    self.offsets.remove(&key);
                }
                Ok(())
            }
            PartitionControl::DeleteSegments { key, count } => self
                .with_quiet_log(key, |log, disk| {
                    log.delete_segments(&mut disk.logs(), count as usize).map(|_| ())
                }),
            PartitionControl::Purge { key } => {
                if let Some(owners) = self.offsets.remove(&key) {
                    self.state_bytes -= owners.keys().map(Self::offset_cost).sum::<u64>();
                }
                self.with_quiet_log(key, |log, disk| log.purge(&mut disk.logs()).map(|_| ()))
            }
            PartitionControl::Retention { key, message_expiry_us, max_size_bytes } => {
                let policy = RetentionPolicy { message_expiry_us, max_size_bytes };
                let now = context.timestamp;
                self.with_quiet_log(key, |log, disk| {
                    log.enforce_retention(&mut disk.logs(), now, &policy).map(|outcome| {
                        if outcome.segments_deleted > 0 {
                            tracing::info!(?outcome, "retention deleted segments");
                        }
                    })
                })
            }
            PartitionControl::Drop { key } => {
                self.drop_partition(key);
                Ok(())
            }
        }
    }

    /// Opens (creating) the partition's log on first use.
    fn ensure_log(&mut self, prefix: &SendPrefix) -> Result<(), ErrorCode> {
        if self.partitions.contains_key(&prefix.key) {
            return Ok(());
        }
        if self.state_bytes + Self::partition_cost() > self.state_bytes_max {
            return Err(ErrorCode::TOO_MANY_PARTITIONS);
        }
        let disk = Rc::clone(&self.disk);
        let mut disk = disk.borrow_mut();
        let namespace = disk.allocate_namespace();
        let config = log_config(
            &self.settings,
            self.group,
            &prefix.key,
            namespace,
            prefix.segment_size,
            prefix.preallocate,
            0,
        );
        if let Err(error) = config.validate() {
            drop(disk);
            return Err(self.fail(format!("partition {:?}: {error}", prefix.key)));
        }
        match open_log(&mut disk, config) {
            Ok(log) => {
                self.by_namespace.insert(namespace, prefix.key);
                self.partitions.insert(
                    prefix.key,
                    Entry {
                        log,
                        segment_size: prefix.segment_size,
                        preallocate: prefix.preallocate,
                    },
                );
                self.state_bytes += Self::partition_cost();
                Ok(())
            }
            Err(message) => {
                drop(disk);
                Err(self.fail(format!("open partition {:?}: {message}", prefix.key)))
            }
        }
    }

    pub(crate) fn append(
        &mut self,
        key: PartitionKey,
        op: u64,
        meta: BatchMeta,
        bytes: &Bytes,
    ) -> Result<(), ErrorCode> {
        for _ in 0..DRAIN_ROUNDS_MAX {
            let disk = Rc::clone(&self.disk);
            let result = {
                let mut disk = disk.borrow_mut();
                let entry = self.partitions.get_mut(&key).expect("ensured");
                entry.log.append(&mut disk.logs(), op, meta, bytes.clone())
            };
            match result {
                Ok(_) => return Ok(()),
                Err(LogError::Backpressure { .. }) => self.drain_once()?,
                Err(LogError::PayloadTooLarge { .. }) => {
                    return Err(ErrorCode::TOO_BIG_MESSAGE_PAYLOAD);
                }
                Err(error) => return Err(self.fail(format!("append to {key:?}: {error}"))),
            }
        }
        Err(self.fail(format!("append to {key:?}: backpressure never cleared")))
    }

    /// Runs `operation` on the partition's log once it is quiet (flushed, nothing in
    /// flight). A partition without a log (nothing produced yet) has nothing to do.
    fn with_quiet_log(
        &mut self,
        key: PartitionKey,
        operation: impl FnOnce(
            &mut vireo_storage::partition::PartitionLog,
            &mut crate::shard::disk::Disk,
        ) -> Result<(), LogError>,
    ) -> Result<(), ErrorCode> {
        if !self.partitions.contains_key(&key) {
            return Ok(());
        }
        self.quiesce(key)?;
        let disk = Rc::clone(&self.disk);
        let mut disk = disk.borrow_mut();
        let entry = self.partitions.get_mut(&key).expect("checked");
        let result = operation(&mut entry.log, &mut disk);
        drop(disk);
        result.map_err(|error| self.fail(format!("partition {key:?}: {error}")))
    }

    pub(crate) fn quiesce(&mut self, key: PartitionKey) -> Result<(), ErrorCode> {
        let disk = Rc::clone(&self.disk);
        let flushed = {
            let mut disk = disk.borrow_mut();
            let entry = self.partitions.get_mut(&key).expect("checked");
            entry.log.flush(&mut disk.logs())
        };
        if let Err(error) = flushed {
            return Err(self.fail(format!("flush {key:?}: {error}")));
        }
        for _ in 0..DRAIN_ROUNDS_MAX {
            if self.partitions[&key].log.is_quiet() {
                return Ok(());
            }
            self.drain_once()?;
        }
        Err(self.fail(format!("partition {key:?} never became quiet")))
    }

    /// Waits for at least one completion; routes this machine's log completions and
    /// parks the rest for the shard.
    pub(crate) fn drain_once(&mut self) -> Result<(), ErrorCode> {
        self.pump();
        let disk = Rc::clone(&self.disk);
        let mut completions = Vec::new();
        {
            let mut disk = disk.borrow_mut();
            if disk.ring_in_flight() == 0 {
                drop(disk);
                return Err(self.fail("log waits for I/O but none is in flight".into()));
            }
            disk.wait_one(&mut completions);
        }
        for completion in completions {
            match owner(completion.token) {
                TokenOwner::Log(namespace) if self.owns_namespace(namespace) => {
                    self.on_log_completion(namespace, completion);
                }
                _ => disk.borrow_mut().defer(completion),
            }
        }
        match self.failure.clone() {
            Some(_) => Err(ErrorCode::ERROR),
            None => Ok(()),
        }
    }

    pub(crate) fn drop_partition(&mut self, key: PartitionKey) {
        if let Some(owners) = self.offsets.remove(&key) {
            self.state_bytes -= owners.keys().map(Self::offset_cost).sum::<u64>();
        }
        if !self.partitions.contains_key(&key) {
            return;
        }
        if self.quiesce(key).is_err() {
            return;
        }
        let entry = self.partitions.remove(&key).expect("checked");
        self.by_namespace.retain(|_, named| *named != key);
        self.state_bytes -= Self::partition_cost();
        let directory = key.directory(self.group);
        let disk = Rc::clone(&self.disk);
        let result = delete_log(&mut disk.borrow_mut(), &entry.log, &directory)
            .and_then(|()| remove_directory(&self.data_dir, &directory));
        if let Err(message) = result {
            self.fail(format!("drop partition {key:?}: {message}"));
        }
    }

    /// Records an environment failure (the driver stops the node) and answers `Error`.
    pub(crate) fn fail(&mut self, message: String) -> ErrorCode {
        tracing::error!(group = self.group, "{message}");
        self.failure.get_or_insert(message);
        ErrorCode::ERROR
    }
}
