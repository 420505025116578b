//! The tasks of a running shard: its inbox, the replica tick, the disk waker, the
//! maintenance proposals (retention, dropping partitions of deleted topics), the
//! listeners, and the graceful shutdown.

use std::os::fd::FromRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vireo_storage::{IoRequest, execute};

use super::Shard;
use super::client::ConsensusClient;
use super::inbox::ShardMessage;
use crate::metadata::MetadataState;
use crate::partition::PartitionKey;
use crate::partition::op::{CONTROL_OPERATION, PartitionControl};

/// Ticks between prunes of abandoned reply channels.
const PRUNE_TICKS: u64 = 100;
/// How long shutdown waits for in-flight requests, flushes and disk I/O.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Spawns the inbox loop, the tick, the disk waker and (for partition groups) the
/// maintenance task.
pub fn spawn_all(shard: &Rc<Shard>, inbox: flume::Receiver<ShardMessage>) {
    monoio::spawn(inbox_loop(Rc::clone(shard), inbox));
    monoio::spawn(tick_loop(Rc::clone(shard)));
    monoio::spawn(disk_waker(Rc::clone(shard)));
    if !shard.partition_groups().is_empty() {
        monoio::spawn(maintenance(Rc::clone(shard)));
    }
}

async fn inbox_loop(shard: Rc<Shard>, inbox: flume::Receiver<ShardMessage>) {
    while let Ok(message) = inbox.recv_async().await {
        match message {
            ShardMessage::Request { group, message, reply } => {
                shard.on_request(group, message, reply);
            }
            ShardMessage::Poll { group, query, reply } => {
                let shard = Rc::clone(&shard);
                monoio::spawn(async move {
                    let result = shard.poll(group, query).await;
                    let _ = reply.send_async(result).await;
                });
            }
            ShardMessage::Offset { group, key, owner, reply } => {
                let _ = reply.try_send(shard.stored_offset(group, &key, &owner));
            }
            ShardMessage::Stats { partitions, reply } => {
                let _ = reply.try_send(shard.partition_stats(&partitions));
            }
            ShardMessage::View(view) => shard.install_view(view),
            ShardMessage::LatestView { reply } => {
                let _ = reply.try_send(shard.refresh_view());
            }
            ShardMessage::Serve(link) => {
                monoio::spawn(crate::net::quic::serve(Rc::clone(&shard), link));
            }
            ShardMessage::Report { reply } => {
                let _ = reply.try_send(shard.report());
            }
            ShardMessage::Replica { from, message } => shard.on_replica_message(from, message),
        }
    }
}

async fn tick_loop(shard: Rc<Shard>) {
    let mut interval =
        monoio::time::interval(Duration::from_millis(shard.config.consensus.tick_ms));
    let mut ticks = 0u64;
    loop {
        interval.tick().await;
        if shard.quiescing.get() {
            continue;
        }
        shard.on_tick();
        ticks += 1;
        if ticks.is_multiple_of(PRUNE_TICKS) {
            shard.prune_waiting();
        }
    }
}

/// Waits on the ring's eventfd (an io_uring read of the counter, which also re-arms it)
/// and drives the shard after every batch of completions.
async fn disk_waker(shard: Rc<Shard>) {
    let raw = shard.disk.borrow().completion_eventfd();
    // SAFETY: `dup` of a descriptor the disk keeps open; the copy is owned here.
    let duplicate = unsafe { libc::dup(raw) };
    if duplicate < 0 {
        crate::exit::fatal(crate::exit::ExitCode::Storage, "cannot duplicate the io_uring eventfd");
    }
    // SAFETY: `duplicate` is a fresh descriptor nobody else owns.
    let file = unsafe { std::fs::File::from_raw_fd(duplicate) };
    let file = match monoio::fs::File::from_std(file) {
        Ok(file) => file,
        Err(error) => {
            crate::exit::fatal(crate::exit::ExitCode::Storage, &format!("eventfd: {error}"))
        }
    };
    let mut buffer = vec![0u8; 8];
    loop {
        let (result, returned) = file.read_at(buffer, 0).await;
        buffer = returned;
        if let Err(error) = result {
            tracing::warn!(%error, "eventfd read failed");
            monoio::time::sleep(Duration::from_millis(1)).await;
        }
        shard.run();
    }
}

/// True if `key` names a partition the view knows, or one newer than the view.
fn partition_alive(view: &MetadataState, key: &PartitionKey) -> bool {
    if view.applied_op < key.incarnation {
        return true; // The view predates the partition: no verdict yet.
    }
    view.streams
        .get(&key.stream_id)
        .and_then(|stream| stream.topics.get(&key.topic_id))
        .and_then(|topic| topic.partitions.get(key.partition_id as usize))
        .is_some_and(|partition| partition.incarnation == key.incarnation)
}

/// What maintenance proposes for one partition.
fn maintenance_op(view: &MetadataState, key: &PartitionKey) -> Option<PartitionControl> {
    if !partition_alive(view, key) {
        return Some(PartitionControl::Drop { key: *key });
    }
    let topic = view.streams.get(&key.stream_id)?.topics.get(&key.topic_id)?;
    let expiry = topic.config.message_expiry;
    let max_size = topic.config.max_topic_size;
    let unlimited = vireo_protocol::iggy::topic_options::UNLIMITED;
    if expiry == unlimited && max_size == unlimited {
        return None;
    }
    // Iggy caps the whole topic; each partition keeps its share.
    let partitions = u64::try_from(topic.partitions.len().max(1)).unwrap_or(1);
    Some(PartitionControl::Retention {
        key: *key,
        message_expiry_us: (expiry != unlimited && expiry != 0).then_some(expiry),
        max_size_bytes: (max_size != unlimited).then(|| max_size / partitions),
    })
}

/// Periodically proposes retention and drops, as replicated ops (so every replica
/// deletes the same segments), while this replica is the group's primary.
async fn maintenance(shard: Rc<Shard>) {
    let interval = Duration::from_millis(shard.config.retention.interval_ms);
    let timeout = Duration::from_millis(shard.config.consensus.request_timeout_ms);
    let mut client = ConsensusClient::new(shard.config.consensus.cluster_id);
    let router = Arc::clone(&shard.router);
    loop {
        monoio::time::sleep(interval).await;
        if shard.router.stopping() {
            return;
        }
        let view = shard.view();
        for group in shard.partition_groups() {
            if !shard.is_primary(group) {
                continue;
            }
            for key in shard.partition_keys(group) {
                let Some(op) = maintenance_op(&view, &key) else { continue };
                let body = op.encode();
                if let Err(error) =
                    client.call(&router, group, CONTROL_OPERATION, &body, 0, None, timeout).await
                {
                    tracing::warn!(group, ?key, %error, "maintenance proposal failed");
                }
            }
        }
    }
}

/// Binds this shard's listeners.
pub fn listen(shard: &Rc<Shard>) -> Result<(), String> {
    let config = &shard.config;
    if config.tcp.enabled {
        let listener = crate::net::tcp::bind(config.tcp.address)
            .map_err(|error| format!("bind TCP {}: {error}", config.tcp.address))?;
        monoio::spawn(crate::net::tcp::serve(Rc::clone(shard), listener));
    }
    if shard.index == 0 && config.http.enabled {
        let listener = monoio::net::TcpListener::bind(config.http.address)
            .map_err(|error| format!("bind HTTP {}: {error}", config.http.address))?;
        monoio::spawn(crate::net::http::serve(Rc::clone(shard), listener));
    }
    Ok(())
}

async fn wait_until(mut done: impl FnMut() -> bool, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while !done() {
        if Instant::now() >= deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        monoio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// Graceful shutdown of this shard: requests drain, replicas stop ticking, logs flush,
/// the disk goes idle, then every journal file is synced. After `Ok` nothing written
/// by this shard is unsynced.
pub async fn shutdown(shard: &Rc<Shard>) -> Result<(), String> {
    wait_until(|| shard.active_requests.get() == 0, "in-flight requests").await?;
    shard.quiescing.set(true);
    let targets = shard.flush_partitions()?;
    wait_until(|| shard.partitions_flushed(&targets), "partition flushes").await?;
    wait_until(|| shard.disk.borrow().in_flight() == 0, "disk I/O").await?;
    for file in shard.journal_files() {
        let mut disk = shard.disk.borrow_mut();
        let token = disk.read_token();
        let mut others = Vec::new();
        let result = execute(disk.journal(), token, IoRequest::Sync { file }, &mut others)
            .map_err(|error| format!("journal sync: {error}"))?;
        for completion in others {
            disk.defer(completion);
        }
        result.map_err(|error| format!("journal sync: {error}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use vireo_protocol::iggy::topic_options::{Compression, Durability};
    use vireo_protocol::metadata::TopicConfig;

    use super::*;
    use crate::metadata::{Partition, Stream, Topic};

    fn view(max_topic_size: u64) -> MetadataState {
        let topic = Topic {
            id: 0,
            name: "t".into(),
            created_at: 0,
            config: TopicConfig {
                message_expiry: u64::MAX,
                max_topic_size,
                segment_size: 1 << 20,
                durability: Durability::Replicated,
                consumer_offset_durability: Durability::Replicated,
                compression: Compression::None,
            },
            options_set: 0,
            partitions: vec![
                Partition { id: 0, created_at: 0, incarnation: 5 },
                Partition { id: 1, created_at: 0, incarnation: 5 },
            ],
            groups: BTreeMap::new(),
        };
        let stream =
            Stream { id: 0, name: "s".into(), created_at: 0, topics: BTreeMap::from([(0, topic)]) };
        MetadataState {
            streams: BTreeMap::from([(0, Arc::new(stream))]),
            users: BTreeMap::new(),
            applied_op: 10,
        }
    }

    #[test]
    fn maintenance_drops_only_what_the_view_proves_gone() {
        let key = |partition_id, incarnation| PartitionKey {
            stream_id: 0,
            topic_id: 0,
            partition_id,
            incarnation,
        };
        let unlimited = view(u64::MAX);
        assert_eq!(maintenance_op(&unlimited, &key(1, 5)), None);
        assert_eq!(
            maintenance_op(&unlimited, &key(1, 4)),
            Some(PartitionControl::Drop { key: key(1, 4) }),
            "an older incarnation of a reused id is gone"
        );
        assert_eq!(
            maintenance_op(&unlimited, &key(2, 5)),
            Some(PartitionControl::Drop { key: key(2, 5) })
        );
        assert_eq!(maintenance_op(&unlimited, &key(7, 11)), None, "newer than the view: wait");
        assert_eq!(
            maintenance_op(&view(1000), &key(0, 5)),
            Some(PartitionControl::Retention {
                key: key(0, 5),
                message_expiry_us: None,
                max_size_bytes: Some(500)
            })
        );
    }
}
