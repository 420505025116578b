//! Seeded random faults on the same harness: lost, duplicated and reordered messages,
//! disk completions delayed to later ticks, partitions (both ways or only inbound, often
//! of the primary), process crashes and single power losses within the durability
//! contract (one replica at a time, never while another is recovering), while clients
//! keep sending. The checker runs at every step; at the end the network heals, everyone
//! restarts, and the cluster must converge with every request answered. A failing seed
//! prints its fault log; seeds that found bugs are kept below as regression tests.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use vireo_consensus::prng::Prng;
use vireo_consensus::{Durability, Status};

use crate::harness::Cluster;

/// How often faults strike, per thousand ticks.
#[derive(Clone, Copy)]
struct Profile {
    ticks: u64,
    crash: u64,
    power_loss: u64,
    restart: u64,
    partition: u64,
}

const MILD: Profile = Profile { ticks: 2_000, crash: 4, power_loss: 2, restart: 14, partition: 3 };
const HARSH: Profile =
    Profile { ticks: 3_000, crash: 12, power_loss: 6, restart: 22, partition: 10 };

fn chaos(seed: u64, profile: Profile, log: &mut Vec<String>) {
    let mut prng = Prng::new(seed);
    let replica_count = if prng.below(2) == 0 { 3 } else { 5 };
    let durability =
        if prng.below(4) == 0 { Durability::Persisted } else { Durability::Replicated };
    let mut cluster = Cluster::new(replica_count, durability);
    let clients: Vec<usize> = (0..3).map(|_| cluster.client()).collect();
    cluster.network.drop_percent = prng.below(15);
    cluster.network.duplicate_percent = prng.below(10);
    cluster.network.reorder = prng.below(2) == 0;
    let delay_percent = prng.below(60);
    for node in &mut cluster.nodes {
        node.disk.delay_percent = delay_percent;
    }
    log.push(format!(
        "seed {seed}: {replica_count} replicas, {durability:?}, drop {}%, duplicate {}%, \
         reorder {}, disk delay {delay_percent}%",
        cluster.network.drop_percent, cluster.network.duplicate_percent, cluster.network.reorder
    ));
    let faulty_max = usize::from(replica_count) - cluster.replica(0).config().quorum_replication();
    let mut healing_at: Option<u64> = None;
    let mut last_power_loss = 0;

    for tick in 0..profile.ticks {
        for &client in &clients {
            if cluster.clients[client].in_flight.is_none() && prng.below(10) == 0 {
                cluster.send(client, format!("seed {seed} tick {tick}").as_bytes());
            }
        }
        let down: Vec<u8> =
            (0..replica_count).filter(|&r| !cluster.nodes[usize::from(r)].up()).collect();
        let recovering = (0..replica_count).any(|r| {
            cluster.nodes[usize::from(r)].up()
                && cluster.replica(r).status() == Status::RecoveringHead
        });
        let roll = prng.below(1_000);
        let power_loss_from = profile.crash;
        let restart_from = power_loss_from + profile.power_loss;
        let partition_from = restart_from + profile.restart;
        let partition_to = partition_from + profile.partition;
        let victim = u8::try_from(prng.below(u64::from(replica_count))).expect("small");
        let victim_up = cluster.nodes[usize::from(victim)].up();
        let state = cluster.describe_short();
        if roll < profile.crash {
            if victim_up && down.len() < faulty_max {
                log.push(format!("tick {tick}: crash {victim}   {state}"));
                cluster.crash(victim);
            }
        } else if roll < restart_from {
            if victim_up && down.is_empty() && !recovering && tick > last_power_loss + 300 {
                log.push(format!("tick {tick}: power loss {victim}   {state}"));
                cluster.power_loss(victim);
                last_power_loss = tick;
            }
        } else if roll < partition_from {
            if let Some(&replica) = down.get(usize::try_from(prng.below(3)).expect("small")) {
                log.push(format!("tick {tick}: restart {replica}"));
                cluster.restart(replica);
            }
        } else if roll < partition_to && healing_at.is_none() {
            let victim = if prng.below(2) == 0 { cluster.primary() } else { victim };
            if prng.below(2) == 0 {
                log.push(format!("tick {tick}: isolate {victim}   {state}"));
                cluster.isolate(victim);
            } else {
                log.push(format!("tick {tick}: deafen {victim}   {state}"));
                for other in (0..replica_count).filter(|&other| other != victim) {
                    cluster.network.block(other, victim);
                }
            }
            healing_at = Some(tick + 50 + prng.below(150));
        }
        if healing_at.is_some_and(|at| tick >= at) {
            log.push(format!("tick {tick}: heal"));
            cluster.network.heal();
            healing_at = None;
        }
        cluster.tick();
    }

    log.push("end: heal, restart all, converge".to_owned());
    cluster.network.heal();
    cluster.network.drop_percent = 0;
    cluster.network.duplicate_percent = 0;
    cluster.network.reorder = false;
    for replica in 0..replica_count {
        if !cluster.nodes[usize::from(replica)].up() {
            cluster.restart(replica);
        }
    }
    for &client in &clients {
        if cluster.clients[client].in_flight.is_some() {
            cluster.await_reply(client, 5_000);
        }
    }
    cluster.converge(5_000);
    cluster.assert_state_machines_equal();
}

fn run_seed(seed: u64, profile: Profile) {
    let mut log = Vec::new();
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| chaos(seed, profile, &mut log))) {
        eprintln!("chaos seed {seed} failed; faults:\n{}", log.join("\n"));
        resume_unwind(panic);
    }
}

#[test]
fn random_faults_keep_one_history_and_converge_once_healed() {
    for seed in 0..16 {
        run_seed(seed, MILD);
    }
}

#[test]
fn harsher_random_faults_keep_one_history_and_converge_once_healed() {
    for seed in 1_000..1_012 {
        run_seed(seed, HARSH);
    }
}

/// Regression: replica 0, primary of view 9, prepares ops 341–342 of view 9 and loses
/// power; replica 1 holds only op 342 of view 9, replica 2 holds other ops 341–343 from
/// view 8. Replica 0 stays in `recovering_head` until a primary answers it, so replicas 1
/// and 2 must settle op 341 alone: replica 2's different op 341 denies the one op 342
/// names as its parent. Scripted in
/// `view_changes::two_healthy_replicas_elect_a_primary_while_the_third_is_recovering_head`.
#[test]
fn chaos_harsh_seed_1117_converges() {
    run_seed(1_117, HARSH);
}

/// Regression: replica 0 loses power, returns long after, state-syncs and becomes primary
/// of view 3; a process crash then restarted it in `recovering_head` (its superblock
/// still said so) while replica 2 was recovering from its own power loss: nobody could
/// answer either, and the cluster stalled for good. Scripted in `power_loss::a_replica_that_caught_up_after_a_power_loss_restarts_certain_after_a_process_crash`.
#[test]
fn chaos_harsh_seed_1015_converges() {
    run_seed(1_015, HARSH);
}
