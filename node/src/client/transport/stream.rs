//! Request/reply framing over any byte stream: TCP, TLS over TCP, or turmoil's
//! simulated TCP. A reply is `[256-byte header][body]` with the total in `size`@48.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vireo_protocol::iggy::{HEADER_SIZE, read_size};

use super::Connection;
use crate::client::error::{Delivery, TransportError};

/// A lockstep connection over a byte stream.
#[derive(Debug)]
pub struct StreamConnection<S> {
    stream: S,
    address: String,
    reply_size_max: usize,
}

impl<S> StreamConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// Wraps a connected stream to `address`; replies above `reply_size_max` bytes are
    /// framing errors.
    pub fn new(stream: S, address: &str, reply_size_max: usize) -> Self {
        Self { stream, address: address.to_owned(), reply_size_max }
    }

    async fn send(&mut self, header: &[u8; HEADER_SIZE], body: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(header).await?;
        if !body.is_empty() {
            self.stream.write_all(body).await?;
        }
        self.stream.flush().await
    }

    async fn receive(&mut self, reply: &mut Vec<u8>) -> Result<(), TransportError> {
        let io_error = |error: std::io::Error| {
            TransportError::io(&self.address, Delivery::MaybeSent, format!("reading: {error}"))
        };
        reply.clear();
        reply.resize(HEADER_SIZE, 0);
        self.stream.read_exact(&mut reply[..HEADER_SIZE]).await.map_err(io_error)?;
        let size = read_size(reply).map_or(0, |size| size as usize);
        if size < HEADER_SIZE || size > self.reply_size_max {
            return Err(TransportError::framing(
                &self.address,
                format!("reply size {size} outside {HEADER_SIZE}..={}", self.reply_size_max),
            ));
        }
        reply.resize(size, 0);
        self.stream.read_exact(&mut reply[HEADER_SIZE..]).await.map_err(|error| {
            TransportError::io(&self.address, Delivery::MaybeSent, format!("reading: {error}"))
        })?;
        Ok(())
    }
}

impl<S> Connection for StreamConnection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn address(&self) -> &str {
        &self.address
    }

    async fn exchange(
        &mut self,
        header: &[u8; HEADER_SIZE],
        body: &[u8],
        reply: &mut Vec<u8>,
    ) -> Result<(), TransportError> {
        self.send(header, body).await.map_err(|error| {
            TransportError::io(&self.address, Delivery::MaybeSent, format!("writing: {error}"))
        })?;
        self.receive(reply).await
    }
}

#[cfg(test)]
mod tests {
    use vireo_protocol::iggy::SIZE_OFFSET;

    use super::*;
    use crate::client::error::TransportErrorKind;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut frame = vec![0u8; HEADER_SIZE];
        let size = (HEADER_SIZE + body.len()) as u32;
        frame[SIZE_OFFSET..SIZE_OFFSET + 4].copy_from_slice(&size.to_le_bytes());
        frame.extend_from_slice(body);
        frame
    }

    #[tokio::test]
    async fn sends_header_and_body_and_reads_one_whole_reply() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let mut connection = StreamConnection::new(client, "test:1", 1 << 20);
        let peer = tokio::spawn(async move {
            let mut request = vec![0u8; HEADER_SIZE + 3];
            server.read_exact(&mut request).await.unwrap();
            // Two replies back to back: the first exchange must read exactly one.
            server.write_all(&frame(b"reply-one")).await.unwrap();
            server.write_all(&frame(b"two")).await.unwrap();
            request
        });
        let header = [7u8; HEADER_SIZE];
        let mut reply = Vec::new();
        connection.exchange(&header, b"abc", &mut reply).await.unwrap();
        assert_eq!(&reply[HEADER_SIZE..], b"reply-one");
        let request = peer.await.unwrap();
        assert_eq!(&request[..HEADER_SIZE], &header[..]);
        assert_eq!(&request[HEADER_SIZE..], b"abc");
        connection.receive(&mut reply).await.unwrap();
        assert_eq!(&reply[HEADER_SIZE..], b"two");
    }

    #[tokio::test]
    async fn oversized_or_undersized_replies_are_framing_errors() {
        for size in [10u32, 1 << 21] {
            let (client, mut server) = tokio::io::duplex(1 << 16);
            let mut connection = StreamConnection::new(client, "test:1", 1 << 20);
            let mut bogus = vec![0u8; HEADER_SIZE];
            bogus[SIZE_OFFSET..SIZE_OFFSET + 4].copy_from_slice(&size.to_le_bytes());
            server.write_all(&bogus).await.unwrap();
            let error = connection.exchange(&[0; HEADER_SIZE], &[], &mut Vec::new()).await;
            assert_eq!(error.unwrap_err().kind, TransportErrorKind::Framing, "size {size}");
        }
    }

    #[tokio::test]
    async fn a_peer_closing_mid_reply_is_an_ambiguous_io_error() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let mut connection = StreamConnection::new(client, "test:1", 1 << 20);
        let mut partial = frame(b"0123456789");
        partial.truncate(HEADER_SIZE + 4);
        server.write_all(&partial).await.unwrap();
        drop(server);
        let error = connection.exchange(&[0; HEADER_SIZE], &[], &mut Vec::new()).await.unwrap_err();
        assert_eq!(error.kind, TransportErrorKind::Io);
        assert_eq!(error.delivery, Delivery::MaybeSent);
    }
}
