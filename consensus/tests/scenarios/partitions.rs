//! Partitions: an old primary cut off from the majority keeps preparing what its own
//! clients send it, and keeps sending those prepares once its outgoing links heal — it
//! must commit none of them, and the replicas of the new view must never acknowledge it.

use vireo_consensus::Durability;
use vireo_protocol::vsr::Command;

use crate::harness::Cluster;

/// `old` (0) and `minority` are cut off from the rest; the rest elect a new primary; then
/// the old primary's messages reach the majority again, but nothing comes back.
fn partitioned_old_primary_keeps_sending(replica_count: u8, minority: &[u8]) {
    let mut cluster = Cluster::new(replica_count, Durability::Replicated);
    let a = cluster.client();
    let b = cluster.client();
    cluster.register(a);
    cluster.register(b);
    cluster.submit(a, b"before", 500);
    let old_commit = cluster.replica(0).commit_max();

    let mut old_side = vec![0];
    old_side.extend_from_slice(minority);
    let majority: Vec<u8> = (0..replica_count).filter(|r| !old_side.contains(r)).collect();
    cluster.network.partition(&old_side, &majority);
    let elected = cluster.run_until(3_000, |c| majority.iter().any(|&r| c.replica(r).is_primary()));
    assert!(elected, "{}", cluster.describe());
    let new_primary = cluster.primary_of(&majority);

    // The old primary still believes in view 0 and orders what its client sends it; its
    // prepares now reach the majority (one-way).
    cluster.network.heal();
    for &x in &majority {
        cluster.network.block(x, 0);
        for &m in minority {
            cluster.network.block(x, m);
            cluster.network.block(m, x);
        }
    }
    let mark = cluster.network.log.len();
    assert!(cluster.replica(0).is_primary() && cluster.replica(0).view() == 0);
    cluster.send_to(b, b"to the old primary", 0);
    cluster.run(300);
    assert!(cluster.replica(0).op() > old_commit, "the old primary prepared it");
    let prepares_sent = cluster.network.log[mark..]
        .iter()
        .filter(|p| p.from == 0 && majority.contains(&p.to))
        .filter(|p| p.message.header().command == Command::Prepare)
        .count();
    assert!(prepares_sent > 0, "and sent its prepares to the majority");
    // Meanwhile the majority serves client a.
    cluster.send_to(a, b"to the new primary", new_primary);
    cluster.await_reply(a, 500);

    assert_eq!(cluster.replica(0).commit_max(), old_commit, "the old primary commits nothing");
    let acks_to_old: Vec<_> = cluster.network.log[mark..]
        .iter()
        .filter(|p| p.to == 0 && majority.contains(&p.from))
        .filter(|p| p.message.header().command == Command::PrepareOk)
        .collect();
    assert!(acks_to_old.is_empty(), "the new view acknowledged the old primary: {acks_to_old:?}");
    let b_id = cluster.clients[b].id;
    for header in cluster.history.committed.values().filter(|h| h.client == b_id && h.request == 1)
    {
        assert_ne!(header.view, 0, "client b's request committed only in the new view");
    }

    cluster.network.heal();
    cluster.converge(3_000);
    assert_ne!(cluster.replica(0).view(), 0, "the old primary joined the new view");
    // Client b's request was never committed by the old primary; its retries (to the
    // other replicas) apply it exactly once, in the new view.
    if cluster.clients[b].in_flight.is_some() {
        cluster.await_reply(b, 2_000);
    }
    assert_eq!(cluster.history.applications(b_id, 1), 1);
    cluster.converge(1_000);
    cluster.assert_state_machines_equal();
}

#[test]
fn partitioned_old_primary_keeps_sending_but_commits_nothing_3_replicas() {
    partitioned_old_primary_keeps_sending(3, &[]);
}

#[test]
fn partitioned_old_primary_and_a_backup_in_a_minority_commit_nothing_5_replicas() {
    partitioned_old_primary_keeps_sending(5, &[1]);
}
