//! Partition logs hold exactly the committed history. For every running replica, each
//! model partition's real `PartitionLog` holds the payloads of the committed `APPEND`s
//! to it up to the op the replica applied — no more, no fewer — in offset order, each
//! batch tagged with its op and the op's timestamp (the canonical history from the
//! commit checker, the bodies from the reply checker). Batches read from disk verify
//! (crc32c, position and offsets, through the log's read plans); no faulty span
//! survives; the log ends where the replica's model says. Since every replica is compared
//! with the same canonical batches, their logs hold identical bytes for the same offsets
//! (record positions and padding may differ: flushes pad to a sector, and they happen at
//! different moments on different replicas).
//!
//! Every log starts at offset 0 (the model deletes nothing): a replica that installed a
//! state transfer fetched the records below the snapshot from a peer. While it still
//! fetches (and applies nothing), a log may end below the history through its applied
//! op; the prefix it holds is compared.

use std::collections::BTreeMap;

use vireo_consensus::Replica;
use vireo_storage::partition::{BatchMeta, StoredBatch};

use super::Violation;
use super::commits::CommitChecker;
use super::replies::ReplyChecker;
use crate::partition_logs::LogStats;
use crate::state_machine::{APPEND, PARTITIONS, SimStateMachine};

#[derive(Debug)]
struct Expected {
    op: u64,
    timestamp: u64,
    payload: Vec<u8>,
}

/// One partition as a replica's log showed it.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    /// The replica.
    pub replica: u8,
    /// This partition is still fetching records after a state transfer.
    pub catching_up: bool,
    /// The op it applied last.
    pub commit_min: u64,
    /// The partition.
    pub partition: usize,
    /// The log's first offset.
    pub first_offset: u64,
    /// The log's next offset.
    pub next_offset: u64,
    /// The offset of the first batch shown (at least `first_offset`).
    pub from: u64,
    /// Every batch it holds from `from` on.
    pub batches: &'a [StoredBatch],
    /// Where they were read (for the report).
    pub source: &'static str,
}

/// The committed `APPEND`s by partition, and the comparisons.
#[derive(Debug)]
pub struct PartitionLogChecker {
    expected: Vec<Vec<Expected>>,
    learned: usize,
    /// Per (replica, partition): the log generation and the offset below which its
    /// batches were verified (periodic checks only read what is new).
    verified: BTreeMap<(u8, usize), (u64, u64)>,
    /// Checks, batches verified and disk reads.
    pub stats: LogStats,
}

impl Default for PartitionLogChecker {
    fn default() -> Self {
        Self {
            expected: (0..PARTITIONS).map(|_| Vec::new()).collect(),
            learned: 0,
            verified: BTreeMap::new(),
            stats: LogStats::default(),
        }
    }
}

fn violation(detail: String) -> Violation {
    Violation::new("partition-logs", detail)
}

impl PartitionLogChecker {
    /// Learns the `APPEND`s committed since the last call.
    pub fn catch_up(
        &mut self,
        commits: &CommitChecker,
        replies: &ReplyChecker,
    ) -> Result<(), Violation> {
        while let Some(header) = commits.history.get(self.learned) {
            self.learned += 1;
            if header.operation != APPEND {
                continue;
            }
            let key = (header.client, header.request, header.request_checksum);
            let Some(body) = replies.body(&key) else {
                return Err(violation(format!("op {} has no request body on record", header.op)));
            };
            // As the model: an empty body appends nothing.
            if let Some((&partition, payload)) = body.split_first() {
                self.expected[usize::from(partition) % PARTITIONS].push(Expected {
                    op: header.op,
                    timestamp: header.timestamp,
                    payload: payload.to_vec(),
                });
            }
        }
        Ok(())
    }

    /// Batches of `partition` committed at or below `op`.
    fn count_through(&self, partition: usize, op: u64) -> u64 {
        self.expected[partition].partition_point(|expected| expected.op <= op) as u64
    }

    /// Checks a running replica's logs as they are (reads from its cache and disk): every
    /// batch appended since the last check of the same log generation, or all of them.
    pub fn check(
        &mut self,
        replica_index: u8,
        replica: &Replica<SimStateMachine>,
    ) -> Result<(), Violation> {
        let machine = replica.state_machine();
        let Some(data) = &machine.data else { return Ok(()) };
        if let Some(problem) = &data.problem {
            return Err(violation(format!("replica {replica_index}: {problem}")));
        }
        let commit_min = replica.commit_min();
        for partition in 0..PARTITIONS {
            let log = &data.logs()[partition];
            log.check_invariants();
            let model = machine.model.next_offset[partition];
            let committed = self.count_through(partition, commit_min);
            if model != committed {
                return Err(violation(format!(
                    "replica {replica_index} partition {partition}: the model is at offset {model}, \
                     the history through op {commit_min} at {committed}"
                )));
            }
            if let Some(fault) = log.faults().first() {
                return Err(violation(format!(
                    "replica {replica_index} partition {partition}: faulty span in a live log: {fault:?}"
                )));
            }
            let generation = data.generation(partition);
            let from = match self.verified.get(&(replica_index, partition)) {
                Some(&(verified_generation, offset)) if verified_generation == generation => offset,
                _ => log.first_offset(),
            };
            let (batches, reads) = data.read_from(partition, from).map_err(|error| {
                violation(format!("replica {replica_index} partition {partition}: {error}"))
            })?;
            self.stats.disk_reads += reads;
            self.compare(Shown {
                replica: replica_index,
                catching_up: data.catching_up(partition),
                commit_min,
                partition,
                first_offset: log.first_offset(),
                next_offset: log.next_offset(),
                from: from.max(log.first_offset()),
                batches: &batches,
                source: "live log",
            })?;
            self.verified.insert((replica_index, partition), (generation, log.next_offset()));
        }
        self.stats.checks += 1;
        Ok(())
    }

    /// Compares what one partition's log showed with the committed history.
    pub fn compare(&mut self, shown: Shown<'_>) -> Result<(), Violation> {
        let Shown { replica, partition, source, .. } = shown;
        let (first, next, from) = (shown.first_offset, shown.next_offset, shown.from);
        let committed = self.count_through(partition, shown.commit_min);
        let at = |what: String| {
            violation(format!("replica {replica} partition {partition} ({source}): {what}"))
        };
        if next != committed && !(shown.catching_up && next < committed) {
            return Err(at(format!(
                "ends at offset {next}, but {committed} APPENDs to it committed through op {}",
                shown.commit_min
            )));
        }
        if first != 0 {
            return Err(at(format!("starts at offset {first}: offsets below it are lost")));
        }
        if from < first || from > next || shown.batches.len() as u64 != next - from {
            return Err(at(format!(
                "spans offsets {first}..{next} but reads back {} batches from {from}",
                shown.batches.len()
            )));
        }
        for (offset, batch) in (from..).zip(shown.batches) {
            let expected = &self.expected[partition][usize::try_from(offset).expect("fits")];
            let meta = BatchMeta {
                base_offset: offset,
                message_count: 1,
                base_timestamp_us: expected.timestamp,
                max_timestamp_us: expected.timestamp,
            };
            if batch.header.op != expected.op || batch.header.meta != meta {
                return Err(at(format!(
                    "offset {offset} holds op {} {:?}, the history says op {} {meta:?}",
                    batch.header.op, batch.header.meta, expected.op
                )));
            }
            if batch.payload[..] != expected.payload[..] {
                return Err(at(format!(
                    "offset {offset} (op {}) holds other bytes than the committed payload",
                    expected.op
                )));
            }
        }
        self.stats.batches_verified += shown.batches.len() as u64;
        Ok(())
    }
}
