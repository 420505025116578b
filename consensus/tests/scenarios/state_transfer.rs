//! Catching up: a replica that missed fewer ops than the journal ring holds repairs them
//! from peers; one whose next op has left every peer's ring fetches a checkpoint (state
//! transfer), then repairs the rest.

use vireo_consensus::Durability;

use crate::harness::Cluster;

/// Commits `requests` requests of one client while `lagging` hear nothing, then heals.
fn lag_behind(replica_count: u8, lagging: &[u8], requests: u64) -> Cluster {
    let mut cluster = Cluster::new(replica_count, Durability::Replicated);
    let client = cluster.client();
    cluster.register(client);
    for &replica in lagging {
        cluster.isolate(replica);
    }
    for number in 0..requests {
        cluster.submit(client, format!("r{number}").as_bytes(), 500);
    }
    for &replica in lagging {
        assert!(cluster.replica(replica).commit_min() <= 1, "it missed everything");
    }
    cluster.network.heal();
    cluster.converge(5_000);
    cluster.assert_state_machines_equal();
    cluster
}

#[test]
fn a_replica_lagging_within_the_ring_catches_up_by_repair_alone() {
    let slots = vireo_consensus::ReplicaConfig::test(0, 3).journal_slot_count;
    let cluster = lag_behind(3, &[2], slots / 2);
    assert_eq!(cluster.replica(2).stats().syncs, 0);
    assert!(cluster.replica(2).stats().headers_repaired > 0, "{:?}", cluster.replica(2).stats());
}

#[test]
fn a_replica_lagging_beyond_the_ring_catches_up_by_state_transfer_3_replicas() {
    let slots = vireo_consensus::ReplicaConfig::test(0, 3).journal_slot_count;
    let cluster = lag_behind(3, &[2], 2 * slots);
    let primary_checkpoint = cluster.replica(0).superblock().checkpoint.op;
    assert!(primary_checkpoint > slots, "the ring wrapped past what replica 2 needs");
    assert_eq!(cluster.replica(2).stats().syncs, 1);
    assert!(cluster.replica(2).superblock().checkpoint.op >= primary_checkpoint.min(48));
}

#[test]
fn two_replicas_lagging_beyond_the_ring_both_catch_up_by_state_transfer_5_replicas() {
    let slots = vireo_consensus::ReplicaConfig::test(0, 5).journal_slot_count;
    let cluster = lag_behind(5, &[3, 4], 2 * slots);
    for replica in [3, 4] {
        assert!(cluster.replica(replica).stats().syncs >= 1, "replica {replica} synced");
    }
}
