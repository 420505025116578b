//! A small fake Iggy cluster for turmoil: every host speaks the 0.11 wire protocol
//! (frames parsed and replies built with `vireo-protocol`), and all hosts share one
//! [`Cluster`] state that the test scripts: who leads, how many sends to answer 57,
//! whether to drop a reply after applying, whether to forget sessions.
//!
//! Only the leader applies sends; others answer 58. Applied sends are deduplicated by
//! `(client, session, request)` like a server's client table, so a same-session replay
//! after 57 is answered from the record instead of applied again. Everything a host
//! applies is recorded, so a test can check every success the client reported.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vireo_protocol::iggy::primitives::Name;
use vireo_protocol::iggy::reply::{
    ClusterMetadataReply, ClusterNode, LoginRegisterReply, NodeRole, NodeStatus, ReplyWriter,
    SendConfirmation, StreamReply, encode_send_confirmations, write_eviction, write_status,
};
use vireo_protocol::iggy::{
    ErrorCode, EvictionHeader, EvictionReason, HEADER_SIZE, ReplyHeader, Request, RequestHeader,
    parse_request, read_size,
};

/// The port every fake host serves TCP on.
pub const PORT: u16 = 8090;

/// One applied send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The host that applied it.
    pub host: String,
    /// `(client, session, request)` of the frame.
    pub ids: (u128, u64, u64),
    /// The id of the batch's first message (tests number their sends this way).
    pub first_message_id: u128,
}

/// One request frame a host received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The host.
    pub host: String,
    /// The command code.
    pub code: u32,
    /// `(client, session, request)`.
    pub ids: (u128, u64, u64),
}

#[derive(Debug, Default)]
struct State {
    hosts: Vec<String>,
    leader: Option<usize>,
    next_session: u64,
    sessions: Vec<(u128, u64)>,
    applied: Vec<Applied>,
    seen: Vec<Seen>,
    not_committed: u32,
    drop_reply_after_apply: u32,
    forget_sessions: bool,
    violations: Vec<String>,
    /// Group members: (host, client, session) of each join.
    members: Vec<(String, u128, u64)>,
    /// Joins are refused as "group not found".
    groups_gone: bool,
}

/// The shared, scriptable state of the fake cluster.
#[derive(Debug, Clone, Default)]
pub struct Cluster(Arc<Mutex<State>>);

impl Cluster {
    /// A cluster of `hosts` led by the first.
    pub fn new(hosts: &[&str]) -> Self {
        let state = State {
            hosts: hosts.iter().map(|host| (*host).to_owned()).collect(),
            leader: Some(0),
            next_session: 100,
            ..State::default()
        };
        Self(Arc::new(Mutex::new(state)))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().expect("fake cluster state")
    }

    /// Makes `host` the leader (`None`: no leader, every send answers 58).
    pub fn set_leader(&self, host: Option<&str>) {
        let mut state = self.state();
        state.leader = host
            .map(|host| state.hosts.iter().position(|known| known == host).expect("known host"));
    }

    /// Answers the next `count` sends on the leader with 57 (without applying).
    pub fn answer_not_committed(&self, count: u32) {
        self.state().not_committed = count;
    }

    /// Applies the next `count` sends, then closes the connection without a reply.
    pub fn drop_replies_after_apply(&self, count: u32) {
        self.state().drop_reply_after_apply = count;
    }

    /// Forgets every session: the next request of each is evicted (NoSession).
    pub fn forget_sessions(&self) {
        let mut state = self.state();
        state.sessions.clear();
        state.forget_sessions = true;
    }

    /// Every join: (host, client, session).
    pub fn members(&self) -> Vec<(String, u128, u64)> {
        self.state().members.clone()
    }

    /// From now on joins answer "group not found" (the group was deleted).
    pub fn delete_groups(&self) {
        self.state().groups_gone = true;
    }

    /// Every applied send.
    pub fn applied(&self) -> Vec<Applied> {
        self.state().applied.clone()
    }

    /// Every request frame received.
    pub fn seen(&self) -> Vec<Seen> {
        self.state().seen.clone()
    }

    /// Protocol rules the client broke (malformed frames, unknown sessions).
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    fn violation(&self, what: String) {
        self.state().violations.push(what);
    }

    /// Runs one host: accepts connections forever.
    pub async fn serve(self, host: String) -> turmoil::Result {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let cluster = self.clone();
            let host = host.clone();
            tokio::spawn(async move {
                let _ = cluster.connection(host, stream).await;
            });
        }
    }

    async fn connection(
        &self,
        host: String,
        mut stream: turmoil::net::TcpStream,
    ) -> std::io::Result<()> {
        let mut frame = vec![0u8; HEADER_SIZE];
        loop {
            frame.resize(HEADER_SIZE, 0);
            stream.read_exact(&mut frame).await?;
            let size = read_size(&frame).map_or(0, |size| size as usize);
            if !(HEADER_SIZE..=1 << 20).contains(&size) {
                self.violation(format!("{host}: frame of {size} bytes"));
                return Ok(());
            }
            frame.resize(size, 0);
            stream.read_exact(&mut frame[HEADER_SIZE..]).await?;
            let header = match RequestHeader::decode(&frame) {
                Ok(header) => header,
                Err(error) => {
                    self.violation(format!("{host}: header: {error}"));
                    return Ok(());
                }
            };
            if let Err(error) = header.check_session() {
                self.violation(format!("{host}: session rules: {error}"));
                return Ok(());
            }
            let request = match parse_request(&header, &frame[HEADER_SIZE..]) {
                Ok(request) => request,
                Err(error) => {
                    self.violation(format!("{host}: body: {error}"));
                    return Ok(());
                }
            };
            let mut reply = Vec::new();
            match self.answer(&host, &header, &request, &mut reply) {
                Answer::Reply => stream.write_all(&reply).await?,
                Answer::Hangup => return Ok(()),
            }
        }
    }

    fn answer(
        &self,
        host: &str,
        header: &RequestHeader,
        request: &Request<'_>,
        out: &mut Vec<u8>,
    ) -> Answer {
        let mut state = self.state();
        let ids = (header.client, header.session, header.request);
        state.seen.push(Seen { host: host.to_owned(), code: request.code(), ids });
        let reply = ReplyHeader::answering(header);
        let is_leader = state.leader.map(|index| state.hosts[index].as_str()) == Some(host);
        if header.session != 0 && !state.sessions.contains(&(header.client, header.session)) {
            if state.forget_sessions {
                write_eviction(out, &EvictionHeader::new(header.client, EvictionReason::NoSession));
                return Answer::Reply;
            }
            state.violations.push(format!("{host}: request on a session never opened: {ids:?}"));
            write_status(out, reply, ErrorCode::UNAUTHENTICATED);
            return Answer::Reply;
        }
        match request {
            Request::LoginRegister(_) => {
                state.next_session += 1;
                let session = state.next_session;
                state.sessions.push((header.client, session));
                let mut writer = ReplyWriter::begin(out, reply);
                LoginRegisterReply {
                    user_id: 0,
                    session,
                    server_protocol_version: 11 << 10,
                    server_version: Name::new("fake").expect("name"),
                }
                .encode(writer.body());
                writer.finish();
            }
            Request::Ping => {
                ReplyWriter::begin(out, reply).finish();
            }
            Request::GetClusterMetadata => {
                let nodes: Vec<ClusterNode<'_>> = state
                    .hosts
                    .iter()
                    .enumerate()
                    .map(|(index, name)| ClusterNode {
                        name,
                        ip: name,
                        tcp_port: PORT,
                        quic_port: 0,
                        http_port: 0,
                        websocket_port: 0,
                        role: if state.leader == Some(index) {
                            NodeRole::Leader
                        } else {
                            NodeRole::Follower
                        },
                        status: NodeStatus::Healthy,
                    })
                    .collect();
                let mut writer = ReplyWriter::begin(out, reply);
                ClusterMetadataReply { name: "fake", nodes: Cow::Owned(nodes) }
                    .encode(writer.body());
                writer.finish();
            }
            Request::CreateStream(create) if is_leader => {
                let mut writer = ReplyWriter::begin(out, reply);
                StreamReply {
                    id: 0,
                    created_at: 0,
                    topics_count: 0,
                    size_bytes: 0,
                    messages_count: 0,
                    name: create.name,
                    options: create.options,
                }
                .encode(writer.body());
                writer.finish();
            }
            Request::SendMessages(send) if is_leader => {
                let first_message_id = send.batch.frames().next().map_or(0, |frame| frame.id());
                let replayed = state.applied.iter().any(|applied| applied.ids == ids);
                if !replayed && state.not_committed > 0 {
                    state.not_committed -= 1;
                    write_status(out, reply, ErrorCode::TRANSIENT_NOT_COMMITTED);
                    return Answer::Reply;
                }
                if !replayed {
                    state.applied.push(Applied { host: host.to_owned(), ids, first_message_id });
                    if state.drop_reply_after_apply > 0 {
                        state.drop_reply_after_apply -= 1;
                        return Answer::Hangup;
                    }
                }
                let mut writer = ReplyWriter::begin(out, reply);
                let confirmation =
                    SendConfirmation { stream_id: 0, topic_id: 0, partition_id: 0, base_offset: 0 };
                encode_send_confirmations(&[confirmation], writer.body());
                writer.finish();
            }
            // Membership belongs to the connection's session, as on a real server.
            Request::JoinConsumerGroup(_) if is_leader => {
                if state.groups_gone {
                    write_status(out, reply, ErrorCode::CONSUMER_GROUP_ID_NOT_FOUND);
                    return Answer::Reply;
                }
                state.members.push((host.to_owned(), header.client, header.session));
                ReplyWriter::begin(out, reply).finish();
            }
            Request::CreateStream(_) | Request::SendMessages(_) | Request::JoinConsumerGroup(_) => {
                write_status(out, reply, ErrorCode::TRANSIENT_NOT_ACCEPTED);
            }
            _ => write_status(out, reply, ErrorCode::INVALID_COMMAND),
        }
        Answer::Reply
    }
}

enum Answer {
    Reply,
    Hangup,
}
