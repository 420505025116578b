//! Typed commands over [`Client::call`]: each encodes its body with the protocol
//! crate, sends it under the failover rules, and decodes the reply into owned values.

use std::time::Duration;

use tokio::time::Instant;
use vireo_protocol::iggy::batch::{
    Batch, OutgoingMessage, POLL_REPLY_HEADER_SIZE, PollReplyHeader, PolledBatches, encode_batch,
};
use vireo_protocol::iggy::code;
use vireo_protocol::iggy::primitives::{
    AckLevel, Consumer, ConsumerKind, Name, Options, Partitioning, PollingStrategy, TlvBuilder,
};
use vireo_protocol::iggy::reply::{
    ClusterMetadataReply, ConsumerGroupReply, PartitionReply, SendConfirmation, StatsReply,
    StreamReply, TopicReply, decode_send_confirmations,
};
use vireo_protocol::iggy::request::{
    Body, CreateConsumerGroup, CreateStream, CreateTopic, GroupTarget, OffsetTarget, PollMessages,
    SendMessages, StoreConsumerOffset, StreamTarget, TopicTarget,
};
use vireo_protocol::iggy::wire::{DecodeError, Reader};

use super::call::Client;
use super::error::ClientError;
use super::transport::Connector;
use super::types::{
    GroupInfo, Id, NodeInfo, PartitionInfo, PollSummary, PolledMessage, PolledMessages, Stats,
    StreamInfo, TopicDetails, TopicInfo,
};

fn decode_error(what: &str) -> impl Fn(DecodeError) -> ClientError + '_ {
    move |error| ClientError::Protocol(format!("{what}: {error}"))
}

fn encode<'a>(body: &impl Body<'a>) -> Vec<u8> {
    let mut out = Vec::new();
    body.encode(&mut out);
    out
}

fn name(value: &str) -> Result<Name<'_>, ClientError> {
    Name::new(value)
        .map_err(|_| ClientError::InvalidArgument(format!("name {value:?} must be 1..=255 bytes")))
}

/// Who polls or stores offsets: a single consumer or a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerId {
    /// Single consumer or group.
    pub group: bool,
    /// Its id.
    pub id: Id,
}

impl ConsumerId {
    /// A single consumer.
    #[must_use]
    pub fn single(id: impl Into<Id>) -> Self {
        Self { group: false, id: id.into() }
    }

    /// A consumer group member.
    #[must_use]
    pub fn group(id: impl Into<Id>) -> Self {
        Self { group: true, id: id.into() }
    }

    fn wire(&self) -> Result<Consumer<'_>, ClientError> {
        let kind = if self.group { ConsumerKind::ConsumerGroup } else { ConsumerKind::Consumer };
        Ok(Consumer { kind, id: self.id.wire()? })
    }
}

/// A `send_messages` body encoded once and sendable many times (the bench reuses one
/// per producer; each send still gets its own request number).
#[derive(Debug, Clone)]
pub struct PreparedSend {
    body: Vec<u8>,
    messages: u32,
    payload_bytes: u64,
}

impl PreparedSend {
    /// Encodes `messages` for `stream`/`topic` with `partitioning`.
    pub fn new(
        stream: &Id,
        topic: &Id,
        partitioning: Partitioning<'_>,
        messages: &[OutgoingMessage<'_>],
    ) -> Result<Self, ClientError> {
        if let Partitioning::MessagesKey(key) = partitioning
            && !(1..=255).contains(&key.len())
        {
            return Err(ClientError::InvalidArgument(
                "a messages key must be 1..=255 bytes".into(),
            ));
        }
        let mut batch = Vec::new();
        encode_batch(&mut batch, messages)
            .map_err(|error| ClientError::InvalidArgument(format!("batch: {error}")))?;
        let batch = Batch::parse(&batch)
            .map_err(|error| ClientError::InvalidArgument(format!("batch: {error}")))?;
        let send = SendMessages {
            stream_id: stream.wire()?,
            topic_id: topic.wire()?,
            partitioning,
            batch,
        };
        Ok(Self {
            body: encode(&send),
            messages: batch.message_count(),
            payload_bytes: messages.iter().map(|message| message.payload.len() as u64).sum(),
        })
    }

    /// Messages in the batch.
    #[must_use]
    pub fn messages(&self) -> u32 {
        self.messages
    }

    /// Payload bytes in the batch.
    #[must_use]
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// The encoded body (header excluded).
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Topic settings for `create_topic`, sent as string options (`key=value`), e.g.
/// `message_expiry=1h`, `max_topic_size=1GiB`, `segment_size=64MiB`.
pub fn topic_options(pairs: &[(String, String)]) -> Result<Vec<u8>, ClientError> {
    let mut builder = TlvBuilder::new();
    for (key, value) in pairs {
        builder.string(key, value).map_err(|_| {
            ClientError::InvalidArgument(format!("option {key}={value}: 1..=255 bytes each"))
        })?;
    }
    let bytes = builder.into_bytes();
    Options::parse(&bytes)
        .map_err(|error| ClientError::InvalidArgument(format!("options: {error}")))?;
    Ok(bytes)
}

impl<C: Connector> Client<C> {
    async fn call_body(&mut self, code: u32, body: &[u8]) -> Result<usize, ClientError> {
        self.call(code, body).await.map(|(_, start)| start)
    }

    /// Ping; returns the round-trip time.
    pub async fn ping(&mut self) -> Result<Duration, ClientError> {
        let started = Instant::now();
        self.call_body(code::PING, &[]).await?;
        Ok(started.elapsed())
    }

    /// Server statistics.
    pub async fn get_stats(&mut self) -> Result<Stats, ClientError> {
        let start = self.call_body(code::GET_STATS, &[]).await?;
        let stats = StatsReply::decode(&mut Reader::new(self.payload(start)))
            .map_err(decode_error("stats"))?;
        Ok(Stats::from(&stats))
    }

    /// The cluster roster.
    pub async fn get_cluster_metadata(&mut self) -> Result<Vec<NodeInfo>, ClientError> {
        let start = self.call_body(code::GET_CLUSTER_METADATA, &[]).await?;
        let roster = ClusterMetadataReply::decode(&mut Reader::new(self.payload(start)))
            .map_err(decode_error("cluster metadata"))?;
        Ok(roster.nodes.iter().map(NodeInfo::from).collect())
    }

    /// Every stream.
    pub async fn get_streams(&mut self) -> Result<Vec<StreamInfo>, ClientError> {
        let start = self.call_body(code::GET_STREAMS, &[]).await?;
        let streams =
            StreamReply::decode_all(self.payload(start)).map_err(decode_error("streams"))?;
        Ok(streams.iter().map(StreamInfo::from).collect())
    }

    /// One stream and its topics; `None` if it does not exist.
    pub async fn get_stream(
        &mut self,
        stream: &Id,
    ) -> Result<Option<(StreamInfo, Vec<TopicInfo>)>, ClientError> {
        let body = encode(&StreamTarget { stream_id: stream.wire()? });
        let start = match self.call_body(code::GET_STREAM, &body).await {
            Err(ClientError::Server(error)) if is_not_found(error) => return Ok(None),
            other => other?,
        };
        if self.payload(start).is_empty() {
            return Ok(None);
        }
        decode_stream_details(self.payload(start)).map(Some)
    }

    /// Creates a stream.
    pub async fn create_stream(&mut self, name_: &str) -> Result<StreamInfo, ClientError> {
        let body = encode(&CreateStream { name: name(name_)?, options: Options::EMPTY });
        let start = self.call_body(code::CREATE_STREAM, &body).await?;
        decode_stream_details(self.payload(start)).map(|(stream, _)| stream)
    }

    /// Deletes a stream and everything in it.
    pub async fn delete_stream(&mut self, stream: &Id) -> Result<(), ClientError> {
        let body = encode(&StreamTarget { stream_id: stream.wire()? });
        self.call_body(code::DELETE_STREAM, &body).await.map(drop)
    }

    /// The topics of a stream.
    pub async fn get_topics(&mut self, stream: &Id) -> Result<Vec<TopicInfo>, ClientError> {
        let body = encode(&StreamTarget { stream_id: stream.wire()? });
        let start = self.call_body(code::GET_TOPICS, &body).await?;
        if self.payload(start).is_empty() {
            return Ok(Vec::new());
        }
        let topics = TopicReply::decode_all(self.payload(start)).map_err(decode_error("topics"))?;
        Ok(topics.iter().map(TopicInfo::from).collect())
    }

    /// One topic and its partitions; `None` if it does not exist.
    pub async fn get_topic(
        &mut self,
        stream: &Id,
        topic: &Id,
    ) -> Result<Option<TopicDetails>, ClientError> {
        let body = encode(&TopicTarget { stream_id: stream.wire()?, topic_id: topic.wire()? });
        let start = match self.call_body(code::GET_TOPIC, &body).await {
            Err(ClientError::Server(error)) if is_not_found(error) => return Ok(None),
            other => other?,
        };
        if self.payload(start).is_empty() {
            return Ok(None);
        }
        decode_topic_details(self.payload(start)).map(Some)
    }

    /// Creates a topic with `partitions` partitions and `options`
    /// ([`topic_options`]; empty for the server's defaults).
    pub async fn create_topic(
        &mut self,
        stream: &Id,
        name_: &str,
        partitions: u32,
        options: &[u8],
    ) -> Result<TopicDetails, ClientError> {
        let options = Options::parse(options)
            .map_err(|error| ClientError::InvalidArgument(format!("options: {error}")))?;
        let body = encode(&CreateTopic {
            stream_id: stream.wire()?,
            partitions_count: partitions,
            name: name(name_)?,
            options,
        });
        let start = self.call_body(code::CREATE_TOPIC, &body).await?;
        decode_topic_details(self.payload(start))
    }

    /// Deletes a topic.
    pub async fn delete_topic(&mut self, stream: &Id, topic: &Id) -> Result<(), ClientError> {
        let body = encode(&TopicTarget { stream_id: stream.wire()?, topic_id: topic.wire()? });
        self.call_body(code::DELETE_TOPIC, &body).await.map(drop)
    }

    /// Sends a prepared batch; returns where it landed (empty if the server did not
    /// say).
    pub async fn send_prepared(
        &mut self,
        prepared: &PreparedSend,
    ) -> Result<Vec<SendConfirmation>, ClientError> {
        let start = self.call_body(code::SEND_MESSAGES, &prepared.body).await?;
        decode_send_confirmations(self.payload(start)).map_err(decode_error("send reply"))
    }

    /// Encodes and sends one batch.
    pub async fn send_messages(
        &mut self,
        stream: &Id,
        topic: &Id,
        partitioning: Partitioning<'_>,
        messages: &[OutgoingMessage<'_>],
    ) -> Result<Vec<SendConfirmation>, ClientError> {
        let prepared = PreparedSend::new(stream, topic, partitioning, messages)?;
        self.send_prepared(&prepared).await
    }

    #[allow(clippy::too_many_arguments)] // The command's own fields.
    async fn poll_call(
        &mut self,
        consumer: &ConsumerId,
        stream: &Id,
        topic: &Id,
        partition: Option<u32>,
        strategy: PollingStrategy,
        count: u32,
        auto_commit: bool,
    ) -> Result<(usize, PollReplyHeader), ClientError> {
        let body = encode(&PollMessages {
            consumer: consumer.wire()?,
            stream_id: stream.wire()?,
            topic_id: topic.wire()?,
            partition_id: partition,
            strategy,
            count,
            auto_commit,
        });
        let start = self.call_body(code::POLL_MESSAGES, &body).await?;
        let payload = self.payload(start);
        if payload.is_empty() {
            let empty = PollReplyHeader {
                partition_id: partition.unwrap_or(0),
                current_offset: 0,
                messages_count: 0,
            };
            return Ok((start, empty));
        }
        let header = PollReplyHeader::decode(&mut Reader::new(payload))
            .map_err(decode_error("poll reply"))?;
        Ok((start + POLL_REPLY_HEADER_SIZE, header))
    }

    /// Polls messages, copying them out (checksums verified).
    #[allow(clippy::too_many_arguments)] // The command's own fields.
    pub async fn poll_messages(
        &mut self,
        consumer: &ConsumerId,
        stream: &Id,
        topic: &Id,
        partition: Option<u32>,
        strategy: PollingStrategy,
        count: u32,
        auto_commit: bool,
    ) -> Result<PolledMessages, ClientError> {
        let (start, header) = self
            .poll_call(consumer, stream, topic, partition, strategy, count, auto_commit)
            .await?;
        let mut messages = Vec::with_capacity(header.messages_count.min(count) as usize);
        for batch in PolledBatches::new(self.payload(start)) {
            let batch =
                batch.map_err(|error| ClientError::Protocol(format!("poll batch: {error}")))?;
            batch
                .verify()
                .map_err(|error| ClientError::Protocol(format!("poll batch: {error}")))?;
            let batch_header = batch.header();
            for frame in batch.frames() {
                let frame_header = frame.header();
                messages.push(PolledMessage {
                    offset: batch_header.base_offset + u64::from(frame_header.offset_delta),
                    id: frame.id(),
                    timestamp: batch_header.base_timestamp,
                    origin_timestamp: batch_header.origin_timestamp
                        + u64::from(frame_header.timestamp_delta),
                    payload: frame.payload().to_vec(),
                    user_headers: frame.user_headers().to_vec(),
                });
            }
        }
        Ok(PolledMessages {
            partition_id: header.partition_id,
            current_offset: header.current_offset,
            messages,
        })
    }

    /// Polls messages and only counts them (layout checked; checksums too when
    /// `verify`).
    #[allow(clippy::too_many_arguments)] // The command's own fields.
    pub async fn poll_summary(
        &mut self,
        consumer: &ConsumerId,
        stream: &Id,
        topic: &Id,
        partition: Option<u32>,
        strategy: PollingStrategy,
        count: u32,
        auto_commit: bool,
        verify: bool,
    ) -> Result<PollSummary, ClientError> {
        let (start, header) = self
            .poll_call(consumer, stream, topic, partition, strategy, count, auto_commit)
            .await?;
        let mut summary = PollSummary {
            partition_id: header.partition_id,
            current_offset: header.current_offset,
            ..PollSummary::default()
        };
        for batch in PolledBatches::new(self.payload(start)) {
            let batch =
                batch.map_err(|error| ClientError::Protocol(format!("poll batch: {error}")))?;
            if verify {
                batch
                    .verify()
                    .map_err(|error| ClientError::Protocol(format!("poll batch: {error}")))?;
            }
            for frame in batch.frames() {
                let offset = batch.header().base_offset + u64::from(frame.header().offset_delta);
                summary.first_offset.get_or_insert(offset);
                summary.last_offset = Some(offset);
                summary.messages += 1;
                summary.payload_bytes += u64::from(frame.header().payload_length);
            }
        }
        Ok(summary)
    }

    /// Stores a consumer's offset.
    pub async fn store_consumer_offset(
        &mut self,
        consumer: &ConsumerId,
        stream: &Id,
        topic: &Id,
        partition: Option<u32>,
        offset: u64,
    ) -> Result<(), ClientError> {
        let body = encode(&StoreConsumerOffset {
            target: OffsetTarget {
                consumer: consumer.wire()?,
                stream_id: stream.wire()?,
                topic_id: topic.wire()?,
                partition_id: partition,
            },
            offset,
            ack: AckLevel::Quorum,
        });
        self.call_body(code::STORE_CONSUMER_OFFSET, &body).await.map(drop)
    }

    /// Creates a consumer group.
    pub async fn create_consumer_group(
        &mut self,
        stream: &Id,
        topic: &Id,
        name_: &str,
    ) -> Result<GroupInfo, ClientError> {
        let body = encode(&CreateConsumerGroup {
            stream_id: stream.wire()?,
            topic_id: topic.wire()?,
            name: name(name_)?,
        });
        let start = self.call_body(code::CREATE_CONSUMER_GROUP, &body).await?;
        let group = ConsumerGroupReply::decode(&mut Reader::new(self.payload(start)))
            .map_err(decode_error("consumer group"))?;
        Ok(GroupInfo {
            id: group.id,
            name: group.name.as_str().to_owned(),
            partitions_count: group.partitions_count,
            members_count: group.members_count,
        })
    }

    async fn group_call(
        &mut self,
        code: u32,
        stream: &Id,
        topic: &Id,
        group: &Id,
    ) -> Result<(), ClientError> {
        let body = encode(&GroupTarget {
            stream_id: stream.wire()?,
            topic_id: topic.wire()?,
            group_id: group.wire()?,
        });
        let result = self.call_body(code, &body).await.map(drop);
        match (code, &result) {
            (code::JOIN_CONSUMER_GROUP, Ok(())) => self.remember_group(&body),
            // Left, deleted, or refused as not there: nothing to re-join.
            (
                code::LEAVE_CONSUMER_GROUP | code::DELETE_CONSUMER_GROUP,
                Ok(()) | Err(ClientError::Server(_)),
            ) => self.forget_group(&body),
            _ => {}
        }
        result
    }

    /// Joins a consumer group (the server assigns partitions). The client re-joins it
    /// on every new connection until it leaves ([`super::restore`]).
    pub async fn join_consumer_group(
        &mut self,
        stream: &Id,
        topic: &Id,
        group: &Id,
    ) -> Result<(), ClientError> {
        self.group_call(code::JOIN_CONSUMER_GROUP, stream, topic, group).await
    }

    /// Leaves a consumer group. Name it as it was joined (same ids or same names): the
    /// re-join list matches by those bytes.
    pub async fn leave_consumer_group(
        &mut self,
        stream: &Id,
        topic: &Id,
        group: &Id,
    ) -> Result<(), ClientError> {
        self.group_call(code::LEAVE_CONSUMER_GROUP, stream, topic, group).await
    }

    /// Deletes a consumer group.
    pub async fn delete_consumer_group(
        &mut self,
        stream: &Id,
        topic: &Id,
        group: &Id,
    ) -> Result<(), ClientError> {
        self.group_call(code::DELETE_CONSUMER_GROUP, stream, topic, group).await
    }

    /// Logs out and drops the connection.
    pub async fn logout(&mut self) -> Result<(), ClientError> {
        if self.link.is_none() {
            return Ok(());
        }
        let result = self.call_body(code::LOGOUT_USER, &[]).await.map(drop);
        self.link = None;
        result
    }
}

fn is_not_found(error: super::error::ServerError) -> bool {
    matches!(error, super::error::ServerError::NotFound(_))
}

fn decode_stream_details(payload: &[u8]) -> Result<(StreamInfo, Vec<TopicInfo>), ClientError> {
    let mut reader = Reader::new(payload);
    let stream = StreamReply::decode(&mut reader).map_err(decode_error("stream"))?;
    let mut topics = Vec::new();
    while !reader.is_empty() && topics.len() < stream.topics_count as usize {
        topics.push(TopicInfo::from(
            &TopicReply::decode(&mut reader).map_err(decode_error("topic"))?,
        ));
    }
    Ok((StreamInfo::from(&stream), topics))
}

fn decode_topic_details(payload: &[u8]) -> Result<TopicDetails, ClientError> {
    let mut reader = Reader::new(payload);
    let topic = TopicReply::decode(&mut reader).map_err(decode_error("topic"))?;
    let mut partitions = Vec::new();
    while !reader.is_empty() && partitions.len() < topic.partitions_count as usize {
        partitions.push(PartitionInfo::from(
            &PartitionReply::decode(&mut reader).map_err(decode_error("partition"))?,
        ));
    }
    Ok(TopicDetails { topic: TopicInfo::from(&topic), partitions })
}
