//! Streams, topics, partitions, segments and purges.
//!
//! Metadata changes are metadata-group ops. Purges and segment deletion touch partition
//! logs, so they are ops of each partition's group (the SDK sends them as metadata
//! requests; the edge fans them out and answers once every partition committed).

use vireo_protocol::iggy::primitives::Identifier;
use vireo_protocol::iggy::request::{
    CreateStream, CreateTopic, DeleteSegments, PartitionsCount, StreamTarget, TopicTarget,
    UpdateStream, UpdateTopic,
};
use vireo_protocol::iggy::topic_options::{self, TopicOptions};
use vireo_protocol::iggy::{ErrorCode, Request};
use vireo_protocol::metadata::{MetadataOp, TopicConfig, TopicPatch};

use super::auth::Access;
use super::render::{partition_key, topic_keys};
use super::{Answer, Session, render, resolve};
use crate::metadata::MetadataCommand;
use crate::metadata::command::option_bits;
use crate::partition::PartitionKey;
use crate::partition::op::{CONTROL_OPERATION, PartitionControl, decode_reply};

impl Session {
    pub(super) async fn dispatch_resources(&mut self, request: Request<'_>) -> Answer {
        match request {
            Request::GetStream(target) => self.get_stream(&target.stream_id).await,
            Request::GetStreams => self.get_streams().await,
            Request::CreateStream(create) => self.create_stream(&create).await,
            Request::UpdateStream(update) => self.update_stream(&update).await,
            Request::DeleteStream(target) => self.delete_stream(&target).await,
            Request::PurgeStream(target) => self.purge_stream(&target).await,
            Request::GetTopic(target) => self.get_topic(&target).await,
            Request::GetTopics(target) => self.get_topics(&target).await,
            Request::CreateTopic(create) => self.create_topic(&create).await,
            Request::UpdateTopic(update) => self.update_topic(&update).await,
            Request::DeleteTopic(target) => self.delete_topic(&target).await,
            Request::PurgeTopic(target) => self.purge_topic(&target).await,
            Request::CreatePartitions(count) => self.change_partitions(&count, true).await,
            Request::DeletePartitions(count) => self.change_partitions(&count, false).await,
            Request::DeleteSegments(delete) => self.delete_segments(&delete).await,
            Request::GetUser(target) => self.get_user(&target.user_id),
            Request::GetUsers => self.get_users(),
            Request::CreateUser(create) => self.create_user(&create).await,
            Request::DeleteUser(target) => self.delete_user(&target.user_id).await,
            Request::UpdateUser(update) => self.update_user(&update).await,
            Request::UpdatePermissions(update) => self.update_permissions(&update).await,
            Request::ChangePassword(change) => self.change_password(&change).await,
            Request::GetPersonalAccessTokens => self.get_tokens(),
            Request::CreatePersonalAccessToken(create) => self.create_token(&create).await,
            Request::DeletePersonalAccessToken(delete) => self.delete_token(&delete).await,
            // Every other command is dispatched earlier; a new protocol variant lands here.
            _ => Answer::Status(ErrorCode::INVALID_COMMAND),
        }
    }

    async fn get_stream(&self, id: &Identifier<'_>) -> Answer {
        let view = self.view();
        let Ok(stream) = resolve::stream(&view, id) else { return Answer::Ok(Vec::new()) };
        if let Err(code) = self.check(&view, Access::ReadStream(stream.id)) {
            return code.into();
        }
        let keys = stream.topics.values().flat_map(|topic| topic_keys(stream.id, topic));
        let stats = self.stats(keys.collect::<Vec<_>>()).await;
        let mut body = Vec::new();
        render::stream(stream, &stats, true, &mut body);
        Answer::Ok(body)
    }

    async fn get_streams(&self) -> Answer {
        let view = self.view();
        let Ok(user) = self.user(&view) else { return ErrorCode::UNAUTHENTICATED.into() };
        let visible: Vec<_> = view
            .streams
            .values()
            .filter(|stream| super::auth::allowed(&user, Access::ReadStream(stream.id)))
            .collect();
        let keys: Vec<PartitionKey> = visible
            .iter()
            .flat_map(|stream| {
                stream.topics.values().flat_map(|topic| topic_keys(stream.id, topic))
            })
            .collect();
        let stats = self.stats(keys).await;
        let mut body = Vec::new();
        for stream in visible {
            render::stream(stream, &stats, false, &mut body);
        }
        Answer::Ok(body)
    }

    async fn create_stream(&mut self, create: &CreateStream<'_>) -> Answer {
        let view = self.view();
        if let Err(code) = self.check(&view, Access::CreateStream) {
            return code.into();
        }
        let name = create.name.as_str().to_owned();
        if view.stream_by_name(&name).is_some() {
            return ErrorCode::STREAM_NAME_ALREADY_EXISTS.into();
        }
        match self
            .propose_metadata(MetadataCommand {
                op: MetadataOp::CreateStream { name },
                options_set: 0,
            })
            .await
        {
            Ok((id, op, view)) => {
                let mut payload = Vec::new();
                if let Some(stream) = view.streams.get(&id) {
                    render::stream(stream, &render::StatsMap::new(), true, &mut payload);
                }
                Answer::Committed { payload, op }
            }
            Err(answer) => answer,
        }
    }

    async fn commit(&mut self, op: MetadataOp) -> Answer {
        match self.propose_metadata(MetadataCommand { op, options_set: 0 }).await {
            Ok((_, op, _)) => Answer::Committed { payload: Vec::new(), op },
            Err(answer) => answer,
        }
    }

    async fn update_stream(&mut self, update: &UpdateStream<'_>) -> Answer {
        let view = self.view();
        let stream_id = match resolve::stream(&view, &update.stream_id) {
            Ok(stream) => stream.id,
            Err(code) => return code.into(),
        };
        if let Err(code) = self.check(&view, Access::ManageStream(stream_id)) {
            return code.into();
        }
        let name = update.name.as_str().to_owned();
        if view.streams.values().any(|s| s.name == name && s.id != stream_id) {
            return ErrorCode::STREAM_NAME_ALREADY_EXISTS.into();
        }
        self.commit(MetadataOp::UpdateStream { stream_id, name }).await
    }

    async fn delete_stream(&mut self, target: &StreamTarget<'_>) -> Answer {
        let view = self.view();
        let stream_id = match resolve::stream(&view, &target.stream_id) {
            Ok(stream) => stream.id,
            Err(code) => return code.into(),
        };
        if let Err(code) = self.check(&view, Access::ManageStream(stream_id)) {
            return code.into();
        }
        self.commit(MetadataOp::DeleteStream { stream_id }).await
    }

    async fn purge_stream(&mut self, target: &StreamTarget<'_>) -> Answer {
        let view = self.view();
        let stream = match resolve::stream(&view, &target.stream_id) {
            Ok(stream) => stream.clone(),
            Err(code) => return code.into(),
        };
        if let Err(code) = self.check(&view, Access::ManageStream(stream.id)) {
            return code.into();
        }
        let keys: Vec<_> =
            stream.topics.values().flat_map(|topic| topic_keys(stream.id, topic)).collect();
        self.purge(keys).await
    }

    async fn get_topic(&self, target: &TopicTarget<'_>) -> Answer {
        let view = self.view();
        let Ok((stream, topic)) = resolve::stream_topic(&view, &target.stream_id, &target.topic_id)
        else {
            return Answer::Ok(Vec::new());
        };
        if let Err(code) = self.check(&view, Access::ReadTopic(stream.id, topic.id)) {
            return code.into();
        }
        let stats = self.stats(topic_keys(stream.id, topic).collect::<Vec<_>>()).await;
        let mut body = Vec::new();
        render::topic(stream.id, topic, &stats, &mut body);
        Answer::Ok(body)
    }

    async fn get_topics(&self, target: &StreamTarget<'_>) -> Answer {
        let view = self.view();
        let stream = match resolve::stream(&view, &target.stream_id) {
            Ok(stream) => stream,
            Err(code) => return code.into(),
        };
        if let Err(code) = self.check(&view, Access::ReadStream(stream.id)) {
            return code.into();
        }
        let keys: Vec<_> =
            stream.topics.values().flat_map(|topic| topic_keys(stream.id, topic)).collect();
        let stats = self.stats(keys).await;
        let mut body = Vec::new();
        vireo_protocol::iggy::reply::TopicReply::encode_count(
            u32::try_from(stream.topics.len()).unwrap_or(u32::MAX),
            &mut body,
        );
        for topic in stream.topics.values() {
            render::topic_header(stream.id, topic, &stats, &mut body);
        }
        Answer::Ok(body)
    }

    async fn create_topic(&mut self, create: &CreateTopic<'_>) -> Answer {
        let view = self.view();
        let stream_id = match resolve::stream(&view, &create.stream_id) {
            Ok(stream) => stream.id,
            Err(code) => return code.into(),
        };
        if let Err(code) = self.check(&view, Access::CreateTopic(stream_id)) {
            return code.into();
        }
        if create.partitions_count > vireo_protocol::iggy::code::PARTITIONS_PER_REQUEST_MAX {
            return ErrorCode::INVALID_PARTITIONS_COUNT.into();
        }
        let (config, options_set) = match self.topic_config(&create.options) {
            Ok(resolved) => resolved,
            Err(code) => return code.into(),
        };
        let name = create.name.as_str().to_owned();
        if view.streams[&stream_id].topics.values().any(|topic| topic.name == name) {
            return ErrorCode::TOPIC_NAME_ALREADY_EXISTS.into();
        }
        let op = MetadataOp::CreateTopic {
            stream_id,
            name,
            partitions_count: create.partitions_count,
            config,
        };
        match self.propose_metadata(MetadataCommand { op, options_set }).await {
            Ok((id, op, view)) => {
                let mut payload = Vec::new();
                if let Some(topic) = view.streams.get(&stream_id).and_then(|s| s.topics.get(&id)) {
                    render::topic(stream_id, topic, &render::StatsMap::new(), &mut payload);
                }
                Answer::Committed { payload, op }
            }
            Err(answer) => answer,
        }
    }

    /// Resolves a create's options against the server defaults.
    fn topic_config(
        &self,
        options: &vireo_protocol::iggy::primitives::Options<'_>,
    ) -> Result<(TopicConfig, u16), ErrorCode> {
        let parsed = TopicOptions::parse(options).map_err(|_| ErrorCode::INVALID_OPTION_VALUE)?;
        let defaults = &self.shard.config;
        let segment_size = parsed.segment_size.unwrap_or(defaults.storage.segment_size);
        if !topic_options::is_valid_segment_size(segment_size)
            || segment_size <= defaults.consensus.partition_message_size_max + 64
        {
            return Err(ErrorCode::INVALID_SEGMENT_SIZE);
        }
        let mut set = 0;
        for (present, bit) in [
            (parsed.message_expiry.is_some(), option_bits::MESSAGE_EXPIRY),
            (parsed.max_topic_size.is_some(), option_bits::MAX_TOPIC_SIZE),
            (parsed.segment_size.is_some(), option_bits::SEGMENT_SIZE),
            (parsed.durability.is_some(), option_bits::DURABILITY),
            (parsed.consumer_offset_durability.is_some(), option_bits::CONSUMER_OFFSET_DURABILITY),
            (parsed.compression.is_some(), option_bits::COMPRESSION),
        ] {
            if present {
                set |= bit;
            }
        }
        let default_durability = match defaults.consensus.durability {
            vireo_consensus::Durability::Replicated => topic_options::Durability::Replicated,
            vireo_consensus::Durability::Persisted => topic_options::Durability::Persisted,
        };
        let config = TopicConfig {
            message_expiry: parsed.message_expiry.unwrap_or(topic_options::UNLIMITED),
            max_topic_size: parsed.max_topic_size.unwrap_or(topic_options::UNLIMITED),
            segment_size,
            durability: parsed.durability.unwrap_or(default_durability),
            consumer_offset_durability: parsed
                .consumer_offset_durability
                .unwrap_or(default_durability),
            compression: parsed.compression.unwrap_or_default(),
        };
        Ok((config, set))
    }

    async fn update_topic(&mut self, update: &UpdateTopic<'_>) -> Answer {
        let view = self.view();
        let (stream_id, topic_id) =
            match resolve::stream_topic(&view, &update.stream_id, &update.topic_id) {
                Ok((stream, topic)) => (stream.id, topic.id),
                Err(code) => return code.into(),
            };
        if let Err(code) = self.check(&view, Access::ManageTopic(stream_id, topic_id)) {
            return code.into();
        }
        let Ok(parsed) = TopicOptions::parse(&update.options) else {
            return ErrorCode::INVALID_OPTION_VALUE.into();
        };
        let name = update.name.as_str().to_owned();
        if view.streams[&stream_id].topics.values().any(|t| t.name == name && t.id != topic_id) {
            return ErrorCode::TOPIC_NAME_ALREADY_EXISTS.into();
        }
        let patch = TopicPatch {
            message_expiry: parsed.message_expiry,
            max_topic_size: parsed.max_topic_size,
            compression: parsed.compression,
        };
        let mut set = 0;
        for (present, bit) in [
            (patch.message_expiry.is_some(), option_bits::MESSAGE_EXPIRY),
            (patch.max_topic_size.is_some(), option_bits::MAX_TOPIC_SIZE),
            (patch.compression.is_some(), option_bits::COMPRESSION),
        ] {
            if present {
                set |= bit;
            }
        }
        let op = MetadataOp::UpdateTopic { stream_id, topic_id, name, patch };
        match self.propose_metadata(MetadataCommand { op, options_set: set }).await {
            Ok((_, op, _)) => Answer::Committed { payload: Vec::new(), op },
            Err(answer) => answer,
        }
    }

    /// Resolves a topic the user may manage.
    fn managed_topic(
        &self,
        stream: &Identifier<'_>,
        topic: &Identifier<'_>,
    ) -> Result<(u32, u32), Answer> {
        let view = self.view();
        let (stream, topic) = resolve::stream_topic(&view, stream, topic)?;
        self.check(&view, Access::ManageTopic(stream.id, topic.id))?;
        Ok((stream.id, topic.id))
    }

    async fn delete_topic(&mut self, target: &TopicTarget<'_>) -> Answer {
        match self.managed_topic(&target.stream_id, &target.topic_id) {
            Ok((stream_id, topic_id)) => {
                self.commit(MetadataOp::DeleteTopic { stream_id, topic_id }).await
            }
            Err(answer) => answer,
        }
    }

    async fn purge_topic(&mut self, target: &TopicTarget<'_>) -> Answer {
        let (stream_id, topic_id) = match self.managed_topic(&target.stream_id, &target.topic_id) {
            Ok(ids) => ids,
            Err(answer) => return answer,
        };
        let view = self.view();
        let topic = &view.streams[&stream_id].topics[&topic_id];
        let keys: Vec<_> = topic_keys(stream_id, topic).collect();
        self.purge(keys).await
    }

    /// Purges every partition in `keys`, then answers once.
    async fn purge(&mut self, keys: Vec<PartitionKey>) -> Answer {
        for key in keys {
            let body = PartitionControl::Purge { key }.encode();
            if let Err(answer) = self.call_partition(key, &body).await {
                return answer;
            }
        }
        Answer::Committed { payload: Vec::new(), op: 0 }
    }

    /// Calls the partition's group with a control op; the committed payload or refusal.
    pub(super) async fn call_partition(
        &mut self,
        key: PartitionKey,
        body: &[u8],
    ) -> Result<Vec<u8>, Answer> {
        self.call_partition_with(key, body, 0).await
    }

    /// [`Self::call_partition`] with request flags (`FLAG_PERSISTED`).
    pub(super) async fn call_partition_with(
        &mut self,
        key: PartitionKey,
        body: &[u8],
        flags: u8,
    ) -> Result<Vec<u8>, Answer> {
        let group = self.group_of(&key);
        let reply = self.call(group, CONTROL_OPERATION, body, flags).await?;
        match decode_reply(reply.message.body()) {
            Some(Ok(payload)) => Ok(payload.to_vec()),
            Some(Err(code)) => Err(Answer::Rejected(code)),
            None => Err(Answer::Status(ErrorCode::ERROR)),
        }
    }

    pub(super) fn group_of(&self, key: &PartitionKey) -> u32 {
        crate::partition::partition_group(
            key.stream_id,
            key.topic_id,
            key.partition_id,
            self.shard.router.partition_groups(),
        )
    }

    async fn change_partitions(&mut self, change: &PartitionsCount<'_>, create: bool) -> Answer {
        let (stream_id, topic_id) = match self.managed_topic(&change.stream_id, &change.topic_id) {
            Ok(ids) => ids,
            Err(answer) => return answer,
        };
        let count = change.partitions_count;
        if count == 0 || count > vireo_protocol::iggy::code::PARTITIONS_PER_REQUEST_MAX {
            return ErrorCode::INVALID_PARTITIONS_COUNT.into();
        }
        let op = if create {
            MetadataOp::CreatePartitions { stream_id, topic_id, count }
        } else {
            MetadataOp::DeletePartitions { stream_id, topic_id, count }
        };
        self.commit(op).await
    }

    async fn delete_segments(&mut self, delete: &DeleteSegments<'_>) -> Answer {
        let (stream_id, topic_id) = match self.managed_topic(&delete.stream_id, &delete.topic_id) {
            Ok(ids) => ids,
            Err(answer) => return answer,
        };
        let view = self.view();
        let topic = &view.streams[&stream_id].topics[&topic_id];
        let Some(key) = partition_key(stream_id, topic, delete.partition_id) else {
            return ErrorCode::PARTITION_NOT_FOUND.into();
        };
        if delete.segments_count == 0 {
            return ErrorCode::INVALID_SEGMENTS_COUNT.into();
        }
        let body = PartitionControl::DeleteSegments { key, count: delete.segments_count }.encode();
        match self.call_partition(key, &body).await {
            Ok(_) => Answer::Ok(Vec::new()),
            Err(answer) => answer,
        }
    }
}
