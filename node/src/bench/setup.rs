//! Creating (or reusing) the bench's streams and topics, prefilling partitions for
//! consumer workloads, and cleaning up.

use crate::client::{Client, ClientConfig, ClientError, Id, PreparedSend, topic_options};

use super::plan::{Plan, Slot, TOPIC_NAME};

/// The numeric ids of one bench stream and its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamIds {
    /// Stream id.
    pub stream: u32,
    /// Topic id.
    pub topic: u32,
    /// Whether this run created the stream (and so deletes it).
    pub created: bool,
}

/// The name of stream `index`.
#[must_use]
pub fn stream_name(prefix: &str, index: u32) -> String {
    format!("{prefix}-{}", index + 1)
}

/// Finds or creates every stream and topic of `plan`.
pub async fn prepare(
    client: &mut Client,
    plan: &Plan,
    prefix: &str,
    reuse: bool,
    options: &[(String, String)],
) -> Result<Vec<StreamIds>, ClientError> {
    let options = topic_options(options)?;
    let mut ids = Vec::with_capacity(plan.streams as usize);
    for index in 0..plan.streams {
        let name = stream_name(prefix, index);
        let existing = client.get_stream(&Id::Name(name.clone())).await?;
        let (stream, topics, created) = match existing {
            Some(_) if !reuse => {
                return Err(ClientError::InvalidArgument(format!(
                    "stream {name} already exists: pass --reuse, or delete it \
                     (vireo stream delete {name})"
                )));
            }
            Some((stream, topics)) => (stream.id, topics, false),
            None => (client.create_stream(&name).await?.id, Vec::new(), true),
        };
        let topic = match topics.iter().find(|topic| topic.name == TOPIC_NAME) {
            Some(topic) if topic.partitions_count < plan.partitions => {
                return Err(ClientError::InvalidArgument(format!(
                    "{name}/{TOPIC_NAME} has {} partitions, the run needs {}",
                    topic.partitions_count, plan.partitions
                )));
            }
            Some(topic) => topic.id,
            None => {
                let topic = client
                    .create_topic(&Id::Numeric(stream), TOPIC_NAME, plan.partitions, &options)
                    .await?;
                topic.topic.id
            }
        };
        ids.push(StreamIds { stream, topic, created });
    }
    Ok(ids)
}

/// Deletes the streams this run created; returns how many.
pub async fn cleanup(client: &mut Client, ids: &[StreamIds]) -> Result<usize, ClientError> {
    let mut deleted = 0;
    for stream in ids.iter().filter(|ids| ids.created) {
        client.delete_stream(&Id::Numeric(stream.stream)).await?;
        deleted += 1;
    }
    Ok(deleted)
}

/// Messages already in a slot's partition.
pub async fn stored_messages(
    client: &mut Client,
    ids: StreamIds,
    partition: u32,
) -> Result<u64, ClientError> {
    let topic = client.get_topic(&Id::Numeric(ids.stream), &Id::Numeric(ids.topic)).await?;
    Ok(topic
        .and_then(|topic| topic.partitions.into_iter().find(|p| p.id == partition))
        .map_or(0, |partition| partition.messages_count))
}

/// Sends `batches` copies of `prepared` (untimed), on a connection of its own.
pub async fn fill(
    config: ClientConfig,
    prepared: PreparedSend,
    batches: u64,
    progress: indicatif::ProgressBar,
) -> Result<(), ClientError> {
    let mut client = Client::connect(config).await?;
    for _ in 0..batches {
        client.send_prepared(&prepared).await?;
        progress.inc(u64::from(prepared.messages()));
    }
    Ok(())
}

/// The slots of `plan.prefill()` that still need batches, given what is stored.
pub async fn missing_batches(
    client: &mut Client,
    plan: &Plan,
    ids: &[StreamIds],
) -> Result<Vec<(Slot, u64)>, ClientError> {
    let mut missing = Vec::new();
    for (slot, batches) in plan.prefill() {
        let stored = stored_messages(client, ids[slot.stream as usize], slot.partition).await?;
        let needed = (batches * plan.batch_messages()).saturating_sub(stored);
        if needed > 0 {
            missing.push((slot, needed.div_ceil(plan.batch_messages())));
        }
    }
    Ok(missing)
}
