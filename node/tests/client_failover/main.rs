//! Goal: the client's failover logic (node/src/client/call.rs, connect.rs) under
//! turmoil — two or three simulated hosts running a fake Iggy server ([`fake`]),
//! leader changes, 57 replays, partitions, crashes and restarts. Each test checks
//! that the client moves to the right node, that every success it reports was applied
//! by the cluster, that every definitive failure was not, and that each call ends
//! within its bounds.

mod fake;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake::{Cluster, PORT};
use vireo_node::client::transport::{Connector, StreamConnection};
use vireo_node::client::{
    AmbiguousWrites, Client, ClientConfig, ClientError, Id, OutgoingMessage, Partitioning,
    TransportError,
};

/// Dials turmoil's simulated TCP and counts dials.
#[derive(Debug, Clone, Default)]
struct SimConnector {
    dials: Arc<AtomicU32>,
}

impl Connector for SimConnector {
    type Connection = StreamConnection<turmoil::net::TcpStream>;

    async fn connect(&self, address: &str) -> Result<Self::Connection, TransportError> {
        self.dials.fetch_add(1, Ordering::Relaxed);
        let (host, port) = address.rsplit_once(':').expect("host:port");
        let port: u16 = port.parse().expect("port");
        let stream = turmoil::net::TcpStream::connect((host, port))
            .await
            .map_err(|error| TransportError::connect(address, error))?;
        Ok(StreamConnection::new(stream, address, 1 << 20))
    }
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn config(hosts: &[&str]) -> ClientConfig {
    ClientConfig {
        addresses: hosts.iter().map(|host| format!("{host}:{PORT}")).collect(),
        connect_timeout: Duration::from_secs(1),
        reply_timeout: Duration::from_secs(2),
        request_timeout: REQUEST_TIMEOUT,
        reconnects_max: 4,
        connect_rounds_max: 2,
        // Seeded like the simulation: runs stay reproducible.
        backoff_jitter_seed: Some(7),
        ..ClientConfig::default()
    }
}

fn simulation(cluster: &Cluster, hosts: &[&str]) -> turmoil::Sim<'static> {
    seeded_simulation(cluster, hosts, 7)
}

/// Seeds vary message latencies (turmoil's default 0–100 ms per message).
fn seeded_simulation(cluster: &Cluster, hosts: &[&str], seed: u64) -> turmoil::Sim<'static> {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(600))
        .rng_seed(seed)
        .build();
    for host in hosts {
        let cluster = cluster.clone();
        let name = (*host).to_owned();
        sim.host(*host, move || cluster.clone().serve(name.clone()));
    }
    sim
}

/// One numbered send: its id, what the client returned, how long the call took.
type Outcome = (u128, Result<(), ClientError>, Duration);

/// What the client saw for each numbered send.
#[derive(Debug, Clone, Default)]
struct Results(Arc<Mutex<Vec<Outcome>>>);

impl Results {
    fn all(&self) -> Vec<Outcome> {
        self.0.lock().expect("results").clone()
    }

    fn acked(&self) -> Vec<u128> {
        self.all().into_iter().filter(|(_, result, _)| result.is_ok()).map(|(id, ..)| id).collect()
    }
}

/// Sends one message whose id is `id` and records the outcome.
async fn send(client: &mut Client<SimConnector>, results: &Results, id: u128) {
    let started = tokio::time::Instant::now();
    let message = OutgoingMessage { id, origin_timestamp: 1, payload: b"m", user_headers: &[] };
    let result = client
        .send_messages(&Id::Numeric(0), &Id::Numeric(0), Partitioning::PartitionId(0), &[message])
        .await
        .map(drop);
    results.0.lock().expect("results").push((id, result, started.elapsed()));
}

/// The properties every scenario must keep.
fn check_invariants(cluster: &Cluster, results: &Results) {
    assert_eq!(cluster.violations(), Vec::<String>::new(), "protocol violations");
    let applied: Vec<u128> = cluster.applied().iter().map(|a| a.first_message_id).collect();
    for (id, result, elapsed) in results.all() {
        match &result {
            Ok(()) => assert!(applied.contains(&id), "send {id} acknowledged but never applied"),
            Err(error) if error.is_definitive() => {
                assert!(!applied.contains(&id), "send {id} failed with {error} but was applied");
            }
            Err(_) => {}
        }
        // Slack: one reply timeout, one connect and one backoff may begin just before
        // the deadline and each is cut at it; allow a tick of rounding.
        assert!(
            elapsed <= REQUEST_TIMEOUT + Duration::from_millis(50),
            "send {id} took {elapsed:?}"
        );
    }
}

#[test]
fn follows_a_leader_change_announced_by_58() -> turmoil::Result {
    let hosts = ["n1", "n2", "n3"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let (script, outcomes) = (cluster.clone(), results.clone());
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        assert_eq!(client.current_address(), Some("n1:8090"));
        for id in 1..=40 {
            if id == 21 {
                script.set_leader(Some("n2"));
            }
            send(&mut client, &outcomes, id).await;
        }
        assert_eq!(client.current_address(), Some("n2:8090"));
        let stats = client.stats();
        assert_eq!(stats.not_accepted_retries, 1, "{stats:?}");
        assert_eq!(stats.leader_redirects, 1, "{stats:?}");
        assert_eq!(client.known_addresses().len(), 3);
        Ok(())
    });
    sim.run()?;
    check_invariants(&cluster, &results);
    assert_eq!(results.acked(), (1..=40).collect::<Vec<u128>>());
    let applied = cluster.applied();
    assert_eq!(applied.len(), 40, "each send applied exactly once");
    assert!(applied.iter().all(|a| (a.host == "n1") == (a.first_message_id <= 20)));
    Ok(())
}

#[test]
fn replays_57_on_the_same_session_and_request_number() -> turmoil::Result {
    let hosts = ["n1", "n2"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let (script, outcomes) = (cluster.clone(), results.clone());
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        send(&mut client, &outcomes, 1).await;
        script.answer_not_committed(3);
        send(&mut client, &outcomes, 2).await;
        assert_eq!(client.stats().not_committed_replays, 3);
        assert_eq!(client.stats().reconnects, 0);
        Ok(())
    });
    sim.run()?;
    check_invariants(&cluster, &results);
    assert_eq!(results.acked(), vec![1, 2]);
    let sends: Vec<_> = cluster.seen().into_iter().filter(|seen| seen.code == 101).collect();
    assert_eq!(sends.len(), 5, "one send, then one answered 57 three times and replayed");
    assert!(sends[1..].iter().all(|seen| seen.ids == sends[1].ids), "{sends:?}");
    assert_ne!(sends[0].ids.2, sends[1].ids.2, "a new send takes a new request number");
    assert_eq!(cluster.applied().len(), 2);
    Ok(())
}

#[test]
fn a_crashed_leader_is_replaced_and_only_the_call_in_flight_is_unsure() -> turmoil::Result {
    for seed in 1..=12 {
        crash_the_leader(seed)?;
    }
    Ok(())
}

fn crash_the_leader(seed: u64) -> turmoil::Result {
    let hosts = ["n1", "n2", "n3"];
    let cluster = Cluster::new(&hosts);
    let mut sim = seeded_simulation(&cluster, &hosts, seed);
    let results = Results::default();
    let outcomes = results.clone();
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        for id in 1..=60 {
            send(&mut client, &outcomes, id).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(client.current_address(), Some("n2:8090"));
        Ok(())
    });
    let mut crashed = false;
    while !sim.step()? {
        if !crashed && sim.elapsed() >= Duration::from_secs(2) {
            sim.crash("n1");
            cluster.set_leader(Some("n2"));
            crashed = true;
        }
    }
    assert!(crashed, "the workload outlived the crash");
    check_invariants(&cluster, &results);
    let failed: Vec<_> =
        results.all().into_iter().filter(|(_, result, _)| result.is_err()).collect();
    assert!(failed.len() <= 1, "seed {seed}: only the send in flight may fail: {failed:?}");
    for (_, error, _) in &failed {
        assert!(matches!(error, Err(ClientError::OutcomeUnknown(_))), "{error:?}");
    }
    assert!(results.acked().len() >= 59);
    assert!(cluster.applied().iter().any(|a| a.host == "n1"));
    assert!(cluster.applied().iter().any(|a| a.host == "n2"));
    Ok(())
}

#[test]
fn a_partition_from_the_leader_moves_the_client_and_reads_retry_transparently() -> turmoil::Result {
    let hosts = ["n1", "n2", "n3"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let (script, outcomes) = (cluster.clone(), results.clone());
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        send(&mut client, &outcomes, 1).await;
        // The cluster moves on without n1, and n1 is cut off from the client.
        turmoil::partition("client", "n1");
        script.set_leader(Some("n2"));
        let started = tokio::time::Instant::now();
        client.ping().await?;
        assert!(started.elapsed() <= Duration::from_secs(4), "ping took {:?}", started.elapsed());
        assert_eq!(client.current_address(), Some("n2:8090"));
        for id in 2..=10 {
            send(&mut client, &outcomes, id).await;
        }
        turmoil::repair("client", "n1");
        assert!(client.stats().reconnects >= 1);
        Ok(())
    });
    sim.run()?;
    check_invariants(&cluster, &results);
    assert_eq!(results.acked(), (1..=10).collect::<Vec<u128>>());
    Ok(())
}

#[test]
fn a_write_whose_reply_was_lost_is_reported_unless_at_least_once_is_asked_for() -> turmoil::Result {
    let hosts = ["n1", "n2"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let (script, outcomes) = (cluster.clone(), results.clone());
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        script.drop_replies_after_apply(1);
        send(&mut client, &outcomes, 1).await;
        let mut resend = config(&hosts);
        resend.ambiguous_writes = AmbiguousWrites::Resend;
        let mut at_least_once = Client::connect_with(resend, SimConnector::default()).await?;
        script.drop_replies_after_apply(1);
        send(&mut at_least_once, &outcomes, 2).await;
        // The first client reconnects on its next call.
        send(&mut client, &outcomes, 3).await;
        Ok(())
    });
    sim.run()?;
    check_invariants(&cluster, &results);
    let all = results.all();
    assert!(matches!(all[0].1, Err(ClientError::OutcomeUnknown(_))), "{:?}", all[0]);
    assert!(all[1].1.is_ok() && all[2].1.is_ok(), "{all:?}");
    let copies = |id| cluster.applied().iter().filter(|a| a.first_message_id == id).count();
    assert_eq!(copies(1), 1, "reported as unknown, applied once");
    assert_eq!(copies(2), 2, "at least once: the resend applied it again");
    Ok(())
}

#[test]
fn a_lost_session_logs_in_again_and_resends() -> turmoil::Result {
    let hosts = ["n1"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let (script, outcomes) = (cluster.clone(), results.clone());
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        send(&mut client, &outcomes, 1).await;
        script.forget_sessions();
        send(&mut client, &outcomes, 2).await;
        assert_eq!(client.stats().reconnects, 1);
        Ok(())
    });
    sim.run()?;
    check_invariants(&cluster, &results);
    assert_eq!(results.acked(), vec![1, 2]);
    Ok(())
}

#[test]
fn a_single_node_restart_is_survived() -> turmoil::Result {
    let hosts = ["n1"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let outcomes = results.clone();
    let pings = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&pings);
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        for id in 1..=40 {
            client.ping().await?;
            counted.fetch_add(1, Ordering::Relaxed);
            send(&mut client, &outcomes, id).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(client.stats().reconnects >= 1);
        Ok(())
    });
    let mut bounced = false;
    while !sim.step()? {
        if !bounced && sim.elapsed() >= Duration::from_secs(1) {
            sim.bounce("n1");
            bounced = true;
        }
    }
    check_invariants(&cluster, &results);
    assert_eq!(pings.load(Ordering::Relaxed), 40, "every ping succeeded");
    assert!(results.acked().len() >= 39);
    Ok(())
}

#[test]
fn with_no_leader_a_write_gives_up_at_its_deadline_unapplied() -> turmoil::Result {
    let hosts = ["n1", "n2"];
    let cluster = Cluster::new(&hosts);
    cluster.set_leader(None);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let outcomes = results.clone();
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        send(&mut client, &outcomes, 1).await;
        let stats = client.stats();
        // 58 every 50 ms for 10 s, each followed by a roster read.
        assert!(stats.not_accepted_retries >= 20, "{stats:?}");
        assert!(stats.exchanges <= 10_000 / 50 + 1, "{stats:?}");
        Ok(())
    });
    sim.run()?;
    check_invariants(&cluster, &results);
    let all = results.all();
    assert!(matches!(&all[0].1, Err(ClientError::RetriesExhausted { .. })), "{:?}", all[0].1);
    assert!(all[0].2 >= REQUEST_TIMEOUT - Duration::from_millis(400), "{:?}", all[0].2);
    assert!(cluster.applied().is_empty());
    Ok(())
}

#[test]
fn with_every_node_down_connecting_fails_within_its_bounds() -> turmoil::Result {
    let hosts = ["n1", "n2", "n3"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let connector = SimConnector::default();
    let dials = Arc::clone(&connector.dials);
    type Ping = (Result<Duration, ClientError>, Duration);
    let outcome: Arc<Mutex<Option<Ping>>> = Arc::default();
    let seen = Arc::clone(&outcome);
    sim.client("client", async move {
        let mut client = Client::new_with(config(&hosts), connector)?;
        tokio::time::sleep(Duration::from_millis(10)).await;
        let started = tokio::time::Instant::now();
        let result = client.ping().await;
        *seen.lock().expect("outcome") = Some((result, started.elapsed()));
        Ok(())
    });
    for host in hosts {
        sim.crash(host);
    }
    sim.run()?;
    let (result, elapsed) = outcome.lock().expect("outcome").take().expect("client finished");
    assert!(matches!(result, Err(ClientError::Unreachable { .. })), "{result:?}");
    assert!(elapsed <= REQUEST_TIMEOUT, "{elapsed:?}");
    // One connect: at most `connect_rounds_max` passes over three nodes.
    assert_eq!(dials.load(Ordering::Relaxed), 2 * 3);
    Ok(())
}

#[test]
fn groups_joined_before_a_crash_are_joined_again_before_the_next_request() -> turmoil::Result {
    let hosts = ["n1", "n2", "n3"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let outcomes = results.clone();
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        let ids = (Id::Numeric(0), Id::Numeric(0));
        client.join_consumer_group(&ids.0, &ids.1, &Id::Numeric(7)).await?;
        client.join_consumer_group(&ids.0, &ids.1, &Id::Numeric(8)).await?;
        client.leave_consumer_group(&ids.0, &ids.1, &Id::Numeric(8)).await.ok();
        assert_eq!(client.joined_groups(), 1, "a left group is not re-joined");
        for id in 1..=40 {
            send(&mut client, &outcomes, id).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(client.current_address(), Some("n2:8090"));
        assert_eq!(client.stats().groups_rejoined, 1, "{:?}", client.stats());
        Ok(())
    });
    let mut crashed = false;
    while !sim.step()? {
        if !crashed && sim.elapsed() >= Duration::from_secs(1) {
            sim.crash("n1");
            cluster.set_leader(Some("n2"));
            crashed = true;
        }
    }
    assert!(crashed);
    check_invariants(&cluster, &results);
    let members = cluster.members();
    assert_eq!(members.len(), 3, "two joins on n1 (one left), one re-join on n2: {members:?}");
    let (host, client, session) = members[2].clone();
    assert_eq!(host, "n2");
    // The re-join came on the session the resent sends then used, before any of them.
    let seen = cluster.seen();
    let on_new: Vec<_> = seen
        .iter()
        .filter(|s| s.host == "n2" && s.ids.0 == client && s.ids.1 == session)
        .map(|s| s.code)
        .collect();
    // Reading the roster (12) comes with the connect; the re-join precedes every resend.
    let requests: Vec<u32> = on_new.iter().copied().filter(|&code| code != 12).collect();
    assert_eq!(requests.first(), Some(&604), "the re-join is the first request: {on_new:?}");
    assert!(requests.len() > 1 && requests[1..].iter().all(|&code| code == 101), "{on_new:?}");
    Ok(())
}

#[test]
fn a_deleted_group_is_forgotten_on_reconnect_and_calls_go_on() -> turmoil::Result {
    let hosts = ["n1", "n2"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let (script, outcomes) = (cluster.clone(), results.clone());
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        client.join_consumer_group(&Id::Numeric(0), &Id::Numeric(0), &Id::Numeric(7)).await?;
        script.delete_groups();
        script.forget_sessions();
        send(&mut client, &outcomes, 1).await;
        assert_eq!(client.joined_groups(), 0);
        assert_eq!(client.stats().groups_rejoined, 0);
        Ok(())
    });
    sim.run()?;
    check_invariants(&cluster, &results);
    assert_eq!(results.acked(), vec![1]);
    Ok(())
}

#[test]
fn a_node_that_died_while_the_connection_was_idle_gets_no_ambiguous_write() -> turmoil::Result {
    let hosts = ["n1", "n2"];
    let cluster = Cluster::new(&hosts);
    let mut sim = simulation(&cluster, &hosts);
    let results = Results::default();
    let outcomes = results.clone();
    sim.client("client", async move {
        let mut client = Client::connect_with(config(&hosts), SimConnector::default()).await?;
        send(&mut client, &outcomes, 1).await;
        // n1 crashes while nothing is in flight.
        tokio::time::sleep(Duration::from_secs(2)).await;
        send(&mut client, &outcomes, 2).await;
        assert_eq!(client.current_address(), Some("n2:8090"));
        assert_eq!(client.stats().reconnects, 1, "{:?}", client.stats());
        Ok(())
    });
    let mut crashed = false;
    while !sim.step()? {
        if !crashed && sim.elapsed() >= Duration::from_secs(1) {
            sim.crash("n1");
            cluster.set_leader(Some("n2"));
            crashed = true;
        }
    }
    check_invariants(&cluster, &results);
    // Under the default at-most-once policy the resend was still allowed: the dead
    // connection proved the request never left.
    assert_eq!(results.acked(), vec![1, 2], "{:?}", results.all());
    let sends: Vec<_> = cluster.seen().into_iter().filter(|seen| seen.code == 101).collect();
    assert_eq!(sends.iter().filter(|seen| seen.host == "n1").count(), 1);
    Ok(())
}
