//! Answering `RequestPartitionData` from this replica's applied log only.
//!
//! Recent records come from the log's memory; older ones take one disk read, done
//! synchronously on the shard like an append under backpressure (`apply.rs`): the
//! shard blocks for one read of at most the log's `read_bytes_max` per request, which a
//! catching-up peer paces at one request per answer. Every record read from disk is
//! verified (crc32c, position, offsets) before it is sent; a record that fails is not
//! served (the peer asks another replica).

use std::rc::Rc;

use vireo_protocol::vsr::{
    Command, Message, PartitionData, PartitionDataRequest, PartitionDataStatus,
};
use vireo_storage::partition::transfer::{ExportError, ExportedRecords, export_records};
use vireo_storage::partition::{ReadOutcome, ReadStart, StoredBatch};
use vireo_storage::{IoDone, Storage};

use super::super::key::PartitionKey;
use super::super::machine::PartitionMachine;
use super::TransferBus;
use crate::shard::disk::{TokenOwner, owner};

/// Bound on synchronous waits for one read (each returns ≥ 1 completion).
const READ_WAITS_MAX: usize = 1 << 16;

impl PartitionMachine {
    pub(super) fn serve(&mut self, from: u8, message: &Message, bus: &mut dyn TransferBus) {
        let request = match PartitionDataRequest::decode(message.body()) {
            Ok(request) => request,
            Err(error) => {
                tracing::debug!(from, %error, "malformed partition data request dropped");
                return;
            }
        };
        let key = PartitionKey::from(request.partition);
        let (first_offset, next_offset) =
            self.log(&key).map_or((0, 0), |log| (log.first_offset(), log.next_offset()));
        let (status, run) = self.answer(key, &request);
        let data = PartitionData {
            partition: request.partition,
            status,
            checkpoint_op: request.checkpoint_op,
            from_offset: request.from_offset,
            first_offset,
            next_offset,
            record_count: run.count,
            records: &run.bytes,
        };
        let header = self.transfer_header(Command::PartitionData, bus);
        bus.send(from, Message::new(header, &data.encode()));
        self.transfer_stats.served += 1;
    }

    fn answer(
        &mut self,
        key: PartitionKey,
        request: &PartitionDataRequest,
    ) -> (PartitionDataStatus, ExportedRecords) {
        let none = ExportedRecords::default();
        let Some(log) = self.log(&key) else { return (PartitionDataStatus::Unknown, none) };
        if self.catchup.as_ref().is_some_and(|catchup| catchup.targets.contains_key(&key)) {
            return (PartitionDataStatus::Behind, none);
        }
        if request.from_offset < log.first_offset() {
            return (PartitionDataStatus::Gone, none);
        }
        if request.from_offset >= log.next_offset() {
            return (PartitionDataStatus::Behind, none);
        }
        let bytes_max = request.bytes_max.clamp(1, self.transfer_bytes_max());
        let batches = match self.read_now(key, request.from_offset, bytes_max) {
            Ok(batches) => batches,
            Err(message) => {
                tracing::warn!(group = self.group, ?key, %message, "cannot serve partition data");
                return (PartitionDataStatus::Behind, none);
            }
        };
        let run = export_records(
            &batches,
            request.from_offset,
            request.end_offset,
            request.checkpoint_op,
            bytes_max as usize,
        );
        match run {
            Ok(run) if run.count > 0 => (PartitionDataStatus::Ok, run),
            Ok(_) => (PartitionDataStatus::Behind, none),
            Err(ExportError::Misaligned(_)) => (PartitionDataStatus::Gone, none),
        }
    }

    /// Reads batches from `offset`, waiting for a disk read if needed.
    fn read_now(
        &mut self,
        key: PartitionKey,
        offset: u64,
        bytes_max: u32,
    ) -> Result<Vec<StoredBatch>, String> {
        let log = self.log(&key).expect("checked by the caller");
        let plan = match log.read(ReadStart::Offset(offset), bytes_max) {
            Ok(ReadOutcome::Batches(batches)) => return Ok(batches),
            Ok(ReadOutcome::Empty) => return Ok(Vec::new()),
            Ok(ReadOutcome::Plan(plan)) => plan,
            Err(error) => return Err(error.to_string()),
        };
        let disk = Rc::clone(&self.disk);
        let token = disk.borrow_mut().read_token();
        let mut submitted = false;
        for _ in 0..READ_WAITS_MAX {
            let room = disk.borrow_mut().logs().submit_capacity() > 0;
            if room {
                let mut disk = disk.borrow_mut();
                disk.logs().submit(token, plan.request()).map_err(|error| error.to_string())?;
                submitted = true;
                break;
            }
            // The ring is full of other I/O: wait for some of it.
            self.drain_once().map_err(|_| "disk drain failed".to_string())?;
        }
        if !submitted {
            return Err("no room for the read".into());
        }
        for _ in 0..READ_WAITS_MAX {
            let mut completions = Vec::new();
            disk.borrow_mut().wait_one(&mut completions);
            let mut mine = None;
            for completion in completions {
                if completion.token == token {
                    mine = Some(completion);
                    continue;
                }
                match owner(completion.token) {
                    TokenOwner::Log(namespace) if self.owns_namespace(namespace) => {
                        self.on_log_completion(namespace, completion);
                    }
                    _ => disk.borrow_mut().defer(completion),
                }
            }
            if let Some(completion) = mine {
                return match completion.result {
                    Ok(IoDone::Read(buffer)) => plan.complete(buffer).map_err(|e| e.to_string()),
                    Ok(other) => Err(format!("read completed as {other:?}")),
                    Err(error) => Err(error.to_string()),
                };
            }
        }
        Err("read never completed".into())
    }
}

impl From<vireo_protocol::vsr::PartitionRef> for PartitionKey {
    fn from(partition: vireo_protocol::vsr::PartitionRef) -> Self {
        Self {
            stream_id: partition.stream_id,
            topic_id: partition.topic_id,
            partition_id: partition.partition_id,
            incarnation: partition.incarnation,
        }
    }
}

impl From<PartitionKey> for vireo_protocol::vsr::PartitionRef {
    fn from(key: PartitionKey) -> Self {
        Self {
            stream_id: key.stream_id,
            topic_id: key.topic_id,
            partition_id: key.partition_id,
            incarnation: key.incarnation,
        }
    }
}
