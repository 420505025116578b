//! Crashes and restarts: a primary that dies mid-commit, backups that die and come back
//! (process crash: completed writes kept; power loss: unsynced writes lost).

use vireo_consensus::{Durability, Status};
use vireo_protocol::vsr::Command;

use crate::harness::Cluster;

/// A registered client with `requests` requests committed; returns its index.
fn client_with_requests(cluster: &mut Cluster, requests: u64) -> usize {
    let client = cluster.client();
    cluster.register(client);
    for number in 0..requests {
        cluster.submit(client, format!("r{number}").as_bytes(), 500);
    }
    client
}

/// The primary (0) commits and acknowledges one op that only a bare replication quorum
/// holds, prepares a second that reaches backups whose prepare_oks are lost, then dies
/// before any heartbeat tells the backups what committed.
fn primary_crash_mid_commit(replica_count: u8) {
    let mut cluster = Cluster::new(replica_count, Durability::Replicated);
    let a = client_with_requests(&mut cluster, 2);
    let b = cluster.client();
    cluster.register(b);
    // Only backups 1.. (quorum − 1 of them) receive the next prepare.
    let quorum = cluster.replica(0).config().quorum_replication();
    let reached = u8::try_from(quorum - 1).expect("small");
    cluster.network.drop_if(move |p| {
        p.message.header().command == Command::Prepare && p.from == 0 && p.to > reached
    });
    let acked = cluster.submit(a, b"acknowledged", 100);
    let acked_op = acked.header().op;
    // The next prepare reaches every backup, but no prepare_ok comes back.
    cluster.network.heal();
    cluster.network.drop_if(|p| p.message.header().command == Command::PrepareOk);
    cluster.send(b, b"in flight");
    assert!(cluster.clients[b].in_flight.is_some());
    let last = replica_count - 1;
    assert!(cluster.replica(last).commit_min() < acked_op, "never received the acknowledged op");

    cluster.crash(0);
    cluster.network.heal();
    cluster.converge(2_000);
    assert!(cluster.replica(1).view() > 0, "a new view");
    assert_eq!(cluster.history.committed[&acked_op].checksum, acked.header().context);
    // The client retries the request in flight: it applies exactly once.
    cluster.await_reply(b, 2_000);
    assert_eq!(cluster.history.applications(cluster.clients[b].id, 1), 1);

    cluster.restart(0);
    cluster.converge(2_000);
    cluster.assert_state_machines_equal();
}

#[test]
fn primary_crash_mid_commit_keeps_the_acknowledged_op_3_replicas() {
    primary_crash_mid_commit(3);
}

#[test]
fn primary_crash_mid_commit_keeps_the_acknowledged_op_5_replicas() {
    primary_crash_mid_commit(5);
}

#[test]
fn backup_crash_and_restart_catches_up_on_what_it_missed() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Replicated);
        let client = client_with_requests(&mut cluster, 3);
        let down = replica_count - 1;
        cluster.crash(down);
        for number in 0..5 {
            cluster.submit(client, format!("while down {number}").as_bytes(), 500);
        }
        let missed = cluster.replica(0).commit_min();
        cluster.restart(down);
        assert_eq!(cluster.replica(down).status(), Status::Normal, "a certain restart");
        cluster.converge(2_000);
        assert_eq!(cluster.replica(down).commit_min(), missed);
        assert_eq!(cluster.replica(down).view(), 0, "no view change was needed");
        cluster.assert_state_machines_equal();
    }
}

#[test]
fn backup_power_loss_recovers_through_recovering_head_without_losing_ops() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Replicated);
        let client = client_with_requests(&mut cluster, 4);
        cluster.power_loss(1);
        cluster.restart(1);
        assert_eq!(cluster.replica(1).status(), Status::RecoveringHead);
        assert!(cluster.replica(1).stall_reason().is_some());
        cluster.converge(2_000);
        assert_eq!(cluster.replica(1).status(), Status::Normal);
        cluster.submit(client, b"after", 500);
        cluster.converge(2_000);
        cluster.assert_state_machines_equal();
    }
}

#[test]
fn primary_power_loss_hands_over_to_a_new_primary_that_keeps_every_op() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Replicated);
        let client = client_with_requests(&mut cluster, 4);
        let acknowledged = cluster.history.acknowledged_max();
        cluster.power_loss(0);
        cluster.run(200);
        cluster.restart(0);
        cluster.converge(3_000);
        assert!(cluster.replica(0).commit_min() >= acknowledged);
        assert_ne!(cluster.primary(), 0, "the view moved on while it was down");
        cluster.submit(client, b"after", 500);
        cluster.converge(2_000);
        cluster.assert_state_machines_equal();
    }
}

#[test]
fn whole_cluster_process_crash_keeps_every_acknowledged_op() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Replicated);
        let client = client_with_requests(&mut cluster, 3);
        // The last request is acknowledged within the tick: nothing synced it yet.
        cluster.send(client, b"unsynced but acknowledged");
        let acknowledged = cluster.history.acknowledged_max();
        for replica in 0..replica_count {
            cluster.crash(replica);
        }
        for replica in 0..replica_count {
            cluster.restart(replica);
            assert_ne!(cluster.replica(replica).status(), Status::RecoveringHead);
        }
        cluster.converge(3_000);
        assert!(cluster.replica(0).commit_min() >= acknowledged);
        cluster.submit(client, b"after", 1_000);
        cluster.converge(1_000);
        cluster.assert_state_machines_equal();
    }
}
