//! End-to-end tests of Vireo: real `vireo` processes on loopback, driven by the official
//! Apache Iggy SDK (`iggy` 0.11.0) and CLI. Shared helpers to start, stop and inspect
//! nodes live here; the tests themselves are in `tests/tests/`.
//!
//! Every node a test starts binds only 127.0.0.1 on ports picked free, lives in its own
//! temporary data directory, and is killed (and its directory removed) when its
//! [`Node`] drops, even when the test fails.

pub mod cluster;
pub mod fault_proxy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The root password every test node is started with.
pub const ROOT_PASSWORD: &str = "iggy";
/// How long a node may take to start serving.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `vireo` command whose process dies with the test (SIGKILL when the spawning thread
/// exits): a test that times out or is killed leaves no server behind, even though its
/// `Drop` never runs.
///
/// # Panics
/// When the binary cannot be found or built.
#[must_use]
pub fn vireo_command() -> Command {
    use std::os::unix::process::CommandExt as _;
    let mut command = Command::new(vireo_binary());
    // SAFETY: `prctl` is async-signal-safe and touches nothing of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

/// The `vireo` binary: `$VIREO_BIN`, or `target/<profile>/vireo` next to the test
/// executable, built with cargo when missing.
///
/// # Panics
/// When the binary cannot be found or built.
pub fn vireo_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Ok(path) = std::env::var("VIREO_BIN") {
                return PathBuf::from(path);
            }
            let exe = std::env::current_exe().expect("test executable path");
            // target/<profile>/deps/<test> → target/<profile>/vireo
            let profile_dir = exe.parent().and_then(Path::parent).expect("target layout");
            let binary = profile_dir.join("vireo");
            if !binary.exists() {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                let status = Command::new(cargo)
                    .args(["build", "-p", "vireo-node", "--bin", "vireo"])
                    .status()
                    .expect("run cargo build");
                assert!(status.success(), "cargo build -p vireo-node failed");
            }
            assert!(binary.exists(), "no vireo binary at {}", binary.display());
            binary
        })
        .clone()
}

/// A free loopback port for both TCP and UDP, never handed out twice by this process.
///
/// # Panics
/// When no port can be found.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    for _ in 0..1000 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
        let port = tcp.local_addr().expect("local address").port();
        let mut given = GIVEN.lock().expect("port registry");
        if given.contains(&port) || UdpSocket::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        given.push(port);
        return port;
    }
    panic!("no free port");
}

/// A fresh temporary directory (removed by the [`Node`] that uses it).
///
/// # Panics
/// When it cannot be created.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir()
        .join(format!("vireo-e2e-{name}-{}-{unique}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Where a node listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// TCP client port.
    pub tcp: u16,
    /// QUIC client port (UDP).
    pub quic: u16,
    /// HTTP operations port.
    pub http: u16,
}

impl Ports {
    /// Three free ports.
    #[must_use]
    pub fn free() -> Self {
        Self { tcp: free_port(), quic: free_port(), http: free_port() }
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

/// A running `vireo server` process with its own data directory.
#[derive(Debug)]
pub struct Node {
    child: Option<Child>,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its ports.
    pub ports: Ports,
    /// Extra `--set` flags it was started with.
    pub settings: Vec<String>,
    /// Lines it printed on stdout (the root password, the serving line).
    pub stdout: Vec<String>,
    keep_dir: bool,
}

impl Node {
    /// Starts a node with small journals (fast tests) and `settings` (`key=value`).
    ///
    /// # Panics
    /// When the node does not start serving within [`START_TIMEOUT`].
    #[must_use]
    pub fn start(name: &str, settings: &[&str]) -> Self {
        let mut node = Self {
            child: None,
            data_dir: temp_dir(name),
            ports: Ports::free(),
            settings: settings.iter().map(|s| (*s).to_owned()).collect(),
            stdout: Vec::new(),
            keep_dir: false,
        };
        node.spawn();
        node
    }

    /// The flags every test node runs with: loopback ports, small journals.
    fn arguments(&self) -> Vec<String> {
        let mut args = vec![
            "server".to_owned(),
            "--data-dir".to_owned(),
            self.data_dir.display().to_string(),
            "--tcp-address".to_owned(),
            self.ports.tcp_address(),
            "--quic-address".to_owned(),
            self.ports.quic_address(),
            "--http-address".to_owned(),
            format!("127.0.0.1:{}", self.ports.http),
        ];
        let defaults = [
            "node.shards=2",
            "node.pin_cores=false",
            "consensus.partition_groups=2",
            "consensus.clients_max=64",
            "consensus.metadata_journal_slots=128",
            "consensus.metadata_message_size_max=256KiB",
            "consensus.metadata_snapshot_size_max=2MiB",
            "consensus.partition_journal_slots=64",
            "consensus.partition_message_size_max=1MiB",
            "consensus.partition_snapshot_size_max=2MiB",
            "storage.segment_size=2MiB",
            "storage.io_queue_depth=1024",
        ];
        for setting in defaults.iter().map(|s| (*s).to_owned()).chain(self.settings.iter().cloned())
        {
            args.push("--set".to_owned());
            args.push(setting);
        }
        args
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "node already running");
        let mut child = vireo_command()
            .args(self.arguments())
            .env("VIREO_ROOT_PASSWORD", ROOT_PASSWORD)
            .env("RUST_LOG", std::env::var("VIREO_TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn vireo");
        let stdout = child.stdout.take().expect("piped stdout");
        self.child = Some(child);
        let (lines_sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "vireo did not start serving in time");
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("vireo exited during start-up with {status}");
            }
            match lines.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => {
                    let serving = line.starts_with("vireo: serving");
                    self.stdout.push(line);
                    if serving {
                        return;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("vireo closed stdout during start-up: {:?}", self.stdout)
                }
            }
        }
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit; returns the exit code.
    ///
    /// # Panics
    /// When the node does not exit within 60 s (it is then killed).
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: signalling our own child process by its pid.
        unsafe { libc::kill(i32::try_from(child.id()).expect("pid"), libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("vireo did not stop on SIGTERM within 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process with SIGKILL (a crash) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same data directory and ports.
    pub fn restart(&mut self) {
        self.spawn();
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| child.try_wait().ok().flatten().is_none())
    }

    /// Keeps the data directory after drop (debugging).
    pub fn keep_data_dir(&mut self) {
        self.keep_dir = true;
    }

    /// `GET path` on the HTTP port: (status, body).
    ///
    /// # Panics
    /// On I/O errors.
    #[must_use]
    pub fn http_get(&self, path: &str) -> (u16, String) {
        let address = SocketAddr::from(([127, 0, 0, 1], self.ports.http));
        let mut stream =
            TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("connect http");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("write http");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read http");
        let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
        (status, body)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}
