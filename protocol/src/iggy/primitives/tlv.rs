//! Key-value blocks: message user headers and resource options share one TLV layout,
//! `[key_kind u8][key_len u32][key][value_kind u8][value_len u32][value]…`.
//!
//! Structural rules (both uses): kinds are non-zero, every length is 1..=255, the
//! entries tile the block exactly and come in key/value pairs. Kind codes above 15
//! are accepted so blocks from newer clients stay forwardable. Options add: string
//! keys in UTF-8, no duplicate keys, at most [`OPTIONS_COUNT_MAX`] pairs and
//! [`OPTIONS_BYTES_MAX`] bytes. Validation never allocates.

use super::name::ValueError;
use crate::iggy::wire::Put;

/// Most key-value pairs in one options block.
pub const OPTIONS_COUNT_MAX: usize = 1024;
/// Most bytes in one options block.
pub const OPTIONS_BYTES_MAX: usize = 100_000;
const FIELD_LEN_MAX: usize = 255;

/// The value kinds defined by the 0.11.0 crates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum HeaderKind {
    /// Opaque bytes.
    Raw = 1,
    /// UTF-8 text.
    String = 2,
    /// One byte, 0 or 1.
    Bool = 3,
    /// `i8`.
    Int8 = 4,
    /// `i16` LE.
    Int16 = 5,
    /// `i32` LE.
    Int32 = 6,
    /// `i64` LE.
    Int64 = 7,
    /// `i128` LE.
    Int128 = 8,
    /// `u8`.
    Uint8 = 9,
    /// `u16` LE.
    Uint16 = 10,
    /// `u32` LE.
    Uint32 = 11,
    /// `u64` LE.
    Uint64 = 12,
    /// `u128` LE.
    Uint128 = 13,
    /// `f32` LE.
    Float32 = 14,
    /// `f64` LE.
    Float64 = 15,
}

/// Ways a key-value block can be malformed. Offsets are within the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// An entry runs past the end of the block.
    #[error("entry truncated at byte {0}")]
    Truncated(usize),
    /// A kind byte is 0.
    #[error("zero kind at byte {0}")]
    ZeroKind(usize),
    /// A length is 0 or above 255.
    #[error("field length {length} at byte {offset} outside 1..=255")]
    FieldLength {
        /// Where the length is.
        offset: usize,
        /// The declared length.
        length: u32,
    },
    /// A key has no value.
    #[error("odd number of entries")]
    UnpairedKey,
    /// An options block exceeds [`OPTIONS_BYTES_MAX`].
    #[error("options block of {0} bytes is too large")]
    TooLarge(usize),
    /// An options block exceeds [`OPTIONS_COUNT_MAX`] pairs.
    #[error("options block has too many entries")]
    TooMany,
    /// An option key is not a UTF-8 string.
    #[error("option key at byte {0} is not a UTF-8 string")]
    KeyNotString(usize),
    /// Two options share a key.
    #[error("duplicate option key")]
    DuplicateKey,
}

/// One key-value pair, borrowing the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlvEntry<'a> {
    /// Kind code of the key (2 = string for options).
    pub key_kind: u8,
    /// Key bytes.
    pub key: &'a [u8],
    /// Kind code of the value; see [`HeaderKind`].
    pub value_kind: u8,
    /// Value bytes.
    pub value: &'a [u8],
}

/// Reads one `[kind][len u32][data]` field at `at`; returns `(kind, data, next)`.
fn field(block: &[u8], at: usize) -> Result<(u8, &[u8], usize), TlvError> {
    let kind = *block.get(at).ok_or(TlvError::Truncated(at))?;
    if kind == 0 {
        return Err(TlvError::ZeroKind(at));
    }
    let len_bytes = block.get(at + 1..at + 5).ok_or(TlvError::Truncated(at))?;
    let length = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    if length == 0 || length as usize > FIELD_LEN_MAX {
        return Err(TlvError::FieldLength { offset: at + 1, length });
    }
    let start = at + 5;
    let data = block.get(start..start + length as usize).ok_or(TlvError::Truncated(at))?;
    Ok((kind, data, start + length as usize))
}

/// Reads one pair at `at`; `Ok(None)` at the end of the block.
fn pair(block: &[u8], at: usize) -> Result<Option<(TlvEntry<'_>, usize)>, TlvError> {
    if at >= block.len() {
        return Ok(None);
    }
    let (key_kind, key, next) = field(block, at)?;
    if next >= block.len() {
        return Err(TlvError::UnpairedKey);
    }
    let (value_kind, value, next) = field(block, next)?;
    Ok(Some((TlvEntry { key_kind, key, value_kind, value }, next)))
}

/// Checks the structural rules; returns the number of pairs.
fn validate_structure(block: &[u8]) -> Result<usize, TlvError> {
    let mut at = 0;
    let mut count = 0;
    while let Some((_, next)) = pair(block, at)? {
        at = next;
        count += 1;
    }
    Ok(count)
}

/// Iterates the pairs of a validated block.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    block: &'a [u8],
    at: usize,
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = TlvEntry<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        // The block was validated on construction, so an error cannot occur here;
        // stopping on one keeps the iterator total regardless.
        let (entry, next) = pair(self.block, self.at).ok().flatten()?;
        self.at = next;
        Some(entry)
    }
}

/// A validated user-headers block of one message (possibly empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserHeaders<'a>(&'a [u8]);

impl<'a> UserHeaders<'a> {
    /// Validates the structure of a message's user-headers bytes.
    pub fn parse(block: &'a [u8]) -> Result<Self, TlvError> {
        validate_structure(block)?;
        Ok(Self(block))
    }

    /// The raw bytes, as they sit in the frame.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The pairs.
    #[must_use]
    pub fn iter(&self) -> TlvIter<'a> {
        TlvIter { block: self.0, at: 0 }
    }
}

/// A validated options block (possibly empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options<'a>(&'a [u8]);

impl<'a> Options<'a> {
    /// The empty block.
    pub const EMPTY: Options<'static> = Options(&[]);

    /// Validates an options block against every rule, without allocating.
    pub fn parse(block: &'a [u8]) -> Result<Self, TlvError> {
        if block.len() > OPTIONS_BYTES_MAX {
            return Err(TlvError::TooLarge(block.len()));
        }
        let count = validate_structure(block)?;
        if count > OPTIONS_COUNT_MAX {
            return Err(TlvError::TooMany);
        }
        let mut keys: [&[u8]; OPTIONS_COUNT_MAX] = [&[]; OPTIONS_COUNT_MAX];
        let mut at = 0;
        for (index, entry) in (TlvIter { block, at: 0 }).enumerate() {
            if entry.key_kind != HeaderKind::String as u8 || std::str::from_utf8(entry.key).is_err()
            {
                return Err(TlvError::KeyNotString(at));
            }
            at += 10 + entry.key.len() + entry.value.len();
            keys[index] = entry.key;
        }
        let keys = &mut keys[..count];
        keys.sort_unstable();
        if keys.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(TlvError::DuplicateKey);
        }
        Ok(Self(block))
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// True for the empty block.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs; keys are UTF-8 by construction.
    #[must_use]
    pub fn iter(&self) -> TlvIter<'a> {
        TlvIter { block: self.0, at: 0 }
    }

    /// The entry whose key is `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<TlvEntry<'a>> {
        self.iter().find(|entry| entry.key == key.as_bytes())
    }
}

/// Builds a key-value block into a caller's buffer (our client, tests, replies).
#[derive(Debug, Default)]
pub struct TlvBuilder {
    bytes: Vec<u8>,
}

impl TlvBuilder {
    /// An empty block.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a pair; each field must be 1–255 bytes and kinds non-zero.
    pub fn push(
        &mut self,
        key_kind: u8,
        key: &[u8],
        value_kind: u8,
        value: &[u8],
    ) -> Result<&mut Self, ValueError> {
        for (kind, data) in [(key_kind, key), (value_kind, value)] {
            if kind == 0 || data.is_empty() || data.len() > FIELD_LEN_MAX {
                return Err(ValueError::Length(data.len()));
            }
        }
        for (kind, data) in [(key_kind, key), (value_kind, value)] {
            self.bytes.put_u8(kind);
            self.bytes.put_u32(data.len() as u32);
            self.bytes.put_bytes(data);
        }
        Ok(self)
    }

    /// Appends a string key with a string value.
    pub fn string(&mut self, key: &str, value: &str) -> Result<&mut Self, ValueError> {
        self.push(
            HeaderKind::String as u8,
            key.as_bytes(),
            HeaderKind::String as u8,
            value.as_bytes(),
        )
    }

    /// Appends a string key with a `Uint64` value.
    pub fn u64(&mut self, key: &str, value: u64) -> Result<&mut Self, ValueError> {
        self.push(
            HeaderKind::String as u8,
            key.as_bytes(),
            HeaderKind::Uint64 as u8,
            &value.to_le_bytes(),
        )
    }

    /// The block's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Takes the block's bytes.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn options_rules() {
        let mut builder = TlvBuilder::new();
        builder.u64("message_expiry", 5).unwrap().string("durability", "persisted").unwrap();
        let options = Options::parse(builder.as_bytes()).unwrap();
        assert_eq!(options.iter().count(), 2);
        assert_eq!(options.get("durability").map(|e| e.value), Some(&b"persisted"[..]));

        let mut duplicate = TlvBuilder::new();
        duplicate.u64("a", 1).unwrap().u64("a", 2).unwrap();
        assert_eq!(Options::parse(duplicate.as_bytes()), Err(TlvError::DuplicateKey));

        let mut raw_key = TlvBuilder::new();
        raw_key.push(1, b"k", 2, b"v").unwrap();
        assert_eq!(Options::parse(raw_key.as_bytes()), Err(TlvError::KeyNotString(0)));
        assert!(UserHeaders::parse(raw_key.as_bytes()).is_ok(), "user headers allow raw keys");

        let bytes = builder.as_bytes();
        assert!(matches!(Options::parse(&bytes[..bytes.len() - 1]), Err(TlvError::Truncated(_))));
        assert!(Options::parse(&vec![2u8; OPTIONS_BYTES_MAX + 1]).is_err());
        assert!(Options::parse(&[0, 1, 0, 0, 0, b'x']).is_err());
        assert_eq!(Options::parse(&[2, 1, 0, 0, 0, b'x']), Err(TlvError::UnpairedKey));
        assert!(matches!(Options::parse(&[2, 0, 1, 0, 0]), Err(TlvError::FieldLength { .. })));
    }

    #[test]
    fn count_limit_is_enforced() {
        let mut builder = TlvBuilder::new();
        for index in 0..=OPTIONS_COUNT_MAX {
            builder.u64(&format!("k{index}"), 0).unwrap();
        }
        assert_eq!(Options::parse(builder.as_bytes()), Err(TlvError::TooMany));
    }

    proptest! {
        #[test]
        fn parse_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Options::parse(&bytes);
            if let Ok(headers) = UserHeaders::parse(&bytes) {
                let consumed: usize = headers.iter().map(|e| 10 + e.key.len() + e.value.len()).sum();
                prop_assert_eq!(consumed, bytes.len());
            }
        }

        #[test]
        fn built_blocks_round_trip(entries in proptest::collection::btree_map("[a-z]{1,20}", any::<u64>(), 0..20)) {
            let mut builder = TlvBuilder::new();
            for (key, value) in &entries {
                builder.u64(key, *value).unwrap();
            }
            let options = Options::parse(builder.as_bytes()).unwrap();
            let decoded: Vec<(String, u64)> = options
                .iter()
                .map(|e| (String::from_utf8(e.key.to_vec()).unwrap(), u64::from_le_bytes(e.value.try_into().unwrap())))
                .collect();
            prop_assert_eq!(decoded, entries.into_iter().collect::<Vec<_>>());
        }
    }
}
