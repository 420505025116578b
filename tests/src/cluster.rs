//! A three-node cluster of real `vireo server` processes on loopback, for chaos tests.
//!
//! Every directed replica link goes through its own [`FaultProxy`]: node i's config
//! lists peer j's `replica` address as the port of proxy (i→j), which forwards to j's
//! real listener. Node i *listens* on its own entry's address (the real one), so the
//! proxies see every byte between nodes and a test can cut any link, one direction at
//! a time or a whole node ([`Cluster::isolate`]). Client ports (TCP, QUIC, HTTP) are
//! direct.
//!
//! Each node gets a TOML file written into the cluster's temporary directory (the
//! `[cluster]` roster is an array of tables, which `--set` cannot express), its own data
//! directory, and a log file with its stderr; the last lines of every log are printed
//! when a [`Cluster`] is dropped during a panic. Processes are killed (SIGCONT first, in
//! case a test left one stopped) and the directory removed on drop.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use vireo_protocol::vsr::{Command as VsrCommand, HEADER_SIZE, Header};

use crate::fault_proxy::FaultProxy;
use crate::{ROOT_PASSWORD, free_port, temp_dir, vireo_command};

/// Nodes in a test cluster.
pub const NODES: usize = 3;
/// The secret every test cluster shares on its replica bus.
pub const SECRET: &str = "vireo-chaos-test-secret";
/// How long a node (or the whole cluster) may take to report `/ready`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a SIGTERM'd node may take to exit before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on one HTTP exchange with a node's operations port.
const HTTP_TIMEOUT: Duration = Duration::from_secs(3);
/// How often waits look again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Log lines of each node printed when a test fails.
const LOG_TAIL_LINES: usize = 40;

/// Journal and message sizes every test node runs with (small: fast to format, and
/// the rings wrap within a test, so checkpoints and repair across them are exercised).
pub const PARTITION_JOURNAL_SLOTS: u64 = 64;
/// Largest produce request of a test node.
pub const PARTITION_MESSAGE_SIZE_MAX: u64 = 256 << 10;
/// Disk sector: journal slots are whole sectors.
const SECTOR_SIZE_BYTES: u64 = 4096;

/// Where one node listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePorts {
    /// Replica bus (the real listener; peers reach it through proxies).
    pub replica: u16,
    /// Iggy TCP.
    pub tcp: u16,
    /// Iggy QUIC (UDP).
    pub quic: u16,
    /// HTTP operations.
    pub http: u16,
}

impl NodePorts {
    fn free() -> Self {
        Self { replica: free_port(), tcp: free_port(), quic: free_port(), http: free_port() }
    }

    /// `127.0.0.1:<tcp>`.
    #[must_use]
    pub fn tcp_address(&self) -> String {
        format!("127.0.0.1:{}", self.tcp)
    }

    /// `127.0.0.1:<quic>`.
    #[must_use]
    pub fn quic_address(&self) -> String {
        format!("127.0.0.1:{}", self.quic)
    }
}

/// One node's process and files.
#[derive(Debug)]
pub struct ClusterNode {
    /// Index in the roster.
    pub index: usize,
    /// Its ports.
    pub ports: NodePorts,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its TOML file.
    pub config_path: PathBuf,
    /// Its stderr (appended across restarts).
    pub log_path: PathBuf,
    child: Option<Child>,
    paused: bool,
}

impl ClusterNode {
    fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|child| i32::try_from(child.id()).expect("pid fits i32"))
    }

    fn signal(&self, signal: i32) {
        if let Some(pid) = self.pid() {
            // SAFETY: signalling our own, not yet reaped, child process by its pid.
            unsafe { libc::kill(pid, signal) };
        }
    }

    /// True while the process exists (running or stopped).
    pub fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| child.try_wait().ok().flatten().is_none())
    }

    /// True while stopped by SIGSTOP.
    #[must_use]
    pub fn paused(&self) -> bool {
        self.paused
    }
}

/// What `GET /cluster` reports about one consensus group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    /// Group number: 0 metadata, 1..=G partition groups.
    pub group: u32,
    /// The node's view.
    pub view: u32,
    /// The replica index the node believes is primary of `view`.
    pub primary: usize,
    /// `normal`, `view_change`, `recovering`, `recovering_head`, …
    pub status: String,
    /// Head op.
    pub op: u64,
    /// Committed op.
    pub commit: u64,
    /// True while the replica catches up by state transfer or partition data transfer.
    pub syncing: bool,
}

/// What `GET /cluster` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    /// The answering node's index.
    pub node: usize,
    /// Peers it is connected to.
    pub connected_peers: Vec<usize>,
    /// Every group it hosts.
    pub groups: Vec<GroupView>,
}

impl ClusterView {
    /// Parses the endpoint's JSON.
    ///
    /// # Errors
    /// When a field is missing or mistyped (the text is returned for the message).
    pub fn parse(body: &str) -> Result<Self, String> {
        let json: serde_json::Value =
            serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {body}"))?;
        let number = |value: &serde_json::Value, key: &str| {
            value[key].as_u64().ok_or_else(|| format!("/cluster: no number `{key}` in {value}"))
        };
        let node = usize::try_from(number(&json, "node")?).map_err(|e| e.to_string())?;
        let mut connected_peers = Vec::new();
        for peer in json["peers"].as_array().ok_or("/cluster: no `peers`")? {
            if peer["connected"].as_bool() == Some(true) {
                connected_peers.push(usize::try_from(number(peer, "replica")?).unwrap_or(0));
            }
        }
        let mut groups = Vec::new();
        for group in json["groups"].as_array().ok_or("/cluster: no `groups`")? {
            groups.push(GroupView {
                group: u32::try_from(number(group, "group")?).map_err(|e| e.to_string())?,
                view: u32::try_from(number(group, "view")?).map_err(|e| e.to_string())?,
                primary: usize::try_from(number(group, "primary")?).map_err(|e| e.to_string())?,
                status: group["status"].as_str().unwrap_or("?").to_owned(),
                op: number(group, "op")?,
                commit: number(group, "commit")?,
                syncing: group["syncing"].as_bool().unwrap_or(false),
            });
        }
        Ok(Self { node, connected_peers, groups })
    }

    /// The entry of `group`.
    #[must_use]
    pub fn group(&self, group: u32) -> Option<&GroupView> {
        self.groups.iter().find(|g| g.group == group)
    }
}

/// `GET path` on `127.0.0.1:port`: (status, body). Errors when the node does not answer
/// within [`HTTP_TIMEOUT`] (down, paused, or still starting).
///
/// # Errors
/// Connection and I/O failures.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
    Ok((status, body))
}

/// Three `vireo server` processes with a fault proxy on every directed replica link.
pub struct Cluster {
    /// The nodes, by index.
    pub nodes: Vec<ClusterNode>,
    /// `proxies[i][j]`: the link i→j (node i dials j through it); `None` on the diagonal.
    proxies: Vec<Vec<Option<FaultProxy>>>,
    dir: PathBuf,
    keep_dir: bool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("nodes", &self.nodes).field("dir", &self.dir).finish()
    }
}

impl Cluster {
    /// Writes the configs, starts the proxies and the three nodes, and waits until every
    /// node reports `/ready`. `settings` (`key=value`) go to every node as `--set`.
    ///
    /// # Panics
    /// When a node exits or the cluster is not ready within [`READY_TIMEOUT`].
    #[must_use]
    pub fn start(name: &str, settings: &[&str]) -> Self {
        let mut cluster = Self::start_unready(name, settings);
        cluster.wait_all_ready(READY_TIMEOUT);
        cluster
    }

    /// As [`Cluster::start`] without waiting for readiness.
    ///
    /// # Panics
    /// When a node cannot be spawned.
    #[must_use]
    pub fn start_unready(name: &str, settings: &[&str]) -> Self {
        let dir = temp_dir(&format!("cluster-{name}"));
        let ports: Vec<NodePorts> = (0..NODES).map(|_| NodePorts::free()).collect();
        let mut proxies: Vec<Vec<Option<FaultProxy>>> = Vec::new();
        for from in 0..NODES {
            let mut row = Vec::new();
            for (to, target) in ports.iter().enumerate() {
                row.push((from != to).then(|| {
                    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a proxy port");
                    FaultProxy::on(listener, SocketAddr::from(([127, 0, 0, 1], target.replica)))
                }));
            }
            proxies.push(row);
        }
        let mut nodes = Vec::new();
        for (index, own) in ports.iter().enumerate() {
            let data_dir = dir.join(format!("node-{index}"));
            std::fs::create_dir_all(&data_dir).expect("create a node data dir");
            let config_path = dir.join(format!("node-{index}.toml"));
            let text = node_config(index, &ports, &proxies[index], &data_dir, settings);
            std::fs::write(&config_path, text).expect("write a node config");
            nodes.push(ClusterNode {
                index,
                ports: *own,
                data_dir,
                config_path,
                log_path: dir.join(format!("node-{index}.log")),
                child: None,
                paused: false,
            });
        }
        let mut cluster = Self { nodes, proxies, dir, keep_dir: false };
        for index in 0..NODES {
            cluster.spawn(index);
        }
        cluster
    }

    fn spawn(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        assert!(node.child.is_none(), "node {index} already running");
        let log = File::options().create(true).append(true).open(&node.log_path).expect("log");
        let mut child = vireo_command()
            .args(["server", "--config"])
            .arg(&node.config_path)
            .env("VIREO_ROOT_PASSWORD", ROOT_PASSWORD)
            .env("RUST_LOG", std::env::var("VIREO_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn vireo");
        // Drained so the node never blocks on a full pipe; kept in the log file.
        let stdout = child.stdout.take().expect("piped stdout");
        let log_path = node.log_path.clone();
        std::thread::spawn(move || {
            let Ok(mut log) = File::options().append(true).open(log_path) else { return };
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log, "stdout: {line}");
            }
        });
        node.child = Some(child);
        node.paused = false;
    }

    /// The node at `index`.
    #[must_use]
    pub fn node(&self, index: usize) -> &ClusterNode {
        &self.nodes[index]
    }

    /// The TCP client addresses of every node, in index order.
    #[must_use]
    pub fn tcp_addresses(&self) -> Vec<String> {
        self.nodes.iter().map(|node| node.ports.tcp_address()).collect()
    }

    /// Indices of the nodes whose process runs and is not paused.
    pub fn live(&mut self) -> Vec<usize> {
        (0..NODES).filter(|&i| self.nodes[i].alive() && !self.nodes[i].paused).collect()
    }

    /// `GET path` on node `index`.
    ///
    /// # Errors
    /// When the node does not answer.
    pub fn http(&self, index: usize, path: &str) -> std::io::Result<(u16, String)> {
        http_get(self.nodes[index].ports.http, path)
    }

    /// Node `index`'s `/cluster`, `None` when it does not answer or answers garbage.
    #[must_use]
    pub fn view(&self, index: usize) -> Option<ClusterView> {
        let (status, body) = self.http(index, "/cluster").ok()?;
        if status != 200 {
            return None;
        }
        ClusterView::parse(&body).ok()
    }

    /// Whether node `index` answers `/ready` with 200.
    #[must_use]
    pub fn ready(&self, index: usize) -> bool {
        matches!(self.http(index, "/ready"), Ok((200, _)))
    }

    /// Waits until node `index` reports `/ready`.
    ///
    /// # Panics
    /// When it exits or is not ready within `limit` (its `/ready` text and log tail
    /// are in the message).
    pub fn wait_ready(&mut self, index: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if self.ready(index) {
                return;
            }
            assert!(self.nodes[index].alive(), "node {index} exited:\n{}", self.log_tail(index));
            if Instant::now() >= deadline {
                let why = self.http(index, "/ready").map(|(_, body)| body).unwrap_or_default();
                panic!("node {index} not ready within {limit:?}: {why}\n{}", self.log_tail(index));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits until every running node reports `/ready`.
    ///
    /// # Panics
    /// As [`Cluster::wait_ready`].
    pub fn wait_all_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        for index in 0..NODES {
            loop {
                if self.ready(index) {
                    break;
                }
                // The logs are printed when the cluster drops during the panic.
                assert!(self.nodes[index].alive(), "node {index} exited");
                if Instant::now() >= deadline {
                    let why = self.http(index, "/ready").map(|(_, b)| b).unwrap_or_default();
                    panic!("node {index} not ready within {limit:?}: {why}");
                }
                std::thread::sleep(POLL_INTERVAL);
            }
        }
    }

    /// The primary of `group` as the live nodes see it right now: the replica that
    /// reports itself primary, in normal status, at a view no live node has passed.
    #[must_use]
    pub fn primary_of(&mut self, group: u32) -> Option<usize> {
        let views: Vec<ClusterView> =
            self.live().into_iter().filter_map(|i| self.view(i)).collect();
        let highest = views.iter().filter_map(|v| v.group(group)).map(|g| g.view).max()?;
        views.iter().find_map(|view| {
            let entry = view.group(group)?;
            (entry.view == highest && entry.status == "normal" && entry.primary == view.node)
                .then_some(view.node)
        })
    }

    /// Waits for [`Cluster::primary_of`] to name a primary, other than `not` if given.
    ///
    /// # Panics
    /// When none appears within `limit`.
    pub fn wait_primary(&mut self, group: u32, not: Option<usize>, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(primary) = self.primary_of(group)
                && Some(primary) != not
            {
                return primary;
            }
            if Instant::now() >= deadline {
                panic!("no primary of group {group} (other than {not:?}) within {limit:?}");
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// SIGKILL: a crash. The process is reaped.
    pub fn kill(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        if let Some(mut child) = node.child.take() {
            if node.paused {
                // A stopped process dies on SIGKILL too; resuming first keeps it simple.
                // SAFETY: our own child.
                unsafe { libc::kill(i32::try_from(child.id()).expect("pid"), libc::SIGCONT) };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        node.paused = false;
    }

    /// SIGTERM and a bounded wait: the graceful path (drain, sync, hand over). Returns
    /// the exit code.
    ///
    /// # Panics
    /// When the node does not exit within [`STOP_TIMEOUT`] (it is then killed).
    pub fn terminate(&mut self, index: usize) -> Option<i32> {
        let node = &mut self.nodes[index];
        node.signal(libc::SIGTERM);
        let mut child = node.child.take()?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node {index} did not exit within {STOP_TIMEOUT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGSTOP: the process freezes (a long GC pause, a VM migration) with its sockets
    /// open.
    pub fn pause(&mut self, index: usize) {
        self.nodes[index].signal(libc::SIGSTOP);
        self.nodes[index].paused = true;
    }

    /// SIGCONT after [`Cluster::pause`].
    pub fn resume(&mut self, index: usize) {
        self.nodes[index].signal(libc::SIGCONT);
        self.nodes[index].paused = false;
    }

    /// Starts a stopped (killed or terminated) node again on its data directory. Does not
    /// wait for readiness.
    pub fn restart(&mut self, index: usize) {
        self.spawn(index);
    }

    /// Deletes a stopped node's data directory and recreates it empty (a new disk).
    ///
    /// # Panics
    /// When the node is running.
    pub fn wipe(&mut self, index: usize) {
        assert!(!self.nodes[index].alive(), "wipe a stopped node only");
        let dir = &self.nodes[index].data_dir;
        std::fs::remove_dir_all(dir).expect("remove the data dir");
        std::fs::create_dir_all(dir).expect("recreate the data dir");
    }

    /// Corrupts `group`'s journal on a stopped node: every prepare in the ring with an op
    /// above `above_op` (pass the group's checkpoint: those ops are needed, not
    /// garbage-collectable), except the two newest (a torn tail may legitimately be cut,
    /// and the test is about the middle of the log), gets one byte flipped in its header
    /// (its checksum no longer matches) and one in its body. The redundant header ring is
    /// left intact, so the replica knows which prepares it lost. Returns the ops hit.
    ///
    /// # Panics
    /// When the node is running or the journal file is missing or shorter than the ring
    /// this harness configures.
    pub fn corrupt_journal(&mut self, index: usize, group: u32, above_op: u64) -> Vec<u64> {
        assert!(!self.nodes[index].alive(), "corrupt a stopped node's journal only");
        let path = self.journal_path(index, group);
        let mut file = File::options().read(true).write(true).open(&path).expect("open journal");
        let length = file.metadata().expect("journal metadata").len();
        let slot_size = PARTITION_MESSAGE_SIZE_MAX.div_ceil(SECTOR_SIZE_BYTES) * SECTOR_SIZE_BYTES;
        let ring_size = PARTITION_JOURNAL_SLOTS * slot_size;
        assert!(length > ring_size, "{} is shorter than its prepare ring", path.display());
        // The prepare ring is the file's last zone (storage/src/journal/layout.rs); a
        // prepare starts at its slot's first byte.
        let ring_start = length - ring_size;
        let mut prepares = Vec::new();
        for slot in 0..PARTITION_JOURNAL_SLOTS {
            let start = ring_start + slot * slot_size;
            let mut bytes = [0_u8; HEADER_SIZE];
            file.seek(SeekFrom::Start(start)).expect("seek");
            file.read_exact(&mut bytes).expect("read a slot header");
            if let Ok(header) = Header::decode(&bytes)
                && header.command == VsrCommand::Prepare
            {
                prepares.push((header.op, start, u64::from(header.size)));
            }
        }
        let head = prepares.iter().map(|&(op, _, _)| op).max().unwrap_or(0);
        let mut hit = Vec::new();
        for &(op, start, size) in &prepares {
            if op <= above_op || op + 2 > head {
                continue;
            }
            let body = size.saturating_sub(HEADER_SIZE as u64);
            let mut targets = vec![start + 17];
            if body > 0 {
                targets.push(start + HEADER_SIZE as u64 + body / 2);
            }
            for offset in targets {
                let mut byte = [0_u8; 1];
                file.seek(SeekFrom::Start(offset)).expect("seek");
                file.read_exact(&mut byte).expect("read");
                byte[0] ^= 0xa5;
                file.seek(SeekFrom::Start(offset)).expect("seek");
                file.write_all(&byte).expect("write");
            }
            hit.push(op);
        }
        file.sync_all().expect("sync the corrupted journal");
        hit.sort_unstable();
        hit
    }

    /// A group gauge from node `index`'s `/metrics` (e.g. `vireo_group_checkpoint_op`).
    #[must_use]
    pub fn group_metric(&self, index: usize, name: &str, group: u32) -> Option<u64> {
        let (_, text) = self.http(index, "/metrics").ok()?;
        let prefix = format!("{name}{{group=\"{group}\"}} ");
        text.lines().find_map(|line| line.strip_prefix(&prefix)?.trim().parse().ok())
    }

    /// The journal (data) file of `group` on node `index`.
    #[must_use]
    pub fn journal_path(&self, index: usize, group: u32) -> PathBuf {
        self.nodes[index].data_dir.join(format!("group-{group}.vsr"))
    }

    /// Cuts the link from `from` to `to` (one direction: `from`'s dialled connection to
    /// `to` carries nothing either way, but `to`'s connection to `from` still works).
    pub fn cut(&self, from: usize, to: usize) {
        self.proxy(from, to).partition();
    }

    /// Cuts every link to and from `index`: the node runs but hears no peer and no peer
    /// hears it. Its clients still reach it.
    pub fn isolate(&self, index: usize) {
        for other in (0..NODES).filter(|&other| other != index) {
            self.proxy(index, other).partition();
            self.proxy(other, index).partition();
        }
    }

    /// Restores every cut link.
    pub fn heal(&self) {
        for row in &self.proxies {
            for proxy in row.iter().flatten() {
                if proxy.is_partitioned() {
                    proxy.heal();
                }
            }
        }
    }

    fn proxy(&self, from: usize, to: usize) -> &FaultProxy {
        self.proxies[from][to].as_ref().expect("no proxy from a node to itself")
    }

    /// Keeps the directory (configs, data, logs) after drop, for debugging.
    pub fn keep_dir(&mut self) {
        self.keep_dir = true;
    }

    /// The last lines of node `index`'s log.
    #[must_use]
    pub fn log_tail(&self, index: usize) -> String {
        let text = std::fs::read_to_string(&self.nodes[index].log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(LOG_TAIL_LINES);
        let mut out = format!("--- node {index} log ({}):\n", self.nodes[index].log_path.display());
        for line in &lines[start..] {
            let _ = writeln!(out, "{line}");
        }
        out
    }

    /// Every node's log tail.
    #[must_use]
    pub fn logs(&self) -> String {
        (0..NODES).map(|index| self.log_tail(index)).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
            self.keep_dir = self.keep_dir || std::env::var_os("VIREO_TEST_KEEP").is_some();
        }
        for index in 0..NODES {
            self.kill(index);
        }
        // Proxies stop with their threads when `self.proxies` drops.
        if self.keep_dir {
            eprintln!("cluster directory kept: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Node `index`'s TOML: its own replica address real, each peer's the proxy (index→j).
fn node_config(
    index: usize,
    ports: &[NodePorts],
    proxies: &[Option<FaultProxy>],
    data_dir: &Path,
    settings: &[&str],
) -> String {
    let mut roster = String::new();
    for (peer, peer_ports) in ports.iter().enumerate() {
        let replica = match &proxies[peer] {
            Some(proxy) => proxy.address().to_string(),
            None => format!("127.0.0.1:{}", peer_ports.replica),
        };
        let _ = writeln!(
            roster,
            "  {{ name = \"node-{peer}\", replica = \"{replica}\", tcp = \"127.0.0.1:{}\", \
             quic = \"127.0.0.1:{}\", http = \"127.0.0.1:{}\" }},",
            peer_ports.tcp, peer_ports.quic, peer_ports.http
        );
    }
    let own = ports[index];
    let mut text = format!(
        "[node]\nname = \"node-{index}\"\ndata_dir = \"{}\"\nshards = 2\npin_cores = false\n\n\
         [cluster]\nreplica = {index}\nsecret = \"{SECRET}\"\nnodes = [\n{roster}]\n\n\
         [tcp]\naddress = \"127.0.0.1:{}\"\n\n[quic]\naddress = \"127.0.0.1:{}\"\n\n\
         [http]\naddress = \"127.0.0.1:{}\"\n\n\
         [consensus]\npartition_groups = 2\nclients_max = 64\nmetadata_journal_slots = 128\n\
         metadata_message_size_max = \"256KiB\"\nmetadata_snapshot_size_max = \"2MiB\"\n\
         partition_journal_slots = {PARTITION_JOURNAL_SLOTS}\n\
         partition_message_size_max = \"{}KiB\"\npartition_snapshot_size_max = \"2MiB\"\n\n\
         [storage]\nsegment_size = \"2MiB\"\nio_queue_depth = 1024\n",
        data_dir.display(),
        own.tcp,
        own.quic,
        own.http,
        PARTITION_MESSAGE_SIZE_MAX >> 10,
    );
    // `--set`-style overrides, folded into the file (a key given twice in TOML is an
    // error, so overridden defaults above are replaced rather than repeated).
    for setting in settings {
        let (key, value) = setting.split_once('=').expect("settings are key=value");
        let (section, name) = key.split_once('.').expect("settings are section.key");
        let quoted = if value.parse::<i64>().is_ok() || value == "true" || value == "false" {
            value.to_owned()
        } else {
            format!("\"{value}\"")
        };
        let line = format!("{name} = {quoted}");
        let header = format!("[{section}]\n");
        let prefix = format!("\n{name} = ");
        if let Some(start) = text.find(&header) {
            let body_start = start + header.len();
            let body_end = text[body_start..].find("\n[").map_or(text.len(), |i| body_start + i);
            let body = &text[body_start..body_end];
            let replaced = if let Some(at) = format!("\n{body}").find(&prefix) {
                let line_start = body_start + at;
                let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
                text.replace_range(line_start..line_end, &line);
                true
            } else {
                false
            };
            if !replaced {
                text.insert_str(body_start, &format!("{line}\n"));
            }
        } else {
            let _ = write!(text, "\n[{section}]\n{line}\n");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_route_peers_through_proxies_and_apply_settings() {
        let ports: Vec<NodePorts> = (0..NODES).map(|_| NodePorts::free()).collect();
        let proxies: Vec<Option<FaultProxy>> = (0..NODES)
            .map(|to| {
                (to != 1).then(|| {
                    FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], ports[to].replica)))
                })
            })
            .collect();
        let text = node_config(
            1,
            &ports,
            &proxies,
            Path::new("/tmp/x"),
            &["consensus.durability=persisted", "node.shards=1", "retention.interval_ms=5"],
        );
        let table: toml::Table = toml::from_str(&text).expect("valid TOML");
        let roster = table["cluster"]["nodes"].as_array().expect("roster");
        assert_eq!(roster.len(), NODES);
        assert_eq!(
            roster[1]["replica"].as_str(),
            Some(format!("127.0.0.1:{}", ports[1].replica).as_str()),
            "own entry is the real listener"
        );
        let through_proxy = proxies[2].as_ref().expect("proxy").address().to_string();
        assert_eq!(roster[2]["replica"].as_str(), Some(through_proxy.as_str()));
        assert_eq!(table["cluster"]["replica"].as_integer(), Some(1));
        assert_eq!(table["consensus"]["durability"].as_str(), Some("persisted"));
        assert_eq!(table["node"]["shards"].as_integer(), Some(1), "replaced, not repeated");
        assert_eq!(table["retention"]["interval_ms"].as_integer(), Some(5));
    }

    #[test]
    fn cluster_view_parses_the_endpoint() {
        let body = r#"{"node": 2, "name": "node-2", "replica_count": 3,
            "peers": [{"replica": 0, "name": "node-0", "connected": true},
                      {"replica": 1, "name": "node-1", "connected": false}],
            "groups": [{"group": 0, "kind": "metadata", "view": 3, "primary": 0,
                        "status": "normal", "op": 12, "commit": 11, "syncing": false}]}"#;
        let view = ClusterView::parse(body).expect("parses");
        assert_eq!(view.node, 2);
        assert_eq!(view.connected_peers, [0]);
        assert_eq!(view.group(0).map(|g| (g.view, g.primary, g.commit)), Some((3, 0, 11)));
        assert!(ClusterView::parse("{}").is_err());
    }
}
