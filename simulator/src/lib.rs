//! Deterministic cluster simulator for Vireo (VOPR-style).
//!
//! One seed drives a whole cluster in one thread: the real `vireo-consensus` replicas over
//! the real `vireo-storage` journal, superblock and partition-log code on a simulated disk,
//! a simulated network with faults, and clients with a workload. It must never depend on
//! `vireo-node` or on a real runtime, network or clock.
