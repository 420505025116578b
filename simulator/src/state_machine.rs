//! The simulator's state machine: a tiny model of a streaming log, deterministic and
//! cheap to snapshot, so that checkers can recompute every reply from the history — and,
//! under it, the real storage a streaming log needs: one `vireo-storage` `PartitionLog`
//! per model partition on the replica's data disk ([`crate::partition_logs`]).
//!
//! The [`Model`] (offsets, digests, names, consumer offsets) is what snapshots hold and
//! what replies are computed from; the logs are what `APPEND` writes to. A snapshot does
//! not carry batches: after a state transfer, each log that fell behind fetches the
//! missing records from a peer before anything else applies (see
//! [`crate::partition_logs::DataLogs`]).
//!
//! Operations (user operation codes):
//! * [`APPEND`]: `[partition u8][payload]` → `[offset u64]` — the next dense offset;
//! * [`CREATE`]: `[name]` → `[id u32]`, or `[u32::MAX]` once the catalog is full;
//! * [`STORE_OFFSET`]: `[consumer u8][partition u8][offset u64]` → empty.

use std::collections::BTreeMap;

use vireo_consensus::{ApplyContext, RestoreError, StateMachine};
use vireo_protocol::vsr::{Operation, checksum};

use crate::partition_logs::{DataLogs, RestoreMode};

/// Append a payload to a partition.
pub const APPEND: Operation = Operation(Operation::USER_MIN);
/// Create a named resource.
pub const CREATE: Operation = Operation(Operation::USER_MIN + 1);
/// Store a consumer offset.
pub const STORE_OFFSET: Operation = Operation(Operation::USER_MIN + 2);

/// Partitions in the model.
pub const PARTITIONS: usize = 4;
/// Most named resources (bounds the snapshot).
pub const NAMES_MAX: usize = 64;
/// Most consumers.
pub const CONSUMERS_MAX: u8 = 8;

/// The model state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Model {
    /// Next offset per partition.
    pub next_offset: [u64; PARTITIONS],
    /// Rolling checksum of each partition's payloads, in offset order.
    pub digest: [u128; PARTITIONS],
    /// Named resources, by id.
    pub names: Vec<Vec<u8>>,
    /// Consumer offsets.
    pub offsets: BTreeMap<(u8, u8), u64>,
    /// Ops applied (for the summary).
    pub applied: u64,
}

/// The replicated state machine: the model, and the partition logs it writes.
#[derive(Debug, Default)]
pub struct SimStateMachine {
    /// The model (what snapshots and replies hold).
    pub model: Model,
    /// The partition logs on the data disk; `None` for a pure model.
    pub data: Option<DataLogs>,
}

impl StateMachine for SimStateMachine {
    fn apply(&mut self, context: &ApplyContext, body: &[u8], reply: &mut Vec<u8>) {
        let appended = self.model.apply(context, body, reply);
        if let (Some((partition, offset)), Some(data)) = (appended, &mut self.data) {
            data.append(partition, offset, context.op, context.timestamp, &body[1..]);
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        self.model.encode()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), RestoreError> {
        let model = Model::decode(snapshot)?;
        if let Some(data) = &mut self.data
            && data.restore_mode == RestoreMode::StateTransfer
        {
            data.restore_to(&model.next_offset);
        }
        self.model = model;
        Ok(())
    }

    fn apply_ready(&self) -> bool {
        self.data.as_ref().is_none_or(DataLogs::apply_ready)
    }
}

impl Model {
    /// Applies an op; returns the partition and offset an `APPEND` took.
    pub fn apply(
        &mut self,
        context: &ApplyContext,
        body: &[u8],
        reply: &mut Vec<u8>,
    ) -> Option<(usize, u64)> {
        self.applied += 1;
        match context.operation {
            APPEND => {
                let (&partition, payload) = body.split_first()?;
                let partition = usize::from(partition) % PARTITIONS;
                let offset = self.next_offset[partition];
                self.next_offset[partition] += 1;
                let mut chained = self.digest[partition].to_le_bytes().to_vec();
                chained.extend_from_slice(payload);
                self.digest[partition] = checksum(&chained);
                reply.extend_from_slice(&offset.to_le_bytes());
                return Some((partition, offset));
            }
            CREATE => {
                let id = if self.names.len() < NAMES_MAX {
                    self.names.push(body.to_vec());
                    u32::try_from(self.names.len() - 1).expect("bounded")
                } else {
                    u32::MAX
                };
                reply.extend_from_slice(&id.to_le_bytes());
            }
            STORE_OFFSET => {
                if let [consumer, partition, rest @ ..] = body
                    && let Ok(offset) = <[u8; 8]>::try_from(rest)
                {
                    self.offsets.insert(
                        (consumer % CONSUMERS_MAX, partition % PARTITIONS as u8),
                        u64::from_le_bytes(offset),
                    );
                }
            }
            _ => {}
        }
        None
    }

    /// The snapshot bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.applied.to_le_bytes());
        for partition in 0..PARTITIONS {
            out.extend_from_slice(&self.next_offset[partition].to_le_bytes());
            out.extend_from_slice(&self.digest[partition].to_le_bytes());
        }
        out.extend_from_slice(&u32::try_from(self.names.len()).expect("bounded").to_le_bytes());
        for name in &self.names {
            out.extend_from_slice(&u32::try_from(name.len()).expect("bounded").to_le_bytes());
            out.extend_from_slice(name);
        }
        out.extend_from_slice(&u32::try_from(self.offsets.len()).expect("bounded").to_le_bytes());
        for (&(consumer, partition), &offset) in &self.offsets {
            out.push(consumer);
            out.push(partition);
            out.extend_from_slice(&offset.to_le_bytes());
        }
        out
    }

    /// Decodes snapshot bytes.
    pub fn decode(snapshot: &[u8]) -> Result<Self, RestoreError> {
        let error = RestoreError { reason: "malformed simulator snapshot" };
        let mut reader = Reader { bytes: snapshot, at: 0 };
        let mut state = Self { applied: reader.u64().ok_or(error.clone())?, ..Self::default() };
        for partition in 0..PARTITIONS {
            state.next_offset[partition] = reader.u64().ok_or(error.clone())?;
            state.digest[partition] =
                u128::from_le_bytes(reader.take(16).ok_or(error.clone())?.try_into().expect("16"));
        }
        let names = reader.u32().ok_or(error.clone())?;
        for _ in 0..names {
            let length = reader.u32().ok_or(error.clone())? as usize;
            state.names.push(reader.take(length).ok_or(error.clone())?.to_vec());
        }
        let offsets = reader.u32().ok_or(error.clone())?;
        for _ in 0..offsets {
            let key = reader.take(2).ok_or(error.clone())?;
            let key = (key[0], key[1]);
            state.offsets.insert(key, reader.u64().ok_or(error.clone())?);
        }
        if reader.at != snapshot.len() {
            return Err(error);
        }
        Ok(state)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_snapshot_restore_round_trip() {
        let mut machine = SimStateMachine::default();
        let context = |operation| ApplyContext { op: 1, timestamp: 1, operation, client: 7 };
        let mut reply = Vec::new();
        machine.apply(&context(APPEND), &[1, 9, 9], &mut reply);
        assert_eq!(reply, 0u64.to_le_bytes());
        reply.clear();
        machine.apply(&context(APPEND), &[1, 8], &mut reply);
        assert_eq!(reply, 1u64.to_le_bytes());
        machine.apply(&context(CREATE), b"topic", &mut Vec::new());
        let mut body = vec![2, 1];
        body.extend_from_slice(&5u64.to_le_bytes());
        machine.apply(&context(STORE_OFFSET), &body, &mut Vec::new());
        let mut restored = SimStateMachine::default();
        restored.restore(&machine.snapshot()).unwrap();
        assert_eq!(restored.model, machine.model);
        assert!(restored.restore(&machine.snapshot()[1..]).is_err());
    }
}
