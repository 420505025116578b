//! Repair, one handler at a time: a faulty slot stays silent (never a denial), an intact
//! one is served; a gap in the hash chain is found, asked for by range, and filled only
//! with the exact parent the chain names; then its prepare is fetched and journaled.

use vireo_protocol::vsr::{Command, Header, HeadersBody, Message};

use crate::action::{Action, IoDone};
use crate::replica::RestartEvidence;
use crate::test_fixture::{Node, Nodes, only_sent, request};

const CLIENT: u128 = 0xc1;

/// Three replicas with ops 1 (register), 2 and 3 (requests) committed everywhere.
fn three_committed_ops() -> Nodes {
    let mut nodes = Nodes::fresh(3);
    let mut parent = nodes.register(CLIENT).header().checksum;
    for number in 1..=2 {
        let reply = nodes.submit(request(CLIENT, 1, number, parent, b"abc"), &[]).remove(0);
        parent = reply.header().checksum;
    }
    nodes.heartbeat(&[]);
    for node in &nodes.nodes {
        assert_eq!((node.replica.op(), node.replica.commit_min()), (3, 3));
    }
    nodes
}

fn request_prepare(from: &Node, op: u64, checksum: u128) -> Message {
    let mut header = from.stamp(Command::RequestPrepare);
    header.op = op;
    header.context = checksum;
    Message::new(header, &[])
}

fn request_headers(from: &Node, op_min: u64, op_max: u64) -> Message {
    let mut header = from.stamp(Command::RequestHeaders);
    header.commit = op_min;
    header.op = op_max;
    Message::new(header, &[])
}

#[test]
fn request_prepare_for_a_faulty_slot_is_answered_with_silence_never_a_denial() {
    let mut nodes = three_committed_ops();
    let op2 = nodes.nodes[1].prepare_header(2);
    let op3 = nodes.nodes[1].prepare_header(3);
    let mut backup = nodes.nodes.remove(1);
    backup.corrupt_prepare(2);
    let mut backup = backup.restart(RestartEvidence::CompletedWritesKept);
    backup.settle();
    assert!(backup.replica.journal().faulty(2), "recovery finds the damaged slot faulty");
    assert_eq!(backup.replica.stats().faulty_at_recovery, 1, "and counts it");
    assert_eq!(backup.replica.journal().header(2), Some(&op2), "its header survives");

    let asker = &nodes.nodes[1]; // Replica 2.
    assert_eq!(backup.message(request_prepare(asker, 2, op2.checksum)), vec![]);

    // An intact slot is served: read from disk (the cache died with the process), then sent.
    let actions = backup.message(request_prepare(asker, 3, op3.checksum));
    assert_eq!(actions, vec![Action::JournalRead { op: 3, checksum: op3.checksum }]);
    let done = backup.execute(&actions);
    let Some(IoDone::JournalRead { message: Some(prepare), .. }) = done.first().cloned() else {
        panic!("{done:#?}")
    };
    assert_eq!(prepare.header(), &op3);
    assert_eq!(backup.complete(done), vec![Action::Send { replica: 2, message: *prepare }]);
}

#[test]
fn a_damaged_prepare_served_by_the_primary_counts_as_repaired() {
    let mut nodes = three_committed_ops();
    let op2 = nodes.nodes[1].prepare_header(2);
    let mut backup = nodes.nodes.remove(1);
    backup.corrupt_prepare(2);
    let mut backup = backup.restart(RestartEvidence::CompletedWritesKept);
    backup.settle();
    assert_eq!(backup.replica.stats().prepares_repaired, 0);

    // The primary's answer carries its own view and index: it reaches the backup's
    // replication path, and still counts as a repair.
    let primary = &mut nodes.nodes[0];
    let mut actions = primary.message(request_prepare(&backup, 2, op2.checksum));
    let settled = primary.settle_actions(&actions);
    actions.extend(settled); // Served from its cache at once, or after a journal read.
    let answer = only_sent(&actions, 1, Command::Prepare);
    assert_eq!(answer.header(), &op2);
    backup.message_settled(answer);
    assert!(!backup.replica.journal().faulty(2), "repaired");
    assert_eq!(backup.replica.stats().prepares_repaired, 1);
}

#[test]
fn request_prepare_for_an_unknown_checksum_is_answered_with_silence() {
    let mut nodes = three_committed_ops();
    let op2 = nodes.nodes[0].prepare_header(2);
    let asker = Node::fresh(2, 3);

    let actions = nodes.nodes[0].message(request_prepare(&asker, 2, op2.checksum ^ 1));

    assert_eq!(actions, vec![]);
}

#[test]
fn request_headers_is_answered_with_the_held_headers_of_the_range() {
    let mut nodes = three_committed_ops();
    let headers: Vec<Header> = (2..=3).map(|op| nodes.nodes[0].prepare_header(op)).collect();
    let asker = Node::fresh(2, 3);

    // Asking beyond the head is clipped to it; backup and primary answer alike, with
    // plain headers (the asker trusts only what chains under its own trusted head).
    for answering in [1, 0] {
        let actions = nodes.nodes[answering].message(request_headers(&asker, 2, 9));
        let reply = Message::new(
            nodes.nodes[answering].stamp(Command::Headers),
            &HeadersBody::plain(headers.clone()).encode(),
        );
        assert_eq!(actions, vec![Action::Send { replica: 2, message: reply }]);
    }
}

#[test]
fn request_headers_for_a_range_not_held_is_answered_with_silence() {
    let mut nodes = three_committed_ops();
    let asker = Node::fresh(2, 3);

    assert_eq!(nodes.nodes[1].message(request_headers(&asker, 5, 9)), vec![]);
}

#[test]
fn a_gap_in_the_chain_is_repaired_by_headers_then_prepare() {
    let mut nodes = Nodes::fresh(3);
    let reply = nodes.register(CLIENT);
    // Backup 2 misses op 2 entirely, then receives op 3 from the primary.
    let reply = nodes.submit(request(CLIENT, 1, 1, reply.header().checksum, b"a"), &[2]).remove(0);
    nodes.submit(request(CLIENT, 1, 2, reply.header().checksum, b"b"), &[]);
    let op2 = nodes.nodes[0].prepare_header(2);
    let op3 = nodes.nodes[0].prepare_header(3);
    let backup = &mut nodes.nodes[2];
    assert_eq!((backup.replica.op(), backup.replica.journal().header(2)), (3, None));

    // Without op 2 the chain from its head does not reach op 1: nothing applies.
    assert_eq!((backup.replica.commit_min(), backup.replica.commit_max()), (0, 2));

    // The repair timeout asks a peer for the range below its lowest chained header.
    let (_, out) = backup.tick_until(10, |out| !out.is_empty());
    let mut backward = backup.stamp(Command::RequestHeaders);
    backward.commit = 1;
    backward.op = 2;
    let asked = Message::new(backward, &[]);
    match out.as_slice() {
        [Action::Send { replica, message }] => {
            assert!(*replica < 2, "asks a peer");
            assert_eq!(message, &asked);
        }
        other => panic!("{other:#?}"),
    }

    // A header that is not the parent op 3 names is refused; the exact parent is taken.
    let mut forged = op2;
    forged.timestamp += 1;
    forged.checksum = forged.calculate_checksum();
    let forged = Message::new(
        nodes.nodes[0].stamp(Command::Headers),
        &HeadersBody::plain(vec![forged]).encode(),
    );
    assert_eq!(nodes.nodes[2].message(forged), vec![]);
    assert_eq!(nodes.nodes[2].replica.journal().header(2), None);
    // Backup 1 answers the backward request with plain headers: op 2 chains under op 3,
    // so the chain from the head reaches op 1 — which applies at once.
    let answer = only_sent(&nodes.nodes[1].message(asked), 2, Command::Headers);
    let op1 = nodes.nodes[0].prepare_header(1);
    assert_eq!(nodes.nodes[2].message(answer), vec![Action::Applied { header: op1 }]);
    assert_eq!(nodes.nodes[2].replica.journal().header(2), Some(&op2));
    assert!(!nodes.nodes[2].replica.journal().has_prepare(2, op2.checksum));

    // Then its body: requested, served from the primary's cache, journaled, applied.
    let (_, out) = nodes.nodes[2].tick_until(10, |out| {
        out.iter().any(|action| {
            matches!(action, Action::Send { message, .. }
                if message.header().command == Command::RequestPrepare)
        })
    });
    let mut wanted = nodes.nodes[2].stamp(Command::RequestPrepare);
    wanted.op = 2;
    wanted.context = op2.checksum;
    let wanted = Message::new(wanted, &[]);
    assert!(
        out.iter()
            .any(|action| matches!(action, Action::Send { message, .. } if *message == wanted)),
        "{out:#?}"
    );
    let prepare = only_sent(&nodes.nodes[0].message(wanted), 2, Command::Prepare);
    assert_eq!(prepare.header(), &op2);
    let actions = nodes.nodes[2].message(prepare.clone());
    assert_eq!(actions, vec![Action::JournalWrite { message: prepare }]);
    let out = nodes.nodes[2].settle_actions(&actions);
    assert_eq!(
        out.iter().filter(|action| matches!(action, Action::Applied { .. })).collect::<Vec<_>>(),
        vec![&Action::Applied { header: op2 }],
    );
    assert_eq!(nodes.nodes[2].replica.commit_min(), 2);
    assert_eq!(nodes.nodes[2].replica.journal().header(3), Some(&op3));
}
