//! Goal: produce and consume as the SDK does it over TCP and QUIC — balanced,
//! partition-id and messages-key partitioning; polls by offset, timestamp, first, last
//! and next; auto-commit; stored consumer offsets (store, get, delete).

mod support;

use iggy::prelude::*;
use support::{TEST_LIMIT, TRANSPORTS, bounded, code, id, messages, payloads, root};
use vireo_tests::Node;

async fn setup(client: &IggyClient, stream: &str, partitions: u32) -> (u32, u32) {
    let stream = client.create_stream(stream).await.expect("stream");
    let options = TopicCreateOptions { partitions_count: Some(partitions), ..Default::default() };
    let topic = client.create_topic(&id(stream.id), "t", &options).await.expect("topic");
    (stream.id, topic.id)
}

async fn poll(
    client: &IggyClient,
    (stream, topic): (u32, u32),
    partition: u32,
    consumer: &Consumer,
    strategy: PollingStrategy,
    count: u32,
    auto_commit: bool,
) -> PolledMessages {
    client
        .poll_messages(
            &id(stream),
            &id(topic),
            Some(partition),
            consumer,
            &strategy,
            count,
            auto_commit,
        )
        .await
        .expect("poll")
}

#[test]
fn partitioning_and_every_polling_strategy() {
    let node = Node::start("messages", &[]);
    bounded(TEST_LIMIT, async {
        for (round, transport) in TRANSPORTS.into_iter().enumerate() {
            let client = root(&node, transport).await;
            let target = setup(&client, &format!("m-{round}"), 3).await;
            let (stream, topic) = (id(target.0), id(target.1));

            // Balanced spreads over partitions; messages key pins to one.
            for i in 0..6 {
                let mut batch = messages(&format!("b{i}"), 1);
                client
                    .send_messages(&stream, &topic, &Partitioning::balanced(), &mut batch)
                    .await
                    .unwrap();
            }
            let details = client.get_topic(&stream, &topic).await.unwrap().unwrap();
            assert!(
                details.partitions.iter().all(|p| p.messages_count == 2),
                "balanced: {details:?}"
            );
            for _ in 0..3 {
                let mut batch = messages("k", 2);
                let key = Partitioning::messages_key_str("user-42").unwrap();
                client.send_messages(&stream, &topic, &key, &mut batch).await.unwrap();
            }
            let details = client.get_topic(&stream, &topic).await.unwrap().unwrap();
            let keyed: Vec<u64> = details.partitions.iter().map(|p| p.messages_count).collect();
            assert_eq!(keyed.iter().filter(|&&count| count == 8).count(), 1, "key pins: {keyed:?}");

            // Partition 0 of a fresh topic: 3 batches of 4.
            let target = setup(&client, &format!("p-{round}"), 1).await;
            let (stream, topic) = (id(target.0), id(target.1));
            for batch_index in 0..3 {
                let mut batch = messages(&format!("x{batch_index}"), 4);
                client
                    .send_messages(&stream, &topic, &Partitioning::partition_id(0), &mut batch)
                    .await
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let consumer = Consumer::new(id(7));
            let from_offset =
                poll(&client, target, 0, &consumer, PollingStrategy::offset(5), 3, false).await;
            assert_eq!(
                payloads(&from_offset),
                ["x1-1", "x1-2", "x1-3"],
                "mid-batch start is sliced"
            );
            assert_eq!(from_offset.current_offset, 11);
            let first =
                poll(&client, target, 0, &consumer, PollingStrategy::first(), 2, false).await;
            assert_eq!(payloads(&first), ["x0-0", "x0-1"]);
            let last = poll(&client, target, 0, &consumer, PollingStrategy::last(), 2, false).await;
            assert_eq!(payloads(&last), ["x2-2", "x2-3"]);
            let stamp = from_offset.messages[0].header.timestamp;
            let by_time = poll(
                &client,
                target,
                0,
                &consumer,
                PollingStrategy::timestamp(stamp.into()),
                100,
                false,
            )
            .await;
            assert_eq!(by_time.messages[0].header.offset, 4, "the batch stamped at that time");
            let beyond =
                poll(&client, target, 0, &consumer, PollingStrategy::offset(12), 5, false).await;
            assert!(beyond.messages.is_empty());

            // Next + auto-commit walks the partition; offsets are stored server-side.
            let walker = Consumer::new(id(99));
            let step = poll(&client, target, 0, &walker, PollingStrategy::next(), 5, true).await;
            assert_eq!(step.messages.last().unwrap().header.offset, 4);
            let step = poll(&client, target, 0, &walker, PollingStrategy::next(), 5, true).await;
            assert_eq!(step.messages[0].header.offset, 5);
            let stored = client
                .get_consumer_offset(&walker, &stream, &topic, Some(0))
                .await
                .unwrap()
                .expect("stored offset");
            assert_eq!((stored.stored_offset, stored.current_offset), (9, 11));

            // Explicit offsets: store, read, delete.
            let manual = Consumer::new(id(5));
            assert!(
                client
                    .get_consumer_offset(&manual, &stream, &topic, Some(0))
                    .await
                    .unwrap()
                    .is_none()
            );
            client.store_consumer_offset(&manual, &stream, &topic, Some(0), 3).await.unwrap();
            let next = poll(&client, target, 0, &manual, PollingStrategy::next(), 1, false).await;
            assert_eq!(next.messages[0].header.offset, 4);
            assert_eq!(
                code(client.store_consumer_offset(&manual, &stream, &topic, Some(0), 50).await),
                4100
            );
            client.delete_consumer_offset(&manual, &stream, &topic, Some(0)).await.unwrap();
            assert!(
                client
                    .get_consumer_offset(&manual, &stream, &topic, Some(0))
                    .await
                    .unwrap()
                    .is_none()
            );
            assert_eq!(
                code(client.delete_consumer_offset(&manual, &stream, &topic, Some(0)).await),
                3021
            );

            // Unknown ids.
            let mut batch = messages("z", 1);
            assert_eq!(
                code(
                    client
                        .send_messages(&stream, &topic, &Partitioning::partition_id(9), &mut batch)
                        .await
                ),
                3007
            );
            let mut batch = messages("z", 1);
            assert_eq!(
                code(
                    client
                        .send_messages(&id(999), &topic, &Partitioning::partition_id(0), &mut batch)
                        .await
                ),
                1009
            );
        }
    });
}

/// Reads beyond the in-memory cache go to disk (one `ReadPlan` per read), through
/// sealed segments, and a `persisted` topic acknowledges only after syncs — same results.
#[test]
fn reads_from_disk_and_persisted_topics() {
    let node = Node::start("disk-reads", &["storage.partition_cache_size=1MiB"]);
    bounded(TEST_LIMIT, async {
        let client = root(&node, support::Transport::Tcp).await;
        let stream = client.create_stream("disk").await.unwrap().id;
        let options = TopicCreateOptions {
            partitions_count: Some(1),
            durability: Durability::Persisted,
            ..Default::default()
        };
        let topic = client.create_topic(&id(stream), "t", &options).await.unwrap().id;
        let payload = "d".repeat(10_000);
        for batch_index in 0..60 {
            let mut batch: Vec<IggyMessage> = (0..10)
                .map(|i| IggyMessage::from_str(&format!("{batch_index}-{i}-{payload}")).unwrap())
                .collect();
            client
                .send_messages(&id(stream), &id(topic), &Partitioning::partition_id(0), &mut batch)
                .await
                .unwrap();
        }
        let details = client.get_topic(&id(stream), &id(topic)).await.unwrap().unwrap();
        assert!(details.partitions[0].segments_count >= 2, "spans sealed segments");
        let consumer = Consumer::new(id(1));
        let mut offset = 0;
        while offset < 600 {
            let polled = client
                .poll_messages(
                    &id(stream),
                    &id(topic),
                    Some(0),
                    &consumer,
                    &PollingStrategy::offset(offset),
                    37,
                    false,
                )
                .await
                .unwrap();
            assert!(!polled.messages.is_empty(), "offset {offset}");
            for message in &polled.messages {
                assert_eq!(message.header.offset, offset);
                let expected = format!("{}-{}-", offset / 10, offset % 10);
                assert!(String::from_utf8_lossy(&message.payload).starts_with(&expected));
                offset += 1;
            }
        }
    });
}

use std::str::FromStr;
