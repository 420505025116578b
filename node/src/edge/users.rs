//! Users and personal access tokens.

use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::primitives::{Identifier, Name};
use vireo_protocol::iggy::reply::{PersonalAccessTokenReply, RawTokenReply};
use vireo_protocol::iggy::request::{
    ChangePassword, CreatePersonalAccessToken, CreateUser, DeletePersonalAccessToken,
    UpdatePermissions, UpdateUser,
};
use vireo_protocol::metadata::{MetadataOp, UserStatus};

use super::auth::{Access, blocking, generate_token, hash_password, token_digest, verify_password};
use super::{Answer, Session, render, resolve};
use crate::metadata::MetadataCommand;

/// Usernames: 3–50 bytes; passwords: 3–100 bytes (as Iggy).
fn valid_username(name: &str) -> bool {
    (3..=50).contains(&name.len())
}

fn valid_password(password: &str) -> bool {
    (3..=100).contains(&password.len())
}

fn status(code: u8) -> Result<UserStatus, ErrorCode> {
    match code {
        1 => Ok(UserStatus::Active),
        2 => Ok(UserStatus::Inactive),
        _ => Err(ErrorCode::INVALID_USER_STATUS),
    }
}

impl Session {
    pub(super) fn get_user(&self, id: &Identifier<'_>) -> Answer {
        let view = self.view();
        let Ok(me) = self.user(&view) else { return ErrorCode::UNAUTHENTICATED.into() };
        let Ok(user) = resolve::user(&view, id) else { return Answer::Ok(Vec::new()) };
        if user.id != me.id
            && let Err(code) = self.check(&view, Access::ReadUsers)
        {
            return code.into();
        }
        let mut body = Vec::new();
        render::user(user, true, &mut body);
        Answer::Ok(body)
    }

    pub(super) fn get_users(&self) -> Answer {
        let view = self.view();
        if let Err(code) = self.check(&view, Access::ReadUsers) {
            return code.into();
        }
        let mut body = Vec::new();
        for user in view.users.values() {
            render::user(user, false, &mut body);
        }
        Answer::Ok(body)
    }

    pub(super) async fn create_user(&mut self, create: &CreateUser<'_>) -> Answer {
        let view = self.view();
        if let Err(code) = self.check(&view, Access::ManageUsers) {
            return code.into();
        }
        let username = create.username.as_str().to_owned();
        let password = create.password.expose().to_owned();
        if !valid_username(&username) {
            return ErrorCode::INVALID_USERNAME.into();
        }
        if !valid_password(&password) {
            return ErrorCode::INVALID_PASSWORD.into();
        }
        let status = match status(create.status) {
            Ok(status) => status,
            Err(code) => return code.into(),
        };
        if view.user_by_name(&username).is_some() {
            return ErrorCode::USER_ALREADY_EXISTS.into();
        }
        let password_hash = blocking(move || hash_password(&password)).await;
        let op = MetadataOp::CreateUser {
            username,
            password_hash,
            status,
            permissions: create.permissions.map(|view| view.to_permissions()),
        };
        match self.propose_metadata(MetadataCommand { op, options_set: 0 }).await {
            Ok((id, op, view)) => {
                let mut payload = Vec::new();
                if let Some(user) = view.users.get(&id) {
                    render::user(user, true, &mut payload);
                }
                Answer::Committed { payload, op }
            }
            Err(answer) => answer,
        }
    }

    /// Resolves a user for a management op: the user, or the refusal.
    fn managed_user(&self, id: &Identifier<'_>) -> Result<u32, Answer> {
        let view = self.view();
        self.check(&view, Access::ManageUsers)?;
        Ok(resolve::user(&view, id)?.id)
    }

    async fn propose_simple(&mut self, op: MetadataOp) -> Answer {
        match self.propose_metadata(MetadataCommand { op, options_set: 0 }).await {
            Ok((_, op, _)) => Answer::Committed { payload: Vec::new(), op },
            Err(answer) => answer,
        }
    }

    pub(super) async fn delete_user(&mut self, id: &Identifier<'_>) -> Answer {
        match self.managed_user(id) {
            Ok(user_id) => self.propose_simple(MetadataOp::DeleteUser { user_id }).await,
            Err(answer) => answer,
        }
    }

    pub(super) async fn update_user(&mut self, update: &UpdateUser<'_>) -> Answer {
        let user_id = match self.managed_user(&update.user_id) {
            Ok(user_id) => user_id,
            Err(answer) => return answer,
        };
        let username = update.username.map(|name| name.as_str().to_owned());
        if username.as_deref().is_some_and(|name| !valid_username(name)) {
            return ErrorCode::INVALID_USERNAME.into();
        }
        let status = match update.status.map(status).transpose() {
            Ok(status) => status,
            Err(code) => return code.into(),
        };
        self.propose_simple(MetadataOp::UpdateUser { user_id, username, status }).await
    }

    pub(super) async fn update_permissions(&mut self, update: &UpdatePermissions<'_>) -> Answer {
        match self.managed_user(&update.user_id) {
            Ok(user_id) => {
                let permissions = update.permissions.map(|view| view.to_permissions());
                self.propose_simple(MetadataOp::UpdatePermissions { user_id, permissions }).await
            }
            Err(answer) => answer,
        }
    }

    pub(super) async fn change_password(&mut self, change: &ChangePassword<'_>) -> Answer {
        let view = self.view();
        let me = match self.user(&view) {
            Ok(me) => me,
            Err(code) => return code.into(),
        };
        let user = match resolve::user(&view, &change.user_id) {
            Ok(user) => user.clone(),
            Err(code) => return code.into(),
        };
        if user.id != me.id
            && let Err(code) = self.check(&view, Access::ManageUsers)
        {
            return code.into();
        }
        let current = change.current_password.expose().to_owned();
        let new = change.new_password.expose().to_owned();
        if !valid_password(&new) {
            return ErrorCode::INVALID_PASSWORD.into();
        }
        let hash = user.password_hash.clone();
        let verified = blocking(move || verify_password(&current, &hash)).await;
        if !verified {
            return ErrorCode::INVALID_CREDENTIALS.into();
        }
        let password_hash = blocking(move || hash_password(&new)).await;
        self.propose_simple(MetadataOp::ChangePassword { user_id: user.id, password_hash }).await
    }

    pub(super) fn get_tokens(&self) -> Answer {
        let view = self.view();
        let user = match self.user(&view) {
            Ok(user) => user,
            Err(code) => return code.into(),
        };
        let mut body = Vec::new();
        for (name, token) in &user.tokens {
            let Ok(name) = Name::new(name) else { continue };
            PersonalAccessTokenReply { name, expiry_at: token.expiry_at.unwrap_or(0) }
                .encode(&mut body);
        }
        Answer::Ok(body)
    }

    pub(super) async fn create_token(&mut self, create: &CreatePersonalAccessToken<'_>) -> Answer {
        let view = self.view();
        let user = match self.user(&view) {
            Ok(user) => user,
            Err(code) => return code.into(),
        };
        let name = create.name.as_str().to_owned();
        if user.tokens.contains_key(&name) {
            return ErrorCode::PERSONAL_ACCESS_TOKEN_ALREADY_EXISTS.into();
        }
        let expiry_at = match create.expiry {
            0 | u64::MAX => None,
            duration => Some(crate::time::now_micros().saturating_add(duration)),
        };
        let token = generate_token();
        let op = MetadataOp::CreatePersonalAccessToken {
            user_id: user.id,
            name,
            token_hash: token_digest(&token),
            expiry_at,
        };
        match self.propose_metadata(MetadataCommand { op, options_set: 0 }).await {
            Ok((_, op, _)) => {
                let mut payload = Vec::new();
                RawTokenReply { token: Name::new(&token).expect("64 bytes") }.encode(&mut payload);
                Answer::Committed { payload, op }
            }
            Err(answer) => answer,
        }
    }

    pub(super) async fn delete_token(&mut self, delete: &DeletePersonalAccessToken<'_>) -> Answer {
        let view = self.view();
        let user_id = match self.user(&view) {
            Ok(user) => user.id,
            Err(code) => return code.into(),
        };
        let name = delete.name.as_str().to_owned();
        self.propose_simple(MetadataOp::DeletePersonalAccessToken { user_id, name }).await
    }
}
