//! State transfer, one handler at a time: a backup whose next op has left its peers'
//! rings asks for the primary's checkpoint, the primary serves its durable checkpoint in
//! chunks, and the backup installs it, then makes it durable like its own checkpoint.

use vireo_protocol::vsr::{Command, Message, checksum};

use crate::action::Action;
use crate::test_fixture::{Nodes, assert_actions, only_sent};

const CLIENT: u128 = 0xc1;

/// Three replicas; replica 2 has heard nothing while ops 1..=16 committed on the others,
/// who took their checkpoint at op 16 (`checkpoint_interval_ops`).
fn lagging_replica_2() -> Nodes {
    let nodes = Nodes::committed_without(3, CLIENT, 15, &[2]);
    for node in &nodes.nodes[..2] {
        assert_eq!(node.replica.superblock().checkpoint.op, 16, "durable checkpoint at 16");
    }
    nodes
}

/// A heartbeat of the primary (replica 0) claiming head `op`, commit 16.
fn heartbeat(nodes: &Nodes, op: u64) -> Message {
    let primary = &nodes.nodes[0];
    let mut header = primary.stamp(Command::Commit);
    header.commit = 16;
    header.op = op;
    header.context = primary.prepare_header(16).checksum;
    Message::new(header, &[])
}

fn request_sync_chunk(nodes: &Nodes, checkpoint_op: u64, index: u64) -> Message {
    let mut header = nodes.nodes[2].stamp(Command::RequestSyncChunk);
    header.checkpoint_op = checkpoint_op;
    header.op = index;
    Message::new(header, &[])
}

#[test]
fn backup_whose_next_op_left_the_ring_asks_the_primary_for_its_checkpoint() {
    let mut nodes = lagging_replica_2();
    let slots = nodes.nodes[2].replica.config().journal_slot_count;

    // A head within our ring is repaired, not synced.
    let beat = heartbeat(&nodes, slots);
    let actions = nodes.nodes[2].message(beat);
    assert!(actions.iter().all(|action| !matches!(action, Action::Send { message, .. }
        if message.header().command == Command::RequestSyncChunk)));

    // Op 1 is a ring behind the primary's head: only its checkpoint can help.
    let beat = heartbeat(&nodes, slots + 1);
    let actions = nodes.nodes[2].message(beat);
    assert_actions(
        &actions,
        &[Action::Send { replica: 0, message: request_sync_chunk(&nodes, 0, 0) }],
    );
}

#[test]
fn primary_serves_its_durable_checkpoint_as_chunks() {
    let mut nodes = lagging_replica_2();
    let primary = &nodes.nodes[0].replica;
    let durable = primary.superblock().checkpoint;
    let snapshot = primary.checkpoint_snapshot.clone();
    assert_eq!(checksum(&snapshot), durable.snapshot_checksum);

    let ask = request_sync_chunk(&nodes, 0, 0);
    let actions = nodes.nodes[0].message(ask);

    let mut chunk = nodes.nodes[0].stamp(Command::SyncChunk);
    chunk.checkpoint_op = 16;
    chunk.parent = durable.prepare_checksum;
    chunk.context = durable.snapshot_checksum;
    chunk.op = 0; // Chunk index.
    chunk.commit = 1; // Chunk count: the snapshot fits one message.
    chunk.timestamp = snapshot.len() as u64;
    assert_actions(
        &actions,
        &[Action::Send { replica: 2, message: Message::new(chunk, &snapshot) }],
    );
    assert_eq!(durable.prepare_checksum, nodes.nodes[0].prepare_header(16).checksum);
}

#[test]
fn a_replica_without_a_checkpoint_serves_no_chunk() {
    let mut nodes = lagging_replica_2();
    let asker = request_sync_chunk(&nodes, 0, 0);

    // Replica 2 has no checkpoint to give (as if replica 1 had asked it).
    let mut from_1 = *asker.header();
    from_1.replica = 1;
    assert_eq!(nodes.nodes[2].message(Message::new(from_1, &[])), vec![]);
}

#[test]
fn sync_chunk_installs_the_checkpoint_then_writes_it_durably() {
    let mut nodes = lagging_replica_2();
    let slots = nodes.nodes[2].replica.config().journal_slot_count;
    let beat = heartbeat(&nodes, slots + 1);
    let asked = nodes.nodes[2].message(beat);
    let ask = only_sent(&asked, 0, Command::RequestSyncChunk);
    let chunk = only_sent(&nodes.nodes[0].message(ask), 2, Command::SyncChunk);
    let snapshot = chunk.body().to_vec();

    let actions = nodes.nodes[2].message(chunk);

    assert_actions(
        &actions,
        &[Action::StateSynced { op: 16 }, Action::SnapshotWrite { op: 16, area: 1, snapshot }],
    );
    let backup = &nodes.nodes[2].replica;
    assert_eq!((backup.commit_min(), backup.checkpoint().op), (16, 0), "not durable yet");
    assert_eq!(backup.state_machine().total, nodes.nodes[0].replica.state_machine().total);
    assert_eq!(backup.client_table(), nodes.nodes[0].replica.client_table());

    // The snapshot first, then the superblock that names it.
    let done = nodes.nodes[2].execute(&actions);
    let actions = nodes.nodes[2].complete(done);
    let state = match actions.as_slice() {
        [Action::SuperblockWrite { state }] => state.clone(),
        other => panic!("{other:#?}"),
    };
    assert_eq!(state.checkpoint, nodes.nodes[0].replica.superblock().checkpoint);
    nodes.nodes[2].settle_actions(&actions);
    assert_eq!(nodes.nodes[2].replica.superblock().checkpoint.op, 16);
    assert_eq!(nodes.nodes[2].replica.stats().syncs, 1);
}
