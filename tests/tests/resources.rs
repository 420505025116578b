//! Goal: streams, topics, partitions and segments — create, get, list, update, delete,
//! purge — answer as the SDK expects over TCP and QUIC, including the errors for
//! unknown ids and names and for duplicate names.

mod support;

use iggy::prelude::*;
use support::{TEST_LIMIT, TRANSPORTS, bounded, code, id, messages, name, root};
use vireo_tests::Node;

#[test]
fn streams_and_topics_lifecycle() {
    let node = Node::start("resources", &[]);
    bounded(TEST_LIMIT, async {
        for (round, transport) in TRANSPORTS.into_iter().enumerate() {
            let client = root(&node, transport).await;
            let stream_name = format!("stream-{round}");
            let stream = client.create_stream(&stream_name).await.expect("create stream");
            assert_eq!(code(client.create_stream(&stream_name).await), 1012, "duplicate stream");
            let by_name =
                client.get_stream(&name(&stream_name)).await.expect("get").expect("found");
            assert_eq!(by_name.id, stream.id);
            assert!(client.get_stream(&id(9_999)).await.expect("get").is_none());
            assert_eq!(code(client.delete_stream(&id(9_999)).await), 1009);
            assert_eq!(code(client.delete_stream(&name("nope")).await), 1010);

            let options = TopicCreateOptions { partitions_count: Some(3), ..Default::default() };
            let topic = client.create_topic(&id(stream.id), "t", &options).await.expect("topic");
            assert_eq!(topic.partitions.len(), 3);
            assert_eq!(code(client.create_topic(&id(stream.id), "t", &options).await), 2013);
            assert_eq!(code(client.create_topic(&id(9_999), "x", &options).await), 1009);
            let fetched = client.get_topic(&id(stream.id), &name("t")).await.unwrap().unwrap();
            assert_eq!(fetched.partitions_count, 3);
            assert!(client.get_topic(&id(stream.id), &id(77)).await.unwrap().is_none());
            assert_eq!(code(client.delete_topic(&id(stream.id), &id(77)).await), 2010);
            let topics = client.get_topics(&id(stream.id)).await.expect("get topics");
            assert_eq!(topics.len(), 1);

            client
                .update_topic(
                    &id(stream.id),
                    &id(topic.id),
                    "renamed",
                    &TopicUpdateOptions::default(),
                )
                .await
                .expect("update topic");
            assert!(client.get_topic(&id(stream.id), &name("renamed")).await.unwrap().is_some());
            client
                .create_partitions(&id(stream.id), &id(topic.id), 2)
                .await
                .expect("add partitions");
            client.delete_partitions(&id(stream.id), &id(topic.id), 1).await.expect("drop one");
            let fetched = client.get_topic(&id(stream.id), &id(topic.id)).await.unwrap().unwrap();
            assert_eq!(fetched.partitions_count, 4);
            assert_eq!(
                code(client.create_partitions(&id(stream.id), &id(topic.id), 0).await),
                2019
            );

            let mut batch = messages("p", 5);
            let partitioning = Partitioning::partition_id(0);
            client
                .send_messages(&id(stream.id), &id(topic.id), &partitioning, &mut batch)
                .await
                .unwrap();
            let with_data = client.get_stream(&id(stream.id)).await.unwrap().unwrap();
            assert_eq!(with_data.messages_count, 5);
            assert!(with_data.size.as_bytes_u64() > 0);
            client.purge_topic(&id(stream.id), &id(topic.id)).await.expect("purge topic");
            let purged = client.get_topic(&id(stream.id), &id(topic.id)).await.unwrap().unwrap();
            assert_eq!(purged.messages_count, 0);
            let mut batch = messages("q", 2);
            client
                .send_messages(&id(stream.id), &id(topic.id), &partitioning, &mut batch)
                .await
                .unwrap();
            client.purge_stream(&id(stream.id)).await.expect("purge stream");

            let renamed = format!("renamed-{round}");
            client
                .update_stream(&id(stream.id), &renamed, &StreamUpdateOptions::default())
                .await
                .expect("update stream");
            let streams = client.get_streams().await.expect("get streams");
            assert!(streams.iter().any(|s| s.name == renamed));
            client.delete_topic(&id(stream.id), &id(topic.id)).await.expect("delete topic");
            client.delete_stream(&id(stream.id)).await.expect("delete stream");
            assert!(client.get_stream(&id(stream.id)).await.unwrap().is_none());
        }
    });
}

#[test]
fn delete_segments_removes_sealed_segments_only() {
    // 2 MiB segments (the test default) and ~300 KiB batches: a few segments.
    let node = Node::start("segments", &[]);
    bounded(TEST_LIMIT, async {
        let client = root(&node, support::Transport::Tcp).await;
        let stream = client.create_stream("seg").await.unwrap();
        let options = TopicCreateOptions { partitions_count: Some(1), ..Default::default() };
        let topic = client.create_topic(&id(stream.id), "t", &options).await.unwrap();
        let payload = "x".repeat(30_000);
        for _ in 0..25 {
            let mut batch: Vec<IggyMessage> =
                (0..10).map(|_| IggyMessage::from_str(&payload).unwrap()).collect();
            client
                .send_messages(
                    &id(stream.id),
                    &id(topic.id),
                    &Partitioning::partition_id(0),
                    &mut batch,
                )
                .await
                .unwrap();
        }
        let before = client.get_topic(&id(stream.id), &id(topic.id)).await.unwrap().unwrap();
        let segments_before = before.partitions[0].segments_count;
        assert!(segments_before >= 3, "expected several segments, got {segments_before}");
        client.delete_segments(&id(stream.id), &id(topic.id), 0, 1).await.expect("delete");
        let after = client.get_topic(&id(stream.id), &id(topic.id)).await.unwrap().unwrap();
        assert_eq!(after.partitions[0].segments_count, segments_before - 1);
        assert!(after.messages_count < before.messages_count);
        assert_eq!(after.partitions[0].current_offset, 249, "offsets are never reused");
        assert_eq!(code(client.delete_segments(&id(stream.id), &id(topic.id), 9, 1).await), 3007);
        let polled = client
            .poll_messages(
                &id(stream.id),
                &id(topic.id),
                Some(0),
                &Consumer::new(id(1)),
                &PollingStrategy::first(),
                1,
                false,
            )
            .await
            .unwrap();
        assert!(polled.messages[0].header.offset > 0, "the first segment is gone");
    });
}

use std::str::FromStr;
