//! Names (`[len u8 1..=255][utf8]`) and secrets (passwords, tokens).

use std::fmt;

use crate::iggy::wire::{DecodeError, Put, Reader};

/// Constructing a wire value from caller data failed (encode side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A name, key or secret is empty or longer than its length prefix allows.
    #[error("length {0} outside 1..=255")]
    Length(usize),
}

/// A validated 1–255 byte UTF-8 name borrowed from the wire or the caller.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name<'a>(&'a str);

impl<'a> Name<'a> {
    /// Longest name the `u8` length prefix can carry.
    pub const LEN_MAX: usize = 255;

    /// Validates a caller's string.
    pub fn new(value: &'a str) -> Result<Self, ValueError> {
        if value.is_empty() || value.len() > Self::LEN_MAX {
            return Err(ValueError::Length(value.len()));
        }
        Ok(Self(value))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Bytes on the wire (prefix included).
    #[must_use]
    pub fn encoded_size(&self) -> usize {
        1 + self.0.len()
    }

    /// Reads `[len u8][utf8]`, refusing an empty name.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        let len = reader.u8()?;
        if len == 0 {
            return Err(DecodeError::InvalidLength { field: "name", offset, length: 0 });
        }
        Ok(Self(reader.str(usize::from(len))?))
    }

    /// Appends `[len u8][utf8]`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(self.0.len() as u8);
        out.put_bytes(self.0.as_bytes());
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A password or token behind a `u8` length. `Debug` never prints it, so a logged
/// request cannot leak credentials. The wire allows 0–255 bytes; length policy
/// (3–100 for passwords) belongs to the server.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret<'a>(&'a str);

impl<'a> Secret<'a> {
    /// Wraps a caller's secret (at most 255 bytes).
    pub fn new(value: &'a str) -> Result<Self, ValueError> {
        if value.len() > Name::LEN_MAX {
            return Err(ValueError::Length(value.len()));
        }
        Ok(Self(value))
    }

    /// The secret itself; call only where it is checked or hashed.
    #[must_use]
    pub fn expose(&self) -> &'a str {
        self.0
    }

    /// Reads `[len u8][utf8]`.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self(reader.str_u8()?))
    }

    /// Appends `[len u8][utf8]`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u8(self.0.len() as u8);
        out.put_bytes(self.0.as_bytes());
    }
}

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_bounds_and_round_trip() {
        assert_eq!(Name::new(""), Err(ValueError::Length(0)));
        assert!(Name::new(&"x".repeat(256)).is_err());
        let long = "y".repeat(255);
        let name = Name::new(&long).unwrap();
        let mut out = Vec::new();
        name.encode(&mut out);
        assert_eq!(out.len(), 256);
        assert_eq!(Name::decode(&mut Reader::new(&out)), Ok(name));
        assert!(matches!(
            Name::decode(&mut Reader::new(&[0])),
            Err(DecodeError::InvalidLength { .. })
        ));
        assert!(matches!(
            Name::decode(&mut Reader::new(&[2, 0xff, 0xfe])),
            Err(DecodeError::InvalidUtf8 { .. })
        ));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = Secret::new("hunter2").unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
