//! Every request round-trips through a whole frame (encode_request → header decode →
//! parse_request), and hostile frames get typed refusals.

use proptest::prelude::*;

use super::*;
use crate::iggy::batch::{Batch, OutgoingMessage, encode_batch};
use crate::iggy::header::HEADER_SIZE;
use crate::iggy::primitives::{
    AckLevel, ClientVersionInfo, Consumer, ConsumerKind, Identifier, Name, Options, Partitioning,
    Permissions, PermissionsView, PollingKind, PollingStrategy, Secret, TlvBuilder,
};

const IDS: RequestIds = RequestIds { client: 0xabc, session: 7, request: 3 };

fn frame_round_trip(request: &Request<'_>) {
    let mut out = Vec::new();
    let sent = encode_request(&mut out, IDS, request);
    let header = RequestHeader::decode(&out).unwrap();
    assert_eq!(header, sent);
    assert_eq!(header.size as usize, out.len());
    let parsed = parse_request(&header, &out[HEADER_SIZE..]).unwrap();
    assert_eq!(&parsed, request, "code {}", request.code());
}

/// Owned data every borrowed request in a case is built from.
#[derive(Debug, Clone)]
struct Data {
    name: String,
    secret: String,
    number: u32,
    wide: u64,
    flag: bool,
    payloads: Vec<Vec<u8>>,
}

fn data() -> impl Strategy<Value = Data> {
    (
        "[a-z0-9_-]{1,60}",
        ".{0,30}",
        any::<u32>(),
        any::<u64>(),
        any::<bool>(),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..8),
    )
        .prop_map(|(name, secret, number, wide, flag, payloads)| Data {
            name,
            secret,
            number,
            wide,
            flag,
            payloads,
        })
}

#[allow(clippy::too_many_lines)]
fn every_request(
    data: &Data,
    options: Options<'_>,
    permissions: PermissionsView<'_>,
    batch: Batch<'_>,
) {
    let name = Name::new(&data.name).unwrap();
    let secret = Secret::new(&data.secret).unwrap();
    let stream = Identifier::Numeric(data.number);
    let topic = Identifier::Name(name);
    let consumer = Consumer {
        kind: if data.flag { ConsumerKind::Consumer } else { ConsumerKind::ConsumerGroup },
        id: topic,
    };
    let partition = data.flag.then_some(data.number);
    let target =
        OffsetTarget { consumer, stream_id: stream, topic_id: topic, partition_id: partition };
    let poll = PollMessages {
        consumer,
        stream_id: stream,
        topic_id: topic,
        partition_id: partition,
        strategy: PollingStrategy { kind: PollingKind::Offset, value: data.wide },
        count: data.number,
        auto_commit: data.flag,
    };
    let version = ClientVersionInfo {
        protocol_version: 11 << 10,
        sdk_name: Name::new("rust-sdk").unwrap(),
        sdk_version: name,
    };
    let topic_target = TopicTarget { stream_id: stream, topic_id: topic };
    let group = GroupTarget {
        stream_id: stream,
        topic_id: topic,
        group_id: Identifier::Numeric(data.number / 2),
    };
    let partitions =
        PartitionsCount { stream_id: stream, topic_id: topic, partitions_count: data.number };
    let maybe_permissions = data.flag.then_some(permissions);
    let requests = [
        Request::Ping,
        Request::GetStats,
        Request::GetSnapshot(GetSnapshot {
            compression: 1,
            snapshot_types: &data.payloads[0][..data.payloads[0].len().min(255)],
        }),
        Request::GetClusterMetadata,
        Request::DescribeOptions(DescribeOptions { scope: 1 + (data.number % 3) as u8 }),
        Request::AttachConsumerSession(AttachConsumerSession {
            client_id: u128::from(data.wide),
            session: data.wide,
            metadata_watermark: 1,
        }),
        Request::GetMe,
        Request::GetClient(GetClient { client_id: data.number }),
        Request::GetClients,
        Request::GetUser(UserTarget { user_id: topic }),
        Request::GetUsers,
        Request::CreateUser(CreateUser {
            username: name,
            password: secret,
            status: 1,
            permissions: maybe_permissions,
            options,
        }),
        Request::DeleteUser(UserTarget { user_id: stream }),
        Request::UpdateUser(UpdateUser {
            user_id: stream,
            username: data.flag.then_some(name),
            status: Some(2),
            options,
        }),
        Request::UpdatePermissions(UpdatePermissions {
            user_id: topic,
            permissions: maybe_permissions,
        }),
        Request::ChangePassword(ChangePassword {
            user_id: stream,
            current_password: secret,
            new_password: secret,
        }),
        Request::Logout,
        Request::GetPersonalAccessTokens,
        Request::CreatePersonalAccessToken(CreatePersonalAccessToken { name, expiry: data.wide }),
        Request::DeletePersonalAccessToken(DeletePersonalAccessToken { name }),
        Request::PollMessages(poll),
        Request::SendMessages(SendMessages {
            stream_id: stream,
            topic_id: topic,
            partitioning: if data.flag {
                Partitioning::PartitionId(data.number)
            } else {
                Partitioning::MessagesKey(data.name.as_bytes())
            },
            batch,
        }),
        Request::FlushUnsavedBuffer(FlushUnsavedBuffer {
            stream_id: stream,
            topic_id: topic,
            partition_id: data.number,
            fsync: data.flag,
        }),
        Request::GetPollRouting(poll),
        Request::PollMessagesOnPrimary(poll),
        Request::GetConsumerOffset(target),
        Request::StoreConsumerOffset(StoreConsumerOffset {
            target,
            offset: data.wide,
            ack: AckLevel::Quorum,
        }),
        Request::DeleteConsumerOffset(DeleteConsumerOffset { target, ack: AckLevel::NoAck }),
        Request::GetConsumerOffsetRouting(target),
        Request::GetStream(StreamTarget { stream_id: topic }),
        Request::GetStreams,
        Request::CreateStream(CreateStream { name, options }),
        Request::DeleteStream(StreamTarget { stream_id: stream }),
        Request::UpdateStream(UpdateStream { stream_id: stream, name, options }),
        Request::PurgeStream(StreamTarget { stream_id: stream }),
        Request::GetTopic(topic_target),
        Request::GetTopics(StreamTarget { stream_id: stream }),
        Request::CreateTopic(CreateTopic {
            stream_id: stream,
            partitions_count: data.number,
            name,
            options,
        }),
        Request::DeleteTopic(topic_target),
        Request::UpdateTopic(UpdateTopic { stream_id: stream, topic_id: topic, name, options }),
        Request::PurgeTopic(topic_target),
        Request::CreatePartitions(partitions),
        Request::DeletePartitions(partitions),
        Request::DeleteSegments(DeleteSegments {
            stream_id: stream,
            topic_id: topic,
            partition_id: 1,
            segments_count: data.number,
        }),
        Request::GetConsumerGroup(group),
        Request::GetConsumerGroups(topic_target),
        Request::CreateConsumerGroup(CreateConsumerGroup {
            stream_id: stream,
            topic_id: topic,
            name,
        }),
        Request::DeleteConsumerGroup(group),
        Request::JoinConsumerGroup(group),
        Request::LeaveConsumerGroup(group),
        Request::SyncConsumerGroup(group),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for request in &requests {
        frame_round_trip(request);
        seen.insert(request.code());
    }
    let mut ids = IDS;
    ids.session = 0;
    ids.request = 0;
    for request in [
        Request::LoginRegister(LoginRegister {
            version,
            username: name,
            password: secret,
            context: None,
        }),
        Request::LoginRegisterWithPat(LoginRegisterWithPat {
            version,
            token: secret,
            context: None,
        }),
    ] {
        let mut out = Vec::new();
        let header = encode_request(&mut out, ids, &request);
        assert_eq!(header.operation, Operation::Register);
        assert_eq!(parse_request(&header, &out[HEADER_SIZE..]).unwrap(), request);
        seen.insert(request.code());
    }
    let expected: std::collections::BTreeSet<u32> = code::ALL
        .into_iter()
        .filter(|c| ![code::LOGIN_USER, code::LOGIN_WITH_PERSONAL_ACCESS_TOKEN].contains(c))
        .collect();
    assert_eq!(seen, expected, "every served code is covered");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_request_round_trips(data in data(), option in any::<u64>()) {
        let mut block = TlvBuilder::new();
        block.u64("message_expiry", option).unwrap().string("durability", "persisted").unwrap();
        let options = Options::parse(block.as_bytes()).unwrap();
        let mut permissions = Vec::new();
        Permissions::default().encode(&mut permissions);
        let permissions = PermissionsView::parse(&permissions).unwrap();
        let outgoing: Vec<OutgoingMessage<'_>> = data.payloads.iter().enumerate()
            .map(|(i, p)| OutgoingMessage { id: i as u128, origin_timestamp: data.wide / 2 + i as u64, payload: p, user_headers: &[] })
            .collect();
        let mut batch = Vec::new();
        encode_batch(&mut batch, &outgoing).unwrap();
        every_request(&data, options, permissions, Batch::parse(&batch).unwrap());
    }

    #[test]
    fn parse_request_is_total(header in proptest::collection::vec(any::<u8>(), 256), body in proptest::collection::vec(any::<u8>(), 0..300), code_pick in 0usize..code::ALL.len()) {
        let mut header = header;
        header[60] = crate::iggy::COMMAND_REQUEST;
        header[48..52].copy_from_slice(&((256 + body.len()) as u32).to_le_bytes());
        if let Ok(parsed) = RequestHeader::decode(&header) {
            let _ = parse_request(&parsed, &body);
        }
        let _ = Request::decode(code::ALL[code_pick], &body);
    }
}

fn header_for(operation: Operation, code: u32, body: &[u8]) -> RequestHeader {
    RequestHeader {
        size: (HEADER_SIZE + body.len()) as u32,
        client: 1,
        request_checksum: 0,
        timestamp: 0,
        request: 1,
        operation,
        session: 1,
        user_id: 0,
        code,
    }
}

#[test]
fn refusals_are_typed() {
    let body = [2u8, 3, b'a', b'b', b'c'];
    let header = header_for(Operation::NonReplicated, code::CREATE_STREAM, &body);
    assert_eq!(
        parse_request(&header, &body),
        Err(RequestError::OperationMismatch(code::CREATE_STREAM))
    );
    let header = header_for(Operation::NonReplicated, 9_999, &[]);
    assert_eq!(parse_request(&header, &[]), Err(RequestError::UnknownCommand(9_999)));
    assert_eq!(
        RequestError::UnknownCommand(1).response(),
        Refusal::Status(ErrorCode::INVALID_COMMAND)
    );
    let header = header_for(Operation::NonReplicated, code::LOGIN_USER, &[]);
    let error = parse_request(&header, &[]).unwrap_err();
    assert_eq!(error, RequestError::LegacyLogin(code::LOGIN_USER));
    assert_eq!(error.response(), Refusal::Evict(EvictionReason::MalformedLogin));
    let header = header_for(Operation::NonReplicated, code::PING, &[]);
    assert_eq!(
        parse_request(&header, &[0]),
        Err(RequestError::BodySize { expected: 0, actual: 1 })
    );
    let header = header_for(Operation::NonReplicated, code::PING, &[0]);
    assert!(matches!(parse_request(&header, &[0]), Err(RequestError::Body { code: 1, .. })));
    let mut header = header_for(Operation::DeleteStream, 0, &[1, 4, 0, 0, 0, 0]);
    header.request_checksum = 5;
    assert!(matches!(parse_request(&header, &[1, 4, 0, 0, 0, 0]), Err(RequestError::Checksum(_))));
    let header = header_for(Operation::Register, 0, &[1, 2, 3]);
    let error = parse_request(&header, &[1, 2, 3]).unwrap_err();
    assert_eq!(error.response(), Refusal::Evict(EvictionReason::MalformedLogin));
}

#[test]
fn send_refusals_map_to_iggy_codes() {
    let message =
        [OutgoingMessage { id: 1, origin_timestamp: 1, payload: b"x", user_headers: &[] }];
    let mut batch = Vec::new();
    encode_batch(&mut batch, &message).unwrap();
    let request = Request::SendMessages(SendMessages {
        stream_id: Identifier::Numeric(0),
        topic_id: Identifier::Numeric(0),
        partitioning: Partitioning::PartitionId(0),
        batch: Batch::parse(&batch).unwrap(),
    });
    let mut out = Vec::new();
    let header = encode_request(&mut out, IDS, &request);
    assert_eq!(header.request_checksum, 0, "partition writes are unstamped");
    let last = out.len() - 1;
    out[last] ^= 1;
    let error = parse_request(&header, &out[HEADER_SIZE..]).unwrap_err();
    assert_eq!(error.response(), Refusal::Status(ErrorCode::INVALID_MESSAGE_CHECKSUM));
    out[last] ^= 1;
    out[HEADER_SIZE] = 9;
    assert!(matches!(
        parse_request(&header, &out[HEADER_SIZE..]),
        Err(RequestError::Body { error: DecodeError::InvalidLength { .. }, .. })
    ));
}
