//! User, login and personal-access-token request bodies.

use super::Body;
use crate::iggy::primitives::{
    ClientVersionInfo, Identifier, Name, Options, PermissionsView, Secret,
};
use crate::iggy::wire::{DecodeError, Put, Reader};

fn decode_options<'a>(reader: &mut Reader<'a>) -> Result<Options<'a>, DecodeError> {
    Ok(Options::parse(reader.rest())?)
}

fn encode_optional_permissions(permissions: Option<&PermissionsView<'_>>, out: &mut Vec<u8>) {
    match permissions {
        Some(view) => {
            out.put_u8(1);
            out.put_u32(view.as_bytes().len() as u32);
            out.put_bytes(view.as_bytes());
        }
        None => out.put_u8(0),
    }
}

/// Code 33: `[username Name][password u8-len][status u8][permissions?][options…]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateUser<'a> {
    /// The new user's name.
    pub username: Name<'a>,
    /// Plain password; the node hashes it before it enters the log.
    pub password: Secret<'a>,
    /// 1 active, 2 inactive.
    pub status: u8,
    /// Initial permissions.
    pub permissions: Option<PermissionsView<'a>>,
    /// Options block (no user keys are defined yet).
    pub options: Options<'a>,
}

impl<'a> Body<'a> for CreateUser<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            username: Name::decode(reader)?,
            password: Secret::decode(reader)?,
            status: reader.u8()?,
            permissions: PermissionsView::decode_optional(reader)?,
            options: decode_options(reader)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.username.encode(out);
        self.password.encode(out);
        out.put_u8(self.status);
        encode_optional_permissions(self.permissions.as_ref(), out);
        out.put_bytes(self.options.as_bytes());
    }
}

/// Code 35: `[user][has_name u8][name?][has_status u8][status?][options…]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateUser<'a> {
    /// The user.
    pub user_id: Identifier<'a>,
    /// New name, if changing.
    pub username: Option<Name<'a>>,
    /// New status, if changing.
    pub status: Option<u8>,
    /// Options patch.
    pub options: Options<'a>,
}

impl<'a> Body<'a> for UpdateUser<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let user_id = Identifier::decode(reader)?;
        let username = if reader.flag()? { Some(Name::decode(reader)?) } else { None };
        let status = if reader.flag()? { Some(reader.u8()?) } else { None };
        Ok(Self { user_id, username, status, options: decode_options(reader)? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.user_id.encode(out);
        match self.username {
            Some(name) => {
                out.put_u8(1);
                name.encode(out);
            }
            None => out.put_u8(0),
        }
        match self.status {
            Some(status) => {
                out.put_u8(1);
                out.put_u8(status);
            }
            None => out.put_u8(0),
        }
        out.put_bytes(self.options.as_bytes());
    }
}

/// Code 36: `[user][has u8][len u32][permissions]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdatePermissions<'a> {
    /// The user.
    pub user_id: Identifier<'a>,
    /// The new set; `None` clears it.
    pub permissions: Option<PermissionsView<'a>>,
}

impl<'a> Body<'a> for UpdatePermissions<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id: Identifier::decode(reader)?,
            permissions: PermissionsView::decode_optional(reader)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.user_id.encode(out);
        encode_optional_permissions(self.permissions.as_ref(), out);
    }
}

/// Code 37: `[user][current u8-len][new u8-len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangePassword<'a> {
    /// The user.
    pub user_id: Identifier<'a>,
    /// The current password, checked by the node.
    pub current_password: Secret<'a>,
    /// The new password; hashed before it enters the log.
    pub new_password: Secret<'a>,
}

impl<'a> Body<'a> for ChangePassword<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            user_id: Identifier::decode(reader)?,
            current_password: Secret::decode(reader)?,
            new_password: Secret::decode(reader)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.user_id.encode(out);
        self.current_password.encode(out);
        self.new_password.encode(out);
    }
}

fn decode_context<'a>(reader: &mut Reader<'a>) -> Result<Option<&'a str>, DecodeError> {
    let context = reader.str_u32()?;
    Ok((!context.is_empty()).then_some(context))
}

fn encode_context(context: Option<&str>, out: &mut Vec<u8>) {
    out.put_str_u32(context.unwrap_or(""));
}

/// Code 40 (operation Register): `[ClientVersionInfo][username Name][password u8-len]
/// [context u32-len, 0 = none]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRegister<'a> {
    /// The client's version prefix; gate on it first.
    pub version: ClientVersionInfo<'a>,
    /// Username.
    pub username: Name<'a>,
    /// Password.
    pub password: Secret<'a>,
    /// Free-form client context.
    pub context: Option<&'a str>,
}

impl<'a> Body<'a> for LoginRegister<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            version: ClientVersionInfo::decode(reader)?,
            username: Name::decode(reader)?,
            password: Secret::decode(reader)?,
            context: decode_context(reader)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        self.username.encode(out);
        self.password.encode(out);
        encode_context(self.context, out);
    }
}

/// Code 45 (operation Register): `[ClientVersionInfo][token u8-len][context u32-len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRegisterWithPat<'a> {
    /// The client's version prefix.
    pub version: ClientVersionInfo<'a>,
    /// The raw token.
    pub token: Secret<'a>,
    /// Free-form client context.
    pub context: Option<&'a str>,
}

impl<'a> Body<'a> for LoginRegisterWithPat<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            version: ClientVersionInfo::decode(reader)?,
            token: Secret::decode(reader)?,
            context: decode_context(reader)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.version.encode(out);
        self.token.encode(out);
        encode_context(self.context, out);
    }
}

/// Code 42: `[name Name][expiry u64]` (µs; 0 = never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatePersonalAccessToken<'a> {
    /// Token name, unique per user.
    pub name: Name<'a>,
    /// Expiry, µs.
    pub expiry: u64,
}

impl<'a> Body<'a> for CreatePersonalAccessToken<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self { name: Name::decode(reader)?, expiry: reader.u64()? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.name.encode(out);
        out.put_u64(self.expiry);
    }
}

/// Code 43: `[name Name]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletePersonalAccessToken<'a> {
    /// Token name.
    pub name: Name<'a>,
}

impl<'a> Body<'a> for DeletePersonalAccessToken<'a> {
    fn decode(reader: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Self { name: Name::decode(reader)? })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        self.name.encode(out);
    }
}
