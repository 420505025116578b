//! Dialing, logging in, and following the leader.
//!
//! A connect walks the dial order ([`super::endpoints::Endpoints::dial_order`]) for
//! at most [`ClientConfig::connect_rounds_max`] passes, each dial-and-login bounded by
//! [`ClientConfig::connect_timeout`]. After login it reads the roster (code 12); with
//! more than one node it moves to the healthy leader (at most [`REDIRECTS_MAX`] moves),
//! as the official SDK does. A single node answers with itself and nothing moves.

use std::net::IpAddr;

use tokio::time::Instant;
use vireo_protocol::iggy::code;
use vireo_protocol::iggy::primitives::{ClientVersionInfo, Name, Secret, pack_version};
use vireo_protocol::iggy::reply::{ClusterMetadataReply, LoginRegisterReply, NodeRole, NodeStatus};
use vireo_protocol::iggy::request::{Body, LoginRegister, LoginRegisterWithPat};
use vireo_protocol::iggy::wire::Reader;

use super::call::{Client, Link};
use super::config::{ClientConfig, Credentials, TransportKind};
use super::error::{ClientError, ServerError, eviction_error};
use super::reply::{Outcome, classify};
use super::session::SessionIds;
use super::transport::{Connection, Connector};

/// Most leader moves one connect makes (the SDK's bound).
pub const REDIRECTS_MAX: u32 = 3;
/// Most 57 replays of one login.
const LOGIN_REPLAYS_MAX: u32 = 20;
/// The protocol version we speak: 0.11.0.
pub const PROTOCOL_VERSION: u32 = pack_version(0, 11, 0);
/// How we introduce ourselves at login.
pub const SDK_NAME: &str = "vireo";

/// Why one dial-and-login failed.
enum OpenError {
    /// Try another node.
    Retry(String),
    /// Stop: another node would answer the same (bad credentials, incompatible).
    Fatal(ClientError),
}

impl<C: Connector> Client<C> {
    /// Connects to some node and logs in, then follows the leader.
    pub(super) async fn connect_any(&mut self, deadline: Instant) -> Result<(), ClientError> {
        self.link = None;
        let mut attempts = 0u32;
        let mut last = String::from("no address to dial");
        for round in 0..self.config.connect_rounds_max {
            if round > 0 {
                let pause = self.backoff(round);
                self.pause(pause, deadline).await;
            }
            for address in self.endpoints.dial_order() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(ClientError::Unreachable { attempts, last });
                }
                attempts += 1;
                let limit = self.config.connect_timeout.min(left);
                let opened = tokio::time::timeout(
                    limit,
                    open(&self.connector, &self.config, &address, &mut self.reply),
                )
                .await;
                match opened {
                    Ok(Ok(link)) => {
                        self.link = Some(link);
                        self.stats.connects += 1;
                        if self.config.follow_leader {
                            self.follow_leader(deadline).await;
                        }
                        if self.link.is_some() {
                            return Ok(());
                        }
                        last = format!("{address}: lost while reading the roster");
                    }
                    Ok(Err(OpenError::Fatal(error))) => return Err(error),
                    Ok(Err(OpenError::Retry(reason))) => last = reason,
                    Err(_) => last = format!("{address}: no connection and login within {limit:?}"),
                }
                if self.endpoints.leader() == Some(address.as_str()) {
                    self.endpoints.forget_leader();
                }
            }
        }
        Err(ClientError::Unreachable { attempts, last })
    }

    /// After status 58: re-read the roster and move to the leader if it changed.
    pub(super) async fn recheck_leader(&mut self, deadline: Instant) {
        if self.link.is_some() {
            self.follow_leader(deadline).await;
        }
    }

    /// Reads the roster on the current link and moves to the leader it names.
    async fn follow_leader(&mut self, deadline: Instant) {
        for _ in 0..REDIRECTS_MAX {
            let Some(link) = self.link.as_mut() else { return };
            let limit =
                self.config.reply_timeout.min(deadline.saturating_duration_since(Instant::now()));
            let roster = tokio::time::timeout(
                limit,
                read_roster(link, self.config.transport, &mut self.reply),
            )
            .await;
            let (addresses, leader) = match roster {
                Ok(Ok(roster)) => roster,
                // A server without code 12 (or without permission) keeps us here.
                Ok(Err(RosterError::Refused)) => return,
                Ok(Err(RosterError::Lost)) | Err(_) => {
                    self.link = None;
                    return;
                }
            };
            self.endpoints.learn(&addresses, leader.as_deref());
            let current = link.connection.address();
            let Some(leader) = leader else { return };
            if addresses.len() <= 1 || same_node(current, &leader) {
                return;
            }
            let limit =
                self.config.connect_timeout.min(deadline.saturating_duration_since(Instant::now()));
            let opened = tokio::time::timeout(
                limit,
                open(&self.connector, &self.config, &leader, &mut self.reply),
            )
            .await;
            match opened {
                Ok(Ok(link)) => {
                    self.link = Some(link);
                    self.stats.leader_redirects += 1;
                    self.stats.connects += 1;
                }
                // The leader is unreachable from here: stay; a 58 brings us back.
                _ => {
                    self.endpoints.forget_leader();
                    return;
                }
            }
        }
    }
}

/// Dials `address` and logs in.
async fn open<C: Connector>(
    connector: &C,
    config: &ClientConfig,
    address: &str,
    reply: &mut Vec<u8>,
) -> Result<Link<C::Connection>, OpenError> {
    let mut connection =
        connector.connect(address).await.map_err(|error| OpenError::Retry(error.to_string()))?;
    let mut ids = SessionIds::fresh();
    let body = login_body(&config.credentials).map_err(OpenError::Fatal)?;
    let header = ids.header(code::LOGIN_REGISTER, &body).expect("register needs no session");
    for _ in 0..LOGIN_REPLAYS_MAX {
        connection
            .exchange(&header.to_bytes(), &body, reply)
            .await
            .map_err(|error| OpenError::Retry(error.to_string()))?;
        match classify(reply, &header) {
            Ok(Outcome::Ok { start, .. }) => {
                let login = LoginRegisterReply::decode(&mut Reader::new(&reply[start..])).map_err(
                    |error| OpenError::Retry(format!("{address}: login reply: {error}")),
                )?;
                if login.session == 0 {
                    return Err(OpenError::Retry(format!(
                        "{address}: login reply without session"
                    )));
                }
                ids.bind(login.session);
                return Ok(Link { connection, ids, user_id: login.user_id });
            }
            Ok(Outcome::Refused(ServerError::TransientNotCommitted)) => {
                tokio::time::sleep(config.transient_backoff).await;
            }
            Ok(Outcome::Refused(ServerError::TransientNotAccepted)) => {
                return Err(OpenError::Retry(format!("{address}: login not accepted (58)")));
            }
            Ok(Outcome::Refused(error)) => return Err(OpenError::Fatal(error.into())),
            Ok(Outcome::Evicted(reason)) => return Err(OpenError::Fatal(eviction_error(reason))),
            Err(detail) => return Err(OpenError::Retry(format!("{address}: {detail}"))),
        }
    }
    Err(OpenError::Retry(format!(
        "{address}: login not committed after {LOGIN_REPLAYS_MAX} replays"
    )))
}

/// The body of code 40 or 45.
fn login_body(credentials: &Credentials) -> Result<Vec<u8>, ClientError> {
    let invalid =
        |what: &str| ClientError::InvalidArgument(format!("{what} must be 1..=255 bytes"));
    let version = ClientVersionInfo {
        protocol_version: PROTOCOL_VERSION,
        sdk_name: Name::new(SDK_NAME).expect("static name"),
        sdk_version: Name::new(env!("CARGO_PKG_VERSION")).expect("crate version"),
    };
    let mut body = Vec::new();
    match credentials {
        Credentials::Password { username, password } => LoginRegister {
            version,
            username: Name::new(username).map_err(|_| invalid("username"))?,
            password: Secret::new(password).map_err(|_| invalid("password"))?,
            context: None,
        }
        .encode(&mut body),
        Credentials::Token(token) => LoginRegisterWithPat {
            version,
            token: Secret::new(token).map_err(|_| invalid("token"))?,
            context: None,
        }
        .encode(&mut body),
    }
    Ok(body)
}

enum RosterError {
    /// The server answered with a status: keep the connection.
    Refused,
    /// The connection failed or answered garbage.
    Lost,
}

/// Asks for the roster on `link`: every node's address for `transport`, and the
/// healthy leader's.
async fn read_roster<K: Connection>(
    link: &mut Link<K>,
    transport: TransportKind,
    reply: &mut Vec<u8>,
) -> Result<(Vec<String>, Option<String>), RosterError> {
    let header = link.ids.header(code::GET_CLUSTER_METADATA, &[]).ok_or(RosterError::Refused)?;
    link.connection
        .exchange(&header.to_bytes(), &[], reply)
        .await
        .map_err(|_| RosterError::Lost)?;
    let start = match classify(reply, &header) {
        Ok(Outcome::Ok { start, .. }) => start,
        Ok(Outcome::Refused(_)) => return Err(RosterError::Refused),
        Ok(Outcome::Evicted(_)) | Err(_) => return Err(RosterError::Lost),
    };
    let roster = ClusterMetadataReply::decode(&mut Reader::new(&reply[start..]))
        .map_err(|_| RosterError::Lost)?;
    let current = link.connection.address();
    let mut addresses = Vec::new();
    let mut leader = None;
    for node in roster.nodes.iter() {
        let port = match transport {
            TransportKind::Tcp => node.tcp_port,
            TransportKind::Quic => node.quic_port,
        };
        if port == 0 {
            continue;
        }
        let address = node_address(node.ip, port, current);
        if node.role == NodeRole::Leader && node.status == NodeStatus::Healthy {
            leader = Some(address.clone());
        }
        addresses.push(address);
    }
    Ok((addresses, leader))
}

/// `ip:port` as a dialable address; an unspecified ip (a node bound to every
/// interface) means the host we reached it through.
pub fn node_address(ip: &str, port: u16, current: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(parsed) if parsed.is_unspecified() => format!("{}:{port}", host_of(current)),
        Ok(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
        _ => format!("{ip}:{port}"),
    }
}

fn split_address(address: &str) -> Option<(&str, &str)> {
    address.rsplit_once(':').map(|(host, port)| (host.trim_matches(['[', ']']), port))
}

fn host_of(address: &str) -> &str {
    address.rsplit_once(':').map_or(address, |(host, _)| host)
}

/// Whether two spellings name the same node (exact match, or equal ports with one
/// side `localhost` and the other a loopback address).
fn same_node(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (Some((host_a, port_a)), Some((host_b, port_b))) = (split_address(a), split_address(b))
    else {
        return false;
    };
    let loopback =
        |host: &str| host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    port_a == port_b && loopback(host_a) && loopback(host_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_addresses() {
        assert_eq!(node_address("10.0.0.2", 8090, "x:1"), "10.0.0.2:8090");
        assert_eq!(node_address("::1", 8080, "x:1"), "[::1]:8080");
        assert_eq!(node_address("0.0.0.0", 8090, "node-a:8090"), "node-a:8090");
        assert_eq!(node_address("n2", 8090, "n1:8090"), "n2:8090");
    }

    #[test]
    fn same_node_spellings() {
        assert!(same_node("n1:8090", "n1:8090"));
        assert!(same_node("localhost:8090", "127.0.0.1:8090"));
        assert!(!same_node("localhost:8090", "127.0.0.1:8091"));
        assert!(!same_node("n1:8090", "n2:8090"));
    }

    #[test]
    fn login_bodies_decode_as_the_server_reads_them() {
        use vireo_protocol::iggy::request::decode_body;
        let body = login_body(&Credentials::default()).unwrap();
        let login: LoginRegister<'_> = decode_body(&body).unwrap();
        assert_eq!(login.username.as_str(), "iggy");
        assert_eq!(login.password.expose(), "iggy");
        assert_eq!(login.version.protocol_version, PROTOCOL_VERSION);
        let token = login_body(&Credentials::Token("t0k3n".into())).unwrap();
        let login: LoginRegisterWithPat<'_> = decode_body(&token).unwrap();
        assert_eq!(login.token.expose(), "t0k3n");
        let empty = Credentials::Password { username: String::new(), password: "x".into() };
        assert!(matches!(login_body(&empty), Err(ClientError::InvalidArgument(_))));
    }
}
