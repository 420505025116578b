//! Client retries across a primary change: whatever happened to the first attempt
//! (committed with its reply lost, prepared but not committed, or lost with the old
//! primary), the retried request is applied exactly once; and a session evicted from a
//! full client table is told so.

use vireo_consensus::Durability;
use vireo_protocol::vsr::{Command, Header};

use crate::harness::Cluster;

/// A cluster with one registered client that committed one request.
fn cluster_with_client(replica_count: u8) -> (Cluster, usize) {
    let mut cluster = Cluster::new(replica_count, Durability::Replicated);
    let client = cluster.client();
    cluster.register(client);
    cluster.submit(client, b"first", 500);
    (cluster, client)
}

/// The primary dies; the client keeps retrying its request in flight until answered.
/// Returns the header of the prepare the reply answers.
fn primary_dies_and_client_retries(cluster: &mut Cluster, client: usize) -> Header {
    cluster.crash(0);
    cluster.network.heal();
    cluster.replies_lost = false;
    let reply = cluster.await_reply(client, 3_000);
    let prepare = cluster.history.committed[&reply.header().op];
    assert_eq!(prepare.checksum, reply.header().context);
    cluster.converge(2_000);
    let id = cluster.clients[client].id;
    assert_eq!(cluster.history.applications(id, 2), 1, "applied exactly once");
    cluster.restart(0);
    cluster.converge(2_000);
    cluster.assert_state_machines_equal();
    prepare
}

#[test]
fn retry_of_a_request_committed_before_the_primary_change_gets_the_cached_reply() {
    for replica_count in [3, 5] {
        let (mut cluster, client) = cluster_with_client(replica_count);
        cluster.replies_lost = true;
        cluster.send(client, b"second");
        let committed = cluster.run_until(100, |c| c.history.acknowledged_max() == 3);
        assert!(committed, "committed, but the reply never reached the client");
        let applied =
            cluster.run_until(100, |c| (1..replica_count).all(|r| c.replica(r).commit_min() == 3));
        assert!(applied, "the backups learn the commit from a heartbeat");
        assert!(cluster.clients[client].in_flight.is_some());
        let replies_cached_before: u64 =
            (1..replica_count).map(|r| cluster.replica(r).stats().replies_cached).sum();

        let prepare = primary_dies_and_client_retries(&mut cluster, client);
        assert_eq!(prepare.view, 0, "the op the old primary committed");
        let replies_cached: u64 =
            (1..replica_count).map(|r| cluster.replica(r).stats().replies_cached).sum();
        assert!(replies_cached > replies_cached_before, "answered from the client table");
        assert_eq!(cluster.clients[client].replies.last().unwrap().header().op, 3);
    }
}

#[test]
fn retry_of_a_request_prepared_but_not_committed_applies_once_in_the_new_view() {
    for replica_count in [3, 5] {
        let (mut cluster, client) = cluster_with_client(replica_count);
        // Every backup journals the prepare; every prepare_ok is lost.
        cluster.network.drop_if(|p| p.message.header().command == Command::PrepareOk);
        cluster.send(client, b"second");
        cluster.run(5);
        assert_eq!(cluster.replica(0).commit_max(), 2, "not committed");
        assert_eq!(cluster.replica(1).op(), 3, "but held by the backups");

        let prepare = primary_dies_and_client_retries(&mut cluster, client);
        assert_eq!((prepare.op, prepare.view), (3, 0), "the new view kept the old prepare");
    }
}

#[test]
fn retry_of_a_request_lost_with_the_old_primary_is_prepared_again_once() {
    for replica_count in [3, 5] {
        let (mut cluster, client) = cluster_with_client(replica_count);
        // Only the primary ever holds the prepare.
        cluster.network.drop_if(|p| p.message.header().command == Command::Prepare);
        cluster.send(client, b"second");
        cluster.run(5);
        assert_eq!(cluster.replica(0).op(), 3);
        assert_eq!(cluster.replica(1).op(), 2);

        let prepare = primary_dies_and_client_retries(&mut cluster, client);
        assert_ne!(prepare.view, 0, "prepared again by a new primary");
    }
}

#[test]
fn a_session_evicted_from_a_full_client_table_is_told_and_registers_again() {
    let mut cluster = Cluster::new(3, Durability::Replicated);
    let clients_max = cluster.replica(0).config().clients_max;
    let oldest = cluster.client();
    cluster.register(oldest);
    let old_session = cluster.clients[oldest].session;
    for _ in 0..clients_max {
        let client = cluster.client();
        cluster.register(client);
    }
    assert_eq!(cluster.replica(0).client_table().len(), clients_max);
    assert!(cluster.replica(0).client_table().get(cluster.clients[oldest].id).is_none());
    assert_eq!(cluster.replica(0).stats().evictions, 1);

    // Its next request is answered with an eviction naming its old session.
    cluster.send(oldest, b"too late");
    assert_eq!(cluster.clients[oldest].evictions, 1);
    assert_eq!(cluster.clients[oldest].session, 0);
    let id = cluster.clients[oldest].id;
    assert_eq!(cluster.history.applications(id, 1), 0, "the evicted request never applied");

    let reply = cluster.register(oldest);
    assert!(reply.header().session > old_session, "a new session");
    cluster.submit(oldest, b"welcome back", 500);
    cluster.converge(500);
    cluster.assert_state_machines_equal();
}
