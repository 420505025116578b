//! Goal: the shortest path a user takes — connect, log in, create a stream and a topic,
//! send, poll — works over TCP and QUIC against a real node.

mod support;

use iggy::prelude::*;
use support::{TEST_LIMIT, TRANSPORTS, Transport, bounded, id, messages, payloads, root};
use vireo_tests::Node;

#[test]
fn produce_and_consume_over_tcp_and_quic() {
    let node = Node::start("smoke", &[]);
    bounded(TEST_LIMIT, async {
        for (index, transport) in TRANSPORTS.into_iter().enumerate() {
            let client = root(&node, transport).await;
            client.ping().await.expect("ping");
            let stream_name = format!("smoke-{index}");
            let stream = client.create_stream(&stream_name).await.expect("create stream");
            assert_eq!(stream.name, stream_name);
            let options = TopicCreateOptions { partitions_count: Some(2), ..Default::default() };
            let topic = client
                .create_topic(&id(stream.id), "orders", &options)
                .await
                .expect("create topic");
            assert_eq!(topic.partitions_count, 2);
            let mut batch = messages("m", 10);
            client
                .send_messages(
                    &id(stream.id),
                    &id(topic.id),
                    &Partitioning::partition_id(1),
                    &mut batch,
                )
                .await
                .expect("send");
            let polled = client
                .poll_messages(
                    &id(stream.id),
                    &id(topic.id),
                    Some(1),
                    &Consumer::new(id(1)),
                    &PollingStrategy::offset(0),
                    100,
                    false,
                )
                .await
                .expect("poll");
            let expected: Vec<String> = (0..10).map(|i| format!("m-{i}")).collect();
            assert_eq!(payloads(&polled), expected, "over {transport:?}");
            assert_eq!(polled.messages[3].header.offset, 3);
            let _ = Transport::Tcp;
        }
    });
}

#[test]
fn tcp_with_tls_serves_the_sdk() {
    let node = Node::start("tls", &["tcp.tls_enabled=true"]);
    bounded(TEST_LIMIT, async {
        let client = IggyClient::builder()
            .with_tcp()
            .with_server_address(node.ports.tcp_address())
            .with_tls_enabled(true)
            .with_tls_domain("localhost".to_owned())
            .with_tls_validate_certificate(false)
            .build()
            .expect("client");
        client.connect().await.expect("TLS handshake");
        client.login_user("iggy", vireo_tests::ROOT_PASSWORD).await.expect("login over TLS");
        let stream = client.create_stream("tls").await.unwrap();
        let options = TopicCreateOptions { partitions_count: Some(1), ..Default::default() };
        let topic = client.create_topic(&id(stream.id), "t", &options).await.unwrap();
        let payload = "z".repeat(100_000);
        let mut batch: Vec<IggyMessage> =
            (0..5).map(|_| IggyMessage::from_str(&payload).unwrap()).collect();
        client
            .send_messages(
                &id(stream.id),
                &id(topic.id),
                &Partitioning::partition_id(0),
                &mut batch,
            )
            .await
            .expect("a 500 KB batch over TLS");
        let polled = client
            .poll_messages(
                &id(stream.id),
                &id(topic.id),
                Some(0),
                &Consumer::new(id(1)),
                &PollingStrategy::first(),
                10,
                false,
            )
            .await
            .unwrap();
        assert_eq!(polled.messages.len(), 5);
        assert!(polled.messages.iter().all(|m| m.payload.len() == 100_000));
    });
}

use std::str::FromStr;
