//! Every request the official 0.11.0 crates can build, framed as the SDK frames it,
//! parsed by our `parse_request`, and compared field by field.

#[path = "support/official.rs"]
mod official;

use bytes::Bytes;
use iggy_binary_protocol::codec::WireEncode;
use iggy_binary_protocol::codes::*;
use iggy_binary_protocol::requests::consumer_groups::*;
use iggy_binary_protocol::requests::consumer_offsets::*;
use iggy_binary_protocol::requests::messages::{FlushUnsavedBufferRequest, PollMessagesRequest};
use iggy_binary_protocol::requests::partitions::*;
use iggy_binary_protocol::requests::personal_access_tokens::*;
use iggy_binary_protocol::requests::segments::DeleteSegmentsRequest;
use iggy_binary_protocol::requests::streams::*;
use iggy_binary_protocol::requests::system::*;
use iggy_binary_protocol::requests::topics::*;
use iggy_binary_protocol::requests::users::*;
use iggy_binary_protocol::{
    AckLevel as WireAck, ClientVersionInfo as WireVersion, WireConsumer, WireGlobalPermissions,
    WireIdentifier, WireName, WireOptions, WirePermissions, WirePollingStrategy,
    WireStreamPermissions, WireTopicPermissions,
};
use secrecy::SecretString;
use vireo_protocol::iggy::primitives::{
    AckLevel, Consumer, ConsumerKind, Identifier, Options, Permissions,
};
use vireo_protocol::iggy::request::{OffsetTarget, PollMessages};
use vireo_protocol::iggy::{HEADER_SIZE, Request, RequestHeader, parse_request};

/// Parses an official frame with our code, checks the header field by field, and
/// hands the request to `check`.
#[allow(clippy::needless_pass_by_value)] // Call sites hand over freshly encoded bodies.
fn parse(code: u32, payload: Bytes, check: impl FnOnce(Request<'_>)) {
    let frame = official::frame(code, &payload);
    let theirs = official::request_header(&frame);
    let ours = RequestHeader::decode(&frame).expect("our header decode");
    ours.check_session().expect("session rules");
    assert_eq!(ours.size, theirs.size);
    assert_eq!(ours.client, theirs.client);
    assert_eq!(ours.request, theirs.request);
    assert_eq!(ours.session, theirs.session);
    assert_eq!(ours.request_checksum, theirs.request_checksum);
    assert_eq!(ours.operation as u8, theirs.operation as u8);
    assert_eq!(ours.user_id, theirs.user_id);
    let request =
        parse_request(&ours, &frame[HEADER_SIZE..]).unwrap_or_else(|e| panic!("code {code}: {e}"));
    assert_eq!(request.code(), code);
    let mut again = Vec::new();
    request.encode_body(&mut again);
    assert_eq!(again, payload.as_ref(), "code {code}: our encoding differs from theirs");
    check(request);
}

fn same_id(ours: Identifier<'_>, theirs: &WireIdentifier) {
    match (ours, theirs) {
        (Identifier::Numeric(a), WireIdentifier::Numeric(b)) => assert_eq!(a, *b),
        (Identifier::Name(a), WireIdentifier::String(b)) => assert_eq!(a.as_str(), b.as_str()),
        other => panic!("identifier mismatch {other:?}"),
    }
}

fn same_consumer(ours: Consumer<'_>, theirs: &WireConsumer) {
    assert_eq!(ours.kind as u8, theirs.kind);
    same_id(ours.id, &theirs.id);
}

fn same_options(ours: Options<'_>, theirs: &WireOptions) {
    assert_eq!(ours.as_bytes(), theirs.as_bytes());
    let ours: Vec<_> = ours.iter().map(|e| (e.key_kind, e.key, e.value_kind, e.value)).collect();
    let theirs: Vec<_> =
        theirs.iter().map(|e| (e.key_kind.0, e.key, e.value_kind.0, e.value)).collect();
    assert_eq!(ours, theirs);
}

fn same_permissions(ours: &Permissions, theirs: &WirePermissions) {
    let g = &theirs.global;
    assert_eq!(
        (
            ours.global.manage_servers,
            ours.global.read_servers,
            ours.global.manage_users,
            ours.global.read_users
        ),
        (g.manage_servers, g.read_servers, g.manage_users, g.read_users)
    );
    assert_eq!(
        (
            ours.global.manage_streams,
            ours.global.read_streams,
            ours.global.manage_topics,
            ours.global.read_topics
        ),
        (g.manage_streams, g.read_streams, g.manage_topics, g.read_topics)
    );
    assert_eq!(
        (ours.global.poll_messages, ours.global.send_messages),
        (g.poll_messages, g.send_messages)
    );
    assert_eq!(ours.streams.len(), theirs.streams.len());
    for (a, b) in ours.streams.iter().zip(&theirs.streams) {
        assert_eq!(a.stream_id, b.stream_id);
        assert_eq!(
            (a.manage_stream, a.read_stream, a.manage_topics),
            (b.manage_stream, b.read_stream, b.manage_topics)
        );
        assert_eq!(
            (a.read_topics, a.poll_messages, a.send_messages),
            (b.read_topics, b.poll_messages, b.send_messages)
        );
        assert_eq!(a.topics.len(), b.topics.len());
        for (x, y) in a.topics.iter().zip(&b.topics) {
            assert_eq!(
                (x.topic_id, x.manage_topic, x.read_topic, x.poll_messages, x.send_messages),
                (y.topic_id, y.manage_topic, y.read_topic, y.poll_messages, y.send_messages)
            );
        }
    }
}

fn name(value: &str) -> WireName {
    WireName::new(value).unwrap()
}

fn named(value: &str) -> WireIdentifier {
    WireIdentifier::named(value).unwrap()
}

fn options() -> WireOptions {
    let mut block = vireo_protocol::iggy::primitives::TlvBuilder::new();
    block.u64("message_expiry", 60_000_000).unwrap().string("durability", "persisted").unwrap();
    WireOptions::from_slice(block.as_bytes()).unwrap()
}

fn permissions() -> WirePermissions {
    WirePermissions {
        global: WireGlobalPermissions {
            manage_servers: false,
            read_servers: true,
            manage_users: false,
            read_users: true,
            manage_streams: true,
            read_streams: true,
            manage_topics: false,
            read_topics: true,
            poll_messages: true,
            send_messages: false,
        },
        streams: vec![
            WireStreamPermissions {
                stream_id: 1,
                manage_stream: true,
                read_stream: false,
                manage_topics: true,
                read_topics: false,
                poll_messages: true,
                send_messages: true,
                topics: vec![
                    WireTopicPermissions {
                        topic_id: 2,
                        manage_topic: true,
                        read_topic: false,
                        poll_messages: true,
                        send_messages: false,
                    },
                    WireTopicPermissions {
                        topic_id: 5,
                        manage_topic: false,
                        read_topic: true,
                        poll_messages: false,
                        send_messages: true,
                    },
                ],
            },
            WireStreamPermissions {
                stream_id: 9,
                manage_stream: false,
                read_stream: true,
                manage_topics: false,
                read_topics: true,
                poll_messages: false,
                send_messages: false,
                topics: vec![],
            },
        ],
    }
}

#[test]
fn empty_bodied_requests() {
    for (code, body) in [
        (PING_CODE, PingRequest.to_bytes()),
        (GET_STATS_CODE, GetStatsRequest.to_bytes()),
        (GET_CLUSTER_METADATA_CODE, GetClusterMetadataRequest.to_bytes()),
        (GET_ME_CODE, GetMeRequest.to_bytes()),
        (GET_CLIENTS_CODE, GetClientsRequest.to_bytes()),
        (GET_USERS_CODE, GetUsersRequest.to_bytes()),
        (LOGOUT_USER_CODE, LogoutUserRequest.to_bytes()),
        (GET_PERSONAL_ACCESS_TOKENS_CODE, GetPersonalAccessTokensRequest.to_bytes()),
        (GET_STREAMS_CODE, GetStreamsRequest.to_bytes()),
    ] {
        parse(code, body, |request| {
            assert!(matches!(
                request,
                Request::Ping
                    | Request::GetStats
                    | Request::GetClusterMetadata
                    | Request::GetMe
                    | Request::GetClients
                    | Request::GetUsers
                    | Request::Logout
                    | Request::GetPersonalAccessTokens
                    | Request::GetStreams
            ));
        });
    }
}

#[test]
fn system_requests() {
    let snapshot = GetSnapshotRequest { compression: 2, snapshot_types: vec![1, 3, 4] };
    parse(GET_SNAPSHOT_FILE_CODE, snapshot.to_bytes(), |r| match r {
        Request::GetSnapshot(s) => {
            assert_eq!((s.compression, s.snapshot_types), (2, &[1u8, 3, 4][..]));
        }
        other => panic!("{other:?}"),
    });
    parse(
        DESCRIBE_OPTIONS_CODE,
        DescribeOptionsRequest { scope: OPTIONS_SCOPE_USER }.to_bytes(),
        |r| {
            assert!(matches!(r, Request::DescribeOptions(d) if d.scope == 3));
        },
    );
    let attach = AttachConsumerSessionRequest {
        client_id: u128::MAX - 3,
        session: 12,
        metadata_watermark: 99,
    };
    parse(ATTACH_CONSUMER_SESSION_CODE, attach.to_bytes(), |r| match r {
        Request::AttachConsumerSession(a) => {
            assert_eq!((a.client_id, a.session, a.metadata_watermark), (attach.client_id, 12, 99));
        }
        other => panic!("{other:?}"),
    });
    parse(GET_CLIENT_CODE, GetClientRequest { client_id: 31 }.to_bytes(), |r| {
        assert!(matches!(r, Request::GetClient(c) if c.client_id == 31));
    });
}

#[test]
fn login_requests() {
    let version = WireVersion {
        protocol_version: 11 << 10,
        sdk_name: name("rust-sdk"),
        sdk_version: name("0.11.0"),
    };
    let login = LoginRegisterRequest {
        version_info: version.clone(),
        username: name("iggy"),
        password: SecretString::from("secret-password"),
        client_context: None,
    };
    parse(LOGIN_REGISTER_CODE, login.to_bytes(), |r| match r {
        Request::LoginRegister(l) => {
            assert_eq!(l.version.protocol_version, 11 << 10);
            assert_eq!(l.version.sdk_name.as_str(), "rust-sdk");
            assert_eq!(l.version.sdk_version.as_str(), "0.11.0");
            assert_eq!(l.username.as_str(), "iggy");
            assert_eq!(l.password.expose(), "secret-password");
            assert_eq!(l.context, None);
        }
        other => panic!("{other:?}"),
    });
    let with_context = LoginRegisterRequest { client_context: Some("ctx".into()), ..login };
    parse(LOGIN_REGISTER_CODE, with_context.to_bytes(), |r| {
        assert!(matches!(r, Request::LoginRegister(l) if l.context == Some("ctx")));
    });
    let pat = LoginRegisterWithPatRequest {
        version_info: version,
        token: SecretString::from("a".repeat(50)),
        client_context: None,
    };
    parse(LOGIN_REGISTER_WITH_PAT_CODE, pat.to_bytes(), |r| match r {
        Request::LoginRegisterWithPat(l) => assert_eq!(l.token.expose(), "a".repeat(50)),
        other => panic!("{other:?}"),
    });
}

#[test]
fn user_requests() {
    parse(GET_USER_CODE, GetUserRequest { user_id: named("alice") }.to_bytes(), |r| match r {
        Request::GetUser(u) => same_id(u.user_id, &named("alice")),
        other => panic!("{other:?}"),
    });
    parse(
        DELETE_USER_CODE,
        DeleteUserRequest { user_id: WireIdentifier::numeric(4) }.to_bytes(),
        |r| {
            assert!(matches!(r, Request::DeleteUser(u) if u.user_id == Identifier::Numeric(4)));
        },
    );
    for perms in [Some(permissions()), None] {
        let create = CreateUserRequest {
            username: name("alice"),
            password: "p4ssword".into(),
            status: 1,
            permissions: perms.clone(),
            options: options(),
        };
        parse(CREATE_USER_CODE, create.to_bytes(), |r| match r {
            Request::CreateUser(c) => {
                assert_eq!(c.username.as_str(), "alice");
                assert_eq!(c.password.expose(), "p4ssword");
                assert_eq!(c.status, 1);
                same_options(c.options, &create.options);
                match (c.permissions, &perms) {
                    (Some(ours), Some(theirs)) => same_permissions(&ours.to_permissions(), theirs),
                    (None, None) => {}
                    other => panic!("permissions presence differs: {other:?}"),
                }
            }
            other => panic!("{other:?}"),
        });
        let update = UpdatePermissionsRequest {
            user_id: WireIdentifier::numeric(2),
            permissions: perms.clone(),
        };
        parse(UPDATE_PERMISSIONS_CODE, update.to_bytes(), |r| match r {
            Request::UpdatePermissions(u) => {
                assert_eq!(u.user_id, Identifier::Numeric(2));
                assert_eq!(u.permissions.is_some(), perms.is_some());
                if let (Some(ours), Some(theirs)) = (u.permissions, &perms) {
                    same_permissions(&ours.to_permissions(), theirs);
                }
            }
            other => panic!("{other:?}"),
        });
    }
    for (username, status) in [(Some(name("bob")), Some(2u8)), (None, None)] {
        let update = UpdateUserRequest {
            user_id: named("alice"),
            username: username.clone(),
            status,
            options: WireOptions::empty(),
        };
        parse(UPDATE_USER_CODE, update.to_bytes(), |r| match r {
            Request::UpdateUser(u) => {
                same_id(u.user_id, &named("alice"));
                assert_eq!(
                    u.username.map(|n| n.as_str().to_owned()),
                    username.map(|n| n.to_string())
                );
                assert_eq!(u.status, status);
                assert!(u.options.is_empty());
            }
            other => panic!("{other:?}"),
        });
    }
    let change = ChangePasswordRequest {
        user_id: WireIdentifier::numeric(3),
        current_password: "old-one".into(),
        new_password: "new-one".into(),
    };
    parse(CHANGE_PASSWORD_CODE, change.to_bytes(), |r| match r {
        Request::ChangePassword(c) => {
            assert_eq!(c.user_id, Identifier::Numeric(3));
            assert_eq!(
                (c.current_password.expose(), c.new_password.expose()),
                ("old-one", "new-one")
            );
        }
        other => panic!("{other:?}"),
    });
}

#[test]
fn token_requests() {
    parse(
        CREATE_PERSONAL_ACCESS_TOKEN_CODE,
        CreatePersonalAccessTokenRequest { name: name("ci"), expiry: 3_600_000_000 }.to_bytes(),
        |r| {
            assert!(
                matches!(r, Request::CreatePersonalAccessToken(t) if t.name.as_str() == "ci" && t.expiry == 3_600_000_000)
            );
        },
    );
    parse(
        DELETE_PERSONAL_ACCESS_TOKEN_CODE,
        DeletePersonalAccessTokenRequest { name: name("ci") }.to_bytes(),
        |r| {
            assert!(matches!(r, Request::DeletePersonalAccessToken(t) if t.name.as_str() == "ci"));
        },
    );
}

#[test]
fn stream_and_topic_requests() {
    parse(
        CREATE_STREAM_CODE,
        CreateStreamRequest { name: name("orders"), options: WireOptions::empty() }.to_bytes(),
        |r| {
            assert!(
                matches!(r, Request::CreateStream(c) if c.name.as_str() == "orders" && c.options.is_empty())
            );
        },
    );
    let update = UpdateStreamRequest {
        stream_id: WireIdentifier::numeric(0),
        name: name("renamed"),
        options: options(),
    };
    parse(UPDATE_STREAM_CODE, update.to_bytes(), |r| match r {
        Request::UpdateStream(u) => {
            assert_eq!(u.stream_id, Identifier::Numeric(0));
            assert_eq!(u.name.as_str(), "renamed");
            same_options(u.options, &update.options);
        }
        other => panic!("{other:?}"),
    });
    for (code, body) in [
        (GET_STREAM_CODE, GetStreamRequest { stream_id: named("orders") }.to_bytes()),
        (DELETE_STREAM_CODE, DeleteStreamRequest { stream_id: named("orders") }.to_bytes()),
        (PURGE_STREAM_CODE, PurgeStreamRequest { stream_id: named("orders") }.to_bytes()),
        (GET_TOPICS_CODE, GetTopicsRequest { stream_id: named("orders") }.to_bytes()),
    ] {
        parse(code, body, |r| match r {
            Request::GetStream(t)
            | Request::DeleteStream(t)
            | Request::PurgeStream(t)
            | Request::GetTopics(t) => {
                same_id(t.stream_id, &named("orders"));
            }
            other => panic!("{other:?}"),
        });
    }
    let create = CreateTopicRequest {
        stream_id: WireIdentifier::numeric(1),
        partitions_count: 3,
        name: name("events"),
        options: options(),
    };
    parse(CREATE_TOPIC_CODE, create.to_bytes(), |r| match r {
        Request::CreateTopic(c) => {
            assert_eq!(
                (c.stream_id, c.partitions_count, c.name.as_str()),
                (Identifier::Numeric(1), 3, "events")
            );
            same_options(c.options, &create.options);
        }
        other => panic!("{other:?}"),
    });
    let update = UpdateTopicRequest {
        stream_id: WireIdentifier::numeric(1),
        topic_id: named("events"),
        name: name("events2"),
        options: options(),
    };
    parse(UPDATE_TOPIC_CODE, update.to_bytes(), |r| match r {
        Request::UpdateTopic(u) => {
            same_id(u.topic_id, &named("events"));
            assert_eq!(u.name.as_str(), "events2");
            same_options(u.options, &update.options);
        }
        other => panic!("{other:?}"),
    });
    let s = WireIdentifier::numeric(1);
    let t = named("events");
    for (code, body) in [
        (GET_TOPIC_CODE, GetTopicRequest { stream_id: s.clone(), topic_id: t.clone() }.to_bytes()),
        (
            DELETE_TOPIC_CODE,
            DeleteTopicRequest { stream_id: s.clone(), topic_id: t.clone() }.to_bytes(),
        ),
        (
            PURGE_TOPIC_CODE,
            PurgeTopicRequest { stream_id: s.clone(), topic_id: t.clone() }.to_bytes(),
        ),
        (
            GET_CONSUMER_GROUPS_CODE,
            GetConsumerGroupsRequest { stream_id: s.clone(), topic_id: t.clone() }.to_bytes(),
        ),
    ] {
        parse(code, body, |r| match r {
            Request::GetTopic(x)
            | Request::DeleteTopic(x)
            | Request::PurgeTopic(x)
            | Request::GetConsumerGroups(x) => {
                same_id(x.stream_id, &s);
                same_id(x.topic_id, &t);
            }
            other => panic!("{other:?}"),
        });
    }
}

#[test]
fn partition_segment_and_group_requests() {
    let s = named("orders");
    let t = WireIdentifier::numeric(0);
    for (code, body) in [
        (
            CREATE_PARTITIONS_CODE,
            CreatePartitionsRequest {
                stream_id: s.clone(),
                topic_id: t.clone(),
                partitions_count: 7,
            }
            .to_bytes(),
        ),
        (
            DELETE_PARTITIONS_CODE,
            DeletePartitionsRequest {
                stream_id: s.clone(),
                topic_id: t.clone(),
                partitions_count: 7,
            }
            .to_bytes(),
        ),
    ] {
        parse(code, body, |r| match r {
            Request::CreatePartitions(p) | Request::DeletePartitions(p) => {
                same_id(p.stream_id, &s);
                same_id(p.topic_id, &t);
                assert_eq!(p.partitions_count, 7);
            }
            other => panic!("{other:?}"),
        });
    }
    let delete = DeleteSegmentsRequest {
        stream_id: s.clone(),
        topic_id: t.clone(),
        partition_id: 2,
        segments_count: 4,
    };
    parse(DELETE_SEGMENTS_CODE, delete.to_bytes(), |r| {
        assert!(
            matches!(r, Request::DeleteSegments(d) if d.partition_id == 2 && d.segments_count == 4)
        );
    });
    parse(
        CREATE_CONSUMER_GROUP_CODE,
        CreateConsumerGroupRequest {
            stream_id: s.clone(),
            topic_id: t.clone(),
            name: name("readers"),
        }
        .to_bytes(),
        |r| {
            assert!(matches!(r, Request::CreateConsumerGroup(c) if c.name.as_str() == "readers"));
        },
    );
    let g = named("readers");
    for (code, body) in [
        (
            GET_CONSUMER_GROUP_CODE,
            GetConsumerGroupRequest {
                stream_id: s.clone(),
                topic_id: t.clone(),
                group_id: g.clone(),
            }
            .to_bytes(),
        ),
        (
            DELETE_CONSUMER_GROUP_CODE,
            DeleteConsumerGroupRequest {
                stream_id: s.clone(),
                topic_id: t.clone(),
                group_id: g.clone(),
            }
            .to_bytes(),
        ),
        (
            JOIN_CONSUMER_GROUP_CODE,
            JoinConsumerGroupRequest {
                stream_id: s.clone(),
                topic_id: t.clone(),
                group_id: g.clone(),
            }
            .to_bytes(),
        ),
        (
            LEAVE_CONSUMER_GROUP_CODE,
            LeaveConsumerGroupRequest {
                stream_id: s.clone(),
                topic_id: t.clone(),
                group_id: g.clone(),
            }
            .to_bytes(),
        ),
        (
            SYNC_CONSUMER_GROUP_CODE,
            SyncConsumerGroupRequest {
                stream_id: s.clone(),
                topic_id: t.clone(),
                group_id: g.clone(),
            }
            .to_bytes(),
        ),
    ] {
        parse(code, body, |r| match r {
            Request::GetConsumerGroup(x)
            | Request::DeleteConsumerGroup(x)
            | Request::JoinConsumerGroup(x)
            | Request::LeaveConsumerGroup(x)
            | Request::SyncConsumerGroup(x) => {
                same_id(x.stream_id, &s);
                same_id(x.topic_id, &t);
                same_id(x.group_id, &g);
            }
            other => panic!("{other:?}"),
        });
    }
}

fn same_target(ours: OffsetTarget<'_>, consumer: &WireConsumer, partition: Option<u32>) {
    same_consumer(ours.consumer, consumer);
    same_id(ours.stream_id, &WireIdentifier::numeric(1));
    same_id(ours.topic_id, &named("events"));
    assert_eq!(ours.partition_id, partition);
}

fn same_poll(ours: PollMessages<'_>, theirs: &PollMessagesRequest) {
    same_consumer(ours.consumer, &theirs.consumer);
    same_id(ours.stream_id, &theirs.stream_id);
    same_id(ours.topic_id, &theirs.topic_id);
    assert_eq!(ours.partition_id, theirs.partition_id);
    assert_eq!(
        (ours.strategy.kind as u8, ours.strategy.value),
        (theirs.strategy.kind, theirs.strategy.value)
    );
    assert_eq!((ours.count, ours.auto_commit), (theirs.count, theirs.auto_commit));
}

#[test]
fn message_offset_and_routing_requests() {
    let strategies = [
        WirePollingStrategy::offset(42),
        WirePollingStrategy::timestamp(1_700_000_000_000_000),
        WirePollingStrategy::first(),
        WirePollingStrategy::last(),
        WirePollingStrategy::next(),
    ];
    let consumers = [
        WireConsumer::consumer(named("c1")),
        WireConsumer::consumer_group(WireIdentifier::numeric(3)),
    ];
    for (index, strategy) in strategies.into_iter().enumerate() {
        let consumer = consumers[index % 2].clone();
        let partition = (index % 2 == 0).then_some(index as u32);
        let poll = PollMessagesRequest {
            consumer: consumer.clone(),
            stream_id: WireIdentifier::numeric(1),
            topic_id: named("events"),
            partition_id: partition,
            strategy,
            count: 100,
            auto_commit: index % 2 == 1,
        };
        for code in [POLL_MESSAGES_CODE, GET_POLL_ROUTING_CODE, POLL_MESSAGES_ON_PRIMARY_CODE] {
            parse(code, poll.to_bytes(), |r| match r {
                Request::PollMessages(p)
                | Request::GetPollRouting(p)
                | Request::PollMessagesOnPrimary(p) => same_poll(p, &poll),
                other => panic!("{other:?}"),
            });
        }
        let get = GetConsumerOffsetRequest {
            consumer: consumer.clone(),
            stream_id: WireIdentifier::numeric(1),
            topic_id: named("events"),
            partition_id: partition,
        };
        for code in [GET_CONSUMER_OFFSET_CODE, GET_CONSUMER_OFFSET_ROUTING_CODE] {
            parse(code, get.to_bytes(), |r| match r {
                Request::GetConsumerOffset(t) | Request::GetConsumerOffsetRouting(t) => {
                    same_target(t, &consumer, partition);
                }
                other => panic!("{other:?}"),
            });
        }
        for ack in [WireAck::Quorum, WireAck::NoAck] {
            let store = StoreConsumerOffsetRequest {
                consumer: consumer.clone(),
                stream_id: WireIdentifier::numeric(1),
                topic_id: named("events"),
                partition_id: partition,
                offset: 1234,
                ack,
            };
            parse(STORE_CONSUMER_OFFSET_CODE, store.to_bytes(), |r| match r {
                Request::StoreConsumerOffset(s) => {
                    same_target(s.target, &consumer, partition);
                    assert_eq!((s.offset, s.ack as u8), (1234, ack.as_u8()));
                }
                other => panic!("{other:?}"),
            });
            let delete = DeleteConsumerOffsetRequest {
                consumer: consumer.clone(),
                stream_id: WireIdentifier::numeric(1),
                topic_id: named("events"),
                partition_id: partition,
                ack,
            };
            parse(DELETE_CONSUMER_OFFSET_CODE, delete.to_bytes(), |r| match r {
                Request::DeleteConsumerOffset(d) => {
                    same_target(d.target, &consumer, partition);
                    assert_eq!(d.ack == AckLevel::Quorum, ack == WireAck::Quorum);
                }
                other => panic!("{other:?}"),
            });
        }
    }
    let flush = FlushUnsavedBufferRequest {
        stream_id: WireIdentifier::numeric(1),
        topic_id: named("events"),
        partition_id: 3,
        fsync: true,
    };
    parse(FLUSH_UNSAVED_BUFFER_CODE, flush.to_bytes(), |r| {
        assert!(matches!(r, Request::FlushUnsavedBuffer(f) if f.partition_id == 3 && f.fsync));
    });
    assert!(matches!(ConsumerKind::ConsumerGroup as u8, 2));
}

#[test]
fn every_official_code_is_served_or_refused_as_the_server_does() {
    use vireo_protocol::iggy::request::{Refusal, RequestError};
    for meta in iggy_binary_protocol::dispatch::COMMAND_TABLE {
        let frame = official::frame(meta.code, &[]);
        let header = RequestHeader::decode(&frame).expect("every official header decodes");
        match parse_request(&header, &frame[HEADER_SIZE..]) {
            Err(RequestError::UnknownCommand(code)) => {
                panic!("code {code} ({}) unknown to us", meta.name)
            }
            Err(error @ RequestError::LegacyLogin(_)) => {
                assert!(matches!(error.response(), Refusal::Evict(_)));
            }
            _ => {}
        }
    }
}

#[test]
fn our_frames_equal_the_sdk_frames_byte_for_byte() {
    use iggy_binary_protocol::consensus::ConsensusHeader;
    use vireo_protocol::iggy::request::{RequestIds, encode_request};
    let payloads: Vec<(u32, Bytes)> = vec![
        (PING_CODE, PingRequest.to_bytes()),
        (GET_STREAM_CODE, GetStreamRequest { stream_id: named("orders") }.to_bytes()),
        (
            CREATE_STREAM_CODE,
            CreateStreamRequest { name: name("orders"), options: options() }.to_bytes(),
        ),
        (
            DELETE_SEGMENTS_CODE,
            DeleteSegmentsRequest {
                stream_id: named("s"),
                topic_id: named("t"),
                partition_id: 1,
                segments_count: 2,
            }
            .to_bytes(),
        ),
        (LOGOUT_USER_CODE, LogoutUserRequest.to_bytes()),
        (
            STORE_CONSUMER_OFFSET_CODE,
            StoreConsumerOffsetRequest {
                consumer: WireConsumer::consumer(WireIdentifier::numeric(1)),
                stream_id: WireIdentifier::numeric(1),
                topic_id: WireIdentifier::numeric(1),
                partition_id: Some(0),
                offset: 9,
                ack: WireAck::Quorum,
            }
            .to_bytes(),
        ),
    ];
    for (code, payload) in payloads {
        let theirs = official::frame(code, &payload);
        let header = RequestHeader::decode(&theirs).unwrap();
        let request = parse_request(&header, &theirs[HEADER_SIZE..]).unwrap();
        let mut ours = Vec::new();
        encode_request(
            &mut ours,
            RequestIds {
                client: official::CLIENT,
                session: official::SESSION,
                request: official::REQUEST,
            },
            &request,
        );
        assert_eq!(ours, theirs, "code {code}");
        official::request_header(&ours).validate().expect("official request validation");
    }
}
