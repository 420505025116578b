//! Login (password or personal access token) and logout.
//!
//! The edge verifies credentials against the read view (argon2 on the blocking pool),
//! then opens a consensus session on the metadata group (a `Register` op). Its number is
//! the session the SDK stamps on every later request. Failures are evictions, as the
//! 0.11.0 server sends them: the SDK maps each reason to its error.

use std::sync::Arc;

use vireo_protocol::iggy::primitives::{ClientVersionInfo, Name, pack_version};
use vireo_protocol::iggy::reply::LoginRegisterReply;
use vireo_protocol::iggy::request::{LoginRegister, LoginRegisterWithPat};
use vireo_protocol::iggy::{ErrorCode, EvictionReason};
use vireo_protocol::metadata::UserStatus;

use super::auth::{blocking, token_digest, verify_password};
use super::{Answer, Session};
use crate::shard::client::CallError;

/// The protocol version this server speaks (Iggy 0.11.0).
pub const SERVER_PROTOCOL_VERSION: u32 = pack_version(0, 11, 0);
/// The oldest client protocol version accepted (patch releases never change the wire).
pub const SERVER_PROTOCOL_VERSION_MIN: u32 = pack_version(0, 11, 0);

/// The login gate: the client's protocol must be ≥ our minimum and its major.minor no
/// newer than ours.
fn compatible(version: &ClientVersionInfo<'_>) -> bool {
    let client = version.protocol_version;
    client >= SERVER_PROTOCOL_VERSION_MIN && client >> 10 <= SERVER_PROTOCOL_VERSION >> 10
}

impl Session {
    pub(super) async fn login(&mut self, login: LoginRegister<'_>) -> Answer {
        if !compatible(&login.version) {
            return Answer::Evict(EvictionReason::IncompatibleProtocol);
        }
        let mut user = self.view().user_by_name(login.username.as_str()).map(Arc::clone);
        if user.is_none() {
            // Created by another connection a moment ago? Ask the metadata shard.
            user = self.latest_view().await.user_by_name(login.username.as_str()).map(Arc::clone);
        }
        let Some(user) = user else {
            return Answer::Evict(EvictionReason::InvalidCredentials);
        };
        let password = login.password.expose().to_owned();
        let hash = user.password_hash.clone();
        if !blocking(move || verify_password(&password, &hash)).await {
            return Answer::Evict(EvictionReason::InvalidCredentials);
        }
        if user.status == UserStatus::Inactive {
            return Answer::Evict(EvictionReason::UserInactive);
        }
        self.open_session(user.id).await
    }

    pub(super) async fn login_with_token(&mut self, login: LoginRegisterWithPat<'_>) -> Answer {
        if !compatible(&login.version) {
            return Answer::Evict(EvictionReason::IncompatibleProtocol);
        }
        let digest = token_digest(login.token.expose());
        let now = crate::time::now_micros();
        let view = self.view();
        let found = view.users.values().find_map(|user| {
            let token = user.tokens.values().find(|token| token.hash == digest)?;
            Some((Arc::clone(user), token.expiry_at))
        });
        let Some((user, expiry_at)) = found else {
            return Answer::Evict(EvictionReason::InvalidToken);
        };
        if expiry_at.is_some_and(|at| at <= now) {
            return Answer::Evict(EvictionReason::InvalidToken);
        }
        if user.status == UserStatus::Inactive {
            return Answer::Evict(EvictionReason::UserInactive);
        }
        self.open_session(user.id).await
    }

    async fn open_session(&mut self, user_id: u32) -> Answer {
        self.consensus.reset(0);
        let router = Arc::clone(&self.shard.router);
        let session = match self.consensus.register(&router, 0, self.timeout).await {
            Ok(session) => session,
            Err(CallError::Timeout) => return Answer::Status(ErrorCode::TRANSIENT_NOT_COMMITTED),
            Err(_) => return Answer::Status(ErrorCode::TRANSIENT_NOT_ACCEPTED),
        };
        self.user_id = Some(user_id);
        self.iggy_session = session;
        self.publish();
        tracing::debug!(client = self.client_id, user_id, session, "logged in");
        let mut body = Vec::new();
        LoginRegisterReply {
            user_id,
            session,
            server_protocol_version: SERVER_PROTOCOL_VERSION,
            server_version: Name::new(env!("CARGO_PKG_VERSION")).expect("short version"),
        }
        .encode(&mut body);
        Answer::Ok(body)
    }

    pub(super) fn logout(&mut self) -> Answer {
        self.user_id = None;
        self.iggy_session = 0;
        self.consensus.reset(0);
        self.publish();
        Answer::Ok(Vec::new())
    }
}
