//! The QUIC client edge.
//!
//! # How QUIC is driven on a thread-per-core node
//!
//! quinn's async driver needs a `Send` runtime (each connection sits behind an
//! `Arc<Mutex<…>>`, its `AsyncUdpSocket` must be `Send + Sync`); monoio is neither. The
//! two options were (a) one dedicated edge thread running quinn on a current-thread
//! tokio runtime that hands each request to a shard over channels, or (b) driving
//! `quinn-proto` directly inside every shard on a monoio UDP socket (timers, transmit
//! batching, GSO, connection-id routing to the right shard all re-implemented).
//!
//! **Choice: (a).** Every request already crosses to the owner shard of its partition
//! group (one hop through a bounded channel); the edge thread adds one more hop, a
//! few microseconds, against a request path dominated by consensus (journal write,
//! commit) and by QUIC's own crypto. The measurement behind the choice is recorded in
//! the node's issue note and in `tests/` (`bench_quic_vs_tcp`): same SDK, same
//! workload, QUIC through the edge thread vs TCP served directly on the shards. (b)
//! remains the path if one edge thread ever becomes the bottleneck: the shard side of
//! this module (`QuicLink` → `Session`) would stay as it is.
//!
//! Protocol: TLS 1.3, no ALPN, one bidirectional stream per request; the server reads
//! the stream to its end, answers once, then finishes the stream (FIN). Streams of one
//! connection are served in order (as the official server's serial `accept_bi` loop).

mod edge;
#[cfg(test)]
mod hop_bench;

use std::net::SocketAddr;

use bytes::Bytes;

pub use edge::{QuicEdge, spawn};

use crate::edge::Outgoing;

/// One request read from a stream, and where its reply goes.
#[derive(Debug)]
pub struct QuicRequest {
    /// The whole frame.
    pub frame: Bytes,
    /// The reply (written, then the stream is finished).
    pub reply: flume::Sender<Outgoing>,
}

/// A QUIC connection handed to a shard: its requests arrive on `requests`; the shard
/// serves them with a [`crate::edge::Session`] like a TCP connection's.
#[derive(Debug)]
pub struct QuicLink {
    /// The peer.
    pub address: SocketAddr,
    /// Requests, in stream order; closed when the connection ends.
    pub requests: flume::Receiver<QuicRequest>,
}

/// Serves a QUIC connection on the shard (spawned by the shard's inbox loop).
pub async fn serve(shard: std::rc::Rc<crate::shard::Shard>, link: QuicLink) {
    let mut session = crate::edge::Session::new(
        std::rc::Rc::clone(&shard),
        crate::edge::Transport::Quic,
        link.address.to_string(),
    );
    while let Ok(request) = link.requests.recv_async().await {
        let outgoing = session.handle(&request.frame).await;
        if request.reply.send_async(outgoing).await.is_err() {
            break;
        }
        if shard.router.stopping() {
            break;
        }
    }
    session.close().await;
}
