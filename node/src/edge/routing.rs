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
//! stores) to the partition group's primary, so a route does not need to name the
//! partition primary to be correct. The routing reply therefore names **the node that
//! answered it**: the data connection then lands on the node holding the coordinator
//! connection, where 14 can check the coordinator is still connected, logged in as the
//! same user, and in the same incarnation — without a cross-node session lookup. The
//! SDK documents the named node as a hint, so this stays within its contract; the cost
//! is one forwarding hop for offset stores when this node is a backup.
//!
//! The session bytes are `[client_id u128]` = the coordinator's Iggy client id,
//! `[session u64]` = [`attach_epoch`] of that id (changes when the node restarts, so a
//! route from before a restart cannot attach to a newer connection that reuses the
//! id), `[metadata_watermark u64]` = the metadata op the coordinator's view had applied.
//!
//! After 14, the data connection acts as the coordinator's consumer-group member
//! (`Session::member_id`) for polls and offset requests; it joins nothing and leaves
//! nothing on close (the membership stays the coordinator's).

use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::reply::PollRoutingReply;
use vireo_protocol::iggy::request::{AttachConsumerSession, Body, OffsetTarget, PollMessages};

use super::auth::Access;
use super::{Answer, Session, resolve};

/// The incarnation of client `client_id` on this node process: a hash of the id and the
/// process start time, never 0.
#[must_use]
pub fn attach_epoch(client_id: u32, process_start_micros: u64) -> u64 {
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&client_id.to_le_bytes());
    bytes[4..].copy_from_slice(&process_start_micros.to_le_bytes());
    vireo_protocol::iggy::checksum::xxh3(&bytes) | 1
}

impl Session {
    /// The consumer-group member this connection acts as: the attached coordinator's
    /// client id after 14, else its own.
    pub(super) fn member_id(&self) -> u32 {
        self.attached.unwrap_or(self.client_id)
    }

    fn epoch_of(&self, client_id: u32) -> u64 {
        attach_epoch(client_id, crate::time::process_start_micros())
    }

    /// The routing reply naming this node and this connection's consumer session.
    fn routing_reply(&self) -> Answer {
        let consumer_session = AttachConsumerSession {
            client_id: u128::from(self.member_id()),
            session: self.epoch_of(self.member_id()),
            metadata_watermark: self.view().applied_op,
        };
        let view = self.cluster_view();
        let mut body = Vec::new();
        consumer_session.encode(&mut body);
        view.encode_this(&mut body);
        debug_assert!(
            PollRoutingReply::decode(&mut vireo_protocol::iggy::wire::Reader::new(&body)).is_ok()
        );
        Answer::Ok(body)
    }

    /// 103: checks the poll would be admitted (stream, topic, permission, membership),
    /// then routes it here.
    pub(super) fn poll_routing(&mut self, poll: &PollMessages<'_>) -> Answer {
        let view = self.view();
        let (stream, topic) = match resolve::stream_topic(&view, &poll.stream_id, &poll.topic_id) {
            Ok(found) => found,
            Err(code) => return code.into(),
        };
        if let Err(code) = self.check(&view, Access::Poll(stream.id, topic.id)) {
            return code.into();
        }
        if let Err(code) = self.consumer_target(topic, &poll.consumer, poll.partition_id, true) {
            return code.into();
        }
        self.routing_reply()
    }

    /// 123: checks the offset write would be admitted, then routes it here.
    pub(super) fn offset_routing(&mut self, target: &OffsetTarget<'_>) -> Answer {
        let view = self.view();
        let (stream, topic) =
            match resolve::stream_topic(&view, &target.stream_id, &target.topic_id) {
                Ok(found) => found,
                Err(code) => return code.into(),
            };
        if let Err(code) = self.check(&view, Access::Poll(stream.id, topic.id)) {
            return code.into();
        }
        let partition_id = target.partition_id;
        if let Err(code) = self.consumer_target(topic, &target.consumer, partition_id, false) {
            return code.into();
        }
        self.routing_reply()
    }

    /// 14: binds this connection to the coordinator session named. Refused with 58
    /// (the SDK drops the route and asks again) when the coordinator is gone, from
    /// another incarnation, or newer metadata has not reached this node; with
    /// Unauthorized when it belongs to another user.
    pub(super) async fn attach_consumer_session(
        &mut self,
        attach: &AttachConsumerSession,
    ) -> Answer {
        let Ok(client_id) = u32::try_from(attach.client_id) else {
            return ErrorCode::TRANSIENT_NOT_ACCEPTED.into();
        };
        if attach.session != self.epoch_of(client_id) {
            return ErrorCode::TRANSIENT_NOT_ACCEPTED.into();
        }
        let owner = if client_id == self.client_id {
            Some(self.user_id)
        } else {
            let reports = self.reports().await;
            let mut clients = reports.iter().flat_map(|report| &report.clients);
            clients.find(|client| client.client_id == client_id).map(|client| client.user_id)
        };
        match owner {
            None | Some(None) => return ErrorCode::TRANSIENT_NOT_ACCEPTED.into(),
            Some(user) if user != self.user_id => return ErrorCode::UNAUTHORIZED.into(),
            Some(_) => {}
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
    fn epochs_differ_per_client_and_per_process_and_are_never_zero() {
        let a = attach_epoch(7, 1_000);
        assert_ne!(a, 0);
        assert_ne!(a, attach_epoch(8, 1_000));
        assert_ne!(a, attach_epoch(7, 1_001));
        assert_eq!(a, attach_epoch(7, 1_000));
        assert_ne!(attach_epoch(0, 0), 0);
    }
}
