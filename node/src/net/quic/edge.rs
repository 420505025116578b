//! The QUIC edge thread: quinn on a current-thread tokio runtime. It owns the UDP
//! socket and every QUIC connection, and hands each connection's requests to one shard
//! (round-robin) through a bounded channel (see the module docs of `net::quic`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use quinn::crypto::rustls::QuicServerConfig;
use vireo_protocol::iggy::ErrorCode;

use super::{QuicLink, QuicRequest};
use crate::config::Config;
use crate::net::tcp::FRAME_SIZE_HARD_MAX;
use crate::shard::inbox::ShardMessage;
use crate::shard::router::Router;

/// Requests queued per connection toward its shard.
const CONNECTION_QUEUE: usize = 16;

/// The running edge: join it after signalling `stop`.
#[derive(Debug)]
pub struct QuicEdge {
    /// The edge thread.
    pub thread: std::thread::JoinHandle<()>,
    /// Dropping or sending stops the endpoint.
    pub stop: flume::Sender<()>,
    /// The bound address (resolves port 0).
    pub address: SocketAddr,
}

/// Why the edge could not start.
#[derive(Debug, thiserror::Error)]
pub enum QuicStartError {
    /// The TLS configuration does not suit QUIC.
    #[error("QUIC TLS: {0}")]
    Tls(String),
    /// The UDP socket could not be bound.
    #[error("QUIC bind {address}: {message}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        message: String,
    },
}

/// Binds the endpoint and starts the edge thread.
pub fn spawn(
    config: &Config,
    tls: Arc<rustls::ServerConfig>,
    router: Arc<Router>,
) -> Result<QuicEdge, QuicStartError> {
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| QuicStartError::Tls(e.to_string()))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    let idle = Duration::from_millis(config.quic.idle_timeout_ms);
    transport
        .max_idle_timeout(Some(
            idle.try_into().map_err(|_| QuicStartError::Tls("idle timeout".into()))?,
        ))
        .max_concurrent_bidi_streams(64u32.into())
        .max_concurrent_uni_streams(0u32.into())
        .stream_receive_window((64u32 << 20).into())
        .receive_window((128u32 << 20).into())
        .send_window(128 << 20);
    server.transport_config(Arc::new(transport));
    let address = config.quic.address;
    let socket = std::net::UdpSocket::bind(address)
        .map_err(|e| QuicStartError::Bind { address, message: e.to_string() })?;
    let bound = socket.local_addr().unwrap_or(address);
    let (stop, stopped) = flume::bounded(1);
    let connections_max = config.quic.connections_max;
    let thread = std::thread::Builder::new()
        .name("vireo-quic".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => crate::exit::fatal(
                    crate::exit::ExitCode::Bind,
                    &format!("QUIC runtime: {error}"),
                ),
            };
            runtime.block_on(run(server, socket, router, stopped, connections_max));
        })
        .map_err(|e| QuicStartError::Bind { address, message: e.to_string() })?;
    Ok(QuicEdge { thread, stop, address: bound })
}

async fn run(
    server: quinn::ServerConfig,
    socket: std::net::UdpSocket,
    router: Arc<Router>,
    stopped: flume::Receiver<()>,
    connections_max: u32,
) {
    let runtime = quinn::default_runtime().expect("tokio runtime is current");
    let endpoint =
        match quinn::Endpoint::new(quinn::EndpointConfig::default(), Some(server), socket, runtime)
        {
            Ok(endpoint) => endpoint,
            Err(error) => {
                crate::exit::fatal(crate::exit::ExitCode::Bind, &format!("QUIC endpoint: {error}"))
            }
        };
    let next_shard = Arc::new(AtomicU32::new(0));
    let open = Arc::new(AtomicU32::new(0));
    loop {
        let incoming = tokio::select! {
            incoming = endpoint.accept() => incoming,
            _ = stopped.recv_async() => break,
        };
        let Some(incoming) = incoming else { break };
        if open.load(Ordering::Relaxed) >= connections_max || router.stopping() {
            incoming.refuse();
            continue;
        }
        let router = Arc::clone(&router);
        let next_shard = Arc::clone(&next_shard);
        let open = Arc::clone(&open);
        open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            if let Err(error) = connection(incoming, router, next_shard).await {
                tracing::debug!(%error, "QUIC connection ended");
            }
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    endpoint.close(0u32.into(), b"shutdown");
    endpoint.wait_idle().await;
}

async fn connection(
    incoming: quinn::Incoming,
    router: Arc<Router>,
    next_shard: Arc<AtomicU32>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let connection = incoming.await?;
    let address = connection.remote_address();
    let (requests, received) = flume::bounded(CONNECTION_QUEUE);
    let shard = next_shard.fetch_add(1, Ordering::Relaxed) % router.shard_count();
    router.send(shard, ShardMessage::Serve(QuicLink { address, requests: received })).await?;
    loop {
        let (mut send, mut recv) = match connection.accept_bi().await {
            Ok(streams) => streams,
            Err(
                quinn::ConnectionError::ApplicationClosed(_)
                | quinn::ConnectionError::LocallyClosed,
            ) => {
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        };
        let outgoing = match recv.read_to_end(FRAME_SIZE_HARD_MAX).await {
            Ok(frame) => {
                let (reply, replied) = flume::bounded(1);
                let request = QuicRequest { frame: frame.into(), reply };
                requests.send_async(request).await?;
                replied.recv_async().await?
            }
            Err(quinn::ReadToEndError::TooLong) => {
                crate::edge::answer_refusal(ErrorCode::INVALID_SIZE_BYTES)
            }
            Err(error) => return Err(error.into()),
        };
        for chunk in &outgoing.chunks {
            send.write_all(chunk).await?;
        }
        send.finish()?;
    }
}
