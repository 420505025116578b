//! Produce and poll.
//!
//! A produce becomes one `SEND_OPERATION` prepare of the partition's group: the routing
//! prefix plus the batch exactly as received (verified by the parser). The 0.11.0 SDK
//! resolves `Balanced` and `MessagesKey` itself; other clients may still send them, so
//! the edge resolves them the same way (round-robin per connection; `xxh32(key) %
//! partitions`).
//!
//! A poll is served by the partition's owner shard from applied data. With
//! `auto_commit`, the offset of the last returned message is stored through the
//! partition group before the reply (so a crash never re-delivers what the client saw
//! as committed... and never skips what it did not see).

use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::batch::PollReplyHeader;
use vireo_protocol::iggy::checksum::messages_key_partition;
use vireo_protocol::iggy::primitives::{ConsumerKind, Partitioning, PollingKind};
use vireo_protocol::iggy::request::{PollMessages, SendMessages};
use vireo_protocol::iggy::topic_options::Durability;
use vireo_protocol::vsr::FLAG_PERSISTED;

use super::auth::Access;
use super::render::partition_key;
use super::{Answer, Session, resolve};
use crate::metrics::Metrics;
use crate::partition::op::{
    PartitionControl, SEND_OPERATION, SEND_PREFIX_SIZE, SendPrefix, decode_reply,
};
use crate::partition::{OwnerKey, PartitionKey};
use crate::shard::inbox::{PollQuery, PollStart, Polled, ShardMessage};

/// Most bytes of batches one poll reply carries (the SDK reads QUIC replies up to 10 MB).
pub const POLL_BYTES_MAX: u32 = 8 * 1024 * 1024;

impl Session {
    pub(super) async fn send_messages(&mut self, send: &SendMessages<'_>) -> Answer {
        let view = self.view();
        let (stream, topic) = match resolve::stream_topic(&view, &send.stream_id, &send.topic_id) {
            Ok(found) => found,
            Err(code) => return code.into(),
        };
        if let Err(code) = self.check(&view, Access::Send(stream.id, topic.id)) {
            return code.into();
        }
        let count = u32::try_from(topic.partitions.len()).unwrap_or(u32::MAX);
        if count == 0 {
            return ErrorCode::NO_PARTITIONS.into();
        }
        let partition_id = match send.partitioning {
            Partitioning::PartitionId(id) => id,
            Partitioning::Balanced => {
                self.poll_cursor = self.poll_cursor.wrapping_add(1);
                self.poll_cursor % count
            }
            Partitioning::MessagesKey(key) => messages_key_partition(key, count).unwrap_or(0),
        };
        let Some(key) = partition_key(stream.id, topic, partition_id) else {
            return ErrorCode::PARTITION_NOT_FOUND.into();
        };
        let batch = send.batch.as_bytes();
        let size = vireo_protocol::vsr::HEADER_SIZE + SEND_PREFIX_SIZE + batch.len();
        if size as u64 > self.shard.config.consensus.partition_message_size_max {
            return ErrorCode::TOO_BIG_MESSAGE_PAYLOAD.into();
        }
        let mut body = Vec::with_capacity(SEND_PREFIX_SIZE + batch.len());
        SendPrefix {
            key,
            segment_size: topic.config.segment_size,
            preallocate: self.shard.config.storage.preallocate_segments,
        }
        .encode(&mut body);
        body.extend_from_slice(batch);
        let flags =
            if topic.config.durability == Durability::Persisted { FLAG_PERSISTED } else { 0 };
        let messages = send.batch.message_count();
        let group = self.group_of(&key);
        let reply = match self.call(group, SEND_OPERATION, &body, flags).await {
            Ok(reply) => reply,
            Err(answer) => return answer,
        };
        let op = reply.message.header().op;
        match decode_reply(reply.message.body()) {
            Some(Ok(payload)) => {
                Metrics::add(&self.shard.metrics.messages_sent, u64::from(messages));
                Answer::Committed { payload: payload.to_vec(), op }
            }
            Some(Err(code)) => Answer::Status(code),
            None => Answer::Status(ErrorCode::ERROR),
        }
    }

    pub(super) async fn poll_messages(&mut self, poll: &PollMessages<'_>) -> Answer {
        let view = self.view();
        let (stream, topic) = match resolve::stream_topic(&view, &poll.stream_id, &poll.topic_id) {
            Ok(found) => found,
            Err(code) => return code.into(),
        };
        if let Err(code) = self.check(&view, Access::Poll(stream.id, topic.id)) {
            return code.into();
        }
        if poll.count == 0 {
            return ErrorCode::INVALID_MESSAGES_COUNT.into();
        }
        let target = match self.consumer_target(topic, &poll.consumer, poll.partition_id, true) {
            Ok(Some(target)) => target,
            Ok(None) => {
                let header = PollReplyHeader {
                    partition_id: PollReplyHeader::NO_ASSIGNED_PARTITION,
                    current_offset: 0,
                    messages_count: 0,
                };
                return Answer::Polled(header, Vec::new());
            }
            Err(code) => return code.into(),
        };
        let Some(key) = partition_key(stream.id, topic, target.partition_id) else {
            return ErrorCode::PARTITION_NOT_FOUND.into();
        };
        let offset_flags = if topic.config.consumer_offset_durability == Durability::Persisted {
            FLAG_PERSISTED
        } else {
            0
        };
        let start = match poll.strategy.kind {
            PollingKind::Offset => PollStart::Offset(poll.strategy.value),
            PollingKind::Timestamp => PollStart::Timestamp(poll.strategy.value),
            PollingKind::First => PollStart::First,
            PollingKind::Last => PollStart::Last,
            PollingKind::Next => PollStart::Next,
        };
        let query = PollQuery {
            key,
            start,
            count: poll.count,
            owner: Some(target.owner.clone()),
            bytes_max: POLL_BYTES_MAX,
        };
        let polled = match self.run_poll(key, query).await {
            Ok(polled) => polled,
            Err(code) => return code.into(),
        };
        if poll.auto_commit
            && let Some(last) = polled.last_offset
        {
            let body =
                PartitionControl::StoreOffset { key, owner: target.owner, offset: last }.encode();
            if let Err(answer) = self.call_partition_with(key, &body, offset_flags).await {
                return answer;
            }
        }
        Metrics::add(&self.shard.metrics.messages_polled, u64::from(polled.messages_count));
        let header = PollReplyHeader {
            partition_id: target.partition_id,
            current_offset: polled.stats.current_offset(),
            messages_count: polled.messages_count,
        };
        Answer::Polled(header, polled.parts)
    }

    async fn run_poll(&self, key: PartitionKey, query: PollQuery) -> Result<Polled, ErrorCode> {
        let group = self.group_of(&key);
        let shard = self.shard.router.shard_of(group);
        if shard == self.shard.index {
            return self.shard.poll(group, query).await;
        }
        let (sender, receiver) = flume::bounded(1);
        self.shard
            .router
            .send(shard, ShardMessage::Poll { group, query, reply: sender })
            .await
            .map_err(|_| ErrorCode::TRANSIENT_NOT_ACCEPTED)?;
        receiver.recv_async().await.map_err(|_| ErrorCode::TRANSIENT_NOT_ACCEPTED)?
    }

    /// Whose offsets a consumer request is about, and which partition: a single consumer
    /// names its partition (0 when absent); a group member names one of its assigned
    /// partitions or lets the server rotate over them. `None`: a member with nothing
    /// assigned. Offset requests that name a partition need no membership (an operator
    /// may inspect or reset a group's offsets); polls do.
    pub(super) fn consumer_target(
        &mut self,
        topic: &crate::metadata::Topic,
        consumer: &vireo_protocol::iggy::primitives::Consumer<'_>,
        partition_id: Option<u32>,
        poll: bool,
    ) -> Result<Option<ConsumerTarget>, ErrorCode> {
        match consumer.kind {
            ConsumerKind::Consumer => {
                let owner = match consumer.id {
                    vireo_protocol::iggy::primitives::Identifier::Numeric(id) => {
                        OwnerKey::ConsumerId(id)
                    }
                    vireo_protocol::iggy::primitives::Identifier::Name(name) => {
                        OwnerKey::ConsumerName(name.as_str().to_owned())
                    }
                };
                Ok(Some(ConsumerTarget { owner, partition_id: partition_id.unwrap_or(0) }))
            }
            ConsumerKind::ConsumerGroup => {
                let group = resolve::group(topic, &consumer.id)?;
                let owner = OwnerKey::Group { id: group.id, incarnation: group.incarnation };
                if let (Some(id), false) = (partition_id, poll) {
                    return Ok(Some(ConsumerTarget { owner, partition_id: id }));
                }
                let assigned = group
                    .members
                    .get(&self.member_id())
                    .ok_or(ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND)?;
                let partition_id = match partition_id {
                    Some(id) if assigned.contains(&id) => id,
                    Some(_) => return Err(ErrorCode::CONSUMER_GROUP_PARTITION_NOT_OWNED),
                    None if assigned.is_empty() => return Ok(None),
                    None => {
                        self.poll_cursor = self.poll_cursor.wrapping_add(1);
                        assigned[self.poll_cursor as usize % assigned.len()]
                    }
                };
                Ok(Some(ConsumerTarget { owner, partition_id }))
            }
        }
    }
}

/// A consumer's offsets owner and partition.
#[derive(Debug, Clone)]
pub(super) struct ConsumerTarget {
    pub(super) owner: OwnerKey,
    pub(super) partition_id: u32,
}
