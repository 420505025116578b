//! Goal: the session and system commands behave as the 0.11.0 SDK expects over TCP and
//! QUIC — ping before login, login by password and by personal access token, bad
//! credentials refused with the right error, logout, get_me / get_clients / get_stats,
//! and cluster metadata describing one healthy leader.

mod support;

use iggy::prelude::*;
use support::{TEST_LIMIT, TRANSPORTS, bounded, code, connect, root};
use vireo_tests::{Node, ROOT_PASSWORD};

#[test]
fn sessions_credentials_and_system_reads() {
    let node = Node::start("system", &[]);
    bounded(TEST_LIMIT, async {
        for transport in TRANSPORTS {
            let client = connect(&node, transport).await;
            client.ping().await.expect("ping needs no login");
            assert_eq!(code(client.get_streams().await), 40, "reads need a login ({transport:?})");

            let bad = connect(&node, transport).await;
            assert_eq!(code(bad.login_user("iggy", "wrong-password").await), 42);
            let unknown = connect(&node, transport).await;
            assert_eq!(code(unknown.login_user("nobody", "whatever").await), 42);

            let identity = client.login_user("iggy", ROOT_PASSWORD).await.expect("login");
            assert_eq!(identity.user_id, 0, "root is user 0");
            let me = client.get_me().await.expect("get_me");
            assert_eq!(me.user_id, Some(0));
            let clients = client.get_clients().await.expect("get_clients");
            assert!(clients.iter().any(|c| c.client_id == me.client_id));
            let one = client.get_client(me.client_id).await.expect("get_client").expect("found");
            assert_eq!(one.client_id, me.client_id);

            let stats = client.get_stats().await.expect("stats");
            assert!(stats.process_id > 0);
            assert!(stats.clients_count >= 1);

            let metadata = client.get_cluster_metadata().await.expect("cluster metadata");
            assert_eq!(metadata.nodes.len(), 1);
            let leader = &metadata.nodes[0];
            assert_eq!(leader.role, ClusterNodeRole::Leader);
            assert_eq!(leader.status, ClusterNodeStatus::Healthy);

            client.logout_user().await.expect("logout");
            assert_eq!(code(client.get_streams().await), 40, "logged out");
        }
    });
}

#[test]
fn personal_access_tokens_log_in_and_can_be_revoked() {
    let node = Node::start("tokens", &[]);
    bounded(TEST_LIMIT, async {
        for (index, transport) in TRANSPORTS.into_iter().enumerate() {
            let admin = root(&node, transport).await;
            let name = format!("token-{index}");
            let raw = admin
                .create_personal_access_token(&name, PersonalAccessTokenExpiry::NeverExpire)
                .await
                .expect("create token");
            assert_eq!(
                code(
                    admin
                        .create_personal_access_token(&name, PersonalAccessTokenExpiry::NeverExpire)
                        .await
                ),
                51,
                "duplicate token name"
            );
            let listed = admin.get_personal_access_tokens().await.expect("list");
            assert!(listed.iter().any(|token| token.name == name));

            let holder = connect(&node, transport).await;
            let identity =
                holder.login_with_personal_access_token(&raw.token).await.expect("pat login");
            assert_eq!(identity.user_id, 0);
            holder.get_streams().await.expect("a token session reads");

            let forger = connect(&node, transport).await;
            assert!(
                forger.login_with_personal_access_token("0".repeat(64).as_str()).await.is_err()
            );

            admin.delete_personal_access_token(&name).await.expect("delete token");
            let late = connect(&node, transport).await;
            assert!(late.login_with_personal_access_token(&raw.token).await.is_err(), "revoked");
        }
    });
}

/// More connections than consensus sessions per group: the least recently used
/// sessions are evicted by the replicas, and their connections re-register
/// transparently on their next write.
#[test]
fn more_connections_than_consensus_sessions() {
    let node = Node::start("sessions", &["consensus.clients_max=16"]);
    bounded(TEST_LIMIT, async {
        let mut clients = Vec::new();
        for index in 0..24 {
            let client = root(&node, support::Transport::Tcp).await;
            client.create_stream(&format!("s{index}")).await.expect("create");
            clients.push(client);
        }
        for (index, client) in clients.iter().enumerate() {
            client
                .update_stream(
                    &support::id(u32::try_from(index).unwrap()),
                    &format!("r{index}"),
                    &StreamUpdateOptions::default(),
                )
                .await
                .expect("an evicted session re-registers");
        }
        assert_eq!(clients[0].get_streams().await.unwrap().len(), 24);
    });
}
