//! The replica bus handshake: both ends prove they hold the cluster's shared secret and
//! agree on the cluster's shape before a single replica message flows.
//!
//! ```text
//! dialer  → acceptor  hello     (magic, version, cluster id, replica count,
//!                                partition groups, from, to, nonce_d)
//! acceptor → dialer   challenge (nonce_a, MAC_k("A" ‖ hello ‖ nonce_a))
//! dialer  → acceptor  proof     (MAC_k("D" ‖ hello ‖ nonce_a))
//! acceptor → dialer   verdict   (1 byte: accepted)
//! ```
//!
//! `k` is derived from the secret with blake3's KDF; MACs are keyed blake3. Each side's
//! fresh nonce makes the other side's MAC unreplayable; the hello is covered by both MACs,
//! so a man in the middle cannot change the shape or the indices. The acceptor refuses a
//! hello whose cluster id, replica count or partition groups differ from its own, or whose
//! `to` is not its index: a misconfigured node is refused before it can vote.

use std::time::Duration;

use monoio::io::{AsyncReadRentExt, AsyncWriteRentExt};
use monoio::net::TcpStream;

/// First bytes of every hello.
const MAGIC: [u8; 8] = *b"VIREOBUS";
/// Handshake format version.
const VERSION: u16 = 1;
/// Bytes of a hello.
pub const HELLO_SIZE: usize = 8 + 2 + 16 + 4 + 1 + 1 + 1 + 16;
const NONCE_SIZE: usize = 16;
const MAC_SIZE: usize = 32;
/// Bound on a whole handshake (a silent peer must not hold a connection slot).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const KDF_CONTEXT: &str = "vireo replica bus 2026-11 handshake key";

/// What a node is, for the handshake.
#[derive(Clone)]
pub struct Identity {
    /// Cluster id.
    pub cluster: u128,
    /// Replicas per group.
    pub replica_count: u8,
    /// Partition groups (fixed for the cluster).
    pub partition_groups: u32,
    /// This node's replica index.
    pub index: u8,
    key: [u8; 32],
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("cluster", &self.cluster)
            .field("replica_count", &self.replica_count)
            .field("partition_groups", &self.partition_groups)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// An identity keyed by `secret`.
    #[must_use]
    pub fn new(
        cluster: u128,
        replica_count: u8,
        partition_groups: u32,
        index: u8,
        secret: &[u8],
    ) -> Self {
        let key = blake3::derive_key(KDF_CONTEXT, secret);
        Self { cluster, replica_count, partition_groups, index, key }
    }

    fn mac(&self, role: u8, hello: &[u8; HELLO_SIZE], nonce: &[u8; NONCE_SIZE]) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(&[role]);
        hasher.update(hello);
        hasher.update(nonce);
        *hasher.finalize().as_bytes()
    }
}

/// Why a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// Not a Vireo bus hello (or another version).
    #[error("not a vireo replica bus hello")]
    BadHello,
    /// The peer belongs to another cluster.
    #[error("cluster id {got:#x} differs from ours")]
    Cluster {
        /// The peer's.
        got: u128,
    },
    /// The peer's replica count or partition groups differ.
    #[error(
        "cluster shape differs: peer has {replica_count} replicas, {partition_groups} partition groups"
    )]
    Shape {
        /// The peer's replica count.
        replica_count: u8,
        /// The peer's partition groups.
        partition_groups: u32,
    },
    /// The indices do not fit (the peer dialed the wrong node, or claims our index).
    #[error("peer {from} dialed replica {to}")]
    Index {
        /// Who the peer says it is.
        from: u8,
        /// Whom it meant to reach.
        to: u8,
    },
    /// The peer does not know the secret (or an attacker replayed a MAC).
    #[error("authentication failed (wrong cluster.secret?)")]
    Mac,
    /// The acceptor refused or closed the connection.
    #[error("refused by the peer")]
    Refused,
    /// The handshake took too long.
    #[error("timed out")]
    Timeout,
    /// The connection failed.
    #[error("i/o: {0}")]
    Io(String),
}

/// A decoded hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// Cluster id.
    pub cluster: u128,
    /// Partition groups.
    pub partition_groups: u32,
    /// Replica count.
    pub replica_count: u8,
    /// The dialer's index.
    pub from: u8,
    /// The index it wants to reach.
    pub to: u8,
    /// The dialer's nonce.
    pub nonce: [u8; NONCE_SIZE],
}

impl Hello {
    /// Encodes the hello.
    #[must_use]
    pub fn encode(&self) -> [u8; HELLO_SIZE] {
        let mut out = [0u8; HELLO_SIZE];
        out[..8].copy_from_slice(&MAGIC);
        out[8..10].copy_from_slice(&VERSION.to_le_bytes());
        out[10..26].copy_from_slice(&self.cluster.to_le_bytes());
        out[26..30].copy_from_slice(&self.partition_groups.to_le_bytes());
        out[30] = self.replica_count;
        out[31] = self.from;
        out[32] = self.to;
        out[33..].copy_from_slice(&self.nonce);
        out
    }

    /// Decodes a hello; any other bytes are refused.
    pub fn decode(bytes: &[u8; HELLO_SIZE]) -> Result<Self, HandshakeError> {
        if bytes[..8] != MAGIC || bytes[8..10] != VERSION.to_le_bytes() {
            return Err(HandshakeError::BadHello);
        }
        let field = |range: std::ops::Range<usize>| &bytes[range];
        Ok(Self {
            cluster: u128::from_le_bytes(field(10..26).try_into().expect("16 bytes")),
            partition_groups: u32::from_le_bytes(field(26..30).try_into().expect("4 bytes")),
            replica_count: bytes[30],
            from: bytes[31],
            to: bytes[32],
            nonce: field(33..HELLO_SIZE).try_into().expect("16 bytes"),
        })
    }
}

/// The acceptor's check of a hello against its own identity.
pub fn check_hello(me: &Identity, hello: &Hello) -> Result<(), HandshakeError> {
    if hello.cluster != me.cluster {
        return Err(HandshakeError::Cluster { got: hello.cluster });
    }
    if hello.replica_count != me.replica_count || hello.partition_groups != me.partition_groups {
        return Err(HandshakeError::Shape {
            replica_count: hello.replica_count,
            partition_groups: hello.partition_groups,
        });
    }
    if hello.to != me.index || hello.from == me.index || hello.from >= me.replica_count {
        return Err(HandshakeError::Index { from: hello.from, to: hello.to });
    }
    Ok(())
}

/// The acceptor's challenge MAC (proves the acceptor knows the secret).
#[must_use]
pub fn acceptor_mac(me: &Identity, hello: &[u8; HELLO_SIZE], nonce: &[u8; 16]) -> [u8; 32] {
    me.mac(b'A', hello, nonce)
}

/// The dialer's proof MAC.
#[must_use]
pub fn dialer_mac(me: &Identity, hello: &[u8; HELLO_SIZE], nonce: &[u8; 16]) -> [u8; 32] {
    me.mac(b'D', hello, nonce)
}

/// Constant-time comparison of two MACs.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn io(error: &std::io::Error) -> HandshakeError {
    if error.kind() == std::io::ErrorKind::UnexpectedEof {
        HandshakeError::Refused
    } else {
        HandshakeError::Io(error.to_string())
    }
}

async fn read_exact<const N: usize>(stream: &mut TcpStream) -> Result<[u8; N], HandshakeError> {
    let (result, buffer) = stream.read_exact(vec![0u8; N]).await;
    result.map_err(|e| io(&e))?;
    Ok(buffer.try_into().expect("read_exact fills the buffer"))
}

async fn write(stream: &mut TcpStream, bytes: Vec<u8>) -> Result<(), HandshakeError> {
    let (result, _) = stream.write_all(bytes).await;
    result.map(|_| ()).map_err(|e| io(&e))
}

/// The dialer's side: reach replica `to` on `stream`.
pub async fn dial(
    stream: &mut TcpStream,
    me: &Identity,
    to: u8,
    nonce: [u8; 16],
) -> Result<(), HandshakeError> {
    let exchange = async {
        let hello = Hello {
            cluster: me.cluster,
            partition_groups: me.partition_groups,
            replica_count: me.replica_count,
            from: me.index,
            to,
            nonce,
        }
        .encode();
        write(stream, hello.to_vec()).await?;
        let challenge: [u8; NONCE_SIZE + MAC_SIZE] = read_exact(stream).await?;
        let nonce_a: [u8; 16] = challenge[..NONCE_SIZE].try_into().expect("16 bytes");
        let mac: [u8; 32] = challenge[NONCE_SIZE..].try_into().expect("32 bytes");
        if !same(&mac, &acceptor_mac(me, &hello, &nonce_a)) {
            return Err(HandshakeError::Mac);
        }
        write(stream, dialer_mac(me, &hello, &nonce_a).to_vec()).await?;
        let [verdict]: [u8; 1] = read_exact(stream).await?;
        if verdict == 1 { Ok(()) } else { Err(HandshakeError::Refused) }
    };
    monoio::time::timeout(HANDSHAKE_TIMEOUT, exchange).await.unwrap_or(Err(HandshakeError::Timeout))
}

/// The acceptor's side; returns the dialer's replica index.
pub async fn accept(
    stream: &mut TcpStream,
    me: &Identity,
    nonce: [u8; 16],
) -> Result<u8, HandshakeError> {
    let exchange = async {
        let bytes: [u8; HELLO_SIZE] = read_exact(stream).await?;
        let hello = Hello::decode(&bytes)?;
        check_hello(me, &hello)?;
        let mut challenge = nonce.to_vec();
        challenge.extend_from_slice(&acceptor_mac(me, &bytes, &nonce));
        write(stream, challenge).await?;
        let proof: [u8; MAC_SIZE] = read_exact(stream).await?;
        if !same(&proof, &dialer_mac(me, &bytes, &nonce)) {
            return Err(HandshakeError::Mac);
        }
        write(stream, vec![1]).await?;
        Ok(hello.from)
    };
    monoio::time::timeout(HANDSHAKE_TIMEOUT, exchange).await.unwrap_or(Err(HandshakeError::Timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef-secret";

    fn identity(index: u8, secret: &[u8]) -> Identity {
        Identity::new(7, 3, 4, index, secret)
    }

    fn hello_from(me: &Identity, to: u8) -> Hello {
        Hello {
            cluster: me.cluster,
            partition_groups: me.partition_groups,
            replica_count: me.replica_count,
            from: me.index,
            to,
            nonce: [9; 16],
        }
    }

    #[test]
    fn hellos_round_trip_and_mismatches_are_refused() {
        let acceptor = identity(1, SECRET);
        let hello = hello_from(&identity(0, SECRET), 1);
        assert_eq!(Hello::decode(&hello.encode()), Ok(hello));
        assert_eq!(check_hello(&acceptor, &hello), Ok(()));
        let other_cluster = Hello { cluster: 8, ..hello };
        assert_eq!(check_hello(&acceptor, &other_cluster), Err(HandshakeError::Cluster { got: 8 }));
        let other_shape = Hello { partition_groups: 5, ..hello };
        assert!(matches!(check_hello(&acceptor, &other_shape), Err(HandshakeError::Shape { .. })));
        let wrong_target = Hello { to: 2, ..hello };
        assert!(matches!(check_hello(&acceptor, &wrong_target), Err(HandshakeError::Index { .. })));
        let impostor = Hello { from: 1, ..hello };
        assert!(matches!(check_hello(&acceptor, &impostor), Err(HandshakeError::Index { .. })));
        let mut garbage = hello.encode();
        garbage[0] ^= 1;
        assert_eq!(Hello::decode(&garbage), Err(HandshakeError::BadHello));
    }

    #[test]
    fn macs_depend_on_the_secret_the_role_and_the_hello() {
        let right = identity(1, SECRET);
        let wrong = identity(1, b"another-secret-of-16+");
        let hello = hello_from(&identity(0, SECRET), 1).encode();
        let nonce = [3; 16];
        assert_ne!(acceptor_mac(&right, &hello, &nonce), acceptor_mac(&wrong, &hello, &nonce));
        assert_ne!(acceptor_mac(&right, &hello, &nonce), dialer_mac(&right, &hello, &nonce));
        let mut tampered = hello;
        tampered[31] = 2;
        assert_ne!(acceptor_mac(&right, &hello, &nonce), acceptor_mac(&right, &tampered, &nonce));
    }

    fn run_pair(
        dialer: Identity,
        acceptor: Identity,
    ) -> (Result<(), HandshakeError>, Result<u8, HandshakeError>) {
        let mut runtime =
            monoio::RuntimeBuilder::<monoio::IoUringDriver>::new().enable_timer().build().unwrap();
        runtime.block_on(async move {
            let listener = monoio::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            let accepted = monoio::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                accept(&mut stream, &acceptor, [5; 16]).await
            });
            let mut stream = TcpStream::connect(address).await.unwrap();
            let dialed = dial(&mut stream, &dialer, 1, [6; 16]).await;
            drop(stream);
            (dialed, accepted.await)
        })
    }

    #[test]
    fn a_handshake_over_loopback_authenticates_both_ways() {
        let (dialed, accepted) = run_pair(identity(0, SECRET), identity(1, SECRET));
        assert_eq!(dialed, Ok(()));
        assert_eq!(accepted, Ok(0));

        let (dialed, accepted) =
            run_pair(identity(0, b"not-the-cluster-secret"), identity(1, SECRET));
        assert_eq!(
            dialed,
            Err(HandshakeError::Mac),
            "the dialer refuses an acceptor it cannot verify"
        );
        assert!(accepted.is_err(), "{accepted:?}");

        let stranger = Identity::new(99, 3, 4, 0, SECRET);
        let (dialed, accepted) = run_pair(stranger, identity(1, SECRET));
        assert_eq!(accepted, Err(HandshakeError::Cluster { got: 99 }));
        assert!(dialed.is_err());
    }
}
