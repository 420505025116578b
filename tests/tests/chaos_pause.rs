//! Goal: a primary frozen by SIGSTOP is replaced, and when it thaws (SIGCONT) it does
//! not acknowledge anything from its old view: a write sent to it while it was frozen
//! is either committed in the new history (then it is readable everywhere, at the
//! offset its acknowledgement named) or not acknowledged at all. Reads from the old
//! primary after it rejoined show the new history.

mod chaos_support;

use std::time::{Duration, Instant};

use chaos_support::{
    Ledger, Outcome, Producer, SETTINGS, Target, client_config, create_target, runtime, verify,
};
use vireo_node::client::{Client, Id, OutgoingMessage, Partitioning};
use vireo_tests::cluster::{Cluster, NODES, READY_TIMEOUT};

const FAILOVER_BOUND: Duration = Duration::from_secs(20);
const PAUSE_AFTER_FAILOVER: Duration = Duration::from_secs(2);

/// A client pinned to `address` (no leader following, no failover), logged in; its
/// reply bounds outlast the freeze so the stale write is answered after the thaw.
async fn pinned_client(address: String) -> Client {
    let mut config = client_config(vec![address], false);
    config.reconnects_max = 0;
    config.reply_timeout = Duration::from_secs(30);
    config.request_timeout = Duration::from_secs(30);
    Client::connect(config).await.expect("connect to the primary before the freeze")
}

/// Sends `payload` on `client`: written into the frozen primary's socket.
async fn send(mut client: Client, target: Target, payload: String) -> (String, Outcome) {
    let message = OutgoingMessage {
        id: 0,
        origin_timestamp: 0,
        payload: payload.as_bytes(),
        user_headers: &[],
    };
    let result = client
        .send_messages(
            &Id::Numeric(target.stream),
            &Id::Numeric(target.topic),
            Partitioning::PartitionId(chaos_support::PARTITION),
            std::slice::from_ref(&message),
        )
        .await;
    let outcome = match result {
        Ok(confirmations) => {
            Outcome::Acked { offset: confirmations.first().map(|c| c.base_offset) }
        }
        Err(error) if error.is_definitive() => Outcome::Refused(error.to_string()),
        Err(error) => Outcome::Ambiguous(error.to_string()),
    };
    (payload, outcome)
}

#[test]
fn a_paused_primary_does_not_acknowledge_writes_from_its_old_view() {
    let mut cluster = Cluster::start("pause", SETTINGS);
    let runtime = runtime();
    let target = runtime.block_on(create_target(cluster.tcp_addresses()));
    let ledger = Ledger::default();
    let producer = Producer::start(&runtime, "p", cluster.tcp_addresses(), target, ledger.clone());
    std::thread::sleep(Duration::from_millis(500));

    let old = cluster.wait_primary(target.group, None, Duration::from_secs(20));
    // Connected and logged in before the freeze; the write goes out after it.
    let client = runtime.block_on(pinned_client(cluster.node(old).ports.tcp_address()));
    let pinned = runtime.spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        send(client, target, "stale-0".to_owned()).await
    });
    cluster.pause(old);
    let paused_at = Instant::now();
    let new = cluster.wait_primary(target.group, Some(old), FAILOVER_BOUND);
    let new_view = cluster
        .view(new)
        .and_then(|view| view.group(target.group).map(|g| g.view))
        .expect("the new primary reports its view");
    let window = ledger.wait_ack_after(paused_at, FAILOVER_BOUND);
    eprintln!("node {old} frozen: node {new} took over, writes resumed after {window:?}");
    std::thread::sleep(PAUSE_AFTER_FAILOVER);
    cluster.resume(old);
    let (stale_payload, stale_outcome) = runtime.block_on(pinned).expect("pinned sender");
    eprintln!("the write sent to the frozen primary: {stale_outcome:?}");

    cluster.wait_all_ready(READY_TIMEOUT);
    let thawed = cluster.view(old).and_then(|view| view.group(target.group).cloned());
    assert!(
        thawed.as_ref().is_some_and(|g| g.view >= new_view && g.status == "normal"),
        "the thawed node joined view {new_view} or later: {thawed:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    runtime.block_on(producer.stop());

    let mut attempts = ledger.attempts();
    attempts.push(chaos_support::Attempt {
        payload: stale_payload,
        started: paused_at,
        finished: Instant::now(),
        outcome: stale_outcome,
    });
    let all: Vec<usize> = (0..NODES).collect();
    // Reads from the thawed node are included: it must serve the new history.
    runtime.block_on(verify(&cluster, &all, target, &attempts));
}
