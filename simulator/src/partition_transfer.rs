//! Partition data catch-up in the simulator, as the node does it (`node/src/partition/
//! transfer`): after a state transfer, a log behind the snapshot keeps what it holds (a
//! prefix: the model never deletes) and fetches the rest from a peer with the
//! replica-plane `RequestPartitionData`/`PartitionData` commands, through the simulated
//! network, with the storage crate's export and verified import. Consensus applies
//! nothing until every log has its records ([`DataLogs::apply_ready`]). A marker file on
//! the data disk (file creation and removal are durable at once there) tells a restart
//! that short logs are expected and must be fetched again; it is removed once the fetched
//! records are flushed.
//!
//! The model's snapshot carries no op number, so requests bound records by offset only
//! (`checkpoint_op` = `u64::MAX`); the end offset is the snapshot's.

use bytes::Bytes;
use vireo_protocol::vsr::{
    Command, HEADER_SIZE, Header, Message, PARTITION_DATA_PREFIX_SIZE, PartitionData,
    PartitionDataRequest, PartitionDataStatus, PartitionRef,
};
use vireo_storage::Storage;
use vireo_storage::partition::LogError;
use vireo_storage::partition::transfer::export_records;
use vireo_storage::{OpenMode, StorageError};

use super::{DataLogs, PARTITIONS, read_from};

/// The marker file on the data disk.
pub const MARKER: &str = "catching-up";
/// Record bytes asked for per answer (keeps answers within the network's messages).
const BYTES_MAX: u32 = 8 * 1024;
/// Ticks without an answer before asking the next replica.
const TIMEOUT_TICKS: u64 = 40;
/// Ticks to wait after a refusal.
const RETRY_TICKS: u64 = 10;

/// Who this replica is on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// Cluster id.
    pub cluster: u128,
    /// Consensus group.
    pub group: u32,
    /// This replica.
    pub replica: u8,
    /// Replicas.
    pub replica_count: u8,
}

/// The fetch in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catchup {
    /// Per partition, the offset its log must reach (`None`: it has everything).
    pub targets: [Option<u64>; PARTITIONS],
    source: Option<u8>,
    /// (partition, from offset, source, sent tick).
    in_flight: Option<(usize, u64, u8, u64)>,
    retry_tick: u64,
    final_flush: Option<[u64; PARTITIONS]>,
}

/// What the transfer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Requests sent.
    pub requests: u64,
    /// Records imported.
    pub records_imported: u64,
    /// Answers refused or not verified.
    pub refusals: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Requests served.
    pub served: u64,
    /// Catch-ups completed (marker removed).
    pub completed: u64,
}

fn partition_ref(partition: usize) -> PartitionRef {
    PartitionRef {
        stream_id: 0,
        topic_id: 0,
        partition_id: u32::try_from(partition).expect("small"),
        incarnation: 0,
    }
}

impl DataLogs {
    /// True unless some log still lacks records below the installed snapshot.
    #[must_use]
    pub fn apply_ready(&self) -> bool {
        self.catchup.as_ref().is_none_or(|c| c.targets.iter().all(Option::is_none))
    }

    /// True if `partition` still lacks records.
    #[must_use]
    pub fn catching_up(&self, partition: usize) -> bool {
        self.catchup.as_ref().is_some_and(|c| c.targets[partition].is_some())
    }

    /// Messages to send, taken.
    pub fn take_outbox(&mut self) -> Vec<(u8, Message)> {
        std::mem::take(&mut self.outbox)
    }

    pub(super) fn marker_exists(&self) -> bool {
        self.disk.list().expect("the simulated disk lists").iter().any(|name| name == MARKER)
    }

    pub(super) fn write_marker(&mut self) {
        if !self.marker_exists() {
            let file = self.disk.open(MARKER, OpenMode::Create).expect("create the marker");
            self.disk.close(file).expect("close the marker");
        }
    }

    /// Starts (or extends) a catch-up to `targets` (partitions whose logs end below).
    pub(super) fn start_catchup(&mut self, targets: [Option<u64>; PARTITIONS]) {
        self.write_marker();
        self.catchup = Some(Catchup { targets, ..Catchup::default() });
    }

    fn header(&self, command: Command) -> Header {
        let identity = self.identity.expect("a running replica has an identity");
        let mut header = Header::new(command);
        header.cluster = identity.cluster;
        header.group = identity.group;
        header.replica = identity.replica;
        header
    }

    fn next_source(&self, after: u8) -> u8 {
        let identity = self.identity.expect("identity");
        let mut source = (after + 1) % identity.replica_count;
        if source == identity.replica {
            source = (source + 1) % identity.replica_count;
        }
        source
    }

    /// One tick of the fetch: (re)send what is due; finish a complete catch-up.
    pub fn transfer_tick(&mut self) {
        self.ticks += 1;
        let now = self.ticks;
        let Some(catchup) = &self.catchup else { return };
        if catchup.targets.iter().all(Option::is_none) {
            self.finish_catchup();
            return;
        }
        if let Some((_, _, source, sent)) = catchup.in_flight {
            if now < sent + TIMEOUT_TICKS {
                return;
            }
            self.transfer_stats.timeouts += 1;
            let next = self.next_source(source);
            let catchup = self.catchup.as_mut().expect("checked");
            catchup.in_flight = None;
            catchup.source = Some(next);
        }
        if now >= self.catchup.as_ref().expect("checked").retry_tick {
            self.send_request();
        }
    }

    fn send_request(&mut self) {
        let identity = self.identity.expect("identity");
        let Some(catchup) = &self.catchup else { return };
        let Some(partition) = catchup.targets.iter().position(Option::is_some) else { return };
        let end_offset = catchup.targets[partition].expect("found");
        let from_offset = self.logs[partition].next_offset();
        let source = catchup.source.unwrap_or_else(|| self.next_source(identity.replica));
        let request = PartitionDataRequest {
            partition: partition_ref(partition),
            checkpoint_op: u64::MAX,
            from_offset,
            end_offset,
            bytes_max: BYTES_MAX,
        };
        let message = Message::new(self.header(Command::RequestPartitionData), &request.encode());
        let now = self.ticks;
        let catchup = self.catchup.as_mut().expect("checked");
        catchup.source = Some(source);
        catchup.in_flight = Some((partition, from_offset, source, now));
        self.transfer_stats.requests += 1;
        self.outbox.push((source, message));
    }

    /// A transfer command from replica `from`.
    pub fn on_transfer_message(&mut self, message: &Message) {
        let header = message.header();
        let Some(identity) = self.identity else { return };
        let from = header.replica;
        if header.cluster != identity.cluster
            || header.group != identity.group
            || from >= identity.replica_count
            || from == identity.replica
        {
            return;
        }
        match header.command {
            Command::RequestPartitionData => self.serve(from, message),
            Command::PartitionData => self.on_partition_data(from, message),
            _ => {}
        }
    }

    fn serve(&mut self, from: u8, message: &Message) {
        let Ok(request) = PartitionDataRequest::decode(message.body()) else { return };
        let partition = request.partition.partition_id as usize;
        if request.partition != partition_ref(partition % PARTITIONS) || partition >= PARTITIONS {
            return;
        }
        let log = &self.logs[partition];
        let (first, next) = (log.first_offset(), log.next_offset());
        let mut status = PartitionDataStatus::Ok;
        let mut run = vireo_storage::partition::transfer::ExportedRecords::default();
        if self.catching_up(partition) || request.from_offset >= next {
            status = PartitionDataStatus::Behind;
        } else if request.from_offset < first {
            status = PartitionDataStatus::Gone;
        } else {
            match read_from(log, &self.disk, request.from_offset) {
                Ok((batches, _)) => {
                    let bytes_max = request.bytes_max.clamp(1, BYTES_MAX) as usize;
                    match export_records(
                        &batches,
                        request.from_offset,
                        request.end_offset,
                        request.checkpoint_op,
                        bytes_max,
                    ) {
                        Ok(exported) if exported.count > 0 => run = exported,
                        Ok(_) => status = PartitionDataStatus::Behind,
                        Err(_) => status = PartitionDataStatus::Gone,
                    }
                }
                Err(_) => status = PartitionDataStatus::Behind,
            }
        }
        let data = PartitionData {
            partition: request.partition,
            status,
            checkpoint_op: request.checkpoint_op,
            from_offset: request.from_offset,
            first_offset: first,
            next_offset: next,
            record_count: run.count,
            records: &run.bytes,
        };
        let message = Message::new(self.header(Command::PartitionData), &data.encode());
        self.transfer_stats.served += 1;
        self.outbox.push((from, message));
    }

    fn on_partition_data(&mut self, from: u8, message: &Message) {
        let Ok(data) = PartitionData::decode(message.body()) else { return };
        let Some(catchup) = &mut self.catchup else { return };
        let partition = data.partition.partition_id as usize;
        let expected = catchup.in_flight.is_some_and(|(p, offset, source, _)| {
            p == partition && offset == data.from_offset && source == from
        }) && data.partition == partition_ref(partition % PARTITIONS);
        if !expected {
            return;
        }
        catchup.in_flight = None;
        if data.status != PartitionDataStatus::Ok {
            self.refused(from);
            return;
        }
        let records = message.buffer().slice(HEADER_SIZE + PARTITION_DATA_PREFIX_SIZE..);
        match self.import(partition, &records) {
            Ok(()) => self.send_request(),
            Err(problem) => {
                // Verification failures are refusals (the network may not corrupt, but a
                // source may answer from an older incarnation); append failures are not.
                if let Some(problem) = problem {
                    self.note(problem);
                }
                self.refused(from);
            }
        }
    }

    fn refused(&mut self, from: u8) {
        self.transfer_stats.refusals += 1;
        let next = self.next_source(from);
        let retry = self.ticks + RETRY_TICKS;
        let catchup = self.catchup.as_mut().expect("fetching");
        catchup.source = Some(next);
        catchup.retry_tick = retry;
    }

    /// Verifies and appends a run. `Err(None)`: refused; `Err(Some)`: a real problem.
    fn import(&mut self, partition: usize, records: &Bytes) -> Result<(), Option<String>> {
        let end = self.catchup.as_ref().and_then(|c| c.targets[partition]).ok_or(None)?;
        let imported = self.logs[partition].verify_import(records, u64::MAX).map_err(|_| None)?;
        let last = imported.last().expect("a verified run is not empty");
        if last.meta.base_offset + u64::from(last.meta.message_count) > end {
            return Err(None);
        }
        for record in imported {
            if record.pad_before {
                self.logs[partition]
                    .flush(&mut self.disk)
                    .map_err(|error| Some(format!("partition {partition}: flush: {error}")))?;
            }
            loop {
                let appended = self.logs[partition].append(
                    &mut self.disk,
                    record.op,
                    record.meta,
                    record.payload.clone(),
                );
                match appended {
                    Ok(_) => break,
                    Err(LogError::Backpressure { .. }) if self.disk.in_flight() > 0 => {
                        self.stats.backpressure_waits += 1;
                        self.drain();
                    }
                    Err(error) => {
                        return Err(Some(format!("partition {partition}: import append: {error}")));
                    }
                }
            }
            self.transfer_stats.records_imported += 1;
            self.stats.records_fetched += 1;
        }
        if self.logs[partition].next_offset() == end {
            self.catchup.as_mut().expect("fetching").targets[partition] = None;
        }
        Ok(())
    }

    fn finish_catchup(&mut self) {
        let flush = self.catchup.as_ref().expect("fetching").final_flush;
        match flush {
            None => {
                let targets = self.flush_all();
                self.catchup.as_mut().expect("fetching").final_flush = Some(targets);
            }
            Some(targets) => {
                if !self.checkpoint_ready(&targets) {
                    return;
                }
                match self.disk.remove(MARKER) {
                    Ok(()) | Err(StorageError::NotFound(_)) => {}
                    Err(error) => self.note(format!("remove the catch-up marker: {error}")),
                }
                self.transfer_stats.completed += 1;
                self.stats.catchups_completed += 1;
                self.catchup = None;
            }
        }
    }
}
