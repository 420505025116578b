//! Network edges: TCP (monoio, every shard), QUIC (one tokio edge thread feeding the
//! shards), HTTP operations endpoints, and TLS.

pub mod http;
pub mod quic;
pub mod tcp;
pub mod tls;
pub mod tls_stream;
