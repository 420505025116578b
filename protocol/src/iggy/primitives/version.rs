//! The client's version prefix of both login bodies.

use super::name::Name;
use crate::iggy::wire::{DecodeError, Put, Reader};

/// Packs `major.minor.patch` as the protocol does: `major << 20 | minor << 10 | patch`
/// (10 bits each), so integer order is semver order.
#[must_use]
pub const fn pack_version(major: u32, minor: u32, patch: u32) -> u32 {
    ((major & 0x3ff) << 20) | ((minor & 0x3ff) << 10) | (patch & 0x3ff)
}

/// `[protocol_version u32][sdk_name Name][sdk_version Name]`, the first bytes of a
/// login body. The server gates on `protocol_version` before touching credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientVersionInfo<'a> {
    /// Packed protocol version the client was built against (0.11.0 = `11 << 10`).
    pub protocol_version: u32,
    /// SDK identifier, e.g. `rust-sdk`.
    pub sdk_name: Name<'a>,
    /// SDK build version, e.g. `0.11.0`.
    pub sdk_version: Name<'a>,
}

impl<'a> ClientVersionInfo<'a> {
    /// Reads the prefix.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            protocol_version: reader.u32()?,
            sdk_name: Name::decode(reader)?,
            sdk_version: Name::decode(reader)?,
        })
    }

    /// Appends the prefix.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.protocol_version);
        self.sdk_name.encode(out);
        self.sdk_version.encode(out);
    }

    /// `(major, minor, patch)` of `protocol_version`.
    #[must_use]
    pub fn semver(&self) -> (u32, u32, u32) {
        let v = self.protocol_version;
        (v >> 20 & 0x3ff, v >> 10 & 0x3ff, v & 0x3ff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_round_trips() {
        assert_eq!(pack_version(0, 11, 0), 11 << 10);
        assert!(pack_version(0, 11, 3) < pack_version(0, 12, 0));
        let info = ClientVersionInfo {
            protocol_version: pack_version(0, 11, 2),
            sdk_name: Name::new("rust-sdk").unwrap(),
            sdk_version: Name::new("0.11.0").unwrap(),
        };
        assert_eq!(info.semver(), (0, 11, 2));
        let mut out = Vec::new();
        info.encode(&mut out);
        assert_eq!(ClientVersionInfo::decode(&mut Reader::new(&out)), Ok(info));
    }
}
