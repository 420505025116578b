//! Applying one committed metadata op to the state. Deterministic: the outcome depends
//! only on the state, the op and its `ApplyContext` (time and op number), so every
//! replica produces the same state and the same reply. Every rule the edge checks early
//! (names unique, ids exist, counts in range) is checked again here: the edge's view may
//! be older than the state the op meets.

use std::collections::BTreeMap;
use std::sync::Arc;

use vireo_consensus::ApplyContext;
use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::code::PARTITIONS_PER_REQUEST_MAX;
use vireo_protocol::metadata::{MetadataOp, TopicConfig};

use super::groups::rebalance;
use super::model::{
    ConsumerGroup, MetadataState, Partition, ROOT_USER_ID, Stream, Token, Topic, User, lowest_free,
};
use super::reply::Outcome;

/// Most personal access tokens per user (as Iggy).
pub const TOKENS_PER_USER_MAX: usize = 100;
/// Most partitions per topic.
pub const PARTITIONS_PER_TOPIC_MAX: usize = 100_000;

/// Applies `op`; `options_set` is the node's note of which topic options the client set
/// (see `MetadataCommand`).
pub fn apply(
    state: &mut MetadataState,
    context: &ApplyContext,
    op: MetadataOp,
    options_set: u16,
) -> Outcome {
    let now = context.timestamp;
    match op {
        MetadataOp::CreateStream { name } => create_stream(state, now, name),
        MetadataOp::UpdateStream { stream_id, name } => {
            if state.streams.values().any(|s| s.name == name && s.id != stream_id) {
                return Err(ErrorCode::STREAM_NAME_ALREADY_EXISTS);
            }
            stream_mut(state, stream_id)?.name = name;
            Ok(stream_id)
        }
        MetadataOp::DeleteStream { stream_id } => {
            state.streams.remove(&stream_id).ok_or(ErrorCode::STREAM_ID_NOT_FOUND)?;
            Ok(stream_id)
        }
        MetadataOp::CreateTopic { stream_id, name, partitions_count, config } => {
            let topic = TopicDraft { name, partitions_count, config, options_set };
            create_topic(state, context, stream_id, topic)
        }
        MetadataOp::UpdateTopic { stream_id, topic_id, name, patch } => {
            let stream = stream_mut(state, stream_id)?;
            if stream.topics.values().any(|t| t.name == name && t.id != topic_id) {
                return Err(ErrorCode::TOPIC_NAME_ALREADY_EXISTS);
            }
            let topic = stream.topics.get_mut(&topic_id).ok_or(ErrorCode::TOPIC_ID_NOT_FOUND)?;
            topic.name = name;
            if let Some(expiry) = patch.message_expiry {
                topic.config.message_expiry = expiry;
            }
            if let Some(size) = patch.max_topic_size {
                topic.config.max_topic_size = size;
            }
            if let Some(compression) = patch.compression {
                topic.config.compression = compression;
            }
            topic.options_set |= options_set;
            Ok(topic_id)
        }
        MetadataOp::DeleteTopic { stream_id, topic_id } => {
            stream_mut(state, stream_id)?
                .topics
                .remove(&topic_id)
                .ok_or(ErrorCode::TOPIC_ID_NOT_FOUND)?;
            Ok(topic_id)
        }
        MetadataOp::CreatePartitions { stream_id, topic_id, count } => {
            let topic = topic_mut(state, stream_id, topic_id)?;
            add_partitions(topic, context, count)
        }
        MetadataOp::DeletePartitions { stream_id, topic_id, count } => {
            let topic = topic_mut(state, stream_id, topic_id)?;
            let existing = topic.partitions.len();
            if count == 0 || count as usize > existing {
                return Err(ErrorCode::INVALID_PARTITIONS_COUNT);
            }
            topic.partitions.truncate(existing - count as usize);
            rebalance_all(topic);
            Ok(count)
        }
        MetadataOp::CreateConsumerGroup { stream_id, topic_id, name } => {
            let topic = topic_mut(state, stream_id, topic_id)?;
            if topic.groups.values().any(|group| group.name == name) {
                return Err(ErrorCode::CONSUMER_GROUP_NAME_ALREADY_EXISTS);
            }
            let id = lowest_free(&topic.groups).ok_or(ErrorCode::INVALID_CONSUMER_GROUP_ID)?;
            let group = ConsumerGroup {
                id,
                name,
                incarnation: context.op,
                members: BTreeMap::new(),
                generation: 0,
            };
            topic.groups.insert(id, group);
            Ok(id)
        }
        MetadataOp::DeleteConsumerGroup { stream_id, topic_id, group_id } => {
            let topic = topic_mut(state, stream_id, topic_id)?;
            topic.groups.remove(&group_id).ok_or(ErrorCode::CONSUMER_GROUP_ID_NOT_FOUND)?;
            Ok(group_id)
        }
        MetadataOp::JoinConsumerGroup { stream_id, topic_id, group_id, member } => {
            let topic = topic_mut(state, stream_id, topic_id)?;
            let partitions = topic.partitions.len() as u32;
            let group =
                topic.groups.get_mut(&group_id).ok_or(ErrorCode::CONSUMER_GROUP_ID_NOT_FOUND)?;
            if let std::collections::btree_map::Entry::Vacant(entry) = group.members.entry(member) {
                entry.insert(Vec::new());
                rebalance(group, partitions);
            }
            Ok(group_id)
        }
        MetadataOp::LeaveConsumerGroup { stream_id, topic_id, group_id, member } => {
            let topic = topic_mut(state, stream_id, topic_id)?;
            let partitions = topic.partitions.len() as u32;
            let group =
                topic.groups.get_mut(&group_id).ok_or(ErrorCode::CONSUMER_GROUP_ID_NOT_FOUND)?;
            group.members.remove(&member).ok_or(ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND)?;
            rebalance(group, partitions);
            Ok(group_id)
        }
        op => apply_user_op(state, context, op),
    }
}

fn apply_user_op(state: &mut MetadataState, context: &ApplyContext, op: MetadataOp) -> Outcome {
    match op {
        MetadataOp::CreateUser { username, password_hash, status, permissions } => {
            if state.user_by_name(&username).is_some() {
                return Err(ErrorCode::USER_ALREADY_EXISTS);
            }
            let id = lowest_free(&state.users).ok_or(ErrorCode::USERS_LIMIT_REACHED)?;
            let user = User {
                id,
                username,
                password_hash,
                status,
                permissions,
                created_at: context.timestamp,
                tokens: BTreeMap::new(),
            };
            state.users.insert(id, Arc::new(user));
            Ok(id)
        }
        MetadataOp::UpdateUser { user_id, username, status } => {
            if let Some(name) = &username
                && state.users.values().any(|u| u.username == *name && u.id != user_id)
            {
                return Err(ErrorCode::USER_ALREADY_EXISTS);
            }
            let user = user_mut(state, user_id)?;
            if let Some(name) = username {
                user.username = name;
            }
            if let Some(status) = status {
                if user_id == ROOT_USER_ID {
                    return Err(ErrorCode::CANNOT_CHANGE_PERMISSIONS);
                }
                user.status = status;
            }
            Ok(user_id)
        }
        MetadataOp::DeleteUser { user_id } => {
            if user_id == ROOT_USER_ID {
                return Err(ErrorCode::CANNOT_DELETE_USER);
            }
            state.users.remove(&user_id).ok_or(ErrorCode::RESOURCE_NOT_FOUND)?;
            Ok(user_id)
        }
        MetadataOp::ChangePassword { user_id, password_hash } => {
            user_mut(state, user_id)?.password_hash = password_hash;
            Ok(user_id)
        }
        MetadataOp::UpdatePermissions { user_id, permissions } => {
            if user_id == ROOT_USER_ID {
                return Err(ErrorCode::CANNOT_CHANGE_PERMISSIONS);
            }
            user_mut(state, user_id)?.permissions = permissions;
            Ok(user_id)
        }
        MetadataOp::CreatePersonalAccessToken { user_id, name, token_hash, expiry_at } => {
            let now = context.timestamp;
            let user = user_mut(state, user_id)?;
            user.tokens.retain(|_, token| token.expiry_at.is_none_or(|at| at > now));
            if user.tokens.contains_key(&name) {
                return Err(ErrorCode::PERSONAL_ACCESS_TOKEN_ALREADY_EXISTS);
            }
            if user.tokens.len() >= TOKENS_PER_USER_MAX {
                return Err(ErrorCode::PERSONAL_ACCESS_TOKENS_LIMIT_REACHED);
            }
            user.tokens.insert(name, Token { hash: token_hash, expiry_at });
            Ok(user_id)
        }
        MetadataOp::DeletePersonalAccessToken { user_id, name } => {
            let user = user_mut(state, user_id)?;
            user.tokens.remove(&name).ok_or(ErrorCode::RESOURCE_NOT_FOUND)?;
            Ok(user_id)
        }
        // Purges, segments and offsets are partition-group ops in Vireo (see
        // `partition::op`); a metadata prepare carrying one is refused, not applied.
        _ => Err(ErrorCode::FEATURE_UNAVAILABLE),
    }
}

fn create_stream(state: &mut MetadataState, now: u64, name: String) -> Outcome {
    if state.stream_by_name(&name).is_some() {
        return Err(ErrorCode::STREAM_NAME_ALREADY_EXISTS);
    }
    let id = lowest_free(&state.streams).ok_or(ErrorCode::TOO_MANY_STREAMS)?;
    let stream = Stream { id, name, created_at: now, topics: BTreeMap::new() };
    state.streams.insert(id, Arc::new(stream));
    Ok(id)
}

struct TopicDraft {
    name: String,
    partitions_count: u32,
    config: TopicConfig,
    options_set: u16,
}

fn create_topic(
    state: &mut MetadataState,
    context: &ApplyContext,
    stream_id: u32,
    draft: TopicDraft,
) -> Outcome {
    if draft.partitions_count > PARTITIONS_PER_REQUEST_MAX {
        return Err(ErrorCode::INVALID_PARTITIONS_COUNT);
    }
    let stream = stream_mut(state, stream_id)?;
    if stream.topics.values().any(|topic| topic.name == draft.name) {
        return Err(ErrorCode::TOPIC_NAME_ALREADY_EXISTS);
    }
    let id = lowest_free(&stream.topics).ok_or(ErrorCode::TOO_MANY_TOPICS)?;
    let mut topic = Topic {
        id,
        name: draft.name,
        created_at: context.timestamp,
        config: draft.config,
        options_set: draft.options_set,
        partitions: Vec::new(),
        groups: BTreeMap::new(),
    };
    if draft.partitions_count > 0 {
        add_partitions(&mut topic, context, draft.partitions_count)?;
    }
    stream.topics.insert(id, topic);
    Ok(id)
}

fn add_partitions(topic: &mut Topic, context: &ApplyContext, count: u32) -> Outcome {
    if count == 0 || count > PARTITIONS_PER_REQUEST_MAX {
        return Err(ErrorCode::INVALID_PARTITIONS_COUNT);
    }
    if topic.partitions.len() + count as usize > PARTITIONS_PER_TOPIC_MAX {
        return Err(ErrorCode::TOO_MANY_PARTITIONS);
    }
    for _ in 0..count {
        let id = topic.partitions.len() as u32;
        topic.partitions.push(Partition {
            id,
            created_at: context.timestamp,
            incarnation: context.op,
        });
    }
    rebalance_all(topic);
    Ok(count)
}

fn rebalance_all(topic: &mut Topic) {
    let partitions = topic.partitions.len() as u32;
    for group in topic.groups.values_mut() {
        rebalance(group, partitions);
    }
}

fn stream_mut(state: &mut MetadataState, stream_id: u32) -> Result<&mut Stream, ErrorCode> {
    state.streams.get_mut(&stream_id).map(Arc::make_mut).ok_or(ErrorCode::STREAM_ID_NOT_FOUND)
}

fn topic_mut(
    state: &mut MetadataState,
    stream_id: u32,
    topic_id: u32,
) -> Result<&mut Topic, ErrorCode> {
    stream_mut(state, stream_id)?.topics.get_mut(&topic_id).ok_or(ErrorCode::TOPIC_ID_NOT_FOUND)
}

fn user_mut(state: &mut MetadataState, user_id: u32) -> Result<&mut User, ErrorCode> {
    state.users.get_mut(&user_id).map(Arc::make_mut).ok_or(ErrorCode::RESOURCE_NOT_FOUND)
}
