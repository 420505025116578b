//! State transfer: a replica too far behind for the journal ring fetches a checkpoint.
//!
//! Once the op a backup needs next (`commit_min + 1`) has been overwritten in its peers'
//! rings, repair cannot help. It asks the primary for chunks of its latest durable
//! checkpoint snapshot, verifies the whole against the checksum the chunks announce,
//! installs it (state machine and client table at the checkpoint op, chain anchored at
//! the checkpoint's prepare checksum), makes it durable like its own checkpoint, and
//! then repairs the ops above it as usual.

use vireo_protocol::vsr::{Command, HEADER_SIZE, Header, Message, checksum};

use crate::action::Action;
use crate::replica::{Replica, Status};
use crate::state_machine::StateMachine;

/// Sync rounds without a new chunk before the transfer is abandoned.
pub const SYNC_ROUNDS_MAX: u64 = 20;

/// Most chunk requests in flight per sync tick.
pub const SYNC_CHUNKS_PER_TICK_MAX: u64 = 8;

/// The checkpoint being fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncTarget {
    /// Its op.
    pub op: u64,
    /// Checksum of that op's prepare (the chain anchor).
    pub prepare_checksum: u128,
    /// Checksum of the snapshot bytes.
    pub snapshot_checksum: u128,
    /// Snapshot length.
    pub size: u64,
    /// Chunks received, by index.
    pub chunks: Vec<Option<Vec<u8>>>,
}

/// State transfer in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    /// The replica that serves the chunks.
    pub source: u8,
    /// Chunk-request rounds without a new chunk; the transfer is abandoned after
    /// [`SYNC_ROUNDS_MAX`] (the source may have nothing newer, or be gone).
    pub idle_rounds: u64,
    /// A view whose start_view was too far ahead to install: asked for again after.
    pub view: Option<u32>,
    /// Unknown until the first chunk names it.
    pub target: Option<SyncTarget>,
}

impl<S: StateMachine> Replica<S> {
    fn chunk_size(&self) -> usize {
        self.config.message_size_max - HEADER_SIZE
    }

    /// Starts a state transfer if a peer's head shows our next op left its ring.
    pub(crate) fn maybe_start_sync(&mut self, peer_op: u64) {
        if self.status != Status::Normal || self.is_primary() {
            return;
        }
        if peer_op < self.commit_min + 1 + self.config.journal_slot_count {
            return;
        }
        let primary = self.primary();
        self.start_sync(primary, None);
    }

    /// Fetches `source`'s checkpoint; then, if given, asks for `view`'s start_view again.
    pub(crate) fn start_sync(&mut self, source: u8, view: Option<u32>) {
        if self.sync.is_some() || self.checkpoint_writing.is_some() || source == self.config.replica
        {
            return;
        }
        if self.is_primary() {
            // A primary's log changes only by its own prepares: one that must fetch a
            // checkpoint (its view is over, it learned) steps down first, so it never
            // heartbeats a commit number from a history its backups do not share.
            self.step_down();
        }
        self.sync = Some(SyncState { source, view, idle_rounds: 0, target: None });
        self.sync_timeout.start();
        self.request_sync_chunks();
    }

    pub(crate) fn request_sync_chunks(&mut self) {
        let Some(sync) = &mut self.sync else { return };
        sync.idle_rounds += 1;
        if sync.idle_rounds > SYNC_ROUNDS_MAX {
            self.sync = None;
            self.sync_timeout.stop();
            return;
        }
        let sync = self.sync.as_ref().expect("checked");
        let (checkpoint_op, missing): (u64, Vec<u64>) = match &sync.target {
            None => (0, vec![0]),
            Some(target) => (
                target.op,
                (0..target.chunks.len() as u64)
                    .filter(|&index| target.chunks[usize::try_from(index).expect("fits")].is_none())
                    .take(usize::try_from(SYNC_CHUNKS_PER_TICK_MAX).expect("small"))
                    .collect(),
            ),
        };
        let source = sync.source;
        for index in missing {
            let mut header = self.header(Command::RequestSyncChunk);
            header.checkpoint_op = checkpoint_op;
            header.op = index;
            self.send_header(source, header);
        }
    }

    pub(crate) fn on_request_sync_chunk(&mut self, header: &Header) {
        let durable = &self.superblock.checkpoint;
        if durable.op == 0 || self.checkpoint_snapshot.len() != durable.snapshot_size as usize {
            return;
        }
        let chunk_size = self.chunk_size();
        let size = self.checkpoint_snapshot.len();
        let count = size.div_ceil(chunk_size).max(1) as u64;
        let index = if header.checkpoint_op == durable.op { header.op.min(count - 1) } else { 0 };
        let start = usize::try_from(index).expect("fits") * chunk_size;
        let end = (start + chunk_size).min(size);
        let mut reply = self.header(Command::SyncChunk);
        reply.checkpoint_op = durable.op;
        reply.parent = durable.prepare_checksum;
        reply.context = durable.snapshot_checksum;
        reply.op = index;
        reply.commit = count;
        reply.timestamp = size as u64;
        let message = Message::new(reply, &self.checkpoint_snapshot[start..end]);
        self.send(header.replica, message);
    }

    pub(crate) fn on_sync_chunk(&mut self, message: &Message) {
        let header = *message.header();
        let chunk_size = self.chunk_size() as u64;
        let Some(sync) = &mut self.sync else { return };
        if header.replica == sync.source
            && header.checkpoint_op <= self.commit_min
            && sync.target.is_none()
        {
            // The source has nothing newer than what we applied: repair, not sync.
            let view = sync.view;
            self.sync = None;
            self.sync_timeout.stop();
            if let Some(view) = view {
                self.request_start_view(view);
            }
            return;
        }
        if header.checkpoint_op <= self.commit_min
            || header.commit == 0
            || header.commit != header.timestamp.div_ceil(chunk_size).max(1)
            || header.op >= header.commit
        {
            return;
        }
        let newer = sync.target.as_ref().is_none_or(|target| header.checkpoint_op > target.op);
        if newer {
            sync.target = Some(SyncTarget {
                op: header.checkpoint_op,
                prepare_checksum: header.parent,
                snapshot_checksum: header.context,
                size: header.timestamp,
                chunks: vec![None; usize::try_from(header.commit).expect("bounded by size")],
            });
        }
        let target = sync.target.as_mut().expect("set above");
        if target.op != header.checkpoint_op || target.snapshot_checksum != header.context {
            return;
        }
        let index = usize::try_from(header.op).expect("bounded");
        if target.chunks[index].is_none() {
            sync.idle_rounds = 0;
        }
        target.chunks[index] = Some(message.body().to_vec());
        if target.chunks.iter().all(Option::is_some) {
            let target = sync.target.take().expect("set above");
            self.install_sync(target);
        } else if newer {
            self.request_sync_chunks();
        }
    }

    fn install_sync(&mut self, target: SyncTarget) {
        let snapshot: Vec<u8> = target.chunks.into_iter().flatten().flatten().collect();
        if snapshot.len() as u64 != target.size || checksum(&snapshot) != target.snapshot_checksum {
            if let Some(sync) = &mut self.sync {
                sync.target = None; // Start over.
            }
            return;
        }
        let view = self.sync.as_ref().and_then(|sync| sync.view);
        let Ok(decoded) = crate::snapshot::decode(&snapshot, &self.config) else {
            panic!(
                "a checkpoint snapshot with a valid checksum does not decode (version mismatch?)"
            );
        };
        self.state_machine
            .restore(decoded.machine)
            .expect("a verified checkpoint snapshot restores");
        self.client_table = decoded.client_table;
        let checkpoint_header = decoded.checkpoint_header;
        self.commit_min = target.op;
        self.commit_min_checksum = target.prepare_checksum;
        self.commit_max = self.commit_max.max(target.op);
        // Entries above the checkpoint stay: some may have been acknowledged, and the
        // chain check decides later whether they extend the checkpoint.
        self.journal.remove_through(target.op);
        self.faulty_unpersisted.retain(|&faulty| faulty > target.op);
        // (The checkpoint's superblock write below records whether any fault remains.)
        self.chain_low = None;
        self.synced_op = self.synced_op.max(target.op);
        self.op = self.op.max(target.op);
        self.install_checkpoint_header(checkpoint_header);
        self.head_trusted = false;
        self.commit_max_checksum = None;
        self.cache.clear();
        self.commit_reading = None;
        // A stale primary that syncs is about to learn its view is over.
        self.pipeline.clear();
        self.sync = None;
        self.sync_timeout.stop();
        self.stats.syncs += 1;
        self.outbox.push(Action::StateSynced { op: target.op });
        // Durable like our own checkpoint: snapshot first, then the superblock names it.
        let area = 1 - self.superblock.checkpoint.area;
        self.checkpoint_writing = Some((target.op, target.prepare_checksum));
        self.checkpoint_snapshot_pending = snapshot.clone();
        self.outbox.push(Action::SnapshotWrite { op: target.op, area, snapshot });
        if let Some(view) = view {
            self.request_start_view(view);
        }
    }
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;
