//! A corrupted journal slot: found faulty at restart, never nacked (a faulty copy may be
//! the committed one), never served, and repaired from a peer that holds it intact.

use vireo_consensus::Durability;
use vireo_protocol::vsr::Command;

use crate::harness::Cluster;
use crate::harness::network::Packet;

/// True if `packet` serves the prepare of `op` from `replica`.
fn serves(packet: &Packet, replica: u8, op: u64) -> bool {
    let header = packet.message.header();
    packet.from == replica && header.command == Command::Prepare && header.op == op
}

#[test]
fn a_corrupted_slot_is_found_faulty_at_restart_and_repaired_from_peers() {
    for replica_count in [3, 5] {
        let mut cluster = Cluster::new(replica_count, Durability::Replicated);
        let client = cluster.client();
        cluster.register(client);
        for number in 0..4 {
            cluster.submit(client, format!("r{number}").as_bytes(), 500);
        }
        cluster.converge(200);
        let op = 4;
        let header = cluster.history.committed[&op];

        cluster.crash(1);
        cluster.nodes[1].corrupt_prepare(op);
        cluster.restart(1);
        let mark = cluster.network.log.len();
        let journal = cluster.replica(1).journal();
        assert!(journal.faulty(op), "recovery finds the slot faulty");
        assert_eq!(journal.header(op), Some(&header), "its redundant header survived");

        cluster.run_until(500, |c| c.replica(1).journal().has_prepare(op, header.checksum));
        let replica = cluster.replica(1);
        assert!(replica.journal().has_prepare(op, header.checksum), "repaired from a peer");
        assert!(!replica.journal().faulty(op));
        let served = cluster.network.log[mark..].iter().any(|p| {
            p.to == 1
                && p.message.header().command == Command::Prepare
                && p.message.header().op == op
        });
        assert!(served, "a peer sent it the prepare");
        cluster.converge(500);
        cluster.assert_state_machines_equal();
    }
}

/// The acknowledged op 5 is held by the primary (0) and backup 1 only. Backup 1's copy
/// rots and the primary is down: replica 2 denies op 5, replica 1 must not — with one
/// denial the view change cannot cut it, and waits. When the primary returns with its
/// intact copy, the view change keeps op 5 and backup 1 repairs its slot.
#[test]
fn a_faulty_slot_is_never_nacked_so_an_acknowledged_op_survives_until_a_peer_repairs_it() {
    let mut cluster = Cluster::new(3, Durability::Replicated);
    let a = cluster.client();
    cluster.register(a);
    for number in 0..3 {
        cluster.submit(a, format!("r{number}").as_bytes(), 500);
    }
    cluster.converge(200);
    cluster.network.drop_if(|p| p.to == 2 && p.message.header().command == Command::Prepare);
    let acked = cluster.submit(a, b"held by 0 and 1 only", 100);
    let op = acked.header().op;
    assert_eq!(op, 5);
    assert_eq!(cluster.replica(2).op(), 4, "replica 2 never saw op 5");
    let header = cluster.history.committed[&op];

    cluster.crash(1);
    cluster.crash(0);
    cluster.nodes[1].corrupt_prepare(op);
    cluster.network.heal();
    cluster.restart(1);
    assert!(cluster.replica(1).journal().faulty(op));
    let mark = cluster.network.log.len();

    // Without the primary, no view can keep op 5 (nobody holds it intact) and none may
    // cut it (one denial is not a nack quorum): the view change waits. A new client's
    // request meanwhile must not take op 5's place.
    let b = cluster.client();
    cluster.send_to(b, &[], 1);
    for _ in 0..1_000 {
        cluster.tick();
        for replica in [1, 2] {
            assert!(!cluster.replica(replica).is_primary(), "no view may start without op 5");
        }
    }
    let log = &cluster.network.log[mark..];
    assert!(log.iter().any(|p| p.message.header().command == Command::DoViewChange));
    assert!(log.iter().any(|p| p.denies(2, op)), "replica 2 denies op 5: it never had it");
    assert!(!log.iter().any(|p| p.denies(1, op)), "the faulty copy is never nacked");
    assert!(!log.iter().any(|p| serves(p, 1, op)), "and never served");

    cluster.restart(0);
    cluster.converge(5_000);
    assert_eq!(cluster.history.committed[&op], header, "the acknowledged op survived");
    assert!(cluster.replica(1).journal().has_prepare(op, header.checksum), "repaired");
    assert!(!cluster.replica(1).journal().faulty(op));
    let log = &cluster.network.log[mark..];
    assert!(!log.iter().any(|p| p.denies(1, op)), "never nacked, start to end");
    cluster.await_reply(b, 2_000);
    cluster.converge(1_000);
    cluster.assert_state_machines_equal();
}
