//! Goal: consumer groups over TCP and QUIC — create, get, list, join, leave, delete —
//! with server-side partition assignment that rebalances on join, leave and disconnect,
//! and group polls that read the member's partitions and commit the group's offsets.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use iggy::prelude::*;
use support::{TEST_LIMIT, TRANSPORTS, bounded, code, id, messages, root};
use vireo_tests::Node;

/// Partitions assigned to each member, by member id.
async fn assignment(client: &IggyClient, stream: u32, topic: u32, group: u32) -> Vec<Vec<u32>> {
    let details = client
        .get_consumer_group(&id(stream), &id(topic), &id(group))
        .await
        .expect("get group")
        .expect("group exists");
    let mut members: Vec<Vec<u32>> = details.members.iter().map(|m| m.partitions.clone()).collect();
    members.sort();
    members
}

#[test]
fn membership_assignment_and_rebalancing() {
    let node = Node::start("groups", &[]);
    bounded(TEST_LIMIT, async {
        for (round, transport) in TRANSPORTS.into_iter().enumerate() {
            let admin = root(&node, transport).await;
            let stream = admin.create_stream(&format!("g-{round}")).await.unwrap().id;
            let options = TopicCreateOptions { partitions_count: Some(4), ..Default::default() };
            let topic = admin.create_topic(&id(stream), "t", &options).await.unwrap().id;
            let group =
                admin.create_consumer_group(&id(stream), &id(topic), "readers").await.unwrap();
            assert_eq!(group.name, "readers");
            assert_eq!(
                code(admin.create_consumer_group(&id(stream), &id(topic), "readers").await),
                5004
            );
            let groups = admin.get_consumer_groups(&id(stream), &id(topic)).await.unwrap();
            assert_eq!(groups.len(), 1);
            assert!(
                admin.get_consumer_group(&id(stream), &id(topic), &id(42)).await.unwrap().is_none()
            );
            assert_eq!(
                code(admin.join_consumer_group(&id(stream), &id(topic), &id(42)).await),
                5000
            );

            let first = root(&node, transport).await;
            first.join_consumer_group(&id(stream), &id(topic), &id(group.id)).await.unwrap();
            assert_eq!(assignment(&admin, stream, topic, group.id).await, [vec![0, 1, 2, 3]]);
            let second = root(&node, transport).await;
            second.join_consumer_group(&id(stream), &id(topic), &id(group.id)).await.unwrap();
            let split = assignment(&admin, stream, topic, group.id).await;
            assert_eq!(split.len(), 2);
            let all: BTreeSet<u32> = split.iter().flatten().copied().collect();
            assert_eq!(all, BTreeSet::from([0, 1, 2, 3]), "each partition exactly once");
            assert!(split.iter().all(|p| p.len() == 2), "balanced: {split:?}");

            // A group poll reads only the member's partitions and commits group offsets.
            for partition in 0..4 {
                let mut batch = messages(&format!("p{partition}"), 3);
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
            let consumer = Consumer::group(id(group.id));
            let polled = first
                .poll_messages(
                    &id(stream),
                    &id(topic),
                    None,
                    &consumer,
                    &PollingStrategy::next(),
                    10,
                    true,
                )
                .await
                .expect("group poll");
            assert_eq!(polled.messages.len(), 3);
            let mine = &split[0];
            let theirs = &split[1];
            assert!(mine.contains(&polled.partition_id) || theirs.contains(&polled.partition_id));
            let offset = first
                .get_consumer_offset(&consumer, &id(stream), &id(topic), Some(polled.partition_id))
                .await
                .unwrap()
                .expect("group offset stored");
            assert_eq!(offset.stored_offset, 2);

            second.leave_consumer_group(&id(stream), &id(topic), &id(group.id)).await.unwrap();
            assert_eq!(assignment(&admin, stream, topic, group.id).await, [vec![0, 1, 2, 3]]);
            assert_eq!(
                code(second.leave_consumer_group(&id(stream), &id(topic), &id(group.id)).await),
                5006
            );

            // Disconnecting a member rebalances its partitions to the others.
            second.join_consumer_group(&id(stream), &id(topic), &id(group.id)).await.unwrap();
            assert_eq!(assignment(&admin, stream, topic, group.id).await.len(), 2);
            first.shutdown().await.unwrap();
            drop(first);
            let mut rebalanced = Vec::new();
            for _ in 0..100 {
                rebalanced = assignment(&admin, stream, topic, group.id).await;
                if rebalanced.len() == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(rebalanced, [vec![0, 1, 2, 3]], "the disconnected member left");

            admin.delete_consumer_group(&id(stream), &id(topic), &id(group.id)).await.unwrap();
            assert!(
                admin
                    .get_consumer_group(&id(stream), &id(topic), &id(group.id))
                    .await
                    .unwrap()
                    .is_none()
            );
            assert_eq!(
                code(admin.delete_consumer_group(&id(stream), &id(topic), &id(group.id)).await),
                5000
            );
        }
    });
}

/// Receives from `consumer` until `count` messages arrived or `limit` passed.
async fn receive(consumer: &mut IggyConsumer, count: usize, limit: Duration) -> Vec<String> {
    use futures_util::StreamExt;
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while received.len() < count {
        match tokio::time::timeout_at(deadline, consumer.next()).await {
            Ok(Some(Ok(message))) => {
                received.push(String::from_utf8_lossy(&message.message.payload).into_owned());
            }
            Ok(Some(Err(error))) => panic!("consumer error: {error}"),
            Ok(None) | Err(_) => break,
        }
    }
    received
}

#[test]
fn high_level_group_consumers_share_the_partitions() {
    let node = Node::start("group-consumers", &[]);
    bounded(TEST_LIMIT, async {
        for (round, transport) in TRANSPORTS.into_iter().enumerate() {
            let admin = root(&node, transport).await;
            let stream_name = format!("work-{round}");
            let stream = admin.create_stream(&stream_name).await.unwrap().id;
            let options = TopicCreateOptions { partitions_count: Some(4), ..Default::default() };
            admin.create_topic(&id(stream), "jobs", &options).await.unwrap();
            let clients = [root(&node, transport).await, root(&node, transport).await];
            let mut consumers = Vec::new();
            for client in &clients {
                let mut consumer = client
                    .consumer_group("workers", &stream_name, "jobs")
                    .unwrap()
                    .auto_join_consumer_group()
                    .create_consumer_group_if_not_exists()
                    .polling_strategy(PollingStrategy::next())
                    .poll_interval(IggyDuration::from_str("10ms").unwrap())
                    .batch_length(100)
                    .build();
                consumer.init().await.expect("consumer init joins the group");
                consumers.push(consumer);
            }
            for partition in 0..4 {
                let mut batch = messages(&format!("job{partition}"), 10);
                admin
                    .send_messages(
                        &id(stream),
                        &name("jobs"),
                        &Partitioning::partition_id(partition),
                        &mut batch,
                    )
                    .await
                    .unwrap();
            }
            let mut all = Vec::new();
            for consumer in &mut consumers {
                let got = receive(consumer, 20, Duration::from_secs(20)).await;
                assert_eq!(got.len(), 20, "each member reads its two partitions: {got:?}");
                all.extend(got);
            }
            all.sort();
            all.dedup();
            assert_eq!(all.len(), 40, "every message exactly once across the group");
            for consumer in &mut consumers {
                consumer.shutdown().await.unwrap();
            }
        }
    });
}

use std::str::FromStr;
use support::name;
