//! A fault-injecting TCP proxy on loopback, for network partitions between real
//! processes without network namespaces (CI machines may not allow them).
//!
//! A test points one node's view of a peer at the proxy instead of at the peer; the
//! proxy forwards both directions while *connected* and, while *partitioned*, behaves
//! like a link that silently stopped carrying packets: established connections stop
//! moving bytes (the peers see only silence, as with a cut cable, not a reset), and new
//! connections are accepted but never forwarded. Healing closes every connection the
//! partition held, so both ends reconnect, as they would after a real partition's
//! TCP timeouts.
//!
//! Threads, not async: a proxy carries few connections, and a test must not depend on
//! a runtime. Every thread ends when the proxy drops.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often blocked threads look at the partition flag and the stop flag.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Bytes copied per read.
const CHUNK_SIZE_BYTES: usize = 64 * 1024;
/// Most connections one proxy holds at once; more are refused (closed at once).
const CONNECTIONS_MAX: usize = 64;

/// One proxied link: `listen` → `target`.
pub struct FaultProxy {
    listen: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    target: SocketAddr,
    partitioned: AtomicBool,
    stopping: AtomicBool,
    /// Bumped by every heal: a connection born in an older epoch that was partitioned
    /// closes instead of resuming.
    epoch: AtomicU64,
    connections: Mutex<Vec<Connection>>,
    forwarded_bytes: AtomicU64,
    dropped_bytes: AtomicU64,
}

struct Connection {
    client: TcpStream,
    pumps: Vec<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port forwarding to `target`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    #[must_use]
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a proxy port");
        Self::on(listener, target)
    }

    /// Starts a proxy on `listener` (bound by the caller, e.g. on a port picked ahead so
    /// it can go into a node's config) forwarding to `target`.
    ///
    /// # Panics
    /// When the listener cannot be made non-blocking.
    #[must_use]
    pub fn on(listener: TcpListener, target: SocketAddr) -> Self {
        let listen = listener.local_addr().expect("proxy address");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let shared = Arc::new(Shared {
            target,
            partitioned: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            connections: Mutex::new(Vec::new()),
            forwarded_bytes: AtomicU64::new(0),
            dropped_bytes: AtomicU64::new(0),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("proxy-{}", listen.port()))
                .spawn(move || accept_loop(&listener, &shared))
                .expect("spawn proxy acceptor")
        };
        Self { listen, shared, acceptor: Some(acceptor) }
    }

    /// Where peers connect.
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.listen
    }

    /// Cuts the link: from now on no byte crosses in either direction.
    pub fn partition(&self) {
        self.shared.partitioned.store(true, Ordering::SeqCst);
    }

    /// Restores the link; connections held through the partition are closed, so the
    /// peers reconnect.
    pub fn heal(&self) {
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        self.shared.partitioned.store(false, Ordering::SeqCst);
        let mut connections = self.shared.connections.lock().expect("lock");
        for connection in connections.drain(..) {
            let _ = connection.client.shutdown(Shutdown::Both);
            // The pumps see the closed socket and end; they are joined lazily below.
            drop(connection.pumps);
        }
    }

    /// Whether the link is cut.
    #[must_use]
    pub fn is_partitioned(&self) -> bool {
        self.shared.partitioned.load(Ordering::SeqCst)
    }

    /// Bytes carried so far (both directions).
    #[must_use]
    pub fn forwarded_bytes(&self) -> u64 {
        self.shared.forwarded_bytes.load(Ordering::SeqCst)
    }

    /// Bytes read from a peer while partitioned and thrown away.
    #[must_use]
    pub fn dropped_bytes(&self) -> u64 {
        self.shared.dropped_bytes.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let connections: Vec<Connection> =
            self.shared.connections.lock().expect("lock").drain(..).collect();
        for connection in connections {
            let _ = connection.client.shutdown(Shutdown::Both);
            for pump in connection.pumps {
                let _ = pump.join();
            }
        }
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stopping.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = client.set_nodelay(true);
                let mut connections = shared.connections.lock().expect("lock");
                connections.retain(|c| c.pumps.iter().any(|p| !p.is_finished()));
                if connections.len() >= CONNECTIONS_MAX {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                if let Some(connection) = connect(client, shared) {
                    connections.push(connection);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL_INTERVAL),
            Err(_) => std::thread::sleep(POLL_INTERVAL),
        }
    }
}

/// Opens the upstream side and starts one pump per direction. While partitioned the
/// upstream is not dialled: the client's connection is held silent until the heal.
fn connect(client: TcpStream, shared: &Arc<Shared>) -> Option<Connection> {
    let epoch = shared.epoch.load(Ordering::SeqCst);
    let held = client.try_clone().ok()?;
    if shared.partitioned.load(Ordering::SeqCst) {
        let shared = Arc::clone(shared);
        let pump = std::thread::spawn(move || hold_silent(held, &shared, epoch));
        return Some(Connection { client, pumps: vec![pump] });
    }
    let Ok(upstream) = TcpStream::connect_timeout(&shared.target, Duration::from_secs(1)) else {
        let _ = client.shutdown(Shutdown::Both);
        return None;
    };
    let _ = upstream.set_nodelay(true);
    let (Ok(client_read), Ok(upstream_read)) = (client.try_clone(), upstream.try_clone()) else {
        return None;
    };
    let forward = {
        let shared = Arc::clone(shared);
        let upstream = upstream.try_clone().ok()?;
        std::thread::spawn(move || pump(client_read, upstream, &shared, epoch))
    };
    let backward = {
        let shared = Arc::clone(shared);
        std::thread::spawn(move || pump(upstream_read, held, &shared, epoch))
    };
    Some(Connection { client, pumps: vec![forward, backward] })
}

/// Copies `from` → `to` while connected; while partitioned reads and drops (so the
/// sender's buffers do not fill and report the cut early), and after a heal closes.
fn pump(mut from: TcpStream, mut to: TcpStream, shared: &Shared, epoch: u64) {
    let _ = from.set_read_timeout(Some(POLL_INTERVAL));
    let mut buffer = vec![0_u8; CHUNK_SIZE_BYTES];
    let mut cut = false;
    loop {
        if shared.stopping.load(Ordering::SeqCst) || shared.epoch.load(Ordering::SeqCst) != epoch {
            break;
        }
        let read = from.read(&mut buffer);
        // Looked at after the read returns: bytes sent after `partition()` returned are
        // never forwarded, however long the read was blocked.
        cut |= shared.partitioned.load(Ordering::SeqCst);
        match read {
            Ok(0) => break,
            Ok(n) if cut => {
                shared.dropped_bytes.fetch_add(n as u64, Ordering::SeqCst);
            }
            Ok(n) => {
                // Counted before the write: a peer that has read the bytes must also see
                // them counted (the unit test below reads the count right after the echo).
                shared.forwarded_bytes.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// A connection accepted during a partition: read and drop until the heal, then close.
fn hold_silent(mut client: TcpStream, shared: &Shared, epoch: u64) {
    let _ = client.set_read_timeout(Some(POLL_INTERVAL));
    let mut buffer = vec![0_u8; CHUNK_SIZE_BYTES];
    while !shared.stopping.load(Ordering::SeqCst) && shared.epoch.load(Ordering::SeqCst) == epoch {
        match client.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                shared.dropped_bytes.fetch_add(n as u64, Ordering::SeqCst);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        let handle = std::thread::spawn(move || {
            // Serves connections until one sends "quit".
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buffer = [0_u8; 64];
                loop {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) if &buffer[..n] == b"quit" => return,
                        Ok(n) => {
                            let _ = stream.write_all(&buffer[..n]);
                        }
                    }
                }
            }
        });
        (address, handle)
    }

    fn round_trip(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        stream.write_all(bytes)?;
        let mut reply = vec![0_u8; bytes.len()];
        stream.read_exact(&mut reply)?;
        Ok(reply)
    }

    #[test]
    fn forwards_while_connected_and_goes_silent_when_partitioned() {
        let (server, server_thread) = echo_server();
        let proxy = FaultProxy::start(server);
        let mut stream = TcpStream::connect(proxy.address()).expect("connect");
        stream.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
        assert_eq!(round_trip(&mut stream, b"hello").expect("echo"), b"hello");
        assert!(proxy.forwarded_bytes() >= 10);

        proxy.partition();
        // Silence, not a reset: the read times out.
        let error = round_trip(&mut stream, b"lost").expect_err("no reply while partitioned");
        assert!(matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{error}");
        // A new connection is accepted but carries nothing either.
        let mut late = TcpStream::connect(proxy.address()).expect("accepted while cut");
        late.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
        assert!(round_trip(&mut late, b"late").is_err());
        assert!(proxy.dropped_bytes() >= 8, "dropped {}", proxy.dropped_bytes());

        proxy.heal();
        // The held connections are closed; a new one works.
        let mut buffer = [0_u8; 8];
        std::thread::sleep(POLL_INTERVAL * 5);
        assert!(matches!(stream.read(&mut buffer), Ok(0) | Err(_)));
        let mut fresh = TcpStream::connect(proxy.address()).expect("connect after heal");
        fresh.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        assert_eq!(round_trip(&mut fresh, b"again").expect("echo after heal"), b"again");

        fresh.write_all(b"quit").expect("stop the server");
        drop(proxy);
        server_thread.join().expect("server thread");
    }
}
