//! Consumer offsets: stored, read and deleted through the partition's group, so they
//! survive restarts and replicate with the messages they point into.

use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::reply::ConsumerOffsetReply;
use vireo_protocol::iggy::request::{DeleteConsumerOffset, OffsetTarget, StoreConsumerOffset};
use vireo_protocol::iggy::topic_options::Durability;
use vireo_protocol::vsr::FLAG_PERSISTED;

use super::auth::Access;
use super::messages::ConsumerTarget;
use super::render::partition_key;
use super::{Answer, Session, resolve};
use crate::partition::op::PartitionControl;
use crate::partition::{OwnerKey, PartitionKey, PartitionStats};
use crate::shard::inbox::ShardMessage;

/// What an offset request resolved to.
struct Resolved {
    key: PartitionKey,
    target: ConsumerTarget,
    flags: u8,
}

impl Session {
    fn resolve_offset(&mut self, target: &OffsetTarget<'_>) -> Result<Option<Resolved>, ErrorCode> {
        let view = self.view();
        let (stream, topic) = resolve::stream_topic(&view, &target.stream_id, &target.topic_id)?;
        self.check(&view, Access::Poll(stream.id, topic.id))?;
        let Some(consumer) =
            self.consumer_target(topic, &target.consumer, target.partition_id, false)?
        else {
            return Ok(None);
        };
        let key = partition_key(stream.id, topic, consumer.partition_id)
            .ok_or(ErrorCode::PARTITION_NOT_FOUND)?;
        let flags = if topic.config.consumer_offset_durability == Durability::Persisted {
            FLAG_PERSISTED
        } else {
            0
        };
        Ok(Some(Resolved { key, target: consumer, flags }))
    }

    pub(super) async fn get_offset(&mut self, target: &OffsetTarget<'_>) -> Answer {
        let resolved = match self.resolve_offset(target) {
            Ok(Some(resolved)) => resolved,
            Ok(None) => return Answer::Ok(Vec::new()),
            Err(code) => return code.into(),
        };
        let (stats, stored) = self.query_offset(resolved.key, resolved.target.owner).await;
        let Some(stored_offset) = stored else { return Answer::Ok(Vec::new()) };
        let mut body = Vec::new();
        ConsumerOffsetReply {
            partition_id: resolved.target.partition_id,
            current_offset: stats.current_offset(),
            stored_offset,
        }
        .encode(&mut body);
        Answer::Ok(body)
    }

    async fn query_offset(
        &self,
        key: PartitionKey,
        owner: OwnerKey,
    ) -> (PartitionStats, Option<u64>) {
        let group = self.group_of(&key);
        let shard = self.shard.router.shard_of(group);
        if shard == self.shard.index {
            return self.shard.stored_offset(group, &key, &owner);
        }
        let (sender, receiver) = flume::bounded(1);
        let message = ShardMessage::Offset { group, key, owner, reply: sender };
        if self.shard.router.send(shard, message).await.is_err() {
            return (PartitionStats::default(), None);
        }
        receiver.recv_async().await.unwrap_or_default()
    }

    pub(super) async fn store_offset(&mut self, store: &StoreConsumerOffset<'_>) -> Answer {
        let resolved = match self.resolve_offset(&store.target) {
            Ok(Some(resolved)) => resolved,
            Ok(None) => return ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND.into(),
            Err(code) => return code.into(),
        };
        let body = PartitionControl::StoreOffset {
            key: resolved.key,
            owner: resolved.target.owner,
            offset: store.offset,
        }
        .encode();
        match self.call_partition_with(resolved.key, &body, resolved.flags).await {
            Ok(_) => Answer::Committed { payload: Vec::new(), op: 0 },
            Err(answer) => answer,
        }
    }

    pub(super) async fn delete_offset(&mut self, delete: &DeleteConsumerOffset<'_>) -> Answer {
        let resolved = match self.resolve_offset(&delete.target) {
            Ok(Some(resolved)) => resolved,
            Ok(None) => return ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND.into(),
            Err(code) => return code.into(),
        };
        let body =
            PartitionControl::DeleteOffset { key: resolved.key, owner: resolved.target.owner }
                .encode();
        match self.call_partition_with(resolved.key, &body, resolved.flags).await {
            Ok(_) => Answer::Committed { payload: Vec::new(), op: 0 },
            Err(answer) => answer,
        }
    }
}
