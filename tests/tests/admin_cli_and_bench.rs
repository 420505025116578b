//! Goal: the `vireo` admin CLI and `vireo bench`, run as a user runs them (the binary,
//! over TCP and QUIC, against a real node), say what happened: created resources
//! exist (checked with the official SDK too), messages sent are the messages polled,
//! failures exit non-zero with a clear message, and a short bench's report counts
//! every message it sent and polled, then leaves no stream behind.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use iggy::prelude::*;
use serde_json::Value;
use support::{TEST_LIMIT, Transport, bounded, name, payloads, root};
use vireo_tests::{Node, temp_dir, vireo_binary};

/// How long one `vireo` command may take.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// Runs `vireo <args>` (stdin from `input`), killed after [`COMMAND_LIMIT`].
fn vireo(args: &[&str], input: Option<&str>) -> Output {
    let mut child = Command::new(vireo_binary())
        .args(args)
        .env_remove("VIREO_ADDRESS")
        .env_remove("VIREO_TRANSPORT")
        .env_remove("VIREO_USERNAME")
        .env_remove("VIREO_TOKEN")
        .env("VIREO_PASSWORD", vireo_tests::ROOT_PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vireo");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    drop(stdin);
    let deadline = Instant::now() + COMMAND_LIMIT;
    while child.try_wait().expect("poll child").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vireo {args:?} ran longer than {COMMAND_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a command that must succeed; returns stdout.
fn ok(args: &[&str]) -> String {
    ok_with_input(args, None)
}

fn ok_with_input(args: &[&str], input: Option<&str>) -> String {
    let output = vireo(args, input);
    assert!(
        output.status.success(),
        "vireo {args:?} failed ({}): {}{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Runs a command that must fail with `code`; returns stderr.
fn fails(args: &[&str], code: i32) -> String {
    let output = vireo(args, None);
    assert_eq!(output.status.code(), Some(code), "vireo {args:?}: {}", text(&output.stderr));
    text(&output.stderr)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

/// Connection flags for `node` over `transport`.
fn target(node: &Node, transport: Transport) -> Vec<String> {
    let (kind, address) = match transport {
        Transport::Tcp => ("tcp", node.ports.tcp_address()),
        Transport::Quic => ("quic", node.ports.quic_address()),
    };
    vec!["--transport".into(), kind.into(), "--address".into(), address]
}

fn with<'a>(args: &[&'a str], connect: &'a [String]) -> Vec<&'a str> {
    args.iter().copied().chain(connect.iter().map(String::as_str)).collect()
}

fn stream_names(connect: &[String]) -> Vec<String> {
    let listed = json(&ok(&with(&["stream", "list", "--json"], connect)));
    listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|stream| stream["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn admin_commands_over_tcp_and_quic() {
    let node = Node::start("admin-cli", &[]);
    for transport in [Transport::Tcp, Transport::Quic] {
        let connect = target(&node, transport);
        let stream = format!("cli-{transport:?}").to_lowercase();

        let pong = ok(&with(&["ping", "--count", "2"], &connect));
        assert_eq!(pong.matches("pong from").count(), 2, "{pong}");

        let created = ok(&with(&["stream", "create", &stream], &connect));
        assert!(created.starts_with(&format!("created stream {stream} (id ")), "{created}");
        assert!(stream_names(&connect).contains(&stream));
        let table = ok(&with(&["stream", "list"], &connect));
        assert!(table.starts_with("ID") && table.contains(&stream), "{table}");

        ok(&with(&["topic", "create", &stream, "events", "--partitions", "2"], &connect));
        let topics = json(&ok(&with(&["topic", "list", &stream, "--json"], &connect)));
        assert_eq!(topics[0]["name"], "events");
        assert_eq!(topics[0]["partitions_count"], 2);

        let sent = ok(&with(
            &["message", "send", &stream, "events", "--partition", "1", "one", "two", "three"],
            &connect,
        ));
        assert_eq!(sent.trim(), "sent 3 message(s) to partition 1 at offset 0");
        let sent = ok_with_input(
            &with(&["message", "send", &stream, "events", "--partition", "1"], &connect),
            Some("four\nfive\n"),
        );
        assert_eq!(sent.trim(), "sent 2 message(s) to partition 1 at offset 3");

        let polled = ok(&with(
            &["message", "poll", &stream, "events", "--partition", "1", "--json", "-n", "10"],
            &connect,
        ));
        let lines: Vec<Value> = polled.lines().map(json).collect();
        let offsets: Vec<u64> = lines.iter().map(|line| line["offset"].as_u64().unwrap()).collect();
        let texts: Vec<&str> = lines.iter().map(|line| line["payload"].as_str().unwrap()).collect();
        assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
        assert_eq!(texts, vec!["one", "two", "three", "four", "five"]);
        let tail = ok(&with(
            &["message", "poll", &stream, "events", "--partition", "1", "--offset", "3"],
            &connect,
        ));
        assert!(tail.contains("four") && !tail.contains("three"), "{tail}");

        // The official SDK sees what the CLI wrote.
        bounded(TEST_LIMIT, async {
            let client = root(&node, transport).await;
            let polled = client
                .poll_messages(
                    &name(&stream),
                    &name("events"),
                    Some(1),
                    &Consumer::new(name("sdk")),
                    &PollingStrategy::offset(0),
                    10,
                    false,
                )
                .await
                .expect("SDK poll");
            assert_eq!(payloads(&polled), vec!["one", "two", "three", "four", "five"]);
        });

        let stats = json(&ok(&with(&["stats", "--json"], &connect)));
        assert!(stats["streams_count"].as_u64().unwrap() >= 1, "{stats}");
        assert!(stats["messages_count"].as_u64().unwrap() >= 5, "{stats}");
        let nodes = json(&ok(&with(&["cluster", "--json"], &connect)));
        assert_eq!(nodes[0]["leader"], true);

        ok(&with(&["topic", "delete", &stream, "events"], &connect));
        assert_eq!(json(&ok(&with(&["topic", "list", &stream, "--json"], &connect))), json("[]"));
        ok(&with(&["stream", "delete", &stream], &connect));
        assert!(!stream_names(&connect).contains(&stream));
    }
}

#[test]
fn admin_failures_exit_non_zero_with_a_reason() {
    let node = Node::start("admin-cli-errors", &[]);
    let connect = target(&node, Transport::Tcp);
    let missing = fails(&with(&["stream", "delete", "no-such-stream"], &connect), 1);
    assert!(missing.contains("not found"), "{missing}");
    let denied = fails(&with(&["ping", "--password", "wrong"], &connect), 1);
    assert!(denied.contains("invalid credentials"), "{denied}");
    ok(&with(&["stream", "create", "twice"], &connect));
    let exists = fails(&with(&["stream", "create", "twice"], &connect), 1);
    assert!(exists.contains("already exists"), "{exists}");
    let unused = format!("127.0.0.1:{}", vireo_tests::free_port());
    let unreachable = fails(&["ping", "--address", &unused, "--timeout", "3"], 3);
    assert!(unreachable.contains("no node reachable"), "{unreachable}");
    let usage = vireo(&["topic", "create"], None);
    assert_eq!(usage.status.code(), Some(2), "clap usage errors exit 2");
}

#[test]
fn admin_commands_over_tcp_with_tls() {
    let node = Node::start("admin-cli-tls", &["tcp.tls_enabled=true"]);
    let address = node.ports.tcp_address();
    let tls = ["--tls", "--address", &address];
    let pong = ok(&with(&["ping"], &tls.map(str::to_owned)));
    assert!(pong.contains("pong from"), "{pong}");
    ok(&with(&["stream", "create", "over-tls"], &tls.map(str::to_owned)));
    assert!(stream_names(&tls.map(str::to_owned)).contains(&"over-tls".to_owned()));
    // Plain TCP against a TLS edge never gets a reply it can read.
    let plain = vireo(&["ping", "--address", &address, "--timeout", "3"], None);
    assert!(!plain.status.success(), "plain TCP must not work against TLS");
}

/// Removes a directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn report(directory: &Path, name: &str) -> Value {
    let path = directory.join(name).join("report.json");
    let svg = std::fs::read_to_string(directory.join(name).join("latency.svg")).expect("chart");
    assert!(svg.starts_with("<svg") && svg.contains("<polyline"), "chart of {name}");
    json(&std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path:?}: {error}")))
}

fn check_group(report: &Value, group: &str, messages: u64) {
    let summary = &report[group];
    assert_eq!(summary["messages"].as_u64(), Some(messages), "{group}: {summary}");
    assert_eq!(summary["payload_bytes"].as_u64(), Some(messages * 256), "{group}: {summary}");
    assert_eq!(summary["failed_actors"], 0, "{group}: {summary}");
    assert!(summary["mb_per_s"].as_f64().unwrap() > 0.0, "{group}: {summary}");
    let latency = &summary["latency_ms"];
    let (p50, p99) = (latency["p50"].as_f64().unwrap(), latency["p99"].as_f64().unwrap());
    assert!(p50 > 0.0 && p50 <= p99, "{group}: {latency}");
}

#[test]
fn bench_workloads_over_tcp_and_quic() {
    let node = Node::start("bench", &[]);
    let output = TempDir(temp_dir("bench-reports"));
    let directory = output.0.display().to_string();
    for transport in [Transport::Tcp, Transport::Quic] {
        let connect = target(&node, transport);
        for workload in ["pp", "pc", "ppc", "cg"] {
            let run = format!("{workload}-{transport:?}").to_lowercase();
            let args = [
                "bench",
                workload,
                "-p",
                "2",
                "-c",
                "2",
                "-b",
                "10",
                "-P",
                "50",
                "-m",
                "256",
                "--no-progress",
                "-o",
                &directory,
                "--name",
                &run,
                "--stream-prefix",
                &run,
            ];
            let printed = ok(&with(&args, &connect));
            assert!(printed.contains("MB/s") && printed.contains("p9999"), "{printed}");
            let report = report(&output.0, &run);
            assert_eq!(report["plan"]["workload"], workload);
            match workload {
                "pp" => check_group(&report, "producers", 1000),
                "pc" => check_group(&report, "consumers", 1000),
                "ppc" => {
                    check_group(&report, "producers", 1000);
                    check_group(&report, "consumers", 1000);
                }
                _ => {
                    // 2 members × 10 batches × 50 spread over 2 partitions, read once.
                    assert_eq!(report["consumer_target"], 1000);
                    check_group(&report, "consumers", 1000);
                }
            }
            let leftovers: Vec<String> =
                stream_names(&connect).into_iter().filter(|s| s.starts_with(&run)).collect();
            assert!(leftovers.is_empty(), "{run} left {leftovers:?}");
        }
    }
    // A second run on existing streams is refused unless --reuse.
    let connect = target(&node, Transport::Tcp);
    ok(&with(&["stream", "create", "taken-1"], &connect));
    let refused = fails(
        &with(
            &[
                "bench",
                "pp",
                "-p",
                "1",
                "-b",
                "1",
                "--no-progress",
                "-o",
                &directory,
                "--stream-prefix",
                "taken",
            ],
            &connect,
        ),
        1,
    );
    assert!(refused.contains("already exists") && refused.contains("--reuse"), "{refused}");
    ok(&with(
        &[
            "bench",
            "pp",
            "-p",
            "1",
            "-b",
            "3",
            "-P",
            "10",
            "-m",
            "256",
            "--no-progress",
            "-o",
            &directory,
            "--name",
            "reuse",
            "--stream-prefix",
            "taken",
            "--reuse",
        ],
        &connect,
    ));
    check_group(&report(&output.0, "reuse"), "producers", 30);
    assert!(stream_names(&connect).contains(&"taken-1".to_owned()), "--reuse deletes nothing");
}
