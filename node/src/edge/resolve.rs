//! Resolving the identifiers of a request (numeric ids or names) against the read view,
//! with the error code the SDK expects for each kind of miss.

use std::sync::Arc;

use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::primitives::Identifier;

use crate::metadata::{ConsumerGroup, MetadataState, Stream, Topic, User};

/// The stream `id` names.
pub fn stream<'v>(
    view: &'v MetadataState,
    id: &Identifier<'_>,
) -> Result<&'v Arc<Stream>, ErrorCode> {
    match id {
        Identifier::Numeric(number) => {
            view.streams.get(number).ok_or(ErrorCode::STREAM_ID_NOT_FOUND)
        }
        Identifier::Name(name) => {
            view.stream_by_name(name.as_str()).ok_or(ErrorCode::STREAM_NAME_NOT_FOUND)
        }
    }
}

/// The topic `id` names in `stream`.
pub fn topic<'v>(stream: &'v Stream, id: &Identifier<'_>) -> Result<&'v Topic, ErrorCode> {
    match id {
        Identifier::Numeric(number) => {
            stream.topics.get(number).ok_or(ErrorCode::TOPIC_ID_NOT_FOUND)
        }
        Identifier::Name(name) => stream
            .topics
            .values()
            .find(|topic| topic.name == name.as_str())
            .ok_or(ErrorCode::TOPIC_NAME_NOT_FOUND),
    }
}

/// The stream and topic two identifiers name.
pub fn stream_topic<'v>(
    view: &'v MetadataState,
    stream_id: &Identifier<'_>,
    topic_id: &Identifier<'_>,
) -> Result<(&'v Arc<Stream>, &'v Topic), ErrorCode> {
    let stream = stream(view, stream_id)?;
    let topic = topic(stream, topic_id)?;
    Ok((stream, topic))
}

/// The consumer group `id` names in `topic`.
pub fn group<'v>(topic: &'v Topic, id: &Identifier<'_>) -> Result<&'v ConsumerGroup, ErrorCode> {
    match id {
        Identifier::Numeric(number) => {
            topic.groups.get(number).ok_or(ErrorCode::CONSUMER_GROUP_ID_NOT_FOUND)
        }
        Identifier::Name(name) => topic
            .groups
            .values()
            .find(|group| group.name == name.as_str())
            .ok_or(ErrorCode::CONSUMER_GROUP_NAME_NOT_FOUND),
    }
}

/// The user `id` names.
pub fn user<'v>(view: &'v MetadataState, id: &Identifier<'_>) -> Result<&'v Arc<User>, ErrorCode> {
    match id {
        Identifier::Numeric(number) => view.users.get(number),
        Identifier::Name(name) => view.user_by_name(name.as_str()),
    }
    .ok_or(ErrorCode::RESOURCE_NOT_FOUND)
}
