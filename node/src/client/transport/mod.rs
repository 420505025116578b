//! The client's transports behind two small traits, so the request logic above them
//! runs unchanged over TCP, TLS, QUIC, or a simulated network (turmoil).
//!
//! A [`Connector`] dials a node; a [`Connection`] carries one request at a time
//! (lockstep): it sends the 256-byte header and the body, and returns the whole reply
//! frame. Any error leaves the connection unusable (a late reply would desync the
//! framing), so callers drop it.

mod net;
mod quic;
mod stream;
mod tcp;
mod tls;

use std::future::Future;

pub use net::NetConnector;
pub use quic::{QuicConnection, QuicConnector};
pub use stream::StreamConnection;
pub use tcp::{TcpConnection, TcpConnector};
pub use tls::rustls_client_config;
use vireo_protocol::iggy::HEADER_SIZE;

use super::error::TransportError;

/// One live connection to a node.
pub trait Connection: Send {
    /// The node's address, as dialed.
    fn address(&self) -> &str;

    /// Sends `header` then `body` as one request and reads the whole reply frame
    /// (header included) into `reply`, replacing its contents. The frame's `size` is
    /// checked against the bytes read; nothing else about the reply is.
    fn exchange(
        &mut self,
        header: &[u8; HEADER_SIZE],
        body: &[u8],
        reply: &mut Vec<u8>,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;
}

/// Dials nodes.
pub trait Connector: Send + Sync {
    /// What a dial yields.
    type Connection: Connection;

    /// Connects (and completes any TLS/QUIC handshake) to `address` (`host:port`).
    fn connect(
        &self,
        address: &str,
    ) -> impl Future<Output = Result<Self::Connection, TransportError>> + Send;
}
