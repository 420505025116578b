//! Checkers: one file per property. Each returns `Err(Violation)` the moment the
//! property fails, naming what it saw.

mod commits;
mod partition_logs;
mod replies;
mod storage;
mod views;

pub use commits::CommitChecker;
pub use partition_logs::{PartitionLogChecker, Shown};
pub use replies::ReplyChecker;
pub use storage::CheckpointChecker;
pub use views::ViewChecker;

/// A broken safety property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which checker.
    pub checker: &'static str,
    /// What it saw.
    pub detail: String,
}

impl Violation {
    pub(crate) fn new(checker: &'static str, detail: String) -> Self {
        Self { checker, detail }
    }
}
