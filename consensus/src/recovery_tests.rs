//! Restart, one case at a time: what a replica emits when it opens, depending on what it
//! can be sure of. A restart that may have lost unsynced writes enters `recovering_head`:
//! it asks every peer for the view with a fresh nonce, casts no vote, acknowledges
//! nothing, and leaves only on a start_view that echoes that nonce (or a higher view).

use vireo_protocol::vsr::{Command, HeadersBody, Message};

use crate::action::Action;
use crate::config::Durability;
use crate::replica::{RestartEvidence, Status};
use crate::test_fixture::{Node, Nodes, assert_actions, broadcast, only_sent, sends_command};

const CLIENT: u128 = 0xc1;

fn request_start_view(from: &Node, nonce: u128) -> Message {
    let mut header = from.stamp(Command::RequestStartView);
    header.context = nonce;
    Message::new(header, &[])
}

#[test]
fn restart_that_may_have_lost_unsynced_writes_enters_recovering_head_and_asks_with_a_nonce() {
    let mut nodes = Nodes::committed(3, CLIENT, 2);
    let backup = nodes.nodes.remove(1);
    let before = backup.replica.superblock().clone();

    let mut backup = backup.restart(RestartEvidence::UnsyncedWritesMayBeLost);
    let actions = backup.take();

    assert_eq!(backup.replica.status(), Status::RecoveringHead);
    assert!(backup.replica.stall_reason().is_some());
    let nonce = backup.replica.nonce;
    assert_ne!(nonce, 0);
    let mut state = before;
    state.sequence += 1;
    state.recovering_head = true; // A second crash before a start_view stays in doubt.
    state.view_headers = (1..=3).map(|op| backup.prepare_header(op)).collect();
    let mut expected = vec![
        Action::Send { replica: 0, message: request_start_view(&backup, nonce) },
        Action::Send { replica: 2, message: request_start_view(&backup, nonce) },
    ];
    expected.push(Action::SuperblockWrite { state: Box::new(state) });
    assert_actions(&actions, &expected);
}

#[test]
fn recovering_head_casts_no_vote_and_acknowledges_nothing() {
    let mut nodes = Nodes::committed(3, CLIENT, 2);
    let mut backup = nodes.nodes.remove(1).restart(RestartEvidence::UnsyncedWritesMayBeLost);
    backup.settle();
    let peer = &nodes.nodes[1];

    // Long past every heartbeat and view-change timeout: it only keeps asking.
    let timeouts = backup.replica.config().timeouts;
    for _ in 0..4 * timeouts.normal_heartbeat_ticks {
        backup.replica.on_tick();
        let out = backup.settle();
        for command in [Command::StartViewChange, Command::DoViewChange, Command::PrepareOk] {
            assert!(!sends_command(&out, command), "{command:?} from recovering_head: {out:#?}");
        }
    }
    // Others' votes and view changes do not move it.
    let mut vote = peer.stamp(Command::StartViewChange);
    vote.view = 1;
    assert_eq!(backup.message(Message::new(vote, &[])), vec![]);
    let mut dvc = peer.stamp(Command::DoViewChange);
    dvc.view = 1;
    assert_eq!(backup.message(Message::new(dvc, &HeadersBody::default().encode())), vec![]);
    assert_eq!((backup.replica.status(), backup.replica.view()), (Status::RecoveringHead, 0));
}

#[test]
fn recovering_head_ignores_a_start_view_of_its_view_without_its_nonce() {
    let mut nodes = Nodes::committed(3, CLIENT, 2);
    let mut backup = nodes.nodes.remove(1).restart(RestartEvidence::UnsyncedWritesMayBeLost);
    backup.settle();
    let primary = &mut nodes.nodes[0];

    // A start_view sent before the crash (or to someone else) carries no (or another) nonce.
    let stale = only_sent(&primary.message(request_start_view(&backup, 0)), 1, Command::StartView);
    assert_eq!(stale.header().context, 0);
    assert_eq!(backup.message(stale), vec![]);
    assert_eq!(backup.replica.status(), Status::RecoveringHead);
}

#[test]
fn recovering_head_leaves_on_the_primary_start_view_that_echoes_its_nonce() {
    let mut nodes = Nodes::committed(3, CLIENT, 2);
    let mut backup = nodes.nodes.remove(1).restart(RestartEvidence::UnsyncedWritesMayBeLost);
    let asks = backup.settle();
    let ask = only_sent(&asks, 0, Command::RequestStartView);
    let before = backup.replica.superblock().clone();

    let answer = nodes.nodes[0].message(ask);
    let start_view = only_sent(&answer, 1, Command::StartView);
    assert_eq!(answer.len(), 1);
    assert_eq!(start_view.header().context, backup.replica.nonce);
    let actions = backup.message(start_view);

    let mut state = before;
    state.sequence += 1;
    state.recovering_head = false;
    state.commit_max = 3; // The primary's commit, from its start_view.
    let op1 = backup.prepare_header(1);
    // The view is installed; re-applying the committed ops from disk begins at once.
    assert_actions(
        &actions,
        &[
            Action::SuperblockWrite { state: Box::new(state) },
            Action::JournalRead { op: 1, checksum: op1.checksum },
        ],
    );
    assert_eq!(backup.replica.status(), Status::Normal);
    assert_eq!(backup.replica.stall_reason(), None);
}

#[test]
fn restart_under_persisted_durability_is_certain_and_resumes_as_a_backup() {
    let mut config = crate::config::ReplicaConfig::test(1, 3);
    config.durability = Durability::Persisted;
    let mut backup = Node::fresh_with(config);
    backup.replica.on_tick();
    backup.settle();
    let before = backup.replica.superblock().clone();

    let mut backup = backup.restart(RestartEvidence::UnsyncedWritesMayBeLost);
    let actions = backup.take();

    let mut state = before;
    state.sequence += 1;
    assert_actions(&actions, &[Action::SuperblockWrite { state: Box::new(state) }]);
    assert_eq!(backup.replica.status(), Status::Normal);
}

#[test]
fn restarted_primary_votes_to_leave_its_view_since_its_pipeline_is_gone() {
    let nodes = Nodes::committed(3, CLIENT, 1);
    let primary = nodes.nodes.into_iter().next().expect("replica 0");
    let before = primary.replica.superblock().clone();

    let mut primary = primary.restart(RestartEvidence::CompletedWritesKept);
    let actions = primary.take();

    let mut vote = primary.stamp(Command::StartViewChange);
    vote.view = 1;
    let mut expected = broadcast(0, 3, &Message::new(vote, &[]));
    let mut state = before;
    state.sequence += 1;
    state.view_headers = (1..=2).map(|op| primary.prepare_header(op)).collect();
    expected.push(Action::SuperblockWrite { state: Box::new(state) });
    assert_actions(&actions, &expected);
    assert_eq!((primary.replica.status(), primary.replica.view()), (Status::ViewChange, 0));
}
