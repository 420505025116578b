//! Normal operation over an unreliable network: lost, duplicated and reordered messages
//! delay commits but never change what commits, and every request applies once.

use vireo_consensus::Durability;

use crate::harness::Cluster;

fn commit_requests(cluster: &mut Cluster, clients: usize, requests: u64) {
    let indices: Vec<usize> = (0..clients).map(|_| cluster.client()).collect();
    for &index in &indices {
        cluster.register(index);
    }
    for number in 0..requests {
        for &index in &indices {
            cluster.send(index, format!("c{index} r{number}").as_bytes());
        }
        for &index in &indices {
            cluster.await_reply(index, 2_000);
        }
    }
}

#[test]
fn three_replicas_commit_every_request_in_one_order() {
    let mut cluster = Cluster::new(3, Durability::Replicated);
    commit_requests(&mut cluster, 2, 5);
    cluster.converge(200);
    assert_eq!(cluster.replica(0).commit_min(), 12, "2 registers + 10 requests");
    cluster.assert_state_machines_equal();
    for client in &cluster.clients {
        assert_eq!(client.replies.len(), 6);
    }
}

#[test]
fn five_replicas_commit_with_two_backups_unreachable() {
    let mut cluster = Cluster::new(5, Durability::Replicated);
    cluster.isolate(3);
    cluster.isolate(4);
    commit_requests(&mut cluster, 2, 3);
    assert_eq!(cluster.replica(0).commit_min(), 8);
    assert_eq!(cluster.replica(3).commit_min(), 0);
    cluster.network.heal();
    cluster.converge(2_000);
    cluster.assert_state_machines_equal();
}

#[test]
fn lost_messages_delay_commits_but_every_request_commits_exactly_once() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Replicated);
        cluster.network.drop_percent = 25;
        commit_requests(&mut cluster, 3, 6);
        cluster.network.drop_percent = 0;
        cluster.converge(2_000);
        assert!(
            cluster.network.dropped > 20,
            "the network lost only {} messages",
            cluster.network.dropped
        );
        cluster.assert_state_machines_equal();
        for client in &cluster.clients {
            for request in 1..=6 {
                assert_eq!(cluster.history.applications(client.id, request), 1);
            }
        }
    }
}

#[test]
fn duplicated_and_reordered_messages_do_not_change_what_commits() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Replicated);
        cluster.network.duplicate_percent = 30;
        cluster.network.reorder = true;
        commit_requests(&mut cluster, 3, 6);
        cluster.network.duplicate_percent = 0;
        cluster.network.reorder = false;
        cluster.converge(2_000);
        assert_eq!(cluster.replica(0).commit_min(), 3 + 18);
        cluster.assert_state_machines_equal();
    }
}
