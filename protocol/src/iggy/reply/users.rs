//! User, login and personal-access-token reply bodies.

use super::{decode_list, decode_prefixed_options, encode_prefixed_options};
use crate::iggy::primitives::{Name, Options, Permissions, PermissionsView};
use crate::iggy::wire::{DecodeError, Put, Reader};

/// The login reply (result-framed): `[user_id u32][session u64][server_protocol_version
/// u32][server_version Name]`. The SDK stamps `session` on every later request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRegisterReply<'a> {
    /// The authenticated user.
    pub user_id: u32,
    /// The session, > 0: the op number the Register committed at.
    pub session: u64,
    /// The server's packed protocol version.
    pub server_protocol_version: u32,
    /// The server's build version.
    pub server_version: Name<'a>,
}

impl<'a> LoginRegisterReply<'a> {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.user_id);
        out.put_u64(self.session);
        out.put_u32(self.server_protocol_version);
        self.server_version.encode(out);
    }

    /// Reads the body.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id: reader.u32()?,
            session: reader.u64()?,
            server_protocol_version: reader.u32()?,
            server_version: Name::decode(reader)?,
        })
    }
}

/// A user header: `[id u32][created_at u64][status u8][username Name][options
/// u32-len]`. `get_user` (and `create_user`, result-framed) append the permissions
/// tail ([`encode_user_permissions`]); `get_users` is a bare sequence of headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserReply<'a> {
    /// 0-based id (root is 0).
    pub id: u32,
    /// Creation time, µs.
    pub created_at: u64,
    /// 1 active, 2 inactive (the SDK refuses other values).
    pub status: u8,
    /// Name.
    pub username: Name<'a>,
    /// Options.
    pub options: Options<'a>,
}

impl<'a> UserReply<'a> {
    /// Appends the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(self.id);
        out.put_u64(self.created_at);
        out.put_u8(self.status);
        self.username.encode(out);
        encode_prefixed_options(&self.options, out);
    }

    /// Reads the header.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            id: reader.u32()?,
            created_at: reader.u64()?,
            status: reader.u8()?,
            username: Name::decode(reader)?,
            options: decode_prefixed_options(reader)?,
        })
    }

    /// Reads a `get_users` body.
    pub fn decode_all(body: &'a [u8]) -> Result<Vec<Self>, DecodeError> {
        decode_list(&mut Reader::new(body), None, 19, Self::decode)
    }
}

/// Appends the permissions tail of a detailed user: `[0u32]` for none (four zero
/// bytes, as the official encoder writes), else `[1][len u32][block]`.
pub fn encode_user_permissions(permissions: Option<&Permissions>, out: &mut Vec<u8>) {
    match permissions {
        Some(permissions) => permissions.encode_prefixed(out),
        None => out.put_u32(0),
    }
}

/// Reads the permissions tail of a detailed user.
pub fn decode_user_permissions<'a>(
    reader: &mut Reader<'a>,
) -> Result<Option<PermissionsView<'a>>, DecodeError> {
    let offset = reader.offset();
    match reader.u8()? {
        0 => {
            reader.bytes(3)?;
            Ok(None)
        }
        1 => {
            let length = reader.u32()? as usize;
            Ok(Some(PermissionsView::parse(reader.bytes(length)?)?))
        }
        value => Err(DecodeError::InvalidFlag { offset, value }),
    }
}

/// An entry of `get_personal_access_tokens`: `[name Name][expiry_at u64]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalAccessTokenReply<'a> {
    /// Token name.
    pub name: Name<'a>,
    /// Expiry, µs since the epoch; 0 = never.
    pub expiry_at: u64,
}

impl<'a> PersonalAccessTokenReply<'a> {
    /// Appends the entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.name.encode(out);
        out.put_u64(self.expiry_at);
    }

    /// Reads the entry.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self { name: Name::decode(reader)?, expiry_at: reader.u64()? })
    }

    /// Reads a whole list body.
    pub fn decode_all(body: &'a [u8]) -> Result<Vec<Self>, DecodeError> {
        decode_list(&mut Reader::new(body), None, 10, Self::decode)
    }
}

/// `create_personal_access_token` (result-framed): `[token Name]`, the only time the
/// raw token is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawTokenReply<'a> {
    /// The raw token.
    pub token: Name<'a>,
}

impl<'a> RawTokenReply<'a> {
    /// Appends the body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.token.encode(out);
    }

    /// Reads the body.
    pub fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self { token: Name::decode(reader)? })
    }
}
