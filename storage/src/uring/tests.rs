//! `UringStorage` against a real directory under /tmp: the trait's contract (positional
//! I/O, zeros past EOF, bounded queue, durable resize, names) and the eventfd signal.

use super::*;
use crate::storage::execute;
use crate::{AlignedBuffer, SECTOR_SIZE};

/// A directory under /tmp removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = PathBuf::from(format!("/tmp/vireo-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn storage(dir: &TempDir, queue_depth: u32) -> UringStorage {
    UringStorage::new(&dir.0, &UringConfig { queue_depth, direct_io: true }).unwrap()
}

fn write(storage: &mut UringStorage, file: FileId, offset: u64, bytes: &[u8]) {
    let request =
        IoRequest::Write { file, offset_bytes: offset, buffer: AlignedBuffer::from_slice(bytes) };
    let mut others = Vec::new();
    let done = execute(storage, IoToken(offset), request, &mut others).unwrap();
    assert!(matches!(done, Ok(IoDone::Write(_))), "{done:?}");
    assert!(others.is_empty());
}

fn read(storage: &mut UringStorage, file: FileId, offset: u64, length: usize) -> AlignedBuffer {
    let request =
        IoRequest::Read { file, offset_bytes: offset, buffer: AlignedBuffer::zeroed(length) };
    let mut others = Vec::new();
    match execute(storage, IoToken(u64::MAX), request, &mut others).unwrap() {
        Ok(IoDone::Read(buffer)) => buffer,
        other => panic!("read failed: {other:?}"),
    }
}

#[test]
fn write_read_round_trip_with_zeros_past_end() {
    let dir = TempDir::new("uring");
    let mut storage = storage(&dir, 8);
    let file = storage.open("a/b/c.log", OpenMode::Create).unwrap();
    assert!(storage.is_direct(file).unwrap(), "/tmp is expected to support O_DIRECT");
    write(&mut storage, file, SECTOR_SIZE as u64, b"hello");
    assert_eq!(storage.file_size(file).unwrap(), 2 * SECTOR_SIZE as u64);
    let buffer = read(&mut storage, file, 0, 4 * SECTOR_SIZE);
    assert!(buffer[..SECTOR_SIZE].iter().all(|&b| b == 0));
    assert_eq!(&buffer[SECTOR_SIZE..SECTOR_SIZE + 5], b"hello");
    assert!(buffer[SECTOR_SIZE + 5..].iter().all(|&b| b == 0), "past EOF must read as zeros");
    assert_eq!(storage.list().unwrap(), vec!["a/b/c.log".to_owned()]);
    assert_eq!(storage.in_flight(), 0);
}

#[test]
fn unaligned_size_file_reads_zero_filled() {
    let dir = TempDir::new("uring");
    let mut storage = storage(&dir, 4);
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("odd"), vec![7_u8; 5000]).unwrap();
    let file = storage.open("odd", OpenMode::Existing).unwrap();
    let buffer = read(&mut storage, file, 0, 3 * SECTOR_SIZE);
    assert!(buffer[..5000].iter().all(|&b| b == 7));
    assert!(buffer[5000..].iter().all(|&b| b == 0));
    let buffer = read(&mut storage, file, 8 * SECTOR_SIZE as u64, SECTOR_SIZE);
    assert!(buffer.iter().all(|&b| b == 0), "read entirely past EOF is zeros");
}

#[test]
fn queue_is_bounded_and_completions_carry_tokens() {
    let dir = TempDir::new("uring");
    let mut storage = storage(&dir, 2);
    let file = storage.open("f", OpenMode::Create).unwrap();
    for i in 0..2_u64 {
        let buffer = AlignedBuffer::from_slice(&[i as u8 + 1; 16]);
        storage
            .submit(
                IoToken(i),
                IoRequest::Write { file, offset_bytes: i * SECTOR_SIZE as u64, buffer },
            )
            .unwrap();
    }
    let error = storage.submit(IoToken(9), IoRequest::Sync { file }).unwrap_err();
    assert_eq!(error, StorageError::QueueFull);
    let mut completions = Vec::new();
    while completions.len() < 2 {
        storage.wait(&mut completions);
    }
    let mut tokens: Vec<u64> = completions.iter().map(|c| c.token.0).collect();
    tokens.sort_unstable();
    assert_eq!(tokens, vec![0, 1]);
    assert!(completions.iter().all(|c| matches!(c.result, Ok(IoDone::Write(_)))));
    assert_eq!(storage.in_flight(), 0);
    // The eventfd was signalled by those completions.
    let mut counter = 0_u64;
    // SAFETY: reading 8 bytes into a u64 from a non-blocking eventfd.
    let n = unsafe { libc::read(storage.completion_eventfd(), (&raw mut counter).cast(), 8) };
    assert_eq!(n, 8);
    assert!(counter >= 1);
    storage.submit(IoToken(3), IoRequest::Sync { file }).unwrap();
    let mut completions = Vec::new();
    storage.wait(&mut completions);
    assert!(matches!(completions[0].result, Ok(IoDone::Sync)));
}

#[test]
fn resize_remove_and_names() {
    let dir = TempDir::new("uring");
    let mut storage = storage(&dir, 4);
    let file = storage.open("x/seg.log", OpenMode::Create).unwrap();
    storage.set_file_size(file, 1 << 20).unwrap();
    assert_eq!(storage.file_size(file).unwrap(), 1 << 20);
    let buffer = read(&mut storage, file, 0, SECTOR_SIZE);
    assert!(buffer.iter().all(|&b| b == 0), "preallocated space reads as zeros");
    storage.set_file_size(file, 100).unwrap();
    assert_eq!(storage.file_size(file).unwrap(), 100);
    assert!(matches!(storage.open("nope", OpenMode::Existing), Err(StorageError::NotFound(_))));
    for bad in ["", "/abs", "a/../b", "a//b"] {
        assert!(matches!(storage.open(bad, OpenMode::Create), Err(StorageError::InvalidName(_))));
    }
    storage.remove("x/seg.log").unwrap();
    assert!(matches!(storage.file_size(file), Err(StorageError::UnknownFile(_))));
    assert!(matches!(storage.remove("x/seg.log"), Err(StorageError::NotFound(_))));
    assert!(storage.list().unwrap().is_empty());
}

#[test]
fn close_with_io_in_flight_completes_safely() {
    let dir = TempDir::new("uring");
    let mut storage = storage(&dir, 4);
    let file = storage.open("f", OpenMode::Create).unwrap();
    let buffer = AlignedBuffer::from_slice(&[3; 100]);
    storage.submit(IoToken(1), IoRequest::Write { file, offset_bytes: 0, buffer }).unwrap();
    storage.close(file).unwrap();
    let mut completions = Vec::new();
    storage.wait(&mut completions);
    assert_eq!(completions.len(), 1);
    assert!(matches!(
        storage.submit(IoToken(2), IoRequest::Sync { file }),
        Err(StorageError::UnknownFile(_))
    ));
    // Dropping with I/O in flight waits for it.
    let file = storage.open("f", OpenMode::Existing).unwrap();
    let buffer = AlignedBuffer::zeroed(1 << 20);
    storage.submit(IoToken(3), IoRequest::Write { file, offset_bytes: 0, buffer }).unwrap();
    drop(storage);
    assert_eq!(std::fs::metadata(dir.0.join("f")).unwrap().len(), 1 << 20);
}

#[test]
fn buffered_fallback_path_works() {
    let dir = TempDir::new("uring");
    let mut storage =
        UringStorage::new(&dir.0, &UringConfig { queue_depth: 4, direct_io: false }).unwrap();
    let file = storage.open("f", OpenMode::Create).unwrap();
    assert!(!storage.is_direct(file).unwrap());
    write(&mut storage, file, 0, b"abc");
    assert_eq!(&read(&mut storage, file, 0, SECTOR_SIZE)[..3], b"abc");
}
