//! Viewstamped Replication as a pure state machine.
//!
//! A `Replica` is fed inputs (`on_message`, `on_request`, `on_tick`, `on_io_done`) and
//! answers with an explicit outbox of actions (send, reply, write journal, write
//! superblock, sync, read). Nothing here awaits, reads a clock or touches a disk: time is
//! ticks, randomness comes from a seeded PRNG handed in, and storage is `vireo-storage`'s
//! journal and superblock logic driven through actions. The node's shard loop and the
//! simulator are two drivers of the same code.
//!
//! Must never depend on monoio, tokio, quinn, rustls, `std::net`, `std::fs`, `std::thread`,
//! the wall clock or thread-local randomness (CI checks with `cargo tree` and clippy's
//! `disallowed-methods`).
