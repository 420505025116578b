//! Goal: three real `vireo server` processes form one cluster on loopback. The official
//! SDK creates a stream and topic on node 0, sends on node 1 and polls on node 2 (once
//! committed and applied there); then the metadata primary is killed with SIGKILL and a
//! produce through a surviving node succeeds within a bound, and everything
//! acknowledged is read back once each, offsets dense. A SIGTERM'd primary hands its
//! groups over before it exits.

#[path = "support/local_cluster.rs"]
mod local_cluster;
mod support;

use std::time::{Duration, Instant};

use iggy::prelude::*;
use local_cluster::{LocalCluster, NodePorts};
use support::{bounded, id, messages, payloads};
use vireo_tests::ROOT_PASSWORD;

/// Bound on the whole test.
const TEST_LIMIT: Duration = Duration::from_secs(120);
/// Bound on start-up of the three nodes.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// Bound on writes resuming after the primary is killed.
const FAILOVER_LIMIT: Duration = Duration::from_secs(15);

async fn root_on(ports: &NodePorts) -> IggyClient {
    let client = IggyClient::builder()
        .with_tcp()
        .with_server_address(ports.tcp_address())
        .build()
        .expect("build client");
    client.connect().await.expect("connect");
    client.login_user("iggy", ROOT_PASSWORD).await.expect("login");
    client
}

/// Polls partition 0 from the first offset until `expected` messages are there.
async fn poll_until(client: &IggyClient, expected: usize, limit: Duration) -> PolledMessages {
    let deadline = Instant::now() + limit;
    loop {
        let polled = client
            .poll_messages(
                &id(0),
                &id(0),
                Some(0),
                &Consumer::new(id(1)),
                &PollingStrategy::offset(0),
                1000,
                false,
            )
            .await;
        if let Ok(polled) = polled
            && polled.messages.len() >= expected
        {
            return polled;
        }
        assert!(Instant::now() < deadline, "{expected} messages not readable within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn check_dense(polled: &PolledMessages) {
    for (i, message) in polled.messages.iter().enumerate() {
        assert_eq!(message.header.offset, i as u64, "offsets are dense from 0");
    }
}

#[test]
fn create_on_one_node_send_on_another_poll_on_a_third_then_survive_a_killed_primary() {
    let mut cluster = LocalCluster::start("cluster-basic", READY_LIMIT);
    let ports = cluster.ports.clone();
    bounded(TEST_LIMIT, async {
        let node0 = root_on(&ports[0]).await;
        let stream = node0.create_stream("orders").await.expect("stream on node 0");
        let options = TopicCreateOptions { partitions_count: Some(1), ..Default::default() };
        let topic = node0.create_topic(&id(stream.id), "t", &options).await.expect("topic");
        assert_eq!((stream.id, topic.id), (0, 0));

        let node1 = root_on(&ports[1]).await;
        let mut batch = messages("before", 10);
        node1
            .send_messages(&id(0), &id(0), &Partitioning::partition_id(0), &mut batch)
            .await
            .expect("send on node 1");

        let node2 = root_on(&ports[2]).await;
        let polled = poll_until(&node2, 10, Duration::from_secs(10)).await;
        assert_eq!(payloads(&polled), (0..10).map(|i| format!("before-{i}")).collect::<Vec<_>>());
        check_dense(&polled);
        drop((node0, node1, node2));

        // Kill the metadata primary; produce through a surviving node.
        let primary = cluster.primary_of(1, 0).expect("node 1 knows the metadata primary");
        let survivor = (primary + 1) % 3;
        let other = (primary + 2) % 3;
        // A client already logged in on a survivor: its produce waits out the view change.
        let connected = root_on(&ports[survivor]).await;
        cluster.kill(primary);
        let started = Instant::now();
        let mut resumed = None;
        let mut first_attempt = Some(connected);
        while started.elapsed() < FAILOVER_LIMIT {
            let reuse = first_attempt.take();
            let attempt = async {
                let client = match reuse {
                    Some(client) => client,
                    None => root_on(&ports[survivor]).await,
                };
                let mut batch = messages("after", 10);
                client
                    .send_messages(&id(0), &id(0), &Partitioning::partition_id(0), &mut batch)
                    .await
            };
            match tokio::time::timeout(Duration::from_secs(5), attempt).await {
                Ok(Ok(_)) => {
                    resumed = Some(started.elapsed());
                    break;
                }
                Ok(Err(error)) => eprintln!("produce after the kill: {error}"),
                Err(_) => eprintln!("produce after the kill: timed out"),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let resumed = resumed.expect("writes resume after the primary is killed");
        eprintln!("writes resumed {resumed:?} after SIGKILL of node {primary}");

        let reader = root_on(&ports[other]).await;
        let polled = poll_until(&reader, 20, Duration::from_secs(10)).await;
        let expected: Vec<String> = (0..10)
            .map(|i| format!("before-{i}"))
            .chain((0..10).map(|i| format!("after-{i}")))
            .collect();
        assert_eq!(payloads(&polled), expected, "every acknowledged message, once each");
        check_dense(&polled);
    });

    // The killed node rejoins; then the metadata primary, SIGTERM'd, hands its groups
    // over before it exits, and the two others elect a new primary without waiting for
    // a heartbeat timeout.
    let killed = (0..3).find(|&i| cluster.primary_of(i, 0).is_none()).expect("the killed node");
    cluster.spawn(killed);
    cluster.wait_ready(killed, READY_LIMIT);
    let primary = cluster.primary_of(killed, 0).expect("a metadata primary");
    let _ = cluster.terminate(primary, Duration::from_secs(30));
    assert!(
        cluster.log(primary).contains("primaryship handed over"),
        "a SIGTERM'd primary hands its groups over"
    );
    let next = (primary + 1) % 3;
    let deadline = Instant::now() + Duration::from_secs(5);
    while cluster.primary_of(next, 0).is_none_or(|p| p == primary) {
        assert!(Instant::now() < deadline, "no new metadata primary after the handover");
        std::thread::sleep(Duration::from_millis(20));
    }
}
