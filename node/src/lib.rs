//! The Vireo node: the `vireo` binary's server, as a library so that tests and later
//! subcommands (bench, admin CLI) share it.
//!
//! # Architecture
//!
//! **Consensus groups.** Group 0 is the metadata plane: streams, topics, partitions,
//! users, personal access tokens, consumer groups and their membership
//! ([`metadata::MetadataMachine`]). Groups `1..=G` are partition groups
//! ([`partition::PartitionMachine`]); `G` comes from the configuration and is fixed for the
//! life of the cluster. A partition belongs to group `1 + stable_hash(stream, topic,
//! partition) % G` ([`partition::partition_group`]). Every write — metadata or produce
//! or consumer offset — is a client request to a `vireo_consensus::Replica`, even on a
//! single node (a cluster of one): issue 7 adds the replica bus and a roster, not a new
//! write path.
//!
//! **Shards.** One monoio runtime (io_uring driver) per shard thread, pinned to a core;
//! group `g` lives on shard `g % shards`. A shard owns its groups' replicas, their journal
//! files (`<data_dir>/group-<g>.vsr`), their partition logs (`<data_dir>/partitions/…`)
//! and one io_uring instance shared by all of them ([`shard::disk`]). Nothing is shared
//! between shards but immutable `Arc`s and channels: a request for a group on another
//! shard travels through that shard's bounded inbox ([`shard::inbox`]) and its reply comes
//! back on a one-shot channel. The metadata shard publishes an immutable read view
//! (`Arc<MetadataState>`) to every shard after each round of applied metadata ops; shards
//! use it for routing, authentication and read-only commands without locks.
//!
//! **Driving consensus** ([`shard::group`]). A shard ticks its replicas every `tick_ms`,
//! executes their actions (journal I/O through `vireo_storage::journal::JournalStore`,
//! replies to waiting requests, snapshot writes after flushing the partition logs) and
//! feeds completions back with `on_io_done`, in the shape of the simulator's driver.
//!
//! **Clients of consensus** ([`shard::client`]). Each Iggy connection is one consensus
//! client with a node-generated id (not the SDK's `client` field, which any peer could
//! copy), registered lazily once per group it uses; it keeps `(session, request, parent)`
//! per group and has at most one request in flight. Shards use the same machinery for
//! their own proposals (retention, consumer-group cleanup).
//!
//! **Edges** ([`edge`], [`net`]). TCP on monoio in every shard (`SO_REUSEPORT`, optional
//! TLS); QUIC on one dedicated edge thread running quinn on tokio, which hands each
//! connection's frames to a shard over channels (see [`net::quic`] for why and the
//! numbers). Both feed the same per-connection [`edge::Session`], which parses Iggy frames
//! with `vireo-protocol`, checks the session and permissions against the read view,
//! turns writes into consensus requests and reads into view lookups or partition reads,
//! and answers every refusal with an Iggy status — never a dropped connection.
//!
//! **A cluster** ([`bus`], [`shard::replica_plane`]). Replica configs come from
//! [`config::Config::replica_config`]: index and count from the `[cluster]` roster (a
//! cluster of one without it). The replica bus — one thread, authenticated TCP to every
//! peer, bounded queues, reconnects — carries `Action::Send` to peers, and inbound
//! replica messages reach the owning shard as `ShardMessage::Replica`, then
//! `Replica::on_message`. A backup's replica forwards client requests to its primary;
//! the primary's node remembers which node each forwarded client came from, and its
//! `Action::Reply` travels back over the bus to the node holding the connection, whose
//! shard hands it to the waiting client exactly as a local reply (a metadata reply once
//! that node applied the op). The origin re-sends an unanswered request every
//! `RESEND_INTERVAL` (the client table answers a retry once). Every replica applies
//! committed ops, so polls are served locally from committed data (not while a group
//! fetches partition data after a state transfer); the metadata
//! primary is the leader `get_cluster_metadata` reports ([`shard::cluster_state`],
//! `GET /cluster`). SIGTERM on a primary hands its groups over first
//! ([`shard::handover`]).
//!
//! **Operations** ([`server`]). Configuration ([`config`]), start-up (data directory,
//! restart evidence from the boot id, certificates, the root user), HTTP `/ping`,
//! `/ready` and `/metrics` ([`net::http`], [`metrics`]), graceful SIGTERM.

pub mod bench;
pub mod bus;
pub mod cli;
pub mod client;
pub mod config;
pub mod edge;
pub mod exit;
pub mod metadata;
pub mod metrics;
pub mod net;
pub mod partition;
pub mod server;
pub mod shard;
pub mod time;
