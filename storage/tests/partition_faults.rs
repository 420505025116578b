//! Crash and corruption tests of the partition log, each run against `MemoryStorage` and
//! (with the `io-uring` feature) `UringStorage` in a temp directory: a crash mid-append,
//! flipped bytes in every kind of file, truncated files, a misdirected write, latent read
//! errors, and seeded random corruption. Every case must be detected and classified with no
//! panic, no intact durable batch lost, and no corrupt batch served.

mod common;

use common::*;
use vireo_storage::Storage;
use vireo_storage::partition::record::RecordError;
use vireo_storage::partition::{
    FaultKind, IndexFile, IndexProblem, LogError, OpenError, PartitionLog, ReadError,
};
use vireo_storage::{IoError, SECTOR_SIZE};

fn build<D: Disk>(
    disk: &mut D,
    model: &mut Model,
    count: usize,
    preallocate: bool,
) -> PartitionLog {
    let (mut log, report) = open(disk.storage(), preallocate).expect("open empty");
    assert!(report.torn_tail.is_none() && report.faults.is_empty());
    append(disk.storage(), &mut log, model, count);
    flush(disk.storage(), &mut log);
    locate(disk.storage(), &log, model);
    assert!(log.segments().len() >= 3, "tests need sealed segments: {:?}", log.segments());
    log
}

fn location(model: &Model, index: usize) -> (u64, u64, u64) {
    model.batches[index].location.expect("located")
}

/// A batch in the middle of the first (sealed) segment.
fn middle_of_first_segment(log: &PartitionLog, model: &Model) -> usize {
    let first = log.segments()[0];
    let inside: Vec<usize> = (0..model.batches.len())
        .filter(|&i| model.batches[i].meta.base_offset < first.end_offset)
        .collect();
    inside[inside.len() / 2]
}

fn crash_mid_append<D: Disk>(disk: &mut D, preallocate: bool) {
    let mut model = Model::new(11);
    let mut log = build(disk, &mut model, 40, preallocate);
    let durable = log.durable_next_offset();
    let durable_count = model.batches.len();
    append(disk.storage(), &mut log, &mut model, 12);
    drive(disk.storage(), &mut log);
    locate(disk.storage(), &log, &mut model);
    let last_base = log.segments().last().unwrap().base_offset;
    drop(log);
    disk.restart();
    // The first batch past the durable point that lies in the last segment is torn in half
    // (its sectors only partly reached the disk), and nothing after it survives.
    let torn = (durable_count..model.batches.len())
        .find(|&i| location(&model, i).0 == last_base)
        .expect("post-flush batch in the last segment");
    let (_, position, size) = location(&model, torn);
    disk.edit(&log_name(last_base), &mut |bytes| bytes.truncate((position + size / 2) as usize));
    let (log, report) = open(disk.storage(), preallocate).expect("open after crash");
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    assert!(log.next_offset() >= durable, "durable batches lost");
    assert_eq!(
        log.next_offset(),
        model.batches[torn].meta.base_offset,
        "cut exactly at the torn batch"
    );
    let torn_tail = report.torn_tail.expect("torn tail reported");
    assert_eq!((torn_tail.segment_base_offset, torn_tail.position_bytes), (last_base, position));
    verify(disk.storage(), &log, &model, &|i| i < torn);
}

fn flipped_log_byte_is_a_reported_fault<D: Disk>(disk: &mut D) {
    let mut model = Model::new(12);
    let log = build(disk, &mut model, 60, false);
    let victim = middle_of_first_segment(&log, &model);
    let (base, position, size) = location(&model, victim);
    drop(log);
    disk.restart();
    disk.edit(&log_name(base), &mut |bytes| bytes[(position + 64 + size / 3) as usize] ^= 0x10);
    let (mut log, report) = open(disk.storage(), false).expect("open");
    assert!(report.torn_tail.is_none());
    assert_eq!(report.faults.len(), 1, "{:?}", report.faults);
    let fault = report.faults[0];
    assert_eq!(
        (fault.base_offset, fault.position_bytes),
        (model.batches[victim].meta.base_offset, position)
    );
    assert!(matches!(fault.kind, FaultKind::Corrupt(RecordError::Checksum { .. })));
    let offset = model.batches[victim].meta.base_offset;
    assert!(matches!(read_one(disk.storage(), &log, offset), Err(ReadError::Faulty { .. })));
    verify(disk.storage(), &log, &model, &|i| i != victim);
    // The consensus layer can roll back below the fault (then replay from its journal).
    log.truncate_after_op(disk.storage(), model.batches[victim].op - 1).unwrap();
    log.check_invariants();
    assert!(log.faults().is_empty());
    assert_eq!(log.next_offset(), offset);
}

fn flipped_index_bytes_are_rebuilt<D: Disk>(disk: &mut D) {
    let mut model = Model::new(13);
    let log = build(disk, &mut model, 60, false);
    let segments = log.segments();
    drop(log);
    disk.restart();
    disk.edit(&index_name(segments[0].base_offset), &mut |bytes| bytes[40] ^= 1);
    disk.edit(&time_index_name(segments[1].base_offset), &mut |bytes| bytes[3] ^= 0x80);
    let (log, report) = open(disk.storage(), false).expect("open");
    assert!(report.faults.is_empty() && report.torn_tail.is_none());
    let repairs: Vec<_> =
        report.index_repairs.iter().map(|r| (r.segment_base_offset, r.file, r.problem)).collect();
    assert_eq!(
        repairs,
        vec![
            (segments[0].base_offset, IndexFile::Offset, IndexProblem::Corrupt { entry_index: 2 }),
            (segments[1].base_offset, IndexFile::Time, IndexProblem::Corrupt { entry_index: 0 }),
        ]
    );
    verify(disk.storage(), &log, &model, &|_| true);
    drop(log);
    disk.restart();
    let (_, report) = open(disk.storage(), false).expect("reopen");
    assert!(
        report.index_repairs.is_empty(),
        "rebuilt indexes are intact: {:?}",
        report.index_repairs
    );
}

fn truncated_files<D: Disk>(disk: &mut D) {
    let mut model = Model::new(14);
    let log = build(disk, &mut model, 70, false);
    let segments = log.segments();
    drop(log);
    disk.restart();
    let half = segments[0].record_count / 2 * 16;
    disk.edit(&index_name(segments[0].base_offset), &mut |bytes| bytes.truncate(half));
    disk.edit(&time_index_name(segments[0].base_offset), &mut Vec::clear);
    // A sealed segment's log loses its second half: records there were durable, so this is
    // a fault (later segments hold valid records), never a silent cut.
    let cut = segments[1].size_bytes / 2;
    disk.edit(&log_name(segments[1].base_offset), &mut |bytes| bytes.truncate(cut as usize));
    let (log, report) = open(disk.storage(), false).expect("open");
    assert!(report.torn_tail.is_none());
    let problems: Vec<_> = report
        .index_repairs
        .iter()
        .filter(|r| r.segment_base_offset == segments[0].base_offset)
        .map(|r| r.problem)
        .collect();
    assert!(
        matches!(problems[0], IndexProblem::Lagging { entries_missing } if entries_missing > 0),
        "{problems:?}"
    );
    assert_eq!(problems[1], IndexProblem::Missing);
    assert_eq!(report.faults.len(), 1, "{:?}", report.faults);
    let fault = report.faults[0];
    assert_eq!(fault.segment_base_offset, segments[1].base_offset);
    assert_eq!(
        fault.base_offset + u64::from(fault.message_count),
        segments[2].base_offset,
        "fault spans to the next segment"
    );
    assert_eq!(
        log.next_offset(),
        model.batches.last().map(|b| b.meta.base_offset + u64::from(b.meta.message_count)).unwrap()
    );
    let lost = |i: usize| {
        let (base, position, size) = location(&model, i);
        base == segments[1].base_offset && position + size > cut
    };
    let served = verify(disk.storage(), &log, &model, &|i| !lost(i));
    assert_eq!(served, (0..model.batches.len()).filter(|&i| !lost(i)).count());
}

fn misdirected_write_is_classified<D: Disk>(disk: &mut D) {
    let mut model = Model::new(15);
    let log = build(disk, &mut model, 60, false);
    let victim = middle_of_first_segment(&log, &model);
    let (base, position, _) = location(&model, victim);
    let (source_base, source_position, source_size) = location(&model, victim + 2);
    assert_eq!(source_base, base);
    drop(log);
    disk.restart();
    let name = log_name(base);
    disk.edit(&name, &mut |bytes| {
        let source =
            bytes[source_position as usize..(source_position + source_size) as usize].to_vec();
        bytes[position as usize..(position + source_size) as usize].copy_from_slice(&source);
    });
    let (log, report) = open(disk.storage(), false).expect("open");
    assert_eq!(report.faults.len(), 1, "{:?}", report.faults);
    assert_eq!(
        report.faults[0].kind,
        FaultKind::Misdirected { claimed_position_bytes: source_position }
    );
    assert_eq!(report.faults[0].position_bytes, position);
    let overwritten = |i: usize| {
        let (b, p, s) = location(&model, i);
        b == base && p < position + source_size && p + s > position
    };
    verify(disk.storage(), &log, &model, &|i| !overwritten(i));
    assert!(read_one(disk.storage(), &log, model.batches[victim].meta.base_offset).is_err());
}

fn latent_read_errors<D: Disk>(disk: &mut D) {
    let mut model = Model::new(16);
    let log = build(disk, &mut model, 60, false);
    let victim = middle_of_first_segment(&log, &model);
    let (base, position, _) = location(&model, victim);
    let last_segment = *log.segments().last().unwrap();
    drop(log);
    disk.restart();
    // A sector inside a sealed segment cannot be read: its records are faulty, the rest of
    // the log is served.
    let sector = (position + 64) / SECTOR_SIZE as u64;
    let mut faulty = Faulty::new(disk.storage());
    faulty.bad_sectors.insert((log_name(base), sector));
    let (log, report) = open(&mut faulty, false).expect("open with a latent sector error");
    assert!(faulty.reads_failed > 0);
    assert!(report.faults.iter().any(|f| f.kind == FaultKind::Unreadable), "{:?}", report.faults);
    let in_sector = |i: usize| {
        let (b, p, s) = location(&model, i);
        b == base && p / SECTOR_SIZE as u64 <= sector && (p + s - 1) / SECTOR_SIZE as u64 >= sector
    };
    verify(&mut faulty, &log, &model, &|i| !in_sector(i));
    // A sector going bad after open: the planned read fails with a typed error.
    let other =
        (0..model.batches.len()).find(|&i| location(&model, i).0 == base && !in_sector(i)).unwrap();
    let (_, other_position, _) = location(&model, other);
    faulty.bad_sectors.insert((log_name(base), other_position / SECTOR_SIZE as u64));
    let error = read_one(&mut faulty, &log, model.batches[other].meta.base_offset).unwrap_err();
    assert!(
        matches!(error, ReadError::Io(IoError::Device(5)) | ReadError::Faulty { .. }),
        "{error}"
    );
    drop(log);
    // An unreadable tail cannot be proven torn: open refuses instead of cutting.
    faulty.bad_sectors.clear();
    let tail_sector = (last_segment.size_bytes - 1) / SECTOR_SIZE as u64;
    faulty.bad_sectors.insert((log_name(last_segment.base_offset), tail_sector));
    let error = open(&mut faulty, false).unwrap_err();
    assert!(
        matches!(error, OpenError::UnreadableTail { segment_base_offset, .. } if segment_base_offset == last_segment.base_offset),
        "{error}"
    );
}

fn write_error_fails_the_log<D: Disk>(disk: &mut D) {
    let mut model = Model::new(17);
    let mut log = build(disk, &mut model, 60, false);
    let durable = log.durable_next_offset();
    let durable_count = model.batches.len();
    let mut faulty = Faulty::new(disk.storage());
    faulty.fail_writes = true;
    let mut failed = None;
    for _ in 0..40 {
        let meta = vireo_storage::partition::BatchMeta {
            base_offset: log.next_offset(),
            message_count: 1,
            base_timestamp_us: 0,
            max_timestamp_us: 0,
        };
        match log.append(&mut faulty, 1000, meta, bytes::Bytes::from(vec![7; 3000])) {
            Ok(_) => {}
            Err(error) => {
                failed = Some(error);
                break;
            }
        }
        let mut completions = Vec::new();
        faulty.poll(&mut completions);
        for completion in completions {
            if let Err(error) = log.on_io_done(&mut faulty, completion) {
                failed.get_or_insert(error);
            }
        }
        if failed.is_some() {
            break;
        }
    }
    let expected = LogError::Failed(IoError::Device(5));
    assert_eq!(failed, Some(expected.clone()), "a failed write must surface");
    assert_eq!(log.flush(&mut faulty).unwrap_err(), expected, "and stick");
    drop(log);
    disk.restart();
    let (log, report) = open(disk.storage(), false).expect("reopen after the failure");
    assert!(report.faults.is_empty());
    assert!(log.next_offset() >= durable);
    verify(disk.storage(), &log, &model, &|i| i < durable_count);
}

fn random_corruption_never_serves_bad_data<D: Disk>(make: &dyn Fn() -> D, rounds: u64) {
    for seed in 0..rounds {
        let mut disk = make();
        let mut model = Model::new(1000 + seed);
        let log = build(&mut disk, &mut model, 70, seed % 2 == 0);
        let segments = log.segments();
        drop(log);
        disk.restart();
        let mut prng = Prng::new(seed);
        let mut flipped: Vec<(u64, u64)> = Vec::new(); // (segment base, position) in logs
        for _ in 0..1 + prng.below(6) {
            let segment = segments[prng.below(segments.len() as u64) as usize].base_offset;
            let kind = prng.below(3);
            let name = match kind {
                0 => log_name(segment),
                1 => index_name(segment),
                _ => time_index_name(segment),
            };
            let length = disk.read_file(&name).len() as u64;
            if length == 0 {
                continue;
            }
            let at = prng.below(length);
            let bit = 1_u8 << prng.below(8);
            disk.edit(&name, &mut |bytes| bytes[at as usize] ^= bit);
            if kind == 0 {
                flipped.push((segment, at));
            }
        }
        let (log, report) =
            open(disk.storage(), seed % 2 == 0).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let intact = |i: usize| {
            let (b, p, s) = location(&model, i);
            !flipped.iter().any(|&(fb, fp)| fb == b && fp >= p && fp < p + s)
        };
        verify(disk.storage(), &log, &model, &|i| intact(i));
        for fault in &report.faults {
            assert!(
                flipped.iter().any(|&(b, _)| b == fault.segment_base_offset),
                "seed {seed}: fault without a flip: {fault:?}"
            );
        }
        log.check_invariants();
    }
}

macro_rules! on_both_disks {
    ($($name:ident => $body:expr;)*) => {
        mod memory {
            use super::*;
            $( #[test] fn $name() { let f: &dyn Fn(&mut MemoryDisk) = &$body; f(&mut MemoryDisk::new()); } )*
            #[test] fn random_corruption() { random_corruption_never_serves_bad_data(&MemoryDisk::new, 150); }
        }
        #[cfg(feature = "io-uring")]
        mod uring {
            use super::*;
            $( #[test] fn $name() { let f: &dyn Fn(&mut UringDisk) = &$body; f(&mut UringDisk::new(stringify!($name))); } )*
            #[test] fn random_corruption() { random_corruption_never_serves_bad_data(&|| UringDisk::new("random"), 12); }
        }
    };
}

on_both_disks! {
    crash_mid_append_cuts_only_the_torn_tail => |d| crash_mid_append(d, false);
    crash_mid_append_preallocated => |d| crash_mid_append(d, true);
    flipped_log_byte => flipped_log_byte_is_a_reported_fault;
    flipped_index_bytes => flipped_index_bytes_are_rebuilt;
    truncated_files_are_repaired_or_reported => truncated_files;
    misdirected_write => misdirected_write_is_classified;
    latent_read_errors_are_classified => latent_read_errors;
    write_error_fails_the_log_for_good => write_error_fails_the_log;
}
