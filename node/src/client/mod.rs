//! Our own Iggy 0.11 client (tokio): what `vireo bench` and the admin CLI use, and
//! what a Rust program can use against any Iggy-protocol server.
//!
//! ```text
//! Client<C: Connector>          typed commands (api.rs) → call() → retry rules (call.rs)
//!   └─ Link { Connection, SessionIds }   one lockstep connection + its login session
//!        └─ Connector / Connection        transport trait: TCP, TCP-TLS, QUIC, turmoil
//! ```
//!
//! * Wire format from `vireo-protocol` (`encode`/`decode` of request bodies and reply
//!   bodies, `decode_reply`, batches); nothing is re-implemented here.
//! * One request in flight per client; numbering as the SDK ([`session`]).
//! * Failover ([`call`], [`connect`]): any configured node to start, the leader after
//!   login (`get_cluster_metadata`), 57 → same-session replay, 58 → leader re-check,
//!   lost connection → next node; every loop bounded by [`ClientConfig`].
//! * The transport is a trait ([`transport::Connector`]) so the failover logic is
//!   tested under turmoil (`node/tests/client_failover/`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), vireo_node::client::ClientError> {
//! use vireo_node::client::{Client, ClientConfig, Id, TransportKind};
//! let config = ClientConfig::new(TransportKind::Quic, vec!["127.0.0.1:8080".into()]);
//! let mut client = Client::connect(config).await?;
//! let stream = client.create_stream("orders").await?;
//! client.create_topic(&Id::Numeric(stream.id), "events", 3, &[]).await?;
//! # Ok(()) }
//! ```

mod api;
mod call;
pub mod config;
mod connect;
pub mod endpoints;
pub mod error;
pub mod reply;
pub mod restore;
pub mod session;
pub mod transport;
mod types;

pub use api::{ConsumerId, PreparedSend, topic_options};
pub use call::{Client, ClientStats};
pub use config::{AmbiguousWrites, ClientConfig, Credentials, TlsSettings, TransportKind};
pub use connect::{PROTOCOL_VERSION, REDIRECTS_MAX, SDK_NAME, node_address};
pub use error::{
    ClientError, Delivery, ServerError, TimeoutBound, TransportError, TransportErrorKind,
};
pub use types::{
    GroupInfo, Id, NodeInfo, PartitionInfo, PollSummary, PolledMessage, PolledMessages, Stats,
    StreamInfo, TopicDetails, TopicInfo,
};
pub use vireo_protocol::iggy::batch::OutgoingMessage;
pub use vireo_protocol::iggy::primitives::{Partitioning, PollingKind, PollingStrategy};
