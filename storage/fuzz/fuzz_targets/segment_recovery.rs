//! Recovery of arbitrary segment files, two ways (the first input byte picks):
//!
//! * raw: the input *is* a segment's log file (optionally with an index file cut from it).
//!   The scan and a full `PartitionLog::open` must not panic; an opened log must pass its
//!   invariants, and every batch it serves verified.
//! * structured: a valid log is written through the real API, then the input's mutations
//!   (bit flips, zeroed ranges, truncations, copied ranges: torn, corrupt and misdirected
//!   writes) hit its files. Reopening must succeed, keep every batch whose bytes no
//!   mutation touched, and never serve a batch that differs from what was appended.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use vireo_storage::partition::scan::{ScanItem, ScanStart, scan_segment};
use vireo_storage::partition::{
    BatchMeta, PartitionLog, PartitionLogConfig, ReadOutcome, ReadStart, StoredBatch,
};
use vireo_storage::{IoDone, IoToken, MemoryStorage, OpenMode, Storage, execute};

const DIRECTORY: &str = "p";

fn config() -> PartitionLogConfig {
    PartitionLogConfig {
        segment_size_bytes: 16 * 1024,
        record_payload_size_max: 2048,
        write_chunk_bytes: 4096,
        cache_bytes_max: 0,
        write_bytes_pending_max: 64 * 1024,
        io_in_flight_max: 8,
        read_bytes_max: 16 * 1024,
        preallocate: false,
        ..PartitionLogConfig::new(DIRECTORY, 1)
    }
}

fn drive(storage: &mut MemoryStorage, log: &mut PartitionLog) {
    let mut completions = Vec::new();
    storage.poll(&mut completions);
    while !completions.is_empty() {
        for completion in completions.drain(..) {
            log.on_io_done(storage, completion).expect("memory I/O succeeds");
        }
        storage.poll(&mut completions);
    }
}

fn read(storage: &mut MemoryStorage, log: &PartitionLog, offset: u64) -> Option<StoredBatch> {
    let batches = match log.read(ReadStart::Offset(offset), 1).ok()? {
        ReadOutcome::Batches(batches) => batches,
        ReadOutcome::Empty => return None,
        ReadOutcome::Plan(plan) => {
            let done = execute(storage, IoToken(u64::MAX), plan.request(), &mut Vec::new());
            let Ok(Ok(IoDone::Read(buffer))) = done else { return None };
            plan.complete(buffer).ok()?
        }
    };
    batches.into_iter().next()
}

fn raw(data: &[u8]) {
    let scan = scan_segment(data, &[], ScanStart { base_offset: 0, op_min: 0 });
    assert!(scan.data_end_bytes <= data.len() as u64);
    let mut end = 0;
    for item in &scan.items {
        let (start, stop) = match item {
            ScanItem::Record(header) => (header.position_bytes, header.position_bytes + header.record_size_bytes()),
            ScanItem::Fault { position_bytes, end_bytes, .. } => (*position_bytes, *end_bytes),
        };
        assert!(start >= end && stop > start && stop <= data.len() as u64, "items ordered and inside");
        end = stop;
    }
    let mut storage = MemoryStorage::new();
    let file = storage.open(&format!("{DIRECTORY}/00000000000000000000.log"), OpenMode::Create).unwrap();
    storage.close(file).unwrap();
    *storage.bytes_mut(&format!("{DIRECTORY}/00000000000000000000.log")).unwrap() = data.to_vec();
    let Ok((log, _report)) = PartitionLog::open(&mut storage, config(), &mut Vec::new()) else { return };
    log.check_invariants();
    let mut offset = log.first_offset();
    while offset < log.next_offset() {
        match read(&mut storage, &log, offset) {
            Some(batch) => offset = batch.header.end_offset(),
            None => offset += 1,
        }
    }
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from(self.byte()?) << 8 | u16::from(self.byte()?))
    }
}

fn structured(data: &[u8]) {
    let mut input = Input(data);
    let Some(count) = input.byte() else { return };
    let mut storage = MemoryStorage::new();
    let (mut log, _) = PartitionLog::open(&mut storage, config(), &mut Vec::new()).unwrap();
    let mut appended = Vec::new();
    for index in 0..usize::from(count % 48) + 1 {
        let payload: Bytes = (0..(index * 211) % 1500 + 1).map(|i| (i * 7 + index) as u8).collect::<Vec<u8>>().into();
        let meta = BatchMeta { base_offset: log.next_offset(), message_count: (index % 3) as u32 + 1, base_timestamp_us: index as u64, max_timestamp_us: index as u64 };
        log.append(&mut storage, index as u64, meta, payload.clone()).unwrap();
        if index % 5 == 0 {
            drive(&mut storage, &mut log);
            log.flush(&mut storage).unwrap();
        }
        appended.push((meta, payload));
    }
    log.flush(&mut storage).unwrap();
    drive(&mut storage, &mut log);
    // Where every batch lives, to know which ones the mutations leave intact.
    let mut located = Vec::new();
    for (meta, _) in &appended {
        let batch = read(&mut storage, &log, meta.base_offset).expect("healthy log");
        let segment = log.segments().iter().rev().find(|s| s.base_offset <= meta.base_offset).unwrap().base_offset;
        located.push((segment, batch.header.position_bytes, batch.header.record_size_bytes()));
    }
    drop(log);
    let mut storage = storage.restarted();
    let names = storage.list().unwrap();
    let mut touched: Vec<(String, u64, u64)> = Vec::new();
    for _ in 0..8 {
        let (Some(kind), Some(which), Some(at), Some(length)) = (input.byte(), input.byte(), input.u16(), input.byte()) else { break };
        let name = names[usize::from(which) % names.len()].clone();
        let bytes = storage.bytes_mut(&name).unwrap();
        if bytes.is_empty() {
            continue;
        }
        let at = usize::from(at) % bytes.len();
        let end = (at + usize::from(length) + 1).min(bytes.len());
        match kind % 4 {
            0 => bytes[at] ^= 1 << (length % 8),
            1 => bytes[at..end].fill(0),
            2 => bytes.truncate(at),
            _ => {
                let source = usize::from(length) * 64 % bytes.len();
                let source_end = (source + end - at).min(bytes.len());
                let copy = bytes[source..source_end].to_vec();
                bytes[at..at + copy.len()].copy_from_slice(&copy);
            }
        }
        let end = if kind % 4 == 2 { u64::MAX } else { end as u64 };
        touched.push((name, at as u64, end));
    }
    let (log, _report) = PartitionLog::open(&mut storage, config(), &mut Vec::new()).expect("recovery of a damaged log");
    log.check_invariants();
    for ((meta, payload), (segment, position, size)) in appended.iter().zip(&located) {
        let log_name = format!("{DIRECTORY}/{segment:020}.log");
        let intact = !touched.iter().any(|(name, start, end)| *name == log_name && *start < position + size && *end > *position);
        match read(&mut storage, &log, meta.base_offset) {
            Some(batch) => {
                assert_eq!(batch.header.meta, *meta, "wrong batch served");
                assert_eq!(&batch.payload, payload, "corrupt batch served");
            }
            None => assert!(!intact, "intact batch at {} lost", meta.base_offset),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 { raw(rest) } else { structured(rest) }
});
