//! Vireo's on-disk formats and the logic that reads and writes them.
//!
//! * the `Storage` trait — positional reads, writes and syncs on owned aligned buffers,
//!   submitted and completed by token; an in-memory implementation for tests and an
//!   io_uring implementation (`O_DIRECT`) for the node. The simulator adds a faulty one.
//! * the partition log — segments, offset and time indexes, retention;
//! * the VSR journal — a ring of hash-chained prepares plus a redundant header ring, with
//!   protocol-aware recovery (clean / fix / faulty / torn);
//! * the superblock — redundant, checksummed copies of the replica's durable VSR state.
//!
//! Everything except the io_uring backend is pure logic over bytes: it must never touch a
//! runtime (monoio, tokio), the network (quinn, rustls, `std::net`), threads, the wall
//! clock or thread-local randomness, so the simulator can run it deterministically.
//! Readers of disk bytes are total: no panic on any input.

mod buffer;
mod memory;
pub mod partition;
mod storage;
#[cfg(feature = "io-uring")]
mod uring;

pub use buffer::{AlignedBuffer, SECTOR_SIZE, round_up};
pub use memory::{MemoryStorage, read_into};
pub use storage::{
    Completion, FileId, IoDone, IoError, IoRequest, IoToken, OpenMode, Storage, StorageError,
    execute, validate_alignment, validate_name,
};
#[cfg(feature = "io-uring")]
pub use uring::{URING_QUEUE_DEPTH_MAX, UringConfig, UringStorage};

pub mod journal;
pub mod superblock;
