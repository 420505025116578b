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
