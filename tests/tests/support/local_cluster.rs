//! [`LocalCluster`]: three `vireo server` processes forming one cluster on loopback,
//! configured through the `VIREO_CLUSTER_*` environment (free ports, small journals),
//! each logging to a file in its temporary directory. Every process is killed and the
//! directory removed on drop; when dropped during a panic, the last lines of each log
//! are printed first.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use vireo_tests::{ROOT_PASSWORD, free_port, temp_dir, vireo_command};

/// Nodes started.
pub const NODES: usize = 3;
/// The shared bus secret of test clusters.
pub const SECRET: &str = "cluster-basic-test-secret";
/// Lines of each log shown when a test fails.
const LOG_TAIL_LINES: usize = 25;

/// Ports of one node.
#[derive(Debug, Clone, Copy)]
pub struct NodePorts {
    /// Replica bus (TCP).
    pub replica: u16,
    /// TCP clients.
    pub tcp: u16,
    /// QUIC clients (UDP).
    pub quic: u16,
    /// HTTP.
    pub http: u16,
}

impl NodePorts {
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

/// The running cluster (see the module docs).
pub struct LocalCluster {
    dir: PathBuf,
    /// Per node, its ports.
    pub ports: Vec<NodePorts>,
    children: Vec<Option<Child>>,
}

/// `GET path` on loopback `port`: (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let timeout = Duration::from_millis(500);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())?;
    Some((status, body))
}

impl LocalCluster {
    /// Starts three nodes and waits (bounded by `limit`) until each answers `/ready`.
    ///
    /// # Panics
    /// When a node exits or is not ready in time.
    #[must_use]
    pub fn start(name: &str, limit: Duration) -> Self {
        let dir = temp_dir(name);
        let ports: Vec<NodePorts> = (0..NODES)
            .map(|_| NodePorts {
                replica: free_port(),
                tcp: free_port(),
                quic: free_port(),
                http: free_port(),
            })
            .collect();
        let mut cluster = Self { dir, ports, children: (0..NODES).map(|_| None).collect() };
        for index in 0..NODES {
            cluster.spawn(index);
        }
        for index in 0..NODES {
            cluster.wait_ready(index, limit);
        }
        cluster
    }

    fn roster(&self) -> String {
        self.ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "node-{i}=127.0.0.1:{},127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}",
                    p.replica, p.tcp, p.quic, p.http
                )
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    fn log_path(&self, index: usize) -> PathBuf {
        self.dir.join(format!("node-{index}.log"))
    }

    /// Starts (or restarts) node `index` on its data directory.
    pub fn spawn(&mut self, index: usize) {
        assert!(self.children[index].is_none(), "node {index} is running");
        let p = self.ports[index];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(index))
            .expect("log file");
        let settings = [
            "node.shards=1",
            "node.pin_cores=false",
            "consensus.partition_groups=2",
            "consensus.clients_max=64",
            "consensus.metadata_journal_slots=128",
            "consensus.metadata_snapshot_size_max=2MiB",
            "consensus.partition_journal_slots=64",
            "consensus.partition_message_size_max=1MiB",
            "consensus.partition_snapshot_size_max=2MiB",
            "storage.segment_size=2MiB",
        ];
        let mut command = vireo_command();
        command
            .arg("server")
            .arg("--data-dir")
            .arg(self.dir.join(format!("node-{index}")))
            .arg("--tcp-address")
            .arg(p.tcp_address())
            .arg("--quic-address")
            .arg(p.quic_address())
            .arg("--http-address")
            .arg(format!("127.0.0.1:{}", p.http));
        for setting in settings {
            command.arg("--set").arg(setting);
        }
        let child = command
            .env("VIREO_ROOT_PASSWORD", ROOT_PASSWORD)
            .env("VIREO_CLUSTER_NODES", self.roster())
            .env("VIREO_CLUSTER_REPLICA", index.to_string())
            .env("VIREO_CLUSTER_SECRET", SECRET)
            .env("RUST_LOG", std::env::var("VIREO_TEST_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn vireo");
        self.children[index] = Some(child);
    }

    /// Waits (bounded) until node `index` answers `/ready` with 200.
    ///
    /// # Panics
    /// When it exits or is not ready within `limit`.
    pub fn wait_ready(&mut self, index: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) =
                self.children[index].as_mut().and_then(|child| child.try_wait().ok().flatten())
            {
                panic!("node {index} exited with {status}");
            }
            if http_get(self.ports[index].http, "/ready").is_some_and(|(status, _)| status == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "node {index} not ready within {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Node `index`'s `GET /cluster`, parsed.
    #[must_use]
    pub fn cluster_json(&self, index: usize) -> Option<serde_json::Value> {
        let (status, body) = http_get(self.ports[index].http, "/cluster")?;
        (status == 200).then(|| serde_json::from_str(&body).ok()).flatten()
    }

    /// The primary of `group` as node `index` reports it (normal status only).
    #[must_use]
    pub fn primary_of(&self, index: usize, group: u64) -> Option<usize> {
        let json = self.cluster_json(index)?;
        let groups = json["groups"].as_array()?;
        let entry = groups.iter().find(|g| g["group"].as_u64() == Some(group))?;
        if entry["status"].as_str() != Some("normal") {
            return None;
        }
        entry["primary"].as_u64().and_then(|p| usize::try_from(p).ok())
    }

    /// SIGKILLs node `index`.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.children[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERMs node `index` and waits (bounded) for its exit code.
    pub fn terminate(&mut self, index: usize, limit: Duration) -> Option<i32> {
        let mut child = self.children[index].take()?;
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(i32::try_from(child.id()).expect("pid"), libc::SIGTERM) };
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The text of node `index`'s log.
    #[must_use]
    pub fn log(&self, index: usize) -> String {
        std::fs::read_to_string(self.log_path(index)).unwrap_or_default()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for index in 0..NODES {
            self.kill(index);
        }
        if std::thread::panicking() {
            for index in 0..NODES {
                let log = self.log(index);
                let lines: Vec<&str> = log.lines().collect();
                eprintln!("---- node-{index} log (last {LOG_TAIL_LINES} lines) ----");
                for line in &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..] {
                    eprintln!("{line}");
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
