//! Goal: the measurement behind how QUIC is driven (see `node/src/net/quic/mod.rs`):
//! the same SDK and workload over TCP (served on the shards) and QUIC (through the edge
//! thread), against one node. It prints numbers and asserts only that every request
//! succeeded: timing belongs in benchmarks, not in pass/fail.
//!
//! Ignored by default; run it against a release build:
//! `cargo build --release -p vireo-node && VIREO_BIN=target/release/vireo \
//!  cargo test --release -p vireo-tests --test bench_quic_vs_tcp -- --ignored --nocapture`

mod support;

use std::time::{Duration, Instant};

use iggy::prelude::*;
use support::{Transport, bounded, id, root};
use vireo_tests::Node;

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

async fn measure(node: &Node, transport: Transport, stream: u32, topic: u32) {
    let client = root(node, transport).await;
    let mut pings = Vec::new();
    for _ in 0..2000 {
        let started = Instant::now();
        client.ping().await.unwrap();
        pings.push(started.elapsed());
    }
    pings.sort();
    let mut sends = Vec::new();
    for i in 0..2000 {
        let mut batch = vec![IggyMessage::from_str(&format!("{i:01000}")).unwrap()];
        let started = Instant::now();
        client
            .send_messages(&id(stream), &id(topic), &Partitioning::partition_id(0), &mut batch)
            .await
            .unwrap();
        sends.push(started.elapsed());
    }
    sends.sort();
    let payload = "x".repeat(1000);
    let batches = 200;
    let started = Instant::now();
    for _ in 0..batches {
        let mut batch: Vec<IggyMessage> =
            (0..1000).map(|_| IggyMessage::from_str(&payload).unwrap()).collect();
        client
            .send_messages(&id(stream), &id(topic), &Partitioning::partition_id(1), &mut batch)
            .await
            .unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let megabytes = (batches * 1000 * 1000) as f64 / 1e6;
    println!(
        "{transport:?}: ping p50 {:?} p99 {:?} | 1-msg send p50 {:?} p99 {:?} | 1 producer \
         1000×1KB batches: {:.0} MB/s, {:.0} msg/s",
        percentile(&pings, 0.5),
        percentile(&pings, 0.99),
        percentile(&sends, 0.5),
        percentile(&sends, 0.99),
        megabytes / elapsed,
        (batches * 1000) as f64 / elapsed,
    );
}

/// `producers` concurrent producers, each sending `batches` batches of 1000 × 1 KB to
/// its own partition over its own connection.
async fn producers(
    node: &Node,
    transport: Transport,
    stream: u32,
    topic: u32,
    producers: u32,
    batches: u32,
) {
    let mut clients = Vec::new();
    for _ in 0..producers {
        clients.push(root(node, transport).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (partition, client) in (0..producers).zip(clients) {
        tasks.push(tokio::spawn(async move {
            let payload = "y".repeat(1000);
            for _ in 0..batches {
                let mut batch: Vec<IggyMessage> =
                    (0..1000).map(|_| IggyMessage::from_str(&payload).unwrap()).collect();
                client
                    .send_messages(
                        &id(stream),
                        &id(topic),
                        &Partitioning::partition_id(partition),
                        &mut batch,
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let messages = f64::from(producers * batches * 1000);
    println!(
        "{transport:?}: {producers} producers × 1000×1KB batches: {:.0} MB/s, {:.0} msg/s",
        messages * 1000.0 / 1e6 / elapsed,
        messages / elapsed
    );
}

#[test]
#[ignore = "benchmark: run explicitly against a release build"]
fn eight_producers_over_tcp_and_quic() {
    let node = Node::start(
        "bench8",
        &["consensus.partition_message_size_max=2MiB", "storage.segment_size=64MiB"],
    );
    bounded(Duration::from_secs(900), async {
        let client = root(&node, Transport::Tcp).await;
        let stream = client.create_stream("bench8").await.unwrap().id;
        let options = TopicCreateOptions { partitions_count: Some(8), ..Default::default() };
        let topic = client.create_topic(&id(stream), "t", &options).await.unwrap().id;
        for transport in [Transport::Tcp, Transport::Quic] {
            producers(&node, transport, stream, topic, 8, 50).await;
        }
    });
}

#[test]
#[ignore = "benchmark: run explicitly against a release build"]
fn quic_through_the_edge_thread_versus_tcp_on_the_shards() {
    let node = Node::start(
        "bench",
        &["consensus.partition_message_size_max=2MiB", "storage.segment_size=64MiB"],
    );
    bounded(Duration::from_secs(600), async {
        let client = root(&node, Transport::Tcp).await;
        let stream = client.create_stream("bench").await.unwrap().id;
        let options = TopicCreateOptions { partitions_count: Some(2), ..Default::default() };
        let topic = client.create_topic(&id(stream), "t", &options).await.unwrap().id;
        for transport in [Transport::Tcp, Transport::Quic, Transport::Tcp, Transport::Quic] {
            measure(&node, transport, stream, topic).await;
        }
    });
}

use std::str::FromStr;
