//! Bounds-checked little-endian reading and appending: the two primitives every
//! client-plane codec is written in.
//!
//! Reading goes through [`Reader`], a cursor over a borrowed buffer whose every read
//! is checked, so a parser built from it cannot index out of bounds and reports the
//! byte offset of the first problem. Writing appends to a caller-provided `Vec<u8>`:
//! replies are built in place without per-field allocation.

/// Ways client-plane bytes can be malformed. Every variant carries the byte offset
/// (within the buffer being parsed) where the problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The buffer ended before a field did.
    #[error("truncated at byte {offset}: {needed} more bytes needed")]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// Bytes the field still needed.
        needed: usize,
    },
    /// Bytes remain after the last field of a fixed-shape body.
    #[error("unexpected trailing bytes from byte {offset}")]
    TrailingBytes {
        /// Where the surplus starts.
        offset: usize,
    },
    /// A string field is not UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Where the string starts.
        offset: usize,
    },
    /// A discriminant byte has no meaning for `field`.
    #[error("invalid {field} kind {value} at byte {offset}")]
    InvalidKind {
        /// The field being decoded.
        field: &'static str,
        /// Where the byte is.
        offset: usize,
        /// The unknown value.
        value: u8,
    },
    /// A length prefix is outside what `field` allows.
    #[error("invalid {field} length {length} at byte {offset}")]
    InvalidLength {
        /// The field being decoded.
        field: &'static str,
        /// Where the length is.
        offset: usize,
        /// The declared length.
        length: usize,
    },
    /// A boolean or presence flag is neither 0 nor 1.
    #[error("invalid flag {value} at byte {offset}")]
    InvalidFlag {
        /// Where the flag is.
        offset: usize,
        /// The value found.
        value: u8,
    },
    /// Padding that the official encoders always zero is not zero.
    #[error("non-zero padding at byte {offset}")]
    NonZeroPadding {
        /// Where the padding starts.
        offset: usize,
    },
    /// A key-value block (user headers or options) is malformed.
    #[error("invalid key-value block: {0}")]
    Tlv(#[from] crate::iggy::primitives::TlvError),
    /// A message batch is malformed.
    #[error("invalid batch: {0}")]
    Batch(#[from] crate::iggy::batch::BatchError),
    /// A count declared on the wire disagrees with what follows it.
    #[error("{field} count {declared} disagrees with {actual}")]
    CountMismatch {
        /// The field being decoded.
        field: &'static str,
        /// The declared count or length.
        declared: u64,
        /// What the bytes hold.
        actual: u64,
    },
}

/// A cursor over a borrowed buffer; every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// Bytes consumed so far.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes not yet consumed.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// True when every byte has been consumed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Takes the next `len` bytes.
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let truncated = DecodeError::Truncated {
            offset: self.offset,
            needed: len.saturating_sub(self.remaining()),
        };
        let end = self.offset.checked_add(len).ok_or(truncated)?;
        let taken = self.bytes.get(self.offset..end).ok_or(truncated)?;
        self.offset = end;
        Ok(taken)
    }

    /// Takes exactly `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// Takes everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.offset..];
        self.offset = self.bytes.len();
        rest
    }

    /// Reads a `u8`.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a little-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u128`.
    pub fn u128(&mut self) -> Result<u128, DecodeError> {
        Ok(u128::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `f32`.
    pub fn f32(&mut self) -> Result<f32, DecodeError> {
        Ok(f32::from_le_bytes(self.array()?))
    }

    /// Reads a 0/1 byte. Anything else is an error: the official encoders only write
    /// 0 or 1, and accepting other values would let two byte strings mean one request.
    pub fn flag(&mut self) -> Result<bool, DecodeError> {
        let offset = self.offset;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::InvalidFlag { offset, value }),
        }
    }

    /// Reads `len` bytes of UTF-8.
    pub fn str(&mut self, len: usize) -> Result<&'a str, DecodeError> {
        let offset = self.offset;
        let bytes = self.bytes(len)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { offset })
    }

    /// Reads a UTF-8 string behind a `u8` length (possibly empty).
    pub fn str_u8(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.u8()?;
        self.str(usize::from(len))
    }

    /// Reads a UTF-8 string behind a `u32` length (possibly empty).
    pub fn str_u32(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.u32()?;
        self.str(len as usize)
    }

    /// Succeeds only if every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes { offset: self.offset })
        }
    }
}

/// Appending little-endian values to a reply or request buffer.
pub trait Put {
    /// Appends a `u8`.
    fn put_u8(&mut self, value: u8);
    /// Appends a little-endian `u16`.
    fn put_u16(&mut self, value: u16);
    /// Appends a little-endian `u32`.
    fn put_u32(&mut self, value: u32);
    /// Appends a little-endian `u64`.
    fn put_u64(&mut self, value: u64);
    /// Appends a little-endian `u128`.
    fn put_u128(&mut self, value: u128);
    /// Appends a little-endian `f32`.
    fn put_f32(&mut self, value: f32);
    /// Appends raw bytes.
    fn put_bytes(&mut self, value: &[u8]);
    /// Appends a string behind a `u32` length.
    ///
    /// # Panics
    /// If the string is longer than `u32::MAX` (a bug: frames are far smaller).
    fn put_str_u32(&mut self, value: &str);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, value: u8) {
        self.push(value);
    }
    fn put_u16(&mut self, value: u16) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_u32(&mut self, value: u32) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_u64(&mut self, value: u64) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_u128(&mut self, value: u128) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_f32(&mut self, value: f32) {
        self.extend_from_slice(&value.to_le_bytes());
    }
    fn put_bytes(&mut self, value: &[u8]) {
        self.extend_from_slice(value);
    }
    fn put_str_u32(&mut self, value: &str) {
        self.put_u32(u32::try_from(value.len()).expect("string fits a u32 length"));
        self.put_bytes(value.as_bytes());
    }
}

/// Overwrites a little-endian `u32` at `at` (used to back-patch lengths).
///
/// # Panics
/// If `at + 4` exceeds the buffer (a bug in the caller's bookkeeping).
pub fn patch_u32(out: &mut [u8], at: usize, value: u32) {
    out[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_little_endian_and_reports_truncation_offsets() {
        let bytes = [1u8, 2, 0, 0, 0, 9];
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.u8(), Ok(1));
        assert_eq!(reader.u32(), Ok(2));
        assert_eq!(reader.u16(), Err(DecodeError::Truncated { offset: 5, needed: 1 }));
        assert_eq!(reader.finish(), Err(DecodeError::TrailingBytes { offset: 5 }));
        assert_eq!(reader.flag(), Err(DecodeError::InvalidFlag { offset: 5, value: 9 }));
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        let mut reader = Reader::new(&[0u8; 4]);
        reader.u8().unwrap();
        assert!(matches!(reader.bytes(usize::MAX), Err(DecodeError::Truncated { .. })));
        assert_eq!(reader.offset(), 1, "a failed read consumes nothing");
    }

    proptest! {
        #[test]
        fn put_then_read_round_trips(a in any::<u8>(), b in any::<u16>(), c in any::<u32>(),
                                     d in any::<u64>(), e in any::<u128>(), s in ".{0,40}") {
            let mut out = Vec::new();
            out.put_u8(a);
            out.put_u16(b);
            out.put_u32(c);
            out.put_u64(d);
            out.put_u128(e);
            out.put_str_u32(&s);
            let mut reader = Reader::new(&out);
            prop_assert_eq!(reader.u8().unwrap(), a);
            prop_assert_eq!(reader.u16().unwrap(), b);
            prop_assert_eq!(reader.u32().unwrap(), c);
            prop_assert_eq!(reader.u64().unwrap(), d);
            prop_assert_eq!(reader.u128().unwrap(), e);
            prop_assert_eq!(reader.str_u32().unwrap(), s.as_str());
            prop_assert!(reader.finish().is_ok());
        }
    }
}
