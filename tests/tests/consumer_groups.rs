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
