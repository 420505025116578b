//! TLS over a monoio `TcpStream`, driving a `rustls::ServerConnection` by hand (no
//! async TLS crate is pinned for monoio): ciphertext is read from the socket into the
//! connection, plaintext is buffered until a frame's bytes are all there, and writes are
//! encrypted into a buffer that is then written to the socket.

use std::io::{Read, Write as _};
use std::sync::Arc;

use bytes::Bytes;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use rustls::{ServerConfig, ServerConnection};

/// Ciphertext read per socket read.
const READ_CHUNK: usize = 16 * 1024;
/// Most plaintext buffered ahead of the frame being read.
const PLAINTEXT_BUFFER_MAX: usize = 64 * 1024 * 1024 + 16 * 1024;

/// A server-side TLS stream.
pub struct TlsStream {
    tcp: TcpStream,
    connection: ServerConnection,
    plaintext: Vec<u8>,
}

fn tls_error(error: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, error.to_string())
}

impl TlsStream {
    /// Completes the handshake on an accepted connection.
    pub async fn accept(tcp: TcpStream, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let connection = ServerConnection::new(config).map_err(tls_error)?;
        let mut stream = Self { tcp, connection, plaintext: Vec::new() };
        while stream.connection.is_handshaking() {
            stream.flush().await?;
            if stream.connection.is_handshaking() && stream.connection.wants_read() {
                stream.read_tls().await?;
            }
        }
        stream.flush().await?;
        Ok(stream)
    }

    /// Writes pending ciphertext to the socket.
    async fn flush(&mut self) -> std::io::Result<()> {
        while self.connection.wants_write() {
            let mut out = Vec::new();
            self.connection.write_tls(&mut out)?;
            let (result, _) = self.tcp.write_all(out).await;
            result?;
        }
        Ok(())
    }

    /// Reads one chunk of ciphertext and decrypts what it completes.
    async fn read_tls(&mut self) -> std::io::Result<()> {
        let (result, buffer) = self.tcp.read(Vec::with_capacity(READ_CHUNK)).await;
        let read = result?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let mut slice = &buffer[..read];
        while !slice.is_empty() {
            self.connection.read_tls(&mut slice)?;
            if let Err(error) = self.connection.process_new_packets() {
                let _ = self.flush().await; // Send the alert.
                return Err(tls_error(error));
            }
        }
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            match self.connection.reader().read(&mut chunk) {
                Ok(0) => break,
                Ok(count) => self.plaintext.extend_from_slice(&chunk[..count]),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) => return Err(error),
            }
            if self.plaintext.len() > PLAINTEXT_BUFFER_MAX {
                return Err(tls_error("plaintext buffer overflow"));
            }
        }
        Ok(())
    }

    /// Reads `length` plaintext bytes into `buffer` at `at`.
    pub async fn read_into(
        &mut self,
        mut buffer: Vec<u8>,
        at: usize,
        length: usize,
    ) -> std::io::Result<Vec<u8>> {
        while self.plaintext.len() < length {
            self.read_tls().await?;
            self.flush().await?;
        }
        buffer.truncate(at);
        buffer.extend(self.plaintext.drain(..length));
        Ok(buffer)
    }

    /// Encrypts and writes `chunks`. rustls accepts plaintext only up to its buffer
    /// limit, so each chunk goes in as pieces, each flushed to the socket before the next.
    pub async fn write_chunks(&mut self, chunks: &[Bytes]) -> std::io::Result<()> {
        for chunk in chunks {
            let mut written = 0;
            while written < chunk.len() {
                let accepted = self.connection.writer().write(&chunk[written..])?;
                if accepted == 0 && !self.connection.wants_write() {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                written += accepted;
                self.flush().await?;
            }
        }
        Ok(())
    }
}
