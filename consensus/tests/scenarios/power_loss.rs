//! Power loss and the durability contract. Under `Replicated`, acknowledged ops may live
//! only in a quorum's unsynced writes: losing fewer than a replication quorum's loses
//! nothing; losing every replica's makes the cluster stall and say so — never serve a
//! history without them. Under `Persisted`, every acknowledged op survives any power loss.

use vireo_consensus::{Durability, Status};
use vireo_protocol::vsr::Command;

use crate::harness::Cluster;

/// A registered client; `synced` requests committed and synced everywhere, then
/// `unsynced` more acknowledged within a single tick (no background sync ran since).
fn acknowledge(cluster: &mut Cluster, synced: u64, unsynced: u64) -> usize {
    let client = cluster.client();
    cluster.register(client);
    for number in 0..synced {
        cluster.submit(client, format!("synced {number}").as_bytes(), 500);
    }
    cluster.run(50);
    for number in 0..unsynced {
        cluster.send(client, format!("unsynced {number}").as_bytes());
        assert!(
            cluster.clients[client].in_flight.is_none(),
            "acknowledged at once: {}",
            cluster.describe()
        );
    }
    client
}

#[test]
fn whole_cluster_power_loss_under_replicated_durability_stalls_and_says_so() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Replicated);
        let client = acknowledge(&mut cluster, 2, 3);
        let acknowledged = cluster.history.acknowledged_max();
        let lost = acknowledged - 2;

        for replica in 0..replica_count {
            cluster.power_loss(replica);
        }
        for replica in 0..replica_count {
            cluster.restart(replica);
            assert!(cluster.replica(replica).op() < lost, "the unsynced ops are gone");
        }
        cluster.send(client, b"after the outage");
        for _ in 0..2_000 {
            cluster.tick();
            for replica in 0..replica_count {
                let replica = cluster.replica(replica);
                assert_eq!(replica.status(), Status::RecoveringHead);
                assert!(replica.stall_reason().is_some(), "the stall is reported");
                assert!(replica.commit_min() < lost, "no history without the lost ops");
            }
        }
        let votes = cluster
            .network
            .log
            .iter()
            .filter(|p| p.message.header().command == Command::StartViewChange)
            .filter(|p| p.message.header().view > 0)
            .count();
        assert_eq!(votes, 0, "recovering replicas cast no votes");
        assert!(cluster.clients[client].in_flight.is_some(), "nothing is served");
    }
}

#[test]
fn whole_cluster_power_loss_under_persisted_durability_keeps_every_acknowledged_op() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Persisted);
        let client = acknowledge(&mut cluster, 2, 3);
        let acknowledged = cluster.history.acknowledged_max();

        for replica in 0..replica_count {
            cluster.power_loss(replica);
        }
        for replica in 0..replica_count {
            cluster.restart(replica);
            assert_eq!(cluster.replica(replica).stall_reason(), None, "a certain restart");
        }
        cluster.converge(3_000);
        for replica in 0..replica_count {
            assert!(cluster.replica(replica).commit_min() >= acknowledged);
        }
        cluster.submit(client, b"after the outage", 1_000);
        cluster.converge(1_000);
        cluster.assert_state_machines_equal();
    }
}

/// Op 5 is acknowledged while held by replicas 0, 1 and 2 only (a bare quorum of 5), in
/// unsynced writes. Replicas 0 and 1 lose power — fewer than a quorum, within the
/// contract: replica 2 still holds op 5, the recovering replicas never deny it, and the
/// new view keeps it.
#[test]
fn power_loss_of_fewer_than_a_quorum_under_replicated_durability_loses_nothing() {
    let mut cluster = Cluster::new(5, Durability::Replicated);
    let client = acknowledge(&mut cluster, 3, 0);
    cluster.network.drop_if(|p| p.to >= 3 && p.message.header().command == Command::Prepare);
    let acked = cluster.submit(client, b"held by three", 10);
    let op = acked.header().op;
    assert_eq!(cluster.replica(3).op(), op - 1);

    cluster.power_loss(0);
    cluster.power_loss(1);
    cluster.network.heal();
    cluster.restart(0);
    cluster.restart(1);
    assert_eq!(cluster.replica(1).status(), Status::RecoveringHead);
    assert!(cluster.replica(1).op() < op, "its unsynced copy of op {op} is gone");

    cluster.converge(5_000);
    assert_eq!(cluster.history.committed[&op].checksum, acked.header().context);
    cluster.submit(client, b"after", 1_000);
    cluster.converge(1_000);
    cluster.assert_state_machines_equal();
}

/// Replica 1 acknowledges op 4 (with the primary, 0; replica 2 is cut off), loses power
/// before syncing it, restarts in `recovering_head`, and leaves it on the primary's
/// start_view — op 4 is now faulty (header known, body lost, never to be nacked). Before
/// repair fetches the body, the process crashes and restarts on the same disk. Then the
/// primary crashes, and replicas 1 and 2 change view: replica 2 never had op 4; replica
/// 1 must still not nack it, so op 4 is not cut and the view waits for the primary.
#[test]
fn an_op_lost_in_a_power_loss_stays_faulty_across_a_later_process_crash() {
    let mut cluster = Cluster::new(3, Durability::Replicated);
    let client = acknowledge(&mut cluster, 2, 0);
    cluster.isolate(2);
    cluster.send(client, b"acknowledged by 0 and 1 only");
    let op = cluster.history.acknowledged_max();
    assert_eq!(op, 4);
    let header = cluster.history.committed[&op];

    // Replica 1 loses its unsynced copy; it rejoins through recovering_head, but no
    // prepare reaches it, so the body of op 4 stays missing.
    cluster.power_loss(1);
    cluster.network.heal();
    cluster.isolate(2);
    cluster.network.drop_if(|p| p.to == 1 && p.message.header().command == Command::Prepare);
    cluster.restart(1);
    assert!(cluster.run_until(200, |c| c.replica(1).status() == Status::Normal));
    assert!(cluster.replica(1).journal().faulty(op), "op 4 may have been acknowledged");

    cluster.crash(1);
    cluster.restart(1);

    // The primary goes down; 1 and 2 must not cut op 4 (one denial is not a quorum).
    cluster.crash(0);
    cluster.network.heal();
    let mark = cluster.network.log.len();
    let other = cluster.client();
    cluster.send_to(other, &[], 1);
    for _ in 0..2_000 {
        cluster.tick();
        let nacked = cluster.network.log[mark..].iter().any(|p| p.denies(1, op));
        assert!(!nacked, "replica 1 nacked op {op}, which it acknowledged");
    }
    cluster.restart(0);
    cluster.converge(5_000);
    assert_eq!(cluster.history.committed[&op], header);
    cluster.assert_state_machines_equal();
}

/// Replica 1 loses power with acknowledged ops unsynced and stays down while the cluster
/// moves more than a journal ring ahead. It restarts in `recovering_head`, catches up by
/// state transfer, and is a normal, fully caught-up replica again. A later *process*
/// crash keeps every completed write, so it must restart certain — not in doubt again.
///
/// Regression (fixed in 2cb7d63): the ops it marked faulty without a known header were
/// never dropped once committed past, so the superblock kept `recovering_head = true`
/// forever and the process crash put it back in `recovering_head`; with the primary stuck
/// that way and one other replica recovering, a 3-replica cluster stalled for good
/// (chaos harsh seed 1015).
#[test]
fn a_replica_that_caught_up_after_a_power_loss_restarts_certain_after_a_process_crash() {
    let mut cluster = Cluster::new(3, Durability::Replicated);
    let client = acknowledge(&mut cluster, 2, 2);
    cluster.power_loss(1);
    let slots = cluster.replica(0).config().journal_slot_count;
    for number in 0..2 * slots {
        cluster.submit(client, format!("while down {number}").as_bytes(), 500);
    }
    cluster.restart(1);
    assert_eq!(cluster.replica(1).status(), Status::RecoveringHead);
    cluster.converge(3_000);
    assert!(cluster.replica(1).stats().syncs >= 1, "caught up by state transfer");
    cluster.submit(client, b"after", 500);
    cluster.converge(1_000);
    assert!(!cluster.replica(1).superblock().recovering_head, "no longer in doubt");

    cluster.crash(1);
    cluster.restart(1);
    assert_eq!(cluster.replica(1).stall_reason(), None, "a process crash loses nothing");
    cluster.converge(1_000);
}
