//! Crash and corruption tests of the journal store on the in-memory storage: write
//! prepares, damage the file the ways disks do, recover, and check each slot's verdict.

use vireo_protocol::vsr::{Command, HEADER_SIZE, Header, Message};

use super::index::Journal;
use super::layout::JournalLayout;
use super::slot::SlotDecision;
use super::store::{JournalEvent, JournalStore};
use crate::SECTOR_SIZE;
use crate::memory::MemoryStorage;
use crate::storage::{OpenMode, Storage};
use crate::superblock::VsrState;

const SLOTS: u64 = 32;
const MESSAGE_SIZE_MAX: usize = 8192;
const FILE: &str = "group-0.vsr";

fn layout() -> JournalLayout {
    JournalLayout::new(SLOTS, MESSAGE_SIZE_MAX, 4096)
}

fn chain(ops: std::ops::RangeInclusive<u64>) -> Vec<Message> {
    let mut parent = 0;
    ops.map(|op| {
        let mut header = Header::new(Command::Prepare);
        header.op = op;
        header.parent = parent;
        let message =
            Message::new(header, format!("body of op {op}").repeat(op as usize % 7 + 1).as_bytes());
        parent = message.header().checksum;
        message
    })
    .collect()
}

fn drain(storage: &mut MemoryStorage, store: &mut JournalStore) -> Vec<JournalEvent> {
    let mut events = Vec::new();
    for _ in 0..100 {
        let mut completions = Vec::new();
        storage.poll(&mut completions);
        if completions.is_empty() {
            break;
        }
        for completion in completions {
            store.on_completion(storage, completion, &mut events);
        }
    }
    store.poll_ready(&mut events);
    events
}

fn formatted() -> (MemoryStorage, JournalStore) {
    let mut storage = MemoryStorage::new();
    let file = storage.open(FILE, OpenMode::Create).unwrap();
    JournalStore::format(&mut storage, file, &layout(), &VsrState::format(1, 0, 0, 3)).unwrap();
    let store = JournalStore::new(layout(), file, MESSAGE_SIZE_MAX, 7);
    (storage, store)
}

fn write_all(storage: &mut MemoryStorage, store: &mut JournalStore, messages: &[Message]) {
    for message in messages {
        store.write_prepare(storage, message);
    }
    let events = drain(storage, store);
    let written =
        events.iter().filter(|e| matches!(e, JournalEvent::PrepareWritten { .. })).count();
    assert_eq!(written, messages.len());
}

fn recover(storage: &MemoryStorage) -> (MemoryStorage, Vec<SlotDecision>) {
    let mut storage = storage.restarted();
    let file = storage.open(FILE, OpenMode::Existing).unwrap();
    let mut store = JournalStore::new(layout(), file, MESSAGE_SIZE_MAX, 7);
    let recovered = store.recover(&mut storage).unwrap();
    (storage, recovered.decisions)
}

fn slot(op: u64) -> usize {
    (op % SLOTS) as usize
}

fn prepare_offset(op: u64) -> usize {
    layout().prepare_offset(slot(op)) as usize
}

fn header_offset(op: u64) -> usize {
    layout().header_ring_offset() as usize + slot(op) * HEADER_SIZE
}

#[test]
fn clean_write_recovers_clean_with_chain() {
    let (mut storage, mut store) = formatted();
    let messages = chain(1..=20);
    write_all(&mut storage, &mut store, &messages);
    let (_, decisions) = recover(&storage);
    for message in &messages {
        assert_eq!(decisions[slot(message.header().op)], SlotDecision::Clean(*message.header()));
    }
    let (journal, head) = Journal::recover(&decisions, 0);
    assert_eq!(head, 20);
    for pair in messages.windows(2) {
        assert_eq!(journal.header(pair[1].header().op).unwrap().parent, pair[0].header().checksum);
    }
    journal.check_invariants();
}

#[test]
fn torn_tail_prepare_without_header_is_empty() {
    let (mut storage, mut store) = formatted();
    let messages = chain(1..=10);
    write_all(&mut storage, &mut store, &messages[..9]);
    // Op 10's prepare write was in flight at the crash: half of it landed, no header.
    let bytes = storage.bytes_mut(FILE).unwrap();
    let torn = &messages[9].as_bytes()[..HEADER_SIZE + 3];
    bytes[prepare_offset(10)..prepare_offset(10) + torn.len()].copy_from_slice(torn);
    let (_, decisions) = recover(&storage);
    assert_eq!(decisions[slot(10)], SlotDecision::Empty);
    let (journal, head) = Journal::recover(&decisions, 0);
    assert_eq!(head, 9);
    assert!(!journal.faulty(10));
}

#[test]
fn prepare_written_but_header_lost_is_fixed_on_disk() {
    let (mut storage, mut store) = formatted();
    let messages = chain(1..=5);
    write_all(&mut storage, &mut store, &messages);
    let bytes = storage.bytes_mut(FILE).unwrap();
    bytes[header_offset(5)..header_offset(5) + HEADER_SIZE].fill(0);
    let (storage, decisions) = recover(&storage);
    assert_eq!(decisions[slot(5)], SlotDecision::Fix(*messages[4].header()));
    // The fix was written back: a second recovery sees the slot clean.
    let (_, decisions) = recover(&storage);
    assert_eq!(decisions[slot(5)], SlotDecision::Clean(*messages[4].header()));
}

#[test]
fn corrupt_mid_log_prepare_is_faulty_and_stays_faulty() {
    let (mut storage, mut store) = formatted();
    let messages = chain(1..=12);
    write_all(&mut storage, &mut store, &messages);
    let bytes = storage.bytes_mut(FILE).unwrap();
    bytes[prepare_offset(6) + HEADER_SIZE + 1] ^= 0x10;
    let (storage, decisions) = recover(&storage);
    assert_eq!(decisions[slot(6)], SlotDecision::Faulty(Some(*messages[5].header())));
    let (journal, head) = Journal::recover(&decisions, 0);
    assert_eq!(head, 12, "a mid-log corruption never truncates the log");
    assert!(journal.faulty(6));
    // Crash again before the repair: still faulty.
    let (_, decisions) = recover(&storage);
    assert_eq!(decisions[slot(6)], SlotDecision::Faulty(Some(*messages[5].header())));
}

#[test]
fn both_copies_corrupt_is_faulty_unknown_and_survives_a_rewrite_of_its_sector() {
    let (mut storage, mut store) = formatted();
    let messages = chain(1..=12);
    write_all(&mut storage, &mut store, &messages);
    let bytes = storage.bytes_mut(FILE).unwrap();
    bytes[prepare_offset(4) + 10] ^= 1;
    bytes[header_offset(4) + 10] ^= 1;
    let file_copy = storage.restarted();
    let (mut storage, decisions) = recover(&file_copy);
    assert_eq!(decisions[slot(4)], SlotDecision::Faulty(None));
    let (journal, _) = Journal::recover(&decisions, 0);
    assert!(journal.faulty(4) && journal.header(4).is_none());
    // A neighbour in the same header sector is rewritten: slot 4 must stay faulty.
    let file = storage.open(FILE, OpenMode::Existing).unwrap();
    let mut store = JournalStore::new(layout(), file, MESSAGE_SIZE_MAX, 7);
    let recovered = store.recover(&mut storage).unwrap();
    assert_eq!(recovered.decisions[slot(4)], SlotDecision::Faulty(None));
    let neighbour = chain(1..=(SLOTS + 5)).pop().unwrap(); // op 37 → slot 5, same sector
    write_all(&mut storage, &mut store, &[neighbour]);
    let (_, decisions) = recover(&storage);
    assert_eq!(decisions[slot(4)], SlotDecision::Faulty(None));
}

#[test]
fn misdirected_prepare_write_is_detected_on_both_slots() {
    let (mut storage, mut store) = formatted();
    let messages = chain(1..=8);
    write_all(&mut storage, &mut store, &messages);
    // Op 8's bytes land in op 3's slot; op 8's own slot keeps stale zeros.
    let bytes = storage.bytes_mut(FILE).unwrap();
    let wrong = messages[7].as_bytes().to_vec();
    bytes[prepare_offset(3)..prepare_offset(3) + wrong.len()].copy_from_slice(&wrong);
    bytes[prepare_offset(8)..prepare_offset(8) + SECTOR_SIZE].fill(0);
    let (_, decisions) = recover(&storage);
    assert_eq!(decisions[slot(3)], SlotDecision::Faulty(Some(*messages[2].header())));
    assert_eq!(decisions[slot(8)], SlotDecision::Faulty(Some(*messages[7].header())));
}

#[test]
fn read_prepare_verifies_identity_and_reports_corruption() {
    let (mut storage, mut store) = formatted();
    let messages = chain(1..=3);
    write_all(&mut storage, &mut store, &messages);
    let wanted = messages[1].header();
    store.read_prepare(&mut storage, 2, wanted.checksum);
    store.read_prepare(&mut storage, 2, wanted.checksum ^ 1);
    let events = drain(&mut storage, &mut store);
    assert_eq!(
        events,
        vec![
            JournalEvent::PrepareRead {
                op: 2,
                checksum: wanted.checksum,
                message: Some(Box::new(messages[1].clone()))
            },
            JournalEvent::PrepareRead { op: 2, checksum: wanted.checksum ^ 1, message: None },
        ]
    );
}

#[test]
fn superblock_update_is_durable_and_newest_wins() {
    let (mut storage, mut store) = formatted();
    let mut state = VsrState::format(1, 0, 0, 3);
    state.sequence = 2;
    state.view = 4;
    state.log_view = 3;
    store.write_superblock(&mut storage, &state);
    let events = drain(&mut storage, &mut store);
    assert_eq!(events, vec![JournalEvent::SuperblockWritten { sequence: 2 }]);
    // Tear one copy: the others still carry the state.
    let bytes = storage.bytes_mut(FILE).unwrap();
    bytes[100] ^= 1;
    let mut restarted = storage.restarted();
    let file = restarted.open(FILE, OpenMode::Existing).unwrap();
    let mut store = JournalStore::new(layout(), file, MESSAGE_SIZE_MAX, 7);
    assert_eq!(store.recover(&mut restarted).unwrap().state, state);
}

#[test]
fn same_slot_writes_are_serialized_and_newest_wins() {
    let (mut storage, mut store) = formatted();
    let first = chain(1..=1).pop().unwrap();
    let mut header = *first.header();
    header.view = 9;
    let second = Message::new(header, b"replacement");
    store.write_prepare(&mut storage, &first);
    store.write_prepare(&mut storage, &second);
    let events = drain(&mut storage, &mut store);
    assert_eq!(
        events,
        vec![JournalEvent::PrepareWritten { op: 1, checksum: second.header().checksum }]
    );
    let (_, decisions) = recover(&storage);
    assert_eq!(decisions[slot(1)], SlotDecision::Clean(*second.header()));
}
