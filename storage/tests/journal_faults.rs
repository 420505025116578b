//! Crash and corruption tests of the VSR journal and superblock, on the in-memory storage
//! and on io_uring: write a hash-chained log, damage the data file the ways disks do
//! (torn tail, flipped bytes in every zone, misdirected write, latent read error,
//! truncation), recover, and check each slot's verdict — nothing intact is lost, nothing
//! corrupt is served, a mid-log corruption is never cut, a fault stays a fault.

mod common;

#[cfg(feature = "io-uring")]
use common::UringDisk;
use common::{Disk, Faulty, MemoryDisk};
use vireo_protocol::vsr::{Command, HEADER_SIZE, Header, Message};
use vireo_storage::journal::store::RecoveryError;
use vireo_storage::journal::{Journal, JournalEvent, JournalLayout, JournalStore, SlotDecision};
use vireo_storage::superblock::{SUPERBLOCK_COPIES, SUPERBLOCK_COPY_SIZE, VsrState};
use vireo_storage::{OpenMode, SECTOR_SIZE, Storage};

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
        let body = format!("op {op} ").repeat(1 + (op as usize * 37) % 300);
        let message = Message::new(header, body.as_bytes());
        parent = message.header().checksum;
        message
    })
    .collect()
}

fn store<S: Storage>(storage: &mut S) -> JournalStore {
    let file = storage.open(FILE, OpenMode::Existing).expect("journal exists");
    JournalStore::new(layout(), file, MESSAGE_SIZE_MAX, 3)
}

fn format<D: Disk>(disk: &mut D) {
    let storage = disk.storage();
    let file = storage.open(FILE, OpenMode::Create).unwrap();
    JournalStore::format(storage, file, &layout(), &VsrState::format(1, 0, 0, 3)).unwrap();
}

/// Runs completions until the store is idle; returns its events.
fn drain<S: Storage>(storage: &mut S, store: &mut JournalStore) -> Vec<JournalEvent> {
    let mut events = Vec::new();
    for _ in 0..10_000 {
        store.poll_ready(&mut events);
        if store.in_flight() == 0 {
            break;
        }
        let mut completions = Vec::new();
        storage.wait(&mut completions);
        for completion in completions {
            store.on_completion(storage, completion, &mut events);
        }
    }
    assert_eq!(store.in_flight(), 0, "journal I/O never completed");
    events
}

fn write_log<D: Disk>(disk: &mut D, messages: &[Message]) {
    // Like a replica: recover first, so the header ring image is what the disk holds.
    disk.restart();
    let mut journal = store(disk.storage());
    journal.recover(disk.storage()).expect("recovers");
    for message in messages {
        journal.write_prepare(disk.storage(), message);
    }
    let events = drain(disk.storage(), &mut journal);
    let written =
        events.iter().filter(|e| matches!(e, JournalEvent::PrepareWritten { .. })).count();
    assert_eq!(written, messages.len());
    journal.sync(disk.storage(), 0);
    drain(disk.storage(), &mut journal);
}

fn recover<D: Disk>(disk: &mut D) -> Vec<SlotDecision> {
    disk.restart();
    let mut journal = store(disk.storage());
    let recovered = journal.recover(disk.storage()).expect("recovers");
    recovered.decisions
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

/// The index built from `decisions`, checked; its head op.
fn index(decisions: &[SlotDecision]) -> (Journal, u64) {
    let (journal, head) = Journal::recover(decisions, 0);
    journal.check_invariants();
    (journal, head)
}

fn clean_log_recovers_every_op_with_its_chain<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=20);
    write_log(disk, &messages);
    let decisions = recover(disk);
    let (journal, head) = index(&decisions);
    assert_eq!(head, 20);
    for pair in messages.windows(2) {
        let (low, high) = (pair[0].header(), pair[1].header());
        assert!(journal.has_prepare(high.op, high.checksum));
        assert_eq!(journal.header(high.op).unwrap().parent, low.checksum);
    }
}

fn torn_tail_is_cut_and_nothing_else<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=10);
    write_log(disk, &messages[..9]);
    // Op 10's prepare write was in flight at the crash: a sector of it landed, no header.
    let torn = messages[9].as_bytes()[..SECTOR_SIZE.min(messages[9].as_bytes().len()) - 1].to_vec();
    disk.edit(FILE, &mut |bytes| {
        let at = prepare_offset(10);
        bytes[at..at + torn.len()].copy_from_slice(&torn);
    });
    let decisions = recover(disk);
    assert_eq!(decisions[slot(10)], SlotDecision::Empty);
    let (journal, head) = index(&decisions);
    assert_eq!(head, 9);
    assert!(!journal.faulty(10) && !journal.dirty(10));
    for message in &messages[..9] {
        assert!(journal.has_prepare(message.header().op, message.header().checksum));
    }
}

fn flipped_prepare_byte_mid_log_is_faulty_and_stays_faulty<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=12);
    write_log(disk, &messages);
    disk.edit(FILE, &mut |bytes| bytes[prepare_offset(6) + HEADER_SIZE + 3] ^= 0x10);
    let decisions = recover(disk);
    assert_eq!(decisions[slot(6)], SlotDecision::Faulty(Some(*messages[5].header())));
    let (journal, head) = index(&decisions);
    assert_eq!(head, 12, "a mid-log corruption never truncates the log");
    assert!(journal.faulty(6) && !journal.has_prepare(6, messages[5].header().checksum));
    // Crash again before any repair: still faulty, still never nackable.
    let decisions = recover(disk);
    assert_eq!(decisions[slot(6)], SlotDecision::Faulty(Some(*messages[5].header())));
}

fn flipped_redundant_header_is_fixed_from_the_prepare<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=5);
    write_log(disk, &messages);
    disk.edit(FILE, &mut |bytes| bytes[header_offset(4) + 77] ^= 0x01);
    let decisions = recover(disk);
    assert_eq!(decisions[slot(4)], SlotDecision::Fix(*messages[3].header()));
    // The fix was written back: the next recovery sees the slot clean.
    let decisions = recover(disk);
    assert_eq!(decisions[slot(4)], SlotDecision::Clean(*messages[3].header()));
}

fn both_copies_damaged_is_faulty_without_a_header<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=12);
    write_log(disk, &messages);
    disk.edit(FILE, &mut |bytes| {
        bytes[prepare_offset(4) + 9] ^= 1;
        bytes[header_offset(4) + 9] ^= 1;
    });
    let decisions = recover(disk);
    assert_eq!(decisions[slot(4)], SlotDecision::Faulty(None));
    let (journal, _) = index(&decisions);
    assert!(journal.faulty(4) && journal.header(4).is_none());
    // A neighbour in the same header sector is rewritten: op 4 must stay faulty.
    let neighbour = chain(1..=(SLOTS + 5)).pop().unwrap();
    write_log(disk, &[neighbour]);
    let decisions = recover(disk);
    assert_eq!(decisions[slot(4)], SlotDecision::Faulty(None));
}

fn misdirected_prepare_write_is_caught_at_both_ends<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=8);
    write_log(disk, &messages);
    // Op 8's bytes landed in op 3's slot; op 8's own slot kept stale zeros.
    let wrong = messages[7].as_bytes().to_vec();
    disk.edit(FILE, &mut |bytes| {
        bytes[prepare_offset(3)..prepare_offset(3) + wrong.len()].copy_from_slice(&wrong);
        bytes[prepare_offset(8)..prepare_offset(8) + SECTOR_SIZE].fill(0);
    });
    let decisions = recover(disk);
    assert_eq!(decisions[slot(3)], SlotDecision::Faulty(Some(*messages[2].header())));
    assert_eq!(decisions[slot(8)], SlotDecision::Faulty(Some(*messages[7].header())));
}

fn latent_read_error_is_a_fault_not_a_cut<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=10);
    write_log(disk, &messages);
    disk.restart();
    let sector = (prepare_offset(7) / SECTOR_SIZE) as u64;
    let mut faulty = Faulty::new(disk.storage());
    faulty.bad_sectors.insert((FILE.to_owned(), sector));
    let mut journal = store(&mut faulty);
    let recovered = journal.recover(&mut faulty).expect("recovers");
    assert!(faulty.reads_failed > 0, "the latent error was hit");
    assert_eq!(recovered.decisions[slot(7)], SlotDecision::Faulty(Some(*messages[6].header())));
    let (journal_index, head) = index(&recovered.decisions);
    assert_eq!(head, 10);
    assert!(journal_index.faulty(7));
    // Reading it back for a repair answers "not held", never corrupt bytes.
    journal.read_prepare(&mut faulty, 7, messages[6].header().checksum);
    let events = drain(&mut faulty, &mut journal);
    assert_eq!(
        events,
        vec![JournalEvent::PrepareRead {
            op: 7,
            checksum: messages[6].header().checksum,
            message: None
        }]
    );
}

fn truncated_file_loses_only_the_missing_tail<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=SLOTS);
    write_log(disk, &messages);
    // The file is cut in the middle of the prepare of the op in the last slot.
    let cut = prepare_offset(SLOTS - 1) + HEADER_SIZE / 2;
    disk.edit(FILE, &mut |bytes| bytes.truncate(cut));
    let decisions = recover(disk);
    // Its header says it was written: faulty, never forgotten.
    assert_eq!(
        decisions[slot(SLOTS - 1)],
        SlotDecision::Faulty(Some(*messages[SLOTS as usize - 2].header()))
    );
    for message in &messages[..SLOTS as usize - 2] {
        assert_eq!(decisions[slot(message.header().op)], SlotDecision::Clean(*message.header()));
    }
}

fn torn_superblock_update_keeps_the_previous_state<D: Disk>(disk: &mut D) {
    format(disk);
    let mut journal = store(disk.storage());
    let mut state = VsrState::format(1, 0, 0, 3);
    state.sequence = 2;
    state.view = 7;
    state.log_view = 6;
    journal.write_superblock(disk.storage(), &state);
    assert_eq!(
        drain(disk.storage(), &mut journal),
        vec![JournalEvent::SuperblockWritten { sequence: 2 }]
    );
    // The next update was torn in every copy (half a sector of the new state landed over
    // the old one) and copy 0 has a flipped byte besides: no copy is valid, and the file
    // is refused rather than misread.
    let mut newer = state.clone();
    newer.sequence = 3;
    newer.view = 8;
    let newer_bytes = newer.encode();
    disk.edit(FILE, &mut |bytes| {
        for copy in 0..SUPERBLOCK_COPIES {
            let at = copy * SUPERBLOCK_COPY_SIZE;
            if copy == 0 {
                bytes[at + 40] ^= 1;
            } else {
                // The checksum and magic of the new state, over the old one's fields.
                bytes[at..at + 24].copy_from_slice(&newer_bytes[..24]);
            }
        }
    });
    disk.restart();
    let mut journal = store(disk.storage());
    assert!(matches!(journal.recover(disk.storage()), Err(RecoveryError::Superblock(_))));
    // With one copy of the previous state intact, that state is back.
    let intact = state.encode();
    disk.edit(FILE, &mut |bytes| {
        let at = 3 * SUPERBLOCK_COPY_SIZE;
        bytes[at..at + SUPERBLOCK_COPY_SIZE].copy_from_slice(&intact);
    });
    disk.restart();
    let mut journal = store(disk.storage());
    assert_eq!(journal.recover(disk.storage()).expect("one copy survives").state, state);
}

fn read_prepare_answers_only_the_exact_prepare<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=3);
    write_log(disk, &messages);
    let mut journal = store(disk.storage());
    journal.recover(disk.storage()).expect("recovers");
    let wanted = messages[1].header();
    journal.read_prepare(disk.storage(), 2, wanted.checksum);
    journal.read_prepare(disk.storage(), 2, wanted.checksum ^ 1);
    assert_eq!(
        drain(disk.storage(), &mut journal),
        vec![
            JournalEvent::PrepareRead {
                op: 2,
                checksum: wanted.checksum,
                message: Some(Box::new(messages[1].clone())),
            },
            JournalEvent::PrepareRead { op: 2, checksum: wanted.checksum ^ 1, message: None },
        ]
    );
}

fn writes_to_one_slot_are_serialized_and_the_newest_wins<D: Disk>(disk: &mut D) {
    format(disk);
    let first = chain(1..=1).pop().unwrap();
    let mut header = *first.header();
    header.view = 9;
    let second = Message::new(header, b"replacement");
    let mut journal = store(disk.storage());
    journal.recover(disk.storage()).expect("recovers");
    journal.write_prepare(disk.storage(), &first);
    journal.write_prepare(disk.storage(), &second);
    // The first write is superseded before its header is written: only the second
    // completes, and it is what the disk holds.
    assert_eq!(
        drain(disk.storage(), &mut journal),
        vec![JournalEvent::PrepareWritten { op: 1, checksum: second.header().checksum }]
    );
    let decisions = recover(disk);
    assert_eq!(decisions[slot(1)], SlotDecision::Clean(*second.header()));
}

fn a_header_written_alone_makes_the_slot_faulty_across_restarts<D: Disk>(disk: &mut D) {
    format(disk);
    let messages = chain(1..=4);
    write_log(disk, &messages[..3]);
    // Op 4 is known (from a start_view) but its prepare is lost: the replica records the
    // fault by writing the header alone.
    let mut journal = store(disk.storage());
    journal.recover(disk.storage()).expect("recovers");
    journal.write_header(disk.storage(), messages[3].header());
    assert_eq!(
        drain(disk.storage(), &mut journal),
        vec![JournalEvent::HeaderWritten { op: 4, checksum: messages[3].header().checksum }]
    );
    let decisions = recover(disk);
    assert_eq!(decisions[slot(4)], SlotDecision::Faulty(Some(*messages[3].header())));
    let (journal, head) = index(&decisions);
    assert_eq!(head, 4);
    assert!(journal.faulty(4));
}

macro_rules! on_both_disks {
    ($($name:ident),* $(,)?) => {
        mod memory {
            use super::*;
            $( #[test] fn $name() { super::$name(&mut MemoryDisk::new()); } )*
        }
        #[cfg(feature = "io-uring")]
        mod uring {
            use super::*;
            $( #[test] fn $name() { super::$name(&mut UringDisk::new(concat!("journal-", stringify!($name)))); } )*
        }
    };
}

on_both_disks! {
    clean_log_recovers_every_op_with_its_chain,
    torn_tail_is_cut_and_nothing_else,
    flipped_prepare_byte_mid_log_is_faulty_and_stays_faulty,
    flipped_redundant_header_is_fixed_from_the_prepare,
    both_copies_damaged_is_faulty_without_a_header,
    misdirected_prepare_write_is_caught_at_both_ends,
    latent_read_error_is_a_fault_not_a_cut,
    truncated_file_loses_only_the_missing_tail,
    torn_superblock_update_keeps_the_previous_state,
    read_prepare_answers_only_the_exact_prepare,
    writes_to_one_slot_are_serialized_and_the_newest_wins,
    a_header_written_alone_makes_the_slot_faulty_across_restarts,
}
