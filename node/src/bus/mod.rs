//! The replica bus: authenticated TCP connections between the nodes of a cluster, over
//! which replica-plane messages (`vireo_protocol::vsr::Message`) travel.
//!
//! One thread (`vireo-bus`, its own monoio runtime) runs every connection, so shards
//! never block on the network:
//!
//! * [`handshake`]: both ends prove the shared secret and agree on the cluster's shape;
//! * [`frame`]: the byte stream is cut into verified messages, bad frames counted;
//! * [`peer`]: per peer, one outgoing connection that this node dials and writes its
//!   messages to, with a bounded send queue (full → drop and count; VSR retransmits)
//!   and capped exponential reconnect backoff;
//! * [`route`]: the listener; every accepted (incoming) connection is read-only, and
//!   each message goes to the shard that owns `header.group` as
//!   [`ShardMessage::Replica`](crate::shard::inbox::ShardMessage::Replica).
//!
//! So every pair of nodes holds two connections, one per direction; which one is up is
//! what `GET /cluster` reports. Shards send with [`Bus::send`] (via
//! `Shard::send_to_replica`).

pub mod frame;
pub mod handshake;
pub mod peer;
pub mod route;
pub mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use vireo_protocol::vsr::Message;

use crate::config::Config;
use crate::shard::router::Router;
use handshake::Identity;
use stats::{BusStats, PeerStats, bump};

/// Messages queued per peer before new ones are dropped (VSR retransmits what is
/// dropped).
pub const PEER_QUEUE_CAPACITY: usize = 256;
/// Bytes queued per peer before new messages are dropped: prepares are up to
/// `message_size_max` each, and a slow peer must not pin hundreds of MiB.
pub const PEER_QUEUE_BYTES_MAX: u64 = 64 << 20;

/// One other node.
#[derive(Debug)]
pub struct Peer {
    /// Its replica index.
    pub replica: u8,
    /// Its name.
    pub name: String,
    /// The replica address this node dials.
    pub address: SocketAddr,
    /// Counters.
    pub stats: PeerStats,
    queue: flume::Sender<Message>,
    /// Wakes the dialer out of its backoff (the peer just dialed us: it is up).
    kick: flume::Sender<()>,
}

impl Peer {
    /// Tells the dialer to retry now instead of finishing its backoff.
    pub fn kick(&self) {
        let _ = self.kick.try_send(());
    }
}

/// The bus as shards see it. See the module docs.
#[derive(Debug)]
pub struct Bus {
    /// This node's replica index.
    pub me: u8,
    peers: Vec<Option<Peer>>,
    /// Counters not tied to a peer.
    pub stats: BusStats,
}

/// Why the bus could not start.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The replica address could not be bound.
    #[error("bind replica bus {address}: {message}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The OS error.
        message: String,
    },
    /// The bus thread could not start.
    #[error("replica bus thread: {0}")]
    Thread(String),
}

impl Bus {
    /// Queues `message` for replica `replica`; false if dropped (queue full, unknown
    /// replica, or this node itself).
    pub fn send(&self, replica: u8, message: Message) -> bool {
        let Some(Some(peer)) = self.peers.get(usize::from(replica)) else { return false };
        let size = message.as_bytes().len() as u64;
        let queued = peer.stats.queued_bytes.fetch_add(size, Ordering::Relaxed);
        if queued + size <= PEER_QUEUE_BYTES_MAX && peer.queue.try_send(message).is_ok() {
            true
        } else {
            peer.stats.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            bump(&peer.stats.dropped_queue_full);
            false
        }
    }

    /// Every other node, by replica index.
    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.iter().flatten()
    }

    /// The peer `replica`, if it is another node.
    #[must_use]
    pub fn peer(&self, replica: u8) -> Option<&Peer> {
        self.peers.get(usize::from(replica)).and_then(Option::as_ref)
    }
}

/// The largest replica-plane message any group of this cluster sends.
#[must_use]
pub fn message_size_max(config: &Config) -> usize {
    let c = &config.consensus;
    // Partition data answers may exceed a group's bound slightly (see FRAME_SLACK_BYTES).
    usize::try_from(c.metadata_message_size_max.max(c.partition_message_size_max))
        .unwrap_or(usize::MAX)
        .saturating_add(crate::partition::transfer::FRAME_SLACK_BYTES)
}

/// How long start-up retries binding the replica address while it is in use: after a
/// crash, a peer's short-lived outgoing connection may hold the port as its ephemeral
/// source port for a moment.
const BIND_RETRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn bind(address: SocketAddr) -> Result<std::net::TcpListener, BusError> {
    let deadline = std::time::Instant::now() + BIND_RETRY_TIMEOUT;
    loop {
        match std::net::TcpListener::bind(address) {
            Ok(listener) => return Ok(listener),
            Err(error)
                if error.kind() == std::io::ErrorKind::AddrInUse
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(error) => {
                return Err(BusError::Bind { address, message: error.to_string() });
            }
        }
    }
}

/// Binds the replica address and starts the bus thread (multi-node clusters only).
pub fn start(config: &Arc<Config>, router: &Arc<Router>) -> Result<Arc<Bus>, BusError> {
    let cluster = &config.cluster;
    let me = cluster.me().expect("validated: a multi-node cluster has this node's entry");
    let listener = bind(me.replica)?;
    let identity = Identity::new(
        config.consensus.cluster_id,
        cluster.replica_count(),
        config.consensus.partition_groups,
        cluster.replica,
        cluster.secret.as_deref().unwrap_or_default().as_bytes(),
    );
    let mut peers = Vec::new();
    let mut queues = Vec::new();
    for (index, node) in cluster.nodes.iter().enumerate() {
        let replica = u8::try_from(index).expect("at most 6 nodes");
        if replica == cluster.replica {
            peers.push(None);
            continue;
        }
        let (queue, receiver) = flume::bounded(PEER_QUEUE_CAPACITY);
        let (kick, kicked) = flume::bounded(1);
        queues.push((replica, receiver, kicked));
        peers.push(Some(Peer {
            replica,
            name: node.name.clone(),
            address: node.replica,
            stats: PeerStats::default(),
            queue,
            kick,
        }));
    }
    let bus = Arc::new(Bus { me: cluster.replica, peers, stats: BusStats::default() });
    let size_max = message_size_max(config);
    let thread_bus = Arc::clone(&bus);
    let router = Arc::clone(router);
    std::thread::Builder::new()
        .name("vireo-bus".into())
        .spawn(move || {
            let runtime = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
                .enable_timer()
                .with_entries(256)
                .build();
            let mut runtime = match runtime {
                Ok(runtime) => runtime,
                Err(error) => crate::exit::fatal(
                    crate::exit::ExitCode::Storage,
                    &format!("replica bus io_uring runtime: {error}"),
                ),
            };
            runtime.block_on(async move {
                for (replica, receiver, kicked) in queues {
                    monoio::spawn(peer::run(
                        Arc::clone(&thread_bus),
                        replica,
                        identity.clone(),
                        receiver,
                        kicked,
                    ));
                }
                route::serve(thread_bus, identity, listener, router, size_max).await;
            });
        })
        .map_err(|error| BusError::Thread(error.to_string()))?;
    Ok(bus)
}

#[cfg(test)]
mod tests {
    use vireo_protocol::vsr::{Command, Header};

    use super::*;
    use stats::read;

    #[test]
    fn a_full_peer_queue_drops_and_counts_instead_of_blocking() {
        let (queue, receiver) = flume::bounded(PEER_QUEUE_CAPACITY);
        let peer = Peer {
            replica: 1,
            name: "node-1".into(),
            address: "127.0.0.1:1".parse().unwrap(),
            stats: PeerStats::default(),
            queue,
            kick: flume::bounded(1).0,
        };
        let bus = Bus { me: 0, peers: vec![None, Some(peer)], stats: BusStats::default() };
        let message = Message::new(Header::new(Command::Ping), &[]);
        for _ in 0..PEER_QUEUE_CAPACITY {
            assert!(bus.send(1, message.clone()));
        }
        assert!(!bus.send(1, message.clone()), "full");
        assert!(!bus.send(1, message.clone()), "still full");
        assert_eq!(read(&bus.peer(1).unwrap().stats.dropped_queue_full), 2);
        assert!(!bus.send(0, message.clone()), "never to itself");
        assert!(!bus.send(5, message.clone()), "unknown replica");
        receiver.try_recv().unwrap();
        bus.peer(1)
            .unwrap()
            .stats
            .queued_bytes
            .fetch_sub(message.as_bytes().len() as u64, Ordering::Relaxed);
        assert!(bus.send(1, message), "room again");

        // The byte bound holds however few messages are queued.
        while receiver.try_recv().is_ok() {}
        bus.peer(1).unwrap().stats.queued_bytes.store(0, Ordering::Relaxed);
        let large = Message::new(Header::new(Command::Ping), &vec![0u8; 40 << 20]);
        assert!(bus.send(1, large.clone()));
        assert!(!bus.send(1, large), "over PEER_QUEUE_BYTES_MAX");
        assert_eq!(read(&bus.peer(1).unwrap().stats.dropped_queue_full), 3);
    }
}
