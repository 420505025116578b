//! Two partition machines on real io_uring disks, joined by an in-memory bus: a machine
//! restored from the other's checkpoint descriptor fetches the records, refuses polls and
//! applies nothing until it has them, ends byte-identical (records and segments), and
//! resumes after a restart in the middle; corrupt answers are refused.

use vireo_consensus::StateMachine;
use vireo_protocol::vsr::{
    Command, HEADER_SIZE, Message, PARTITION_DATA_PREFIX_SIZE, PartitionData, PartitionDataStatus,
};
use vireo_storage::partition::{ReadOutcome, ReadStart, StoredBatch};
use vireo_storage::{IoDone, IoToken, Storage};

use super::super::logs::LogSettings;
use super::super::op::PartitionControl;
use super::super::test_machine::TestMachine;
use super::super::{OwnerKey, PartitionKey};
use super::{Syncing, TransferBus, marker};

const CLUSTER: u128 = 77;
const GROUP: u32 = 1;
const KEYS: [PartitionKey; 2] = [
    PartitionKey { stream_id: 1, topic_id: 2, partition_id: 3, incarnation: 9 },
    PartitionKey { stream_id: 1, topic_id: 2, partition_id: 4, incarnation: 9 },
];
const SEGMENT_SIZE: u64 = 24 * 1024;

fn settings() -> LogSettings {
    // A small cache: most of the transferred records are served from disk.
    LogSettings { cache_bytes_max: 8 * 1024, record_payload_size_max: 8 * 1024 }
}

/// One replica's machine on its own directory and disk.
struct Node(TestMachine);

impl std::ops::Deref for Node {
    type Target = TestMachine;
    fn deref(&self) -> &TestMachine {
        &self.0
    }
}

impl std::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut TestMachine {
        &mut self.0
    }
}

impl Node {
    fn new(name: &str) -> Self {
        Self(TestMachine::new(&format!("transfer-{name}"), GROUP, settings()))
    }

    /// Stops (as a crash after the last flush) and reopens from `snapshot`.
    fn reopen(self, snapshot: &[u8], checkpoint_op: u64) -> Self {
        Self(self.0.reopen(Some(snapshot), checkpoint_op))
    }

    /// Produces one batch of `count` messages to `key`; returns its base offset.
    fn send(&mut self, key: PartitionKey, count: usize, size: usize) -> u64 {
        let payloads: Vec<Vec<u8>> =
            (0..count).map(|i| vec![(i + self.op as usize) as u8; size]).collect();
        self.0.send(key, SEGMENT_SIZE, &payloads)
    }

    fn control(&mut self, control: &PartitionControl) {
        self.0.control(control).expect("applies");
    }

    /// Every stored batch of `key`, read from memory or disk (verified).
    fn batches(&mut self, key: &PartitionKey) -> Vec<StoredBatch> {
        let mut all = Vec::new();
        let log = self.machine.log(key).unwrap();
        let (mut offset, end) = (log.first_offset(), log.next_offset());
        while offset < end {
            let log = self.machine.log(key).unwrap();
            let batches = match log.read(ReadStart::Offset(offset), 64 * 1024).unwrap() {
                ReadOutcome::Batches(batches) => batches,
                ReadOutcome::Empty => break,
                ReadOutcome::Plan(plan) => {
                    let mut disk = self.disk.borrow_mut();
                    let mut logs = disk.logs();
                    logs.submit(IoToken(0x4000_0000_u64 << 32 | 0xfff), plan.request()).unwrap();
                    let mut completions = Vec::new();
                    logs.wait(&mut completions);
                    let completion = completions.pop().unwrap();
                    assert!(completions.is_empty());
                    let Ok(IoDone::Read(buffer)) = completion.result else { panic!() };
                    plan.complete(buffer).unwrap()
                }
            };
            offset = batches.last().unwrap().header.end_offset();
            all.extend(batches);
        }
        all
    }
}

/// An in-memory bus end: what a replica sent, in order.
struct QueueBus {
    me: u8,
    count: u8,
    sent: Vec<(u8, Message)>,
}

impl QueueBus {
    fn new(me: u8, count: u8) -> Self {
        Self { me, count, sent: Vec::new() }
    }
}

impl TransferBus for QueueBus {
    fn cluster(&self) -> u128 {
        CLUSTER
    }
    fn replica(&self) -> u8 {
        self.me
    }
    fn replica_count(&self) -> u8 {
        self.count
    }
    fn send(&mut self, replica: u8, message: Message) {
        self.sent.push((replica, message));
    }
}

/// Source (replica 0) with two partitions across several segments, some deleted, and
/// consumer offsets; flushed, with its checkpoint descriptor.
fn source() -> (Node, Vec<u8>, u64) {
    let mut a = Node::new("source");
    for round in 0..40 {
        a.send(KEYS[0], 1 + round % 4, 700);
        if round % 3 == 0 {
            a.send(KEYS[1], 2, 300);
        }
    }
    a.settle();
    a.control(&PartitionControl::DeleteSegments { key: KEYS[0], count: 1 });
    a.control(&PartitionControl::StoreOffset {
        key: KEYS[1],
        owner: OwnerKey::ConsumerName("c".into()),
        offset: 5,
    });
    a.flush();
    assert!(a.machine.log(&KEYS[0]).unwrap().segments().len() >= 3);
    assert!(a.machine.log(&KEYS[0]).unwrap().first_offset() > 0, "a deleted segment");
    let snapshot = a.machine.snapshot();
    let checkpoint = a.op;
    (a, snapshot, checkpoint)
}

/// Runs ticks and deliveries between `a` (replica 0) and `b` (replica 1) until `b` has
/// no catch-up left or `rounds` ran out; `tamper` may rewrite answers to `b`.
fn exchange(
    a: &mut Node,
    b: &mut Node,
    rounds: usize,
    mut tamper: impl FnMut(Message) -> Message,
) -> usize {
    let mut bus_a = QueueBus::new(0, 2);
    let mut bus_b = QueueBus::new(1, 2);
    for round in 0..rounds {
        if b.machine.catchup.is_none() {
            return round;
        }
        b.machine.transfer_tick(&mut bus_b);
        for (to, message) in std::mem::take(&mut bus_b.sent) {
            assert_eq!(to, 0);
            a.machine.on_transfer_message(1, &message, &mut bus_a);
        }
        for (to, message) in std::mem::take(&mut bus_a.sent) {
            assert_eq!(to, 1);
            b.machine.on_transfer_message(0, &tamper(message), &mut bus_b);
        }
        a.settle();
        b.settle();
        assert!(b.machine.take_failure().is_none());
        b.machine.check_invariants();
    }
    rounds
}

fn assert_identical(a: &mut Node, b: &mut Node) {
    for key in KEYS {
        assert_eq!(
            b.machine.log(&key).unwrap().segments(),
            a.machine.log(&key).unwrap().segments(),
            "same segments for {key:?}"
        );
        assert_eq!(b.batches(&key), a.batches(&key), "same records for {key:?}");
        assert_eq!(b.machine.stats(&key), a.machine.stats(&key));
    }
    assert_eq!(b.machine.snapshot(), a.machine.snapshot(), "same descriptor and offsets");
}

/// The same records (op, metadata, bytes) and offsets; a log that held a prefix or was
/// reopened mid-fetch padded its tail at its own flush points, so positions may differ.
fn assert_same_records(a: &mut Node, b: &mut Node) {
    for key in KEYS {
        let records = |batches: Vec<StoredBatch>| -> Vec<_> {
            batches.into_iter().map(|b| (b.header.op, b.header.meta, b.payload)).collect()
        };
        assert_eq!(records(b.batches(&key)), records(a.batches(&key)), "same records for {key:?}");
        let (log_a, log_b) = (a.machine.log(&key).unwrap(), b.machine.log(&key).unwrap());
        assert_eq!(
            (log_b.first_offset(), log_b.next_offset()),
            (log_a.first_offset(), log_a.next_offset())
        );
    }
}

#[test]
fn a_restored_replica_fetches_the_data_and_ends_identical() {
    let (mut a, snapshot, checkpoint) = source();
    let mut b = Node::new("fetcher");
    b.machine.restore(&snapshot).unwrap();
    b.op = checkpoint;
    assert!(b.machine.syncing());
    assert!(!b.machine.apply_ready(), "consensus holds commits back");
    assert_eq!(b.machine.readable(), Err(Syncing { group: GROUP }), "polls are refused");
    assert!(marker::exists(&b.dir, GROUP), "durable marker before anything is fetched");

    let rounds = exchange(&mut a, &mut b, 500, |message| message);
    assert!(rounds < 500, "caught up");
    assert!(!b.machine.syncing() && b.machine.apply_ready());
    assert_eq!(b.machine.readable(), Ok(()));
    assert!(!marker::exists(&b.dir, GROUP), "marker removed after the flush");
    let stats = b.machine.transfer_stats();
    assert!(stats.requests >= 3 && stats.records_imported > 40, "{stats:?}");
    assert_eq!(stats.refusals, 0);
    assert!(a.machine.transfer_stats().served >= 3);
    assert_identical(&mut a, &mut b);
    assert_eq!(b.machine.stored_offset(&KEYS[1], &OwnerKey::ConsumerName("c".into())), Some(5));

    // The ops above the checkpoint apply alike on both.
    assert_eq!(b.send(KEYS[0], 3, 500), a.send(KEYS[0], 3, 500));
    a.settle();
    b.settle();
    a.control(&PartitionControl::DeleteSegments { key: KEYS[0], count: 1 });
    b.control(&PartitionControl::DeleteSegments { key: KEYS[0], count: 1 });
    a.flush();
    b.flush();
    assert_identical(&mut a, &mut b);
}

#[test]
fn a_behind_replica_keeps_its_prefix_and_fetches_the_rest() {
    let (a, _, _) = source();
    // B applied the same first ops (a prefix), then A went on and checkpointed.
    let mut b = Node::new("prefix");
    for round in 0..10 {
        b.send(KEYS[0], 1 + round % 4, 700);
        if round % 3 == 0 {
            b.send(KEYS[1], 2, 300);
        }
    }
    b.flush();
    let prefix = b.machine.log(&KEYS[0]).unwrap().next_offset();
    let mut c = Node::new("prefix-source");
    for round in 0..10 {
        c.send(KEYS[0], 1 + round % 4, 700);
        if round % 3 == 0 {
            c.send(KEYS[1], 2, 300);
        }
    }
    assert_eq!(c.machine.log(&KEYS[0]).unwrap().next_offset(), prefix);
    for round in 10..40 {
        c.send(KEYS[0], 1 + round % 4, 700);
    }
    c.flush();
    let snapshot = c.machine.snapshot();
    b.machine.restore(&snapshot).unwrap();
    assert!(b.machine.syncing());
    assert_eq!(b.machine.log(&KEYS[0]).unwrap().next_offset(), prefix, "prefix kept");
    exchange(&mut c, &mut b, 500, |message| message);
    assert!(!b.machine.syncing(), "{:?}", b.machine.transfer_stats());
    assert_same_records(&mut c, &mut b);
    drop(a);
}

#[test]
fn a_restart_in_the_middle_resumes_from_what_was_fetched() {
    let (mut a, snapshot, checkpoint) = source();
    let mut b = Node::new("restart");
    b.machine.restore(&snapshot).unwrap();
    exchange(&mut a, &mut b, 3, |message| message);
    assert!(b.machine.syncing(), "only part fetched");
    b.flush();
    let fetched = b.machine.transfer_stats().records_imported;
    assert!(fetched > 0);
    // The consensus superblock names the transferred checkpoint: reopen from it.
    let mut b = b.reopen(&snapshot, checkpoint);
    assert!(b.machine.syncing(), "the marker makes the restart fetch the rest");
    exchange(&mut a, &mut b, 500, |message| message);
    assert!(!b.machine.syncing());
    assert!(b.machine.transfer_stats().records_imported < 60, "resumed, not refetched from zero");
    assert_same_records(&mut a, &mut b);
}

#[test]
fn corrupt_answers_are_refused_and_fetched_again() {
    let (mut a, snapshot, _) = source();
    let mut b = Node::new("corrupt");
    b.machine.restore(&snapshot).unwrap();
    let mut corrupted = 0;
    let rounds = exchange(&mut a, &mut b, 2000, |message| {
        if message.header().command != Command::PartitionData || corrupted >= 3 {
            return message;
        }
        corrupted += 1;
        let mut body = message.body().to_vec();
        let at = PARTITION_DATA_PREFIX_SIZE + 64 + 10; // A batch byte of the first record.
        body[at] ^= 1;
        let data = PartitionData::decode(&body).unwrap();
        assert_eq!(data.status, PartitionDataStatus::Ok);
        assert!(body.len() > at && HEADER_SIZE > 0);
        Message::new(*message.header(), &body)
    });
    assert!(rounds < 2000);
    assert_eq!(b.machine.transfer_stats().refusals, 3);
    assert_identical(&mut a, &mut b);
}

#[test]
fn a_fetch_without_answers_retries_other_replicas_and_asks_a_primary_to_hand_over() {
    let (_a, snapshot, _) = source();
    let mut b = Node::new("silent");
    b.machine.restore(&snapshot).unwrap();
    let mut bus = QueueBus::new(1, 3);
    let mut asked = Vec::new();
    for _ in 0..=super::HANDOVER_AFTER_TICKS {
        assert!(!b.machine.should_hand_over());
        b.machine.transfer_tick(&mut bus);
        asked.extend(bus.sent.drain(..).map(|(to, message)| {
            assert_eq!(message.header().command, Command::RequestPartitionData);
            to
        }));
    }
    b.machine.transfer_tick(&mut bus);
    assert!(b.machine.should_hand_over(), "fetching for too long");
    assert!(b.machine.syncing());
    assert_eq!(asked.first(), Some(&2), "the replica after this one first");
    assert!(asked.contains(&0) && !asked.contains(&1), "rotated, never to itself: {asked:?}");
    assert!(b.machine.transfer_stats().timeouts >= 2);
}

#[test]
fn records_deleted_at_the_source_after_the_checkpoint_are_refused_as_gone() {
    let (mut a, snapshot, _) = source();
    a.settle();
    a.control(&PartitionControl::DeleteSegments { key: KEYS[0], count: 1 });
    let mut b = Node::new("gone");
    b.machine.restore(&snapshot).unwrap();
    let rounds = exchange(&mut a, &mut b, 60, |message| message);
    assert_eq!(rounds, 60, "never completes from this source");
    assert!(b.machine.syncing());
    let stats = b.machine.transfer_stats();
    assert!(stats.refusals >= 2 && stats.records_imported == 0, "{stats:?}");
    assert_eq!(b.machine.log(&KEYS[0]).unwrap().next_offset(), snapshot_first(&snapshot));

    // Consensus moves a replica that stays behind to a newer checkpoint: installed in the
    // middle of the fetch, it resolves it.
    a.flush();
    let newer = a.machine.snapshot();
    assert!(snapshot_first(&newer) > snapshot_first(&snapshot));
    b.machine.restore(&newer).unwrap();
    let rounds = exchange(&mut a, &mut b, 500, |message| message);
    assert!(rounds < 500 && !b.machine.syncing());
    assert_identical(&mut a, &mut b);
}

fn snapshot_first(snapshot: &[u8]) -> u64 {
    let snapshot = super::super::snapshot::PartitionSnapshot::decode(snapshot).unwrap();
    snapshot.partitions.iter().find(|entry| entry.key == KEYS[0]).unwrap().first_offset
}
