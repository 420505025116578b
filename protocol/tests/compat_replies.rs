//! Every reply built with our encoders into one frame, read the way the 0.11.0 SDK
//! reads it (header, status, result section) and decoded with the official decoders
//! and domain conversions, field by field.

#[path = "support/official.rs"]
mod official;

use std::borrow::Cow;

use iggy_binary_protocol::codec::WireDecode;
use iggy_binary_protocol::codes;
use iggy_binary_protocol::consensus::ConsensusHeader;
use iggy_binary_protocol::responses::clients::{ClientDetailsResponse, GetClientsResponse};
use iggy_binary_protocol::responses::consumer_groups::{
    ConsumerGroupDetailsResponse, GetConsumerGroupsResponse, SyncConsumerGroupResponse,
};
use iggy_binary_protocol::responses::consumer_offsets::ConsumerOffsetResponse;
use iggy_binary_protocol::responses::messages::poll_routing::PollRoutingResponse;
use iggy_binary_protocol::responses::personal_access_tokens::{
    GetPersonalAccessTokensResponse, RawPersonalAccessTokenResponse,
};
use iggy_binary_protocol::responses::streams::get_stream::GetStreamResponse;
use iggy_binary_protocol::responses::streams::get_streams::GetStreamsResponse;
use iggy_binary_protocol::responses::system::{
    ClusterMetadataResponse, DescribeOptionsResponse, StatsResponse,
};
use iggy_binary_protocol::responses::topics::{GetTopicResponse, GetTopicsResponse};
use iggy_binary_protocol::responses::users::{
    GetUsersResponse, LoginRegisterResponse, UserDetailsResponse,
};
use iggy_common::{
    IggyError, IggyExpiry, MaxTopicSize, StreamDetails, TopicDetails, UserInfoDetails,
};
use vireo_protocol::iggy::primitives::{Name, Options, Permissions, StreamPermissions, TlvBuilder};
use vireo_protocol::iggy::reply::*;
use vireo_protocol::iggy::{
    ErrorCode, EvictionHeader, EvictionReason, HEADER_SIZE, ReplyHeader, RequestHeader,
    parse_request,
};

/// Parses the official request frame for `code` with our code and returns the reply
/// header that answers it.
fn answering(code: u32, payload: &[u8]) -> ReplyHeader {
    let frame = official::frame(code, payload);
    let request = RequestHeader::decode(&frame).unwrap();
    let mut reply = ReplyHeader::answering(&request);
    reply.op = 10;
    reply.commit = 10;
    reply
}

/// Builds a successful reply with `write`, reads it as the SDK does, and checks the
/// header echo fields with the official type.
fn round(code: u32, payload: &[u8], write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let header = answering(code, payload);
    let mut frame = Vec::new();
    let mut writer = ReplyWriter::begin(&mut frame, header);
    write(writer.body());
    writer.finish();
    let (theirs, body) = official::read_reply(&frame).expect("the SDK accepts the reply");
    theirs.validate().expect("official reply validation");
    assert_eq!(theirs.client, official::CLIENT);
    assert_eq!(theirs.size as usize, frame.len());
    assert_eq!(theirs.operation as u8, header.operation as u8);
    assert_eq!(theirs.request, header.request);
    assert_eq!(theirs.request_checksum, header.request_checksum);
    assert_eq!(theirs.commit, 10);
    body
}

fn options() -> Vec<u8> {
    let mut block = TlvBuilder::new();
    block.u64("message_expiry", 5_000_000).unwrap().string("durability", "persisted").unwrap();
    block.into_bytes()
}

fn decode_all<T: WireDecode>(body: &[u8]) -> T {
    let (value, consumed) = T::decode(body).expect("official decode");
    assert_eq!(consumed, body.len(), "official decoder left bytes unread");
    value
}

#[test]
fn login_reply() {
    let body = round(codes::LOGIN_REGISTER_CODE, b"", |out| {
        LoginRegisterReply {
            user_id: 0,
            session: 12,
            server_protocol_version: 11 << 10,
            server_version: Name::new("0.1.0").unwrap(),
        }
        .encode(out);
    });
    let theirs: LoginRegisterResponse = decode_all(&body);
    assert_eq!((theirs.user_id, theirs.session, theirs.server_protocol_version), (0, 12, 11 << 10));
    assert_eq!(theirs.server_version.as_str(), "0.1.0");
}

#[test]
fn stream_replies() {
    let options = options();
    let options = Options::parse(&options).unwrap();
    let topic = TopicReply {
        id: 1,
        created_at: 2,
        partitions_count: 3,
        message_expiry: 5_000_000,
        compression_algorithm: 2,
        max_topic_size: u64::MAX,
        size_bytes: 4,
        messages_count: 5,
        name: Name::new("events").unwrap(),
        options,
        derived_options: Options::EMPTY,
    };
    let stream = StreamReply {
        id: 0,
        created_at: 9,
        topics_count: 1,
        size_bytes: 10,
        messages_count: 11,
        name: Name::new("orders").unwrap(),
        options: Options::EMPTY,
    };
    for code in [codes::CREATE_STREAM_CODE, codes::GET_STREAM_CODE] {
        let body = round(code, &[2, 1, b'x'], |out| {
            stream.encode(out);
            topic.encode(out);
        });
        let theirs: GetStreamResponse = decode_all(&body);
        assert_eq!(
            (theirs.stream.id, theirs.stream.created_at, theirs.stream.topics_count),
            (0, 9, 1)
        );
        assert_eq!((theirs.stream.size_bytes, theirs.stream.messages_count), (10, 11));
        assert_eq!(theirs.stream.name.as_str(), "orders");
        let details = StreamDetails::try_from(theirs).expect("domain conversion");
        assert_eq!(details.topics.len(), 1);
        assert_eq!(details.topics[0].name, "events");
        assert_eq!(details.topics[0].message_expiry, IggyExpiry::from(5_000_000u64));
        assert_eq!(details.topics[0].max_topic_size, MaxTopicSize::Unlimited);
    }
    let body = round(codes::GET_STREAMS_CODE, b"", |out| {
        stream.encode(out);
        StreamReply { id: 1, ..stream }.encode(out);
    });
    let theirs: GetStreamsResponse = decode_all(&body);
    assert_eq!(theirs.streams.iter().map(|s| s.id).collect::<Vec<_>>(), vec![0, 1]);
    let empty = round(codes::GET_STREAM_CODE, &[1, 4, 0, 0, 0, 0], |_| {});
    assert!(empty.is_empty(), "not found is an empty body");
}

#[test]
fn topic_replies() {
    let options = options();
    let options = Options::parse(&options).unwrap();
    let topic = TopicReply {
        id: 7,
        created_at: 2,
        partitions_count: 2,
        message_expiry: u64::MAX,
        compression_algorithm: 1,
        max_topic_size: 1 << 30,
        size_bytes: 4,
        messages_count: 5,
        name: Name::new("events").unwrap(),
        options: Options::EMPTY,
        derived_options: options,
    };
    for code in [codes::CREATE_TOPIC_CODE, codes::GET_TOPIC_CODE] {
        let body = round(code, &[1, 4, 0, 0, 0, 0, 1, 0, 0, 0, 1, b't'], |out| {
            topic.encode(out);
            for id in 0..2 {
                PartitionReply {
                    id,
                    created_at: 3,
                    segments_count: 1,
                    current_offset: 99,
                    size_bytes: 1000,
                    messages_count: 100,
                }
                .encode(out);
            }
        });
        let theirs: GetTopicResponse = decode_all(&body);
        assert_eq!(
            (theirs.topic.id, theirs.topic.partitions_count, theirs.topic.max_topic_size),
            (7, 2, 1 << 30)
        );
        assert_eq!(theirs.topic.derived_options.as_bytes(), options.as_bytes());
        assert_eq!(theirs.partitions[1].current_offset, 99);
        let details =
            TopicDetails::try_from(theirs).expect("domain conversion accepts compression 1");
        assert_eq!(details.partitions.len(), 2);
        assert_eq!(details.message_expiry, IggyExpiry::NeverExpire);
    }
    let body = round(codes::GET_TOPICS_CODE, &[1, 4, 0, 0, 0, 0], |out| {
        TopicReply::encode_count(2, out);
        topic.encode(out);
        TopicReply { id: 8, ..topic }.encode(out);
    });
    let theirs: GetTopicsResponse = decode_all(&body);
    assert_eq!(theirs.topics.iter().map(|t| t.id).collect::<Vec<_>>(), vec![7, 8]);
}

#[test]
fn group_client_and_offset_replies() {
    let group = ConsumerGroupReply {
        id: 3,
        partitions_count: 4,
        members_count: 2,
        name: Name::new("readers").unwrap(),
    };
    let body = round(
        codes::CREATE_CONSUMER_GROUP_CODE,
        &[1, 4, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 1, b'g'],
        |out| {
            group.encode(out);
            GroupMemberReply { id: 10, partitions: Cow::Borrowed(&[0, 2]) }.encode(out);
            GroupMemberReply { id: 11, partitions: Cow::Borrowed(&[1, 3]) }.encode(out);
        },
    );
    let theirs: ConsumerGroupDetailsResponse = decode_all(&body);
    assert_eq!(
        (theirs.group.id, theirs.group.members_count, theirs.group.name.as_str()),
        (3, 2, "readers")
    );
    assert_eq!(theirs.members[1].partitions, vec![1, 3]);
    assert_eq!(theirs.members[1].partitions_count, 2);
    let body =
        round(codes::GET_CONSUMER_GROUPS_CODE, &[1, 4, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0], |out| {
            group.encode(out);
            ConsumerGroupReply { id: 4, ..group }.encode(out);
        });
    let theirs: GetConsumerGroupsResponse = decode_all(&body);
    assert_eq!(theirs.groups.len(), 2);
    let body = round(codes::SYNC_CONSUMER_GROUP_CODE, &[], |out| {
        SyncConsumerGroupReply { generation: 6, partitions: Cow::Borrowed(&[5]) }.encode(out);
    });
    let theirs: SyncConsumerGroupResponse = decode_all(&body);
    assert_eq!((theirs.generation, theirs.partitions), (6, vec![5]));

    let client = ClientReply {
        client_id: 5,
        user_id: ClientReply::NO_USER,
        transport: 2,
        address: "127.0.0.1:5000",
        consumer_groups_count: 1,
    };
    let body = round(codes::GET_ME_CODE, b"", |out| {
        client.encode(out);
        ClientGroupReply { stream_id: 1, topic_id: 2, group_id: 3 }.encode(out);
    });
    let theirs: ClientDetailsResponse = decode_all(&body);
    assert_eq!(
        (theirs.client.client_id, theirs.client.transport, theirs.client.address.as_str()),
        (5, 2, "127.0.0.1:5000")
    );
    assert_eq!(theirs.consumer_groups[0].group_id, 3);
    let info = iggy_common::ClientInfoDetails::from(theirs);
    assert_eq!((info.user_id, info.transport.as_str()), (None, "QUIC"));
    let body = round(codes::GET_CLIENTS_CODE, b"", |out| {
        client.encode(out);
        ClientReply { client_id: 6, user_id: 0, ..client }.encode(out);
    });
    let theirs: GetClientsResponse = decode_all(&body);
    assert_eq!(theirs.clients[1].user_id, 0);

    let body = round(codes::GET_CONSUMER_OFFSET_CODE, b"", |out| {
        ConsumerOffsetReply { partition_id: 1, current_offset: 50, stored_offset: 40 }.encode(out);
    });
    let theirs: ConsumerOffsetResponse = decode_all(&body);
    assert_eq!((theirs.partition_id, theirs.current_offset, theirs.stored_offset), (1, 50, 40));
    for code in [codes::STORE_CONSUMER_OFFSET_CODE, codes::DELETE_CONSUMER_OFFSET_CODE] {
        assert!(round(code, b"x", |_| {}).is_empty(), "offset writes: [0u32] then nothing");
    }
    let body = round(codes::SEND_MESSAGES_CODE, b"", |out| {
        encode_send_confirmations(
            &[SendConfirmation { stream_id: 1, topic_id: 2, partition_id: 3, base_offset: 400 }],
            out,
        );
    });
    let theirs = iggy_common::decode_send_confirmations(&body).expect("send reply");
    assert_eq!(theirs.confirmations[0].base_offset, 400);
}

#[test]
fn user_and_token_replies() {
    let user = UserReply {
        id: 1,
        created_at: 7,
        status: 1,
        username: Name::new("alice").unwrap(),
        options: Options::EMPTY,
    };
    let permissions = Permissions {
        streams: vec![StreamPermissions { stream_id: 4, read_stream: true, ..Default::default() }],
        ..Default::default()
    };
    for tail in [None, Some(&permissions)] {
        let body = round(codes::CREATE_USER_CODE, b"u", |out| {
            user.encode(out);
            encode_user_permissions(tail, out);
        });
        let theirs: UserDetailsResponse = decode_all(&body);
        assert_eq!((theirs.user.id, theirs.user.username.as_str()), (1, "alice"));
        assert_eq!(theirs.permissions.as_ref().map(|p| p.streams[0].stream_id), tail.map(|_| 4));
        let details = UserInfoDetails::try_from(theirs).expect("domain conversion");
        assert_eq!(details.username, "alice");
    }
    let body = round(codes::GET_USERS_CODE, b"", |out| {
        user.encode(out);
        UserReply { id: 2, status: 2, ..user }.encode(out);
    });
    let theirs: GetUsersResponse = decode_all(&body);
    assert_eq!(theirs.users[1].status, 2);
    let body = round(codes::GET_PERSONAL_ACCESS_TOKENS_CODE, b"", |out| {
        PersonalAccessTokenReply { name: Name::new("ci").unwrap(), expiry_at: 0 }.encode(out);
    });
    let theirs: GetPersonalAccessTokensResponse = decode_all(&body);
    assert_eq!(theirs.tokens[0].name.as_str(), "ci");
    let body = round(codes::CREATE_PERSONAL_ACCESS_TOKEN_CODE, b"t", |out| {
        RawTokenReply { token: Name::new("raw-token").unwrap() }.encode(out);
    });
    let theirs: RawPersonalAccessTokenResponse = decode_all(&body);
    assert_eq!(theirs.token.as_str(), "raw-token");
}

#[test]
fn system_replies() {
    let node = ClusterNode {
        name: "vireo-0",
        ip: "127.0.0.1",
        tcp_port: 8090,
        quic_port: 8080,
        http_port: 0,
        websocket_port: 0,
        role: NodeRole::Leader,
        status: NodeStatus::Healthy,
    };
    let body = round(codes::GET_CLUSTER_METADATA_CODE, b"", |out| {
        ClusterMetadataReply {
            name: "vireo",
            nodes: Cow::Borrowed(&[node, ClusterNode { role: NodeRole::Follower, ..node }]),
        }
        .encode(out);
    });
    let theirs: ClusterMetadataResponse = decode_all(&body);
    assert_eq!((theirs.name.as_str(), theirs.nodes.len()), ("vireo", 2));
    let metadata = iggy_common::wire_conversions::cluster_metadata_from_wire(theirs)
        .expect("roles and statuses");
    assert_eq!(metadata.nodes[0].endpoints.tcp, 8090);

    let routing = PollRoutingReply {
        consumer_session: vireo_protocol::iggy::request::AttachConsumerSession {
            client_id: 9,
            session: 8,
            metadata_watermark: 7,
        },
        primary: node,
    };
    let body = round(codes::GET_POLL_ROUTING_CODE, b"", |out| routing.encode(out));
    let theirs: PollRoutingResponse = decode_all(&body);
    assert_eq!((theirs.consumer_session.session, theirs.primary.quic_port), (8, 8080));

    let body = round(codes::DESCRIBE_OPTIONS_CODE, b"", |out| {
        out.extend_from_slice(&1u32.to_le_bytes());
        OptionDescriptor {
            key: Name::new("segment_size").unwrap(),
            kind: 12,
            default_value: &(1u64 << 30).to_le_bytes(),
            description: "bytes",
        }
        .encode(out);
    });
    let theirs: DescribeOptionsResponse = decode_all(&body);
    assert_eq!((theirs.entries[0].key.as_str(), theirs.entries[0].kind), ("segment_size", 12));

    let metric = CacheMetric {
        stream_id: 1,
        topic_id: 2,
        partition_id: 3,
        hits: 4,
        misses: 5,
        hit_ratio: 0.25,
    };
    let stats = StatsReply {
        process_id: 100,
        cpu_usage: 1.5,
        total_cpu_usage: 12.5,
        memory_usage: 1,
        total_memory: 2,
        available_memory: 3,
        run_time: 4,
        start_time: 5,
        read_bytes: 6,
        written_bytes: 7,
        messages_size_bytes: 8,
        streams_count: 9,
        topics_count: 10,
        partitions_count: 11,
        segments_count: 12,
        messages_count: 13,
        clients_count: 14,
        consumer_groups_count: 15,
        hostname: "host",
        os_name: "Linux",
        os_version: "12",
        kernel_version: "6.1",
        server_version: "0.1.0",
        server_semver: 1 << 10,
        cache_metrics: Cow::Borrowed(&[metric]),
        threads_count: 16,
        free_disk_space: 17,
        total_disk_space: 18,
    };
    let body = round(codes::GET_STATS_CODE, b"", |out| stats.encode(out));
    let theirs: StatsResponse = decode_all(&body);
    assert_eq!((theirs.process_id, theirs.cpu_usage, theirs.total_cpu_usage), (100, 1.5, 12.5));
    assert_eq!(
        (theirs.memory_usage, theirs.messages_size_bytes, theirs.segments_count),
        (1, 8, 12)
    );
    assert_eq!((theirs.clients_count, theirs.consumer_groups_count), (14, 15));
    assert_eq!(
        (
            theirs.hostname.as_str(),
            theirs.kernel_version.as_str(),
            theirs.iggy_server_version.as_str()
        ),
        ("host", "6.1", "0.1.0")
    );
    assert_eq!(theirs.iggy_server_semver, Some(1 << 10));
    assert_eq!((theirs.cache_metrics[0].misses, theirs.cache_metrics[0].hit_ratio), (5, 0.25));
    assert_eq!(
        (theirs.threads_count, theirs.free_disk_space, theirs.total_disk_space),
        (16, 17, 18)
    );
    let domain = iggy_common::Stats::from(theirs);
    assert_eq!(domain.hostname, "host");
}

#[test]
fn errors_and_evictions() {
    let header = answering(codes::DELETE_STREAM_CODE, &[1, 4, 0, 0, 0, 0]);
    let mut frame = Vec::new();
    write_rejection(&mut frame, header, ErrorCode::STREAM_ID_NOT_FOUND);
    let error = official::read_reply(&frame).unwrap_err();
    assert_eq!(error.as_code(), 1009);
    let mut frame = Vec::new();
    write_status(&mut frame, header, ErrorCode::UNAUTHORIZED);
    assert!(matches!(official::read_reply(&frame), Err(IggyError::Unauthorized)));
    let mut frame = Vec::new();
    write_status(
        &mut frame,
        answering(codes::GET_STREAM_CODE, &[]),
        ErrorCode::TRANSIENT_NOT_ACCEPTED,
    );
    assert!(matches!(official::read_reply(&frame), Err(IggyError::TransientNotAccepted)));
    let mut frame = Vec::new();
    write_rejection(
        &mut frame,
        answering(codes::LOGIN_REGISTER_CODE, b""),
        ErrorCode::TRANSIENT_NOT_COMMITTED,
    );
    assert!(
        matches!(official::read_reply(&frame), Err(IggyError::TransientNotCommitted)),
        "Register is result-framed"
    );

    for (reason, expected) in [
        (EvictionReason::NoSession, IggyError::Unauthenticated.as_code()),
        (EvictionReason::InvalidCredentials, IggyError::InvalidCredentials.as_code()),
        (EvictionReason::InvalidToken, IggyError::InvalidPersonalAccessToken.as_code()),
        (EvictionReason::StaleClient, IggyError::StaleClient.as_code()),
        (EvictionReason::MalformedLogin, IggyError::InvalidFormat.as_code()),
    ] {
        let eviction = EvictionHeader::new(official::CLIENT, reason);
        let bytes = eviction.to_bytes();
        let theirs = bytemuck::checked::try_pod_read_unaligned::<
            iggy_binary_protocol::consensus::EvictionHeader,
        >(&bytes)
        .unwrap();
        theirs.validate().expect("official eviction validation");
        assert_eq!(official::read_reply(&bytes).unwrap_err().as_code(), expected, "{reason:?}");
    }
    let window = EvictionHeader {
        client: official::CLIENT,
        server_protocol_version: 11 << 10,
        server_protocol_version_min: 11 << 10,
        reason: EvictionReason::IncompatibleProtocol,
    };
    let theirs = bytemuck::checked::try_pod_read_unaligned::<
        iggy_binary_protocol::consensus::EvictionHeader,
    >(&window.to_bytes())
    .unwrap();
    theirs.validate().expect("window satisfies 1 <= min <= max");
    assert!(
        matches!(official::read_reply(&window.to_bytes()), Err(IggyError::IncompatibleProtocolVersion(_, min, max)) if min == 11 << 10 && max == 11 << 10)
    );
    assert_eq!(HEADER_SIZE, 256);
    let _ = parse_request;
}
