//! Client settings: where to connect, how to log in, and every bound on retrying.

use std::path::PathBuf;
use std::time::Duration;

/// Which client transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// TCP, optionally with TLS.
    #[default]
    Tcp,
    /// QUIC (always TLS 1.3): one bidirectional stream per request.
    Quic,
}

impl TransportKind {
    /// The port Iggy serves this transport on by default.
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Self::Tcp => 8090,
            Self::Quic => 8080,
        }
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tcp => "tcp",
            Self::Quic => "quic",
        })
    }
}

/// TLS settings (QUIC always uses TLS; TCP only when [`ClientConfig::tcp_tls`] is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Server name presented in the handshake (SNI) and checked when verifying.
    pub server_name: String,
    /// Verify the server's certificate. Off by default, as in the official SDK: nodes
    /// start with self-signed certificates.
    pub verify: bool,
    /// PEM file of trusted CA certificates for verification (implies `verify`).
    pub ca_file: Option<PathBuf>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self { server_name: "localhost".to_owned(), verify: false, ca_file: None }
    }
}

/// How a client logs in.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Username and password (code 40).
    Password {
        /// Username.
        username: String,
        /// Password.
        password: String,
    },
    /// A personal access token (code 45).
    Token(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password { username, .. } => write!(f, "Password({username}, ***)"),
            Self::Token(_) => f.write_str("Token(***)"),
        }
    }
}

impl Default for Credentials {
    /// `iggy`/`iggy`, what Iggy's CLI and bench default to.
    fn default() -> Self {
        Self::Password { username: "iggy".to_owned(), password: "iggy".to_owned() }
    }
}

/// What to do with a write whose connection died after it may have been delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AmbiguousWrites {
    /// Report [`super::ClientError::OutcomeUnknown`] (at most once). The server dedups
    /// retries only within one session, and a new connection is a new session, so a
    /// resend could apply the write twice. This is what the official SDK does.
    #[default]
    Report,
    /// Resend on the next node (at least once; a write may then apply twice).
    Resend,
}

/// Every setting of a [`super::Client`]; each retry loop is bounded by one of these.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Node addresses (`host:port`), tried in order; the cluster roster learned after
    /// login is added to them.
    pub addresses: Vec<String>,
    /// TCP or QUIC.
    pub transport: TransportKind,
    /// TLS on TCP.
    pub tcp_tls: bool,
    /// TLS details.
    pub tls: TlsSettings,
    /// Login credentials.
    pub credentials: Credentials,
    /// After login, ask the cluster for its leader and move there (multi-node only).
    pub follow_leader: bool,
    /// Limit on one dial plus login.
    pub connect_timeout: Duration,
    /// Limit on waiting for one reply before the connection is declared dead.
    pub reply_timeout: Duration,
    /// Limit on one call, across every replay, reconnect and redirect.
    pub request_timeout: Duration,
    /// A retry is not started with less than this left before the call's deadline:
    /// an attempt cut by the deadline would turn a definitive refusal into an unknown
    /// outcome.
    pub attempt_time_min: Duration,
    /// Reconnects one call may make after losing its connection.
    pub reconnects_max: u32,
    /// Full passes over the node list one connect may make.
    pub connect_rounds_max: u32,
    /// Pause before replaying a request answered with status 57 or 58.
    pub transient_backoff: Duration,
    /// First pause between reconnects; doubles up to `backoff_max`.
    pub backoff_min: Duration,
    /// Longest pause between reconnects.
    pub backoff_max: Duration,
    /// Jitter on reconnect pauses: `Some(seed)` draws each pause uniformly from
    /// `[b/2, b]` (b = [`ClientConfig::backoff`]) with a generator seeded here, so
    /// clients that lost the same node do not all redial at once; `None` = exactly `b`.
    /// The default seed is random per config; tests fix it (or pass `None`) to stay
    /// deterministic.
    pub backoff_jitter_seed: Option<u64>,
    /// Largest reply accepted (a bigger `size` field is a framing error).
    pub reply_size_max: usize,
    /// A QUIC connection that hears nothing from its server for this long is closed
    /// (keep-alives go out at a quarter of it, and a live server acknowledges them even
    /// while a request waits for a view change). A crashed, paused or partitioned node
    /// is so detected before `reply_timeout`; TCP has no equivalent and relies on
    /// `reply_timeout` (or the kernel delivering the close). The server's own idle
    /// timeout caps it (QUIC uses the smaller of the two).
    pub quic_idle_timeout: Duration,
    /// Policy for writes whose delivery is unknown.
    pub ambiguous_writes: AmbiguousWrites,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            addresses: vec!["127.0.0.1:8090".to_owned()],
            transport: TransportKind::Tcp,
            tcp_tls: false,
            tls: TlsSettings::default(),
            credentials: Credentials::default(),
            follow_leader: true,
            connect_timeout: Duration::from_secs(5),
            reply_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(30),
            attempt_time_min: Duration::from_millis(250),
            reconnects_max: 8,
            connect_rounds_max: 3,
            transient_backoff: Duration::from_millis(50),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(1),
            backoff_jitter_seed: Some(random_seed()),
            reply_size_max: 64 * 1024 * 1024,
            quic_idle_timeout: Duration::from_secs(5),
            ambiguous_writes: AmbiguousWrites::Report,
        }
    }
}

impl ClientConfig {
    /// Defaults for `transport` talking to `addresses`.
    #[must_use]
    pub fn new(transport: TransportKind, addresses: Vec<String>) -> Self {
        Self { transport, addresses, ..Self::default() }
    }

    /// The pause before reconnect number `attempt` (1-based): exponential, capped.
    #[must_use]
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.backoff_min.saturating_mul(factor).min(self.backoff_max)
    }
}

/// A seed from the standard library's per-process random hasher keys.
fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0u8)
}

/// Equal jitter: `pause` scaled into `[pause/2, pause]` by the next draw of `state`
/// (xorshift64*; a zero state is bumped so it never sticks).
#[must_use]
pub fn jittered(pause: Duration, state: &mut u64) -> Duration {
    let mut x = if *state == 0 { 0x9E37_79B9_7F4A_7C15 } else { *state };
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    let draw = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
    let half = pause / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(if nanos == 0 { 0 } else { draw % (nanos + 1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let config = ClientConfig::default();
        assert_eq!(config.backoff(1), Duration::from_millis(50));
        assert_eq!(config.backoff(2), Duration::from_millis(100));
        assert_eq!(config.backoff(5), Duration::from_millis(800));
        assert_eq!(config.backoff(6), Duration::from_secs(1));
        assert_eq!(config.backoff(100), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_half_to_full_and_is_reproducible() {
        let pause = Duration::from_millis(800);
        let (mut a, mut b) = (42u64, 42u64);
        let first: Vec<Duration> = (0..200).map(|_| jittered(pause, &mut a)).collect();
        let again: Vec<Duration> = (0..200).map(|_| jittered(pause, &mut b)).collect();
        assert_eq!(first, again, "same seed, same pauses");
        assert!(first.iter().all(|p| *p >= pause / 2 && *p <= pause));
        assert!(
            first.iter().any(|p| *p < pause * 3 / 4) && first.iter().any(|p| *p > pause * 3 / 4)
        );
        let mut zero = 0u64;
        assert!(jittered(pause, &mut zero) >= pause / 2);
        assert_ne!(zero, 0);
        assert_eq!(jittered(Duration::ZERO, &mut a), Duration::ZERO);
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let text = format!("{:?}", Credentials::default());
        assert!(text.contains("iggy") && text.contains("***"));
        assert!(!format!("{:?}", Credentials::Token("secret-token".into())).contains("secret"));
    }
}
