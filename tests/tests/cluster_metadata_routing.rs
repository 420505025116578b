//! Goal: what the official 0.11.0 SDK needs from a three-node cluster beyond plain
//! commands. `get_cluster_metadata` (12) on every node lists all three nodes with their
//! advertised TCP/QUIC ports, exactly one Leader — the node whose replica is primary of
//! the metadata group per `GET /cluster` — and all Healthy. With that roster the SDK
//! switches to its multi-node paths, so an unchanged SDK consumer on a follower moves to
//! the leader, and its auto-commit group polls and offset stores go through 103 / 14 /
//! 104 and 123 / 14 / 121: the test checks they return the right messages and store the
//! offsets every node then reports.

#[path = "support/local_cluster.rs"]
mod local_cluster;
mod support;

use std::time::{Duration, Instant};

use iggy::prelude::*;
use local_cluster::{LocalCluster, NODES};
use support::{bounded, id, messages};
use vireo_tests::ROOT_PASSWORD;

const TEST_BOUND: Duration = Duration::from_secs(150);

async fn client_on(address: String, transport: &str) -> IggyClient {
    let client = match transport {
        "tcp" => IggyClient::builder().with_tcp().with_server_address(address).build(),
        _ => IggyClient::builder().with_quic().with_server_address(address).build(),
    }
    .expect("build client");
    client.connect().await.expect("connect");
    client.login_user("iggy", ROOT_PASSWORD).await.expect("login");
    client
}

/// The roster node `index` reports, once it names the metadata primary as leader.
async fn settled_roster(cluster: &LocalCluster, index: usize) -> (ClusterMetadata, usize) {
    let started = Instant::now();
    loop {
        let primary = cluster.primary_of(index, 0);
        let client = client_on(cluster.ports[index].tcp_address(), "tcp").await;
        let roster = client.get_cluster_metadata().await.expect("cluster metadata");
        let leaders: Vec<usize> = roster
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| node.role == ClusterNodeRole::Leader)
            .map(|(i, _)| i)
            .collect();
        if let Some(primary) = primary
            && leaders == [primary]
            && roster.nodes.iter().all(|node| node.status == ClusterNodeStatus::Healthy)
        {
            return (roster, primary);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "node {index}: roster never settled: {roster:?} (metadata primary {primary:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn every_node_tells_the_roster_and_the_sdk_routes_group_polls_and_offsets() {
    let cluster = LocalCluster::start("metadata-routing", Duration::from_secs(60));
    bounded(TEST_BOUND, async move {
        for index in 0..NODES {
            let (roster, primary) = settled_roster(&cluster, index).await;
            assert_eq!(roster.nodes.len(), NODES, "node {index}: {roster:?}");
            for (i, node) in roster.nodes.iter().enumerate() {
                let ports = cluster.ports[i];
                assert_eq!(node.endpoints.tcp, ports.tcp, "node {index} about {i}");
                assert_eq!(node.endpoints.quic, ports.quic, "node {index} about {i}");
                assert_eq!(node.ip, "127.0.0.1");
            }
            assert_eq!(roster.nodes[primary].role, ClusterNodeRole::Leader);
        }

        let primary = cluster.primary_of(0, 0).expect("a metadata primary");
        let follower = (primary + 1) % NODES;
        for (round, transport) in ["tcp", "quic"].into_iter().enumerate() {
            let address = |i: usize| match transport {
                "tcp" => cluster.ports[i].tcp_address(),
                _ => cluster.ports[i].quic_address(),
            };
            let admin = client_on(address(follower), transport).await;
            let stream = admin.create_stream(&format!("routed-{round}")).await.unwrap().id;
            let options = TopicCreateOptions { partitions_count: Some(2), ..Default::default() };
            let topic = admin.create_topic(&id(stream), "t", &options).await.unwrap().id;
            let group = admin.create_consumer_group(&id(stream), &id(topic), "g").await.unwrap().id;
            for partition in 0..2 {
                let mut batch = messages(&format!("p{partition}"), 4);
                admin
                    .send_messages(
                        &id(stream),
                        &id(topic),
                        &Partitioning::partition_id(partition),
                        &mut batch,
                    )
                    .await
                    .unwrap();
            }

            // An unchanged SDK consumer starting on a follower: auto-commit group polls
            // take the routed path (the roster has three nodes).
            let consumer = client_on(address(follower), transport).await;
            consumer.join_consumer_group(&id(stream), &id(topic), &id(group)).await.unwrap();
            let as_group = Consumer::group(id(group));
            let mut seen: Vec<(u32, u64)> = Vec::new();
            for _ in 0..8 {
                let polled = consumer
                    .poll_messages(
                        &id(stream),
                        &id(topic),
                        None,
                        &as_group,
                        &PollingStrategy::next(),
                        2,
                        true,
                    )
                    .await
                    .expect("routed auto-commit poll");
                seen.extend(polled.messages.iter().map(|m| (polled.partition_id, m.header.offset)));
                if seen.len() == 8 {
                    break;
                }
            }
            seen.sort_unstable();
            let expected: Vec<(u32, u64)> =
                (0..2).flat_map(|p| (0..4).map(move |o| (p, o))).collect();
            assert_eq!(seen, expected, "every message once, offsets dense ({transport})");

            // Offsets committed by the routed polls, as every node reports them.
            for index in 0..NODES {
                let reader = client_on(address(index), transport).await;
                for partition in 0..2 {
                    let stored = reader
                        .get_consumer_offset(&as_group, &id(stream), &id(topic), Some(partition))
                        .await
                        .unwrap()
                        .expect("offset stored");
                    assert_eq!(stored.stored_offset, 3, "node {index} partition {partition}");
                }
            }

            // A routed offset store (123, then 121 on the data connection).
            consumer
                .store_consumer_offset(&as_group, &id(stream), &id(topic), Some(1), 1)
                .await
                .expect("routed offset store");
            let stored = admin
                .get_consumer_offset(&as_group, &id(stream), &id(topic), Some(1))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.stored_offset, 1);
            let again = consumer
                .poll_messages(
                    &id(stream),
                    &id(topic),
                    Some(1),
                    &as_group,
                    &PollingStrategy::next(),
                    10,
                    true,
                )
                .await
                .expect("poll after the store");
            let offsets: Vec<u64> = again.messages.iter().map(|m| m.header.offset).collect();
            assert_eq!(offsets, [2, 3], "Next continues after the stored offset");
        }
    });
}
