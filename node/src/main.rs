//! `vireo`: the Vireo server, its admin CLI and its benchmark.
//!
//! Owns everything that touches the real world: monoio shards pinned per core, io_uring
//! disk, QUIC (quinn + rustls) and TCP listeners, the replica bus, config, logs and
//! metrics. It drives `vireo-consensus` replicas and executes their actions.

fn main() {
    eprintln!("vireo: not built yet");
    std::process::exit(2);
}
