//! Partition log over `MemoryStorage`: appends, reads (memory and planned), flush,
//! rotation, reopen, truncation, retention, backpressure. `check_invariants` after every
//! step.

use bytes::Bytes;

use super::*;
use crate::MemoryStorage;
use crate::partition::error::ReadError;
use crate::partition::reader::{ReadOutcome, ReadStart};
use crate::partition::record::StoredBatch;
use crate::partition::recovery::{IndexProblem, RecoveryReport};
use crate::partition::retention::RetentionPolicy;
use crate::partition::token_namespace;
use crate::storage::{IoToken, execute};

pub(crate) fn small_config() -> PartitionLogConfig {
    PartitionLogConfig {
        segment_size_bytes: 64 * 1024,
        record_payload_size_max: 8 * 1024,
        write_chunk_bytes: 8 * 1024,
        cache_bytes_max: 4 * 1024,
        write_bytes_pending_max: 128 * 1024,
        io_in_flight_max: 8,
        read_bytes_max: 32 * 1024,
        preallocate: false,
        ..PartitionLogConfig::new("streams/1/topics/1/partitions/0", 7)
    }
}

struct Harness {
    storage: MemoryStorage,
    log: PartitionLog,
    /// What was appended: (op, meta, payload).
    model: Vec<(u64, BatchMeta, Bytes)>,
    /// Completions of I/O that is not the log's (a shared storage).
    foreign: usize,
}

fn payload(index: usize) -> Bytes {
    let length = 50 + (index * 397) % 3000;
    Bytes::from((0..length).map(|i| (i * 31 + index * 7) as u8).collect::<Vec<u8>>())
}

impl Harness {
    fn new(config: PartitionLogConfig) -> Self {
        let mut storage = MemoryStorage::new();
        let (log, report) = PartitionLog::open(&mut storage, config, &mut Vec::new()).unwrap();
        assert_eq!(
            report,
            RecoveryReport { segment_count: 1, next_offset: 0, ..Default::default() }
        );
        Self { storage, log, model: Vec::new(), foreign: 0 }
    }

    fn drive(&mut self) {
        let mut completions = Vec::new();
        loop {
            self.storage.poll(&mut completions);
            if completions.is_empty() {
                break;
            }
            for completion in completions.drain(..) {
                if token_namespace(completion.token) != 7 {
                    self.foreign += 1;
                    continue;
                }
                self.log.on_io_done(&mut self.storage, completion).unwrap();
                self.log.check_invariants();
            }
            // Capacity freed by other owners' completions: let the log use it.
            self.log.pump(&mut self.storage);
        }
    }

    fn append(&mut self, count: usize) {
        for _ in 0..count {
            let index = self.model.len();
            let op = 1 + index as u64 / 3; // Several batches per op.
            let meta = BatchMeta {
                base_offset: self.log.next_offset(),
                message_count: 1 + (index % 5) as u32,
                base_timestamp_us: 1_000 * index as u64,
                max_timestamp_us: 1_000 * index as u64 + 10,
            };
            let payload = payload(index);
            self.log.append(&mut self.storage, op, meta, payload.clone()).unwrap();
            self.log.check_invariants();
            self.model.push((op, meta, payload));
            if index.is_multiple_of(7) {
                self.drive();
            }
        }
    }

    fn flush(&mut self) {
        let target = self.log.flush(&mut self.storage).unwrap();
        self.drive();
        assert_eq!(self.log.durable_next_offset(), target);
        self.log.check_invariants();
    }

    /// Executes a read, planned or not.
    fn read(&mut self, start: ReadStart, bytes_max: u32) -> Result<Vec<StoredBatch>, ReadError> {
        self.read_messages(start, bytes_max, u32::MAX)
    }

    /// Executes a read bounded by messages too, planned or not.
    fn read_messages(
        &mut self,
        start: ReadStart,
        bytes_max: u32,
        messages_max: u32,
    ) -> Result<Vec<StoredBatch>, ReadError> {
        match self.log.read_messages(start, bytes_max, messages_max)? {
            ReadOutcome::Empty => Ok(Vec::new()),
            ReadOutcome::Batches(batches) => Ok(batches),
            ReadOutcome::Plan(plan) => {
                let done =
                    execute(&mut self.storage, IoToken(u64::MAX), plan.request(), &mut Vec::new());
                match done.unwrap() {
                    Ok(IoDone::Read(buffer)) => plan.complete(buffer),
                    Ok(other) => panic!("{other:?}"),
                    Err(error) => Err(ReadError::Io(error)),
                }
            }
        }
    }

    /// Reads the whole log batch by batch and compares with the model from `first`.
    fn verify_all(&mut self, first: usize) {
        let mut offset = self.model.get(first).map_or(self.log.next_offset(), |m| m.1.base_offset);
        let mut index = first;
        while offset < self.log.next_offset() {
            let batches = self.read(ReadStart::Offset(offset), 10_000).unwrap();
            assert!(!batches.is_empty());
            for batch in batches {
                let (op, meta, payload) = &self.model[index];
                assert_eq!(batch.header.meta, *meta);
                assert_eq!(batch.header.op, *op);
                assert_eq!(&batch.payload, payload);
                offset = batch.header.end_offset();
                index += 1;
            }
        }
        assert_eq!(index, self.model.len());
    }

    fn reopen(&mut self) -> RecoveryReport {
        self.storage = self.storage.restarted();
        let config = self.log.config().clone();
        let (log, report) = PartitionLog::open(&mut self.storage, config, &mut Vec::new()).unwrap();
        self.log = log;
        self.log.check_invariants();
        report
    }
}

#[test]
fn append_read_across_segments_from_memory_and_disk() {
    let mut h = Harness::new(small_config());
    h.append(120);
    assert!(h.log.segments().len() >= 3, "rotation happened: {:?}", h.log.segments());
    assert!(h.log.segments().iter().rev().skip(1).all(|s| s.sealed && s.size_bytes <= 64 * 1024));
    h.flush();
    h.verify_all(0);
    // Offsets inside a batch find the batch.
    let (_, meta, _) = h.model[10];
    let inner = meta.base_offset + u64::from(meta.message_count) - 1;
    let batches = h.read(ReadStart::Offset(inner), 1).unwrap();
    assert_eq!(batches[0].header.meta, meta);
    assert_eq!(batches.len(), 1, "bytes_max below one batch still returns one");
    assert_eq!(h.read(ReadStart::First, 1).unwrap()[0].header.meta.base_offset, 0);
    let last = h.read(ReadStart::Last, 1).unwrap();
    assert_eq!(last[0].header.meta, h.model.last().unwrap().1);
    assert!(h.read(ReadStart::Offset(h.log.next_offset()), 1).unwrap().is_empty());
    // By time: the first batch whose max timestamp reaches t.
    let batches = h.read(ReadStart::Timestamp(50_005), 1).unwrap();
    assert_eq!(batches[0].header.meta, h.model[50].1);
    assert!(h.read(ReadStart::Timestamp(u64::MAX), 1).unwrap().is_empty());
    // Recent batches come from memory, older ones need a plan.
    assert!(matches!(h.log.read(ReadStart::Last, 1).unwrap(), ReadOutcome::Batches(_)));
    assert!(matches!(h.log.read(ReadStart::First, 1).unwrap(), ReadOutcome::Plan(_)));
}

#[test]
fn reads_stop_at_the_messages_asked_for_on_disk_and_in_memory() {
    let mut h = Harness::new(PartitionLogConfig { cache_bytes_max: 32 * 1024, ..small_config() });
    h.append(120);
    h.flush();
    let cached = h.model.iter().position(|m| m.1.base_offset >= h.log.cache.first_offset());
    let cached = cached.expect("recent batches are cached");
    assert!(cached > 20 && cached + 8 < h.model.len(), "old batches on disk, recent cached");
    for first in [10, cached + 2] {
        let on_disk = first < cached;
        let (_, meta, _) = h.model[first];
        let plan = h.log.read_messages(ReadStart::Offset(meta.base_offset), 1 << 20, 1).unwrap();
        assert_eq!(matches!(plan, ReadOutcome::Plan(_)), on_disk);
        // One message: one batch, however many bytes would fit.
        let one = h.read_messages(ReadStart::Offset(meta.base_offset), 1 << 20, 1).unwrap();
        assert_eq!(one.len(), 1, "from disk: {on_disk}");
        assert_eq!(one[0].header.meta, meta);
        // Starting on the batch's last message, one more message needs the next batch.
        let last = meta.base_offset + u64::from(meta.message_count) - 1;
        let two = h.read_messages(ReadStart::Offset(last), 1 << 20, 2).unwrap();
        assert_eq!(two.len(), 2, "from disk: {on_disk}");
        assert_eq!(two[1].header.meta, h.model[first + 1].1);
        // Exactly the messages of three whole batches: three batches.
        let wanted: u32 = h.model[first..first + 3].iter().map(|m| m.1.message_count).sum();
        let three = h.read_messages(ReadStart::Offset(meta.base_offset), 1 << 20, wanted).unwrap();
        assert_eq!(three.len(), 3, "from disk: {on_disk}");
        // Unbounded by messages, the same read takes more (the bytes limit rules).
        let more = h.read(ReadStart::Offset(meta.base_offset), 1 << 20).unwrap();
        assert!(more.len() > 3, "from disk: {on_disk}");
    }
}

#[test]
fn flush_is_durable_only_after_its_syncs_complete() {
    let mut h = Harness::new(small_config());
    h.append(10);
    h.drive();
    let target = h.log.flush(&mut h.storage).unwrap();
    assert_eq!(target, h.log.next_offset());
    assert_eq!(h.log.durable_next_offset(), 0, "syncs not yet completed");
    assert!(!h.log.is_quiet());
    h.drive();
    assert_eq!(h.log.durable_next_offset(), target);
    assert!(h.log.is_quiet());
    // Appends after the flush are not covered by it.
    h.append(3);
    assert_eq!(h.log.durable_next_offset(), target);
    h.flush();
}

#[test]
fn reopen_after_flush_is_clean_and_identical() {
    let mut h = Harness::new(small_config());
    h.append(90);
    h.flush();
    let segments = h.log.segments();
    let report = h.reopen();
    assert_eq!(report.torn_tail, None);
    assert!(report.faults.is_empty());
    assert!(report.index_repairs.is_empty(), "{:?}", report.index_repairs);
    assert_eq!(h.log.segments(), segments);
    assert_eq!(h.log.durable_next_offset(), h.log.next_offset());
    h.verify_all(0);
    // Appending continues after the flush padding.
    h.append(20);
    h.flush();
    h.reopen();
    h.verify_all(0);
}

#[test]
fn reopened_sealed_segments_hold_no_staging_chunks() {
    // Recovery used to build every sealed segment like an open one: both index writers
    // kept a staging chunk (2 * INDEX_CHUNK_BYTES per sealed segment after a restart).
    let mut h = Harness::new(small_config());
    h.append(120);
    h.flush();
    h.reopen();
    let sealed: Vec<&Segment> = h.log.segments.iter().filter(|s| s.sealed).collect();
    assert!(sealed.len() >= 2, "rotation happened");
    for segment in sealed {
        assert!(segment.writers().iter().all(|writer| !writer.holds_staging()));
    }
    // The open segment still appends; reads, rotation and another reopen still work.
    h.append(60);
    h.flush();
    h.verify_all(0);
    h.reopen();
    h.verify_all(0);
}

#[test]
fn unflushed_tail_is_cut_on_reopen_and_durable_prefix_kept() {
    let mut h = Harness::new(small_config());
    h.append(30);
    h.flush();
    let durable = h.log.durable_next_offset();
    h.append(25); // Full chunks get written, the staged partial chunk does not.
    h.drive();
    let report = h.reopen();
    assert!(h.log.next_offset() >= durable);
    let kept = h.model.iter().take_while(|m| m.1.base_offset < h.log.next_offset()).count();
    assert!(kept < h.model.len(), "the staged tail was never written");
    if let Some(torn) = report.torn_tail {
        assert!(torn.garbage, "a record half in a written chunk is torn garbage");
    }
    assert!(report.faults.is_empty());
    h.model.truncate(kept);
    h.verify_all(0);
    assert!(report.index_repairs.iter().all(|r| matches!(
        r.problem,
        IndexProblem::Lagging { .. } | IndexProblem::Ahead { .. } | IndexProblem::Missing
    )));
}

#[test]
fn truncate_after_op_cuts_later_records_durably() {
    let mut h = Harness::new(small_config());
    h.append(120);
    assert!(matches!(h.log.truncate_after_op(&mut h.storage, 10), Err(LogError::Busy)));
    h.flush();
    let outcome = h.log.truncate_after_op(&mut h.storage, 10).unwrap();
    h.log.check_invariants();
    let kept = h.model.iter().filter(|m| m.0 <= 10).count();
    assert_eq!(h.log.next_offset(), h.model[kept].1.base_offset);
    assert_eq!(outcome.next_offset, h.log.next_offset());
    assert!(outcome.segments_removed > 0);
    assert_eq!(h.log.last_op(), 10);
    h.model.truncate(kept);
    h.verify_all(0);
    // Idempotent, and a later append continues the log.
    assert_eq!(h.log.truncate_after_op(&mut h.storage, 10).unwrap().records_removed, 0);
    h.append(40);
    h.flush();
    let report = h.reopen();
    assert!(report.torn_tail.is_none() && report.faults.is_empty());
    h.verify_all(0);
    // Truncating everything leaves an empty log at the first base.
    h.log.truncate_after_op(&mut h.storage, 0).unwrap();
    assert_eq!(h.log.next_offset(), 0);
    h.log.check_invariants();
    h.reopen();
    assert_eq!(h.log.next_offset(), 0);
}

#[test]
fn retention_by_size_age_count_and_purge() {
    let mut h = Harness::new(small_config());
    h.append(150);
    h.flush();
    let before = h.log.segments();
    let deleted = h.log.delete_segments(&mut h.storage, 1).unwrap();
    assert_eq!(deleted.segments_deleted, 1);
    assert_eq!(h.log.first_offset(), before[1].base_offset);
    h.log.check_invariants();
    let total = h.log.size_bytes();
    let policy = RetentionPolicy { message_expiry_us: None, max_size_bytes: Some(total / 2) };
    let outcome = h.log.enforce_retention(&mut h.storage, 0, &policy).unwrap();
    assert!(outcome.segments_deleted >= 1);
    assert!(h.log.size_bytes() <= total / 2 || h.log.segments().len() == 1);
    h.log.check_invariants();
    // By age: everything older than the last segment's messages.
    let newest = h.model.last().unwrap().1.max_timestamp_us;
    let policy = RetentionPolicy { message_expiry_us: Some(1), max_size_bytes: None };
    h.log.enforce_retention(&mut h.storage, newest + 2, &policy).unwrap();
    assert_eq!(h.log.segments().len(), 1, "only the open segment survives");
    h.log.check_invariants();
    let first = h.model.iter().position(|m| m.1.base_offset == h.log.first_offset()).unwrap();
    h.verify_all(first);
    // Reads below the first offset start at it.
    let batches = h.read(ReadStart::Offset(0), 1).unwrap();
    assert_eq!(batches[0].header.meta.base_offset, h.log.first_offset());
    let next = h.log.next_offset();
    h.log.purge(&mut h.storage).unwrap();
    assert_eq!((h.log.first_offset(), h.log.next_offset(), h.log.size_bytes()), (next, next, 0));
    h.log.check_invariants();
    let report = h.reopen();
    assert_eq!(report.next_offset, next);
    assert_eq!(h.storage.list().unwrap().len(), 3);
}

#[test]
fn backpressure_bounds_pending_writes() {
    let mut config = small_config();
    config.write_bytes_pending_max = 32 * 1024;
    config.segment_size_bytes = 1024 * 1024;
    let mut h = Harness::new(config);
    let meta = |offset| BatchMeta {
        base_offset: offset,
        message_count: 1,
        base_timestamp_us: 0,
        max_timestamp_us: 0,
    };
    let big = Bytes::from(vec![1_u8; 4000]);
    let mut refused = false;
    for _ in 0..20 {
        match h.log.append(&mut h.storage, 1, meta(h.log.next_offset()), big.clone()) {
            Ok(_) => {}
            Err(LogError::Backpressure { .. }) => {
                refused = true;
                break;
            }
            Err(other) => panic!("{other}"),
        }
        h.log.check_invariants();
    }
    assert!(refused, "appends without completions must hit backpressure");
    h.drive();
    h.log.append(&mut h.storage, 1, meta(h.log.next_offset()), big).unwrap();
    let error =
        h.log.append(&mut h.storage, 1, meta(h.log.next_offset()), Bytes::from(vec![0; 9000]));
    assert!(matches!(error, Err(LogError::PayloadTooLarge { .. })));
}

#[test]
#[should_panic(expected = "append must continue the log")]
fn append_with_a_gap_is_a_bug() {
    let mut h = Harness::new(small_config());
    let meta =
        BatchMeta { base_offset: 5, message_count: 1, base_timestamp_us: 0, max_timestamp_us: 0 };
    let _ = h.log.append(&mut h.storage, 1, meta, Bytes::from_static(b"x"));
}

#[test]
fn shared_storage_queue_full_defers_writes_until_pumped() {
    let mut h = Harness::new(small_config());
    // Someone else's I/O occupies the whole shared queue.
    let file = h.storage.open("other", OpenMode::Create).unwrap();
    let mut foreign = 0;
    while h.storage.submit_capacity() > 0 {
        h.storage.submit(IoToken(1), IoRequest::Sync { file }).unwrap();
        foreign += 1;
    }
    for index in 0..6 {
        let meta = BatchMeta {
            base_offset: h.log.next_offset(),
            message_count: 1,
            base_timestamp_us: 0,
            max_timestamp_us: 0,
        };
        let payload = payload(index);
        h.log.append(&mut h.storage, 1, meta, payload.clone()).unwrap();
        h.model.push((1, meta, payload));
        h.log.check_invariants();
    }
    let name = "streams/1/topics/1/partitions/0/00000000000000000000.log";
    assert!(h.storage.bytes(name).unwrap().is_empty(), "no write fits the full queue");
    assert!(!h.log.is_quiet());
    h.flush();
    assert_eq!(h.foreign, foreign);
    assert!(!h.storage.bytes(name).unwrap().is_empty());
    h.verify_all(0);
}

#[test]
fn hostile_segment_names_are_typed_errors() {
    let mut storage = MemoryStorage::new();
    let directory = small_config().directory;
    let far = 1_u64 << 40;
    for base in [0, far] {
        let name = format!("{directory}/{base:020}.log");
        let file = storage.open(&name, OpenMode::Create).unwrap();
        storage.close(file).unwrap();
    }
    // A valid record in the far segment: the offsets in between cannot be represented.
    let meta =
        BatchMeta { base_offset: far, message_count: 1, base_timestamp_us: 0, max_timestamp_us: 0 };
    let mut record = crate::partition::record::encode_header(1, &meta, 0, b"x").to_vec();
    record.push(b'x');
    *storage.bytes_mut(&format!("{directory}/{far:020}.log")).unwrap() = record;
    let error = PartitionLog::open(&mut storage, small_config(), &mut Vec::new()).unwrap_err();
    let expected =
        crate::partition::OpenError::SegmentGap { segment_base_offset: 0, next_base_offset: far };
    assert_eq!(error, expected);
}

#[derive(Debug, Clone)]
enum Step {
    Append(u8),
    Drive,
    Flush,
    /// Clean restart after a flush.
    Reopen,
    /// Restart without a flush: unwritten appends are lost, never more.
    Crash,
    TruncateAfterOp(u8),
    DeleteSegments(u8),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (1_u8..12).prop_map(Step::Append),
        2 => Just(Step::Drive),
        1 => Just(Step::Flush),
        1 => Just(Step::Reopen),
        1 => Just(Step::Crash),
        1 => any::<u8>().prop_map(Step::TruncateAfterOp),
        1 => (1_u8..3).prop_map(Step::DeleteSegments),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    /// Any sequence of appends, flushes, restarts, crashes, truncations and segment
    /// deletions leaves a log that reads back exactly the model, with every invariant.
    #[test]
    fn random_operations_match_the_model(steps in proptest::collection::vec(step(), 1..30)) {
        let mut h = Harness::new(small_config());
        for step in steps {
            match step {
                Step::Append(count) => h.append(usize::from(count)),
                Step::Drive => h.drive(),
                Step::Flush => h.flush(),
                Step::Reopen => {
                    h.flush();
                    let report = h.reopen();
                    assert!(report.torn_tail.is_none() && report.faults.is_empty());
                }
                Step::Crash => {
                    let durable = h.log.durable_next_offset();
                    let report = h.reopen();
                    assert!(report.faults.is_empty(), "{:?}", report.faults);
                    assert!(h.log.next_offset() >= durable, "durable batches lost");
                    let next = h.log.next_offset();
                    h.model.retain(|m| m.1.base_offset < next);
                }
                Step::TruncateAfterOp(op) => {
                    h.flush();
                    h.log.truncate_after_op(&mut h.storage, u64::from(op)).unwrap();
                    let next = h.log.next_offset();
                    h.model.retain(|m| m.1.base_offset < next);
                    let first = h.log.first_offset();
                    let mut kept = h.model.iter().filter(|m| m.1.base_offset >= first);
                    assert!(kept.all(|m| m.0 <= u64::from(op)));
                }
                Step::DeleteSegments(count) => {
                    h.drive();
                    h.log.delete_segments(&mut h.storage, usize::from(count)).unwrap();
                }
            }
            h.log.check_invariants();
        }
        h.flush();
        let first = h.model.iter().position(|m| m.1.base_offset >= h.log.first_offset());
        h.verify_all(first.unwrap_or(h.model.len()));
    }
}
