//! The metadata plane (consensus group 0): streams, topics, partitions, consumer groups
//! with their membership and assignment, users and personal access tokens.
//!
//! [`MetadataMachine`] is the `StateMachine` the group-0 replica applies committed ops
//! to. Its state doubles as the read view ([`MetadataState`]) the metadata shard
//! publishes to every shard. Sessions are not state here: a login is verified by the
//! edge against the view and opens a consensus session (a `Register` op) on group 0.

mod apply;
pub mod command;
pub mod groups;
pub mod model;
pub mod reply;
mod snapshot;

use vireo_consensus::{ApplyContext, RestoreError, StateMachine};
use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::metadata::MetadataOp;

pub use apply::{PARTITIONS_PER_TOPIC_MAX, TOKENS_PER_USER_MAX};
pub use command::{METADATA_OPERATION, MetadataCommand};
pub use model::{ConsumerGroup, MetadataState, Partition, ROOT_USER_ID, Stream, Topic, User};

/// The group-0 state machine.
#[derive(Debug)]
pub struct MetadataMachine {
    state: MetadataState,
    /// Most snapshot bytes the state may take (an op that would exceed it is refused).
    state_bytes_max: u64,
    /// Set by every apply; the driver publishes a new view and clears it.
    changed: bool,
}

impl MetadataMachine {
    /// An empty machine whose state may take `state_bytes_max` snapshot bytes.
    #[must_use]
    pub fn new(state_bytes_max: u64) -> Self {
        Self { state: MetadataState::default(), state_bytes_max, changed: false }
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> &MetadataState {
        &self.state
    }

    /// True once since the last call if any op applied (or a snapshot was restored).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Asserts the state's invariants and the budget.
    pub fn check_invariants(&self) {
        self.state.check_invariants();
        assert!(self.state.size_estimate() <= self.state_bytes_max, "metadata over budget");
    }

    fn budget_error(op: &MetadataOp) -> ErrorCode {
        match op {
            MetadataOp::CreateStream { .. } => ErrorCode::TOO_MANY_STREAMS,
            MetadataOp::CreateTopic { .. } => ErrorCode::TOO_MANY_TOPICS,
            MetadataOp::CreatePartitions { .. } => ErrorCode::TOO_MANY_PARTITIONS,
            MetadataOp::CreateUser { .. } => ErrorCode::USERS_LIMIT_REACHED,
            MetadataOp::CreatePersonalAccessToken { .. } => {
                ErrorCode::PERSONAL_ACCESS_TOKENS_LIMIT_REACHED
            }
            _ => ErrorCode::INVALID_SIZE_BYTES,
        }
    }
}

impl StateMachine for MetadataMachine {
    fn apply(&mut self, context: &ApplyContext, body: &[u8], reply: &mut Vec<u8>) {
        self.changed = true;
        let outcome = if context.operation == METADATA_OPERATION {
            match MetadataCommand::decode(body) {
                Ok(command) => {
                    let before = self.state.clone();
                    let budget_error = Self::budget_error(&command.op);
                    let outcome =
                        apply::apply(&mut self.state, context, command.op, command.options_set);
                    if outcome.is_ok() && self.state.size_estimate() > self.state_bytes_max {
                        self.state = before;
                        Err(budget_error)
                    } else {
                        outcome
                    }
                }
                Err(_) => Err(ErrorCode::INVALID_FORMAT),
            }
        } else {
            Err(ErrorCode::INVALID_COMMAND)
        };
        self.state.applied_op = context.op;
        reply::encode(outcome, reply);
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        snapshot::encode(&self.state)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), RestoreError> {
        let state = snapshot::decode(bytes)
            .ok_or(RestoreError { reason: "malformed metadata snapshot" })?;
        state.check_invariants();
        self.state = state;
        self.changed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
