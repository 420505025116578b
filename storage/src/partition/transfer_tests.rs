//! Export from one log, import into another: identical records and segment layout;
//! corrupt, torn, discontinuous, out-of-bound and misplaced input refused untouched.

use bytes::Bytes;

use super::*;
use crate::MemoryStorage;
use crate::partition::config::PartitionLogConfig;
use crate::partition::reader::{ReadOutcome, ReadStart};
use crate::partition::record::{BatchMeta, RecordError, StoredBatch};
use crate::partition::token_namespace;
use crate::storage::{IoDone, IoToken, execute};

fn config(directory: &str, namespace: u32, initial_offset: u64) -> PartitionLogConfig {
    PartitionLogConfig {
        segment_size_bytes: 16 * 1024,
        record_payload_size_max: 8 * 1024,
        write_chunk_bytes: 8 * 1024,
        cache_bytes_max: 4 * 1024,
        write_bytes_pending_max: 1 << 20,
        io_in_flight_max: 8,
        read_bytes_max: 32 * 1024,
        preallocate: false,
        initial_offset,
        ..PartitionLogConfig::new(directory, namespace)
    }
}

fn open(storage: &mut MemoryStorage, config: PartitionLogConfig) -> PartitionLog {
    PartitionLog::open(storage, config, &mut Vec::new()).unwrap().0
}

fn drive(storage: &mut MemoryStorage, logs: &mut [&mut PartitionLog]) {
    let mut completions = Vec::new();
    loop {
        storage.poll(&mut completions);
        if completions.is_empty() {
            return;
        }
        for completion in completions.drain(..) {
            let namespace = token_namespace(completion.token);
            let log = logs.iter_mut().find(|log| log.io_namespace() == namespace).unwrap();
            log.on_io_done(storage, completion).unwrap();
        }
    }
}

/// Appends `count` batches of varied sizes, three per op, from op `first_op`, with a
/// flush every seventh batch.
fn fill(storage: &mut MemoryStorage, log: &mut PartitionLog, count: usize, first_op: u64) {
    for index in 0..count {
        let length = 100 + (index * 397) % 2500;
        let payload: Vec<u8> = (0..length).map(|i| (i * 31 + index * 7) as u8).collect();
        let meta = BatchMeta {
            base_offset: log.next_offset(),
            message_count: 1 + (index % 4) as u32,
            base_timestamp_us: 1_000 * index as u64,
            max_timestamp_us: 1_000 * index as u64 + 5,
        };
        log.append(storage, first_op + index as u64 / 3, meta, Bytes::from(payload)).unwrap();
        if index % 7 == 3 {
            // Flushes pad the tail: the import must reproduce the padding.
            log.flush(storage).unwrap();
        }
        drive(storage, &mut [log]);
    }
    log.flush(storage).unwrap();
    drive(storage, &mut [log]);
}

/// One read from `offset` (memory or disk), verified.
fn read(storage: &mut MemoryStorage, log: &PartitionLog, offset: u64) -> Vec<StoredBatch> {
    match log.read(ReadStart::Offset(offset), 64 * 1024).unwrap() {
        ReadOutcome::Empty => Vec::new(),
        ReadOutcome::Batches(batches) => batches,
        ReadOutcome::Plan(plan) => {
            match execute(storage, IoToken(u64::MAX), plan.request(), &mut Vec::new()).unwrap() {
                Ok(IoDone::Read(buffer)) => plan.complete(buffer).unwrap(),
                other => panic!("{other:?}"),
            }
        }
    }
}

/// Exports `from..end` of `source` in runs of at most `bytes_max` bytes.
fn export_all(
    storage: &mut MemoryStorage,
    source: &PartitionLog,
    from: u64,
    end: u64,
    op_max: u64,
    bytes_max: usize,
) -> Vec<ExportedRecords> {
    let mut runs = Vec::new();
    let mut offset = from;
    while offset < end {
        let batches = read(storage, source, offset);
        let run = export_records(&batches, offset, end, op_max, bytes_max).unwrap();
        if run.count == 0 {
            break;
        }
        offset = run.next_offset;
        runs.push(run);
    }
    runs
}

fn all_batches(storage: &mut MemoryStorage, log: &PartitionLog) -> Vec<StoredBatch> {
    let mut batches = Vec::new();
    let mut offset = log.first_offset();
    while offset < log.next_offset() {
        let read = read(storage, log, offset);
        offset = read.last().unwrap().header.end_offset();
        batches.extend(read);
    }
    batches
}

#[test]
fn imported_log_is_identical_to_the_source_across_segments() {
    let mut storage = MemoryStorage::new();
    let mut source = open(&mut storage, config("a", 1, 0));
    fill(&mut storage, &mut source, 60, 1);
    assert!(source.segments().len() >= 3, "{:?}", source.segments());
    let end = source.next_offset();
    let runs = export_all(&mut storage, &source, 0, end, u64::MAX, 10 * 1024);
    assert!(runs.len() > 3, "bounded runs: {}", runs.len());
    assert!(runs.iter().all(|run| run.bytes.len() <= 10 * 1024 || run.count == 1));

    let mut copy = open(&mut storage, config("b", 2, 0));
    for run in &runs {
        copy.import_records(&mut storage, &Bytes::from(run.bytes.clone()), u64::MAX).unwrap();
        drive(&mut storage, &mut [&mut copy]);
    }
    copy.flush(&mut storage).unwrap();
    drive(&mut storage, &mut [&mut copy]);
    copy.check_invariants();
    assert_eq!(copy.segments(), source.segments(), "same segment layout");
    assert_eq!(copy.last_op(), source.last_op());
    assert_eq!(all_batches(&mut storage, &copy), all_batches(&mut storage, &source));
    // Appends continue the same way on both.
    fill(&mut storage, &mut source, 10, 100);
    fill(&mut storage, &mut copy, 10, 100);
    assert_eq!(copy.segments(), source.segments());
}

#[test]
fn import_into_a_log_starting_after_deleted_segments() {
    let mut storage = MemoryStorage::new();
    let mut source = open(&mut storage, config("a", 1, 0));
    fill(&mut storage, &mut source, 60, 1);
    source.delete_segments(&mut storage, 2).unwrap();
    let first = source.first_offset();
    assert!(first > 0);
    let end = source.next_offset();
    let mut copy = open(&mut storage, config("b", 2, first));
    for run in export_all(&mut storage, &source, first, end, u64::MAX, 10 * 1024) {
        copy.import_records(&mut storage, &Bytes::from(run.bytes), u64::MAX).unwrap();
        drive(&mut storage, &mut [&mut copy]);
    }
    assert_eq!(copy.segments(), source.segments());
}

#[test]
fn export_stops_at_the_op_bound_and_the_end_offset() {
    let mut storage = MemoryStorage::new();
    let mut source = open(&mut storage, config("a", 1, 0));
    fill(&mut storage, &mut source, 30, 1); // ops 1..=10
    let batches = all_batches(&mut storage, &source);
    let run = export_records(&batches, 0, u64::MAX, 4, usize::MAX).unwrap();
    assert_eq!(run.count, 12, "three batches per op, ops 1..=4");
    let end = batches[5].header.end_offset();
    let run = export_records(&batches, 0, end, u64::MAX, usize::MAX).unwrap();
    assert_eq!((run.count, run.next_offset), (6, end));
    // One record even when it alone exceeds bytes_max; then nothing past the bound.
    let run = export_records(&batches, 0, u64::MAX, u64::MAX, 1).unwrap();
    assert_eq!(run.count, 1);
    let inside = batches[2].header.meta.base_offset + 1;
    if batches[2].header.meta.message_count > 1 {
        assert_eq!(
            export_records(&batches, inside, u64::MAX, u64::MAX, 1),
            Err(ExportError::Misaligned(inside))
        );
    }
    // Refused by the import's op bound too.
    let copy = open(&mut storage, config("b", 2, 0));
    let all = export_records(&batches, 0, u64::MAX, u64::MAX, usize::MAX).unwrap();
    let refused = copy.verify_import(&Bytes::from(all.bytes), 4);
    assert!(matches!(refused, Err(ImportError::Op { index: 12, op: 5, .. })), "{refused:?}");
}

fn run_of_ten(storage: &mut MemoryStorage) -> (Vec<u8>, Vec<usize>) {
    let mut source = open(storage, config("a", 1, 0));
    fill(storage, &mut source, 10, 1);
    let batches = all_batches(storage, &source);
    let run = export_records(&batches, 0, u64::MAX, u64::MAX, usize::MAX).unwrap();
    let mut starts = Vec::new();
    let mut at = 0;
    for batch in &batches {
        starts.push(at);
        at += 64 + batch.payload.len();
    }
    (run.bytes, starts)
}

#[test]
fn corrupt_torn_and_discontinuous_input_is_refused_untouched() {
    let mut storage = MemoryStorage::new();
    let (bytes, starts) = run_of_ten(&mut storage);
    let mut copy = open(&mut storage, config("b", 2, 0));

    let mut corrupt = bytes.clone();
    corrupt[starts[4] + 100] ^= 0x40; // A payload byte of record 4.
    let refused = copy.import_records(&mut storage, &Bytes::from(corrupt), u64::MAX);
    assert!(
        matches!(
            refused,
            Err(ImportError::Record { index: 4, error: RecordError::Checksum { .. } })
        ),
        "{refused:?}"
    );
    assert_eq!(copy.next_offset(), 0, "nothing of a refused run is appended");

    let torn = &bytes[..bytes.len() - 7];
    let refused = copy.import_records(&mut storage, &Bytes::copy_from_slice(torn), u64::MAX);
    assert!(
        matches!(
            refused,
            Err(ImportError::Record { index: 9, error: RecordError::Truncated { .. } })
        ),
        "{refused:?}"
    );
    let garbage = [&bytes[..starts[3]], &[0xAB; 80][..]].concat();
    let refused = copy.import_records(&mut storage, &Bytes::from(garbage), u64::MAX);
    assert!(matches!(refused, Err(ImportError::Record { index: 3, .. })), "{refused:?}");

    let gap = [&bytes[..starts[2]], &bytes[starts[3]..]].concat();
    let refused = copy.import_records(&mut storage, &Bytes::from(gap), u64::MAX);
    assert!(matches!(refused, Err(ImportError::Discontinuous { index: 2, .. })), "{refused:?}");
    let late = Bytes::copy_from_slice(&bytes[starts[1]..]);
    let refused = copy.import_records(&mut storage, &late, u64::MAX);
    assert!(
        matches!(refused, Err(ImportError::Discontinuous { index: 0, expected: 0, .. })),
        "{refused:?}"
    );
    assert_eq!(
        copy.import_records(&mut storage, &Bytes::new(), u64::MAX),
        Err(ImportError::Count(0))
    );
    assert_eq!(copy.next_offset(), 0);
    copy.check_invariants();

    // The intact run goes in; the same run again overlaps and is refused.
    let intact = Bytes::from(bytes);
    copy.import_records(&mut storage, &intact, u64::MAX).unwrap();
    let again = copy.import_records(&mut storage, &intact, u64::MAX);
    assert!(matches!(again, Err(ImportError::Discontinuous { index: 0, .. })), "{again:?}");
}

#[test]
fn a_different_layout_still_imports_identical_records() {
    let mut storage = MemoryStorage::new();
    let mut source = open(&mut storage, config("a", 1, 0));
    fill(&mut storage, &mut source, 40, 1);
    let batches = all_batches(&mut storage, &source);
    let run = export_records(&batches, 0, u64::MAX, u64::MAX, usize::MAX).unwrap();
    let mut other = config("b", 2, 0);
    other.segment_size_bytes = 12 * 1024;
    let mut copy = open(&mut storage, other);
    copy.import_records(&mut storage, &Bytes::from(run.bytes), u64::MAX).unwrap();
    drive(&mut storage, &mut [&mut copy]);
    assert_ne!(copy.segments(), source.segments(), "rotated at its own size");
    let records = |batches: Vec<StoredBatch>| -> Vec<_> {
        batches.into_iter().map(|b| (b.header.op, b.header.meta, b.payload)).collect()
    };
    assert_eq!(records(all_batches(&mut storage, &copy)), records(batches));
}
