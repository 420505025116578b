//! Goal: a restart brings everything back — streams, topics, partitions, messages,
//! users, consumer groups and stored offsets — after a graceful SIGTERM and after a
//! SIGKILL crash, across checkpoints (small journals make the groups checkpoint and
//! replay), and the node keeps serving writes that land after the old ones.

mod support;

use iggy::prelude::*;
use support::{TEST_LIMIT, Transport, bounded, connect, id, messages, payloads, root};
use vireo_tests::Node;

/// Writes a known state; returns (stream, topic, group) ids.
async fn populate(client: &IggyClient, batches: usize) -> (u32, u32, u32) {
    let stream = client.create_stream("durable").await.unwrap().id;
    let options = TopicCreateOptions { partitions_count: Some(2), ..Default::default() };
    let topic = client.create_topic(&id(stream), "events", &options).await.unwrap().id;
    for i in 0..batches {
        let mut batch = messages(&format!("e{i}"), 3);
        let partitioning = Partitioning::partition_id(u32::try_from(i % 2).unwrap());
        client.send_messages(&id(stream), &id(topic), &partitioning, &mut batch).await.unwrap();
    }
    client.create_user("keeper", "keeper-pass", UserStatus::Active, None).await.unwrap();
    let group = client.create_consumer_group(&id(stream), &id(topic), "cg").await.unwrap().id;
    client
        .store_consumer_offset(&Consumer::new(id(3)), &id(stream), &id(topic), Some(1), 4)
        .await
        .unwrap();
    (stream, topic, group)
}

/// Checks the state `populate` wrote (plus `extra` batches on partition 0).
async fn verify(client: &IggyClient, (stream, topic, group): (u32, u32, u32), batches: usize) {
    let details = client.get_topic(&id(stream), &id(topic)).await.unwrap().expect("topic back");
    assert_eq!(details.partitions_count, 2);
    assert_eq!(details.messages_count, 3 * batches as u64);
    let polled = client
        .poll_messages(
            &id(stream),
            &id(topic),
            Some(0),
            &Consumer::new(id(1)),
            &PollingStrategy::first(),
            1000,
            false,
        )
        .await
        .unwrap();
    let expected: Vec<String> = (0..batches)
        .filter(|i| i % 2 == 0)
        .flat_map(|i| (0..3).map(move |j| format!("e{i}-{j}")))
        .collect();
    assert_eq!(payloads(&polled), expected);
    for (index, message) in polled.messages.iter().enumerate() {
        assert_eq!(message.header.offset, index as u64, "dense offsets");
    }
    assert!(client.get_user(&Identifier::named("keeper").unwrap()).await.unwrap().is_some());
    assert!(
        client.get_consumer_group(&id(stream), &id(topic), &id(group)).await.unwrap().is_some()
    );
    let offset = client
        .get_consumer_offset(&Consumer::new(id(3)), &id(stream), &id(topic), Some(1))
        .await
        .unwrap()
        .expect("offset back");
    assert_eq!(offset.stored_offset, 4);
}

fn restart_keeps_everything(graceful: bool) {
    // Tiny journals: 32-op checkpoints, so the state comes back from a snapshot plus a
    // replayed journal suffix.
    let mut node = Node::start(
        if graceful { "restart-clean" } else { "restart-crash" },
        &["consensus.partition_journal_slots=64", "consensus.metadata_journal_slots=64"],
    );
    let batches = 90;
    let ids = {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let client = root(&node, Transport::Tcp).await;
            let ids = populate(&client, batches).await;
            verify(&client, ids, batches).await;
            ids
        })
    };
    let (status, metrics) = node.http_get("/metrics");
    assert_eq!(status, 200);
    let checkpointed = metrics
        .lines()
        .filter(|line| line.starts_with("vireo_group_checkpoint_op{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .any(|op| op > 0);
    assert!(checkpointed, "some group checkpointed before the restart:\n{metrics}");
    if graceful {
        assert_eq!(node.stop(), Some(0), "SIGTERM exits cleanly");
        assert!(node.data_dir.join("clean-shutdown").exists());
    } else {
        node.kill();
    }
    node.restart();
    bounded(TEST_LIMIT, async {
        for transport in [Transport::Tcp, Transport::Quic] {
            let client = root(&node, transport).await;
            verify(&client, ids, batches).await;
        }
        // New writes continue the offsets.
        let client = root(&node, Transport::Tcp).await;
        let mut batch = messages("after", 1);
        let (stream, topic, _) = ids;
        client
            .send_messages(&id(stream), &id(topic), &Partitioning::partition_id(0), &mut batch)
            .await
            .unwrap();
        let polled = client
            .poll_messages(
                &id(stream),
                &id(topic),
                Some(0),
                &Consumer::new(id(1)),
                &PollingStrategy::last(),
                1,
                false,
            )
            .await
            .unwrap();
        assert_eq!(polled.messages[0].header.offset, 3 * (batches as u64).div_ceil(2));
        let keeper = connect(&node, Transport::Tcp).await;
        keeper.login_user("keeper", "keeper-pass").await.expect("the user's password survived");
    });
}

#[test]
fn restart_after_sigterm_keeps_everything() {
    restart_keeps_everything(true);
}

#[test]
fn restart_after_sigkill_keeps_everything() {
    restart_keeps_everything(false);
}

/// A reboot (another kernel boot id) without a clean shutdown: with `replicated`
/// durability a single node cannot prove which acknowledged writes survived, so it
/// stalls and says so on /ready; `--force-recover` opens it, accepting that loss.
#[test]
fn a_reboot_without_a_clean_shutdown_stalls_until_forced() {
    let mut node = Node::start("power-loss", &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stream = runtime.block_on(async {
        let client = root(&node, Transport::Tcp).await;
        let stream = client.create_stream("before-the-crash").await.unwrap().id;
        let options = TopicCreateOptions { partitions_count: Some(1), ..Default::default() };
        client.create_topic(&id(stream), "t", &options).await.unwrap();
        let mut batch = messages("kept", 2);
        client
            .send_messages(&id(stream), &id(0), &Partitioning::partition_id(0), &mut batch)
            .await
            .unwrap();
        stream
    });
    node.kill();
    std::fs::write(node.data_dir.join("boot_id"), "a-boot-before-the-power-loss\n").unwrap();
    node.restart();
    let (status, body) = node.http_get("/ready");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("recovering_head"), "the stall is reported: {body}");
    assert_eq!(node.stop(), Some(0));

    node.settings.push("node.force_recover=true".into());
    node.restart();
    let (status, body) = node.http_get("/ready");
    assert_eq!(status, 200, "{body}");
    runtime.block_on(async {
        let client = root(&node, Transport::Tcp).await;
        let polled = client
            .poll_messages(
                &id(stream),
                &id(0),
                Some(0),
                &Consumer::new(id(1)),
                &PollingStrategy::first(),
                10,
                false,
            )
            .await
            .unwrap();
        assert_eq!(payloads(&polled), ["kept-0", "kept-1"], "completed writes survived the kill");
    });
}

/// Produces until the node goes away; returns how many messages were acknowledged.
async fn produce_until_gone(client: IggyClient, stream: u32) -> u64 {
    let mut acknowledged = 0u64;
    for index in 0.. {
        let mut batch = messages(&format!("load{index}"), 50);
        let sent = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client.send_messages(&id(stream), &id(0), &Partitioning::partition_id(0), &mut batch),
        )
        .await;
        match sent {
            Ok(Ok(_)) => acknowledged += 50,
            _ => break,
        }
    }
    acknowledged
}

/// Every acknowledged produce survives a SIGTERM or a SIGKILL in the middle of a
/// continuous stream of produces, with dense offsets and no duplicates.
fn acknowledged_survive(graceful: bool) {
    let mut node = Node::start(if graceful { "load-term" } else { "load-kill" }, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (stream, producer) = runtime.block_on(async {
        let client = root(&node, Transport::Tcp).await;
        let stream = client.create_stream("load").await.unwrap().id;
        let options = TopicCreateOptions { partitions_count: Some(1), ..Default::default() };
        client.create_topic(&id(stream), "t", &options).await.unwrap();
        let producer = root(&node, Transport::Tcp).await;
        (stream, tokio::spawn(produce_until_gone(producer, stream)))
    });
    std::thread::sleep(std::time::Duration::from_millis(800));
    if graceful {
        assert_eq!(node.stop(), Some(0), "SIGTERM drains and exits 0");
    } else {
        node.kill();
    }
    let acknowledged = runtime.block_on(producer).unwrap();
    assert!(acknowledged > 0, "the producer got acknowledgements before the stop");
    node.restart();
    bounded(TEST_LIMIT, async {
        let client = root(&node, Transport::Tcp).await;
        let mut offset = 0u64;
        let mut seen = std::collections::BTreeSet::new();
        loop {
            let polled = client
                .poll_messages(
                    &id(stream),
                    &id(0),
                    Some(0),
                    &Consumer::new(id(1)),
                    &PollingStrategy::offset(offset),
                    1000,
                    false,
                )
                .await
                .unwrap();
            if polled.messages.is_empty() {
                break;
            }
            for message in &polled.messages {
                assert_eq!(message.header.offset, offset, "dense offsets");
                assert!(seen.insert(message.payload.clone()), "no duplicates");
                offset += 1;
            }
        }
        assert!(offset >= acknowledged, "{acknowledged} acknowledged, {offset} stored");
    });
}

#[test]
fn acknowledged_produces_survive_sigterm_under_load() {
    acknowledged_survive(true);
}

#[test]
fn acknowledged_produces_survive_sigkill_under_load() {
    acknowledged_survive(false);
}
