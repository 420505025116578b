//! Consumer groups: metadata ops for create/delete/join/leave (the state machine
//! reassigns partitions on every membership change), and `sync_consumer_group` (606),
//! which the 0.11.0 SDK polls to learn its assignment.

use std::borrow::Cow;

use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::reply::SyncConsumerGroupReply;
use vireo_protocol::iggy::request::{CreateConsumerGroup, GroupTarget, TopicTarget};
use vireo_protocol::metadata::MetadataOp;

use super::auth::Access;
use super::{Answer, Session, render, resolve};
use crate::metadata::MetadataCommand;

impl Session {
    pub(super) fn get_group(&self, target: &GroupTarget<'_>) -> Answer {
        let view = self.view();
        let Ok((stream, topic)) = resolve::stream_topic(&view, &target.stream_id, &target.topic_id)
        else {
            return Answer::Ok(Vec::new());
        };
        if let Err(code) = self.check(&view, Access::ReadTopic(stream.id, topic.id)) {
            return code.into();
        }
        let Ok(group) = resolve::group(topic, &target.group_id) else {
            return Answer::Ok(Vec::new());
        };
        let mut body = Vec::new();
        render::group(topic, group, true, &mut body);
        Answer::Ok(body)
    }

    pub(super) fn get_groups(&self, target: &TopicTarget<'_>) -> Answer {
        let view = self.view();
        let (stream, topic) =
            match resolve::stream_topic(&view, &target.stream_id, &target.topic_id) {
                Ok(found) => found,
                Err(code) => return code.into(),
            };
        if let Err(code) = self.check(&view, Access::ReadTopic(stream.id, topic.id)) {
            return code.into();
        }
        let mut body = Vec::new();
        for group in topic.groups.values() {
            render::group(topic, group, false, &mut body);
        }
        Answer::Ok(body)
    }

    pub(super) async fn create_group(&mut self, create: &CreateConsumerGroup<'_>) -> Answer {
        let view = self.view();
        let (stream_id, topic_id) =
            match resolve::stream_topic(&view, &create.stream_id, &create.topic_id) {
                Ok((stream, topic)) => (stream.id, topic.id),
                Err(code) => return code.into(),
            };
        if let Err(code) = self.check(&view, Access::ManageTopic(stream_id, topic_id)) {
            return code.into();
        }
        let name = create.name.as_str().to_owned();
        let topic = &view.streams[&stream_id].topics[&topic_id];
        if topic.groups.values().any(|group| group.name == name) {
            return ErrorCode::CONSUMER_GROUP_NAME_ALREADY_EXISTS.into();
        }
        let op = MetadataOp::CreateConsumerGroup { stream_id, topic_id, name };
        match self.propose_metadata(MetadataCommand { op, options_set: 0 }).await {
            Ok((id, op, view)) => {
                let mut payload = Vec::new();
                let topic = view.streams.get(&stream_id).and_then(|s| s.topics.get(&topic_id));
                if let Some((topic, group)) = topic.and_then(|t| Some((t, t.groups.get(&id)?))) {
                    render::group(topic, group, true, &mut payload);
                }
                Answer::Committed { payload, op }
            }
            Err(answer) => answer,
        }
    }

    /// Resolves a group; `manage` asks for the topic's manage permission, else poll.
    fn group_ids(&self, target: &GroupTarget<'_>, manage: bool) -> Result<(u32, u32, u32), Answer> {
        let view = self.view();
        let (stream, topic) = resolve::stream_topic(&view, &target.stream_id, &target.topic_id)?;
        let access = if manage {
            Access::ManageTopic(stream.id, topic.id)
        } else {
            Access::Poll(stream.id, topic.id)
        };
        self.check(&view, access)?;
        let group = resolve::group(topic, &target.group_id)?;
        Ok((stream.id, topic.id, group.id))
    }

    pub(super) async fn delete_group(&mut self, target: &GroupTarget<'_>) -> Answer {
        let (stream_id, topic_id, group_id) = match self.group_ids(target, true) {
            Ok(ids) => ids,
            Err(answer) => return answer,
        };
        let op = MetadataOp::DeleteConsumerGroup { stream_id, topic_id, group_id };
        match self.propose_metadata(MetadataCommand { op, options_set: 0 }).await {
            Ok((_, op, _)) => {
                self.joined.remove(&(stream_id, topic_id, group_id));
                self.publish();
                Answer::Committed { payload: Vec::new(), op }
            }
            Err(answer) => answer,
        }
    }

    pub(super) async fn join_group(&mut self, target: &GroupTarget<'_>) -> Answer {
        let (stream_id, topic_id, group_id) = match self.group_ids(target, false) {
            Ok(ids) => ids,
            Err(answer) => return answer,
        };
        let member = self.client_id;
        let op = MetadataOp::JoinConsumerGroup { stream_id, topic_id, group_id, member };
        match self.propose_metadata(MetadataCommand { op, options_set: 0 }).await {
            Ok((_, op, _)) => {
                self.joined.insert((stream_id, topic_id, group_id));
                self.publish();
                Answer::Committed { payload: Vec::new(), op }
            }
            Err(answer) => answer,
        }
    }

    pub(super) async fn leave_group(&mut self, target: &GroupTarget<'_>) -> Answer {
        let (stream_id, topic_id, group_id) = match self.group_ids(target, false) {
            Ok(ids) => ids,
            Err(answer) => return answer,
        };
        let member = self.client_id;
        let op = MetadataOp::LeaveConsumerGroup { stream_id, topic_id, group_id, member };
        let answer = match self.propose_metadata(MetadataCommand { op, options_set: 0 }).await {
            Ok((_, op, _)) => Answer::Committed { payload: Vec::new(), op },
            Err(answer) => answer,
        };
        self.joined.remove(&(stream_id, topic_id, group_id));
        self.publish();
        answer
    }

    pub(super) fn sync_group(&self, target: &GroupTarget<'_>) -> Answer {
        let view = self.view();
        let Ok((stream, topic)) = resolve::stream_topic(&view, &target.stream_id, &target.topic_id)
        else {
            return Answer::Ok(Vec::new());
        };
        if let Err(code) = self.check(&view, Access::Poll(stream.id, topic.id)) {
            return code.into();
        }
        let Ok(group) = resolve::group(topic, &target.group_id) else {
            return Answer::Ok(Vec::new());
        };
        let Some(partitions) = group.members.get(&self.client_id) else {
            return Answer::Ok(Vec::new());
        };
        let mut body = Vec::new();
        SyncConsumerGroupReply {
            generation: group.generation,
            partitions: Cow::Borrowed(partitions),
        }
        .encode(&mut body);
        Answer::Ok(body)
    }
}
