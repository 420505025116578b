//! Per-peer counters of the replica bus (relaxed atomics; read by `/metrics` and
//! `GET /cluster`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters of one peer.
#[derive(Debug, Default)]
pub struct PeerStats {
    /// Our outgoing connection to the peer is established (handshake done).
    pub connected: AtomicBool,
    /// Incoming connections from the peer that are established (a reconnecting peer may
    /// briefly hold two).
    pub inbound: AtomicU64,
    /// Bytes in the peer's send queue (bounded by `PEER_QUEUE_BYTES_MAX`).
    pub queued_bytes: AtomicU64,
    /// Messages written to the peer.
    pub sent: AtomicU64,
    /// Messages dropped because the peer's send queue was full (VSR retransmits).
    pub dropped_queue_full: AtomicU64,
    /// Messages received from the peer and handed to a shard.
    pub received: AtomicU64,
    /// Received messages dropped because the owning shard's inbox was full.
    pub dropped_inbox_full: AtomicU64,
    /// Frames that failed verification (the connection was closed).
    pub bad_frames: AtomicU64,
    /// Outgoing connections established (1 + reconnects).
    pub connects: AtomicU64,
}

/// Counters not tied to a known peer.
#[derive(Debug, Default)]
pub struct BusStats {
    /// Handshakes refused (wrong cluster, shape, index or secret).
    pub handshakes_refused: AtomicU64,
}

/// Adds one.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Reads a counter.
#[must_use]
pub fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}
