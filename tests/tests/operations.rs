//! Goal: what an operator relies on — `/ping`, `/ready`, Prometheus `/metrics`; bad
//! configuration refused at start with a message per bad value and its own exit code;
//! one process per data directory; SIGTERM drains and exits 0.

use std::process::Command;

use vireo_tests::{Node, temp_dir, vireo_binary};

#[test]
fn http_endpoints_report_liveness_readiness_and_metrics() {
    let mut node = Node::start("operations", &[]);
    let (status, body) = node.http_get("/ping");
    assert_eq!((status, body.trim()), (200, "pong"));
    let (status, body) = node.http_get("/ready");
    assert_eq!((status, body.trim()), (200, "ready"), "{body}");
    let (status, body) = node.http_get("/metrics");
    assert_eq!(status, 200);
    for metric in
        ["vireo_requests_total", "vireo_group_commit_max{group=\"0\"}", "vireo_group_ready"]
    {
        assert!(body.contains(metric), "{metric} missing from /metrics");
    }
    assert_eq!(node.http_get("/nope").0, 404);

    // A second process on the same data directory is refused.
    let second = Command::new(vireo_binary())
        .args(["server", "--data-dir"])
        .arg(&node.data_dir)
        .args(["--set", "tcp.address=127.0.0.1:1", "--set", "quic.enabled=false"])
        .args(["--set", "http.enabled=false"])
        .output()
        .expect("run a second vireo");
    assert_eq!(second.status.code(), Some(4), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use"));

    assert_eq!(node.stop(), Some(0));
    assert!(node.data_dir.join("clean-shutdown").exists());
}

#[test]
fn invalid_configuration_is_refused_with_every_reason() {
    let dir = temp_dir("config");
    let file = dir.join("vireo.toml");
    std::fs::write(&file, "[tcp]\naddress = \"not-an-address\"\n[consensus]\ntick_ms = 0\n")
        .unwrap();
    let output = Command::new(vireo_binary())
        .args(["server", "--config"])
        .arg(&file)
        .args(["--set", "storage.segment_size=12"])
        .env("VIREO_QUIC_ADDRESS", "nowhere")
        .output()
        .expect("run vireo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    for needle in ["tcp.address", "VIREO_QUIC_ADDRESS", "consensus.tick_ms", "storage.segment_size"]
    {
        assert!(stderr.contains(needle), "{needle} not reported in:\n{stderr}");
    }
    let help = Command::new(vireo_binary()).args(["server", "--help-config"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("VIREO_ROOT_PASSWORD"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_validates_the_configuration_without_opening_data_or_ports() {
    let dir = temp_dir("check");
    let data_dir = dir.join("never-created");
    // A port that is taken: a start would fail to bind it, `--check` must not try.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_address = taken.local_addr().unwrap().to_string();
    let file = dir.join("vireo.toml");
    std::fs::write(&file, "[node]\nname = \"checked\"\n[quic]\nenabled = false\n").unwrap();
    let good = Command::new(vireo_binary())
        .args(["server", "--check", "--config"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--tcp-address", &taken_address])
        .output()
        .expect("run vireo server --check");
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert_eq!(good.status.code(), Some(0), "{}", String::from_utf8_lossy(&good.stderr));
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    for needle in ["config OK", "node checked", "replica 0 of 1", &format!("tcp={taken_address}")] {
        assert!(stdout.contains(needle), "{needle} missing from: {stdout}");
    }
    assert!(stdout.contains("quic=off"), "{stdout}");
    assert!(!data_dir.exists(), "--check created the data directory");

    let bad = Command::new(vireo_binary())
        .args(["server", "--check", "--config"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--set", "consensus.pipeline_max=0"])
        .output()
        .expect("run vireo server --check");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("consensus.pipeline_max"), "key not named in:\n{stderr}");
    assert!(bad.stdout.is_empty(), "no OK line for a bad config");
    assert!(!data_dir.exists(), "--check created the data directory");
    drop(taken);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Kills the child on drop (a failed assertion must not leave a server running).
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads notifications until one has the line `wanted`; returns every message read.
/// Fails at once when the node exits, and after [`vireo_tests::START_TIMEOUT`].
fn notifications_until(
    socket: &std::os::unix::net::UnixDatagram,
    node: &mut Reaped,
    wanted: &str,
) -> Vec<String> {
    let deadline = std::time::Instant::now() + vireo_tests::START_TIMEOUT;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !seen.iter().any(|message: &String| message.lines().any(|line| line == wanted)) {
        assert!(std::time::Instant::now() < deadline, "no {wanted} in time (got {seen:?})");
        match socket.recv(&mut buffer) {
            Ok(length) => seen.push(String::from_utf8_lossy(&buffer[..length]).into_owned()),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = node.0.try_wait().unwrap() {
                    panic!("vireo exited with {status} before {wanted} (got {seen:?})");
                }
            }
            Err(error) => panic!("notification socket: {error}"),
        }
    }
    seen
}

#[test]
fn systemd_readiness_is_notified_once_the_node_serves_and_when_it_stops() {
    use std::io::{Read, Write};
    let dir = temp_dir("notify");
    let socket_path = dir.join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    let ports = vireo_tests::Ports::free();
    let http = format!("127.0.0.1:{}", ports.http);
    let child = vireo_tests::vireo_command()
        .args(["server", "--data-dir"])
        .arg(dir.join("data"))
        .args(["--tcp-address", &ports.tcp_address(), "--quic-address", &ports.quic_address()])
        .args(["--http-address", &http, "--shards", "1"])
        .args(["--set", "consensus.partition_groups=1", "--set", "node.pin_cores=false"])
        .args(["--set", "consensus.clients_max=64"])
        .args(["--set", "consensus.metadata_journal_slots=128"])
        .args(["--set", "consensus.partition_journal_slots=64"])
        .args(["--set", "consensus.metadata_snapshot_size_max=2MiB"])
        .args(["--set", "consensus.partition_message_size_max=1MiB"])
        .args(["--set", "consensus.partition_snapshot_size_max=2MiB"])
        .env("VIREO_ROOT_PASSWORD", vireo_tests::ROOT_PASSWORD)
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn vireo");
    let mut child = Reaped(child);

    let before_ready = notifications_until(&socket, &mut child, "READY=1");
    assert!(
        before_ready.iter().any(|message| message.starts_with("STATUS=")),
        "status lines while starting: {before_ready:?}"
    );
    let ready = before_ready.last().unwrap();
    assert!(ready.contains(&format!("STATUS=serving tcp={}", ports.tcp_address())), "{ready}");
    // READY=1 means clients are served: /ping answers at once, without retrying.
    let mut stream = std::net::TcpStream::connect(&http).expect("http listens at READY=1");
    stream.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // SAFETY: signalling our own child process by its pid.
    unsafe { libc::kill(i32::try_from(child.0.id()).unwrap(), libc::SIGTERM) };
    let stopping = notifications_until(&socket, &mut child, "STOPPING=1");
    assert!(!stopping.iter().any(|m| m.contains("READY=1")), "READY sent twice: {stopping:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "no exit within 60 s of SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    drop(child);
    std::fs::remove_dir_all(&dir).unwrap();
}
