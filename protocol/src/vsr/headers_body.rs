//! Bodies that carry a list of prepare headers: `Headers`, `DoViewChange`, `StartView`.
//!
//! Layout: `[count u32][reserved u32 = 0][count × 256-byte entry][nack bitset][present bitset]`,
//! each bitset `ceil(count / 8)` bytes, bit `i` describing entry `i`. An entry is a header,
//! or 256 zero bytes for a *blank*: a DoViewChange covers a contiguous range of ops and
//! marks the ops it holds no header for as blanks. Only a DoViewChange sets the bitsets:
//! `nack` = "I positively do not hold this op" (an op may be discarded only if a nack
//! quorum says so), `present` = "I hold this prepare's body intact".

use super::header::{HEADER_SIZE, Header, HeaderError};

/// Ways a headers body can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadersBodyError {
    /// Shorter than its fixed prefix.
    #[error("headers body truncated")]
    Truncated,
    /// `count` exceeds the caller's bound.
    #[error("{count} headers exceed the maximum {max}")]
    TooMany {
        /// Declared count.
        count: u32,
        /// Caller's bound.
        max: usize,
    },
    /// Length differs from what `count` implies.
    #[error("headers body length {actual} differs from {expected}")]
    Length {
        /// Implied length.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// A reserved field is not zero, or a bitset has bits past `count`.
    #[error("reserved bits set")]
    Reserved,
    /// Header `index` is invalid.
    #[error("header {index}: {error}")]
    Header {
        /// Position in the list.
        index: usize,
        /// What is wrong with it.
        error: HeaderError,
    },
}

/// A decoded headers body: each header verified, bitsets checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeadersBody {
    /// The entries in the order sent; `None` is a blank (no header held for that op).
    pub headers: Vec<Option<Header>>,
    /// `nack[i]`: the sender positively does not hold `headers[i]`'s op.
    pub nack: Vec<bool>,
    /// `present[i]`: the sender holds `headers[i]`'s body intact.
    pub present: Vec<bool>,
}

const PREFIX_SIZE: usize = 8;

impl HeadersBody {
    /// A body of headers (no blanks) with both bitsets clear.
    #[must_use]
    pub fn plain(headers: Vec<Header>) -> Self {
        let count = headers.len();
        Self {
            headers: headers.into_iter().map(Some).collect(),
            nack: vec![false; count],
            present: vec![false; count],
        }
    }

    /// Encodes the body.
    ///
    /// # Panics
    /// If the bitsets' lengths differ from the headers' (a bug).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let count = self.headers.len();
        assert_eq!(self.nack.len(), count);
        assert_eq!(self.present.len(), count);
        let bitset_size = count.div_ceil(8);
        let mut out = Vec::with_capacity(PREFIX_SIZE + count * HEADER_SIZE + 2 * bitset_size);
        out.extend_from_slice(&u32::try_from(count).expect("count fits u32").to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for header in &self.headers {
            match header {
                Some(header) => out.extend_from_slice(&header.to_bytes()),
                None => out.extend_from_slice(&[0u8; HEADER_SIZE]),
            }
        }
        for bits in [&self.nack, &self.present] {
            let mut bytes = vec![0u8; bitset_size];
            for (index, &bit) in bits.iter().enumerate() {
                if bit {
                    bytes[index / 8] |= 1 << (index % 8);
                }
            }
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Decodes and verifies a body of at most `count_max` headers. Total.
    pub fn decode(body: &[u8], count_max: usize) -> Result<Self, HeadersBodyError> {
        let prefix: &[u8; PREFIX_SIZE] = body
            .get(..PREFIX_SIZE)
            .and_then(|b| b.try_into().ok())
            .ok_or(HeadersBodyError::Truncated)?;
        let count = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        if prefix[4..].iter().any(|&b| b != 0) {
            return Err(HeadersBodyError::Reserved);
        }
        if count as usize > count_max {
            return Err(HeadersBodyError::TooMany { count, max: count_max });
        }
        let count = count as usize;
        let bitset_size = count.div_ceil(8);
        let expected = PREFIX_SIZE + count * HEADER_SIZE + 2 * bitset_size;
        if body.len() != expected {
            return Err(HeadersBodyError::Length { expected, actual: body.len() });
        }
        let mut headers = Vec::with_capacity(count);
        for index in 0..count {
            let at = PREFIX_SIZE + index * HEADER_SIZE;
            let bytes = &body[at..at + HEADER_SIZE];
            if bytes.iter().all(|&b| b == 0) {
                headers.push(None);
                continue;
            }
            let header =
                Header::decode(bytes).map_err(|error| HeadersBodyError::Header { index, error })?;
            headers.push(Some(header));
        }
        let bitsets = &body[PREFIX_SIZE + count * HEADER_SIZE..];
        let nack = decode_bitset(&bitsets[..bitset_size], count)?;
        let present = decode_bitset(&bitsets[bitset_size..], count)?;
        Ok(Self { headers, nack, present })
    }
}

fn decode_bitset(bytes: &[u8], count: usize) -> Result<Vec<bool>, HeadersBodyError> {
    let mut bits = Vec::with_capacity(count);
    for index in 0..bytes.len() * 8 {
        let bit = bytes[index / 8] & (1 << (index % 8)) != 0;
        if index < count {
            bits.push(bit);
        } else if bit {
            return Err(HeadersBodyError::Reserved);
        }
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsr::Command;
    use proptest::prelude::*;

    fn header(op: u64) -> Header {
        let mut header = Header::new(Command::Prepare);
        header.op = op;
        header.seal(&[]);
        header
    }

    #[test]
    fn round_trip_with_bitsets() {
        let body = HeadersBody {
            headers: (1..=10).map(|op| if op == 4 { None } else { Some(header(op)) }).collect(),
            nack: (0..10).map(|i| i % 3 == 0).collect(),
            present: (0..10).map(|i| i % 2 == 0).collect(),
        };
        let bytes = body.encode();
        assert_eq!(HeadersBody::decode(&bytes, 10), Ok(body));
        assert!(matches!(HeadersBody::decode(&bytes, 9), Err(HeadersBodyError::TooMany { .. })));
        let mut stray = bytes;
        *stray.last_mut().unwrap() |= 0x80;
        assert_eq!(HeadersBody::decode(&stray, 10), Err(HeadersBodyError::Reserved));
    }

    #[test]
    fn empty_round_trip() {
        let body = HeadersBody::plain(Vec::new());
        assert_eq!(HeadersBody::decode(&body.encode(), 4), Ok(body));
    }

    proptest! {
        #[test]
        fn decode_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
            let _ = HeadersBody::decode(&bytes, 3);
        }
    }
}
