//! `vireo server`: start-up, serving, and graceful shutdown.
//!
//! Start-up order: lock the data directory (one process per directory), establish the
//! restart evidence ([`evidence`]), load TLS, start the shard threads (each opens its
//! groups: format on first start, recover otherwise), run the bootstrap chores on the
//! metadata shard ([`bootstrap`]), wait until every group has replayed its journal,
//! then open the edges and say so on stdout. SIGTERM or SIGINT starts a graceful
//! shutdown: edges stop accepting, in-flight requests drain, logs flush, journals
//! sync, and a clean-shutdown marker records that nothing unsynced was left.

pub mod bootstrap;
pub mod evidence;
pub mod notify;
pub mod process;

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::exit::{ExitCode, fatal};
use crate::metrics::Metrics;
use crate::shard::inbox::{INBOX_CAPACITY, ShardMessage};
use crate::shard::router::Router;
use crate::shard::start::{Control, ShardEvent, ShardSetup};

/// How long start-up waits for every group to catch up before opening the edges.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long shutdown waits for the shards.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// Keeps large buffers (a batch is ~1 MiB: the received frame, the prepare, the journal
/// write, the stamped copy) on the heap instead of fresh `mmap`s: glibc's default
/// threshold maps and unmaps each one, and the kernel then zeroes new pages on every
/// request (measured: ~18% of a loaded node's CPU in `clear_page`).
fn tune_allocator() {
    // SAFETY: mallopt only adjusts allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

/// Runs the server until a termination signal; returns the exit code.
pub fn run(config: Config) -> ExitCode {
    tune_allocator();
    crate::time::mark_process_start();
    install_panic_hook();
    let notifier = notify::Notifier::from_env();
    notifier.status("opening the data directory");
    let config = Arc::new(config);
    let data_dir = config.node.data_dir.clone();
    if let Err(error) = std::fs::create_dir_all(&data_dir) {
        fatal(
            ExitCode::Storage,
            &format!("cannot create data directory {}: {error}", data_dir.display()),
        );
    }
    let _lock = lock(&data_dir);
    let evidence = match evidence::establish(&data_dir, config.node.force_recover) {
        Ok(evidence) => evidence,
        Err(error) => fatal(ExitCode::Storage, &format!("restart evidence: {error}")),
    };
    tracing::info!(?evidence, data_dir = %data_dir.display(), "starting");
    let tls = match crate::net::tls::load(&config) {
        Ok(tls) => Arc::new(tls),
        Err(error) => fatal(ExitCode::Tls, &error.to_string()),
    };
    let signals = block_termination_signals();
    let shard_count = config.shard_count();
    notifier.status("recovering journals");
    let mut inboxes = Vec::new();
    let mut receivers = Vec::new();
    for _ in 0..shard_count {
        let (sender, receiver) = flume::bounded(INBOX_CAPACITY);
        inboxes.push(sender);
        receivers.push(receiver);
    }
    let router = Router::new_cluster(
        inboxes,
        config.consensus.partition_groups,
        config.cluster.replica,
        config.cluster.replica_count(),
    );
    let metrics = Arc::new(Metrics::default());
    warn_roster_mismatch(&config);
    let bus = if config.cluster.is_multi_node() {
        match crate::bus::start(&config, &router) {
            Ok(bus) => Some(bus),
            Err(error) => fatal(ExitCode::Bind, &error.to_string()),
        }
    } else {
        None
    };
    // Each shard reports at most six events (opened, bootstrapped twice, listening,
    // handed over, stopped).
    let (events, events_received) = flume::bounded(6 * shard_count as usize);
    let mut controls = Vec::new();
    for (index, inbox) in receivers.into_iter().enumerate() {
        // At most five controls per shard (bootstrap twice, listen, handover, shutdown).
        let (control, control_received) = flume::bounded(5);
        controls.push(control);
        let setup = ShardSetup {
            index: u32::try_from(index).expect("bounded shard count"),
            config: Arc::clone(&config),
            router: Arc::clone(&router),
            metrics: Arc::clone(&metrics),
            tls: Arc::clone(&tls),
            inbox,
            control: control_received,
            events: events.clone(),
            evidence,
            bus: bus.clone(),
        };
        if let Err(error) = crate::shard::start::spawn(setup) {
            fatal(ExitCode::Internal, &format!("cannot start shard thread: {error}"));
        }
    }
    for _ in 0..shard_count {
        match events_received.recv() {
            Ok(ShardEvent::Opened(_, Ok(()))) => {}
            Ok(ShardEvent::Opened(shard, Err(error))) => {
                let code = match error {
                    crate::shard::start::OpenFailure::Storage(_) => ExitCode::Storage,
                    crate::shard::start::OpenFailure::Recovery(_) => ExitCode::Recovery,
                };
                fatal(code, &format!("shard {shard}: {error}"))
            }
            other => fatal(ExitCode::Internal, &format!("unexpected start-up event {other:?}")),
        }
    }
    let stalled = stalled_groups(&router);
    notifier.status("waiting for the consensus groups to catch up");
    // In a cluster a replica that lost unsynced writes asks the current primary for a
    // start_view that postdates its crash and resumes: only a cluster of one must stall
    // for the operator.
    if stalled.is_empty() || config.cluster.is_multi_node() {
        for (group, _) in &stalled {
            tracing::info!(group, "recovering_head: waiting for the current primary's view");
        }
        let bootstrapped = bootstrap_chores(&config, &controls[0], &events_received);
        wait_caught_up(&router);
        if !bootstrapped && config.cluster.is_multi_node() {
            // A node that started before a quorum of its peers could not commit its
            // chores; once the groups caught up (a quorum answers), try once more.
            bootstrap_chores(&config, &controls[0], &events_received);
        }
    } else {
        // Stall and say so: serve what can be served, report the stall on /ready.
        for (group, reason) in &stalled {
            tracing::error!(group, reason, "group stalled; bootstrap skipped");
        }
        eprintln!(
            "vireo: {} group(s) stalled in recovering_head; /ready reports it. Restart with \
             --force-recover to accept losing acknowledged writes that were not synced.",
            stalled.len()
        );
    }
    for control in &controls {
        let _ = control.send(Control::Listen);
    }
    for _ in 0..shard_count {
        match events_received.recv() {
            Ok(ShardEvent::Listening(_, Ok(()))) => {}
            Ok(ShardEvent::Listening(_, Err(error))) => fatal(ExitCode::Bind, &error),
            other => fatal(ExitCode::Internal, &format!("unexpected start-up event {other:?}")),
        }
    }
    let quic = match (&tls.quic, config.quic.enabled) {
        (Some(quic_tls), true) => {
            match crate::net::quic::spawn(&config, Arc::clone(quic_tls), Arc::clone(&router)) {
                Ok(edge) => Some(edge),
                Err(error) => fatal(ExitCode::Bind, &error.to_string()),
            }
        }
        _ => None,
    };
    router.mark_serving();
    let edges = announce(&config, quic.as_ref().map(|edge| edge.address));
    notifier.ready(&format!("serving {edges}"));
    let signal = wait_for_signal(&signals);
    tracing::info!(signal, "shutting down");
    notifier.stopping("handing primaryship over, draining clients, syncing");
    hand_over(&controls, &events_received);
    router.begin_stopping();
    if let Some(edge) = quic {
        let _ = edge.stop.send(());
        let _ = edge.thread.join();
    }
    for control in &controls {
        let _ = control.send(Control::Shutdown);
    }
    // Unblock accept loops so they observe `stopping`.
    wake_listeners(&config, shard_count);
    let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
    let mut clean = true;
    for _ in 0..shard_count {
        match events_received.recv_deadline(deadline) {
            Ok(ShardEvent::Stopped(_, Ok(()))) => {}
            Ok(ShardEvent::Stopped(shard, Err(error))) => {
                tracing::error!(shard, %error, "shard did not drain");
                clean = false;
            }
            _ => clean = false,
        }
    }
    if clean {
        if let Err(error) = evidence::mark_clean_shutdown(&data_dir) {
            tracing::error!(%error, "could not record the clean shutdown");
        }
        tracing::info!("stopped cleanly");
    }
    ExitCode::Ok
}

/// Cluster metadata advertises this node's roster entry: say so when it differs from
/// where the node actually listens (clients would be sent to the wrong address).
fn warn_roster_mismatch(config: &Config) {
    let Some(me) = config.cluster.me() else { return };
    let pairs = [
        ("tcp", config.tcp.enabled, me.tcp, config.tcp.address),
        ("quic", config.quic.enabled, me.quic, config.quic.address),
        ("http", config.http.enabled, me.http, config.http.address),
    ];
    for (edge, enabled, advertised, listening) in pairs {
        if enabled && advertised != listening {
            tracing::warn!(
                edge,
                %advertised,
                %listening,
                "cluster.nodes advertises another address than this node listens on"
            );
        }
    }
}

/// Asks every shard to hand its groups' primaryship over, and waits (each shard bounds
/// its own wait) before the edges stop: requests arriving meanwhile are forwarded to the
/// new primaries.
fn hand_over(controls: &[flume::Sender<Control>], events: &flume::Receiver<ShardEvent>) {
    for control in controls {
        let _ = control.send(Control::Handover);
    }
    let deadline = Instant::now() + crate::shard::handover::HANDOVER_TIMEOUT * 2;
    for _ in controls {
        match events.recv_deadline(deadline) {
            Ok(ShardEvent::HandedOver(_, Ok(()))) => {}
            Ok(ShardEvent::HandedOver(shard, Err(error))) => {
                tracing::warn!(shard, %error, "handover incomplete; stopping anyway");
            }
            other => tracing::warn!(?other, "handover: unexpected event"),
        }
    }
}

fn bootstrap_chores(
    config: &Config,
    control: &flume::Sender<Control>,
    events: &flume::Receiver<ShardEvent>,
) -> bool {
    let _ = control.send(Control::Bootstrap { root_password: config.root.password.clone() });
    match events.recv() {
        Ok(ShardEvent::Bootstrapped(Ok(Some(password)))) => {
            println!(
                "vireo: created root user '{}' with generated password: {password}\n\
                 vireo: (printed once; set root.password or VIREO_ROOT_PASSWORD to choose it)",
                config.root.username
            );
            true
        }
        Ok(ShardEvent::Bootstrapped(Ok(None))) => true,
        Ok(ShardEvent::Bootstrapped(Err(error))) => {
            tracing::error!(%error, "bootstrap failed; serving anyway (see /ready)");
            eprintln!("vireo: bootstrap failed: {error}");
            false
        }
        other => fatal(ExitCode::Internal, &format!("unexpected start-up event {other:?}")),
    }
}

/// Groups that cannot make progress on their own, with the replica's reason.
fn stalled_groups(router: &Arc<Router>) -> Vec<(u32, &'static str)> {
    let mut stalled = Vec::new();
    for shard in 0..router.shard_count() {
        let (reply, replied) = flume::bounded(1);
        if router.try_send(shard, ShardMessage::Report { reply })
            && let Ok(report) = replied.recv_timeout(Duration::from_secs(5))
        {
            stalled.extend(
                report.groups.iter().filter_map(|g| g.stall_reason.map(|reason| (g.group, reason))),
            );
        }
    }
    stalled
}

/// Waits (bounded) until every group reports ready: journals replayed.
fn wait_caught_up(router: &Arc<Router>) {
    let deadline = Instant::now() + CATCH_UP_TIMEOUT;
    loop {
        let mut ready = true;
        let mut view_ops = Vec::new();
        for shard in 0..router.shard_count() {
            let (reply, replied) = flume::bounded(1);
            if !router.try_send(shard, ShardMessage::Report { reply }) {
                ready = false;
                continue;
            }
            match replied.recv_timeout(Duration::from_secs(5)) {
                Ok(report) => {
                    ready &= report.groups.iter().all(|group| group.ready);
                    view_ops.push(report.view_op);
                }
                Err(_) => ready = false,
            }
        }
        // Every shard must also hold the same metadata view (logins use it).
        ready &= view_ops.windows(2).all(|pair| pair[0] == pair[1]);
        if ready {
            return;
        }
        if Instant::now() >= deadline {
            tracing::error!("not every group caught up; serving anyway (see /ready)");
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Prints where the node serves; returns that description.
fn announce(config: &Config, quic: Option<std::net::SocketAddr>) -> String {
    let mut parts = Vec::new();
    if config.tcp.enabled {
        parts.push(format!("tcp={}", config.tcp.address));
    }
    if let Some(address) = quic {
        parts.push(format!("quic={address}"));
    }
    if config.http.enabled {
        parts.push(format!("http={}", config.http.address));
    }
    let edges = parts.join(" ");
    println!("vireo: serving {edges}");
    tracing::info!(%edges, "serving");
    edges
}

/// Connects once to each listener so blocked `accept`s return and see `stopping`.
fn wake_listeners(config: &Config, shards: u32) {
    let timeout = Duration::from_millis(200);
    if config.tcp.enabled {
        for _ in 0..shards * 2 {
            let _ = std::net::TcpStream::connect_timeout(&config.tcp.address, timeout);
        }
    }
    if config.http.enabled {
        let _ = std::net::TcpStream::connect_timeout(&config.http.address, timeout);
    }
}

/// Holds an exclusive lock on `<data_dir>/LOCK` for the life of the process.
fn lock(data_dir: &std::path::Path) -> std::fs::File {
    let path = data_dir.join("LOCK");
    let file =
        match std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path) {
            Ok(file) => file,
            Err(error) => fatal(ExitCode::Storage, &format!("{}: {error}", path.display())),
        };
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        fatal(
            ExitCode::Storage,
            &format!("{} is in use by another vireo process", data_dir.display()),
        );
    }
    file
}

/// Blocks SIGTERM and SIGINT in this thread (and every thread it starts later), so
/// that only [`wait_for_signal`] receives them.
fn block_termination_signals() -> libc::sigset_t {
    // SAFETY: plain signal-mask calls on a zero-initialised set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGTERM);
        libc::sigaddset(&raw mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut());
        set
    }
}

fn wait_for_signal(set: &libc::sigset_t) -> i32 {
    let mut signal = 0;
    // SAFETY: `set` is a valid signal set and `signal` a valid out pointer.
    unsafe { libc::sigwait(set, &raw mut signal) };
    signal
}

/// A panic in any thread is a bug: report it and stop the whole process, rather than
/// leave sibling shards serving without it.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        std::process::exit(i32::from(ExitCode::Internal as u8));
    }));
}
