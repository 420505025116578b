//! Where things live: group → shard, and every shard's inbox. Immutable after start and
//! shared by all shards (and the QUIC edge thread) as an `Arc`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::inbox::ShardMessage;

/// Shard inboxes and the placement of groups.
#[derive(Debug)]
pub struct Router {
    inboxes: Vec<flume::Sender<ShardMessage>>,
    partition_groups: u32,
    next_client_id: AtomicU32,
    stopping: AtomicBool,
    serving: AtomicBool,
    /// The applied op of the newest metadata view the metadata shard published. Edges
    /// compare their copy with it (one atomic load per request) and fetch the newer view
    /// before acting, so a change — a revoked permission, a created topic — is seen by
    /// every request that starts after its reply was sent.
    view_op: AtomicU64,
    /// This node's replica index and the cluster's replica count.
    replica: u8,
    replica_count: u8,
    /// Per group, its replica's facts as the owning shard last published them.
    live: Vec<super::cluster_state::GroupLive>,
}

/// Bits of an Iggy client id that name the node (the rest count connections), so ids
/// are unique across the cluster: consumer-group members are client ids, and a node
/// removes only its own stale members at start.
pub const CLIENT_ID_NODE_SHIFT: u32 = 28;

/// How often a node re-sends a request whose reply has not come back, in a cluster: a
/// forwarded request can be lost with a primary (or a bus queue); the retry carries the
/// same client, session and request number, so the client table applies it once.
pub const RESEND_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// The shard's inbox is gone: it stopped (shutdown or a fatal error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("shard {0} is not running")]
pub struct ShardGone(pub u32);

impl Router {
    /// A router over `inboxes` (index = shard) for `partition_groups` partition groups,
    /// in a cluster of one.
    #[must_use]
    pub fn new(inboxes: Vec<flume::Sender<ShardMessage>>, partition_groups: u32) -> Arc<Self> {
        Self::new_cluster(inboxes, partition_groups, 0, 1)
    }

    /// A router of replica `replica` in a cluster of `replica_count`.
    #[must_use]
    pub fn new_cluster(
        inboxes: Vec<flume::Sender<ShardMessage>>,
        partition_groups: u32,
        replica: u8,
        replica_count: u8,
    ) -> Arc<Self> {
        assert!(!inboxes.is_empty(), "at least one shard");
        assert!(replica < replica_count && replica_count <= 6, "validated roster");
        Arc::new(Self {
            inboxes,
            partition_groups,
            next_client_id: AtomicU32::new((u32::from(replica) << CLIENT_ID_NODE_SHIFT) + 1),
            replica,
            replica_count,
            live: (0..=partition_groups)
                .map(|_| super::cluster_state::GroupLive::default())
                .collect(),
            stopping: AtomicBool::new(false),
            serving: AtomicBool::new(false),
            view_op: AtomicU64::new(0),
        })
    }

    /// Number of shards.
    #[must_use]
    pub fn shard_count(&self) -> u32 {
        u32::try_from(self.inboxes.len()).expect("bounded by config")
    }

    /// Number of partition groups.
    #[must_use]
    pub fn partition_groups(&self) -> u32 {
        self.partition_groups
    }

    /// The shard that owns `group`.
    #[must_use]
    pub fn shard_of(&self, group: u32) -> u32 {
        group % self.shard_count()
    }

    /// Every group this node runs: 0 (metadata) and `1..=partition_groups`.
    pub fn groups(&self) -> impl Iterator<Item = u32> {
        0..=self.partition_groups
    }

    /// Sends `message` to `shard`, waiting while its inbox is full (backpressure).
    pub async fn send(&self, shard: u32, message: ShardMessage) -> Result<(), ShardGone> {
        self.inboxes[shard as usize].send_async(message).await.map_err(|_| ShardGone(shard))
    }

    /// Sends to every shard.
    pub async fn broadcast(&self, message: impl Fn() -> ShardMessage) {
        for shard in 0..self.shard_count() {
            // A stopped shard no longer needs it.
            let _ = self.send(shard, message()).await;
        }
    }

    /// Sends without waiting; `false` if the inbox is full or gone.
    pub fn try_send(&self, shard: u32, message: ShardMessage) -> bool {
        self.inboxes[shard as usize].try_send(message).is_ok()
    }

    /// The published facts of `group` (see `cluster_state.rs`).
    #[must_use]
    pub fn live(&self, group: u32) -> &super::cluster_state::GroupLive {
        &self.live[group as usize]
    }

    /// This node's replica index.
    #[must_use]
    pub fn replica(&self) -> u8 {
        self.replica
    }

    /// Replicas per group (nodes in the cluster).
    #[must_use]
    pub fn replica_count(&self) -> u8 {
        self.replica_count
    }

    /// The node an Iggy client id was issued by.
    #[must_use]
    pub fn client_node(client_id: u32) -> u8 {
        u8::try_from(client_id >> CLIENT_ID_NODE_SHIFT).unwrap_or(u8::MAX)
    }

    /// How often an unanswered request is re-sent (`None` in a cluster of one, where a
    /// request cannot be lost on the way).
    #[must_use]
    pub fn resend_interval(&self) -> Option<std::time::Duration> {
        (self.replica_count > 1).then_some(RESEND_INTERVAL)
    }

    /// A fresh Iggy client id (unique in the cluster while this node runs).
    pub fn next_client_id(&self) -> u32 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    /// True once shutdown began: edges stop accepting.
    #[must_use]
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// The newest published metadata view's applied op.
    #[must_use]
    pub fn view_op(&self) -> u64 {
        self.view_op.load(Ordering::Acquire)
    }

    /// Publishes that a view with `op` exists (before any reply that depends on it).
    pub fn publish_view_op(&self, op: u64) {
        self.view_op.fetch_max(op, Ordering::AcqRel);
    }

    /// True once every client edge accepts connections.
    #[must_use]
    pub fn serving(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    /// Marks the edges as serving.
    pub fn mark_serving(&self) {
        self.serving.store(true, Ordering::Release);
    }

    /// Marks shutdown as begun.
    pub fn begin_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }
}
