//! The TCP client edge on monoio: every shard listens on the same address with
//! `SO_REUSEPORT` (the kernel spreads connections over shards) and serves each
//! connection on the shard that accepted it.
//!
//! Framing: `[256-byte header][body]`, `size` at offset 48 covering both. A frame whose
//! size is below the header or above the hard limit cannot be skipped safely, so it is
//! refused and the connection closed; a frame above the node's request limit but below
//! the hard limit is read, discarded and refused with a status, and the connection keeps
//! serving.

use std::net::SocketAddr;
use std::rc::Rc;

use bytes::Bytes;
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRentExt, AsyncWriteRentExt};
use monoio::net::{ListenerOpts, TcpListener, TcpStream};
use vireo_protocol::iggy::{ErrorCode, HEADER_SIZE, read_size};

use super::tls_stream::TlsStream;
use crate::edge::{Outgoing, Session, Transport};
use crate::metrics::Metrics;
use crate::shard::Shard;

/// Frames above this are never read (the stream is abandoned).
pub const FRAME_SIZE_HARD_MAX: usize = 64 * 1024 * 1024;
/// Discarded bodies are read in pieces of this size.
const DISCARD_CHUNK: usize = 64 * 1024;

/// Binds the shard's listener (`SO_REUSEPORT`).
pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let options = ListenerOpts::new().reuse_port(true).reuse_addr(true).backlog(1024);
    TcpListener::bind_with_config(address, &options)
}

/// Accepts connections until shutdown.
pub async fn serve(shard: Rc<Shard>, listener: TcpListener) {
    let limit = shard.config.tcp.connections_max as u64;
    let open = Rc::new(std::cell::Cell::new(0u64));
    loop {
        let accepted = listener.accept().await;
        if shard.router.stopping() {
            return;
        }
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                monoio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        if open.get() >= limit {
            tracing::warn!(%peer, "connection limit reached; refusing");
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        open.set(open.get() + 1);
        let shard = Rc::clone(&shard);
        let open = Rc::clone(&open);
        monoio::spawn(async move {
            let tls = shard.tls.tcp.clone();
            let result = match tls {
                Some(config) => match TlsStream::accept(stream, config).await {
                    Ok(stream) => {
                        connection(Rc::clone(&shard), Io::Tls(Box::new(stream)), peer).await
                    }
                    Err(error) => Err(error),
                },
                None => connection(Rc::clone(&shard), Io::Plain(stream), peer).await,
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended");
            }
            open.set(open.get() - 1);
        });
    }
}

/// A connection, plain or TLS.
pub enum Io {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream>),
}

impl Io {
    /// Reads into `buffer[at..at + length]` (the vector's length becomes `at + length`).
    async fn read_into(
        &mut self,
        buffer: Vec<u8>,
        at: usize,
        length: usize,
    ) -> std::io::Result<Vec<u8>> {
        match self {
            Self::Plain(stream) => {
                let (result, slice) = stream.read_exact(buffer.slice_mut(at..at + length)).await;
                result.map(|_| slice.into_inner())
            }
            Self::Tls(stream) => stream.read_into(buffer, at, length).await,
        }
    }

    async fn write(&mut self, outgoing: Outgoing) -> std::io::Result<()> {
        match self {
            Self::Plain(stream) => {
                for chunk in outgoing.chunks {
                    let (result, _) = stream.write_all(chunk).await;
                    result?;
                }
                Ok(())
            }
            Self::Tls(stream) => stream.write_chunks(&outgoing.chunks).await,
        }
    }

    /// True when the peer closed the stream cleanly before a new frame.
    async fn read_header(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let buffer = Vec::with_capacity(HEADER_SIZE);
        match self.read_into(buffer, 0, HEADER_SIZE).await {
            Ok(buffer) => Ok(Some(buffer)),
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(error) => Err(error),
        }
    }
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "Io::Plain",
            Self::Tls(_) => "Io::Tls",
        })
    }
}

async fn connection(shard: Rc<Shard>, mut io: Io, peer: SocketAddr) -> std::io::Result<()> {
    let mut session = Session::new(Rc::clone(&shard), Transport::Tcp, peer.to_string());
    let result = frames(&shard, &mut io, &mut session).await;
    session.close().await;
    result
}

async fn frames(shard: &Rc<Shard>, io: &mut Io, session: &mut Session) -> std::io::Result<()> {
    let body_max = shard
        .config
        .consensus
        .partition_message_size_max
        .max(shard.config.consensus.metadata_message_size_max) as usize;
    loop {
        if shard.router.stopping() {
            return Ok(());
        }
        let Some(header) = io.read_header().await? else { return Ok(()) };
        let size = read_size(&header).unwrap_or(0) as usize;
        if !(HEADER_SIZE..=FRAME_SIZE_HARD_MAX).contains(&size) {
            Metrics::add(&shard.metrics.frames_rejected, 1);
            let mut refusal = crate::edge::answer_refusal(ErrorCode::INVALID_SIZE_BYTES);
            refusal.close = true;
            io.write(refusal).await?;
            return Ok(());
        }
        if size - HEADER_SIZE > body_max {
            discard(io, size - HEADER_SIZE).await?;
            Metrics::add(&shard.metrics.frames_rejected, 1);
            let code = if header.get(176)
                == Some(&(vireo_protocol::iggy::Operation::SendMessages as u8))
            {
                ErrorCode::TOO_BIG_MESSAGE_PAYLOAD
            } else {
                ErrorCode::INVALID_SIZE_BYTES
            };
            io.write(crate::edge::answer_for_header(&header, code)).await?;
            continue;
        }
        let mut frame = Vec::with_capacity(size);
        frame.extend_from_slice(&header);
        let frame = if size > HEADER_SIZE {
            io.read_into(frame, HEADER_SIZE, size - HEADER_SIZE).await?
        } else {
            frame
        };
        let outgoing = session.handle(&Bytes::from(frame)).await;
        let close = outgoing.close;
        io.write(outgoing).await?;
        if close {
            return Ok(());
        }
    }
}

async fn discard(io: &mut Io, mut remaining: usize) -> std::io::Result<()> {
    while remaining > 0 {
        let length = remaining.min(DISCARD_CHUNK);
        io.read_into(Vec::with_capacity(length), 0, length).await?;
        remaining -= length;
    }
    Ok(())
}
