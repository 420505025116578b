//! Request/reply framing over any byte stream: TCP, TLS over TCP, or turmoil's
//! simulated TCP. A reply is `[256-byte header][body]` with the total in `size`@48.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
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

    /// Why the connection died while idle, if it did: the peer closed it (a node that
    /// crashed or restarted), reset it, or sent bytes no request asked for. The
    /// protocol is lockstep, so between exchanges nothing may arrive; checked before a
    /// request is written, such a connection proves the request never reached the
    /// server ([`Delivery::NotSent`]), and the caller may resend it elsewhere without
    /// risking a duplicate. One non-blocking poll; no byte of a live connection is read.
    /// (Tokio keeps a socket marked readable until a read would block, and the previous
    /// reply was read exactly, so this poll reaches the socket; a close the kernel has
    /// not delivered yet — e.g. a crashed server whose sockets close late — still makes
    /// the next write ambiguous.)
    fn dead_while_idle(&mut self) -> Option<String> {
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut self.stream).poll_read(&mut cx, &mut buf) {
            Poll::Pending => None,
            Poll::Ready(Ok(())) if buf.filled().is_empty() => Some("closed by the peer".into()),
            Poll::Ready(Ok(())) => Some("unsolicited bytes between replies".into()),
            Poll::Ready(Err(error)) => Some(error.to_string()),
        }
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
        if let Some(why) = self.dead_while_idle() {
            return Err(TransportError::io(&self.address, Delivery::NotSent, why));
        }
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
            let error = connection.receive(&mut Vec::new()).await;
            assert_eq!(error.unwrap_err().kind, TransportErrorKind::Framing, "size {size}");
        }
    }

    #[tokio::test]
    async fn a_connection_closed_or_desynced_while_idle_proves_the_request_unsent() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let mut connection = StreamConnection::new(client, "test:1", 1 << 20);
        drop(server);
        let error = connection.exchange(&[0; HEADER_SIZE], &[], &mut Vec::new()).await.unwrap_err();
        assert_eq!((error.kind, error.delivery), (TransportErrorKind::Io, Delivery::NotSent));

        let (client, mut server) = tokio::io::duplex(1 << 16);
        let mut connection = StreamConnection::new(client, "test:1", 1 << 20);
        server.write_all(b"stray").await.unwrap();
        let error = connection.exchange(&[0; HEADER_SIZE], &[], &mut Vec::new()).await.unwrap_err();
        assert_eq!(error.delivery, Delivery::NotSent);
        let mut request = [0u8; 1];
        let unread = tokio::time::timeout(std::time::Duration::from_millis(50), async {
            server.read_exact(&mut request).await
        });
        assert!(unread.await.is_err(), "nothing was written to a desynced connection");
    }

    #[tokio::test]
    async fn a_peer_closing_mid_reply_is_an_ambiguous_io_error() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let mut connection = StreamConnection::new(client, "test:1", 1 << 20);
        let peer = tokio::spawn(async move {
            let mut request = vec![0u8; HEADER_SIZE];
            server.read_exact(&mut request).await.unwrap();
            let mut partial = frame(b"0123456789");
            partial.truncate(HEADER_SIZE + 4);
            server.write_all(&partial).await.unwrap();
        });
        let error = connection.exchange(&[0; HEADER_SIZE], &[], &mut Vec::new()).await.unwrap_err();
        peer.await.unwrap();
        assert_eq!(error.kind, TransportErrorKind::Io);
        assert_eq!(error.delivery, Delivery::MaybeSent);
    }
}
