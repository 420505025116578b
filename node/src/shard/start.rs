//! Starting a shard thread: pin it, build its monoio runtime (io_uring driver, timer,
//! one blocking thread for password hashing), open its disk and groups, then follow the
//! server's control messages (bootstrap, listen, shutdown) and report each step.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use vireo_consensus::RestartEvidence;

use super::disk::Disk;
use super::group::{GroupDriver, ensure_formatted};
use super::inbox::ShardMessage;
use super::router::Router;
use super::{Shard, tasks};
use crate::config::Config;
use crate::config::validate::JOURNAL_IO_RESERVE;
use crate::metadata::{MetadataMachine, MetadataState};
use crate::metrics::Metrics;
use crate::net::tls::TlsConfigs;
use crate::partition::PartitionMachine;
use crate::partition::logs::LogSettings;

/// What the server asks a running shard to do.
#[derive(Debug)]
pub enum Control {
    /// First-start and restart chores (shard 0 only): create the root user, drop stale
    /// consumer-group members.
    Bootstrap {
        /// The root password to set if the root user does not exist yet; `None` =
        /// generate one.
        root_password: Option<String>,
    },
    /// Bind the client listeners (and HTTP on shard 0).
    Listen,
    /// Hand primaryship of this shard's groups to other replicas (before `Shutdown`).
    Handover,
    /// Stop accepting, drain, sync, stop.
    Shutdown,
}

/// Why a shard could not open: the environment (io_uring, files) or the data itself
/// (a replica or log refusing what it recovered). They exit with different codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenFailure {
    /// io_uring or a data file could not be set up.
    #[error("storage: {0}")]
    Storage(String),
    /// A group refused its recovered state.
    #[error("recovery: {0}")]
    Recovery(String),
}

/// What a shard reports back.
#[derive(Debug)]
pub enum ShardEvent {
    /// Its groups are open (or why not).
    Opened(u32, Result<(), OpenFailure>),
    /// Bootstrap finished; a generated root password to print once, if any.
    Bootstrapped(Result<Option<String>, String>),
    /// Its listeners are bound (or why not).
    Listening(u32, Result<(), String>),
    /// Its groups' primaryship was handed over (or which were not).
    HandedOver(u32, Result<(), String>),
    /// It stopped; `Ok` after a complete drain and sync.
    Stopped(u32, Result<(), String>),
}

/// Everything a shard thread starts from.
#[derive(Debug)]
pub struct ShardSetup {
    /// Index.
    pub index: u32,
    /// Configuration.
    pub config: Arc<Config>,
    /// Router.
    pub router: Arc<Router>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Edge TLS.
    pub tls: Arc<TlsConfigs>,
    /// This shard's inbox.
    pub inbox: flume::Receiver<ShardMessage>,
    /// Control from the server.
    pub control: flume::Receiver<Control>,
    /// Reports to the server.
    pub events: flume::Sender<ShardEvent>,
    /// Restart evidence for every replica.
    pub evidence: RestartEvidence,
    /// The replica bus (`None` in a cluster of one).
    pub bus: Option<Arc<crate::bus::Bus>>,
}

/// Spawns the shard thread.
pub fn spawn(setup: ShardSetup) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name(format!("vireo-shard-{}", setup.index)).spawn(move || {
        if setup.config.node.pin_cores {
            pin_to_core(setup.index);
        }
        let runtime = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .enable_timer()
            .with_entries(1024)
            .attach_thread_pool(Box::new(monoio::blocking::DefaultThreadPool::new(1)))
            .build();
        let mut runtime = match runtime {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = setup.events.send(ShardEvent::Opened(
                    setup.index,
                    Err(OpenFailure::Storage(format!("io_uring runtime: {error}"))),
                ));
                return;
            }
        };
        runtime.block_on(main(setup));
    })
}

fn pin_to_core(index: u32) {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    // SAFETY: `cpu_set_t` is plain old data; the macros only set bits within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(index as usize % cores, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &raw const set) != 0 {
            tracing::warn!(index, "could not pin shard thread");
        }
    }
}

async fn main(setup: ShardSetup) {
    let index = setup.index;
    let shard = match open(&setup) {
        Ok(shard) => Rc::new(shard),
        Err(error) => {
            let _ = setup.events.send(ShardEvent::Opened(index, Err(error)));
            return;
        }
    };
    tasks::spawn_all(&shard, setup.inbox.clone());
    shard.run();
    let _ = setup.events.send(ShardEvent::Opened(index, Ok(())));
    while let Ok(control) = setup.control.recv_async().await {
        match control {
            Control::Bootstrap { root_password } => {
                let result = crate::server::bootstrap::run(&shard, root_password).await;
                let _ = setup.events.send(ShardEvent::Bootstrapped(result));
            }
            Control::Listen => {
                let result = tasks::listen(&shard);
                let _ = setup.events.send(ShardEvent::Listening(index, result));
            }
            Control::Handover => {
                let result = super::handover::run(&shard).await;
                let _ = setup.events.send(ShardEvent::HandedOver(index, result));
            }
            Control::Shutdown => {
                let result = tasks::shutdown(&shard).await;
                let _ = setup.events.send(ShardEvent::Stopped(index, result));
                return;
            }
        }
    }
}

fn open(setup: &ShardSetup) -> Result<Shard, OpenFailure> {
    let config = &setup.config;
    let data_dir = &config.node.data_dir;
    let owned: Vec<u32> =
        setup.router.groups().filter(|&g| setup.router.shard_of(g) == setup.index).collect();
    let reserve = (owned.len() as u32 * JOURNAL_IO_RESERVE) as usize;
    let disk =
        Disk::new(data_dir, config.storage.io_queue_depth, config.storage.direct_io, reserve)
            .map_err(|error| {
                OpenFailure::Storage(format!("shard {} io_uring: {error}", setup.index))
            })?;
    let disk = Rc::new(RefCell::new(disk));
    let mut metadata = None;
    let mut partitions = BTreeMap::new();
    let settings = LogSettings {
        cache_bytes_max: config.storage.partition_cache_size,
        record_payload_size_max: u32::try_from(config.consensus.partition_message_size_max)
            .unwrap_or(u32::MAX),
    };
    for group in owned {
        let replica_config = config.replica_config(group);
        let layout = config.journal_layout(group);
        let seed = u64::from_le_bytes(super::client::random_bytes());
        ensure_formatted(&mut disk.borrow_mut(), data_dir, &replica_config, &layout)
            .map_err(|error| OpenFailure::Storage(error.to_string()))?;
        if group == 0 {
            let machine = MetadataMachine::new(config.state_bytes_max(0));
            let driver = GroupDriver::open(
                &mut disk.borrow_mut(),
                replica_config,
                layout,
                machine,
                setup.evidence,
                config.node.force_recover,
                seed,
            )
            .map_err(group_failure)?;
            report_open(&driver.replica);
            metadata = Some(driver);
        } else {
            let machine = PartitionMachine::new(
                group,
                Rc::clone(&disk),
                data_dir.clone(),
                settings,
                config.state_bytes_max(group),
            );
            let mut driver = GroupDriver::open(
                &mut disk.borrow_mut(),
                replica_config,
                layout,
                machine,
                setup.evidence,
                config.node.force_recover,
                seed,
            )
            .map_err(group_failure)?;
            let checkpoint = driver.replica.checkpoint().op;
            driver
                .replica
                .state_machine_mut()
                .open_logs(checkpoint)
                .map_err(|error| OpenFailure::Recovery(error.to_string()))?;
            report_open(&driver.replica);
            partitions.insert(group, driver);
        }
    }
    let view = metadata
        .as_ref()
        .map_or_else(MetadataState::default, |d: &GroupDriver<MetadataMachine>| {
            d.replica.state_machine().state().clone()
        });
    Ok(Shard {
        index: setup.index,
        config: Arc::clone(&setup.config),
        router: Arc::clone(&setup.router),
        metrics: Arc::clone(&setup.metrics),
        tls: Arc::clone(&setup.tls),
        disk,
        bus: setup.bus.clone(),
        held_replies: RefCell::new(Vec::new()),
        metadata: RefCell::new(metadata),
        partitions: RefCell::new(partitions),
        view: RefCell::new(Arc::new(view)),
        reads: RefCell::new(BTreeMap::new()),
        connections: RefCell::new(BTreeMap::new()),
        active_requests: Cell::new(0),
        quiescing: Cell::new(false),
    })
}

#[allow(clippy::needless_pass_by_value)] // The shape `map_err` hands over.
fn group_failure(error: super::group::GroupStartError) -> OpenFailure {
    match error {
        super::group::GroupStartError::Storage { .. } => OpenFailure::Storage(error.to_string()),
        super::group::GroupStartError::Open { .. } => OpenFailure::Recovery(error.to_string()),
    }
}

fn report_open<S: vireo_consensus::StateMachine>(replica: &vireo_consensus::Replica<S>) {
    let group = replica.config().group;
    tracing::info!(
        group,
        view = replica.view(),
        op = replica.op(),
        checkpoint = replica.checkpoint().op,
        status = ?replica.status(),
        "group opened"
    );
    if let Some(reason) = replica.stall_reason()
        && replica.config().replica_count == 1
    {
        tracing::error!(
            group,
            "STALLED: {reason}. A single node cannot prove which acknowledged writes survived \
             this restart (the machine rebooted without a clean shutdown). To accept losing \
             acknowledged writes that were not yet synced, restart with --force-recover."
        );
        eprintln!(
            "vireo: group {group} is stalled: {reason}\nvireo: restart with --force-recover to \
             accept losing acknowledged but unsynced writes"
        );
    }
}
