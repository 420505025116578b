//! Goal: retention runs in the background as replicated ops — sealed segments older than
//! a topic's `message_expiry`, or beyond its `max_topic_size`, are deleted; the open
//! segment and the offsets of what remains are untouched; deleted topics' partition data
//! is dropped from disk.

mod support;

use std::str::FromStr;
use std::time::Duration;

use iggy::prelude::*;
use support::{TEST_LIMIT, Transport, bounded, id, root};
use vireo_tests::Node;

async fn fill(client: &IggyClient, stream: u32, topic: u32, batches: usize) {
    let payload = "r".repeat(30_000);
    for _ in 0..batches {
        let mut batch: Vec<IggyMessage> =
            (0..10).map(|_| IggyMessage::from_str(&payload).unwrap()).collect();
        client
            .send_messages(&id(stream), &id(topic), &Partitioning::partition_id(0), &mut batch)
            .await
            .unwrap();
    }
}

async fn first_offset(client: &IggyClient, stream: u32, topic: u32) -> u64 {
    let polled = client
        .poll_messages(
            &id(stream),
            &id(topic),
            Some(0),
            &Consumer::new(id(1)),
            &PollingStrategy::first(),
            1,
            false,
        )
        .await
        .unwrap();
    polled.messages[0].header.offset
}

#[test]
fn expiry_and_size_limits_delete_old_sealed_segments() {
    let node = Node::start("retention", &["retention.interval_ms=200"]);
    bounded(TEST_LIMIT, async {
        let client = root(&node, Transport::Tcp).await;
        let stream = client.create_stream("r").await.unwrap().id;
        let expiring = TopicCreateOptions {
            partitions_count: Some(1),
            message_expiry: Some(IggyExpiry::ExpireDuration(IggyDuration::from_str("2s").unwrap())),
            ..Default::default()
        };
        let expiring = client.create_topic(&id(stream), "expiring", &expiring).await.unwrap().id;
        let capped = TopicCreateOptions {
            partitions_count: Some(1),
            max_topic_size: Some(MaxTopicSize::Custom(IggyByteSize::from(5 * 1024 * 1024))),
            ..Default::default()
        };
        let capped = client.create_topic(&id(stream), "capped", &capped).await.unwrap().id;
        let forever = TopicCreateOptions { partitions_count: Some(1), ..Default::default() };
        let forever = client.create_topic(&id(stream), "forever", &forever).await.unwrap().id;

        fill(&client, stream, expiring, 25).await;
        fill(&client, stream, capped, 40).await;
        fill(&client, stream, forever, 25).await;
        let before = client.get_topic(&id(stream), &id(expiring)).await.unwrap().unwrap();
        assert!(before.partitions[0].segments_count >= 3);

        let mut expired = false;
        let mut trimmed = false;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let topic = client.get_topic(&id(stream), &id(expiring)).await.unwrap().unwrap();
            expired = topic.partitions[0].segments_count == 1;
            let topic = client.get_topic(&id(stream), &id(capped)).await.unwrap().unwrap();
            trimmed = topic.size.as_bytes_u64() <= 5 * 1024 * 1024 + 2 * 1024 * 1024;
            if expired && trimmed {
                break;
            }
        }
        assert!(expired, "expired sealed segments are deleted, the open one kept");
        assert!(trimmed, "the capped topic is trimmed to about its size");
        assert!(first_offset(&client, stream, expiring).await > 0);
        assert!(first_offset(&client, stream, capped).await > 0);
        assert_eq!(
            first_offset(&client, stream, forever).await,
            0,
            "no retention, nothing deleted"
        );
        let topic = client.get_topic(&id(stream), &id(expiring)).await.unwrap().unwrap();
        assert_eq!(topic.partitions[0].current_offset, 249, "offsets are never reused");

        // Deleting the topic drops its partition directories in the background.
        let prefix = format!("{stream}-{forever}-");
        assert!(
            walk(&node.data_dir.join("partitions")).iter().any(|name| name.starts_with(&prefix))
        );
        client.delete_topic(&id(stream), &id(forever)).await.unwrap();
        let mut gone = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let partitions = node.data_dir.join("partitions");
            let remaining = walk(&partitions);
            gone = remaining.iter().all(|name| !name.starts_with(&prefix));
            if gone {
                break;
            }
        }
        assert!(gone, "the deleted topic's partition data is removed");
    });
}

/// Names of the partition directories under every group.
fn walk(root: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for group in std::fs::read_dir(root).into_iter().flatten().flatten() {
        for partition in std::fs::read_dir(group.path()).into_iter().flatten().flatten() {
            names.push(partition.file_name().to_string_lossy().into_owned());
        }
    }
    names
}
