//! Driving the shard's groups to quiescence after every event, routing disk completions
//! by token, delivering replies, and publishing the metadata view.

use std::sync::Arc;

use vireo_consensus::{Replica, StateMachine, Status};
use vireo_protocol::vsr::Message;

use super::Shard;
use super::disk::{TokenOwner, owner};
use super::group::{GroupDriver, Machine};
use super::inbox::{GroupHealth, GroupReply, ShardMessage, ShardReport};
use crate::exit::{ExitCode, fatal};
use crate::partition::{OwnerKey, PartitionKey, PartitionStats};

/// Bound on action/completion rounds per event, so a bug cannot spin a shard for ever.
const ROUNDS_MAX: usize = 10_000;

type Replies = Vec<(u32, flume::Sender<GroupReply>, Message)>;

/// Per group, the flush targets a shutdown waits for.
pub type FlushTargets = Vec<(u32, Vec<(PartitionKey, u64)>)>;

impl Shard {
    /// Executes actions and completions of every group until none produces more work.
    pub fn run(&self) {
        for _ in 0..ROUNDS_MAX {
            let mut replies: Replies = Vec::new();
            let mut progress = self.execute_groups(&mut replies);
            self.deliver(replies);
            let mut completions = Vec::new();
            self.disk.borrow_mut().poll(&mut completions);
            progress |= !completions.is_empty();
            let logs_completed = !completions.is_empty();
            for completion in completions {
                self.route(completion);
            }
            if logs_completed {
                for driver in self.partitions.borrow_mut().values_mut() {
                    driver.replica.state_machine_mut().pump();
                }
            }
            self.check_failures();
            if !progress {
                self.publish_live();
                self.release_held_replies();
                self.refresh_view();
                if cfg!(debug_assertions) {
                    self.check_invariants();
                }
                return;
            }
        }
        fatal(ExitCode::Internal, "a shard did not quiesce: consensus driver loop");
    }

    fn execute_groups(&self, replies: &mut Replies) -> bool {
        let mut progress = false;
        let bus = self.bus.as_deref();
        if let Some(driver) = self.metadata.borrow_mut().as_mut() {
            progress |= execute_one(driver, &self.disk, bus, replies);
        }
        for driver in self.partitions.borrow_mut().values_mut() {
            progress |= execute_one(driver, &self.disk, bus, replies);
        }
        progress
    }

    fn route(&self, completion: vireo_storage::Completion) {
        match owner(completion.token) {
            TokenOwner::Journal(0) => {
                let mut metadata = self.metadata.borrow_mut();
                let driver = metadata.as_mut().expect("journal completion of an owned group");
                driver.on_journal_completion(&self.disk, completion);
            }
            TokenOwner::Journal(group) => {
                let mut partitions = self.partitions.borrow_mut();
                let driver = partitions.get_mut(&group).expect("journal of an owned group");
                driver.on_journal_completion(&self.disk, completion);
            }
            TokenOwner::Log(namespace) => {
                let mut partitions = self.partitions.borrow_mut();
                let machine = partitions
                    .values_mut()
                    .map(|driver| driver.replica.state_machine_mut())
                    .find(|machine| machine.owns_namespace(namespace));
                if let Some(machine) = machine {
                    machine.on_log_completion(namespace, completion);
                }
            }
            TokenOwner::Read(id) => {
                if let Some(sender) = self.reads.borrow_mut().remove(&id) {
                    let _ = sender.try_send(completion.result);
                }
            }
        }
    }

    fn deliver(&self, replies: Replies) {
        if replies.is_empty() {
            return;
        }
        let view = replies.iter().any(|(group, _, _)| *group == 0).then(|| self.refresh_view());
        for (group, sender, message) in replies {
            let view = if group == 0 { view.clone() } else { None };
            let _ = sender.try_send(GroupReply { message, view });
        }
    }

    /// Publishes a new view if the metadata machine changed; returns the current view.
    pub fn refresh_view(&self) -> Arc<crate::metadata::MetadataState> {
        let changed = {
            let mut metadata = self.metadata.borrow_mut();
            metadata.as_mut().and_then(|driver| {
                let machine = driver.replica.state_machine_mut();
                machine.take_changed().then(|| Arc::new(machine.state().clone()))
            })
        };
        if let Some(view) = changed {
            self.install_view(Arc::clone(&view));
            self.router.publish_view_op(view.applied_op);
            for shard in 0..self.router.shard_count() {
                if shard != self.index {
                    let router = Arc::clone(&self.router);
                    let view = Arc::clone(&view);
                    monoio::spawn(async move {
                        let _ = router.send(shard, ShardMessage::View(view)).await;
                    });
                }
            }
        }
        self.view()
    }

    fn check_failures(&self) {
        for driver in self.partitions.borrow_mut().values_mut() {
            if let Some(message) = driver.replica.state_machine_mut().take_failure() {
                fatal(ExitCode::Io, &format!("group {}: {message}", driver.group));
            }
        }
    }

    /// A consensus request for one of this shard's groups.
    pub fn on_request(&self, group: u32, message: Message, reply: flume::Sender<GroupReply>) {
        let client = message.header().client;
        if group == 0 {
            if let Some(driver) = self.metadata.borrow_mut().as_mut() {
                driver.wait_for(client, reply, message.clone());
                driver.replica.on_request(message);
            }
        } else if let Some(driver) = self.partitions.borrow_mut().get_mut(&group) {
            driver.wait_for(client, reply, message.clone());
            driver.replica.on_request(message);
        }
        self.run();
    }

    /// Publishes every owned group's facts for `cluster_state()`.
    fn publish_live(&self) {
        if let Some(driver) = self.metadata.borrow().as_ref() {
            publish(&self.router, &driver.replica);
        }
        for driver in self.partitions.borrow().values() {
            publish(&self.router, &driver.replica);
            let live = self.router.live(driver.replica.config().group);
            live.publish_data_syncing(driver.replica.state_machine().syncing());
        }
    }

    /// This node's view of the cluster (see `cluster_state.rs`).
    #[must_use]
    pub fn cluster_state(&self) -> super::cluster_state::ClusterState {
        use std::sync::atomic::Ordering::Relaxed;
        let cluster = &self.config.cluster;
        let peers = self.bus.as_ref().map_or_else(Vec::new, |bus| {
            bus.peers()
                .map(|peer| super::cluster_state::PeerState {
                    replica: peer.replica,
                    name: peer.name.clone(),
                    connected: peer.stats.connected.load(Relaxed),
                    inbound: peer.stats.inbound.load(Relaxed) > 0,
                })
                .collect()
        });
        super::cluster_state::ClusterState {
            node: cluster.replica,
            name: cluster.me().map_or_else(|| self.config.node.name.clone(), |me| me.name.clone()),
            replica_count: cluster.replica_count(),
            peers,
            groups: self.router.groups().map(|g| self.router.live(g).snapshot(g)).collect(),
        }
    }

    /// Asserts every group's invariants (debug builds run it after every event).
    pub fn check_invariants(&self) {
        if let Some(driver) = self.metadata.borrow().as_ref() {
            driver.check_invariants();
        }
        for driver in self.partitions.borrow().values() {
            driver.check_invariants();
        }
        assert!(self.view.borrow().applied_op <= self.view_ceiling(), "view ahead of group 0");
    }

    /// The highest op group 0 could have applied (its head, when owned here).
    fn view_ceiling(&self) -> u64 {
        self.metadata.borrow().as_ref().map_or(u64::MAX, |driver| driver.replica.op())
    }

    /// Ticks every replica.
    pub fn on_tick(&self) {
        if let Some(driver) = self.metadata.borrow_mut().as_mut() {
            driver.replica.on_tick();
        }
        let mut bus = crate::partition::transfer::ShardTransferBus::of(self);
        for driver in self.partitions.borrow_mut().values_mut() {
            driver.replica.on_tick();
            // Partition data catch-up after a state transfer (requests, retries); a
            // primary that cannot apply for long hands over.
            driver.replica.state_machine_mut().transfer_tick(&mut bus);
            if driver.replica.is_primary() && driver.replica.state_machine().should_hand_over() {
                driver.replica.abdicate();
            }
        }
        self.run();
    }

    /// Drops reply channels whose requester gave up.
    pub fn prune_waiting(&self) {
        if let Some(driver) = self.metadata.borrow_mut().as_mut() {
            driver.prune_waiting();
        }
        for driver in self.partitions.borrow_mut().values_mut() {
            driver.prune_waiting();
        }
    }

    /// Statistics of partitions owned here.
    pub fn partition_stats(&self, partitions: &[(u32, PartitionKey)]) -> Vec<PartitionStats> {
        let drivers = self.partitions.borrow();
        partitions
            .iter()
            .map(|(group, key)| {
                drivers
                    .get(group)
                    .map_or_else(PartitionStats::default, |d| d.replica.state_machine().stats(key))
            })
            .collect()
    }

    /// A partition's state and `owner`'s stored offset.
    pub fn stored_offset(
        &self,
        group: u32,
        key: &PartitionKey,
        owner: &OwnerKey,
    ) -> (PartitionStats, Option<u64>) {
        let drivers = self.partitions.borrow();
        drivers.get(&group).map_or((PartitionStats::default(), None), |driver| {
            let machine = driver.replica.state_machine();
            (machine.stats(key), machine.stored_offset(key, owner))
        })
    }

    /// The partitions of a group with a log (retention, cleanup).
    pub fn partition_keys(&self, group: u32) -> Vec<PartitionKey> {
        self.partitions
            .borrow()
            .get(&group)
            .map(|driver| driver.replica.state_machine().keys().copied().collect())
            .unwrap_or_default()
    }

    /// The partition groups on this shard.
    pub fn partition_groups(&self) -> Vec<u32> {
        self.partitions.borrow().keys().copied().collect()
    }

    /// Health of this shard's groups and its clients.
    pub fn report(&self) -> ShardReport {
        let mut groups = Vec::new();
        if let Some(driver) = self.metadata.borrow().as_ref() {
            groups.push(health(driver.group, &driver.replica));
        }
        for driver in self.partitions.borrow().values() {
            groups.push(health(driver.group, &driver.replica));
        }
        ShardReport {
            view_op: self.view.borrow().applied_op,
            groups,
            clients: self.connections.borrow().values().cloned().collect(),
        }
    }

    /// True if this shard's replica of `group` is its primary (normal status).
    pub fn is_primary(&self, group: u32) -> bool {
        if group == 0 {
            return self.metadata.borrow().as_ref().is_some_and(|d| d.replica.is_primary());
        }
        self.partitions.borrow().get(&group).is_some_and(|d| d.replica.is_primary())
    }

    /// Starts flushing every partition log; the targets to wait for, per group.
    pub fn flush_partitions(&self) -> Result<FlushTargets, String> {
        let mut targets = Vec::new();
        for (group, driver) in self.partitions.borrow_mut().iter_mut() {
            targets.push((*group, driver.replica.state_machine_mut().flush_all()?));
        }
        Ok(targets)
    }

    /// True once every flush target is durable.
    pub fn partitions_flushed(&self, targets: &FlushTargets) -> bool {
        let drivers = self.partitions.borrow();
        targets.iter().all(|(group, targets)| {
            drivers.get(group).is_none_or(|d| d.replica.state_machine().flushed(targets))
        })
    }

    /// The journal files of this shard's groups.
    pub fn journal_files(&self) -> Vec<vireo_storage::FileId> {
        let mut files: Vec<_> = self.metadata.borrow().iter().map(GroupDriver::file).collect();
        files.extend(self.partitions.borrow().values().map(GroupDriver::file));
        files
    }

    /// Journal I/Os in flight on this shard.
    pub fn journal_in_flight(&self) -> usize {
        let metadata = self.metadata.borrow().as_ref().map_or(0, GroupDriver::journal_in_flight);
        metadata
            + self.partitions.borrow().values().map(GroupDriver::journal_in_flight).sum::<usize>()
    }
}

fn execute_one<S: Machine>(
    driver: &mut GroupDriver<S>,
    disk: &std::cell::RefCell<super::disk::Disk>,
    bus: Option<&crate::bus::Bus>,
    replies: &mut Replies,
) -> bool {
    let mut collected = Vec::new();
    let resubmitted = driver.resubmit_after_view_change();
    let executed = match driver.execute(disk, bus, &mut collected) {
        Ok(progress) => progress,
        Err(message) => fatal(ExitCode::Io, &format!("group {}: {message}", driver.group)),
    };
    let progress = resubmitted || executed;
    let fed = driver.feed_ready(disk);
    replies.extend(collected.into_iter().map(|(sender, message)| (driver.group, sender, message)));
    progress || fed
}

fn publish<S: StateMachine>(router: &super::router::Router, replica: &Replica<S>) {
    router.live(replica.config().group).publish(
        replica.view(),
        replica.status(),
        replica.primary(),
        replica.op(),
        replica.commit_min(),
        replica.commit_max(),
    );
}

fn health<S: StateMachine>(group: u32, replica: &Replica<S>) -> GroupHealth {
    GroupHealth {
        group,
        // Caught up and serving: normal status with every committed op applied. A cluster
        // of one is also its own primary; in a cluster a backup is as ready as a primary.
        ready: replica.status() == Status::Normal
            && (replica.is_primary() || replica.config().replica_count > 1)
            && replica.commit_min() == replica.commit_max(),
        stall_reason: replica.stall_reason(),
        view: replica.view(),
        op: replica.op(),
        commit_min: replica.commit_min(),
        commit_max: replica.commit_max(),
        checkpoint_op: replica.checkpoint().op,
        prepares_repaired: replica.stats().prepares_repaired,
        faulty_at_recovery: replica.stats().faulty_at_recovery,
        syncs: replica.stats().syncs,
    }
}
