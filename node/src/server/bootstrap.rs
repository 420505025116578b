//! Start-up chores that are replicated ops, run on the metadata shard before the edges
//! open: create the root user on first start, and remove consumer-group members left
//! over from this node's connections of a previous run (no connection survives a
//! restart, so every member this node issued is stale; rebalancing then gives their
//! partitions to the members that join again). Members are client ids, and a client id
//! names the node that issued it (`Router::client_node`), so in a cluster a restarting
//! node removes only its own members, never those of connections to other nodes.
//!
//! In a cluster every node runs the chores at first start: the first `CreateUser` to
//! commit wins and the others are refused as duplicates, which is success here.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use vireo_protocol::iggy::primitives::{GlobalPermissions, Permissions};
use vireo_protocol::metadata::{MetadataOp, UserStatus};

use crate::edge::auth::{blocking, hash_password};
use crate::metadata::{METADATA_OPERATION, MetadataCommand, reply};
use crate::shard::Shard;
use crate::shard::client::{ConsensusClient, random_bytes};

/// Every permission: what the root user holds.
#[must_use]
pub fn root_permissions() -> Permissions {
    Permissions {
        global: GlobalPermissions {
            manage_servers: true,
            read_servers: true,
            manage_users: true,
            read_users: true,
            manage_streams: true,
            read_streams: true,
            manage_topics: true,
            read_topics: true,
            poll_messages: true,
            send_messages: true,
        },
        streams: Vec::new(),
    }
}

/// A random password of 24 letters and digits.
#[must_use]
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let bytes: [u8; 24] = random_bytes();
    bytes.iter().map(|byte| ALPHABET[usize::from(*byte) % ALPHABET.len()] as char).collect()
}

/// Runs the chores; returns the generated root password, if one was generated.
pub async fn run(
    shard: &Rc<Shard>,
    root_password: Option<String>,
) -> Result<Option<String>, String> {
    let timeout = Duration::from_millis(shard.config.consensus.request_timeout_ms)
        .max(Duration::from_secs(30));
    let router = Arc::clone(&shard.router);
    let mut client = ConsensusClient::new(shard.config.consensus.cluster_id);
    // Registering waits until the metadata group replayed its journal and serves.
    client
        .register(&router, 0, timeout)
        .await
        .map_err(|error| format!("metadata group does not serve: {error}"))?;
    let view = shard.view();
    let mut generated = None;
    if view.users.is_empty() {
        let password = root_password.unwrap_or_else(|| {
            let password = generate_password();
            generated = Some(password.clone());
            password
        });
        let hash = blocking(move || hash_password(&password)).await;
        let op = MetadataOp::CreateUser {
            username: shard.config.root.username.clone(),
            password_hash: hash,
            status: UserStatus::Active,
            permissions: Some(root_permissions()),
        };
        match propose(&mut client, &router, op, timeout).await {
            Ok(()) => {
                tracing::info!(username = %shard.config.root.username, "created the root user");
            }
            // Another node of the cluster created it first: its password stands.
            Err(_) if !shard.view().users.is_empty() => generated = None,
            Err(error) => return Err(error),
        }
    }
    let view = shard.view();
    let mut stale = Vec::new();
    for stream in view.streams.values() {
        for topic in stream.topics.values() {
            for group in topic.groups.values() {
                let me = shard.router.replica();
                let mine = group
                    .members
                    .keys()
                    .filter(|&&member| crate::shard::router::Router::client_node(member) == me);
                for &member in mine {
                    stale.push(MetadataOp::LeaveConsumerGroup {
                        stream_id: stream.id,
                        topic_id: topic.id,
                        group_id: group.id,
                        member,
                    });
                }
            }
        }
    }
    if !stale.is_empty() {
        tracing::info!(members = stale.len(), "removing consumer-group members of a previous run");
    }
    for op in stale {
        propose(&mut client, &router, op, timeout).await?;
    }
    Ok(generated)
}

async fn propose(
    client: &mut ConsensusClient,
    router: &crate::shard::router::Router,
    op: MetadataOp,
    timeout: Duration,
) -> Result<(), String> {
    let body = MetadataCommand { op, options_set: 0 }.encode();
    let reply = client
        .call(router, 0, METADATA_OPERATION, &body, 0, None, timeout)
        .await
        .map_err(|error| format!("bootstrap op: {error}"))?;
    match reply::decode(reply.message.body()) {
        Some(Ok(_)) => Ok(()),
        Some(Err(code)) => Err(format!("bootstrap op refused with code {}", code.0)),
        None => Err("bootstrap op: malformed reply".into()),
    }
}
