//! Checkpoints are byte-identical: every replica's snapshot at the same op hashes the same.

use std::collections::BTreeMap;

use super::Violation;

/// Checkpoint snapshot checksums by op.
#[derive(Debug, Default)]
pub struct CheckpointChecker {
    by_op: BTreeMap<u64, (u8, u128)>,
}

impl CheckpointChecker {
    /// Observes a replica's durable checkpoint.
    pub fn observe(
        &mut self,
        replica: u8,
        op: u64,
        snapshot_checksum: u128,
    ) -> Result<(), Violation> {
        if op == 0 {
            return Ok(());
        }
        match self.by_op.get(&op) {
            Some(&(first, sum)) if sum != snapshot_checksum => Err(Violation::new(
                "checkpoints",
                format!(
                    "checkpoint at op {op} differs between replica {first} and replica {replica}"
                ),
            )),
            Some(_) => Ok(()),
            None => {
                self.by_op.insert(op, (replica, snapshot_checksum));
                Ok(())
            }
        }
    }
}
