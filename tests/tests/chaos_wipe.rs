//! Goal: a node whose data directory was deleted (a replaced disk) rejoins and catches
//! up while the others keep serving writes. Once `/ready` it serves everything
//! acknowledged before the wipe, and it holds the whole history: the old primary is
//! then killed, so the wiped node is part of every quorum that follows, and every
//! acknowledged message must still be readable from both live nodes.

mod chaos_support;

use std::time::{Duration, Instant};

use chaos_support::{
    Attempt, Ledger, Outcome, Producer, SETTINGS, create_target, problems, read_all, runtime,
    verify,
};
use vireo_tests::cluster::{Cluster, NODES};

/// Acknowledged writes before the wipe: several journal rings' worth (64 slots), so the
/// wiped node needs a checkpoint (state transfer) and partition data, not only repair.
const WARM_UP_ACKS: usize = 300;
const FAILOVER_BOUND: Duration = Duration::from_secs(20);
/// Catch-up of a wiped node under load.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn a_wiped_node_rejoins_and_catches_up_under_load() {
    let mut cluster = Cluster::start("wipe", SETTINGS);
    let runtime = runtime();
    let target = runtime.block_on(create_target(cluster.tcp_addresses()));
    let ledger = Ledger::default();
    let producer = Producer::start(&runtime, "w", cluster.tcp_addresses(), target, ledger.clone());
    let deadline = Instant::now() + Duration::from_secs(90);
    while ledger.acked() < WARM_UP_ACKS {
        assert!(Instant::now() < deadline, "only {} acks", ledger.acked());
        std::thread::sleep(Duration::from_millis(20));
    }

    let primary = cluster.wait_primary(target.group, None, Duration::from_secs(20));
    let wiped = (primary + 1) % NODES;
    let wiped_at = Instant::now();
    cluster.kill(wiped);
    cluster.wipe(wiped);
    cluster.restart(wiped);
    let restarted_at = Instant::now();
    cluster.wait_ready(wiped, CATCH_UP_TIMEOUT);
    let ready_at = Instant::now();
    let acks_while_away = ledger
        .attempts()
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Acked { .. }))
        .filter(|a| a.finished > wiped_at && a.finished < ready_at)
        .count();
    eprintln!(
        "wiped node {wiped} caught up under load in {:?}; {acks_while_away} writes \
         acknowledged between the wipe and its readiness",
        ready_at - restarted_at
    );
    assert!(acks_while_away > 0, "the others kept serving while it was wiped and caught up");

    // Ready means caught up: right away it serves everything acknowledged before the
    // wipe (later sends may or may not be there yet).
    let address = cluster.node(wiped).ports.tcp_address();
    let history = runtime.block_on(read_all(address, target)).expect("the wiped node serves reads");
    // The ledger is read after the history: every stored payload has its entry.
    let before_wipe: Vec<Attempt> = ledger
        .attempts()
        .into_iter()
        .map(|mut attempt| {
            if attempt.finished >= wiped_at {
                attempt.outcome = Outcome::Ambiguous("sent after the wipe".to_owned());
            }
            attempt
        })
        .collect();
    let found = problems(&history, &before_wipe);
    assert!(found.is_empty(), "the wiped node, once ready, serves a wrong history: {found:#?}");

    // Now the wiped node must be a full member: with the old primary gone, it and the
    // third node form every quorum, and the history it carries is the cluster's.
    let other = (primary + 2) % NODES;
    let before = Instant::now();
    cluster.kill(primary);
    ledger.wait_ack_after(before, FAILOVER_BOUND);
    std::thread::sleep(Duration::from_secs(1));
    runtime.block_on(producer.stop());
    runtime.block_on(verify(&cluster, &[wiped, other], target, &ledger.attempts()));
}
