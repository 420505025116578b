//! Seed inputs for `fuzz/`: one valid client frame per request shape, a stamped batch,
//! and archived metadata ops. The test checks every seed parses; with
//! `VIREO_FUZZ_SEEDS=<dir>` it also writes them as `<dir>/<target>/<name>` for
//! `cargo fuzz run <target> <dir>/<target>`. Random bytes rarely pass a header's
//! command/operation/size checks, so seeds let the fuzzer start inside the parsers.

use std::path::Path;

use vireo_protocol::iggy::batch::{Batch, OutgoingMessage, encode_batch, stamp};
use vireo_protocol::iggy::primitives::{
    AckLevel, ClientVersionInfo, Consumer, ConsumerKind, Identifier, Name, Options, Partitioning,
    PollingKind, PollingStrategy, Secret, TlvBuilder,
};
use vireo_protocol::iggy::request::*;
use vireo_protocol::iggy::{HEADER_SIZE, Request, RequestHeader, parse_request};
use vireo_protocol::metadata::{MetadataOp, encode};

fn write(dir: Option<&Path>, target: &str, name: &str, bytes: &[u8]) {
    if let Some(dir) = dir {
        let dir = dir.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn seeds_parse_and_optionally_land_on_disk() {
    let dir = std::env::var_os("VIREO_FUZZ_SEEDS");
    let dir = dir.as_deref().map(Path::new);
    let mut options = TlvBuilder::new();
    options.u64("message_expiry", 1).unwrap().string("segment_size", "1 GiB").unwrap();
    let options = Options::parse(options.as_bytes()).unwrap();
    let mut headers = TlvBuilder::new();
    headers.string("k", "v").unwrap();
    let outgoing = [
        OutgoingMessage {
            id: 1,
            origin_timestamp: 10,
            payload: b"hello",
            user_headers: headers.as_bytes(),
        },
        OutgoingMessage { id: 2, origin_timestamp: 11, payload: b"world", user_headers: &[] },
    ];
    let mut batch = Vec::new();
    encode_batch(&mut batch, &outgoing).unwrap();
    let name = Name::new("orders").unwrap();
    let stream = Identifier::Name(name);
    let topic = Identifier::Numeric(0);
    let consumer = Consumer { kind: ConsumerKind::Consumer, id: Identifier::Numeric(1) };
    let target =
        OffsetTarget { consumer, stream_id: stream, topic_id: topic, partition_id: Some(0) };
    let version = ClientVersionInfo {
        protocol_version: 11 << 10,
        sdk_name: Name::new("rust-sdk").unwrap(),
        sdk_version: Name::new("0.11.0").unwrap(),
    };
    let secret = Secret::new("iggy").unwrap();
    let requests = [
        ("ping", Request::Ping),
        (
            "login",
            Request::LoginRegister(LoginRegister {
                version,
                username: Name::new("iggy").unwrap(),
                password: secret,
                context: None,
            }),
        ),
        (
            "login_pat",
            Request::LoginRegisterWithPat(LoginRegisterWithPat {
                version,
                token: secret,
                context: Some("c"),
            }),
        ),
        (
            "create_topic",
            Request::CreateTopic(CreateTopic {
                stream_id: stream,
                partitions_count: 3,
                name,
                options,
            }),
        ),
        (
            "create_user",
            Request::CreateUser(CreateUser {
                username: name,
                password: secret,
                status: 1,
                permissions: None,
                options,
            }),
        ),
        (
            "poll",
            Request::PollMessages(PollMessages {
                consumer,
                stream_id: stream,
                topic_id: topic,
                partition_id: None,
                strategy: PollingStrategy { kind: PollingKind::Next, value: 0 },
                count: 10,
                auto_commit: true,
            }),
        ),
        (
            "store_offset",
            Request::StoreConsumerOffset(StoreConsumerOffset {
                target,
                offset: 5,
                ack: AckLevel::Quorum,
            }),
        ),
        (
            "send",
            Request::SendMessages(SendMessages {
                stream_id: stream,
                topic_id: topic,
                partitioning: Partitioning::MessagesKey(b"key"),
                batch: Batch::parse(&batch).unwrap(),
            }),
        ),
        (
            "join_group",
            Request::JoinConsumerGroup(GroupTarget {
                stream_id: stream,
                topic_id: topic,
                group_id: Identifier::Numeric(2),
            }),
        ),
    ];
    for (label, request) in requests {
        let session =
            if matches!(request, Request::LoginRegister(_) | Request::LoginRegisterWithPat(_)) {
                0
            } else {
                1
            };
        let mut frame = Vec::new();
        encode_request(&mut frame, RequestIds { client: 1, session, request: session }, &request);
        let header = RequestHeader::decode(&frame).unwrap();
        assert_eq!(parse_request(&header, &frame[HEADER_SIZE..]).unwrap(), request, "{label}");
        write(dir, "client_frame", label, &frame);
    }
    let mut stored = batch.clone();
    stamp(&mut stored, 0, 100, 1).unwrap();
    write(dir, "client_frame", "batch", &stored);
    for (label, op) in [
        ("create_stream", MetadataOp::CreateStream { name: "orders".into() }),
        (
            "join",
            MetadataOp::JoinConsumerGroup { stream_id: 1, topic_id: 2, group_id: 3, member: 4 },
        ),
        (
            "change_password",
            MetadataOp::ChangePassword { user_id: 0, password_hash: "$argon2id$".into() },
        ),
    ] {
        let bytes = encode(&op);
        assert_eq!(vireo_protocol::metadata::decode(&bytes), Ok(op));
        write(dir, "metadata_op", label, &bytes);
    }
}

/// Seeds for `replica_frame`: sealed partition data transfer messages and their bare
/// bodies (the target also decodes raw bytes as bodies).
#[test]
fn transfer_seeds_decode_and_optionally_land_on_disk() {
    use bytes::Bytes;
    use vireo_protocol::vsr::{
        Command, Header, Message, PartitionData, PartitionDataRequest, PartitionDataStatus,
        PartitionRef,
    };
    let dir = std::env::var_os("VIREO_FUZZ_SEEDS");
    let dir = dir.as_deref().map(Path::new);
    let partition = PartitionRef { stream_id: 1, topic_id: 2, partition_id: 3, incarnation: 4 };
    let request = PartitionDataRequest {
        partition,
        checkpoint_op: 100,
        from_offset: 10,
        end_offset: 90,
        bytes_max: 1 << 20,
    }
    .encode();
    let records = [0x5a_u8; 130];
    let data = PartitionData {
        partition,
        status: PartitionDataStatus::Ok,
        checkpoint_op: 100,
        from_offset: 10,
        first_offset: 0,
        next_offset: 120,
        record_count: 2,
        records: &records,
    }
    .encode();
    for (name, command, body) in [
        ("request_partition_data", Command::RequestPartitionData, &request),
        ("partition_data", Command::PartitionData, &data),
    ] {
        let mut header = Header::new(command);
        header.group = 1;
        let message = Message::new(header, body);
        let decoded = Message::decode(Bytes::copy_from_slice(message.as_bytes()), 1 << 20)
            .expect("a sealed seed decodes");
        assert_eq!(decoded.body(), &body[..]);
        write(dir, "replica_frame", name, message.as_bytes());
        write(dir, "replica_frame", &format!("{name}_body"), body);
    }
    assert!(PartitionDataRequest::decode(&request).is_ok());
    assert!(PartitionData::decode(&data).is_ok());
}
