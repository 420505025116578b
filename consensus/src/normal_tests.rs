//! Normal operation, one handler at a time: what the primary emits for a request, what a
//! backup emits for a prepare and when, what a quorum of prepare_oks and a commit
//! heartbeat cause. Every assertion compares the exact actions emitted.

use vireo_protocol::vsr::{Command, EvictionReason, FLAG_PERSISTED, Header, Message, Operation};

use crate::action::{Action, IoDone};
use crate::config::{Durability, ReplicaConfig};
use crate::recovery::root_checksum;
use crate::replica::{Replica, RestartEvidence};
use crate::test_fixture::{
    Counter, Node, Nodes, broadcast, expected_prepare, expected_reply, formatted, only_sent,
    register, request, send,
};

const CLIENT: u128 = 0xc1;

fn root() -> u128 {
    let config = ReplicaConfig::test(0, 3);
    root_checksum(config.cluster, config.group)
}

/// The prepare a backup answers with prepare_ok for `prepare`.
fn prepare_ok(backup: &Node, prepare: &Header) -> Action {
    let mut ok = backup.stamp(Command::PrepareOk);
    ok.op = prepare.op;
    ok.commit = backup.replica.commit_min();
    ok.context = prepare.checksum;
    ok.client = prepare.client;
    send(backup.replica.primary(), ok)
}

/// The primary's prepare in `actions`: a journal write then a send to each backup.
fn prepare_of(actions: &[Action]) -> Message {
    match actions.first() {
        Some(Action::JournalWrite { message }) => message.clone(),
        other => panic!("expected a journal write first, got {other:#?}"),
    }
}

#[test]
fn fresh_primary_announces_view_zero_only_once_its_superblock_is_durable() {
    let config = ReplicaConfig::test(0, 3);
    let mut primary =
        Node::open(config.clone(), formatted(&config), RestartEvidence::CompletedWritesKept);

    let actions = primary.take();
    let mut state = Replica::<Counter>::format_state(&config);
    state.sequence = 2;
    state.clean_shutdown = false; // Cleared before anything is acknowledged.
    assert_eq!(actions, vec![Action::SuperblockWrite { state: Box::new(state) }]);
    assert_eq!(primary.replica.superblock_durable(), None);

    let done = primary.execute(&actions);
    assert_eq!(done, vec![IoDone::SuperblockWrite { sequence: 2 }]);
    let actions = primary.complete(done);
    let start_view = Message::new(
        primary.stamp(Command::StartView),
        &vireo_protocol::vsr::HeadersBody::plain(Vec::new()).encode(),
    );
    let mut commit = primary.stamp(Command::Commit);
    commit.context = root();
    let mut expected = broadcast(0, 3, &start_view);
    expected.extend(broadcast(0, 3, &Message::new(commit, &[])));
    assert_eq!(actions, expected);
    assert!(primary.replica.is_primary());
}

#[test]
fn primary_prepares_a_register_journals_it_and_sends_it_to_every_backup() {
    let mut primary = Node::fresh(0, 3);
    let request = register(CLIENT);

    let actions = primary.request(request.clone());

    let prepare = expected_prepare(&primary, &request, 1, root(), 0, 1);
    let mut expected = vec![Action::JournalWrite { message: prepare.clone() }];
    expected.extend(broadcast(0, 3, &prepare));
    assert_eq!(actions, expected);
    assert_eq!(prepare.header().operation, Operation::REGISTER);
    assert_eq!(primary.replica.op(), 1);
    assert_eq!(primary.replica.commit_max(), 0, "nothing commits before a quorum holds it");
}

#[test]
fn primary_prepares_the_next_request_chained_to_the_previous_op() {
    let mut nodes = Nodes::fresh(3);
    let reply = nodes.register(CLIENT);
    let session = reply.header().session;
    assert_eq!(session, 1, "the session is the register's op");
    let op1 = nodes.nodes[0].prepare_header(1);

    let request = request(CLIENT, session, 1, reply.header().checksum, b"abc");
    let actions = nodes.nodes[0].request(request.clone());

    let prepare = expected_prepare(&nodes.nodes[0], &request, 2, op1.checksum, 1, 2);
    let mut expected = vec![Action::JournalWrite { message: prepare.clone() }];
    expected.extend(broadcast(0, 3, &prepare));
    assert_eq!(actions, expected);
}

#[test]
fn primary_answers_a_retried_request_from_the_client_table_without_preparing_it() {
    let mut nodes = Nodes::fresh(3);
    let registered = nodes.register(CLIENT);
    // A retried register: the cached register reply, nothing prepared.
    assert_eq!(
        nodes.nodes[0].request(register(CLIENT)),
        vec![Action::Reply { message: registered.clone() }]
    );

    let request = request(CLIENT, 1, 1, registered.header().checksum, b"abc");
    let replies = nodes.submit(request.clone(), &[]);
    let reply = expected_reply(&nodes.nodes[0].prepare_header(2), 1, &3u64.to_le_bytes());
    assert_eq!(replies, vec![reply.clone()]);

    let op = nodes.nodes[0].replica.op();
    let actions = nodes.nodes[0].request(request);
    assert_eq!(actions, vec![Action::Reply { message: reply }]);
    assert_eq!(nodes.nodes[0].replica.op(), op, "a retry is never prepared again");
    assert_eq!(nodes.nodes[0].replica.stats().replies_cached, 2);
    assert_eq!(nodes.nodes[0].replica.state_machine().ops, vec![2], "applied once");
}

#[test]
fn primary_evicts_a_request_whose_session_it_must_know_but_does_not() {
    let mut nodes = Nodes::fresh(3);
    nodes.register(CLIENT);
    let stranger = CLIENT + 1;

    // Session 1 ≤ commit_min: the primary has applied every op that could have opened it.
    let actions = nodes.nodes[0].request(request(stranger, 1, 1, 0, b"x"));

    let mut eviction = nodes.nodes[0].stamp(Command::Eviction);
    eviction.client = stranger;
    eviction.session = 1;
    eviction.operation = Operation(EvictionReason::NoSession as u8);
    assert_eq!(actions, vec![Action::Reply { message: Message::new(eviction, &[]) }]);
}

#[test]
fn primary_ignores_a_session_above_its_commit_rather_than_evicting_it() {
    let mut nodes = Nodes::fresh(3);
    nodes.register(CLIENT);

    // Session 9 > commit_min 1: opened by an op this primary may not have applied yet.
    let actions = nodes.nodes[0].request(request(CLIENT + 1, 9, 1, 0, b"x"));

    assert_eq!(actions, vec![]);
    assert_eq!(nodes.nodes[0].replica.op(), 1);
}

#[test]
fn primary_queues_a_request_while_the_pipeline_is_full_and_prepares_it_on_commit() {
    let mut nodes = Nodes::fresh(3);
    let clients: Vec<u128> = (1..=5).map(|i| CLIENT + i).collect();
    let replies: Vec<Message> = clients.iter().map(|&client| nodes.register(client)).collect();
    let commit = nodes.nodes[0].replica.commit_max();
    assert_eq!(commit, 5);

    // Four requests in flight, their prepares lost: the pipeline (4) is full.
    let mut prepares = Vec::new();
    for (client, reply) in clients.iter().zip(&replies).take(4) {
        let session = reply.header().session;
        let actions = nodes.nodes[0].request_settled(request(
            *client,
            session,
            1,
            reply.header().checksum,
            b"x",
        ));
        prepares.push(only_sent(&actions, 1, Command::Prepare));
    }
    assert_eq!(nodes.nodes[0].replica.op(), 9);
    assert!(nodes.nodes[0].replica.pipeline.prepares_full());

    let fifth =
        request(clients[4], replies[4].header().session, 1, replies[4].header().checksum, b"y");
    let actions = nodes.nodes[0].request(fifth.clone());
    assert_eq!(actions, vec![], "queued: no prepare while the pipeline is full");
    assert_eq!(nodes.nodes[0].replica.pipeline.requests_len(), 1);
    assert_eq!(nodes.nodes[0].replica.op(), 9);

    // Backup 1 acknowledges op 6: it commits, and the queued request takes its place.
    let ack = nodes.nodes[1].message_settled(prepares[0].clone());
    let actions = nodes.nodes[0].message(only_sent(&ack, 0, Command::PrepareOk));
    let op6 = *prepares[0].header();
    let prepare10 =
        expected_prepare(&nodes.nodes[0], &fifth, 10, prepares[3].header().checksum, 6, 10);
    let mut expected = vec![
        Action::Applied { header: op6 },
        Action::Reply { message: expected_reply(&op6, op6.session, &1u64.to_le_bytes()) },
        Action::JournalWrite { message: prepare10.clone() },
    ];
    expected.extend(broadcast(0, 3, &prepare10));
    assert_eq!(actions, expected);
    assert_eq!(nodes.nodes[0].replica.pipeline.requests_len(), 0);
}

#[test]
fn backup_journals_a_prepare_and_acks_only_after_the_write_completes() {
    let mut primary = Node::fresh(0, 3);
    let mut backup = Node::fresh(1, 3);
    let prepare = prepare_of(&primary.request(register(CLIENT)));

    let actions = backup.message(prepare.clone());
    assert_eq!(actions, vec![Action::JournalWrite { message: prepare.clone() }]);
    assert_eq!(backup.replica.op(), 1);

    let done = backup.execute(&actions);
    let header = *prepare.header();
    assert_eq!(done, vec![IoDone::JournalWrite { op: 1, checksum: header.checksum }]);
    assert_eq!(backup.complete(done), vec![prepare_ok(&backup, &header)]);

    // A retransmission of a prepare already held is acknowledged again at once.
    assert_eq!(backup.message(prepare), vec![prepare_ok(&backup, &header)]);
}

#[test]
fn backup_syncs_a_persisted_prepare_before_acking_it() {
    let mut config = ReplicaConfig::test(0, 3);
    config.durability = Durability::Persisted;
    let mut primary = Node::fresh_with(config);
    let mut backup = Node::fresh(1, 3); // Its own default is Replicated: the flag decides.
    let prepare = prepare_of(&primary.request(register(CLIENT)));
    let header = *prepare.header();
    assert_eq!(header.flags & FLAG_PERSISTED, FLAG_PERSISTED);

    let actions = backup.message(prepare.clone());
    assert_eq!(actions, vec![Action::JournalWrite { message: prepare }]);
    let done = backup.execute(&actions);
    let actions = backup.complete(done);
    assert_eq!(actions, vec![Action::JournalSync { op: 1 }], "written is not yet held");

    let done = backup.execute(&actions);
    assert_eq!(done, vec![IoDone::JournalSync { op: 1 }]);
    assert_eq!(backup.complete(done), vec![prepare_ok(&backup, &header)]);
}

#[test]
fn primary_commits_when_a_quorum_holds_the_prepare_and_replies_to_the_client() {
    let mut primary = Node::fresh(0, 3);
    let mut backup = Node::fresh(1, 3);
    let actions = primary.request(register(CLIENT));
    let prepare = prepare_of(&actions);
    let header = *prepare.header();

    // Its own write counts once done, but one copy is not a quorum of two.
    let done = primary.execute(&actions);
    assert_eq!(primary.complete(done), vec![]);
    assert_eq!(primary.replica.commit_max(), 0);

    // A prepare_ok for another checksum at that op does not count.
    let ok = backup.message_settled(prepare);
    let Action::Send { message: good, .. } = ok[0].clone() else { panic!("{ok:#?}") };
    let mut forged = *good.header();
    forged.context ^= 1;
    assert_eq!(primary.message(Message::new(forged, &[])), vec![]);
    assert_eq!(primary.replica.commit_max(), 0);

    let actions = primary.message(good);
    assert_eq!(
        actions,
        vec![
            Action::Applied { header },
            Action::Reply { message: expected_reply(&header, 1, &[]) },
        ]
    );
    assert_eq!((primary.replica.commit_min(), primary.replica.commit_max()), (1, 1));
    assert_eq!(primary.replica.client_table().get(CLIENT).map(|e| e.session), Some(1));
}

#[test]
fn a_machine_that_is_not_ready_holds_commits_back_until_it_is() {
    let mut nodes = Nodes::fresh(3);
    nodes.submit(register(CLIENT), &[]);
    let op1 = nodes.nodes[0].prepare_header(1);
    nodes.nodes[1].replica.state_machine_mut().hold = true;
    let mut commit = nodes.nodes[0].stamp(Command::Commit);
    commit.commit = 1;
    commit.op = 1;
    commit.context = op1.checksum;
    let actions = nodes.nodes[1].message(Message::new(commit, &[]));
    assert_eq!(actions, Vec::<Action>::new(), "nothing applies while the machine holds");
    assert_eq!(nodes.nodes[1].replica.commit_min(), 0);
    assert_eq!(nodes.nodes[1].replica.commit_max(), 1, "the commit is known, only held");

    nodes.nodes[1].replica.state_machine_mut().hold = false;
    nodes.nodes[1].replica.on_tick();
    let actions = nodes.nodes[1].take();
    assert!(actions.contains(&Action::Applied { header: op1 }), "{actions:?}");
    assert_eq!(nodes.nodes[1].replica.commit_min(), 1);
}

#[test]
fn backup_applies_committed_ops_on_the_primary_commit_heartbeat_without_replying() {
    let mut nodes = Nodes::fresh(3);
    // Both backups hold op 1, but no heartbeat told them it committed.
    let reply = nodes.submit(register(CLIENT), &[]).remove(0);
    let op1 = nodes.nodes[0].prepare_header(1);
    assert_eq!(nodes.nodes[1].replica.commit_min(), 0);

    let mut commit = nodes.nodes[0].stamp(Command::Commit);
    commit.commit = 1;
    commit.op = 1;
    commit.context = op1.checksum;
    let actions = nodes.nodes[1].message(Message::new(commit, &[]));

    assert_eq!(actions, vec![Action::Applied { header: op1 }]);
    assert_eq!(nodes.nodes[1].replica.commit_min(), 1);
    let entry = nodes.nodes[1].replica.client_table().get(CLIENT).cloned().expect("session");
    assert_eq!(entry.reply, reply, "every replica caches the same reply");
}

#[test]
fn backup_repeats_prepare_oks_above_the_heartbeat_commit() {
    let mut primary = Node::fresh(0, 3);
    let mut backup = Node::fresh(1, 3);
    let prepare = prepare_of(&primary.request(register(CLIENT)));
    backup.message_settled(prepare.clone());

    // The primary still reports commit 0: our prepare_ok for op 1 may have been lost.
    let mut commit = primary.stamp(Command::Commit);
    commit.context = root();
    let actions = backup.message(Message::new(commit, &[]));

    assert_eq!(actions, vec![prepare_ok(&backup, prepare.header())]);
}

#[test]
fn backup_forwards_a_direct_client_request_to_its_primary_once() {
    let mut backup = Node::fresh(2, 3);
    let request = register(CLIENT);

    assert_eq!(
        backup.request(request.clone()),
        vec![Action::Send { replica: 0, message: request.clone() }]
    );

    // Forwarded requests carry the forwarder's index and are never forwarded again.
    let mut forwarded = *request.header();
    forwarded.replica = 1;
    assert_eq!(backup.request(Message::new(forwarded, &[])), vec![]);
}

#[test]
fn persisted_primary_counts_its_own_copy_only_once_synced() {
    let mut config = ReplicaConfig::test(0, 3);
    config.durability = Durability::Persisted;
    let mut primary = Node::fresh_with(config);
    let mut backup_config = ReplicaConfig::test(1, 3);
    backup_config.durability = Durability::Persisted;
    let mut backup = Node::fresh_with(backup_config);
    let actions = primary.request(register(CLIENT));
    let prepare = prepare_of(&actions);
    let header = *prepare.header();

    let done = primary.execute(&actions);
    let sync = primary.complete(done);
    assert_eq!(sync, vec![Action::JournalSync { op: 1 }]);

    // The backup's (synced) prepare_ok alone is one copy of two: nothing commits.
    let ok = only_sent(&backup.message_settled(prepare), 0, Command::PrepareOk);
    assert_eq!(primary.message(ok), vec![]);
    assert_eq!(primary.replica.commit_max(), 0);

    let done = primary.execute(&sync);
    assert_eq!(done, vec![IoDone::JournalSync { op: 1 }]);
    assert_eq!(
        primary.complete(done),
        vec![
            Action::Applied { header },
            Action::Reply { message: expected_reply(&header, 1, &[]) },
        ]
    );
}
