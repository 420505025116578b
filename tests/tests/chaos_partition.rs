//! Goal: network partitions (through the fault proxies on every replica link) lose
//! nothing acknowledged. First one backup is cut off from both peers while the load
//! goes on (the other two keep committing), then healed and caught up. Then the
//! primary is cut off: the two others elect a new primary and a client talking to
//! them keeps writing; the old primary, still running and reachable by its clients,
//! cannot commit anything alone. After the heal every node serves the same history.

mod chaos_support;

use std::time::{Duration, Instant};

use chaos_support::{Ledger, Producer, SETTINGS, create_target, runtime, verify};
use vireo_tests::cluster::{Cluster, NODES, READY_TIMEOUT};

const PARTITION_TIME: Duration = Duration::from_secs(3);
const FAILOVER_BOUND: Duration = Duration::from_secs(20);

#[test]
fn partitions_of_a_backup_and_of_the_primary_lose_nothing() {
    let mut cluster = Cluster::start("partition", SETTINGS);
    let runtime = runtime();
    let target = runtime.block_on(create_target(cluster.tcp_addresses()));
    let ledger = Ledger::default();
    let everywhere =
        Producer::start(&runtime, "all", cluster.tcp_addresses(), target, ledger.clone());

    // 1. A backup alone on its side.
    let primary = cluster.wait_primary(target.group, None, Duration::from_secs(20));
    let backup = (primary + 1) % NODES;
    cluster.isolate(backup);
    let cut_at = Instant::now();
    ledger.wait_ack_after(cut_at, FAILOVER_BOUND);
    std::thread::sleep(PARTITION_TIME);
    let seen = cluster.view(primary).and_then(|view| view.group(target.group).cloned());
    assert!(
        seen.as_ref().is_some_and(|g| g.primary == primary && g.status == "normal"),
        "a backup's cut does not depose the primary: {seen:?}"
    );
    cluster.heal();
    cluster.wait_all_ready(READY_TIMEOUT);

    // 2. The primary alone on its side; a producer on the majority side must get
    // through, whatever the old primary's clients see.
    let old = cluster.wait_primary(target.group, None, Duration::from_secs(20));
    let majority: Vec<String> =
        (0..NODES).filter(|&i| i != old).map(|i| cluster.node(i).ports.tcp_address()).collect();
    cluster.isolate(old);
    let cut_at = Instant::now();
    let majority_side = Producer::start(&runtime, "maj", majority, target, ledger.clone());
    let new = cluster.wait_primary(target.group, Some(old), FAILOVER_BOUND);
    let window = ledger.wait_ack_after(cut_at, FAILOVER_BOUND);
    eprintln!("primary {old} cut off: node {new} took over, writes resumed after {window:?}");
    std::thread::sleep(PARTITION_TIME);
    cluster.heal();
    cluster.wait_all_ready(READY_TIMEOUT);
    std::thread::sleep(Duration::from_millis(500));

    runtime.block_on(majority_side.stop());
    runtime.block_on(everywhere.stop());
    let all: Vec<usize> = (0..NODES).collect();
    runtime.block_on(verify(&cluster, &all, target, &ledger.attempts()));
}
