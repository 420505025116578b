//! Authentication and authorization at the edge.
//!
//! Passwords are hashed with argon2 (default parameters, a 16-byte random salt) on a
//! blocking thread, so a login never stalls the shard; the metadata op carries only the
//! PHC string. Personal access tokens are 256-bit random strings; the state keeps a
//! blake3 digest (a slow hash buys nothing against 256 bits of entropy, and a fast one
//! lets a login find the token by digest).
//!
//! Permissions follow Iggy's model: global flags, then per-stream, then per-topic
//! grants; the root user may do anything. They are checked against the read view before
//! an op is proposed (a permission revoked concurrently can still let one op through, as
//! in Iggy, where the leader checks at the same point).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use vireo_protocol::iggy::primitives::Permissions;

use crate::metadata::{ROOT_USER_ID, User};
use crate::shard::client::random_bytes;

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Stats, clients.
    ReadServers,
    /// Read users.
    ReadUsers,
    /// Create, update, delete users.
    ManageUsers,
    /// List every stream.
    ReadStreams,
    /// Create streams.
    CreateStream,
    /// Read one stream.
    ReadStream(u32),
    /// Update, delete, purge one stream.
    ManageStream(u32),
    /// Create topics in a stream.
    CreateTopic(u32),
    /// Read a topic (and its groups, offsets).
    ReadTopic(u32, u32),
    /// Update, delete, purge a topic; its partitions, segments and groups.
    ManageTopic(u32, u32),
    /// Produce to a topic.
    Send(u32, u32),
    /// Poll a topic, store offsets, join its groups.
    Poll(u32, u32),
}

/// True if `user` may do `access`.
#[must_use]
pub fn allowed(user: &User, access: Access) -> bool {
    if user.id == ROOT_USER_ID {
        return true;
    }
    let Some(permissions) = &user.permissions else { return false };
    allowed_by(permissions, access)
}

fn allowed_by(p: &Permissions, access: Access) -> bool {
    let g = &p.global;
    let stream = |id: u32| p.streams.iter().find(|s| s.stream_id == id);
    let topic = |s: u32, t: u32| stream(s).and_then(|s| s.topics.iter().find(|x| x.topic_id == t));
    match access {
        Access::ReadServers => g.read_servers || g.manage_servers,
        Access::ReadUsers => g.read_users || g.manage_users,
        Access::ManageUsers => g.manage_users,
        Access::ReadStreams => g.read_streams || g.manage_streams,
        Access::CreateStream => g.manage_streams,
        Access::ReadStream(s) => {
            g.read_streams
                || g.manage_streams
                || stream(s).is_some_and(|x| x.read_stream || x.manage_stream)
        }
        Access::ManageStream(s) => g.manage_streams || stream(s).is_some_and(|x| x.manage_stream),
        Access::CreateTopic(s) => {
            g.manage_streams
                || g.manage_topics
                || stream(s).is_some_and(|x| x.manage_stream || x.manage_topics)
        }
        Access::ReadTopic(s, t) => {
            g.read_streams
                || g.manage_streams
                || g.read_topics
                || g.manage_topics
                || stream(s).is_some_and(|x| {
                    x.read_stream || x.manage_stream || x.read_topics || x.manage_topics
                })
                || topic(s, t).is_some_and(|x| x.read_topic || x.manage_topic)
        }
        Access::ManageTopic(s, t) => {
            g.manage_streams
                || g.manage_topics
                || stream(s).is_some_and(|x| x.manage_stream || x.manage_topics)
                || topic(s, t).is_some_and(|x| x.manage_topic)
        }
        Access::Send(s, t) => {
            g.send_messages
                || g.manage_streams
                || stream(s).is_some_and(|x| x.send_messages || x.manage_stream)
                || topic(s, t).is_some_and(|x| x.send_messages || x.manage_topic)
        }
        Access::Poll(s, t) => {
            g.poll_messages
                || g.manage_streams
                || stream(s).is_some_and(|x| x.poll_messages || x.manage_stream)
                || topic(s, t).is_some_and(|x| x.poll_messages || x.manage_topic)
        }
    }
}

/// An argon2 PHC string for `password` (slow: call on a blocking thread).
///
/// # Panics
/// If argon2 refuses its own default parameters (a bug).
#[must_use]
pub fn hash_password(password: &str) -> String {
    let salt: [u8; 16] = random_bytes();
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

/// True if `password` matches `hash` (slow: call on a blocking thread).
#[must_use]
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// A new raw personal access token (64 hex characters).
#[must_use]
pub fn generate_token() -> String {
    let bytes: [u8; 32] = random_bytes();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The digest stored for a raw token.
#[must_use]
pub fn token_digest(token: &str) -> String {
    format!("{:032x}", vireo_protocol::vsr::checksum(token.as_bytes()))
}

/// Runs `work` on the shard's blocking pool.
pub async fn blocking<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> R {
    match monoio::spawn_blocking(work).await {
        Ok(result) => result,
        Err(_) => {
            crate::exit::fatal(crate::exit::ExitCode::Internal, "blocking pool task canceled")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use vireo_protocol::iggy::primitives::{
        GlobalPermissions, StreamPermissions, TopicPermissions,
    };
    use vireo_protocol::metadata::UserStatus;

    use super::*;

    fn user(id: u32, permissions: Option<Permissions>) -> User {
        User {
            id,
            username: "u".into(),
            password_hash: String::new(),
            status: UserStatus::Active,
            permissions,
            created_at: 0,
            tokens: BTreeMap::new(),
        }
    }

    #[test]
    fn root_may_do_anything_and_grants_nest() {
        assert!(allowed(&user(0, None), Access::ManageUsers));
        assert!(!allowed(&user(1, None), Access::ReadStreams));
        let topic_only = Permissions {
            global: GlobalPermissions::default(),
            streams: vec![StreamPermissions {
                stream_id: 3,
                topics: vec![TopicPermissions {
                    topic_id: 4,
                    send_messages: true,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let u = user(1, Some(topic_only));
        assert!(allowed(&u, Access::Send(3, 4)));
        assert!(!allowed(&u, Access::Send(3, 5)));
        assert!(!allowed(&u, Access::Poll(3, 4)));
        assert!(!allowed(&u, Access::ManageStream(3)));
        let admin = Permissions {
            global: GlobalPermissions { manage_streams: true, ..Default::default() },
            streams: vec![],
        };
        assert!(allowed(&user(2, Some(admin)), Access::Poll(9, 9)));
    }

    #[test]
    fn passwords_and_tokens() {
        let hash = hash_password("secret");
        assert!(verify_password("secret", &hash));
        assert!(!verify_password("Secret", &hash));
        assert!(!verify_password("secret", "not a hash"));
        let token = generate_token();
        assert_eq!(token.len(), 64);
        assert_ne!(token, generate_token());
        assert_eq!(token_digest(&token), token_digest(&token));
        assert_ne!(token_digest(&token), token_digest("other"));
    }
}
