//! The multi-node polling commands of the 0.11.0 SDK: 103 get_poll_routing, 123
//! get_consumer_offset_routing, 14 attach_consumer_session, 104 poll_messages_on_primary.
//!
//! # When the SDK sends them (`iggy-0.11.0/src/poll_routing.rs`)
//!
//! Only when the roster (code 12, read once per client) lists more than one node:
//! * a poll with `auto_commit` goes to the coordinator connection (the one logged in on
//!   the leader) as **103** with the full poll body; the reply (`PollRoutingReply`) names
//!   a consumer session and a node. On a separate *data connection* to that node (its
//!   own login, same credentials) the SDK sends **14** with the 32 session bytes
//!   verbatim, then **104** with the same poll body, and returns 104's reply as the
//!   poll's. It re-attaches when the session bytes change or the metadata watermark it
//!   observed grows, and on status 58 it drops the route and asks 103 again (50 ms
//!   doubling to 1 s, within 30 s).
//! * an offset store or delete (121/122) asks **123** with the `GetConsumerOffset`
//!   prefix of its body, attaches on the data connection, then sends the 121/122 there
//!   as a normal replicated op of the data connection's own session.
//! * polls without auto-commit and every other command go to the coordinator as usual.
//!
//! # What Vireo answers
//!
//! Every Vireo node serves polls from applied data and forwards replicated ops (offset
//! stores) to the partition group's primary, so any node named is correct; the route
//! names the node whose replica is **primary of the partition's group** (as Iggy does:
//! it holds the freshest applied data and stores offsets without a forwarding hop) when
//! the partition is known from the request (named, a single consumer's, or a member's
//! only assignment) and that primary is in normal status and connected; otherwise this
//! node. A backup whose replica is catching up answers polls with 58, so routing away
//! from it matters.
//!
//! The session bytes let any node check an attach without asking the coordinator's
//! node: `[client_id u128]` = the coordinator's Iggy client id (bits 0..32) and its
//! user id (bits 32..64); `[session u64]` = a keyed hash of both ([`attach_tag`]),
//! keyed from the cluster secret (a random per-process key for a cluster of one); a
//! tag that does not verify is refused with 58. `[metadata_watermark u64]` = the
//! metadata op the coordinator's view had applied; a node that has not applied it
//! answers 58 (the SDK asks again). The attaching connection must be logged in as the
//! same user (else Unauthorized).
//!
//! After 14, the data connection acts as the coordinator's consumer-group member
//! (`Session::member_id`) for polls and offset requests; it joins nothing and leaves
//! nothing on close. Membership lives in the replicated metadata, so once the
//! coordinator's connection closes (it leaves its groups) the attached connection's
//! group polls answer "member not found". Client ids are unique per node process; a
//! route kept across a restart of the coordinator's node could name a new connection
//! of the same user that reuses the id (the SDK drops its routes when its coordinator
//! reconnects, so it does not).

use std::hash::BuildHasher;
use std::sync::OnceLock;

use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::primitives::{Consumer, ConsumerKind, Identifier};
use vireo_protocol::iggy::request::{AttachConsumerSession, Body, OffsetTarget, PollMessages};

use super::auth::Access;
use super::render::partition_key;
use super::{Answer, Session, resolve};
use crate::partition::PartitionKey;

/// Domain separation of the attach key.
const ATTACH_KDF_CONTEXT: &str = "vireo 2026 iggy attach_consumer_session tag v1";

/// The attach key: from the cluster secret (every node derives the same), else random
/// for this process (a cluster of one checks its own tags).
fn attach_key(secret: Option<&str>, cluster_id: u128) -> [u8; 32] {
    static LOCAL: OnceLock<[u8; 32]> = OnceLock::new();
    match secret {
        Some(secret) => {
            let mut material = secret.as_bytes().to_vec();
            material.extend_from_slice(&cluster_id.to_le_bytes());
            blake3::derive_key(ATTACH_KDF_CONTEXT, &material)
        }
        None => *LOCAL.get_or_init(|| {
            let mut material = Vec::with_capacity(32);
            for _ in 0..4 {
                let random = std::collections::hash_map::RandomState::new();
                material.extend_from_slice(&random.hash_one(material.len()).to_le_bytes());
            }
            blake3::derive_key(ATTACH_KDF_CONTEXT, &material)
        }),
    }
}

/// The tag proving a node of this cluster issued `(client_id, user_id)`; never 0.
#[must_use]
pub fn attach_tag(key: &[u8; 32], client_id: u32, user_id: u32) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&client_id.to_le_bytes());
    bytes[4..].copy_from_slice(&user_id.to_le_bytes());
    let hash = blake3::keyed_hash(key, &bytes);
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(tag) | 1
}

/// `[client_id u128]` of the session bytes: client id, then user id.
fn pack_identity(client_id: u32, user_id: u32) -> u128 {
    u128::from(client_id) | u128::from(user_id) << 32
}

/// The inverse of [`pack_identity`]; `None` for bits a Vireo node never sets.
fn unpack_identity(packed: u128) -> Option<(u32, u32)> {
    if packed >> 64 != 0 {
        return None;
    }
    Some((packed as u32, (packed >> 32) as u32))
}

impl Session {
    /// The consumer-group member this connection acts as: the attached coordinator's
    /// client id after 14, else its own.
    pub(super) fn member_id(&self) -> u32 {
        self.attached.unwrap_or(self.client_id)
    }

    fn attach_key(&self) -> [u8; 32] {
        let config = &self.shard.config;
        let secret = config.cluster.secret.as_deref().filter(|_| config.cluster.is_multi_node());
        attach_key(secret, config.consensus.cluster_id)
    }

    /// The replica a routed request about `partition` goes to (see the module docs).
    fn route_target(&self, partition: Option<PartitionKey>) -> Option<usize> {
        if !self.shard.config.cluster.is_multi_node() {
            return None;
        }
        let group = self.group_of(&partition?);
        let state = self.shard.cluster_state();
        let primary = usize::from(state.primary_of(group)?);
        state.connected().get(primary).copied().unwrap_or(false).then_some(primary)
    }

    /// The routing reply: this connection's consumer session and the target node.
    fn routing_reply(&self, partition: Option<PartitionKey>) -> Answer {
        let Some(user_id) = self.user_id else { return ErrorCode::UNAUTHENTICATED.into() };
        let member = self.member_id();
        let consumer_session = AttachConsumerSession {
            client_id: pack_identity(member, user_id),
            session: attach_tag(&self.attach_key(), member, user_id),
            metadata_watermark: self.view().applied_op,
        };
        let view = self.cluster_view();
        let target = self.route_target(partition).filter(|&t| t < view.entries.len());
        let mut body = Vec::new();
        consumer_session.encode(&mut body);
        view.encode_node(target.unwrap_or(view.this), &mut body);
        Answer::Ok(body)
    }

    /// The partition a routed request is about, when the request fixes it: named, a
    /// single consumer's (0 when absent), or a group member's only assignment. Checks
    /// membership as the poll will. `Ok(None)`: the member's polls rotate over several.
    fn routed_partition(
        &self,
        topic: &crate::metadata::Topic,
        consumer: &Consumer<'_>,
        partition_id: Option<u32>,
        poll: bool,
    ) -> Result<Option<u32>, ErrorCode> {
        match consumer.kind {
            ConsumerKind::Consumer => Ok(Some(partition_id.unwrap_or(0))),
            ConsumerKind::ConsumerGroup => {
                let group = resolve::group(topic, &consumer.id)?;
                if let (Some(id), false) = (partition_id, poll) {
                    return Ok(Some(id));
                }
                let assigned = group
                    .members
                    .get(&self.member_id())
                    .ok_or(ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND)?;
                match partition_id {
                    Some(id) if assigned.contains(&id) => Ok(Some(id)),
                    Some(_) => Err(ErrorCode::CONSUMER_GROUP_PARTITION_NOT_OWNED),
                    None if assigned.len() == 1 => Ok(Some(assigned[0])),
                    None => Ok(None),
                }
            }
        }
    }

    /// 103 (`poll`) and 123: checks the request would be admitted (stream, topic,
    /// permission, membership), then routes it.
    fn route(
        &self,
        stream_id: &Identifier<'_>,
        topic_id: &Identifier<'_>,
        consumer: &Consumer<'_>,
        partition_id: Option<u32>,
        poll: bool,
    ) -> Answer {
        let view = self.view();
        let (stream, topic) = match resolve::stream_topic(&view, stream_id, topic_id) {
            Ok(found) => found,
            Err(code) => return code.into(),
        };
        if let Err(code) = self.check(&view, Access::Poll(stream.id, topic.id)) {
            return code.into();
        }
        let partition = match self.routed_partition(topic, consumer, partition_id, poll) {
            Ok(partition) => partition,
            Err(code) => return code.into(),
        };
        self.routing_reply(partition.and_then(|id| partition_key(stream.id, topic, id)))
    }

    /// 103: where an auto-commit poll goes.
    pub(super) fn poll_routing(&self, poll: &PollMessages<'_>) -> Answer {
        self.route(&poll.stream_id, &poll.topic_id, &poll.consumer, poll.partition_id, true)
    }

    /// 123: where an offset store or delete goes.
    pub(super) fn offset_routing(&self, target: &OffsetTarget<'_>) -> Answer {
        let OffsetTarget { stream_id, topic_id, consumer, partition_id } = target;
        self.route(stream_id, topic_id, consumer, *partition_id, false)
    }

    /// 14: binds this connection to the coordinator session named (see the module
    /// docs for what is checked).
    pub(super) async fn attach_consumer_session(
        &mut self,
        attach: &AttachConsumerSession,
    ) -> Answer {
        let Some((client_id, user_id)) = unpack_identity(attach.client_id) else {
            return ErrorCode::TRANSIENT_NOT_ACCEPTED.into();
        };
        if attach.session != attach_tag(&self.attach_key(), client_id, user_id) {
            return ErrorCode::TRANSIENT_NOT_ACCEPTED.into();
        }
        if self.user_id != Some(user_id) {
            return ErrorCode::UNAUTHORIZED.into();
        }
        if self.view().applied_op < attach.metadata_watermark
            && self.latest_view().await.applied_op < attach.metadata_watermark
        {
            return ErrorCode::TRANSIENT_NOT_ACCEPTED.into();
        }
        self.attached = (client_id != self.client_id).then_some(client_id);
        Answer::Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_depend_on_the_key_the_client_and_the_user_and_are_never_zero() {
        let key = attach_key(Some("a-secret-of-16-bytes"), 7);
        let tag = attach_tag(&key, 3, 0);
        assert_ne!(tag, 0);
        assert_eq!(tag, attach_tag(&attach_key(Some("a-secret-of-16-bytes"), 7), 3, 0));
        assert_ne!(tag, attach_tag(&key, 4, 0));
        assert_ne!(tag, attach_tag(&key, 3, 1));
        assert_ne!(tag, attach_tag(&attach_key(Some("another-secret-16-bytes"), 7), 3, 0));
        assert_ne!(tag, attach_tag(&attach_key(Some("a-secret-of-16-bytes"), 8), 3, 0));
        let local = attach_key(None, 7);
        assert_eq!(local, attach_key(None, 7), "one key per process");
        assert_ne!(local, key);
    }

    #[test]
    fn identities_pack_and_refuse_foreign_bits() {
        assert_eq!(unpack_identity(pack_identity(9, 4)), Some((9, 4)));
        assert_eq!(unpack_identity(pack_identity(u32::MAX, u32::MAX)), Some((u32::MAX, u32::MAX)));
        assert_eq!(unpack_identity(1 << 64), None);
        assert_eq!(unpack_identity(u128::MAX), None);
    }
}
