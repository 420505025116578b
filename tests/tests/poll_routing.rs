//! Goal: the multi-node polling commands of the 0.11.0 SDK — 103 get_poll_routing, 14
//! attach_consumer_session, 104 poll_messages_on_primary, 123 get_consumer_offset_routing
//! — answered the way the SDK's `poll_routing.rs` drives them, over TCP and QUIC, through
//! the official SDK's own transport (`BinaryTransport::send_raw_with_response`, which
//! sends these codes exactly as the SDK does with more than one node).
//!
//! The flow under test, as the SDK runs it: a coordinator connection (group member) asks
//! 103 with the poll body; a separate data connection logged in as the same user attaches
//! with the 32 session bytes of the reply, then polls with 104 (auto-commit) and stores
//! offsets with 121 under the coordinator's membership. Refusals: a data connection
//! that did not attach is no member; session bytes that do not verify are 58 (the SDK
//! re-routes); another user's coordinator is Unauthorized; once the coordinator is
//! gone its membership is too.

mod support;

use bytes::Bytes;
use iggy::binary::BinaryTransport;
use iggy::prelude::locking::IggyRwLockFn;
use iggy::prelude::*;
use support::{TEST_LIMIT, TRANSPORTS, Transport, bounded, code, connect, id, messages, root};
use vireo_protocol::iggy::primitives::{
    Consumer as WireConsumer, ConsumerKind, Identifier as WireId, PollingKind,
    PollingStrategy as WireStrategy,
};
use vireo_protocol::iggy::reply::{NodeRole, NodeStatus, PollRoutingReply};
use vireo_protocol::iggy::request::{AttachConsumerSession, Body, OffsetTarget, PollMessages};
use vireo_protocol::iggy::wire::Reader;
use vireo_protocol::iggy::{ErrorCode, code as codes};
use vireo_tests::Node;

/// Sends `code` with `body` through the SDK transport under `client`.
async fn raw(client: &IggyClient, code: u32, body: Vec<u8>) -> Result<Bytes, IggyError> {
    let handle = client.client();
    let wrapper = handle.read().await;
    match &*wrapper {
        ClientWrapper::Tcp(tcp) => tcp.send_raw_with_response(code, Bytes::from(body)).await,
        ClientWrapper::Quic(quic) => quic.send_raw_with_response(code, Bytes::from(body)).await,
        _ => panic!("only TCP and QUIC clients are used here"),
    }
}

fn poll_body(stream: u32, topic: u32, group: u32, count: u32) -> Vec<u8> {
    let mut body = Vec::new();
    PollMessages {
        consumer: WireConsumer { kind: ConsumerKind::ConsumerGroup, id: WireId::Numeric(group) },
        stream_id: WireId::Numeric(stream),
        topic_id: WireId::Numeric(topic),
        partition_id: None,
        strategy: WireStrategy { kind: PollingKind::Next, value: 0 },
        count,
        auto_commit: true,
    }
    .encode(&mut body);
    body
}

fn offset_target_body(stream: u32, topic: u32, group: u32) -> Vec<u8> {
    let mut body = Vec::new();
    OffsetTarget {
        consumer: WireConsumer { kind: ConsumerKind::ConsumerGroup, id: WireId::Numeric(group) },
        stream_id: WireId::Numeric(stream),
        topic_id: WireId::Numeric(topic),
        partition_id: None,
    }
    .encode(&mut body);
    body
}

fn attach_body(session: &AttachConsumerSession) -> Vec<u8> {
    let mut body = Vec::new();
    session.encode(&mut body);
    body
}

/// Decodes a routing reply and checks it names this node, reachable over `transport`.
fn routed(reply: &[u8], node: &Node, transport: Transport) -> AttachConsumerSession {
    let mut reader = Reader::new(reply);
    let routing = PollRoutingReply::decode(&mut reader).expect("routing reply decodes");
    assert_eq!(reader.remaining(), 0, "nothing trails the routing reply");
    let primary = routing.primary;
    let port = match transport {
        Transport::Tcp => primary.tcp_port,
        Transport::Quic => primary.quic_port,
    };
    let address = match transport {
        Transport::Tcp => node.ports.tcp_address(),
        Transport::Quic => node.ports.quic_address(),
    };
    assert_eq!(format!("{}:{port}", primary.ip), address, "the route names this node");
    assert_eq!((primary.role, primary.status), (NodeRole::Leader, NodeStatus::Healthy));
    routing.consumer_session
}

#[test]
fn routed_group_polls_and_offset_writes_follow_the_sdk_flow() {
    let node = Node::start("poll-routing", &[]);
    bounded(TEST_LIMIT, async {
        for (round, transport) in TRANSPORTS.into_iter().enumerate() {
            let admin = root(&node, transport).await;
            let stream = admin.create_stream(&format!("r-{round}")).await.unwrap().id;
            let options = TopicCreateOptions { partitions_count: Some(1), ..Default::default() };
            let topic = admin.create_topic(&id(stream), "t", &options).await.unwrap().id;
            let group = admin.create_consumer_group(&id(stream), &id(topic), "g").await.unwrap().id;
            let mut batch = messages("m", 5);
            admin
                .send_messages(&id(stream), &id(topic), &Partitioning::partition_id(0), &mut batch)
                .await
                .unwrap();

            // The coordinator joins and asks where its group poll goes.
            let coordinator = root(&node, transport).await;
            coordinator.join_consumer_group(&id(stream), &id(topic), &id(group)).await.unwrap();
            let me = coordinator.get_me().await.unwrap();
            let reply =
                raw(&coordinator, codes::GET_POLL_ROUTING, poll_body(stream, topic, group, 3))
                    .await
                    .expect("103 answers");
            let session = routed(&reply, &node, transport);
            assert_eq!(session.client_id, u128::from(me.client_id), "the coordinator's identity");
            assert_ne!(session.session, 0);

            // A data connection that did not attach is not a member.
            let data = root(&node, transport).await;
            assert_eq!(
                code(
                    raw(&data, codes::POLL_MESSAGES_ON_PRIMARY, poll_body(stream, topic, group, 3))
                        .await
                ),
                ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND.0
            );
            // A tag that does not verify is refused with 58 (the SDK drops the route and asks again).
            let stale = AttachConsumerSession { session: session.session ^ 2, ..session };
            assert_eq!(
                code(raw(&data, codes::ATTACH_CONSUMER_SESSION, attach_body(&stale)).await),
                ErrorCode::TRANSIENT_NOT_ACCEPTED.0
            );
            // Metadata this node has not applied yet: 58 as well.
            let ahead = AttachConsumerSession { metadata_watermark: u64::MAX, ..session };
            assert_eq!(
                code(raw(&data, codes::ATTACH_CONSUMER_SESSION, attach_body(&ahead)).await),
                ErrorCode::TRANSIENT_NOT_ACCEPTED.0
            );

            // Attached, the data connection polls as the coordinator's membership.
            let attached = raw(&data, codes::ATTACH_CONSUMER_SESSION, attach_body(&session))
                .await
                .expect("14 answers");
            assert!(attached.is_empty());
            let first =
                raw(&data, codes::POLL_MESSAGES_ON_PRIMARY, poll_body(stream, topic, group, 3))
                    .await
                    .expect("104 answers");
            let first = PolledMessages::from_bytes(first).expect("poll reply decodes");
            assert_eq!(first.partition_id, 0);
            let offsets: Vec<u64> = first.messages.iter().map(|m| m.header.offset).collect();
            assert_eq!(offsets, [0, 1, 2]);
            // Auto-commit stored the group's offset, seen by the coordinator.
            let consumer = Consumer::group(id(group));
            let stored = coordinator
                .get_consumer_offset(&consumer, &id(stream), &id(topic), Some(0))
                .await
                .unwrap()
                .expect("offset stored by the routed poll");
            assert_eq!(stored.stored_offset, 2);
            // `Next` continues from there, on the coordinator itself as well.
            let rest =
                raw(&data, codes::POLL_MESSAGES_ON_PRIMARY, poll_body(stream, topic, group, 10))
                    .await
                    .expect("104 again");
            let rest = PolledMessages::from_bytes(rest).unwrap();
            let offsets: Vec<u64> = rest.messages.iter().map(|m| m.header.offset).collect();
            assert_eq!(offsets, [3, 4]);

            // Offset writes: 123 routes, then the data connection stores under the
            // coordinator's membership (no partition named: the member's assignment).
            let reply = raw(
                &coordinator,
                codes::GET_CONSUMER_OFFSET_ROUTING,
                offset_target_body(stream, topic, group),
            )
            .await
            .expect("123 answers");
            assert_eq!(routed(&reply, &node, transport), session);
            data.store_consumer_offset(&consumer, &id(stream), &id(topic), None, 1).await.unwrap();
            let stored = coordinator
                .get_consumer_offset(&consumer, &id(stream), &id(topic), Some(0))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.stored_offset, 1);

            // Routing checks what the poll would: unknown topic, non-member.
            assert_eq!(
                code(
                    raw(&coordinator, codes::GET_POLL_ROUTING, poll_body(stream, 999, group, 1))
                        .await
                ),
                ErrorCode::TOPIC_ID_NOT_FOUND.0
            );
            assert_eq!(
                code(
                    raw(&admin, codes::GET_POLL_ROUTING, poll_body(stream, topic, group, 1)).await
                ),
                ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND.0
            );

            // Another user cannot borrow root's membership.
            let password = "other-password";
            admin
                .create_user(&format!("other-{round}"), password, UserStatus::Active, None)
                .await
                .unwrap();
            let other = connect(&node, transport).await;
            other.login_user(&format!("other-{round}"), password).await.unwrap();
            assert_eq!(
                code(raw(&other, codes::ATTACH_CONSUMER_SESSION, attach_body(&session)).await),
                ErrorCode::UNAUTHORIZED.0
            );

            // A forged identity (another client id under this user) does not verify.
            let forged = AttachConsumerSession { client_id: session.client_id + 1, ..session };
            assert_eq!(
                code(raw(&data, codes::ATTACH_CONSUMER_SESSION, attach_body(&forged)).await),
                ErrorCode::TRANSIENT_NOT_ACCEPTED.0
            );

            // The coordinator gone, it left the group: the attached data connection's
            // group polls find no member.
            coordinator.shutdown().await.unwrap();
            drop(coordinator);
            let mut answered = 0;
            for _ in 0..100 {
                let poll = poll_body(stream, topic, group, 1);
                match raw(&data, codes::POLL_MESSAGES_ON_PRIMARY, poll).await {
                    Err(error) => {
                        assert_eq!(error.as_code(), ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND.0);
                        answered += 1;
                        break;
                    }
                    // The server may not have seen the close yet.
                    Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                }
            }
            assert_eq!(answered, 1, "a vanished coordinator's membership is not borrowed");
        }
    });
}
