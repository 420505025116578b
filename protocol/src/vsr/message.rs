//! A whole replica-plane message: a verified header plus the buffer that holds both.

use bytes::Bytes;

use super::header::{HEADER_SIZE, Header, HeaderError};

/// Hard upper bound on any replica-plane message; configs pick a smaller `message_size_max`.
pub const MESSAGE_SIZE_MAX_LIMIT: usize = 64 * 1024 * 1024;

/// A verified message: `buffer` is `[header][body]` exactly as received or journaled, so
/// forwarding or journaling it never re-encodes. Cloning shares the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    header: Header,
    buffer: Bytes,
}

/// Ways a message (header + body) can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The header itself is invalid.
    #[error("bad header: {0}")]
    Header(#[from] HeaderError),
    /// `size` exceeds the configured maximum.
    #[error("message size {size} exceeds the maximum {max}")]
    TooLarge {
        /// The header's `size`.
        size: u32,
        /// The configured bound.
        max: usize,
    },
    /// The buffer length differs from the header's `size`.
    #[error("buffer has {actual} bytes, header says {expected}")]
    SizeMismatch {
        /// The header's `size`.
        expected: u32,
        /// Bytes available.
        actual: usize,
    },
    /// `checksum_body` does not match the body.
    #[error("body checksum mismatch")]
    BodyChecksum,
}

impl Message {
    /// Builds and seals a message from a header template and a body.
    ///
    /// # Panics
    /// If the body does not fit the header's u32 size (a bug).
    #[must_use]
    pub fn new(mut header: Header, body: &[u8]) -> Self {
        header.seal(body);
        let mut buffer = Vec::with_capacity(HEADER_SIZE + body.len());
        buffer.extend_from_slice(&header.to_bytes());
        buffer.extend_from_slice(body);
        Self { header, buffer: Bytes::from(buffer) }
    }

    /// Verifies a complete frame: header checksum, size bound, exact length, body checksum.
    pub fn decode(buffer: Bytes, size_max: usize) -> Result<Self, MessageError> {
        let header = Header::decode(&buffer)?;
        Self::check_size(&header, size_max)?;
        if buffer.len() != header.size as usize {
            return Err(MessageError::SizeMismatch { expected: header.size, actual: buffer.len() });
        }
        if !header.valid_checksum_body(&buffer[HEADER_SIZE..]) {
            return Err(MessageError::BodyChecksum);
        }
        Ok(Self { header, buffer })
    }

    /// Checks a decoded header's `size` against `size_max`; a framer calls this before
    /// reading the body so a hostile size never makes it allocate.
    pub fn check_size(header: &Header, size_max: usize) -> Result<(), MessageError> {
        let max = size_max.min(MESSAGE_SIZE_MAX_LIMIT);
        if header.size as usize > max {
            return Err(MessageError::TooLarge { size: header.size, max });
        }
        Ok(())
    }

    /// The verified header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The body bytes.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.buffer[HEADER_SIZE..]
    }

    /// The whole frame, header included, as sent and journaled.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer
    }

    /// The shared buffer (cheap clone).
    #[must_use]
    pub fn buffer(&self) -> &Bytes {
        &self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsr::Command;
    use proptest::prelude::*;

    #[test]
    fn decode_verifies_body_and_size() {
        let message = Message::new(Header::new(Command::Prepare), b"hello");
        let decoded = Message::decode(message.buffer().clone(), 1024).expect("valid");
        assert_eq!(decoded.body(), b"hello");
        assert_eq!(decoded, message);

        let mut bytes = message.as_bytes().to_vec();
        *bytes.last_mut().unwrap() ^= 1;
        assert_eq!(Message::decode(Bytes::from(bytes), 1024), Err(MessageError::BodyChecksum));

        let short = message.buffer().slice(..message.as_bytes().len() - 1);
        assert!(matches!(Message::decode(short, 1024), Err(MessageError::SizeMismatch { .. })));
        assert!(matches!(
            Message::decode(message.buffer().clone(), 260),
            Err(MessageError::TooLarge { .. })
        ));
    }

    proptest! {
        #[test]
        fn decode_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Message::decode(Bytes::from(bytes), 4096);
        }
    }
}
