//! The contract between consensus and what it replicates.

use vireo_protocol::vsr::Operation;

/// What a committed op is applied with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyContext {
    /// The op number (dense, starts at 1).
    pub op: u64,
    /// The primary's timestamp for the op (µs since the epoch; strictly increasing).
    pub timestamp: u64,
    /// The operation code (≥ [`Operation::USER_MIN`]).
    pub operation: Operation,
    /// The client that asked for it.
    pub client: u128,
}

/// A deterministic state machine: same ops in the same order, same state and replies.
///
/// Consensus calls `apply` exactly once per committed user op, in op order, on every
/// replica; the reply is cached in the client table and sent by the primary. A checkpoint
/// captures the state as bytes (bounded by the config's `snapshot_size_max`) and restores
/// it on another replica (state transfer) or after a restart.
pub trait StateMachine {
    /// Applies a committed op and writes its reply body into `reply` (empty = no body).
    fn apply(&mut self, context: &ApplyContext, body: &[u8], reply: &mut Vec<u8>);

    /// The state after the last applied op, as bytes.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the state with a snapshot. An error means the bytes are not a snapshot
    /// this machine wrote (consensus verified their checksum already: a bug or a version
    /// mismatch), and the replica refuses to continue.
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError>;

    /// False while the machine cannot apply ops yet: after a state transfer, a machine
    /// whose snapshot describes data kept elsewhere (the node's partition logs) fetches
    /// that data before it applies the ops above the checkpoint. Consensus then holds
    /// commits back (journaling and prepare_ok go on) and retries on every event.
    fn apply_ready(&self) -> bool {
        true
    }
}

/// A snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("snapshot rejected: {reason}")]
pub struct RestoreError {
    /// Why.
    pub reason: &'static str,
}
