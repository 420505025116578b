//! Message batches across the boundary: the official producer encoder's send bodies
//! (user headers included) validate on our side; batches we stamp, slice and serve in
//! a poll reply validate on theirs and decode to the same messages.

#[path = "support/official.rs"]
mod official;

use bytes::{Bytes, BytesMut};
use iggy_binary_protocol::batch::decode_batch_slice;
use iggy_binary_protocol::codec::WireDecode;
use iggy_binary_protocol::codes::SEND_MESSAGES_CODE;
use iggy_binary_protocol::requests::messages::{
    RawMessage, SendMessagesEncoder, SendMessagesHeader,
};
use iggy_binary_protocol::{WireIdentifier, WirePartitioning, encode_user_headers};
use iggy_common::PolledMessages;
use vireo_protocol::iggy::batch::{
    Batch, OutgoingMessage, PollReplyHeader, encode_batch, slice_batch, stamp,
};
use vireo_protocol::iggy::primitives::{Identifier, Partitioning, TlvBuilder, UserHeaders};
use vireo_protocol::iggy::reply::ReplyWriter;
use vireo_protocol::iggy::request::{RequestIds, SendMessages, encode_request};
use vireo_protocol::iggy::{HEADER_SIZE, ReplyHeader, Request, RequestHeader, parse_request};

struct Message {
    id: u128,
    origin_timestamp: u64,
    payload: Vec<u8>,
    headers: Vec<u8>,
}

fn messages(count: usize) -> Vec<Message> {
    (0..count)
        .map(|i| {
            let mut headers = BytesMut::new();
            if i % 3 != 2 {
                let value = format!("trace-{i}");
                let number = (i as u64).to_le_bytes();
                encode_user_headers(
                    &[(2, b"trace", 2, value.as_bytes()), (2, b"n", 12, &number)],
                    &mut headers,
                );
            }
            Message {
                id: 1000 + i as u128,
                origin_timestamp: 1_700_000_000_000_000 + (i as u64) * 10,
                payload: vec![i as u8; 10 + i],
                headers: headers.to_vec(),
            }
        })
        .collect()
}

fn official_send_body(messages: &[Message], partitioning: &WirePartitioning) -> Bytes {
    let raw: Vec<RawMessage<'_>> = messages
        .iter()
        .map(|m| RawMessage {
            id: m.id,
            origin_timestamp: m.origin_timestamp,
            headers: (!m.headers.is_empty()).then_some(m.headers.as_slice()),
            payload: &m.payload,
        })
        .collect();
    let stream = WireIdentifier::numeric(2);
    let topic = WireIdentifier::named("events").unwrap();
    let mut body = BytesMut::new();
    SendMessagesEncoder::encode(&mut body, &stream, &topic, partitioning, &raw).unwrap();
    body.freeze()
}

#[test]
fn official_sends_validate_and_read_back_zero_copy() {
    let sent = messages(25);
    for partitioning in [
        WirePartitioning::PartitionId(3),
        WirePartitioning::Balanced,
        WirePartitioning::messages_key(b"key".to_vec()).unwrap(),
    ] {
        let body = official_send_body(&sent, &partitioning);
        let frame = official::frame(SEND_MESSAGES_CODE, &body);
        let header = RequestHeader::decode(&frame).unwrap();
        assert_eq!(header.request_checksum, 0);
        let request =
            parse_request(&header, &frame[HEADER_SIZE..]).expect("official batch validates");
        let Request::SendMessages(send) = request else { panic!("not a send") };
        assert_eq!(send.stream_id, Identifier::Numeric(2));
        match (&send.partitioning, &partitioning) {
            (Partitioning::PartitionId(a), WirePartitioning::PartitionId(b)) => assert_eq!(a, b),
            (Partitioning::Balanced, WirePartitioning::Balanced) => {}
            (Partitioning::MessagesKey(a), WirePartitioning::MessagesKey(b)) => {
                assert_eq!(*a, b.as_slice());
            }
            other => panic!("partitioning differs {other:?}"),
        }
        let theirs_meta = SendMessagesHeader::decode(&body[4..]).unwrap().0;
        assert_eq!(theirs_meta.messages_count, send.batch.message_count());
        assert_eq!(send.batch.header().origin_timestamp, sent[0].origin_timestamp);
        for (frame, message) in send.batch.frames().zip(&sent) {
            assert_eq!(frame.id(), message.id);
            assert_eq!(frame.payload(), message.payload.as_slice());
            assert_eq!(frame.user_headers(), message.headers.as_slice());
            let headers = UserHeaders::parse(frame.user_headers()).unwrap();
            if !message.headers.is_empty() {
                assert_eq!(headers.iter().next().map(|e| e.key), Some(&b"trace"[..]));
            }
        }
        // Zero copy: the payloads point into the received frame.
        let range = frame.as_ptr_range();
        assert!(
            send.batch
                .frames()
                .all(|f| range.contains(&f.payload().as_ptr()) || f.payload().is_empty())
        );
    }
}

#[test]
fn stamped_and_sliced_batches_poll_back_through_the_sdk() {
    let sent = messages(12);
    let body = official_send_body(&sent, &WirePartitioning::PartitionId(0));
    let frame = official::frame(SEND_MESSAGES_CODE, &body);
    let header = RequestHeader::decode(&frame).unwrap();
    let Request::SendMessages(send) = parse_request(&header, &frame[HEADER_SIZE..]).unwrap() else {
        panic!()
    };

    // What the server stores: the received batch, stamped in place.
    let mut stored = send.batch.as_bytes().to_vec();
    stamp(&mut stored, 0, 500, 1_800_000_000_000_000).unwrap();
    decode_batch_slice(&stored).expect("official verification of a stamped batch");

    // Poll from offset 504, at most 5 messages: a slice of the stored batch.
    let poll = ReplyHeader::answering(&RequestHeader::decode(&official::frame(100, b"")).unwrap());
    let mut reply = Vec::new();
    let mut writer = ReplyWriter::begin(&mut reply, poll);
    let batch = Batch::parse(&stored).unwrap();
    let mut batches = Vec::new();
    let slice = slice_batch(&batch, 504, 5, &mut batches).unwrap();
    PollReplyHeader { partition_id: 0, current_offset: 511, messages_count: slice.message_count }
        .encode(writer.body());
    writer.body().extend_from_slice(&batches);
    writer.finish();

    let (_, payload) = official::read_reply(&reply).unwrap();
    decode_batch_slice(&payload[16..]).expect("official verification of a sliced batch");
    let polled = PolledMessages::from_bytes(Bytes::from(payload)).expect("SDK poll decode");
    assert_eq!((polled.partition_id, polled.current_offset, polled.count), (0, 511, 5));
    let offsets: Vec<u64> = polled.messages.iter().map(|m| m.header.offset).collect();
    assert_eq!(offsets, vec![504, 505, 506, 507, 508]);
    for (message, original) in polled.messages.iter().zip(&sent[4..]) {
        assert_eq!(message.header.id, original.id);
        assert_eq!(message.payload.as_ref(), original.payload.as_slice());
        assert_eq!(message.header.origin_timestamp, original.origin_timestamp);
        assert_eq!(message.header.timestamp, 1_800_000_000_000_000);
        assert_eq!(
            message.user_headers.as_deref().unwrap_or_default(),
            original.headers.as_slice()
        );
        if !original.headers.is_empty() {
            let map = message.user_headers_map().unwrap().unwrap();
            assert_eq!(map.len(), 2);
        }
    }
}

#[test]
fn our_encoded_batches_verify_on_their_side() {
    let mut headers = TlvBuilder::new();
    headers.string("k", "v").unwrap();
    let payloads: Vec<Vec<u8>> = (0..50).map(|i| vec![b'a' + (i % 26) as u8; i]).collect();
    let outgoing: Vec<OutgoingMessage<'_>> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| OutgoingMessage {
            id: i as u128,
            origin_timestamp: 5 + i as u64,
            payload: p,
            user_headers: if i % 2 == 0 { headers.as_bytes() } else { &[] },
        })
        .collect();
    let mut batch = Vec::new();
    encode_batch(&mut batch, &outgoing).unwrap();
    let theirs = decode_batch_slice(&batch).expect("official checksum verification");
    assert_eq!(theirs.message_count(), 50);
    assert_eq!(theirs.iter().nth(7).unwrap().payload, payloads[7].as_slice());

    // A whole send request from our client, checked by their decoder.
    let request = Request::SendMessages(SendMessages {
        stream_id: Identifier::Numeric(1),
        topic_id: Identifier::Numeric(2),
        partitioning: Partitioning::PartitionId(0),
        batch: Batch::parse(&batch).unwrap(),
    });
    let mut frame = Vec::new();
    encode_request(&mut frame, RequestIds { client: 1, session: 1, request: 1 }, &request);
    let theirs_header = official::request_header(&frame);
    assert_eq!(theirs_header.operation as u8, 160);
    let (meta, _) = SendMessagesHeader::decode(&frame[HEADER_SIZE + 4..]).unwrap();
    assert_eq!(meta.messages_count, 50);
    let metadata_length =
        u32::from_le_bytes(frame[HEADER_SIZE..HEADER_SIZE + 4].try_into().unwrap()) as usize;
    assert_eq!(metadata_length, meta.metadata_length());
    decode_batch_slice(&frame[HEADER_SIZE + 4 + metadata_length..])
        .expect("batch inside our frame verifies");
}
