//! The state machine's real storage: one `vireo-storage` [`PartitionLog`] per model
//! partition, on the replica's **data disk** — a `SimStorage` of its own, owned by the
//! state machine (so it never borrows the journal's disk). Faults are off on it for now;
//! crashes still tear in-flight writes and power losses still drop unsynced ones (per
//! seed either as prefixes, like the journal disk, or scattered: any subset of a torn
//! write's sectors lands, and each unsynced sector is lost independently). Its write
//! latency is a knob of its own, so a slow data disk keeps checkpoints waiting.
//!
//! The contract with consensus, as the node keeps it:
//!
//! * **apply**: an `APPEND` appends one batch (`message_count` 1, both timestamps the
//!   op's timestamp) tagged with the VSR op, at the model's next offset.
//! * **checkpoint**: before the snapshot of op `C` is written, every log is flushed
//!   ([`DataLogs::begin_checkpoint`], [`DataLogs::checkpoint_ready`]): all of `C`'s
//!   batches are durable before the superblock can name `C`.
//! * **restart** ([`DataLogs::open`]): each log is recovered, then cut after the
//!   checkpoint op (`truncate_after_op`), so the journal's replay re-appends exactly the
//!   ops after it; [`DataLogs::reconcile`] then requires each log to end at the
//!   checkpoint's offset. One case moves a log: an empty log *ahead* of the checkpoint is
//!   what an interrupted state transfer leaves (see below), and is recreated at the
//!   checkpoint's offset. A log that ends anywhere else lost durable data or kept
//!   records it should have cut: a violation.
//! * **state transfer** ([`DataLogs::restore_to`]): a snapshot carries offsets, not
//!   batches, so a log behind the transferred checkpoint keeps its prefix and fetches
//!   the rest from a peer before consensus applies anything above the checkpoint
//!   (`partition_transfer.rs`, the node's protocol and storage functions). Every log
//!   holds its partition from offset 0; one still fetching holds a prefix.
//!
//! Whatever goes wrong that the checker must see (a log that does not match its model,
//! a failed I/O) is recorded in [`DataLogs::problem`] rather than panicking.

use vireo_storage::partition::{
    BatchMeta, LogError, PartitionLog, PartitionLogConfig, ReadOutcome, ReadStart, StoredBatch,
    token_namespace,
};
use vireo_storage::{AlignedBuffer, Completion, Storage};

use crate::options::LogOptions;
pub use transfer::{Catchup, Identity, MARKER, TransferStats};

#[path = "partition_transfer.rs"]
mod transfer;
use crate::sim_storage::SimStorage;
use crate::state_machine::PARTITIONS;

/// Largest batch payload (a request body is smaller: `message_size_max` is 4096).
pub const PAYLOAD_SIZE_MAX: u32 = 4096;

/// Counts of what the partition logs did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Batches appended.
    pub appends: u64,
    /// Checkpoint flushes (every log flushed before a snapshot write).
    pub checkpoint_flushes: u64,
    /// Logs opened (recovered) at a replica start.
    pub opens: u64,
    /// Recoveries that cut a torn tail.
    pub torn_tails_cut: u64,
    /// Faulty spans recovery found (torn writes below the last valid record).
    pub recovery_faults: u64,
    /// Index files recovery rewrote.
    pub index_repairs: u64,
    /// Records `truncate_after_op` removed at restarts.
    pub records_truncated: u64,
    /// Logs found behind a state transfer's offset (fetched from a peer).
    pub sync_resets: u64,
    /// Records fetched from peers after state transfers (verified, appended).
    pub records_fetched: u64,
    /// Catch-ups completed (every log filled and flushed, marker removed).
    pub catchups_completed: u64,
    /// Empty logs left ahead by an interrupted state transfer, recreated at restart.
    pub restart_resets: u64,
    /// Appends that waited for the disk (write backpressure).
    pub backpressure_waits: u64,
    /// Log checks the checker ran (one replica, every partition).
    pub checks: u64,
    /// Batches the checker compared with the committed history.
    pub batches_verified: u64,
    /// Planned disk reads the checker executed (batches verified by crc32c).
    pub disk_reads: u64,
}

impl LogStats {
    /// Adds another's counts.
    pub fn add(&mut self, other: &Self) {
        self.appends += other.appends;
        self.checkpoint_flushes += other.checkpoint_flushes;
        self.opens += other.opens;
        self.torn_tails_cut += other.torn_tails_cut;
        self.recovery_faults += other.recovery_faults;
        self.index_repairs += other.index_repairs;
        self.records_truncated += other.records_truncated;
        self.sync_resets += other.sync_resets;
        self.records_fetched += other.records_fetched;
        self.catchups_completed += other.catchups_completed;
        self.restart_resets += other.restart_resets;
        self.backpressure_waits += other.backpressure_waits;
        self.checks += other.checks;
        self.batches_verified += other.batches_verified;
        self.disk_reads += other.disk_reads;
    }
}

/// What a `restore` of the state machine means for the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreMode {
    /// Opening the replica: the logs were already cut to the checkpoint; the driver
    /// checks them against the restored model afterwards ([`DataLogs::reconcile`]).
    Open,
    /// A state transfer: logs behind the snapshot restart at its offsets.
    StateTransfer,
}

/// One log's configuration.
#[must_use]
pub fn log_config(
    options: &LogOptions,
    partition: usize,
    initial_offset: u64,
) -> PartitionLogConfig {
    let namespace = u32::try_from(partition + 1).expect("small");
    PartitionLogConfig {
        segment_size_bytes: options.segment_size_bytes,
        record_payload_size_max: PAYLOAD_SIZE_MAX,
        write_chunk_bytes: options.write_chunk_bytes,
        cache_bytes_max: options.cache_bytes_max,
        write_bytes_pending_max: 1 << 20,
        io_in_flight_max: options.io_in_flight_max,
        read_bytes_max: options.read_bytes_max,
        preallocate: options.preallocate,
        initial_offset,
        ..PartitionLogConfig::new(directory(partition), namespace)
    }
}

fn directory(partition: usize) -> String {
    format!("partitions/{partition}")
}

/// The partition logs of one running replica and the disk they live on.
#[derive(Debug)]
pub struct DataLogs {
    /// The data disk.
    pub disk: SimStorage,
    logs: Vec<PartitionLog>,
    options: LogOptions,
    /// What `restore` does to the logs.
    pub restore_mode: RestoreMode,
    /// Counts since this process started.
    pub stats: LogStats,
    /// The first thing that went wrong, for the checker to report.
    pub problem: Option<String>,
    /// Per partition, changes whenever the log may lose records (a new process, a
    /// reset): a checker may skip batches it verified in the same generation.
    generations: [u64; PARTITIONS],
    /// This replica on the network (set by the node at start; the transfer's headers).
    pub identity: Option<Identity>,
    /// Records still to fetch after a state transfer (`partition_transfer.rs`).
    pub catchup: Option<Catchup>,
    /// Transfer messages to send.
    outbox: Vec<(u8, vireo_protocol::vsr::Message)>,
    ticks: u64,
    /// What the transfer did in this process.
    pub transfer_stats: TransferStats,
}

impl DataLogs {
    /// Opens every log on `disk` (recovery) and cuts it after `checkpoint_op`. A log that
    /// cannot be opened or cut is a bug (the data disk has no faults): it panics, like a
    /// journal that cannot be recovered.
    /// `boot` numbers this process among the replica's.
    #[must_use]
    pub fn open(mut disk: SimStorage, options: &LogOptions, checkpoint_op: u64, boot: u64) -> Self {
        assert_eq!(disk.in_flight(), 0, "a starting process has no I/O in flight");
        let mut stats = LogStats::default();
        let mut logs = Vec::with_capacity(PARTITIONS);
        let mut problem = None;
        let catching_up =
            disk.list().expect("the simulated disk lists").iter().any(|name| name == MARKER);
        for partition in 0..PARTITIONS {
            let mut others = Vec::new();
            let config = log_config(options, partition, 0);
            let (mut log, report) = PartitionLog::open(&mut disk, config, &mut others)
                .unwrap_or_else(|error| {
                    panic!("partition {partition}: log does not open: {error}")
                });
            assert!(others.is_empty(), "nothing else was in flight");
            stats.opens += 1;
            stats.torn_tails_cut += u64::from(report.torn_tail.is_some());
            stats.recovery_faults += report.faults.len() as u64;
            stats.index_repairs += report.index_repairs.len() as u64;
            let outcome = log.truncate_after_op(&mut disk, checkpoint_op).unwrap_or_else(|error| {
                panic!("partition {partition}: truncate_after_op({checkpoint_op}) failed: {error}")
            });
            stats.records_truncated += outcome.records_removed as u64;
            let mut faults = log.faults();
            if let Some(fault) = faults.first()
                && catching_up
            {
                // Records fetched after a state transfer are durable only after the
                // catch-up's final flush: a crash may tear them although their ops are
                // at or below the checkpoint. Cut from the first damaged one; the
                // catch-up fetches the rest again.
                let outcome = log
                    .truncate_after_op(&mut disk, fault.op_min.saturating_sub(1))
                    .unwrap_or_else(|error| panic!("partition {partition}: cut failed: {error}"));
                stats.records_truncated += outcome.records_removed as u64;
                faults = log.faults();
            }
            if let Some(fault) = faults.first()
                && problem.is_none()
            {
                problem = Some(format!(
                    "partition {partition}: recovery left {} faulty span(s) at or below the \
                     checkpoint op {checkpoint_op} (first: {fault:?}): flushed data damaged",
                    faults.len()
                ));
            }
            log.check_invariants();
            logs.push(log);
        }
        Self {
            disk,
            logs,
            options: options.clone(),
            restore_mode: RestoreMode::Open,
            stats,
            problem,
            generations: [boot << 32; PARTITIONS],
            identity: None,
            catchup: None,
            outbox: Vec::new(),
            ticks: 0,
            transfer_stats: TransferStats::default(),
        }
    }

    /// The partition's generation (see the field).
    #[must_use]
    pub fn generation(&self, partition: usize) -> u64 {
        self.generations[partition]
    }

    /// The logs, by partition.
    #[must_use]
    pub fn logs(&self) -> &[PartitionLog] {
        &self.logs
    }

    /// Gives the disk back (the process died) with this process's counts.
    #[must_use]
    pub fn into_disk(self) -> (SimStorage, LogStats) {
        (self.disk, self.stats)
    }

    fn note(&mut self, problem: String) {
        self.problem.get_or_insert(problem);
    }

    /// After the replica opened: every log must end where the restored model says (see
    /// the module documentation). `synced`: this replica ever installed a state transfer.
    pub fn reconcile(&mut self, expected: &[u64; PARTITIONS], synced: bool) {
        let catching_up = self.marker_exists();
        let mut targets = [None; PARTITIONS];
        for (partition, &expected) in expected.iter().enumerate() {
            let found = self.logs[partition].next_offset();
            if found == expected {
                continue;
            }
            if found < expected && catching_up {
                // Stopped in the middle of a catch-up: fetch the rest again.
                targets[partition] = Some(expected);
                continue;
            }
            let empty = self.logs[partition].segments().iter().all(|s| s.record_count == 0);
            if found > expected && empty && synced {
                self.reset(partition, expected);
                self.stats.restart_resets += 1;
                continue;
            }
            let what = if found < expected {
                "data flushed before the checkpoint is missing"
            } else {
                "records after the checkpoint survived truncate_after_op"
            };
            self.note(format!(
                "partition {partition}: after restart the log ends at offset {found}, \
                 the checkpoint at {expected}: {what}"
            ));
        }
        if catching_up {
            self.start_catchup(targets);
        }
        self.restore_mode = RestoreMode::StateTransfer;
    }

    /// A state transfer installed a snapshot whose partitions end at `expected`: a log
    /// behind it keeps its prefix and fetches the rest from a peer.
    pub fn restore_to(&mut self, expected: &[u64; PARTITIONS]) {
        let mut targets = [None; PARTITIONS];
        for (partition, &expected) in expected.iter().enumerate() {
            let found = self.logs[partition].next_offset();
            if found < expected {
                targets[partition] = Some(expected);
                self.stats.sync_resets += 1;
            } else if found > expected {
                self.note(format!(
                    "partition {partition}: a state transfer to offset {expected} would move \
                     the log back from {found}"
                ));
            }
        }
        if targets.iter().any(Option::is_some) || self.catchup.is_some() {
            self.start_catchup(targets);
        }
    }

    /// Deletes a log's files and recreates it empty at `next_offset`.
    fn reset(&mut self, partition: usize, next_offset: u64) {
        // No completion may arrive for a file that is gone: finish every I/O first.
        self.drain();
        let prefix = format!("{}/", directory(partition));
        let names = self.disk.list().expect("the simulated disk lists");
        for name in names.iter().filter(|name| name.starts_with(&prefix)) {
            self.disk.remove(name).expect("listed file exists");
        }
        let config = log_config(&self.options, partition, next_offset);
        let mut others = Vec::new();
        let (log, _) = PartitionLog::open(&mut self.disk, config, &mut others)
            .unwrap_or_else(|error| panic!("partition {partition}: recreate failed: {error}"));
        assert!(others.is_empty(), "the disk was drained");
        assert_eq!(log.next_offset(), next_offset);
        self.logs[partition] = log;
        self.generations[partition] += 1;
    }

    /// Appends an `APPEND`'s payload at `offset` (the model's).
    pub fn append(
        &mut self,
        partition: usize,
        offset: u64,
        op: u64,
        timestamp: u64,
        payload: &[u8],
    ) {
        if self.problem.is_some() {
            return; // The log no longer follows the model; the checker reports it.
        }
        let next = self.logs[partition].next_offset();
        if next != offset {
            self.note(format!(
                "partition {partition}: op {op} appends at model offset {offset}, the log is at {next}"
            ));
            return;
        }
        let meta = BatchMeta {
            base_offset: offset,
            message_count: 1,
            base_timestamp_us: timestamp,
            max_timestamp_us: timestamp,
        };
        loop {
            let appended =
                self.logs[partition].append(&mut self.disk, op, meta, payload.to_vec().into());
            match appended {
                Ok(_) => break,
                Err(LogError::Backpressure { .. }) if self.disk.in_flight() > 0 => {
                    self.stats.backpressure_waits += 1;
                    self.drain();
                }
                Err(error) => {
                    self.note(format!("partition {partition}: append of op {op} failed: {error}"));
                    return;
                }
            }
        }
        self.stats.appends += 1;
    }

    /// Starts flushing every log; returns what each `durable_next_offset` must reach.
    pub fn begin_checkpoint(&mut self) -> [u64; PARTITIONS] {
        self.stats.checkpoint_flushes += 1;
        self.flush_all()
    }

    fn flush_all(&mut self) -> [u64; PARTITIONS] {
        let mut targets = [0; PARTITIONS];
        for (partition, target) in targets.iter_mut().enumerate() {
            match self.logs[partition].flush(&mut self.disk) {
                Ok(next) => *target = next,
                Err(error) => self.note(format!("partition {partition}: flush failed: {error}")),
            }
        }
        targets
    }

    /// Every log is durable up to `targets`.
    #[must_use]
    pub fn checkpoint_ready(&self, targets: &[u64; PARTITIONS]) -> bool {
        self.logs.iter().zip(targets).all(|(log, &target)| log.durable_next_offset() >= target)
    }

    /// Hands the disk's due completions to their logs.
    pub fn poll(&mut self) {
        let mut completions = Vec::new();
        self.disk.poll(&mut completions);
        self.route(completions);
    }

    fn route(&mut self, completions: Vec<Completion>) {
        for completion in completions {
            let namespace = token_namespace(completion.token) as usize;
            let partition = namespace.checked_sub(1).filter(|&p| p < PARTITIONS);
            let partition = partition.expect("every data-disk I/O belongs to a log");
            if let Err(error) = self.logs[partition].on_io_done(&mut self.disk, completion) {
                self.note(format!("partition {partition}: I/O failed: {error}"));
            }
        }
    }

    /// Completes every I/O in flight at once (and what their completions submit).
    pub fn drain(&mut self) {
        while self.disk.in_flight() > 0 {
            let mut completions = Vec::new();
            self.disk.wait(&mut completions);
            self.route(completions);
        }
    }

    /// The batches of `partition` from offset `from` on, in offset order, through the
    /// log's read API: recent ones from its cache, older ones by executing its read plans
    /// against the disk (which verifies each record's crc32c, position and offsets). Also
    /// returns the number of disk reads.
    pub fn read_from(
        &self,
        partition: usize,
        from: u64,
    ) -> Result<(Vec<StoredBatch>, u64), String> {
        read_from(&self.logs[partition], &self.disk, from)
    }

    /// Flushes and drains every log, then reopens a copy of the disk's image (a fresh
    /// recovery, with an empty cache) and reads every partition back from disk. Recovery
    /// of a quiescent, flushed log must find nothing to repair.
    pub fn reopened_image(&mut self) -> Result<Vec<(Vec<StoredBatch>, u64)>, String> {
        let targets = self.flush_all();
        self.drain();
        if !self.checkpoint_ready(&targets) {
            return Err("a drained flush did not complete".to_owned());
        }
        let mut image = self.disk.image_copy();
        let mut out = Vec::with_capacity(PARTITIONS);
        for partition in 0..PARTITIONS {
            let config = log_config(&self.options, partition, 0);
            let mut others = Vec::new();
            let (log, report) = PartitionLog::open(&mut image, config, &mut others)
                .map_err(|error| format!("partition {partition}: reopen failed: {error}"))?;
            if report.torn_tail.is_some()
                || !report.faults.is_empty()
                || !report.index_repairs.is_empty()
            {
                return Err(format!(
                    "partition {partition}: recovery of a flushed, quiescent log repaired something: \
                     {report:?}"
                ));
            }
            let live = &self.logs[partition];
            if (log.first_offset(), log.next_offset()) != (live.first_offset(), live.next_offset())
            {
                return Err(format!(
                    "partition {partition}: reopened log spans {}..{}, the live one {}..{}",
                    log.first_offset(),
                    log.next_offset(),
                    live.first_offset(),
                    live.next_offset()
                ));
            }
            out.push(read_from(&log, &image, log.first_offset())?);
        }
        Ok(out)
    }
}

fn read_from(
    log: &PartitionLog,
    disk: &SimStorage,
    from: u64,
) -> Result<(Vec<StoredBatch>, u64), String> {
    let mut offset = from.max(log.first_offset());
    let end = log.next_offset();
    let mut batches = Vec::new();
    let mut reads = 0;
    while offset < end {
        let read = log.read(ReadStart::Offset(offset), u32::MAX);
        let read = read.map_err(|error| format!("read at offset {offset}: {error}"))?;
        let got = match read {
            ReadOutcome::Empty => {
                return Err(format!("read at offset {offset} (end {end}) is empty"));
            }
            ReadOutcome::Batches(got) => got,
            ReadOutcome::Plan(plan) => {
                reads += 1;
                let buffer = AlignedBuffer::zeroed(plan.length_bytes);
                let buffer = disk
                    .read_now(plan.file, plan.offset_bytes, buffer)
                    .map_err(|error| format!("planned read at offset {offset}: {error}"))?;
                plan.complete(buffer).map_err(|error| format!("offset {offset}: {error}"))?
            }
        };
        for batch in got {
            if batch.header.meta.base_offset != offset {
                return Err(format!(
                    "read at offset {offset} returned a batch at {}",
                    batch.header.meta.base_offset
                ));
            }
            offset = batch.header.end_offset();
            batches.push(batch);
        }
    }
    Ok((batches, reads))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::StorageOptions;

    fn options() -> LogOptions {
        LogOptions {
            segment_size_bytes: 8 * 1024,
            write_chunk_bytes: 4096,
            cache_bytes_max: 0,
            io_in_flight_max: 4,
            read_bytes_max: 16 * 1024,
            preallocate: true,
            scattered_crashes: true,
            write_latency_ticks: (0, 3),
        }
    }

    fn disk(seed: u64) -> SimStorage {
        let options = StorageOptions {
            write_corrupt: 0.0,
            read_corrupt: 0.0,
            misdirect: 0.0,
            latent_error: 0.0,
            read_latency_ticks: (0, 2),
            write_latency_ticks: (0, 3),
        };
        let mut disk = SimStorage::new(seed, options);
        disk.set_scattered_crashes(true);
        disk
    }

    fn payload(op: u64) -> Vec<u8> {
        (0..200 + op * 37 % 900).map(|i| (i * 7 + op) as u8).collect()
    }

    /// Polls until every log is durable up to `targets`.
    fn settle(logs: &mut DataLogs, targets: &[u64; PARTITIONS], tick: &mut u64) {
        while !logs.checkpoint_ready(targets) {
            *tick += 1;
            logs.disk.set_tick(*tick);
            logs.poll();
            assert!(*tick < 10_000, "flush never completed");
        }
    }

    #[test]
    fn a_checkpointed_prefix_survives_power_loss_and_the_rest_is_cut() {
        for seed in 0..40 {
            let mut logs = DataLogs::open(disk(seed), &options(), 0, 1);
            let mut tick = 0;
            let mut next = [0; PARTITIONS];
            for op in 1..=30 {
                let partition = (op % 3) as usize;
                logs.append(partition, next[partition], op, 1_000 + op, &payload(op));
                next[partition] += 1;
                if op == 20 {
                    let targets = logs.begin_checkpoint();
                    settle(&mut logs, &targets, &mut tick);
                }
            }
            let checkpoint: [u64; PARTITIONS] = std::array::from_fn(|p| {
                (1..=20).filter(|op| (op % 3) as usize == p).count() as u64
            });
            assert!(logs.problem.is_none());
            let (mut disk, _) = logs.into_disk();
            disk.crash(true);
            let mut logs = DataLogs::open(disk, &options(), 20, 2);
            logs.reconcile(&checkpoint, false);
            assert_eq!(logs.problem, None, "seed {seed}");
            for (partition, &count) in checkpoint.iter().enumerate() {
                let (batches, _) = logs.read_from(partition, 0).unwrap();
                assert_eq!(batches.len() as u64, count);
                for batch in &batches {
                    assert!(batch.header.op <= 20);
                    assert_eq!(batch.payload[..], payload(batch.header.op)[..]);
                }
            }
            // Replay appends after the checkpoint again.
            logs.append(2, checkpoint[2], 21, 1_021, &payload(21));
            assert_eq!(logs.problem, None);
        }
    }

    /// Delivers transfer messages between `source` (replica 0) and `logs` (replica 1)
    /// and runs both disks, for at most `rounds` ticks or until `logs` caught up.
    fn exchange(source: &mut DataLogs, logs: &mut DataLogs, rounds: u64, tick: &mut u64) {
        for _ in 0..rounds {
            if logs.catchup.is_none() {
                return;
            }
            *tick += 1;
            logs.transfer_tick();
            for (to, message) in logs.take_outbox() {
                assert_eq!(to, 0);
                source.on_transfer_message(&message);
            }
            for (to, message) in source.take_outbox() {
                assert_eq!(to, 1);
                logs.on_transfer_message(&message);
            }
            for side in [&mut *source, &mut *logs] {
                side.disk.set_tick(*tick);
                side.poll();
            }
        }
    }

    fn identity(replica: u8) -> Identity {
        Identity { cluster: 1, group: 0, replica, replica_count: 2 }
    }

    #[test]
    fn a_state_transfer_fetches_what_lagging_logs_lack_and_a_restart_resumes() {
        let mut tick = 0;
        let mut source = DataLogs::open(disk(7), &options(), 0, 1);
        source.identity = Some(identity(0));
        source.reconcile(&[0; PARTITIONS], false);
        for op in 1..=40 {
            source.append(1, op - 1, op, op, &payload(op));
        }
        let mut logs = DataLogs::open(disk(8), &options(), 0, 1);
        logs.identity = Some(identity(1));
        logs.reconcile(&[0; PARTITIONS], false);
        for op in 1..=3 {
            logs.append(1, op - 1, op, op, &payload(op));
        }
        logs.restore_to(&[0, 40, 0, 0]);
        assert!(!logs.apply_ready() && logs.catching_up(1) && !logs.catching_up(0));
        assert_eq!(logs.logs()[1].next_offset(), 3, "the prefix is kept");
        assert!(logs.marker_exists());
        exchange(&mut source, &mut logs, 1, &mut tick);
        assert!(logs.catching_up(1), "part of it fetched");
        let fetched = logs.logs()[1].next_offset();
        assert!(fetched > 3, "{fetched}");

        // A crash after the transferred checkpoint (op 40) became durable: the restart
        // keeps what was fetched and flushed, and fetches the rest.
        let targets = logs.begin_checkpoint();
        settle(&mut logs, &targets, &mut tick);
        let (mut disk, _) = logs.into_disk();
        disk.crash(true);
        let mut logs = DataLogs::open(disk, &options(), 40, 2);
        logs.identity = Some(identity(1));
        logs.reconcile(&[0, 40, 0, 0], true);
        assert_eq!(logs.problem, None);
        assert!(logs.catching_up(1));
        assert_eq!(logs.logs()[1].next_offset(), fetched, "resumed, not restarted");
        exchange(&mut source, &mut logs, 500, &mut tick);
        assert!(logs.catchup.is_none() && logs.apply_ready() && !logs.marker_exists());
        assert_eq!(logs.problem, None);
        let (fetched, _) = logs.read_from(1, 0).unwrap();
        let (original, _) = source.read_from(1, 0).unwrap();
        assert_eq!(fetched.len(), 40);
        for (a, b) in fetched.iter().zip(&original) {
            assert_eq!(
                (a.header.op, a.header.meta, &a.payload),
                (b.header.op, b.header.meta, &b.payload)
            );
        }
        // Appends continue at the snapshot's offset.
        logs.append(1, 40, 41, 41, &payload(41));
        assert_eq!(logs.problem, None);
        // Moving a log back is never right.
        logs.restore_to(&[0, 5, 0, 0]);
        assert!(logs.problem.take().is_some());
    }

    #[test]
    fn a_restart_without_the_marker_still_reports_missing_data() {
        let mut logs = DataLogs::open(disk(9), &options(), 0, 1);
        logs.reconcile(&[0; PARTITIONS], false);
        let (mut disk, _) = logs.into_disk();
        disk.crash(false);
        let mut logs = DataLogs::open(disk, &options(), 0, 2);
        logs.reconcile(&[1, 0, 0, 0], true);
        assert!(logs.problem.unwrap().contains("missing"), "a log behind its checkpoint");
    }
}
