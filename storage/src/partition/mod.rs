//! The partition log: one partition's append-only log of Iggy message batches.
//!
//! Storage format only: a batch is opaque bytes plus the metadata the caller supplies
//! ([`BatchMeta`]); the protocol crate stamps and validates Iggy batch bytes.
//!
//! * Segments of `segment_size_bytes`: `<dir>/<base_offset:020>.log` holding records
//!   ([`record`]), the offset index `.index` ([`index`]) and the time index `.timeindex`
//!   ([`time_index`]).
//! * Writes go through [`crate::Storage`] asynchronously in sector-aligned chunks
//!   ([`writer`]); completions come back through [`PartitionLog::on_io_done`] (token
//!   scheme in [`ledger`]); [`PartitionLog::flush`] makes every prior append durable.
//! * Reads ([`reader`]): recent batches from memory, older ones through a [`ReadPlan`].
//! * Recovery on open ([`recovery`]): torn tails cut, faults reported, indexes rebuilt.
//! * [`PartitionLog::truncate_after_op`] ([`truncate`]) and retention ([`retention`]).
//! * Export and verified import of record runs between replicas ([`transfer`]).

mod cache;
pub mod config;
pub mod error;
pub mod index;
mod ledger;
mod log;
pub mod reader;
pub mod record;
pub mod recovery;
mod retention;
pub mod scan;
pub mod segment;
pub mod time_index;
pub mod transfer;
mod truncate;
mod writer;

pub use config::{ConfigError, PartitionLogConfig};
pub use error::{LogError, OpenError, ReadError};
pub use ledger::token_namespace;
pub use log::{PartitionLog, SegmentInfo};
pub use reader::{ReadOutcome, ReadPlan, ReadStart};
pub use record::{BatchMeta, RecordHeader, StoredBatch};
pub use recovery::{FaultReport, IndexFile, IndexProblem, IndexRepair, RecoveryReport, TornTail};
pub use retention::{RetentionOutcome, RetentionPolicy};
pub use scan::FaultKind;
pub use truncate::TruncateOutcome;
