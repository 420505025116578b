//! Goal: a backup whose journal was corrupted while it was down is repaired from its
//! peers, and nothing acknowledged is lost.
//!
//! A backup of the partition's group is killed under load; while it is down the load
//! continues and bytes are flipped in the middle of its journal's prepare ring: every
//! prepare above its checkpoint but the two newest gets a flipped header byte and a
//! flipped body byte. It restarts and must become ready. To prove its repaired
//! log is really there (not only the primary's), the *other* backup is then killed, so
//! the repaired node is the only backup in the quorum while the load goes on, and then
//! the primary is killed and the other backup restarted, so the repaired node carries
//! the history into the new view. Every node must end with the same, complete history.

mod chaos_support;

use std::time::{Duration, Instant};

use chaos_support::{Ledger, Producer, SETTINGS, create_target, runtime, verify};
use vireo_tests::cluster::{Cluster, NODES, READY_TIMEOUT};

/// Acknowledged writes before the first kill: more than the 64-slot ring, so the ring
/// has wrapped and every slot the corruption hits holds a prepare.
const WARM_UP_ACKS: usize = 200;
/// Prepares above the checkpoint the corruption must hit.
const MIDDLE_OPS_MIN: u64 = 8;
const LOAD_WHILE_DOWN: Duration = Duration::from_secs(2);
const FAILOVER_BOUND: Duration = Duration::from_secs(20);
/// How long a restarted backup may take to repair its damaged prepares once ready.
const REPAIR_BOUND: Duration = Duration::from_secs(10);

fn wait_acks(ledger: &Ledger, count: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    while ledger.acked() < count {
        assert!(Instant::now() < deadline, "only {} acks within {limit:?}", ledger.acked());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A partition-group counter of node `index`'s `/metrics` (`{kind="partition"}`).
fn kind_metric(cluster: &Cluster, index: usize, name: &str) -> u64 {
    let (_, text) = cluster.http(index, "/metrics").expect("/metrics answers");
    let prefix = format!("{name}{{kind=\"partition\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

#[test]
fn a_backup_with_a_corrupted_journal_is_repaired_from_peers() {
    let mut cluster = Cluster::start("journal-corruption", SETTINGS);
    let runtime = runtime();
    let target = runtime.block_on(create_target(cluster.tcp_addresses()));
    let producer =
        Producer::start(&runtime, "c", cluster.tcp_addresses(), target, Ledger::default());
    wait_acks(&producer.ledger, WARM_UP_ACKS, Duration::from_secs(60));

    let primary = cluster.wait_primary(target.group, None, Duration::from_secs(20));
    let repaired = (primary + 1) % NODES;
    let other = (primary + 2) % NODES;
    // Kill it when at least MIDDLE_OPS_MIN ops sit above its checkpoint (the interval is
    // half the 64-slot ring), so the corruption hits ops the replica cannot drop.
    let deadline = Instant::now() + Duration::from_secs(20);
    let checkpoint = loop {
        let metric = |name| cluster.group_metric(repaired, name, target.group);
        if let (Some(checkpoint), Some(op)) =
            (metric("vireo_group_checkpoint_op"), metric("vireo_group_op"))
            && op >= checkpoint + MIDDLE_OPS_MIN + 2
        {
            break checkpoint;
        }
        assert!(Instant::now() < deadline, "the backup's journal never held enough ops");
        std::thread::sleep(Duration::from_millis(10));
    };
    cluster.kill(repaired);
    std::thread::sleep(LOAD_WHILE_DOWN);
    let hit = cluster.corrupt_journal(repaired, target.group, checkpoint);
    eprintln!(
        "node {repaired}: corrupted {} prepares of group {} above checkpoint {checkpoint}: {hit:?}",
        hit.len(),
        target.group
    );
    assert!(
        hit.len() as u64 >= MIDDLE_OPS_MIN,
        "the corruption hit prepares the replica needs: {hit:?}"
    );
    cluster.restart(repaired);
    cluster.wait_ready(repaired, READY_TIMEOUT);
    // Its /metrics says what happened: the damaged slots found at recovery, and what it
    // fetched from peers — prepares op by op, or a state transfer when the load while it
    // was down moved the cluster past its journal ring (the counters start at zero with
    // the restarted process).
    let faulty = kind_metric(&cluster, repaired, "vireo_journal_faulty_slots_at_recovery_total");
    let repairs = kind_metric(&cluster, repaired, "vireo_journal_prepares_repaired_total");
    let syncs = kind_metric(&cluster, repaired, "vireo_state_transfers_total");
    eprintln!(
        "node {repaired}: {faulty} faulty slots at recovery, {repairs} prepares repaired, \
         {syncs} state transfers"
    );
    assert!(faulty >= hit.len() as u64, "{faulty} faulty slots counted, {} corrupted", hit.len());
    assert!(repairs + syncs > 0, "the corrupted node reports nothing fetched from its peers");

    // The repaired node is now the only backup in the quorum.
    let before = Instant::now();
    cluster.kill(other);
    producer.ledger.wait_ack_after(before, FAILOVER_BOUND);
    std::thread::sleep(LOAD_WHILE_DOWN);
    // And then it carries the history into a new view without the old primary.
    let before = Instant::now();
    cluster.kill(primary);
    cluster.restart(other);
    producer.ledger.wait_ack_after(before, FAILOVER_BOUND + READY_TIMEOUT);
    cluster.restart(primary);
    cluster.wait_all_ready(READY_TIMEOUT);
    std::thread::sleep(Duration::from_millis(500));

    let ledger = runtime.block_on(producer.stop());
    let all: Vec<usize> = (0..NODES).collect();
    runtime.block_on(verify(&cluster, &all, target, &ledger.attempts()));
}

/// With no writes while the backup is down, its log stays within the journal ring of the
/// others: the damaged prepares are repaired op by op (request_prepare), not replaced by a
/// state transfer — and `/metrics` counts each of them.
#[test]
fn damaged_prepares_are_repaired_op_by_op_and_counted() {
    let mut cluster = Cluster::start("journal-repair-count", SETTINGS);
    let runtime = runtime();
    let target = runtime.block_on(create_target(cluster.tcp_addresses()));
    let producer =
        Producer::start(&runtime, "r", cluster.tcp_addresses(), target, Ledger::default());
    wait_acks(&producer.ledger, WARM_UP_ACKS, Duration::from_secs(60));
    let primary = cluster.wait_primary(target.group, None, Duration::from_secs(20));
    let repaired = (primary + 1) % NODES;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metric = |name| cluster.group_metric(repaired, name, target.group);
        if let (Some(checkpoint), Some(op)) =
            (metric("vireo_group_checkpoint_op"), metric("vireo_group_op"))
            && op >= checkpoint + MIDDLE_OPS_MIN + 2
        {
            break;
        }
        assert!(Instant::now() < deadline, "the backup's journal never held enough ops");
        std::thread::sleep(Duration::from_millis(10));
    }
    let ledger = runtime.block_on(producer.stop());
    // The load stopped: read the checkpoint the node will restart from.
    let checkpoint = cluster
        .group_metric(repaired, "vireo_group_checkpoint_op", target.group)
        .expect("checkpoint gauge");
    cluster.kill(repaired);
    let hit = cluster.corrupt_journal(repaired, target.group, checkpoint);
    assert!(hit.len() as u64 >= MIDDLE_OPS_MIN, "the corruption hit needed prepares: {hit:?}");
    cluster.restart(repaired);
    cluster.wait_ready(repaired, READY_TIMEOUT);

    // Ready can come before the repair: a restarted backup only learns that the damaged
    // ops were committed from the primary's next commit heartbeat, then repairs them.
    let deadline = Instant::now() + REPAIR_BOUND;
    let repairs = loop {
        let repairs = kind_metric(&cluster, repaired, "vireo_journal_prepares_repaired_total");
        if repairs >= hit.len() as u64 || Instant::now() >= deadline {
            break repairs;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let faulty = kind_metric(&cluster, repaired, "vireo_journal_faulty_slots_at_recovery_total");
    let syncs = kind_metric(&cluster, repaired, "vireo_state_transfers_total");
    eprintln!(
        "node {repaired}: corrupted {hit:?}; {faulty} faulty at recovery, {repairs} repaired, \
         {syncs} state transfers"
    );
    assert!(faulty >= hit.len() as u64, "{faulty} faulty slots counted, {} corrupted", hit.len());
    assert_eq!(syncs, 0, "no state transfer was needed");
    assert!(
        repairs >= hit.len() as u64,
        "{repairs} prepares repaired within {REPAIR_BOUND:?}, {} corrupted",
        hit.len()
    );

    let all: Vec<usize> = (0..NODES).collect();
    runtime.block_on(verify(&cluster, &all, target, &ledger.attempts()));
}
