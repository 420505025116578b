//! View change, one handler at a time: a vote on a heartbeat timeout, a quorum of votes,
//! do_view_change to the new primary only once the view is durable, start_view only once
//! `log_view` is durable, and prepare_oks from backups only after they made it durable.

use vireo_protocol::vsr::{Command, Header, HeadersBody, Message};

use crate::action::{Action, IoDone};
use crate::replica::Status;
use crate::test_fixture::{
    Node, Nodes, broadcast, expected_reply, headers_body, only_sent, register, request,
    sends_command,
};

const CLIENT: u128 = 0xc1;

/// Three replicas in view 0: op 1 (a register) committed, op 2 (a request) prepared on
/// both backups whose prepare_oks were lost. Returns the cluster and ops 1 and 2.
fn primary_lost_after_op_2() -> (Nodes, Header, Header) {
    let mut nodes = Nodes::fresh(3);
    let reply = nodes.register(CLIENT);
    let op2 = request(CLIENT, 1, 1, reply.header().checksum, b"abc");
    nodes.submit(op2, &[0]); // Everything to the primary is lost from here on.
    let (op1, op2) = (nodes.nodes[1].prepare_header(1), nodes.nodes[1].prepare_header(2));
    for backup in &nodes.nodes[1..] {
        assert_eq!((backup.replica.op(), backup.replica.commit_min()), (2, 1));
    }
    (nodes, op1, op2)
}

/// A vote of `from` for `view`.
fn start_view_change(from: &Node, view: u32) -> Message {
    let mut header = from.stamp(Command::StartViewChange);
    header.view = view;
    Message::new(header, &[])
}

/// Replica `index` votes for view 1 on its heartbeat timeout, then hears `other`'s vote:
/// a quorum. Returns the actions of that last step.
fn view_change_quorum(nodes: &mut Nodes, index: usize, other: usize) -> Vec<Action> {
    nodes.nodes[index].tick_until(60, |out| sends_command(out, Command::StartViewChange));
    let vote = start_view_change(&nodes.nodes[other], 1);
    nodes.nodes[index].message(vote)
}

#[test]
fn normal_heartbeat_timeout_votes_for_the_next_view_but_keeps_the_view() {
    let mut backup = Node::fresh(1, 3);
    let timeout = backup.replica.config().timeouts.normal_heartbeat_ticks;

    let (tick, actions) = backup.tick_until(2 * timeout, |out| !out.is_empty());

    assert!((timeout..=timeout + timeout / 2).contains(&tick), "jittered timeout: {tick}");
    assert_eq!(actions, broadcast(1, 3, &start_view_change(&backup, 1)));
    assert_eq!((backup.replica.view(), backup.replica.status()), (0, Status::Normal));
}

#[test]
fn a_single_vote_from_another_replica_changes_nothing() {
    let mut backup = Node::fresh(2, 3);
    let peer = Node::fresh(1, 3);

    assert_eq!(backup.message(start_view_change(&peer, 1)), vec![]);
    assert_eq!((backup.replica.view(), backup.replica.status()), (0, Status::Normal));
}

#[test]
fn start_view_change_quorum_makes_the_view_durable_before_sending_do_view_change() {
    let (mut nodes, op1, op2) = primary_lost_after_op_2();
    let before = nodes.nodes[2].replica.superblock().clone();

    let actions = view_change_quorum(&mut nodes, 2, 1);

    // The vote repeated to the newcomer's audience, the view written, the vote again as
    // a member of the quorum — and no do_view_change yet.
    let vote = start_view_change(&nodes.nodes[2], 1);
    let mut state = before;
    state.sequence += 1;
    state.view = 1;
    state.commit_max = 1;
    state.synced_op = 2;
    state.view_headers = vec![op1, op2];
    let mut expected = broadcast(2, 3, &vote);
    expected.push(Action::SuperblockWrite { state: Box::new(state) });
    expected.extend(broadcast(2, 3, &vote));
    assert_eq!(actions, expected);
    assert_eq!((nodes.nodes[2].replica.view(), nodes.nodes[2].replica.log_view()), (1, 0));
    assert_eq!(nodes.nodes[2].replica.status(), Status::ViewChange);

    let done = nodes.nodes[2].execute(&actions);
    let actions = nodes.nodes[2].complete(done);

    let mut dvc = nodes.nodes[2].stamp(Command::DoViewChange);
    dvc.log_view = 0;
    dvc.op = 2;
    dvc.commit = 1;
    let body = HeadersBody {
        headers: vec![Some(op1), Some(op2)],
        nack: vec![false, false],
        present: vec![true, true],
    };
    assert_eq!(
        actions,
        vec![Action::Send { replica: 1, message: Message::new(dvc, &body.encode()) }]
    );
}

#[test]
fn new_primary_starts_the_view_only_once_log_view_is_durable() {
    let (mut nodes, op1, op2) = primary_lost_after_op_2();
    let actions = view_change_quorum(&mut nodes, 2, 1);
    let done = nodes.nodes[2].execute(&actions);
    let dvc_2 = only_sent(&nodes.nodes[2].complete(done), 1, Command::DoViewChange);
    // Replica 1, the primary of view 1, joins the view change and records its own DVC.
    let actions = view_change_quorum(&mut nodes, 1, 2);
    let done = nodes.nodes[1].execute(&actions);
    assert_eq!(nodes.nodes[1].complete(done), vec![], "one DVC (its own) is not a quorum");

    let before = nodes.nodes[1].replica.superblock().clone();
    let actions = nodes.nodes[1].message(dvc_2);

    // Merged and installed: log_view 1 goes to disk; nothing announces it yet.
    let mut state = before;
    state.sequence += 1;
    state.log_view = 1;
    assert_eq!(actions, vec![Action::SuperblockWrite { state: Box::new(state) }]);
    let primary = &nodes.nodes[1].replica;
    assert_eq!((primary.status(), primary.view(), primary.op()), (Status::Normal, 1, 2));
    assert_eq!(primary.pipeline.prepares().len(), 1, "uncommitted op 2 awaits prepare_oks");

    let done = nodes.nodes[1].execute(&actions);
    assert_eq!(done, vec![IoDone::SuperblockWrite { sequence: 4 }]);
    let actions = nodes.nodes[1].complete(done);

    let mut start_view = nodes.nodes[1].stamp(Command::StartView);
    start_view.op = 2;
    start_view.commit = 1;
    let start_view = Message::new(start_view, &HeadersBody::plain(vec![op1, op2]).encode());
    let mut commit = nodes.nodes[1].stamp(Command::Commit);
    commit.commit = 1;
    commit.op = 2;
    commit.context = op1.checksum;
    commit.timestamp = nodes.nodes[1].replica.ticks;
    let mut expected = broadcast(1, 3, &start_view);
    expected.extend(broadcast(1, 3, &Message::new(commit, &[])));
    assert_eq!(actions, expected);
}

#[test]
fn backup_installs_start_view_and_acks_uncommitted_ops_only_after_durability() {
    let (mut nodes, op1, op2) = primary_lost_after_op_2();
    let actions = view_change_quorum(&mut nodes, 2, 1);
    nodes.nodes[2].settle_actions(&actions);
    let before = nodes.nodes[2].replica.superblock().clone();
    let mut start_view = nodes.nodes[1].stamp(Command::StartView);
    start_view.view = 1;
    start_view.op = 2;
    start_view.commit = 1;
    let start_view = Message::new(start_view, &HeadersBody::plain(vec![op1, op2]).encode());

    let actions = nodes.nodes[2].message(start_view.clone());

    let mut state = before;
    state.sequence += 1;
    state.log_view = 1;
    assert_eq!(actions, vec![Action::SuperblockWrite { state: Box::new(state) }]);
    assert_eq!(nodes.nodes[2].replica.status(), Status::Normal);

    let done = nodes.nodes[2].execute(&actions);
    let actions = nodes.nodes[2].complete(done);
    let mut ok = nodes.nodes[2].stamp(Command::PrepareOk);
    ok.op = 2;
    ok.commit = 1;
    ok.context = op2.checksum;
    ok.client = CLIENT;
    assert_eq!(actions, vec![Action::Send { replica: 1, message: Message::new(ok, &[]) }]);

    // The same start_view again (a duplicate) installs nothing new.
    assert_eq!(nodes.nodes[2].message(start_view), vec![]);
}

#[test]
fn a_view_change_that_does_not_complete_moves_on_to_the_next_view() {
    let (mut nodes, _, _) = primary_lost_after_op_2();
    let actions = view_change_quorum(&mut nodes, 2, 1);
    nodes.nodes[2].settle_actions(&actions);
    let timeout = nodes.nodes[2].replica.config().timeouts.view_change_status_ticks;

    // Replica 1 (the primary of view 1) never answers: the status timeout fires.
    let (tick, actions) = nodes.nodes[2].tick_until(2 * timeout, |out| {
        out.iter().any(|action| {
            matches!(action, Action::Send { message, .. }
                if message.header().command == Command::StartViewChange
                    && message.header().view == 2)
        })
    });

    assert!((timeout..=timeout + timeout / 2).contains(&tick), "jittered: {tick}");
    let vote = start_view_change(&nodes.nodes[2], 2);
    assert_eq!(actions, broadcast(2, 3, &vote));
    assert_eq!(
        (nodes.nodes[2].replica.view(), nodes.nodes[2].replica.status()),
        (1, Status::ViewChange)
    );
}

#[test]
fn primary_of_a_started_view_resends_start_view_to_a_late_do_view_change() {
    let (mut nodes, _, _) = primary_lost_after_op_2();
    let actions = view_change_quorum(&mut nodes, 2, 1);
    let done = nodes.nodes[2].execute(&actions);
    let dvc_2 = only_sent(&nodes.nodes[2].complete(done), 1, Command::DoViewChange);
    let actions = view_change_quorum(&mut nodes, 1, 2);
    nodes.nodes[1].settle_actions(&actions);
    let out = nodes.nodes[1].message_settled(dvc_2.clone());
    let start_view = only_sent(&out, 2, Command::StartView);

    // Replica 2 missed it and repeats its DVC: the primary answers with start_view only.
    let actions = nodes.nodes[1].message(dvc_2);
    assert_eq!(actions, vec![Action::Send { replica: 2, message: start_view.clone() }]);
    assert_eq!(headers_body(&start_view).headers.len(), 2);
}

#[test]
fn new_primary_commits_the_uncommitted_op_on_a_prepare_ok_of_the_new_view() {
    let (mut nodes, _, op2) = primary_lost_after_op_2();
    let actions = view_change_quorum(&mut nodes, 2, 1);
    let done = nodes.nodes[2].execute(&actions);
    let dvc_2 = only_sent(&nodes.nodes[2].complete(done), 1, Command::DoViewChange);
    let actions = view_change_quorum(&mut nodes, 1, 2);
    nodes.nodes[1].settle_actions(&actions);
    let out = nodes.nodes[1].message_settled(dvc_2);
    let start_view = only_sent(&out, 2, Command::StartView);
    let out = nodes.nodes[2].message_settled(start_view);
    let ok = only_sent(&out, 1, Command::PrepareOk);

    let actions = nodes.nodes[1].message(ok);

    assert_eq!(
        actions,
        vec![
            Action::Applied { header: op2 },
            Action::Reply { message: expected_reply(&op2, 1, &3u64.to_le_bytes()) },
        ]
    );
}

#[test]
fn backup_of_a_new_view_never_acknowledges_the_old_primary() {
    let (mut nodes, _, op2) = primary_lost_after_op_2();
    let actions = view_change_quorum(&mut nodes, 2, 1);
    let done = nodes.nodes[2].execute(&actions);
    let dvc_2 = only_sent(&nodes.nodes[2].complete(done), 1, Command::DoViewChange);
    let actions = view_change_quorum(&mut nodes, 1, 2);
    nodes.nodes[1].settle_actions(&actions);
    let out = nodes.nodes[1].message_settled(dvc_2);
    nodes.nodes[2].message_settled(only_sent(&out, 2, Command::StartView));
    assert_eq!(nodes.nodes[2].replica.view(), 1);

    // The old primary never heard of view 1: it prepares op 3 in view 0 and resends op 2.
    let old = &mut nodes.nodes[0];
    assert!(old.replica.is_primary() && old.replica.view() == 0);
    let out = old.request_settled(register(CLIENT + 1));
    let op3 = only_sent(&out, 2, Command::Prepare);
    assert_eq!((op3.header().op, op3.header().view), (3, 0));
    let stale_op2 = old.replica.cache.get(&2).cloned().expect("op 2 cached");
    assert_eq!(stale_op2.header(), &op2);

    // Neither is journaled anew nor acknowledged by the backup of view 1.
    assert_eq!(nodes.nodes[2].message(op3), vec![]);
    assert_eq!(nodes.nodes[2].message(stale_op2), vec![]);
    assert_eq!(nodes.nodes[2].replica.op(), 2);
}

#[test]
fn an_abdicating_primary_makes_its_backups_vote_at_once() {
    let mut nodes = Nodes::fresh(3);
    nodes.register(CLIENT);
    let primary = &mut nodes.nodes[0];
    primary.replica.abdicate();
    let actions: Vec<Action> = primary.replica.drain_actions().collect();
    // It leaves normal status (prepares nothing more) and votes for view 1.
    assert_eq!(primary.replica.status(), Status::ViewChange);
    assert_eq!(primary.replica.view(), 0);
    assert_eq!(actions, broadcast(0, 3, &start_view_change(&nodes.nodes[0], 1)));

    // A backup that still hears the primary's heartbeats votes with it immediately: the
    // vote comes from its own primary, which is leaving.
    let vote = start_view_change(&nodes.nodes[0], 1);
    let actions = nodes.nodes[1].message(vote);
    let own_vote = start_view_change(&nodes.nodes[1], 1);
    assert!(actions.starts_with(&broadcast(1, 3, &own_vote)), "{actions:#?}");
    // Two votes of three: a view-change quorum; replica 1 enters view 1 (durably first).
    assert_eq!(
        (nodes.nodes[1].replica.view(), nodes.nodes[1].replica.status()),
        (1, Status::ViewChange)
    );

    // The same vote from a replica that is *not* the primary changes nothing.
    let mut other = Node::fresh(2, 3);
    let foreign = start_view_change(&nodes.nodes[1], 1);
    assert_eq!(other.message(foreign), vec![]);
    assert_eq!(other.replica.status(), Status::Normal);
}

#[test]
fn do_view_change_carries_two_pipelines_of_headers_and_an_anchor() {
    // A replica whose log runs past the canonical head (an old primary's uncommitted
    // suffix) must still vouch for canonical ops it holds below that suffix: the DVC
    // covers `op - 2 × pipeline ..= op`.
    let mut nodes = Nodes::committed(3, CLIENT, 12);
    let pipeline = nodes.nodes[2].replica.config().pipeline_prepare_queue_max as u64;
    let op = nodes.nodes[2].replica.op();
    assert!(op > 2 * pipeline, "the log is longer than the DVC range");
    let actions = view_change_quorum(&mut nodes, 2, 1);
    let done = nodes.nodes[2].execute(&actions);
    let dvc = only_sent(&nodes.nodes[2].complete(done), 1, Command::DoViewChange);
    let body = headers_body(&dvc);
    let ops: Vec<u64> = body.headers.iter().map(|header| header.expect("held").op).collect();
    assert_eq!(ops, (op - 2 * pipeline..=op).collect::<Vec<_>>());
    assert!(body.present.iter().all(|&present| present), "every prepare is held intact");
}
