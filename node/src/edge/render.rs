//! Rendering the read view (plus partition statistics from the owner shards) as the
//! Iggy reply bodies the SDK decodes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use vireo_protocol::iggy::primitives::{Name, Options, TlvBuilder};
use vireo_protocol::iggy::reply::{
    ConsumerGroupReply, GroupMemberReply, PartitionReply, StreamReply, TopicReply, UserReply,
    encode_user_permissions,
};
use vireo_protocol::iggy::topic_options::{self, Compression, Durability};
use vireo_protocol::metadata::UserStatus;

use crate::metadata::command::option_bits;
use crate::metadata::{ConsumerGroup, Stream, Topic, User};
use crate::partition::{PartitionKey, PartitionStats};

/// Partition statistics gathered from the owner shards.
pub type StatsMap = BTreeMap<PartitionKey, PartitionStats>;

/// The key of a topic's partition.
#[must_use]
pub fn partition_key(stream_id: u32, topic: &Topic, partition_id: u32) -> Option<PartitionKey> {
    topic.partitions.get(partition_id as usize).map(|partition| PartitionKey {
        stream_id,
        topic_id: topic.id,
        partition_id,
        incarnation: partition.incarnation,
    })
}

/// Every partition key of a topic.
pub fn topic_keys(stream_id: u32, topic: &Topic) -> impl Iterator<Item = PartitionKey> + '_ {
    topic.partitions.iter().map(move |partition| PartitionKey {
        stream_id,
        topic_id: topic.id,
        partition_id: partition.id,
        incarnation: partition.incarnation,
    })
}

fn name(text: &str) -> Name<'_> {
    Name::new(text).expect("stored names are 1..=255 bytes")
}

fn stats_of(stats: &StatsMap, key: &PartitionKey) -> PartitionStats {
    stats.get(key).copied().unwrap_or_default()
}

fn topic_totals(stream_id: u32, topic: &Topic, stats: &StatsMap) -> (u64, u64) {
    topic_keys(stream_id, topic).fold((0, 0), |(size, messages), key| {
        let s = stats_of(stats, &key);
        (size + s.size_bytes, messages + s.messages_count())
    })
}

/// A stream header (get_streams entry); `with_topics` appends its topic headers.
pub fn stream(stream: &Stream, stats: &StatsMap, with_topics: bool, out: &mut Vec<u8>) {
    let (size, messages) = stream.topics.values().fold((0, 0), |(size, messages), topic| {
        let (s, m) = topic_totals(stream.id, topic, stats);
        (size + s, messages + m)
    });
    StreamReply {
        id: stream.id,
        created_at: stream.created_at,
        topics_count: u32::try_from(stream.topics.len()).unwrap_or(u32::MAX),
        size_bytes: size,
        messages_count: messages,
        name: name(&stream.name),
        options: Options::EMPTY,
    }
    .encode(out);
    if with_topics {
        for topic in stream.topics.values() {
            topic_header(stream.id, topic, stats, out);
        }
    }
}

/// A topic header.
pub fn topic_header(stream_id: u32, topic: &Topic, stats: &StatsMap, out: &mut Vec<u8>) {
    let (size, messages) = topic_totals(stream_id, topic, stats);
    let (set, derived) = topic_options(topic);
    let set = Options::parse(&set).expect("rendered options are valid");
    let derived = Options::parse(&derived).expect("rendered options are valid");
    TopicReply {
        id: topic.id,
        created_at: topic.created_at,
        partitions_count: u32::try_from(topic.partitions.len()).unwrap_or(u32::MAX),
        message_expiry: topic.config.message_expiry,
        compression_algorithm: topic.config.compression as u8,
        max_topic_size: topic.config.max_topic_size,
        size_bytes: size,
        messages_count: messages,
        name: name(&topic.name),
        options: set,
        derived_options: derived,
    }
    .encode(out);
}

/// A topic with its partitions (get_topic, create_topic).
pub fn topic(stream_id: u32, topic: &Topic, stats: &StatsMap, out: &mut Vec<u8>) {
    topic_header(stream_id, topic, stats, out);
    for key in topic_keys(stream_id, topic) {
        let s = stats_of(stats, &key);
        let created_at = topic.partitions[key.partition_id as usize].created_at;
        PartitionReply {
            id: key.partition_id,
            created_at,
            segments_count: s.segments_count,
            current_offset: s.current_offset(),
            size_bytes: s.size_bytes,
            messages_count: s.messages_count(),
        }
        .encode(out);
    }
}

/// Renders the topic's settings as two option blocks: those the client set, and the
/// ones the server derived from its defaults.
fn topic_options(topic: &Topic) -> (Vec<u8>, Vec<u8>) {
    let mut set = TlvBuilder::new();
    let mut derived = TlvBuilder::new();
    let durability = |value: Durability| match value {
        Durability::Replicated => "replicated",
        Durability::Persisted => "persisted",
    };
    let compression = match topic.config.compression {
        Compression::None => "none",
        Compression::Gzip => "gzip",
    };
    let config = &topic.config;
    let entries: [(u16, &str, Result<u64, &str>); 6] = [
        (option_bits::MESSAGE_EXPIRY, topic_options::MESSAGE_EXPIRY, Ok(config.message_expiry)),
        (option_bits::MAX_TOPIC_SIZE, topic_options::MAX_TOPIC_SIZE, Ok(config.max_topic_size)),
        (option_bits::SEGMENT_SIZE, topic_options::SEGMENT_SIZE, Ok(config.segment_size)),
        (option_bits::DURABILITY, topic_options::DURABILITY, Err(durability(config.durability))),
        (
            option_bits::CONSUMER_OFFSET_DURABILITY,
            topic_options::CONSUMER_OFFSET_DURABILITY,
            Err(durability(config.consumer_offset_durability)),
        ),
        (option_bits::COMPRESSION, topic_options::COMPRESSION_ALGORITHM, Err(compression)),
    ];
    for (bit, key, value) in entries {
        let block = if topic.options_set & bit != 0 { &mut set } else { &mut derived };
        let pushed = match value {
            Ok(number) => block.u64(key, number).map(|_| ()),
            Err(text) => block.string(key, text).map(|_| ()),
        };
        pushed.expect("option keys and values are short");
    }
    (set.into_bytes(), derived.into_bytes())
}

/// A consumer group header, with members when `detailed`.
pub fn group(topic: &Topic, group: &ConsumerGroup, detailed: bool, out: &mut Vec<u8>) {
    ConsumerGroupReply {
        id: group.id,
        partitions_count: u32::try_from(topic.partitions.len()).unwrap_or(u32::MAX),
        members_count: u32::try_from(group.members.len()).unwrap_or(u32::MAX),
        name: name(&group.name),
    }
    .encode(out);
    if detailed {
        for (member, partitions) in &group.members {
            GroupMemberReply { id: *member, partitions: Cow::Borrowed(partitions) }.encode(out);
        }
    }
}

/// A user header, with permissions when `detailed`.
pub fn user(user: &User, detailed: bool, out: &mut Vec<u8>) {
    UserReply {
        id: user.id,
        created_at: user.created_at,
        status: match user.status {
            UserStatus::Active => 1,
            UserStatus::Inactive => 2,
        },
        username: name(&user.username),
        options: Options::EMPTY,
    }
    .encode(out);
    if detailed {
        encode_user_permissions(user.permissions.as_ref(), out);
    }
}
