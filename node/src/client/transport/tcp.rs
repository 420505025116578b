//! TCP, optionally with TLS (tokio-rustls), with Nagle off as the server has it.

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use vireo_protocol::iggy::HEADER_SIZE;

use super::stream::StreamConnection;
use super::tls::{rustls_client_config, server_name};
use super::{Connection, Connector};
use crate::client::config::TlsSettings;
use crate::client::error::TransportError;

/// Dials TCP (and TLS when configured).
#[derive(Clone)]
pub struct TcpConnector {
    tls: Option<(TlsConnector, rustls::pki_types::ServerName<'static>)>,
    reply_size_max: usize,
}

impl std::fmt::Debug for TcpConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpConnector").field("tls", &self.tls.is_some()).finish_non_exhaustive()
    }
}

impl TcpConnector {
    /// Plain TCP.
    #[must_use]
    pub fn plain(reply_size_max: usize) -> Self {
        Self { tls: None, reply_size_max }
    }

    /// TCP with TLS.
    pub fn tls(settings: &TlsSettings, reply_size_max: usize) -> Result<Self, String> {
        let config = rustls_client_config(settings, false)?;
        let name = server_name(settings)?;
        Ok(Self { tls: Some((TlsConnector::from(Arc::new(config)), name)), reply_size_max })
    }
}

/// A TCP or TCP-TLS connection.
#[derive(Debug)]
pub enum TcpConnection {
    /// Plain.
    Plain(StreamConnection<TcpStream>),
    /// TLS.
    Tls(Box<StreamConnection<TlsStream<TcpStream>>>),
}

impl Connection for TcpConnection {
    fn address(&self) -> &str {
        match self {
            Self::Plain(connection) => connection.address(),
            Self::Tls(connection) => connection.address(),
        }
    }

    async fn exchange(
        &mut self,
        header: &[u8; HEADER_SIZE],
        body: &[u8],
        reply: &mut Vec<u8>,
    ) -> Result<(), TransportError> {
        match self {
            Self::Plain(connection) => connection.exchange(header, body, reply).await,
            Self::Tls(connection) => connection.exchange(header, body, reply).await,
        }
    }
}

impl Connector for TcpConnector {
    type Connection = TcpConnection;

    async fn connect(&self, address: &str) -> Result<TcpConnection, TransportError> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|error| TransportError::connect(address, error))?;
        stream.set_nodelay(true).map_err(|error| TransportError::connect(address, error))?;
        match &self.tls {
            None => Ok(TcpConnection::Plain(StreamConnection::new(
                stream,
                address,
                self.reply_size_max,
            ))),
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), stream)
                    .await
                    .map_err(|error| TransportError::connect(address, format!("TLS: {error}")))?;
                Ok(TcpConnection::Tls(Box::new(StreamConnection::new(
                    stream,
                    address,
                    self.reply_size_max,
                ))))
            }
        }
    }
}
