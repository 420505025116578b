//! Helpers shared by the SDK end-to-end tests: SDK clients for a node over TCP or
//! QUIC, and a bound on every test's duration.

#![allow(dead_code)]

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use iggy::prelude::*;
use vireo_tests::{Node, ROOT_PASSWORD};

/// The transports a test runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// QUIC.
    Quic,
}

/// Both transports.
pub const TRANSPORTS: [Transport; 2] = [Transport::Tcp, Transport::Quic];

/// A connected, not logged-in SDK client.
pub async fn connect(node: &Node, transport: Transport) -> IggyClient {
    let client = match transport {
        Transport::Tcp => {
            IggyClient::builder().with_tcp().with_server_address(node.ports.tcp_address()).build()
        }
        Transport::Quic => {
            IggyClient::builder().with_quic().with_server_address(node.ports.quic_address()).build()
        }
    }
    .expect("build client");
    client.connect().await.expect("connect");
    client
}

/// A connected client logged in as root.
pub async fn root(node: &Node, transport: Transport) -> IggyClient {
    let client = connect(node, transport).await;
    client.login_user("iggy", ROOT_PASSWORD).await.expect("login as root");
    client
}

/// Runs `test` on a fresh multi-thread tokio runtime, failing it after `limit`.
pub fn bounded<F: Future<Output = ()>>(limit: Duration, test: F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        tokio::time::timeout(limit, test).await.expect("test exceeded its time bound");
    });
}

/// `count` text messages `"{prefix}-{i}"`.
pub fn messages(prefix: &str, count: usize) -> Vec<IggyMessage> {
    (0..count).map(|i| IggyMessage::from_str(&format!("{prefix}-{i}")).expect("message")).collect()
}

/// The payloads of polled messages, as text.
pub fn payloads(polled: &PolledMessages) -> Vec<String> {
    polled
        .messages
        .iter()
        .map(|message| String::from_utf8_lossy(&message.payload).into_owned())
        .collect()
}

/// The error an SDK call failed with, as its numeric code.
pub fn code<T: std::fmt::Debug>(result: Result<T, IggyError>) -> u32 {
    result.expect_err("the call should fail").as_code()
}

/// A numeric or named identifier.
pub fn id(value: u32) -> Identifier {
    Identifier::numeric(value).expect("numeric identifier")
}

/// A named identifier.
pub fn name(value: &str) -> Identifier {
    Identifier::named(value).expect("named identifier")
}

/// How long one test may run.
pub const TEST_LIMIT: Duration = Duration::from_secs(120);
