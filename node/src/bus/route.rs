//! The bus listener: accepts peers' connections, authenticates them, and routes every
//! received message to the shard owning `header.group` (the node's usual group → shard
//! placement). Incoming connections are read-only: this node answers over its own
//! outgoing connection to that peer.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use monoio::io::AsyncReadRent;
use monoio::net::{TcpListener, TcpStream};

use super::Bus;
use super::frame::Framer;
use super::handshake::{self, Identity};
use super::stats::bump;
use crate::shard::client::random_bytes;
use crate::shard::inbox::ShardMessage;
use crate::shard::router::Router;

/// Bytes read per `read` call.
const READ_CHUNK_BYTES: usize = 64 << 10;

/// Accepts peers until the process exits.
pub async fn serve(
    bus: Arc<Bus>,
    me: Identity,
    listener: std::net::TcpListener,
    router: Arc<Router>,
    size_max: usize,
) {
    let listener =
        match listener.set_nonblocking(true).and_then(|()| TcpListener::from_std(listener)) {
            Ok(listener) => listener,
            Err(error) => crate::exit::fatal(
                crate::exit::ExitCode::Bind,
                &format!("replica bus listener: {error}"),
            ),
        };
    loop {
        let Ok((stream, address)) = listener.accept().await else { continue };
        let bus = Arc::clone(&bus);
        let me = me.clone();
        let router = Arc::clone(&router);
        monoio::spawn(async move {
            if let Err(reason) = serve_peer(&bus, &me, stream, &router, size_max).await {
                tracing::warn!(%address, %reason, "replica bus connection closed");
            }
        });
    }
}

async fn serve_peer(
    bus: &Bus,
    me: &Identity,
    mut stream: TcpStream,
    router: &Router,
    size_max: usize,
) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let from = match handshake::accept(&mut stream, me, random_bytes()).await {
        Ok(from) => from,
        Err(error) => {
            bump(&bus.stats.handshakes_refused);
            // A misconfigured peer retries every backoff: say so at the 1st, 2nd, 4th, …
            let refused = super::stats::read(&bus.stats.handshakes_refused);
            if refused.is_power_of_two() {
                return Err(format!("handshake refused ({refused} so far): {error}"));
            }
            tracing::debug!(%error, "replica bus handshake refused");
            return Ok(());
        }
    };
    let peer = bus.peer(from).ok_or_else(|| format!("unknown peer {from}"))?;
    peer.stats.inbound.fetch_add(1, Ordering::Relaxed);
    if !peer.stats.connected.load(Ordering::Relaxed) {
        peer.kick();
    }
    let result = read_loop(bus, me.cluster, from, &mut stream, router, size_max).await;
    peer.stats.inbound.fetch_sub(1, Ordering::Relaxed);
    result
}

async fn read_loop(
    bus: &Bus,
    cluster: u128,
    from: u8,
    stream: &mut TcpStream,
    router: &Router,
    size_max: usize,
) -> Result<(), String> {
    let stats = &bus.peer(from).expect("checked by the caller").stats;
    let mut framer = Framer::new(size_max);
    let mut buffer = Vec::with_capacity(READ_CHUNK_BYTES);
    loop {
        let (result, returned) = stream.read(buffer).await;
        buffer = returned;
        let read = result.map_err(|error| error.to_string())?;
        if read == 0 {
            return Ok(());
        }
        framer.push(&buffer[..read]);
        buffer.clear();
        loop {
            let message = match framer.next_message() {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(error) => {
                    bump(&stats.bad_frames);
                    return Err(format!("bad frame from replica {from}: {error}"));
                }
            };
            let header = message.header();
            let group = header.group;
            if header.cluster != cluster || group > router.partition_groups() {
                bump(&stats.bad_frames);
                return Err(format!(
                    "frame from replica {from} for cluster {:#x} group {group}",
                    header.cluster
                ));
            }
            let shard = router.shard_of(group);
            if router.try_send(shard, ShardMessage::Replica { from, message }) {
                bump(&stats.received);
            } else {
                bump(&stats.dropped_inbox_full);
            }
        }
    }
}
