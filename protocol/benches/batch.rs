//! Throughput of the send hot path: `parse_request` on a send frame (routing, batch
//! layout, every frame checksum and the batch checksum), and stamping a stored batch.
//! Reported in bytes per second of frame.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vireo_protocol::iggy::batch::{Batch, OutgoingMessage, encode_batch, stamp};
use vireo_protocol::iggy::primitives::{Identifier, Partitioning};
use vireo_protocol::iggy::request::{RequestIds, SendMessages, encode_request};
use vireo_protocol::iggy::{HEADER_SIZE, Request, RequestHeader, parse_request};

fn send_frame(messages: usize, payload_size: usize) -> Vec<u8> {
    let payload = vec![0x5a; payload_size];
    let outgoing: Vec<OutgoingMessage<'_>> = (0..messages)
        .map(|i| OutgoingMessage {
            id: i as u128,
            origin_timestamp: i as u64,
            payload: &payload,
            user_headers: &[],
        })
        .collect();
    let mut batch = Vec::new();
    encode_batch(&mut batch, &outgoing).expect("batch");
    let request = Request::SendMessages(SendMessages {
        stream_id: Identifier::Numeric(1),
        topic_id: Identifier::Numeric(1),
        partitioning: Partitioning::PartitionId(0),
        batch: Batch::parse(&batch).expect("parse"),
    });
    let mut frame = Vec::new();
    encode_request(&mut frame, RequestIds { client: 1, session: 1, request: 1 }, &request);
    frame
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("send_messages");
    for (messages, payload) in [(1000, 100), (1000, 1000), (100, 10_000)] {
        let frame = send_frame(messages, payload);
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_function(format!("parse_validate/{messages}x{payload}B"), |b| {
            b.iter(|| {
                let header = RequestHeader::decode(&frame).expect("header");
                let request = parse_request(&header, &frame[HEADER_SIZE..]).expect("request");
                std::hint::black_box(request);
            });
        });
        let mut stored = frame[HEADER_SIZE + 4 + 6 + 6 + 6 + 4..].to_vec();
        group.bench_function(format!("stamp/{messages}x{payload}B"), |b| {
            b.iter(|| stamp(&mut stored, 0, 1, 2).expect("stamp"));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
