//! Shards: one monoio runtime (io_uring driver) per thread, pinned to a core, owning the
//! consensus groups `g` with `g % shards == index`, their journals, their partition logs
//! and one io_uring ([`disk`]). Shared-nothing: other shards reach them only through the
//! [`inbox`]; the only shared data are immutable `Arc`s (configuration, router, the
//! metadata read view) and relaxed counters.
//!
//! Inside a shard every task (connections, the inbox, the tick, the disk waker) runs on
//! one thread and touches the [`Shard`] through `RefCell`s that are never held across an
//! `.await`. Each event (a request, a completion, a tick) is followed by [`Shard::run`],
//! which drives every group to quiescence (`run.rs`).

pub mod client;
pub mod cluster_state;
pub mod disk;
pub mod group;
pub mod handover;
pub mod inbox;
mod poll;
pub mod replica_plane;
pub mod router;
mod run;
pub mod start;
mod tasks;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use vireo_protocol::vsr::Message;

use crate::config::Config;
use crate::metadata::{MetadataMachine, MetadataState};
use crate::metrics::Metrics;
use crate::net::tls::TlsConfigs;
use crate::partition::PartitionMachine;

use disk::Disk;
use group::GroupDriver;
use inbox::ClientInfo;
use router::Router;

/// Everything one shard owns. See the module docs.
#[derive(Debug)]
pub struct Shard {
    /// This shard's index.
    pub index: u32,
    /// The configuration.
    pub config: Arc<Config>,
    /// Where everything lives.
    pub router: Arc<Router>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// TLS configurations of the edges.
    pub tls: Arc<TlsConfigs>,
    /// The shard's disk (shared with its partition machines).
    pub disk: Rc<RefCell<Disk>>,
    /// The replica bus (`None` in a cluster of one).
    pub bus: Option<Arc<crate::bus::Bus>>,
    /// Replies to forwarded metadata requests that arrived before this node applied
    /// their op (see `replica_plane.rs`).
    held_replies: RefCell<Vec<(flume::Sender<inbox::GroupReply>, Message)>>,
    metadata: RefCell<Option<GroupDriver<MetadataMachine>>>,
    partitions: RefCell<BTreeMap<u32, GroupDriver<PartitionMachine>>>,
    view: RefCell<Arc<MetadataState>>,
    reads: RefCell<BTreeMap<u32, flume::Sender<poll::ReadDone>>>,
    connections: RefCell<BTreeMap<u32, ClientInfo>>,
    /// Requests being handled by this shard's connections (drained at shutdown).
    pub active_requests: Cell<u32>,
    /// Set at shutdown: replicas stop ticking so the disk can go idle.
    pub quiescing: Cell<bool>,
}

impl Shard {
    /// The current metadata read view.
    #[must_use]
    pub fn view(&self) -> Arc<MetadataState> {
        Arc::clone(&self.view.borrow())
    }

    /// Installs `view` if it is newer than the current one.
    pub fn install_view(&self, view: Arc<MetadataState>) {
        let mut current = self.view.borrow_mut();
        if view.applied_op >= current.applied_op {
            *current = view;
        }
    }

    /// Registers or updates a connection for `get_clients`.
    pub fn upsert_client(&self, info: ClientInfo) {
        self.connections.borrow_mut().insert(info.client_id, info);
    }

    /// Forgets a connection.
    pub fn remove_client(&self, client_id: u32) {
        self.connections.borrow_mut().remove(&client_id);
    }

    /// True if this shard owns `group`.
    #[must_use]
    pub fn owns(&self, group: u32) -> bool {
        self.router.shard_of(group) == self.index
    }
}
