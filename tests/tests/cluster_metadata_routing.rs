//! Goal: what the official 0.11.0 SDK needs from a three-node cluster beyond plain
//! commands. `get_cluster_metadata` (12) on every node lists all three nodes with their
//! advertised TCP/QUIC ports, exactly one Leader — the node whose replica is primary of
//! the metadata group per `GET /cluster` — and all Healthy. With that roster the SDK
//! switches to its multi-node paths, so an unchanged SDK consumer on a follower moves to
//! the leader, and its auto-commit group polls and offset stores go through 103 / 14 /
//! 104 and 123 / 14 / 121: the test checks they return the right messages and store the
//! offsets every node then reports; a route names the primary of the partition's
//! group. A killed node turns Unreachable in the survivors' rosters.

#[path = "support/local_cluster.rs"]
mod local_cluster;
mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use iggy::binary::BinaryTransport;
use iggy::prelude::locking::IggyRwLockFn;
use iggy::prelude::*;
use local_cluster::{LocalCluster, NODES};
use support::{bounded, id, messages};
use vireo_protocol::iggy::checksum::xxh3;
use vireo_protocol::iggy::primitives::{
    Consumer as WireConsumer, ConsumerKind, Identifier as WireId, PollingKind,
    PollingStrategy as WireStrategy,
};
use vireo_protocol::iggy::reply::PollRoutingReply;
use vireo_protocol::iggy::request::{Body, PollMessages};
use vireo_protocol::iggy::wire::Reader;
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

/// Node `index`'s answer to 103 for single consumer 1 polling `partition`: the TCP
/// port of the node it routes to.
async fn routed_tcp_port(client: &IggyClient, stream: u32, topic: u32, partition: u32) -> u16 {
    let mut body = Vec::new();
    PollMessages {
        consumer: WireConsumer { kind: ConsumerKind::Consumer, id: WireId::Numeric(1) },
        stream_id: WireId::Numeric(stream),
        topic_id: WireId::Numeric(topic),
        partition_id: Some(partition),
        strategy: WireStrategy { kind: PollingKind::Next, value: 0 },
        count: 1,
        auto_commit: true,
    }
    .encode(&mut body);
    let handle = client.client();
    let wrapper = handle.read().await;
    let ClientWrapper::Tcp(tcp) = &*wrapper else { panic!("a TCP client") };
    let code = vireo_protocol::iggy::code::GET_POLL_ROUTING;
    let reply = tcp.send_raw_with_response(code, Bytes::from(body)).await.expect("103");
    PollRoutingReply::decode(&mut Reader::new(&reply)).expect("routing reply").primary.tcp_port
}

/// The partition group of a partition (the node's placement: `partition/key.rs`).
fn partition_group(stream: u32, topic: u32, partition: u32, groups: u32) -> u64 {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&stream.to_le_bytes());
    bytes[4..8].copy_from_slice(&topic.to_le_bytes());
    bytes[8..].copy_from_slice(&partition.to_le_bytes());
    1 + xxh3(&bytes) % u64::from(groups)
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
    let mut cluster = LocalCluster::start("metadata-routing", Duration::from_secs(60));
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

            // A route names the primary of the partition's group.
            if transport == "tcp" {
                let json = cluster.cluster_json(follower).expect("GET /cluster");
                let groups = json["groups"].as_array().expect("groups").len() - 1;
                let groups = u32::try_from(groups).expect("group count");
                for partition in 0..2 {
                    let group = partition_group(stream, topic, partition, groups);
                    let primary = cluster.primary_of(follower, group).expect("group primary");
                    let port = routed_tcp_port(&admin, stream, topic, partition).await;
                    assert_eq!(port, cluster.ports[primary].tcp, "partition {partition}");
                }
            }
        }

        // A node that died is Unreachable in the survivors' rosters.
        let victim = (primary + 2) % NODES;
        cluster.kill(victim);
        let survivor = (primary + 1) % NODES;
        let started = Instant::now();
        loop {
            let client = client_on(cluster.ports[survivor].tcp_address(), "tcp").await;
            let roster = client.get_cluster_metadata().await.expect("cluster metadata");
            assert_eq!(roster.nodes.len(), NODES);
            if roster.nodes[victim].status == ClusterNodeStatus::Unreachable {
                assert_eq!(roster.nodes[survivor].status, ClusterNodeStatus::Healthy);
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "still {roster:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}
