//! Deterministic cluster simulator for Vireo (VOPR-style).
//!
//! One seed drives a whole cluster in one thread: the real `vireo-consensus` replicas over
//! the real `vireo-storage` journal and superblock code on a simulated disk
//! ([`sim_storage`]), the real partition logs on a second, data disk per replica
//! ([`partition_logs`]), a simulated network ([`network`]), and clients with a workload
//! ([`client`]). Every knob is drawn from the seed ([`options`]). Checkers
//! ([`checker`]) assert safety after every tick; after the faulty phase the world heals
//! and must converge (liveness). Same seed, same run, byte for byte.
//!
//! It must never depend on `vireo-node` or on a real runtime, network or clock.

pub mod checker;
pub mod client;
pub mod cluster;
pub mod network;
pub mod node;
pub mod options;
pub mod partition_logs;
pub mod sim_storage;
pub mod state_machine;
pub mod summary;
