//! View changes: one that fails part-way is overtaken by the next view; a replica that
//! can send but not receive cannot depose a healthy primary.

use vireo_consensus::{Durability, Status};
use vireo_protocol::vsr::Command;

use crate::harness::Cluster;

fn registered_client_with_requests(cluster: &mut Cluster, requests: u64) -> usize {
    let client = cluster.client();
    cluster.register(client);
    for number in 0..requests {
        cluster.submit(client, format!("r{number}").as_bytes(), 500);
    }
    client
}

#[test]
fn view_change_during_a_view_change_settles_on_a_later_view_3_replicas() {
    let mut cluster = Cluster::new(3, Durability::Replicated);
    let client = registered_client_with_requests(&mut cluster, 3);
    let acknowledged = cluster.history.acknowledged_max();
    // The primary drops off; replica 1, primary of view 1, never gets a do_view_change.
    cluster.isolate(0);
    cluster.network.drop_if(|p| p.message.header().command == Command::DoViewChange && p.to == 1);

    let moved = cluster.run_until(3_000, |c| c.replica(2).is_primary());
    assert!(moved, "view 1 cannot start; a later view must: {}", cluster.describe());
    let view = cluster.replica(2).view();
    assert_eq!(view % 3, 2, "replica 2 leads view {view}");
    assert!(view >= 2);
    assert!(cluster.replica(1).log_view() != 1, "view 1 never started");

    cluster.network.heal();
    cluster.converge(3_000);
    assert!(cluster.replica(0).commit_min() >= acknowledged);
    cluster.submit(client, b"in the later view", 500);
    cluster.converge(1_000);
    cluster.assert_state_machines_equal();
}

#[test]
fn view_change_during_a_view_change_settles_on_a_later_view_5_replicas() {
    let mut cluster = Cluster::new(5, Durability::Replicated);
    let client = registered_client_with_requests(&mut cluster, 3);
    // The primary dies; the primary of view 1 merges the logs and starts its view, but
    // its start_view reaches nobody before it dies too.
    cluster.network.hold_if(|p| p.from == 1 && p.message.header().command == Command::StartView);
    cluster.crash(0);
    let started = cluster.run_until(2_000, |c| c.replica(1).is_primary());
    assert!(started, "{}", cluster.describe());
    assert!(cluster.network.held() > 0);
    cluster.crash(1);
    for backup in 2..5 {
        assert_eq!(cluster.replica(backup).status(), Status::ViewChange);
    }

    let moved = cluster.run_until(3_000, |c| c.replica(2).is_primary());
    assert!(moved, "{}", cluster.describe());
    assert_eq!(cluster.replica(2).view(), 2);
    // The dead primary's start_view of view 1 arrives late: it changes nothing.
    cluster.network.release();
    cluster.deliver_all();
    assert_eq!(cluster.replica(3).view(), 2);
    cluster.submit(client, b"in view 2", 500);

    cluster.restart(0);
    cluster.restart(1);
    cluster.converge(3_000);
    cluster.assert_state_machines_equal();
}

#[test]
fn a_replica_that_can_send_but_not_receive_cannot_depose_a_healthy_primary() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Replicated);
        let client = registered_client_with_requests(&mut cluster, 1);
        let deaf = replica_count - 1;
        for other in 0..deaf {
            cluster.network.block(other, deaf);
        }
        for number in 0..20 {
            cluster.submit(client, format!("r{number}").as_bytes(), 500);
            cluster.run(20);
        }
        let votes = cluster
            .network
            .log
            .iter()
            .filter(|p| p.from == deaf && p.message.header().command == Command::StartViewChange)
            .count();
        assert!(votes > 0, "the deaf replica votes to leave the view it cannot hear");
        for replica in 0..deaf {
            assert_eq!(cluster.replica(replica).view(), 0, "view unchanged on {replica}");
        }
        assert!(cluster.replica(0).is_primary());
        assert_eq!(cluster.replica(deaf).view(), 0, "a lone vote never moves a view");

        cluster.network.heal();
        cluster.converge(2_000);
        cluster.assert_state_machines_equal();
    }
}

/// One replica loses power; the other two are a view-change quorum and hold every
/// acknowledged op, so they must elect a primary — which then readmits the recovering
/// replica with a nonce-fresh start_view.
///
/// Reproduction: view 0 commits ops 1..=3 everywhere. The primary (0) is cut off and
/// prepares op 4 of view 0 alone. Replicas 1 and 2 start view 1 (primary 1), which
/// prepares op 4 (lost on its way to replica 2) and op 5 (held by 1 and 2): neither
/// commits. Replica 1 loses power and restarts in `recovering_head`; the network heals.
/// Op 4 of view 1 was only ever held by replica 1, so it never committed and may be cut.
/// Regression (fixed in 4da034d): the merge of the DVCs of 0 and 2 never completed — the
/// canonical DVC (replica 2, log_view 1) has a blank at op 4, and replica 0's different,
/// intact op 4 of view 0 was not counted as a denial, so op 4 had one denial (< nack
/// quorum 2), was vouched by nobody, and the merge waited for replica 1, which as a
/// recovering replica never sends a DVC. Views climbed forever; nothing was served.
#[test]
fn two_healthy_replicas_elect_a_primary_while_the_third_is_recovering_head() {
    let mut cluster = Cluster::new(3, Durability::Replicated);
    let a = cluster.client();
    let b = cluster.client();
    let c = cluster.client();
    cluster.register(a);
    cluster.register(b);
    cluster.register(c);
    cluster.converge(200);
    let acknowledged = cluster.history.acknowledged_max();
    assert_eq!(acknowledged, 3);
    cluster.isolate(0);
    cluster.send_to(a, b"op 4 of view 0, held by replica 0 alone", 0);
    let elected = cluster.run_until(2_000, |cl| cl.replica(1).is_primary());
    assert!(elected, "{}", cluster.describe());
    cluster.network.drop_if(|p| {
        let header = p.message.header();
        p.to == 2 && header.command == Command::Prepare && header.op == 4
    });
    cluster.send_to(b, b"op 4 of view 1, held by replica 1 alone", 1);
    cluster.send_to(c, b"op 5 of view 1, held by replicas 1 and 2", 1);
    assert_eq!((cluster.replica(1).op(), cluster.replica(2).op()), (5, 5));
    assert_eq!(cluster.replica(1).commit_max(), acknowledged, "neither op 4 nor 5 committed");

    cluster.power_loss(1);
    cluster.network.heal();
    cluster.restart(1);
    assert_eq!(cluster.replica(1).status(), Status::RecoveringHead);

    cluster.converge(5_000);
    for client in [a, b, c] {
        cluster.await_reply(client, 2_000);
    }
    cluster.converge(1_000);
    cluster.assert_state_machines_equal();
}
