//! The client edge: one [`Session`] per Iggy connection, whatever the transport.
//!
//! A frame goes through: header decode → session rules → body parse (`vireo-protocol`)
//! → authentication gate → permission check against the read view → the handler, which
//! answers from the view (reads), asks the owner shard (polls, offsets, statistics) or
//! proposes an op to a consensus group and renders its committed reply. Every refusal
//! is an Iggy status or an eviction, never a dropped connection: the transport closes a
//! connection only when the byte stream itself cannot be resynchronised.

mod answer;
pub mod auth;
pub mod cluster;
mod groups;
mod messages;
mod offsets;
pub mod render;
mod resolve;
mod resources;
pub mod routing;
mod session;
mod system;
mod users;

use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use vireo_protocol::iggy::{
    ErrorCode, EvictionReason, HEADER_SIZE, Operation, Request, RequestHeader, SessionError,
    parse_request, request::Refusal,
};

pub use answer::{Answer, Outgoing};

/// A refusal for bytes that are not a request frame at all (status `code`).
#[must_use]
pub fn answer_refusal(code: ErrorCode) -> Outgoing {
    answer::refuse_undecodable(code)
}

/// A refusal with status `code` for the frame whose header bytes are `header` (echoing
/// it when it decodes).
#[must_use]
pub fn answer_for_header(header: &[u8], code: ErrorCode) -> Outgoing {
    match RequestHeader::decode(header) {
        Ok(header) => answer::finish(&header, Answer::Status(code)),
        Err(_) => answer::refuse_undecodable(code),
    }
}

use crate::metadata::{MetadataCommand, MetadataState, User, reply};
use crate::metrics::Metrics;
use crate::partition::PartitionKey;
use crate::shard::Shard;
use crate::shard::client::{CallError, ConsensusClient};
use crate::shard::inbox::{ClientInfo, GroupReply, ShardMessage};
use auth::Access;
use render::StatsMap;

/// Refusals that mean "the view does not know this id or name".
const NOT_FOUND: [ErrorCode; 9] = [
    ErrorCode::STREAM_ID_NOT_FOUND,
    ErrorCode::STREAM_NAME_NOT_FOUND,
    ErrorCode::TOPIC_ID_NOT_FOUND,
    ErrorCode::TOPIC_NAME_NOT_FOUND,
    ErrorCode::PARTITION_NOT_FOUND,
    ErrorCode::CONSUMER_GROUP_ID_NOT_FOUND,
    ErrorCode::CONSUMER_GROUP_NAME_NOT_FOUND,
    ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND,
    ErrorCode::RESOURCE_NOT_FOUND,
];

/// The identity of a replicated request: request number, `request_checksum` and
/// operation (request numbers advance for every replicated op, so a repeat is a replay).
fn retry_key(header: &RequestHeader) -> u128 {
    let mut bytes = [0u8; 25];
    bytes[..8].copy_from_slice(&header.request.to_le_bytes());
    bytes[8..24].copy_from_slice(&header.request_checksum.to_le_bytes());
    bytes[24] = header.operation as u8;
    u128::from(vireo_protocol::iggy::checksum::xxh3(&bytes)) << 64 | u128::from(header.request)
}

/// Iggy transport codes of `get_clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Transport {
    /// TCP (plain or TLS).
    Tcp = 1,
    /// QUIC.
    Quic = 2,
}

/// One client connection's state.
#[derive(Debug)]
pub struct Session {
    shard: Rc<Shard>,
    client_id: u32,
    transport: Transport,
    address: String,
    consensus: ConsensusClient,
    /// The logged-in user.
    user_id: Option<u32>,
    /// The session number given at login (group 0's consensus session).
    iggy_session: u64,
    /// Groups joined: (stream, topic, group) ids, left on disconnect.
    joined: BTreeSet<(u32, u32, u32)>,
    /// Rotates over a member's assigned partitions when it polls without one.
    poll_cursor: u32,
    timeout: Duration,
    /// The newest metadata view this session has seen (from its own committed ops or a
    /// refresh): never older than what it wrote, so a connection reads its own writes
    /// even before the shard's copy of the view catches up.
    seen: Arc<MetadataState>,
    /// The identity of the request being handled, for replicated ops: its Iggy request
    /// number, `request_checksum` and operation. The SDK replays a request answered
    /// with status 57 under the same identity; see `ConsensusClient::call`.
    retry_key: Option<u128>,
    /// The coordinator connection this data connection attached to (code 14): whose
    /// consumer-group membership its polls and offset requests use (`routing.rs`).
    attached: Option<u32>,
}

impl Session {
    /// A new, unauthenticated session.
    #[must_use]
    pub fn new(shard: Rc<Shard>, transport: Transport, address: String) -> Self {
        let client_id = shard.router.next_client_id();
        let consensus = ConsensusClient::new(shard.config.consensus.cluster_id);
        let timeout = Duration::from_millis(shard.config.consensus.request_timeout_ms);
        let seen = shard.view();
        Metrics::add(&shard.metrics.connections_accepted, 1);
        Metrics::add(&shard.metrics.connections_open, 1);
        let session = Self {
            shard,
            client_id,
            transport,
            address,
            consensus,
            user_id: None,
            iggy_session: 0,
            joined: BTreeSet::new(),
            poll_cursor: 0,
            timeout,
            seen,
            retry_key: None,
            attached: None,
        };
        session.publish();
        session
    }

    /// The Iggy client id.
    #[must_use]
    pub fn client_id(&self) -> u32 {
        self.client_id
    }

    fn publish(&self) {
        self.shard.upsert_client(ClientInfo {
            client_id: self.client_id,
            user_id: self.user_id,
            transport: self.transport as u8,
            address: self.address.clone(),
            groups: self.joined.iter().copied().collect(),
        });
    }

    /// Handles one complete frame (`[header][body]`, length = the header's `size`).
    pub async fn handle(&mut self, frame: &Bytes) -> Outgoing {
        Metrics::add(&self.shard.metrics.requests, 1);
        Metrics::add(&self.shard.metrics.bytes_received, frame.len() as u64);
        self.shard.active_requests.set(self.shard.active_requests.get() + 1);
        let outgoing = self.handle_frame(frame).await;
        self.shard.active_requests.set(self.shard.active_requests.get() - 1);
        if outgoing.is_error() {
            Metrics::add(&self.shard.metrics.request_errors, 1);
        }
        Metrics::add(&self.shard.metrics.bytes_sent, outgoing.len() as u64);
        outgoing
    }

    async fn handle_frame(&mut self, frame: &Bytes) -> Outgoing {
        let header = match RequestHeader::decode(frame) {
            Ok(header) => header,
            Err(error) => {
                tracing::debug!(%error, "undecodable request header");
                Metrics::add(&self.shard.metrics.frames_rejected, 1);
                return answer::refuse_undecodable(ErrorCode::INVALID_FORMAT);
            }
        };
        let answer = self.answer(&header, &frame[HEADER_SIZE..]).await;
        answer::finish(&header, answer)
    }

    async fn answer(&mut self, header: &RequestHeader, body: &[u8]) -> Answer {
        match header.check_session() {
            Ok(()) => {}
            Err(SessionError::NoSession) => return Answer::Evict(EvictionReason::NoSession),
            Err(_) => return Answer::Evict(EvictionReason::InvalidRequestBody),
        }
        let request = match parse_request(header, body) {
            Ok(request) => request,
            Err(error) => {
                tracing::debug!(%error, "refused request");
                Metrics::add(&self.shard.metrics.frames_rejected, 1);
                return match error.response() {
                    Refusal::Status(code) => Answer::Status(code),
                    Refusal::Evict(reason) => Answer::Evict(reason),
                };
            }
        };
        if self.shard.router.view_op() > self.view().applied_op {
            self.latest_view().await;
        }
        match request {
            Request::Ping => return Answer::Ok(Vec::new()),
            Request::LoginRegister(login) => return self.login(login).await,
            Request::LoginRegisterWithPat(login) => return self.login_with_token(login).await,
            _ => {}
        }
        if self.user_id.is_none() {
            return if header.operation == Operation::NonReplicated {
                Answer::Status(ErrorCode::UNAUTHENTICATED)
            } else {
                Answer::Evict(EvictionReason::NoSession)
            };
        }
        if header.operation.needs_session() && header.session != self.iggy_session {
            return Answer::Evict(EvictionReason::NoSession);
        }
        self.retry_key = header.operation.needs_session().then(|| retry_key(header));
        self.dispatch(request).await
    }

    /// Dispatches, and once more after refreshing the view when the answer was "not
    /// found" from a view older than the metadata shard's: another connection's create
    /// may not have reached this shard's copy yet. Only refusals made before any
    /// proposal are retried (a committed rejection is final).
    async fn dispatch(&mut self, request: Request<'_>) -> Answer {
        let answer = self.dispatch_once(request).await;
        let Answer::Status(code) = answer else { return answer };
        if !NOT_FOUND.contains(&code) {
            return answer;
        }
        let used = self.view().applied_op;
        let latest = self.latest_view().await;
        if latest.applied_op <= used {
            return answer;
        }
        self.dispatch_once(request).await
    }

    /// The newest view known here: the shard's copy or what this session saw.
    fn view(&self) -> Arc<MetadataState> {
        let local = self.shard.view();
        if local.applied_op >= self.seen.applied_op { local } else { Arc::clone(&self.seen) }
    }

    /// The metadata shard's current view (one hop when it lives elsewhere).
    async fn latest_view(&mut self) -> Arc<MetadataState> {
        let view = if self.shard.owns(0) {
            self.shard.view()
        } else {
            let (sender, receiver) = flume::bounded(1);
            let shard = self.shard.router.shard_of(0);
            let message = ShardMessage::LatestView { reply: sender };
            match self.shard.router.send(shard, message).await {
                Ok(()) => receiver.recv_async().await.unwrap_or_else(|_| self.view()),
                Err(_) => self.view(),
            }
        };
        self.observe(&view);
        self.view()
    }

    /// Remembers `view` if it is newer than what this session saw.
    fn observe(&mut self, view: &Arc<MetadataState>) {
        if view.applied_op > self.seen.applied_op {
            self.seen = Arc::clone(view);
        }
        self.shard.install_view(Arc::clone(view));
    }

    async fn dispatch_once(&mut self, request: Request<'_>) -> Answer {
        match request {
            Request::Logout => self.logout(),
            Request::GetStats => self.get_stats().await,
            Request::GetClusterMetadata => Answer::Ok(self.cluster_view().metadata_body()),
            Request::AttachConsumerSession(attach) => self.attach_consumer_session(&attach).await,
            Request::GetPollRouting(poll) => self.poll_routing(&poll),
            Request::PollMessagesOnPrimary(poll) => self.poll_messages(&poll).await,
            Request::GetConsumerOffsetRouting(target) => self.offset_routing(&target),
            Request::GetMe => self.get_client(self.client_id).await,
            Request::GetClient(get) => self.get_client(get.client_id).await,
            Request::GetClients => self.get_clients().await,
            Request::GetSnapshot(_)
            | Request::DescribeOptions(_)
            | Request::FlushUnsavedBuffer(_) => Answer::Status(ErrorCode::FEATURE_UNAVAILABLE),
            request => self.dispatch_data(request).await,
        }
    }

    async fn dispatch_data(&mut self, request: Request<'_>) -> Answer {
        match request {
            Request::SendMessages(send) => self.send_messages(&send).await,
            Request::PollMessages(poll) => self.poll_messages(&poll).await,
            Request::GetConsumerOffset(target) => self.get_offset(&target).await,
            Request::StoreConsumerOffset(store) => self.store_offset(&store).await,
            Request::DeleteConsumerOffset(delete) => self.delete_offset(&delete).await,
            Request::GetConsumerGroup(target) => self.get_group(&target),
            Request::GetConsumerGroups(target) => self.get_groups(&target),
            Request::CreateConsumerGroup(create) => self.create_group(&create).await,
            Request::DeleteConsumerGroup(target) => self.delete_group(&target).await,
            Request::JoinConsumerGroup(target) => self.join_group(&target).await,
            Request::LeaveConsumerGroup(target) => self.leave_group(&target).await,
            Request::SyncConsumerGroup(target) => self.sync_group(&target),
            request => self.dispatch_resources(request).await,
        }
    }

    /// The logged-in user (the gate in `answer` guarantees one).
    fn user(&self, view: &MetadataState) -> Result<Arc<User>, ErrorCode> {
        let id = self.user_id.ok_or(ErrorCode::UNAUTHENTICATED)?;
        view.users.get(&id).cloned().ok_or(ErrorCode::UNAUTHENTICATED)
    }

    /// Refuses unless the logged-in user may do `access`.
    fn check(&self, view: &MetadataState, access: Access) -> Result<(), ErrorCode> {
        let user = self.user(view)?;
        if auth::allowed(&user, access) { Ok(()) } else { Err(ErrorCode::UNAUTHORIZED) }
    }

    /// Proposes a metadata op; the answer carries the committed outcome and a view at
    /// least as new as the op.
    async fn propose_metadata(
        &mut self,
        command: MetadataCommand,
    ) -> Result<(u32, u64, Arc<MetadataState>), Answer> {
        let body = command.encode();
        let reply = self.call(0, crate::metadata::METADATA_OPERATION, &body, 0).await?;
        let view = reply.view.clone().unwrap_or_else(|| self.shard.view());
        let op = reply.message.header().op;
        match reply::decode(reply.message.body()) {
            Some(Ok(value)) => Ok((value, op, view)),
            Some(Err(code)) => Err(Answer::Rejected(code)),
            None => Err(Answer::Status(ErrorCode::ERROR)),
        }
    }

    /// Calls a consensus group and maps transport failures to Iggy statuses. `flags`
    /// go on the request header (`FLAG_PERSISTED` for `persisted` topics).
    async fn call(
        &mut self,
        group: u32,
        operation: vireo_protocol::vsr::Operation,
        body: &[u8],
        flags: u8,
    ) -> Result<GroupReply, Answer> {
        let router = Arc::clone(&self.shard.router);
        let timeout = self.timeout;
        let key = self.retry_key;
        match self.consensus.call(&router, group, operation, body, flags, key, timeout).await {
            Ok(reply) => Ok(reply),
            Err(CallError::Timeout) => Err(Answer::Status(ErrorCode::TRANSIENT_NOT_COMMITTED)),
            Err(CallError::Evicted | CallError::ShardGone) => {
                Err(Answer::Status(ErrorCode::TRANSIENT_NOT_ACCEPTED))
            }
        }
    }

    /// Statistics of `keys` from their owner shards.
    async fn stats(&self, keys: impl IntoIterator<Item = PartitionKey>) -> StatsMap {
        let router = &self.shard.router;
        let groups = router.partition_groups();
        let mut by_shard: Vec<Vec<(u32, PartitionKey)>> =
            vec![Vec::new(); router.shard_count() as usize];
        for key in keys {
            let group = crate::partition::partition_group(
                key.stream_id,
                key.topic_id,
                key.partition_id,
                groups,
            );
            by_shard[router.shard_of(group) as usize].push((group, key));
        }
        let mut stats = StatsMap::new();
        for (shard, partitions) in by_shard.into_iter().enumerate() {
            if partitions.is_empty() {
                continue;
            }
            let found = if shard as u32 == self.shard.index {
                self.shard.partition_stats(&partitions)
            } else {
                let (sender, receiver) = flume::bounded(1);
                let message = ShardMessage::Stats { partitions: partitions.clone(), reply: sender };
                if router.send(shard as u32, message).await.is_err() {
                    continue;
                }
                receiver.recv_async().await.unwrap_or_default()
            };
            for ((_, key), value) in partitions.into_iter().zip(found) {
                stats.insert(key, value);
            }
        }
        stats
    }

    /// The connection closed: leave consumer groups (rebalancing the rest) and forget
    /// the client.
    pub async fn close(mut self) {
        let joined: Vec<(u32, u32, u32)> = std::mem::take(&mut self.joined).into_iter().collect();
        for (stream_id, topic_id, group_id) in joined {
            let op = vireo_protocol::metadata::MetadataOp::LeaveConsumerGroup {
                stream_id,
                topic_id,
                group_id,
                member: self.client_id,
            };
            if let Err(answer) = self.propose_metadata(MetadataCommand { op, options_set: 0 }).await
            {
                tracing::debug!(?answer, "leave on disconnect refused");
            }
        }
        self.shard.remove_client(self.client_id);
        Metrics::decrement(&self.shard.metrics.connections_open);
    }
}
