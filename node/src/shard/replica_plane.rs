//! The shard's side of the replica bus: messages from other nodes' replicas in, and the
//! API to send to them.
//!
//! * Consensus messages go to the owning group's `Replica::on_message`. A client
//!   `Request` (forwarded by another node's backup, or re-sent by its origin) first
//!   records `client → from`, so the group's reply goes back over the bus to the node
//!   holding the client's connection (`GroupDriver::execute`).
//! * A `Reply`/`Eviction` that comes back over the bus is delivered to the connection
//!   waiting here (or relayed once more if this node itself only forwarded it). A
//!   metadata reply is held until this node's metadata replica applied its op, so the
//!   edge answers from a view that contains the change (read-your-writes, as on one
//!   node).
//! * Replica-plane commands outside consensus (partition data transfer) go to
//!   [`Shard::on_data_plane`].

use vireo_protocol::vsr::{Command, Message};

use super::Shard;
use super::inbox::GroupReply;

/// Most metadata replies held for this node to apply their op (oldest dropped first;
/// their clients time out with status 57 and retry).
const HELD_REPLIES_MAX: usize = 4096;

impl Shard {
    /// Sends any replica-plane message to replica `replica` over the bus. False when it
    /// was dropped: no bus (a cluster of one), this node itself, or the peer's queue is
    /// full. This is the call for the partition data transfer (`crate::partition`).
    pub fn send_to_replica(&self, replica: u8, message: Message) -> bool {
        self.bus.as_ref().is_some_and(|bus| bus.send(replica, message))
    }

    /// This node's replica index.
    #[must_use]
    pub fn replica_index(&self) -> u8 {
        self.config.cluster.replica
    }

    /// A message received by the bus from replica `from` for a group of this shard.
    pub fn on_replica_message(&self, from: u8, message: Message) {
        match message.header().command {
            Command::Reply | Command::Eviction => self.on_remote_reply(message),
            Command::RequestPartitionData | Command::PartitionData => {
                self.on_data_plane(from, message);
            }
            _ => self.on_consensus_message(from, message),
        }
        self.run();
    }

    /// Replica-plane commands that are not consensus messages (partition data transfer:
    /// `RequestPartitionData`/`PartitionData`) go to the group's partition machine
    /// (`crate::partition::transfer`).
    #[allow(clippy::needless_pass_by_value)] // Owned like every bus delivery.
    pub fn on_data_plane(&self, from: u8, message: Message) {
        let mut bus = crate::partition::transfer::ShardTransferBus::of(self);
        match self.partitions.borrow_mut().get_mut(&message.header().group) {
            Some(driver) => {
                driver.replica.state_machine_mut().on_transfer_message(from, &message, &mut bus);
            }
            None => tracing::debug!(
                from,
                group = message.header().group,
                "data-plane message for a group this shard does not own"
            ),
        }
    }

    fn on_consensus_message(&self, from: u8, message: Message) {
        let header = *message.header();
        let is_request = header.command == Command::Request;
        if header.group == 0 {
            if let Some(driver) = self.metadata.borrow_mut().as_mut() {
                if is_request {
                    driver.remember_origin(header.client, from, header.request);
                }
                driver.replica.on_message(message);
            }
        } else if let Some(driver) = self.partitions.borrow_mut().get_mut(&header.group) {
            if is_request {
                driver.remember_origin(header.client, from, header.request);
            }
            driver.replica.on_message(message);
        }
    }

    fn on_remote_reply(&self, message: Message) {
        let header = *message.header();
        let (waiter, origin) = if header.group == 0 {
            let mut metadata = self.metadata.borrow_mut();
            let Some(driver) = metadata.as_mut() else { return };
            let waiter = driver.take_waiter(&header);
            if waiter.is_none() && driver.resubmit_waiting(header.client) {
                return; // A late reply to an earlier request (see `resubmit_waiting`).
            }
            let origin = if waiter.is_none() { driver.take_origin(&header) } else { None };
            (waiter, origin)
        } else {
            let mut partitions = self.partitions.borrow_mut();
            let Some(driver) = partitions.get_mut(&header.group) else { return };
            let waiter = driver.take_waiter(&header);
            if waiter.is_none() && driver.resubmit_waiting(header.client) {
                return; // A late reply to an earlier request (see `resubmit_waiting`).
            }
            let origin = if waiter.is_none() { driver.take_origin(&header) } else { None };
            (waiter, origin)
        };
        match (waiter, origin) {
            (Some(waiter), _) if header.group == 0 => {
                let mut held = self.held_replies.borrow_mut();
                if held.len() >= HELD_REPLIES_MAX {
                    held.remove(0);
                }
                held.push((waiter, message));
            }
            (Some(waiter), _) => {
                let _ = waiter.try_send(GroupReply { message, view: None });
            }
            (None, Some(origin)) => {
                self.send_to_replica(origin, message);
            }
            (None, None) => {}
        }
    }

    /// Delivers held metadata replies whose op this node has applied.
    pub(super) fn release_held_replies(&self) {
        if self.held_replies.borrow().is_empty() {
            return;
        }
        let applied = self.metadata.borrow().as_ref().map_or(0, |d| d.replica.commit_min());
        let ready: Vec<_> = {
            let mut held = self.held_replies.borrow_mut();
            held.retain(|(waiter, _)| !waiter.is_disconnected());
            let (ready, waiting) =
                held.drain(..).partition(|(_, message)| message.header().op <= applied);
            *held = waiting;
            ready
        };
        if ready.is_empty() {
            return;
        }
        let view = self.refresh_view();
        for (waiter, message) in ready {
            let _ = waiter.try_send(GroupReply { message, view: Some(view.clone()) });
        }
    }
}
