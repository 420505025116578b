//! Framing of the replica bus: a stream of whole `vireo_protocol::vsr::Message`s, each
//! `[header][body]` exactly as sealed. The [`Framer`] takes bytes as they arrive and
//! yields verified messages: the header is decoded (its checksum verified) and its size
//! checked against the cluster's largest message *before* waiting for the body, so a
//! hostile size never makes it buffer or allocate beyond the bound; the body checksum is
//! verified before the message is handed on. Any error is final for the connection (the
//! stream has lost its framing): the reader closes it and counts it.

use bytes::BytesMut;
use vireo_protocol::vsr::{HEADER_SIZE, Header, Message, MessageError};

/// A connection's incoming bytes, cut into messages.
#[derive(Debug)]
pub struct Framer {
    buffer: BytesMut,
    size_max: usize,
    /// The size of the message being assembled, once its header is verified.
    expected: Option<usize>,
}

impl Framer {
    /// A framer that refuses messages larger than `size_max` bytes.
    #[must_use]
    pub fn new(size_max: usize) -> Self {
        Self { buffer: BytesMut::new(), size_max, expected: None }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes buffered (bounded by one message plus one read).
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next complete, verified message; `Ok(None)` until enough bytes arrived.
    pub fn next_message(&mut self) -> Result<Option<Message>, MessageError> {
        let size = match self.expected {
            Some(size) => size,
            None => {
                if self.buffer.len() < HEADER_SIZE {
                    return Ok(None);
                }
                let header = Header::decode(&self.buffer[..HEADER_SIZE])?;
                Message::check_size(&header, self.size_max)?;
                let size = header.size as usize;
                self.expected = Some(size);
                size
            }
        };
        if self.buffer.len() < size {
            return Ok(None);
        }
        self.expected = None;
        let frame = self.buffer.split_to(size).freeze();
        Message::decode(frame, self.size_max).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use vireo_protocol::vsr::Command;

    use super::*;

    fn message(body: &[u8]) -> Message {
        let mut header = Header::new(Command::Ping);
        header.group = 3;
        Message::new(header, body)
    }

    #[test]
    fn messages_are_cut_from_arbitrary_chunks() {
        let messages = [message(b"one"), message(&[7u8; 5000]), message(b"")];
        let stream: Vec<u8> = messages.iter().flat_map(|m| m.as_bytes().to_vec()).collect();
        for chunk in [1, 7, 256, 4096, stream.len()] {
            let mut framer = Framer::new(1 << 20);
            let mut got = Vec::new();
            for piece in stream.chunks(chunk) {
                framer.push(piece);
                while let Some(message) = framer.next_message().unwrap() {
                    got.push(message);
                }
            }
            assert_eq!(got, messages, "chunk {chunk}");
            assert_eq!(framer.buffered(), 0);
        }
    }

    #[test]
    fn bad_frames_are_errors_never_panics() {
        let good = message(&[1u8; 100]);
        // Corrupt body.
        let mut bytes = good.as_bytes().to_vec();
        *bytes.last_mut().unwrap() ^= 1;
        let mut framer = Framer::new(1 << 20);
        framer.push(&bytes);
        assert_eq!(framer.next_message(), Err(MessageError::BodyChecksum));
        // Corrupt header.
        let mut bytes = good.as_bytes().to_vec();
        bytes[HEADER_SIZE - 1] ^= 1;
        let mut framer = Framer::new(1 << 20);
        framer.push(&bytes);
        assert!(matches!(framer.next_message(), Err(MessageError::Header(_))));
        // Larger than the bound: refused before the body arrives.
        let mut framer = Framer::new(HEADER_SIZE + 10);
        framer.push(&good.as_bytes()[..HEADER_SIZE]);
        assert!(matches!(framer.next_message(), Err(MessageError::TooLarge { .. })));
        // Garbage of every length.
        let mut state = 0x1234_5678_u64;
        for length in 0..600 {
            let garbage: Vec<u8> = (0..length)
                .map(|_| {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    (state >> 56) as u8
                })
                .collect();
            let mut framer = Framer::new(1 << 20);
            framer.push(&garbage);
            let _ = framer.next_message();
        }
    }
}
