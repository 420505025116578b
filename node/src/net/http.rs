//! The HTTP operations port on shard 0: `GET /ping` (liveness: the process answers),
//! `GET /ready` (readiness: every consensus group is normal and caught up — and primary
//! in a cluster of one —, the client edges are serving, and in a cluster the replica bus
//! links this node both ways with a majority; 503 with the reasons otherwise), `GET /metrics`
//! (Prometheus text), `GET /cluster` (JSON: this node, its peers' bus connectivity, and
//! per group — 0 = metadata, 1..=G = partition groups — view, primary, status, op,
//! commit, syncing; see `shard/cluster_state.rs`). Minimal HTTP/1.1: one request per
//! connection, bounded header.

use std::rc::Rc;

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

use crate::shard::Shard;
use crate::shard::inbox::{ShardMessage, ShardReport};

/// Largest request head accepted.
const REQUEST_HEAD_MAX: usize = 8 * 1024;

/// Serves until shutdown.
pub async fn serve(shard: Rc<Shard>, listener: TcpListener) {
    loop {
        let accepted = listener.accept().await;
        if shard.router.stopping() {
            return;
        }
        let Ok((stream, _)) = accepted else { continue };
        let shard = Rc::clone(&shard);
        monoio::spawn(async move {
            if let Err(error) = handle(shard, stream).await {
                tracing::debug!(%error, "http request failed");
            }
        });
    }
}

async fn handle(shard: Rc<Shard>, mut stream: TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() > REQUEST_HEAD_MAX {
            return respond(&mut stream, 431, "text/plain", "request head too large\n").await;
        }
        let (result, buffer) = stream.read(Vec::with_capacity(1024)).await;
        let read = result?;
        if read == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let line = head.split(|&byte| byte == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return respond(&mut stream, 405, "text/plain", "only GET\n").await;
    }
    match path {
        "/ping" => respond(&mut stream, 200, "text/plain", "pong\n").await,
        "/ready" => {
            let (ready, text) = readiness(&shard, &reports(&shard).await);
            respond(&mut stream, if ready { 200 } else { 503 }, "text/plain", &text).await
        }
        "/cluster" => {
            let body = shard.cluster_state().to_json().to_string() + "\n";
            respond(&mut stream, 200, "application/json", &body).await
        }
        "/metrics" => {
            let mut text = shard.metrics.render(&reports(&shard).await);
            bus_metrics(&shard, &mut text);
            respond(&mut stream, 200, "text/plain; version=0.0.4", &text).await
        }
        _ => respond(&mut stream, 404, "text/plain", "not found\n").await,
    }
}

/// The replica bus's per-peer counters, Prometheus text.
fn bus_metrics(shard: &Shard, out: &mut String) {
    use std::fmt::Write;
    use std::sync::atomic::Ordering::Relaxed;
    let Some(bus) = shard.bus.as_ref() else { return };
    let _ = writeln!(
        out,
        "vireo_bus_handshakes_refused_total {}",
        bus.stats.handshakes_refused.load(Relaxed)
    );
    for peer in bus.peers() {
        let s = &peer.stats;
        let counters = [
            ("connected", u64::from(s.connected.load(Relaxed))),
            ("inbound_connections", s.inbound.load(Relaxed)),
            ("sent_total", s.sent.load(Relaxed)),
            ("dropped_queue_full_total", s.dropped_queue_full.load(Relaxed)),
            ("received_total", s.received.load(Relaxed)),
            ("dropped_inbox_full_total", s.dropped_inbox_full.load(Relaxed)),
            ("bad_frames_total", s.bad_frames.load(Relaxed)),
            ("connects_total", s.connects.load(Relaxed)),
        ];
        for (name, value) in counters {
            let _ = writeln!(out, "vireo_bus_peer_{name}{{peer=\"{}\"}} {value}", peer.name);
        }
    }
}

async fn reports(shard: &Rc<Shard>) -> Vec<ShardReport> {
    let mut reports = Vec::new();
    for index in 0..shard.router.shard_count() {
        if index == shard.index {
            reports.push(shard.report());
            continue;
        }
        let (sender, receiver) = flume::bounded(1);
        if shard.router.send(index, ShardMessage::Report { reply: sender }).await.is_ok()
            && let Ok(report) = receiver.recv_async().await
        {
            reports.push(report);
        }
    }
    reports
}

/// "Caught up and serving": every group ready and the edges accepting.
fn readiness(shard: &Shard, reports: &[ShardReport]) -> (bool, String) {
    let mut reasons = Vec::new();
    if !shard.router.serving() {
        reasons.push("client edges are not serving yet".to_owned());
    }
    if shard.router.stopping() {
        reasons.push("shutting down".to_owned());
    }
    if let Some(bus) = shard.bus.as_ref() {
        // A node that cannot talk with a majority (itself included) cannot know it is
        // caught up, and a view change it takes part in would stall.
        use std::sync::atomic::Ordering::Relaxed;
        let peers = bus.peers().count();
        let linked = bus
            .peers()
            .filter(|peer| {
                peer.stats.connected.load(Relaxed) && peer.stats.inbound.load(Relaxed) > 0
            })
            .count();
        let nodes = peers + 1;
        let majority = nodes / 2 + 1;
        if linked + 1 < majority {
            reasons.push(format!(
                "replica bus: linked both ways with {linked} of {peers} peers; a majority of the \
                 cluster is needed"
            ));
        }
    }
    let groups: Vec<_> = reports.iter().flat_map(|report| &report.groups).collect();
    if groups.len() != shard.router.groups().count() {
        reasons.push("not every shard reported".to_owned());
    }
    for group in groups {
        if !group.ready {
            let why = group.stall_reason.unwrap_or("not caught up");
            reasons.push(format!(
                "group {}: {why} (op {} applied {} committed {})",
                group.group, group.op, group.commit_min, group.commit_max
            ));
        }
    }
    if reasons.is_empty() {
        (true, "ready\n".to_owned())
    } else {
        (false, reasons.join("\n") + "\n")
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    kind: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let (result, _) = stream.write_all(response.into_bytes()).await;
    result.map(|_| ())
}
