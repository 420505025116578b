//! Reply framing (as the SDK reads it) and body round trips.

use std::borrow::Cow;

use proptest::prelude::*;

use super::*;
use crate::iggy::header::{EvictionReason, RequestHeader};
use crate::iggy::primitives::{Name, Options, Permissions, TlvBuilder};

fn request(operation: Operation) -> RequestHeader {
    RequestHeader {
        size: 256,
        client: 42,
        request_checksum: 9,
        timestamp: 0,
        request: 5,
        operation,
        session: 3,
        user_id: 0,
        code: 0,
    }
}

#[test]
fn result_framed_success_strips_the_section() {
    let mut out = Vec::new();
    let mut writer =
        ReplyWriter::begin(&mut out, ReplyHeader::answering(&request(Operation::CreateStream)));
    writer.body().extend_from_slice(b"payload");
    let length = writer.finish();
    assert_eq!(length, out.len());
    assert_eq!(&out[256..260], &[0, 0, 0, 0]);
    let (header, body) = decode_reply(&out).unwrap();
    assert_eq!(body, b"payload");
    assert_eq!(header.client, 42);
    assert_eq!(header.request, 5);
    assert_eq!(header.size as usize, out.len());
}

#[test]
fn raw_operations_are_not_framed() {
    for operation in [
        Operation::NonReplicated,
        Operation::SendMessages,
        Operation::Logout,
        Operation::DeleteSegments,
    ] {
        let mut out = Vec::new();
        let mut writer = ReplyWriter::begin(&mut out, ReplyHeader::answering(&request(operation)));
        writer.body().extend_from_slice(b"raw");
        writer.finish();
        assert_eq!(&out[256..], b"raw", "{operation:?}");
        assert_eq!(decode_reply(&out).unwrap().1, b"raw");
    }
}

#[test]
fn errors_reach_the_client_typed() {
    let header = ReplyHeader::answering(&request(Operation::DeleteStream));
    let mut out = Vec::new();
    write_rejection(&mut out, header, ErrorCode::STREAM_ID_NOT_FOUND);
    assert_eq!(decode_reply(&out), Err(ReplyError::Rejected(ErrorCode::STREAM_ID_NOT_FOUND)));
    let mut out = Vec::new();
    write_status(&mut out, header, ErrorCode::UNAUTHORIZED);
    assert_eq!(out.len(), 256);
    assert_eq!(decode_reply(&out), Err(ReplyError::Status(ErrorCode::UNAUTHORIZED)));
    let mut out = Vec::new();
    write_eviction(&mut out, &EvictionHeader::new(42, EvictionReason::NoSession));
    assert!(matches!(decode_reply(&out), Err(ReplyError::Evicted(_))));
    let mut bad = ReplyHeader { size: 260, ..header }.to_bytes().to_vec();
    bad.extend_from_slice(&1u32.to_le_bytes());
    assert_eq!(decode_reply(&bad), Err(ReplyError::MalformedResult));
}

#[test]
fn detailed_user_with_and_without_permissions() {
    let options = TlvBuilder::new();
    let user = UserReply {
        id: 0,
        created_at: 1,
        status: 1,
        username: Name::new("iggy").unwrap(),
        options: Options::parse(options.as_bytes()).unwrap(),
    };
    let permissions = Permissions::default();
    for tail in [None, Some(&permissions)] {
        let mut out = Vec::new();
        user.encode(&mut out);
        encode_user_permissions(tail, &mut out);
        let mut reader = Reader::new(&out);
        assert_eq!(UserReply::decode(&mut reader), Ok(user));
        let decoded =
            decode_user_permissions(&mut reader).unwrap().map(|view| view.to_permissions());
        assert_eq!(decoded.as_ref(), tail);
        assert!(reader.is_empty());
    }
}

#[test]
fn send_confirmations_round_trip_and_refuse_trailing_bytes() {
    let confirmations =
        [SendConfirmation { stream_id: 1, topic_id: 2, partition_id: 3, base_offset: 4 }];
    let mut out = Vec::new();
    encode_send_confirmations(&confirmations, &mut out);
    assert_eq!(out.len(), 24);
    assert_eq!(decode_send_confirmations(&out).unwrap(), confirmations);
    assert!(decode_send_confirmations(&[]).unwrap().is_empty());
    out.push(0);
    assert!(decode_send_confirmations(&out).is_err());
}

/// Encodes, decodes and compares a reply body, requiring every byte consumed.
macro_rules! round_trip {
    ($value:expr, $ty:ident) => {{
        let mut out = Vec::new();
        $value.encode(&mut out);
        let mut reader = Reader::new(&out);
        let decoded = $ty::decode(&mut reader).unwrap();
        assert_eq!(decoded, $value);
        assert!(reader.is_empty());
    }};
}

proptest! {
    #[test]
    fn stream_topic_partition_round_trip(
        ids in any::<(u32, u64, u32, u64, u64)>(), name in "[a-z]{1,30}", compression in 1u8..=2,
        expiry in any::<u64>(), option_value in any::<u64>(),
    ) {
        let mut block = TlvBuilder::new();
        block.u64("message_expiry", option_value).unwrap();
        let options = Options::parse(block.as_bytes()).unwrap();
        let name = Name::new(&name).unwrap();
        let stream = StreamReply { id: ids.0, created_at: ids.1, topics_count: ids.2, size_bytes: ids.3, messages_count: ids.4, name, options };
        let mut out = Vec::new();
        stream.encode(&mut out);
        stream.encode(&mut out);
        prop_assert_eq!(StreamReply::decode_all(&out).unwrap(), vec![stream, stream]);
        let topic = TopicReply {
            id: ids.0, created_at: ids.1, partitions_count: ids.2, message_expiry: expiry, compression_algorithm: compression,
            max_topic_size: ids.3, size_bytes: ids.4, messages_count: ids.1, name, options, derived_options: Options::EMPTY,
        };
        let mut out = Vec::new();
        TopicReply::encode_count(1, &mut out);
        topic.encode(&mut out);
        prop_assert_eq!(TopicReply::decode_all(&out).unwrap(), vec![topic]);
        let partition = PartitionReply { id: ids.2, created_at: ids.1, segments_count: ids.0, current_offset: ids.3, size_bytes: ids.4, messages_count: expiry };
        round_trip!(partition, PartitionReply);
    }

    #[test]
    fn group_client_offset_round_trip(
        ids in any::<(u32, u32, u32, u64)>(), partitions in proptest::collection::vec(any::<u32>(), 0..10),
        name in "[a-z]{1,20}", address in "[0-9.:]{0,21}",
    ) {
        let group = ConsumerGroupReply { id: ids.0, partitions_count: ids.1, members_count: ids.2, name: Name::new(&name).unwrap() };
        round_trip!(group, ConsumerGroupReply);
        let member = GroupMemberReply { id: ids.0, partitions: Cow::Borrowed(&partitions) };
        round_trip!(member, GroupMemberReply);
        let sync = SyncConsumerGroupReply { generation: ids.3, partitions: Cow::Borrowed(&partitions) };
        round_trip!(sync, SyncConsumerGroupReply);
        let client = ClientReply { client_id: ids.0, user_id: ids.1, transport: 2, address: &address, consumer_groups_count: ids.2 };
        round_trip!(client, ClientReply);
        let info = ClientGroupReply { stream_id: ids.0, topic_id: ids.1, group_id: ids.2 };
        round_trip!(info, ClientGroupReply);
        let offset = ConsumerOffsetReply { partition_id: ids.0, current_offset: ids.3, stored_offset: ids.3 / 2 };
        round_trip!(offset, ConsumerOffsetReply);
    }

    #[test]
    fn user_token_login_round_trip(id in any::<u32>(), session in 1u64.., name in "[a-z]{3,40}", expiry in any::<u64>()) {
        let name = Name::new(&name).unwrap();
        let login = LoginRegisterReply { user_id: id, session, server_protocol_version: 11 << 10, server_version: name };
        round_trip!(login, LoginRegisterReply);
        let token = PersonalAccessTokenReply { name, expiry_at: expiry };
        let mut out = Vec::new();
        token.encode(&mut out);
        token.encode(&mut out);
        prop_assert_eq!(PersonalAccessTokenReply::decode_all(&out).unwrap(), vec![token, token]);
        let raw = RawTokenReply { token: name };
        round_trip!(raw, RawTokenReply);
        let user = UserReply { id, created_at: expiry, status: 2, username: name, options: Options::EMPTY };
        let mut out = Vec::new();
        user.encode(&mut out);
        prop_assert_eq!(UserReply::decode_all(&out).unwrap(), vec![user]);
    }

    #[test]
    fn system_round_trip(port in any::<u16>(), text in "[a-z]{0,20}", numbers in any::<(u32, u64, f32)>(), count in 0usize..4) {
        let node = ClusterNode {
            name: &text, ip: "127.0.0.1", tcp_port: port, quic_port: port ^ 1, http_port: 0, websocket_port: 1,
            role: NodeRole::Leader, status: NodeStatus::Healthy,
        };
        let metadata = ClusterMetadataReply { name: &text, nodes: Cow::Owned(vec![node; count]) };
        round_trip!(metadata, ClusterMetadataReply);
        let routing = PollRoutingReply {
            consumer_session: crate::iggy::request::AttachConsumerSession { client_id: 1, session: numbers.1, metadata_watermark: 3 },
            primary: node,
        };
        round_trip!(routing, PollRoutingReply);
        let descriptor = OptionDescriptor { key: Name::new("segment_size").unwrap(), kind: 12, default_value: &[1, 2], description: &text };
        round_trip!(descriptor, OptionDescriptor);
        let metric = CacheMetric { stream_id: 1, topic_id: 2, partition_id: 3, hits: numbers.1, misses: 5, hit_ratio: 0.5 };
        let stats = StatsReply {
            process_id: numbers.0, cpu_usage: 1.5, total_cpu_usage: 2.5, memory_usage: numbers.1, total_memory: 2,
            available_memory: 3, run_time: 4, start_time: 5, read_bytes: 6, written_bytes: 7, messages_size_bytes: 8,
            streams_count: 9, topics_count: 10, partitions_count: 11, segments_count: 12, messages_count: 13,
            clients_count: 14, consumer_groups_count: 15, hostname: &text, os_name: "linux", os_version: "6",
            kernel_version: "6.1", server_version: "0.1.0", server_semver: 1, cache_metrics: Cow::Owned(vec![metric; count]),
            threads_count: 16, free_disk_space: 17, total_disk_space: 18,
        };
        round_trip!(stats, StatsReply);
    }

    #[test]
    fn decode_reply_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_reply(&bytes);
        let _ = StatsReply::decode(&mut Reader::new(&bytes));
        let _ = ClusterMetadataReply::decode(&mut Reader::new(&bytes));
        let _ = TopicReply::decode_all(&bytes);
        let _ = StreamReply::decode_all(&bytes);
        let _ = decode_user_permissions(&mut Reader::new(&bytes));
    }
}
