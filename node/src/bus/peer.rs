//! One peer's outgoing connection: dial, handshake, then write the peer's send queue,
//! reconnecting with capped exponential backoff whenever the connection fails. While
//! disconnected the queue is not read, so it fills and [`Bus::send`](super::Bus::send)
//! drops (and counts) what does not fit; VSR retransmits.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use monoio::io::AsyncWriteRentExt;
use monoio::net::TcpStream;
use vireo_protocol::vsr::Message;

use super::Bus;
use super::handshake::{self, HandshakeError, Identity};
use super::stats::{PeerStats, bump};
use crate::shard::client::random_bytes;

/// First reconnect delay.
pub const BACKOFF_MIN: Duration = Duration::from_millis(20);
/// Longest reconnect delay (a restarted peer is found within this).
pub const BACKOFF_MAX: Duration = Duration::from_millis(500);
/// Bound on one TCP connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A write that makes no progress this long means the peer stopped reading (paused or
/// cut off): the connection is dropped and redialed, and `connected` reports it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Queued messages coalesced into one write (small messages: prepare_ok, commits).
const COALESCE_MESSAGES_MAX: usize = 64;
/// Bytes coalesced into one write.
const COALESCE_BYTES_MAX: usize = 256 << 10;

/// The next backoff after `current`.
#[must_use]
pub fn next_backoff(current: Duration) -> Duration {
    (current * 2).min(BACKOFF_MAX)
}

/// Runs for the life of the process.
pub async fn run(
    bus: Arc<Bus>,
    replica: u8,
    me: Identity,
    queue: flume::Receiver<Message>,
    kicked: flume::Receiver<()>,
) {
    let peer = bus.peer(replica).expect("a peer task per peer");
    let mut backoff = BACKOFF_MIN;
    let mut last_error: Option<String> = None;
    loop {
        match connect(peer.address, &me, replica).await {
            Ok(stream) => {
                tracing::info!(peer = replica, address = %peer.address, "replica bus connected");
                last_error = None;
                backoff = BACKOFF_MIN;
                bump(&peer.stats.connects);
                peer.stats.connected.store(true, Ordering::Relaxed);
                let error = write_loop(stream, &queue, &peer.stats).await;
                peer.stats.connected.store(false, Ordering::Relaxed);
                tracing::warn!(peer = replica, %error, "replica bus connection lost");
            }
            Err(error) => {
                let text = error.to_string();
                if matches!(error, HandshakeError::Mac | HandshakeError::Refused) {
                    bump(&bus.stats.handshakes_refused);
                }
                // Say it once per kind of failure, not on every retry.
                if last_error.as_deref() != Some(text.as_str()) {
                    tracing::warn!(peer = replica, address = %peer.address, error = %text,
                        "replica bus cannot reach peer; retrying");
                    last_error = Some(text);
                }
            }
        }
        // Messages queued while disconnected are stale by the time a connection is up
        // (VSR retransmits what matters): drop them rather than pin their buffers.
        discard(&queue, &peer.stats);
        // A peer that just connected to us is up: redial at once (a restarted node must
        // hear from its peers before the next view change needs it, not after a backoff).
        if monoio::time::timeout(backoff, kicked.recv_async()).await.is_ok() {
            backoff = BACKOFF_MIN;
        } else {
            backoff = next_backoff(backoff);
        }
        discard(&queue, &peer.stats);
    }
}

async fn connect(
    address: std::net::SocketAddr,
    me: &Identity,
    replica: u8,
) -> Result<TcpStream, HandshakeError> {
    let mut stream = monoio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
        .await
        .map_err(|_| HandshakeError::Timeout)?
        .map_err(|error| HandshakeError::Io(error.to_string()))?;
    let _ = stream.set_nodelay(true);
    handshake::dial(&mut stream, me, replica, random_bytes()).await?;
    Ok(stream)
}

fn discard(queue: &flume::Receiver<Message>, stats: &PeerStats) {
    while let Ok(message) = queue.try_recv() {
        stats.queued_bytes.fetch_sub(message.as_bytes().len() as u64, Ordering::Relaxed);
        bump(&stats.dropped_queue_full);
    }
}

async fn write_loop(
    mut stream: TcpStream,
    queue: &flume::Receiver<Message>,
    stats: &PeerStats,
) -> std::io::Error {
    loop {
        let Ok(first) = queue.recv_async().await else {
            return std::io::Error::other("bus stopped");
        };
        let mut writes = Writes::default();
        writes.push(&first);
        while writes.count < COALESCE_MESSAGES_MAX && writes.bytes < COALESCE_BYTES_MAX {
            let Ok(next) = queue.try_recv() else { break };
            writes.push(&next);
        }
        let count = writes.count as u64;
        stats.queued_bytes.fetch_sub(writes.bytes as u64, Ordering::Relaxed);
        for buffer in writes.finish() {
            let Ok((result, _)) =
                monoio::time::timeout(WRITE_TIMEOUT, stream.write_all(buffer)).await
            else {
                return std::io::Error::new(std::io::ErrorKind::TimedOut, "peer stopped reading");
            };
            if let Err(error) = result {
                return error;
            }
        }
        stats.sent.fetch_add(count, Ordering::Relaxed);
    }
}

/// Messages to write, in order: small ones copied together into one buffer (fewer
/// syscalls), large ones (prepares) written from their own shared buffer (no copy).
#[derive(Default)]
struct Writes {
    buffers: Vec<bytes::Bytes>,
    small: Vec<u8>,
    count: usize,
    bytes: usize,
}

/// Messages at least this large are written without copying.
const COPY_BYTES_MAX: usize = 16 << 10;

impl Writes {
    fn push(&mut self, message: &Message) {
        let bytes = message.as_bytes();
        if bytes.len() >= COPY_BYTES_MAX {
            self.flush_small();
            self.buffers.push(message.buffer().clone());
        } else {
            self.small.extend_from_slice(bytes);
        }
        self.count += 1;
        self.bytes += bytes.len();
    }

    fn flush_small(&mut self) {
        if !self.small.is_empty() {
            self.buffers.push(bytes::Bytes::from(std::mem::take(&mut self.small)));
        }
    }

    fn finish(mut self) -> Vec<bytes::Bytes> {
        self.flush_small();
        self.buffers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_messages_are_coalesced_in_order_and_large_ones_are_not_copied() {
        use vireo_protocol::vsr::{Command, Header};
        let small = |n: u8| Message::new(Header::new(Command::Ping), &[n; 10]);
        let large = Message::new(Header::new(Command::Prepare), &[9; COPY_BYTES_MAX]);
        let mut writes = Writes::default();
        for message in [small(1), small(2), large.clone(), small(3)] {
            writes.push(&message);
        }
        assert_eq!(writes.count, 4);
        let buffers = writes.finish();
        assert_eq!(buffers.len(), 3);
        assert_eq!(buffers[0].len(), 2 * small(1).as_bytes().len());
        assert_eq!(buffers[1].as_ptr(), large.buffer().as_ptr(), "shared, not copied");
        assert_eq!(&buffers[2][..], small(3).as_bytes());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut backoff = BACKOFF_MIN;
        let mut steps = 0;
        while backoff < BACKOFF_MAX {
            backoff = next_backoff(backoff);
            steps += 1;
        }
        assert_eq!(backoff, BACKOFF_MAX);
        assert!(steps < 10);
        assert_eq!(next_backoff(BACKOFF_MAX), BACKOFF_MAX);
    }
}
