//! The partition machine on a real io_uring disk: produces get dense offsets and the
//! op's timestamp, offsets obey their rules, purges keep offsets going, and a restart
//! from a checkpoint snapshot cuts the logs back so that replay rebuilds them exactly.

use vireo_consensus::StateMachine;
use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::batch::Batch;
use vireo_storage::partition::{ReadOutcome, ReadStart};

use super::logs::LogSettings;
use super::op::PartitionControl;
use super::test_machine::TestMachine;
use super::{OwnerKey, PartitionKey};

const KEY: PartitionKey =
    PartitionKey { stream_id: 1, topic_id: 2, partition_id: 3, incarnation: 9 };

fn settings() -> LogSettings {
    LogSettings { cache_bytes_max: 1 << 20, record_payload_size_max: 256 * 1024 }
}

/// A machine of group 1 that sends small numbered messages to [`KEY`].
struct Harness(TestMachine);

impl std::ops::Deref for Harness {
    type Target = TestMachine;
    fn deref(&self) -> &TestMachine {
        &self.0
    }
}

impl std::ops::DerefMut for Harness {
    fn deref_mut(&mut self) -> &mut TestMachine {
        &mut self.0
    }
}

impl Harness {
    fn new(name: &str) -> Self {
        Self(TestMachine::new(&format!("partition-{name}"), 1, settings()))
    }

    fn send(&mut self, count: usize) -> u64 {
        let payloads: Vec<Vec<u8>> = (0..count).map(|i| format!("m{i}").into_bytes()).collect();
        self.0.send(KEY, 1 << 20, &payloads)
    }

    fn reopen(self, snapshot: Option<&[u8]>, checkpoint_op: u64) -> Self {
        Self(self.0.reopen(snapshot, checkpoint_op))
    }
}

#[test]
fn sends_get_dense_offsets_and_the_op_timestamp() {
    let mut h = Harness::new("dense");
    assert_eq!(h.send(3), 0);
    assert_eq!(h.send(2), 3);
    let stats = h.machine.stats(&KEY);
    assert_eq!((stats.next_offset, stats.messages_count(), stats.current_offset()), (5, 5, 4));
    let log = h.machine.log(&KEY).unwrap();
    let ReadOutcome::Batches(batches) = log.read(ReadStart::Offset(3), 1 << 20).unwrap() else {
        panic!("recent batches come from memory");
    };
    let batch = Batch::parse(&batches[0].payload).unwrap();
    batch.verify().expect("the stamped batch keeps valid checksums");
    assert_eq!(batch.header().base_offset, 3);
    assert_eq!(batch.header().base_timestamp, 2_000, "the second op's timestamp");
    assert_eq!(batch.header().partition_id, 3);
}

#[test]
fn offsets_are_bounded_by_the_log_and_purge_keeps_offsets_going() {
    let mut h = Harness::new("offsets");
    let owner = OwnerKey::ConsumerName("c".into());
    let store = |offset| PartitionControl::StoreOffset { key: KEY, owner: owner.clone(), offset };
    assert_eq!(h.control(&store(0)), Ok(Vec::new()), "offset 0 of an empty partition");
    h.send(4);
    assert_eq!(h.control(&store(4)), Err(ErrorCode::INVALID_OFFSET));
    assert_eq!(h.control(&store(3)), Ok(Vec::new()));
    assert_eq!(h.machine.stored_offset(&KEY, &owner), Some(3));
    let delete = PartitionControl::DeleteOffset { key: KEY, owner: OwnerKey::ConsumerId(1) };
    assert_eq!(h.control(&delete), Err(ErrorCode::CONSUMER_OFFSET_NOT_FOUND));
    h.settle();
    assert_eq!(h.control(&PartitionControl::Purge { key: KEY }), Ok(Vec::new()));
    assert_eq!(h.machine.stored_offset(&KEY, &owner), None, "purge drops offsets");
    let stats = h.machine.stats(&KEY);
    assert_eq!((stats.first_offset, stats.next_offset), (4, 4));
    assert_eq!(h.send(1), 4, "offsets continue after a purge");
    assert_eq!(h.control(&PartitionControl::Drop { key: KEY }), Ok(Vec::new()));
    assert!(h.machine.log(&KEY).is_none());
    assert!(!h.dir.join(KEY.directory(1)).exists(), "dropping deletes the directory");
}

#[test]
fn restart_cuts_back_to_the_checkpoint_so_replay_rebuilds_it() {
    let mut h = Harness::new("restart");
    h.send(2);
    h.flush();
    let snapshot = h.machine.snapshot();
    let checkpoint = h.op;
    h.send(3); // After the checkpoint: cut at restart, replayed by consensus.
    h.flush();
    let mut restarted = h.reopen(Some(&snapshot), checkpoint);
    assert_eq!(restarted.machine.stats(&KEY).next_offset, 2, "cut back to the checkpoint");
    assert_eq!(restarted.send(3), 2, "replay lands where the original did");

    // A purge after the checkpoint leaves no record at or below it: the log is
    // recreated at the checkpoint's offset and replay repeats the purge.
    restarted.flush();
    let snapshot = restarted.machine.snapshot();
    let checkpoint = restarted.op;
    restarted.send(1);
    restarted.settle();
    restarted.control(&PartitionControl::Purge { key: KEY }).unwrap();
    restarted.send(1);
    restarted.flush();
    let replayed = restarted.reopen(Some(&snapshot), checkpoint);
    assert_eq!(replayed.machine.stats(&KEY).next_offset, 5);

    // A partition the checkpoint never knew is wiped.
    let fresh = replayed.reopen(None, 0);
    assert!(fresh.machine.log(&KEY).is_none());
    assert!(!fresh.dir.join(KEY.directory(1)).exists());
}
