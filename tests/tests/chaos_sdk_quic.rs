//! Goal: the official `iggy` 0.11.0 SDK produces and consumes over QUIC against the
//! three-node cluster across a kill -9 of the partition's primary. The SDK's QUIC client
//! sits on a node that survives; that node forwards every request to the primary, and
//! after the kill to the new one. Every acknowledged batch must
//! then be consumed by a fresh SDK QUIC client with dense offsets and no duplicates;
//! a send that failed may appear at most once; nothing appears that was not sent.

mod chaos_support;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iggy::prelude::*;
use vireo_tests::ROOT_PASSWORD;
use vireo_tests::cluster::Cluster;

const BATCH: usize = 10;
const BATCHES_BEFORE_KILL: usize = 20;
const BATCHES_AFTER_KILL: usize = 20;
/// One SDK call, its own retries included (longer than the SDK's own 30 s reply bound,
/// so the SDK gives up first and keeps its connection state consistent).
const CALL_BOUND: Duration = Duration::from_secs(45);
const TEST_BOUND: Duration = Duration::from_secs(150);

/// The SDK's QUIC client on one node, signed in by hand. Not `IggyClient`: that wrapper
/// moves to the metadata leader after sign-in, and the 0.11.0 SDK's QUIC transport
/// redials only the address it is on when that node dies (roster failover is TCP-only
/// there, see `quic_client.rs` `handle_leader_redirection`), so a QUIC client that
/// followed the leader onto the killed node would wait for that node to come back.
/// Staying on a surviving node, every request is forwarded by that node to whichever
/// replica is primary.
async fn sdk_client(quic_address: String) -> QuicClient {
    let config = QuicClientConfigBuilder::default()
        .with_server_address(quic_address)
        .build()
        .expect("QUIC client config");
    let client = QuicClient::create(Arc::new(config)).expect("build the SDK QUIC client");
    client.connect().await.expect("connect over QUIC");
    client.login_user("iggy", ROOT_PASSWORD).await.expect("sign in");
    client
}

fn id(value: u32) -> Identifier {
    Identifier::numeric(value).expect("numeric identifier")
}

#[test]
fn the_official_sdk_over_quic_keeps_working_across_a_primary_kill() {
    sdk_across_a_primary_kill(false);
}

/// The same with the producer idle while the primary dies and a new one is elected:
/// the SDK's connection, session and the forwarding node's routing must survive the
/// view change, and the SDK must consume everything afterwards.
#[test]
fn the_official_sdk_over_quic_keeps_working_after_a_primary_kill() {
    sdk_across_a_primary_kill(true);
}

/// Produces `BATCHES_BEFORE_KILL` batches, kills the partition's primary, produces
/// `BATCHES_AFTER_KILL` more through the surviving node, then consumes and checks. With
/// `quiesce`, the kill happens between batches and production resumes only once a new
/// primary serves.
fn sdk_across_a_primary_kill(quiesce: bool) {
    let mut cluster = Cluster::start("sdk-quic", chaos_support::SETTINGS);
    let runtime = chaos_support::runtime();
    runtime.block_on(async {
        tokio::time::timeout(TEST_BOUND, async {
            // Created by our client; only the group is needed to pick the victim.
            let target = chaos_support::create_target(cluster.tcp_addresses()).await;
            let primary = cluster.wait_primary(target.group, None, Duration::from_secs(20));
            let survivor = (primary + 1) % vireo_tests::cluster::NODES;
            let address = cluster.node(survivor).ports.quic_address();
            let mut producer = sdk_client(address.clone()).await;
            let (stream, topic) = (id(target.stream), id(target.topic));
            let partitioning = Partitioning::partition_id(chaos_support::PARTITION);

            let mut acked: HashSet<String> = HashSet::new();
            let mut failed: HashSet<String> = HashSet::new();
            let mut acked_after_kill = 0;
            let mut killed_at = None;
            let mut window = None;
            for batch in 0.. {
                if batch == BATCHES_BEFORE_KILL {
                    cluster.kill(primary);
                    killed_at = Some(Instant::now());
                    if quiesce {
                        cluster.wait_primary(target.group, Some(primary), Duration::from_secs(20));
                    }
                }
                if acked_after_kill >= BATCHES_AFTER_KILL {
                    break;
                }
                let payloads: Vec<String> =
                    (0..BATCH).map(|i| format!("sdk-{batch}-{i}")).collect();
                let mut messages: Vec<IggyMessage> =
                    payloads.iter().map(|p| IggyMessage::from_str(p).expect("message")).collect();
                let sent = tokio::time::timeout(
                    CALL_BOUND,
                    producer.send_messages(&stream, &topic, &partitioning, &mut messages),
                )
                .await;
                match sent {
                    Ok(Ok(_)) => {
                        acked.extend(payloads);
                        if let Some(at) = killed_at {
                            acked_after_kill += 1;
                            window.get_or_insert_with(|| at.elapsed());
                        }
                    }
                    Ok(Err(error)) => {
                        eprintln!("batch {batch}: {error}");
                        failed.extend(payloads);
                        // Signed in by hand, the SDK cannot restore a lost session by
                        // itself (auto sign-in would move it to the leader): a new client
                        // on the same node, as an application would.
                        if matches!(
                            error,
                            IggyError::Disconnected
                                | IggyError::QuicError
                                | IggyError::NotConnected
                                | IggyError::Unauthenticated
                        ) {
                            producer = sdk_client(address.clone()).await;
                        }
                    }
                    Err(_) => {
                        eprintln!("batch {batch}: the SDK call outlived {CALL_BOUND:?}");
                        failed.extend(payloads);
                        producer = sdk_client(address.clone()).await;
                    }
                }
                assert!(
                    batch < 10 * (BATCHES_BEFORE_KILL + BATCHES_AFTER_KILL),
                    "too many failures"
                );
            }
            eprintln!(
                "SDK over QUIC: {} messages acknowledged, {} in failed sends; first \
                 acknowledgement {:?} after the kill of node {primary}",
                acked.len(),
                failed.len(),
                window
            );

            let consumer = sdk_client(address.clone()).await;
            let mut offset = 0_u64;
            let mut seen: HashMap<String, u64> = HashMap::new();
            loop {
                let polled = consumer
                    .poll_messages(
                        &stream,
                        &topic,
                        Some(chaos_support::PARTITION),
                        &Consumer::new(id(1)),
                        &PollingStrategy::offset(offset),
                        1000,
                        false,
                    )
                    .await
                    .expect("poll over QUIC");
                if polled.messages.is_empty() {
                    break;
                }
                for message in &polled.messages {
                    assert_eq!(message.header.offset, offset, "dense offsets");
                    let payload = String::from_utf8_lossy(&message.payload).into_owned();
                    assert!(
                        acked.contains(&payload) || failed.contains(&payload),
                        "{payload:?} at {offset} was never sent"
                    );
                    if let Some(first) = seen.insert(payload.clone(), offset) {
                        panic!("{payload:?} appears twice, at {first} and {offset}");
                    }
                    offset += 1;
                }
            }
            let missing: Vec<&String> = acked.iter().filter(|p| !seen.contains_key(*p)).collect();
            assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
        })
        .await
        .expect("the SDK test exceeded its bound");
    });
}
