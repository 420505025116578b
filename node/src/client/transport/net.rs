//! The real network: TCP (optionally TLS) or QUIC, chosen by configuration.

use vireo_protocol::iggy::HEADER_SIZE;

use super::quic::{QuicConnection, QuicConnector};
use super::tcp::{TcpConnection, TcpConnector};
use super::{Connection, Connector};
use crate::client::config::{ClientConfig, TransportKind};
use crate::client::error::TransportError;

/// TCP or QUIC, per [`ClientConfig::transport`].
#[derive(Debug, Clone)]
pub enum NetConnector {
    /// TCP or TCP-TLS.
    Tcp(TcpConnector),
    /// QUIC.
    Quic(QuicConnector),
}

impl NetConnector {
    /// Builds the connector `config` asks for (TLS settings are checked here).
    pub fn new(config: &ClientConfig) -> Result<Self, String> {
        Ok(match config.transport {
            TransportKind::Tcp if config.tcp_tls => {
                Self::Tcp(TcpConnector::tls(&config.tls, config.reply_size_max)?)
            }
            TransportKind::Tcp => Self::Tcp(TcpConnector::plain(config.reply_size_max)),
            TransportKind::Quic => Self::Quic(QuicConnector::new(
                &config.tls,
                config.reply_size_max,
                config.quic_idle_timeout,
            )?),
        })
    }
}

/// A connection made by [`NetConnector`].
#[derive(Debug)]
pub enum NetConnection {
    /// TCP or TCP-TLS.
    Tcp(TcpConnection),
    /// QUIC.
    Quic(QuicConnection),
}

impl Connection for NetConnection {
    fn address(&self) -> &str {
        match self {
            Self::Tcp(connection) => connection.address(),
            Self::Quic(connection) => connection.address(),
        }
    }

    async fn exchange(
        &mut self,
        header: &[u8; HEADER_SIZE],
        body: &[u8],
        reply: &mut Vec<u8>,
    ) -> Result<(), TransportError> {
        match self {
            Self::Tcp(connection) => connection.exchange(header, body, reply).await,
            Self::Quic(connection) => connection.exchange(header, body, reply).await,
        }
    }
}

impl Connector for NetConnector {
    type Connection = NetConnection;

    async fn connect(&self, address: &str) -> Result<NetConnection, TransportError> {
        match self {
            Self::Tcp(connector) => connector.connect(address).await.map(NetConnection::Tcp),
            Self::Quic(connector) => connector.connect(address).await.map(NetConnection::Quic),
        }
    }
}
