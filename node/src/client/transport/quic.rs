//! QUIC with quinn: one connection per node, one bidirectional stream per request —
//! the client writes header and body and finishes its side; the server replies once,
//! then finishes. No ALPN; TLS 1.3; server name `localhost` unless configured.

use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::QuicClientConfig;
use vireo_protocol::iggy::{HEADER_SIZE, read_size};

use super::tls::rustls_client_config;
use super::{Connection, Connector};
use crate::client::config::TlsSettings;
use crate::client::error::{Delivery, TransportError};

/// Dials QUIC; each connection gets its own endpoint (UDP socket), so parallel
/// clients (bench actors) do not share one socket.
#[derive(Debug, Clone)]
pub struct QuicConnector {
    config: quinn::ClientConfig,
    server_name: String,
    reply_size_max: usize,
}

impl QuicConnector {
    /// Builds the QUIC client configuration. `idle_timeout`: a connection that hears
    /// nothing from its server for this long is closed (see
    /// [`crate::client::ClientConfig::quic_idle_timeout`]).
    pub fn new(
        settings: &TlsSettings,
        reply_size_max: usize,
        idle_timeout: Duration,
    ) -> Result<Self, String> {
        let tls = rustls_client_config(settings, true)?;
        let crypto =
            QuicClientConfig::try_from(tls).map_err(|error| format!("QUIC TLS: {error}"))?;
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        // Large windows: a 1000 × 1 KB batch must not stall on flow control.
        transport
            .stream_receive_window((16u32 << 20).into())
            .receive_window((64u32 << 20).into())
            .send_window(64 << 20)
            .keep_alive_interval(Some(keep_alive_interval(idle_timeout)))
            .max_idle_timeout(Some(
                idle_timeout
                    .try_into()
                    .map_err(|_| format!("QUIC idle timeout {idle_timeout:?}"))?,
            ));
        config.transport_config(Arc::new(transport));
        Ok(Self { config, server_name: settings.server_name.clone(), reply_size_max })
    }
}

/// Keep-alives often enough that a live server is heard several times per idle
/// timeout (ACKs to them count), never more than every 100 ms.
fn keep_alive_interval(idle_timeout: Duration) -> Duration {
    (idle_timeout / 4).max(Duration::from_millis(100))
}

/// One QUIC connection (and its endpoint).
#[derive(Debug)]
pub struct QuicConnection {
    connection: quinn::Connection,
    _endpoint: quinn::Endpoint,
    address: String,
    reply_size_max: usize,
}

impl Drop for QuicConnection {
    fn drop(&mut self) {
        self.connection.close(0u32.into(), b"bye");
    }
}

impl Connector for QuicConnector {
    type Connection = QuicConnection;

    async fn connect(&self, address: &str) -> Result<QuicConnection, TransportError> {
        let remote = tokio::net::lookup_host(address)
            .await
            .map_err(|error| TransportError::connect(address, error))?
            .next()
            .ok_or_else(|| TransportError::connect(address, "address resolves to nothing"))?;
        let bind: std::net::SocketAddr =
            if remote.is_ipv6() { "[::]:0".parse() } else { "0.0.0.0:0".parse() }
                .expect("literal address");
        let mut endpoint = quinn::Endpoint::client(bind)
            .map_err(|error| TransportError::connect(address, error))?;
        endpoint.set_default_client_config(self.config.clone());
        let connection = endpoint
            .connect(remote, &self.server_name)
            .map_err(|error| TransportError::connect(address, error))?
            .await
            .map_err(|error| TransportError::connect(address, error))?;
        Ok(QuicConnection {
            connection,
            _endpoint: endpoint,
            address: address.to_owned(),
            reply_size_max: self.reply_size_max,
        })
    }
}

impl Connection for QuicConnection {
    fn address(&self) -> &str {
        &self.address
    }

    async fn exchange(
        &mut self,
        header: &[u8; HEADER_SIZE],
        body: &[u8],
        reply: &mut Vec<u8>,
    ) -> Result<(), TransportError> {
        let address = &self.address;
        let (mut send, mut receive) = self.connection.open_bi().await.map_err(|error| {
            TransportError::io(address, Delivery::NotSent, format!("opening a stream: {error}"))
        })?;
        let written = async {
            send.write_all(header).await?;
            send.write_all(body).await?;
            send.finish().map_err(|_| quinn::WriteError::ClosedStream)
        };
        written.await.map_err(|error| {
            TransportError::io(address, Delivery::MaybeSent, format!("writing: {error}"))
        })?;
        let frame =
            receive.read_to_end(self.reply_size_max).await.map_err(|error| match error {
                quinn::ReadToEndError::TooLong => TransportError::framing(
                    address,
                    format!("reply longer than {} bytes", self.reply_size_max),
                ),
                quinn::ReadToEndError::Read(error) => {
                    TransportError::io(address, Delivery::MaybeSent, format!("reading: {error}"))
                }
            })?;
        let size = read_size(&frame).map_or(0, |size| size as usize);
        if frame.len() < HEADER_SIZE || size != frame.len() {
            return Err(TransportError::framing(
                address,
                format!("reply of {} bytes declares size {size}", frame.len()),
            ));
        }
        *reply = frame;
        Ok(())
    }
}
