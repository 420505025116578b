//! A partition machine on its own directory and real io_uring disk, for tests: ops apply
//! with consecutive op numbers, log completions are routed back to the machine, and a
//! restart reopens the directory from a checkpoint snapshot. The directory is removed
//! on drop.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use vireo_consensus::{ApplyContext, StateMachine};
use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::batch::{OutgoingMessage, encode_batch};
use vireo_protocol::iggy::reply::decode_send_confirmations;
use vireo_protocol::vsr::Operation;

use super::logs::LogSettings;
use super::op::{CONTROL_OPERATION, PartitionControl, SEND_OPERATION, SendPrefix, decode_reply};
use super::{PartitionKey, PartitionMachine};
use crate::shard::disk::{Disk, TokenOwner, owner};

/// Bytes of state (snapshot) the machine may hold.
const STATE_BYTES_MAX: u64 = 1 << 20;

pub(crate) struct TestMachine {
    pub(crate) dir: PathBuf,
    pub(crate) disk: Rc<RefCell<Disk>>,
    pub(crate) machine: PartitionMachine,
    /// The last op applied.
    pub(crate) op: u64,
    group: u32,
    settings: LogSettings,
}

impl TestMachine {
    /// A fresh machine of `group` in an empty directory named after `name`.
    pub(crate) fn new(name: &str, group: u32, settings: LogSettings) -> Self {
        let dir = std::env::temp_dir().join(format!("vireo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self::open(dir, group, settings, None, 0)
    }

    fn open(
        dir: PathBuf,
        group: u32,
        settings: LogSettings,
        snapshot: Option<&[u8]>,
        checkpoint_op: u64,
    ) -> Self {
        let disk = Rc::new(RefCell::new(Disk::new(&dir, 256, false, 64).unwrap()));
        let mut machine =
            PartitionMachine::new(group, Rc::clone(&disk), dir.clone(), settings, STATE_BYTES_MAX);
        if let Some(snapshot) = snapshot {
            machine.restore(snapshot).unwrap();
        }
        machine.open_logs(checkpoint_op).unwrap();
        Self { dir, disk, machine, op: checkpoint_op, group, settings }
    }

    /// Stops this machine (as a crash after the last flush) and opens a new one on the
    /// same directory from `snapshot` at `checkpoint_op`.
    pub(crate) fn reopen(mut self, snapshot: Option<&[u8]>, checkpoint_op: u64) -> Self {
        let dir = std::mem::take(&mut self.dir);
        let (group, settings) = (self.group, self.settings);
        drop(self);
        Self::open(dir, group, settings, snapshot, checkpoint_op)
    }

    /// Applies the next op and checks the machine's invariants.
    pub(crate) fn apply(
        &mut self,
        operation: Operation,
        body: &[u8],
    ) -> Result<Vec<u8>, ErrorCode> {
        self.op += 1;
        let context =
            ApplyContext { op: self.op, timestamp: 1_000 * self.op, operation, client: 7 };
        let mut reply = Vec::new();
        self.machine.apply(&context, body, &mut reply);
        self.machine.check_invariants();
        decode_reply(&reply).expect("reply").map(<[u8]>::to_vec)
    }

    /// Produces one batch of `payloads` to `key`; returns its base offset.
    pub(crate) fn send(
        &mut self,
        key: PartitionKey,
        segment_size: u64,
        payloads: &[Vec<u8>],
    ) -> u64 {
        let outgoing: Vec<OutgoingMessage<'_>> = payloads
            .iter()
            .map(|payload| OutgoingMessage {
                id: 1,
                origin_timestamp: 5,
                payload,
                user_headers: &[],
            })
            .collect();
        let mut body = Vec::new();
        SendPrefix { key, segment_size, preallocate: false }.encode(&mut body);
        encode_batch(&mut body, &outgoing).unwrap();
        let reply = self.apply(SEND_OPERATION, &body).expect("send applies");
        decode_send_confirmations(&reply).unwrap()[0].base_offset
    }

    pub(crate) fn control(&mut self, control: &PartitionControl) -> Result<Vec<u8>, ErrorCode> {
        self.apply(CONTROL_OPERATION, &control.encode())
    }

    /// Routes every completion to the machine until no log I/O is in flight.
    pub(crate) fn settle(&mut self) {
        loop {
            let mut completions = Vec::new();
            self.disk.borrow_mut().poll(&mut completions);
            if completions.is_empty() {
                if self.disk.borrow().in_flight() == 0 {
                    return;
                }
                self.disk.borrow_mut().wait_one(&mut completions);
            }
            for completion in completions {
                if let TokenOwner::Log(namespace) = owner(completion.token) {
                    self.machine.on_log_completion(namespace, completion);
                }
            }
        }
    }

    /// Makes every log durable up to the last applied op.
    pub(crate) fn flush(&mut self) {
        let targets = self.machine.flush_all().unwrap();
        while !self.machine.flushed(&targets) {
            self.settle();
        }
    }
}

impl Drop for TestMachine {
    fn drop(&mut self) {
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
