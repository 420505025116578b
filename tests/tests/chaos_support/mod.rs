//! What every chaos test shares: a topic on the cluster, producers that record the fate
//! of every send attempt (each with a unique payload), and the check that the history
//! every live node serves is exactly what the producers were told:
//!
//! * offsets are dense from 0 and every node serves the same history;
//! * every acknowledged payload is there, at the offset its acknowledgement named;
//! * no payload appears twice;
//! * a send refused definitively (the server proved it was not applied) never appears,
//!   and an ambiguous one (connection lost or "not committed yet" when the call gave up)
//!   appears at most once;
//! * nothing appears that no producer sent.
//!
//! The producers use our own client (`vireo_node::client`), which follows primary
//! changes and reports ambiguous writes instead of resending them under a new session.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vireo_node::client::{
    Client, ClientConfig, ClientError, ConsumerId, Id, OutgoingMessage, Partitioning, PollingKind,
    PollingStrategy, TransportKind,
};
use vireo_tests::cluster::Cluster;

/// Partition groups every chaos cluster runs with (the harness's config).
pub const PARTITION_GROUPS: u32 = 2;
/// Partition the producers write to (0-based, as the SDK numbers them).
pub const PARTITION: u32 = 0;
/// Settings every chaos cluster runs with: replies to a client give up ("not committed
/// yet", 57) after 2 s instead of 10 s, so a stuck request turns ambiguous quickly.
pub const SETTINGS: &[&str] = &["consensus.request_timeout_ms=2000"];
/// Bound on one producer call (every replay, reconnect and redirect included).
const SEND_TIMEOUT: Duration = Duration::from_secs(6);
/// Pause after a failed send before the next attempt.
const FAILURE_PAUSE: Duration = Duration::from_millis(20);
/// Pause between sends (keeps four helpers' worth of CPU on two cores usable).
const SEND_PAUSE: Duration = Duration::from_millis(2);
/// Messages fetched per poll while verifying.
const POLL_COUNT: u32 = 1000;
/// How long a node may take to serve the whole history after the faults stopped.
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);

/// A tokio runtime for the clients (two workers: the machine has two cores).
#[must_use]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A client config for `addresses` that follows the leader when `follow_leader`.
#[must_use]
pub fn client_config(addresses: Vec<String>, follow_leader: bool) -> ClientConfig {
    let mut config = ClientConfig::new(TransportKind::Tcp, addresses);
    config.follow_leader = follow_leader;
    config.request_timeout = SEND_TIMEOUT;
    config.reply_timeout = Duration::from_secs(4);
    config.connect_timeout = Duration::from_secs(2);
    config
}

/// The topic the producers write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Stream id.
    pub stream: u32,
    /// Topic id.
    pub topic: u32,
    /// The consensus group that owns [`PARTITION`].
    pub group: u32,
}

/// Creates stream `chaos` with a one-partition topic through any node.
///
/// # Panics
/// When the cluster refuses.
pub async fn create_target(addresses: Vec<String>) -> Target {
    let mut client = Client::connect(client_config(addresses, true)).await.expect("connect");
    let stream = client.create_stream("chaos").await.expect("create stream").id;
    let topic = client
        .create_topic(&Id::Numeric(stream), "events", 1, &[])
        .await
        .expect("create topic")
        .topic
        .id;
    let group =
        vireo_node::partition::key::partition_group(stream, topic, PARTITION, PARTITION_GROUPS);
    Target { stream, topic, group }
}

/// The fate of one send attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged (at this offset, when the reply named one: a reply to a request
    /// the server recognised as a duplicate carries no confirmation).
    Acked {
        /// The offset the acknowledgement named.
        offset: Option<u64>,
    },
    /// Refused with proof it was not applied.
    Refused(String),
    /// May or may not have been applied.
    Ambiguous(String),
}

/// One send attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Its unique payload.
    pub payload: String,
    /// When the call started.
    pub started: Instant,
    /// When it returned.
    pub finished: Instant,
    /// What happened.
    pub outcome: Outcome,
}

/// Every attempt of every producer, shared with the test.
#[derive(Debug, Default, Clone)]
pub struct Ledger(Arc<Mutex<Vec<Attempt>>>);

/// The outcome of an attempt whose call has not returned yet: it may land or not.
const IN_FLIGHT: &str = "in flight";

impl Ledger {
    /// Records an attempt before its call starts (so a concurrent check never meets a
    /// stored payload that no ledger entry explains); returns its index.
    fn begin(&self, payload: String, started: Instant) -> usize {
        let mut attempts = self.0.lock().expect("ledger");
        attempts.push(Attempt {
            payload,
            started,
            finished: started,
            outcome: Outcome::Ambiguous(IN_FLIGHT.to_owned()),
        });
        attempts.len() - 1
    }

    fn finish(&self, index: usize, outcome: Outcome) {
        let mut attempts = self.0.lock().expect("ledger");
        attempts[index].finished = Instant::now();
        attempts[index].outcome = outcome;
    }

    /// A copy of every attempt so far.
    #[must_use]
    pub fn attempts(&self) -> Vec<Attempt> {
        self.0.lock().expect("ledger").clone()
    }

    /// Acknowledged attempts so far.
    #[must_use]
    pub fn acked(&self) -> usize {
        self.attempts().iter().filter(|a| matches!(a.outcome, Outcome::Acked { .. })).count()
    }

    /// The first acknowledgement that returned after `since`, if any.
    #[must_use]
    pub fn first_ack_after(&self, since: Instant) -> Option<Instant> {
        self.attempts()
            .iter()
            .filter(|a| matches!(a.outcome, Outcome::Acked { .. }) && a.finished > since)
            .map(|a| a.finished)
            .min()
    }

    /// Waits (polling) for an acknowledgement that returned after `since`; returns how
    /// long after `since` it came.
    ///
    /// # Panics
    /// When none comes within `limit`.
    pub fn wait_ack_after(&self, since: Instant, limit: Duration) -> Duration {
        let deadline = since + limit;
        loop {
            if let Some(at) = self.first_ack_after(since) {
                return at - since;
            }
            assert!(
                Instant::now() < deadline,
                "no write acknowledged within {limit:?}; last attempts: {:#?}",
                self.attempts().iter().rev().take(3).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A producer task writing one message per send to [`PARTITION`] until stopped.
pub struct Producer {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    /// Its attempts.
    pub ledger: Ledger,
}

impl Producer {
    /// Starts producer `name` on `runtime` talking to `addresses`.
    #[must_use]
    pub fn start(
        runtime: &tokio::runtime::Runtime,
        name: &str,
        addresses: Vec<String>,
        target: Target,
        ledger: Ledger,
    ) -> Self {
        Self::with_config(runtime, name, client_config(addresses, true), target, ledger)
    }

    /// Starts producer `name` that talks to node `address` only: no leader following,
    /// so whenever that node is a backup its writes are forwarded to the primary.
    #[must_use]
    pub fn pinned(
        runtime: &tokio::runtime::Runtime,
        name: &str,
        address: String,
        target: Target,
        ledger: Ledger,
    ) -> Self {
        Self::with_config(runtime, name, client_config(vec![address], false), target, ledger)
    }

    fn with_config(
        runtime: &tokio::runtime::Runtime,
        name: &str,
        config: ClientConfig,
        target: Target,
        ledger: Ledger,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = runtime.spawn(produce(
            name.to_owned(),
            config,
            target,
            ledger.clone(),
            Arc::clone(&stop),
        ));
        Self { stop, task, ledger }
    }

    /// Stops after the call in flight and waits for the task.
    ///
    /// # Panics
    /// When the task panicked.
    pub async fn stop(self) -> Ledger {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("producer task");
        self.ledger
    }
}

async fn produce(
    name: String,
    config: ClientConfig,
    target: Target,
    ledger: Ledger,
    stop: Arc<AtomicBool>,
) {
    let connector = vireo_node::client::transport::NetConnector::new(&config).expect("connector");
    let mut client = Client::new_with(config, connector).expect("client");
    let (stream, topic) = (Id::Numeric(target.stream), Id::Numeric(target.topic));
    let mut index = 0_u64;
    while !stop.load(Ordering::SeqCst) {
        let payload = format!("{name}-{index}");
        index += 1;
        let message = OutgoingMessage {
            id: 0,
            origin_timestamp: 0,
            payload: payload.as_bytes(),
            user_headers: &[],
        };
        let started = Instant::now();
        let entry = ledger.begin(payload.clone(), started);
        let result = tokio::time::timeout(
            SEND_TIMEOUT + Duration::from_secs(2),
            client.send_messages(
                &stream,
                &topic,
                Partitioning::PartitionId(PARTITION),
                std::slice::from_ref(&message),
            ),
        )
        .await;
        let outcome = match result {
            Ok(Ok(confirmations)) => {
                Outcome::Acked { offset: confirmations.first().map(|c| c.base_offset) }
            }
            Ok(Err(error)) if error.is_definitive() => Outcome::Refused(error.to_string()),
            Ok(Err(error)) => Outcome::Ambiguous(error.to_string()),
            Err(_) => {
                // The client's own bounds failed; a fresh client starts clean.
                client.disconnect();
                Outcome::Ambiguous("the call outlived its bound".to_owned())
            }
        };
        let failed = !matches!(outcome, Outcome::Acked { .. });
        ledger.finish(entry, outcome);
        tokio::time::sleep(if failed { FAILURE_PAUSE } else { SEND_PAUSE }).await;
    }
}

/// Reads partition [`PARTITION`] from node `address` only (no leader following), from
/// offset 0 to its end: (offset, payload) pairs.
///
/// # Errors
/// The client's error when the node does not serve the read.
pub async fn read_all(address: String, target: Target) -> Result<Vec<(u64, String)>, ClientError> {
    let mut client = Client::connect(client_config(vec![address], false)).await?;
    let (stream, topic) = (Id::Numeric(target.stream), Id::Numeric(target.topic));
    let mut out = Vec::new();
    loop {
        let next = out.len() as u64;
        let polled = client
            .poll_messages(
                &ConsumerId::single(Id::Numeric(1)),
                &stream,
                &topic,
                Some(PARTITION),
                PollingStrategy { kind: PollingKind::Offset, value: next },
                POLL_COUNT,
                false,
            )
            .await?;
        if polled.messages.is_empty() {
            return Ok(out);
        }
        for message in polled.messages {
            out.push((message.offset, String::from_utf8_lossy(&message.payload).into_owned()));
        }
    }
}

/// Checks one node's history against the ledger (see the module doc). Returns the
/// problems found, empty when the history is right.
#[must_use]
pub fn problems(history: &[(u64, String)], attempts: &[Attempt]) -> Vec<String> {
    let mut problems = Vec::new();
    let by_payload: HashMap<&str, &Attempt> =
        attempts.iter().map(|a| (a.payload.as_str(), a)).collect();
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    for (position, (offset, payload)) in history.iter().enumerate() {
        if *offset != position as u64 {
            problems.push(format!("offset {offset} at position {position}: not dense"));
        }
        if let Some(first) = seen.insert(payload, *offset) {
            problems.push(format!("{payload:?} appears twice (offsets {first} and {offset})"));
        }
        match by_payload.get(payload.as_str()).map(|a| &a.outcome) {
            None => problems.push(format!("{payload:?} at {offset} was never sent")),
            Some(Outcome::Refused(why)) => {
                problems.push(format!("{payload:?} at {offset} was refused ({why}) yet stored"));
            }
            Some(Outcome::Acked { offset: Some(acked) }) if acked != offset => {
                problems.push(format!(
                    "{payload:?} acknowledged at offset {acked} but stored at {offset}"
                ));
            }
            Some(_) => {}
        }
    }
    for attempt in attempts {
        if let Outcome::Acked { offset } = attempt.outcome
            && !seen.contains_key(attempt.payload.as_str())
        {
            problems.push(format!("{:?} acknowledged ({offset:?}) is missing", attempt.payload));
        }
    }
    problems
}

/// Verifies every node in `nodes` serves the same, correct history, re-reading (up to
/// [`CONVERGE_TIMEOUT`]) while a node still catches up. Returns the history.
///
/// # Panics
/// With every problem found when the histories are still wrong at the deadline.
pub async fn verify(
    cluster: &Cluster,
    nodes: &[usize],
    target: Target,
    attempts: &[Attempt],
) -> Vec<(u64, String)> {
    let deadline = Instant::now() + CONVERGE_TIMEOUT;
    loop {
        let mut histories: Vec<Vec<(u64, String)>> = Vec::new();
        let mut found: Vec<String> = Vec::new();
        for &index in nodes {
            let address = cluster.node(index).ports.tcp_address();
            match read_all(address, target).await {
                Ok(history) => {
                    found.extend(
                        problems(&history, attempts)
                            .into_iter()
                            .map(|problem| format!("node {index}: {problem}")),
                    );
                    histories.push(history);
                }
                Err(error) => found.push(format!("node {index}: read failed: {error}")),
            }
        }
        // Each history passed the checks; they must also agree entry by entry (a node
        // still applying an ambiguous tail is re-read until it does).
        for (position, history) in histories.iter().enumerate().skip(1) {
            if history != &histories[0] {
                found.push(format!(
                    "node {} ({} entries) and node {} ({} entries) serve different histories",
                    nodes[position],
                    history.len(),
                    nodes[0],
                    histories[0].len()
                ));
            }
        }
        if found.is_empty() {
            let acked = attempts.iter().filter(|a| matches!(a.outcome, Outcome::Acked { .. }));
            let ambiguous =
                attempts.iter().filter(|a| matches!(a.outcome, Outcome::Ambiguous(_))).count();
            eprintln!(
                "verified nodes {nodes:?}: {} entries, {} acknowledged, {ambiguous} ambiguous, \
                 {} attempts",
                histories[0].len(),
                acked.count(),
                attempts.len()
            );
            return histories.swap_remove(0);
        }
        if Instant::now() >= deadline {
            found.truncate(40);
            // The node logs are printed when the cluster drops during the panic.
            panic!("wrong histories after {CONVERGE_TIMEOUT:?}: {found:#?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Percentile `p` (0..=100) of `samples` (nearest rank).
#[must_use]
pub fn percentile(samples: &[Duration], p: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}
