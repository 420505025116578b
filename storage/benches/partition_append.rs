//! Partition-log throughput through `UringStorage`, next to the raw O_DIRECT bandwidth of
//! the same machine measured the same way.
//!
//! * raw write: io_uring O_DIRECT writes of one record's size (rounded to sectors) to a
//!   preallocated file, `QUEUE_DEPTH` in flight, then one fdatasync;
//! * log append: 1000 messages x 1 KiB per batch (a ~1 MiB record), appended through a
//!   `PartitionLog` (segments preallocated, rotation included), then flush;
//! * recovery: reopening the log, which scans and verifies every record;
//! * raw read / log read: the same sizes read back with `QUEUE_DEPTH` in flight; log reads
//!   are cold (planned) reads verified by crc32c.
//!
//! Run: `cargo bench -p vireo-storage --features io-uring --bench partition_append`
//! (`VIREO_BENCH_MIB` sets the data size, default 2048; `VIREO_BENCH_DIR` the parent
//! directory, default /tmp). The data directory is deleted at the end.
//!
//! Last run (2-core dev VM, other jobs running; medians of 5 rounds of 2 GiB): raw write
//! 1927 MB/s, append 1651 MB/s (85.7%); raw read 981 MB/s, cold log read 1027 MB/s
//! (104.8%); recovery scan 1083 MB/s. Round-to-round spread on this VM is about ±15%.

#![allow(clippy::disallowed_methods)] // A benchmark measures wall-clock time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use vireo_storage::partition::{
    BatchMeta, LogError, PartitionLog, PartitionLogConfig, ReadOutcome, ReadStart,
};
use vireo_storage::{
    AlignedBuffer, Completion, IoDone, IoRequest, IoToken, OpenMode, Storage, UringConfig,
    UringStorage, round_up,
};

const MESSAGE_COUNT: u32 = 1000;
const MESSAGE_BYTES: usize = 1024;
const PAYLOAD_BYTES: usize = MESSAGE_COUNT as usize * MESSAGE_BYTES;
const QUEUE_DEPTH: u32 = 8;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

fn storage(root: &std::path::Path) -> UringStorage {
    let config = UringConfig { queue_depth: 64, direct_io: true };
    UringStorage::new(root, &config).expect("io_uring storage")
}

fn complete_all(storage: &mut UringStorage, completions: &mut Vec<Completion>) -> usize {
    storage.wait(completions);
    let n = completions.len();
    for completion in completions.drain(..) {
        assert!(completion.result.is_ok(), "raw I/O failed: {:?}", completion.result);
    }
    n
}

/// Raw O_DIRECT writes then reads of `count` buffers of `size` bytes.
fn raw(root: &std::path::Path, size: usize, count: usize) -> (Duration, Duration) {
    let mut storage = storage(root);
    let file = storage.open("raw/data", OpenMode::Create).unwrap();
    storage.set_file_size(file, (size * count) as u64).unwrap();
    assert!(storage.is_direct(file).unwrap(), "the bench needs O_DIRECT");
    let mut buffers: Vec<AlignedBuffer> = (0..QUEUE_DEPTH)
        .map(|_| {
            let mut buffer = AlignedBuffer::zeroed(size);
            buffer.iter_mut().enumerate().for_each(|(i, b)| *b = (i * 7) as u8);
            buffer
        })
        .collect();
    let mut completions = Vec::new();
    let start = Instant::now();
    let (mut submitted, mut done) = (0, 0);
    while done < count {
        while submitted < count && submitted - done < QUEUE_DEPTH as usize {
            let buffer = buffers.pop().expect("a free buffer");
            let request =
                IoRequest::Write { file, offset_bytes: (submitted * size) as u64, buffer };
            storage.submit(IoToken(submitted as u64), request).unwrap();
            submitted += 1;
        }
        storage.wait(&mut completions);
        for completion in completions.drain(..) {
            let Ok(IoDone::Write(buffer)) = completion.result else { panic!("raw write failed") };
            buffers.push(buffer);
            done += 1;
        }
    }
    storage.submit(IoToken(u64::MAX), IoRequest::Sync { file }).unwrap();
    complete_all(&mut storage, &mut completions);
    let write = start.elapsed();
    let start = Instant::now();
    let (mut submitted, mut done) = (0, 0);
    while done < count {
        while submitted < count && submitted - done < QUEUE_DEPTH as usize {
            let buffer = buffers.pop().expect("a free buffer");
            let request = IoRequest::Read { file, offset_bytes: (submitted * size) as u64, buffer };
            storage.submit(IoToken(submitted as u64), request).unwrap();
            submitted += 1;
        }
        storage.wait(&mut completions);
        for completion in completions.drain(..) {
            let Ok(IoDone::Read(buffer)) = completion.result else { panic!("raw read failed") };
            buffers.push(buffer);
            done += 1;
        }
    }
    let read = start.elapsed();
    storage.remove("raw/data").unwrap();
    (write, read)
}

fn config() -> PartitionLogConfig {
    PartitionLogConfig {
        segment_size_bytes: 256 * 1024 * 1024,
        write_chunk_bytes: 1024 * 1024,
        cache_bytes_max: 8 * 1024 * 1024,
        write_bytes_pending_max: 32 * 1024 * 1024,
        io_in_flight_max: QUEUE_DEPTH,
        record_payload_size_max: 2 * 1024 * 1024,
        read_bytes_max: 4 * 1024 * 1024,
        preallocate: true,
        ..PartitionLogConfig::new("bench/partition", 1)
    }
}

fn drive(storage: &mut UringStorage, log: &mut PartitionLog, block: bool) {
    let mut completions = Vec::new();
    if block {
        storage.wait(&mut completions);
    } else {
        storage.poll(&mut completions);
    }
    for completion in completions {
        log.on_io_done(storage, completion).expect("log I/O");
    }
}

fn append(root: &std::path::Path, count: usize) -> Duration {
    let mut storage = storage(root);
    let (mut log, _) = PartitionLog::open(&mut storage, config(), &mut Vec::new()).unwrap();
    let payload: Bytes =
        (0..PAYLOAD_BYTES).map(|i| (i * 13 + i / 1024) as u8).collect::<Vec<u8>>().into();
    let start = Instant::now();
    for index in 0..count {
        let meta = BatchMeta {
            base_offset: log.next_offset(),
            message_count: MESSAGE_COUNT,
            base_timestamp_us: index as u64,
            max_timestamp_us: index as u64,
        };
        loop {
            match log.append(&mut storage, index as u64, meta, payload.clone()) {
                Ok(_) => break,
                Err(LogError::Backpressure { .. }) => drive(&mut storage, &mut log, true),
                Err(other) => panic!("append failed: {other}"),
            }
        }
        drive(&mut storage, &mut log, false);
    }
    let appended = start.elapsed();
    let target = log.flush(&mut storage).unwrap();
    while log.durable_next_offset() < target {
        drive(&mut storage, &mut log, true);
    }
    let elapsed = start.elapsed();
    if std::env::var_os("VIREO_BENCH_VERBOSE").is_some() {
        println!("  appends queued after {appended:?}, flushed after {elapsed:?}");
    }
    log.check_invariants();
    elapsed
}

fn recover_and_read(root: &std::path::Path, count: usize) -> (Duration, Duration) {
    let mut storage = storage(root);
    let start = Instant::now();
    let (log, report) = PartitionLog::open(&mut storage, config(), &mut Vec::new()).unwrap();
    let recovery = start.elapsed();
    assert!(report.faults.is_empty() && report.torn_tail.is_none());
    assert_eq!(log.next_offset(), count as u64 * u64::from(MESSAGE_COUNT));
    let start = Instant::now();
    let mut in_flight = std::collections::BTreeMap::new();
    let mut completions = Vec::new();
    let (mut next, mut verified) = (0_usize, 0_usize);
    while verified < count {
        while next < count && in_flight.len() < QUEUE_DEPTH as usize {
            let offset = next as u64 * u64::from(MESSAGE_COUNT);
            let ReadOutcome::Plan(plan) = log.read(ReadStart::Offset(offset), 1).unwrap() else {
                panic!("a reopened log reads from disk");
            };
            storage.submit(IoToken(next as u64), plan.request()).unwrap();
            in_flight.insert(next as u64, plan);
            next += 1;
        }
        storage.wait(&mut completions);
        for completion in completions.drain(..) {
            let plan = in_flight.remove(&completion.token.0).expect("planned");
            let Ok(IoDone::Read(buffer)) = completion.result else { panic!("read failed") };
            let batches = plan.complete(buffer).expect("verified batch");
            assert_eq!(batches.len(), 1);
            assert_eq!(batches[0].payload.len(), PAYLOAD_BYTES);
            verified += 1;
        }
    }
    (recovery, start.elapsed())
}

struct Sample {
    raw_write: f64,
    append: f64,
    raw_read: f64,
    read: f64,
    recovery: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("partition_append: bench");
        return;
    }
    let env = |name: &str, default: usize| {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let mib = env("VIREO_BENCH_MIB", 2048);
    let rounds = env("VIREO_BENCH_ROUNDS", 3);
    let parent = std::env::var("VIREO_BENCH_DIR").unwrap_or_else(|_| "/tmp".into());
    let dir = TempDir(PathBuf::from(parent).join(format!("vireo-bench-{}", std::process::id())));
    let count = mib * 1024 * 1024 / PAYLOAD_BYTES;
    let record_bytes = round_up(PAYLOAD_BYTES + 64);
    let payload_total = (count * PAYLOAD_BYTES) as u64;
    let raw_bytes = (count * record_bytes) as u64;
    println!(
        "{count} batches of {MESSAGE_COUNT} x {MESSAGE_BYTES} B ({PAYLOAD_BYTES} B payload), queue depth {QUEUE_DEPTH}, {rounds} rounds"
    );
    let mut samples = Vec::new();
    for round in 0..rounds {
        let _ = std::fs::remove_dir_all(&dir.0);
        // Alternate the order so that neither side always runs on a freshly written disk.
        let ((raw_write, raw_read), append_time, (recovery, read_time)) = if round % 2 == 0 {
            let raw = raw(&dir.0, record_bytes, count);
            let append_time = append(&dir.0, count);
            (raw, append_time, recover_and_read(&dir.0, count))
        } else {
            let append_time = append(&dir.0, count);
            let read = recover_and_read(&dir.0, count);
            (raw(&dir.0, record_bytes, count), append_time, read)
        };
        let sample = Sample {
            raw_write: mb_per_s(raw_bytes, raw_write),
            append: mb_per_s(payload_total, append_time),
            raw_read: mb_per_s(raw_bytes, raw_read),
            read: mb_per_s(payload_total, read_time),
            recovery: mb_per_s(payload_total, recovery),
        };
        println!(
            "round {round}: raw write {:6.0}  append {:6.0}  raw read {:6.0}  read {:6.0}  recovery {:6.0} MB/s",
            sample.raw_write, sample.append, sample.raw_read, sample.read, sample.recovery
        );
        samples.push(sample);
    }
    let pick = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    let (raw_write, append, raw_read, read) =
        (pick(|s| s.raw_write), pick(|s| s.append), pick(|s| s.raw_read), pick(|s| s.read));
    println!("medians:");
    println!(
        "raw O_DIRECT write   {raw_write:8.0} MB/s  ({record_bytes} B writes, preallocated file, then fdatasync)"
    );
    println!(
        "log append           {append:8.0} MB/s  payload, until flushed = {:5.1}% of raw write",
        100.0 * append / raw_write
    );
    println!("raw O_DIRECT read    {raw_read:8.0} MB/s");
    println!(
        "log read (cold)      {read:8.0} MB/s  payload, crc32c-verified = {:5.1}% of raw read",
        100.0 * read / raw_read
    );
    println!(
        "log recovery scan    {:8.0} MB/s  (open: read and verify every record)",
        pick(|s| s.recovery)
    );
}
