//! The measured actors: pinned producers, pinned consumers and consumer-group
//! members. Each owns one client (one connection, one request in flight), connects
//! before the common start, and stops at its target, at its first failed request, or
//! when it has made no progress for the stall limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Barrier;
use tokio::time::Instant;

use super::plan::{Plan, Slot};
use super::setup::StreamIds;
use super::stats::ActorStats;
use crate::client::{
    Client, ClientConfig, ClientError, ClientStats, ConsumerId, Id, OutgoingMessage, Partitioning,
    PollingKind, PollingStrategy, PreparedSend,
};

/// Producer or consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// Sends batches.
    Producer,
    /// Polls batches.
    Consumer,
}

/// What one actor did.
#[derive(Debug, Clone)]
pub struct ActorReport {
    /// Producer or consumer.
    pub kind: ActorKind,
    /// Its index among its kind.
    pub index: u32,
    /// Its pinned slot (`None` for group members).
    pub slot: Option<Slot>,
    /// Its measurements.
    pub stats: ActorStats,
    /// When it started, since the common start.
    pub started: Duration,
    /// When it finished, since the common start.
    pub finished: Duration,
    /// Why it stopped early.
    pub error: Option<String>,
    /// Its client's failover counters.
    pub client: ClientStats,
}

/// What every actor of a run shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Connection settings.
    pub config: ClientConfig,
    /// The plan.
    pub plan: Arc<Plan>,
    /// Stream and topic ids by stream index.
    pub ids: Arc<Vec<StreamIds>>,
    /// Every actor waits here after connecting.
    pub barrier: Arc<Barrier>,
    /// Set by the first actor through the barrier.
    pub start: Arc<OnceLock<Instant>>,
    /// Progress bar (messages).
    pub progress: indicatif::ProgressBar,
    /// No-progress limit.
    pub stall: Duration,
    /// Verify polled checksums.
    pub verify: bool,
}

impl Shared {
    fn since_start(&self) -> Duration {
        self.start.get().map_or(Duration::ZERO, Instant::elapsed)
    }

    /// Connects, then waits for every other actor (always reaching the barrier, so
    /// one failed connect cannot hang the run).
    async fn connect_and_wait(&self) -> Result<Client, ClientError> {
        let client = Client::connect(self.config.clone()).await;
        self.barrier.wait().await;
        self.start.get_or_init(Instant::now);
        client
    }

    fn report(&self, kind: ActorKind, index: u32, slot: Option<Slot>) -> ActorReport {
        ActorReport {
            kind,
            index,
            slot,
            stats: ActorStats::default(),
            started: self.since_start(),
            finished: Duration::ZERO,
            error: None,
            client: ClientStats::default(),
        }
    }
}

fn finish(
    shared: &Shared,
    mut report: ActorReport,
    client: Option<&Client>,
    error: Option<String>,
) -> ActorReport {
    report.finished = shared.since_start();
    report.error = error;
    report.client = client.map(Client::stats).unwrap_or_default();
    report
}

/// A batch of `plan.messages_per_batch` messages of `plan.message_size` bytes, with
/// ids unique per producer and message position.
pub fn prepare_batch(
    plan: &Plan,
    index: u32,
    ids: StreamIds,
    partition: u32,
) -> Result<PreparedSend, ClientError> {
    let size = usize::try_from(plan.message_size)
        .map_err(|_| ClientError::InvalidArgument("message size too large".into()))?;
    let payload: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let origin_timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |elapsed| u64::try_from(elapsed.as_micros()).unwrap_or(1));
    let messages: Vec<OutgoingMessage<'_>> = (0..plan.messages_per_batch)
        .map(|position| OutgoingMessage {
            id: ((u128::from(index) + 1) << 64) | (u128::from(position) + 1),
            origin_timestamp,
            payload: &payload,
            user_headers: &[],
        })
        .collect();
    PreparedSend::new(
        &Id::Numeric(ids.stream),
        &Id::Numeric(ids.topic),
        Partitioning::PartitionId(partition),
        &messages,
    )
}

/// A pinned producer: `plan.batches` sends of one prepared batch.
pub async fn producer(shared: Shared, index: u32) -> ActorReport {
    let slot = shared.plan.pinned(index);
    let ids = shared.ids[slot.stream as usize];
    let prepared = prepare_batch(&shared.plan, index, ids, slot.partition);
    let connected = shared.connect_and_wait().await;
    let mut report = shared.report(ActorKind::Producer, index, Some(slot));
    let (mut client, prepared) = match (connected, prepared) {
        (Ok(client), Ok(prepared)) => (client, prepared),
        (Err(error), _) | (_, Err(error)) => {
            return finish(&shared, report, None, Some(error.to_string()));
        }
    };
    let mut error = None;
    for _ in 0..shared.plan.batches {
        let sent = Instant::now();
        if let Err(failure) = client.send_prepared(&prepared).await {
            error = Some(failure.to_string());
            break;
        }
        let messages = u64::from(prepared.messages());
        report.stats.record(
            shared.since_start(),
            sent.elapsed(),
            messages,
            prepared.payload_bytes(),
        );
        shared.progress.inc(messages);
    }
    finish(&shared, report, Some(&client), error)
}

/// A pinned consumer: polls its slot from offset 0 until it has read its target,
/// checking that offsets arrive dense and in order.
pub async fn consumer(shared: Shared, index: u32) -> ActorReport {
    let slot = shared.plan.pinned(index);
    let ids = shared.ids[slot.stream as usize];
    let target = shared.plan.consumer_target(index);
    let connected = shared.connect_and_wait().await;
    let mut report = shared.report(ActorKind::Consumer, index, Some(slot));
    let mut client = match connected {
        Ok(client) => client,
        Err(error) => return finish(&shared, report, None, Some(error.to_string())),
    };
    let (stream, topic) = (Id::Numeric(ids.stream), Id::Numeric(ids.topic));
    let consumer = ConsumerId::single(index + 1);
    let mut offset = 0u64;
    let mut last_progress = Instant::now();
    let mut error = None;
    while report.stats.messages < target {
        let count = u32::try_from(target - report.stats.messages)
            .unwrap_or(u32::MAX)
            .min(shared.plan.messages_per_batch);
        let strategy = PollingStrategy { kind: PollingKind::Offset, value: offset };
        let polled = Instant::now();
        let summary = match client
            .poll_summary(
                &consumer,
                &stream,
                &topic,
                Some(slot.partition),
                strategy,
                count,
                false,
                shared.verify,
            )
            .await
        {
            Ok(summary) => summary,
            Err(failure) => {
                error = Some(failure.to_string());
                break;
            }
        };
        let latency = polled.elapsed();
        if summary.messages == 0 {
            report.stats.empty_polls += 1;
            if last_progress.elapsed() > shared.stall {
                error = Some(format!("no message at offset {offset} for {:?}", shared.stall));
                break;
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
            continue;
        }
        if summary.first_offset != Some(offset) {
            error = Some(format!(
                "expected offset {offset}, the poll started at {:?}",
                summary.first_offset
            ));
            break;
        }
        let messages = u64::from(summary.messages);
        report.stats.record(shared.since_start(), latency, messages, summary.payload_bytes);
        shared.progress.inc(messages);
        offset = summary.last_offset.map_or(offset, |last| last + 1);
        last_progress = Instant::now();
    }
    finish(&shared, report, Some(&client), error)
}

/// A consumer-group member: joins, polls `Next` with auto-commit until the group as
/// a whole has read `target`, then leaves.
pub async fn group_member(
    shared: Shared,
    index: u32,
    group: u32,
    consumed: Arc<AtomicU64>,
    target: u64,
) -> ActorReport {
    let ids = shared.ids[0];
    let (stream, topic, group_id) =
        (Id::Numeric(ids.stream), Id::Numeric(ids.topic), Id::Numeric(group));
    let joined = async {
        let mut client = Client::connect(shared.config.clone()).await?;
        client.join_consumer_group(&stream, &topic, &group_id).await?;
        Ok::<_, ClientError>(client)
    }
    .await;
    shared.barrier.wait().await;
    shared.start.get_or_init(Instant::now);
    let report = shared.report(ActorKind::Consumer, index, None);
    let mut client = match joined {
        Ok(client) => client,
        Err(error) => return finish(&shared, report, None, Some(error.to_string())),
    };
    let mut report = report;
    let consumer = ConsumerId::group(group);
    let strategy = PollingStrategy { kind: PollingKind::Next, value: 0 };
    let mut seen = consumed.load(Ordering::Relaxed);
    let mut last_progress = Instant::now();
    let mut error = None;
    while consumed.load(Ordering::Relaxed) < target {
        let polled = Instant::now();
        let summary = match client
            .poll_summary(
                &consumer,
                &stream,
                &topic,
                None,
                strategy,
                shared.plan.messages_per_batch,
                true,
                shared.verify,
            )
            .await
        {
            Ok(summary) => summary,
            Err(failure) => {
                error = Some(failure.to_string());
                break;
            }
        };
        let latency = polled.elapsed();
        if summary.messages == 0 {
            report.stats.empty_polls += 1;
            let now = consumed.load(Ordering::Relaxed);
            if now != seen {
                seen = now;
                last_progress = Instant::now();
            } else if last_progress.elapsed() > shared.stall {
                error = Some(format!(
                    "the group read nothing for {:?} ({now} of {target})",
                    shared.stall
                ));
                break;
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
            continue;
        }
        let messages = u64::from(summary.messages);
        report.stats.record(shared.since_start(), latency, messages, summary.payload_bytes);
        shared.progress.inc(messages);
        consumed.fetch_add(messages, Ordering::Relaxed);
        last_progress = Instant::now();
    }
    let _ = client.leave_consumer_group(&stream, &topic, &group_id).await;
    finish(&shared, report, Some(&client), error)
}
