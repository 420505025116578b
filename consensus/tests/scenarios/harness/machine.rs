//! The scenarios' state machine: a count of applied ops and a rolling checksum of their
//! bodies, so two replicas with the same state applied the same ops in the same order.

use vireo_consensus::{ApplyContext, RestoreError, StateMachine};
use vireo_protocol::vsr::{Operation, checksum};

/// The one user operation: append the body; the reply is the new count.
pub const APPEND: Operation = Operation(Operation::USER_MIN);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Machine {
    pub count: u64,
    pub digest: u128,
}

impl StateMachine for Machine {
    fn apply(&mut self, context: &ApplyContext, body: &[u8], reply: &mut Vec<u8>) {
        self.count += 1;
        let mut chained = self.digest.to_le_bytes().to_vec();
        chained.extend_from_slice(&context.op.to_le_bytes());
        chained.extend_from_slice(body);
        self.digest = checksum(&chained);
        reply.extend_from_slice(&self.count.to_le_bytes());
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut out = self.count.to_le_bytes().to_vec();
        out.extend_from_slice(&self.digest.to_le_bytes());
        out
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError> {
        let bad = RestoreError { reason: "machine snapshot size" };
        let (count, digest) = snapshot.split_at_checked(8).ok_or(bad.clone())?;
        self.count = u64::from_le_bytes(count.try_into().map_err(|_| bad.clone())?);
        self.digest = u128::from_le_bytes(digest.try_into().map_err(|_| bad)?);
        Ok(())
    }
}
