//! The cost of the edge thread's hop, measured alone: a request travels from a tokio
//! current-thread runtime to a monoio shard thread over a bounded flume channel and its
//! reply comes back on a one-shot channel — exactly what every QUIC request pays on top
//! of what driving `quinn-proto` inside the shard would cost. Ignored by default (a
//! measurement, not a check): `cargo test --release -p vireo-node hop -- --ignored
//! --nocapture`.

use std::time::{Duration, Instant};

#[test]
#[ignore = "measurement: run explicitly in release"]
fn edge_thread_hop_round_trip() {
    let (requests, received) = flume::bounded::<(u64, flume::Sender<u64>)>(16);
    let shard = std::thread::spawn(move || {
        let mut runtime = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .enable_timer()
            .build()
            .expect("monoio runtime");
        runtime.block_on(async move {
            while let Ok((value, reply)) = received.recv_async().await {
                let _ = reply.send_async(value + 1).await;
            }
        });
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut samples: Vec<Duration> = runtime.block_on(async {
        let mut samples = Vec::with_capacity(100_000);
        for value in 0..100_000u64 {
            let started = Instant::now();
            let (reply, replied) = flume::bounded(1);
            requests.send_async((value, reply)).await.unwrap();
            assert_eq!(replied.recv_async().await.unwrap(), value + 1);
            samples.push(started.elapsed());
        }
        samples
    });
    drop(requests);
    shard.join().unwrap();
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction) as usize];
    println!("edge hop round trip: p50 {:?} p99 {:?} p999 {:?}", at(0.5), at(0.99), at(0.999));
}
