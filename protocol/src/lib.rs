//! Vireo's wire formats, and nothing else.
//!
//! Three parts live here:
//!
//! * [`vsr`] — the replica plane: the fixed 256-byte VSR message header used between
//!   replicas and stored verbatim in the journal, its blake3 checksums and hash chain,
//!   and the commands of the consensus protocol.
//! * [`iggy`] — the client plane: the Apache Iggy 0.11.0 wire format spoken by the
//!   official SDK and CLI.
//! * [`metadata`] — the bodies of metadata prepares: Iggy metadata requests after the
//!   node resolved them, archived with rkyv so replicas read them in place.
//!
//! This crate owns byte layouts and their total parsers. It must never depend on a runtime
//! (monoio, tokio), a network or TLS crate (quinn, rustls), `std::net`, `std::fs`,
//! `std::thread`, the wall clock or thread-local randomness: the consensus core and the
//! simulator build on it, and they must stay deterministic. Parsing never allocates per
//! message and never panics on hostile bytes; every way bytes can be wrong has a typed error.

#![forbid(unsafe_code)]

pub mod iggy;
mod le;
pub mod metadata;
pub mod vsr;
