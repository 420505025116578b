//! Simulated clients: register, then send requests one at a time, retrying after a
//! timeout (to another replica, since the primary may have died), re-registering after
//! an eviction.

use vireo_consensus::prng::Prng;
use vireo_protocol::vsr::{Command, Header, Message, Operation};

use crate::state_machine::{APPEND, CONSUMERS_MAX, CREATE, PARTITIONS, STORE_OFFSET};

/// Counts of client activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests sent (first attempts).
    pub requests: u64,
    /// Retries after a timeout.
    pub retries: u64,
    /// Replies accepted.
    pub replies: u64,
    /// Evictions received.
    pub evictions: u64,
}

/// A request in flight.
#[derive(Debug, Clone)]
pub struct InFlight {
    /// The request message (resent verbatim on retry).
    pub message: Message,
    /// Tick of the latest attempt.
    pub sent_tick: u64,
}

/// One client.
#[derive(Debug)]
pub struct SimClient {
    /// Client id (non-zero).
    pub id: u128,
    cluster: u128,
    replica_count: u8,
    prng: Prng,
    /// Session number (0 = not registered).
    pub session: u64,
    /// Latest request number assigned.
    pub request: u64,
    /// Checksum of the latest reply (the next request's `parent`).
    pub parent: u128,
    /// The request in flight.
    pub in_flight: Option<InFlight>,
    /// Requests completed.
    pub done: u64,
    /// Requests to complete before stopping.
    pub requests_max: u64,
    /// Whether to issue new requests (off in the liveness phase).
    pub issuing: bool,
    timeout_ticks: u64,
    clock_skew_us: i64,
    /// Largest `APPEND` payload (bytes drawn uniformly from 1 to this).
    pub payload_size_max: u64,
    /// Where to send next (learned from replies' views).
    target: u8,
    /// Activity counts.
    pub stats: ClientStats,
}

impl SimClient {
    /// True if this client's clock is skewed.
    #[must_use]
    pub fn skewed(&self) -> bool {
        self.clock_skew_us != 0
    }
}

/// What a client wants sent.
pub type Outgoing = (u8, Message);

impl SimClient {
    /// A client with a random id and clock skew.
    #[must_use]
    pub fn new(
        seed: u64,
        cluster: u128,
        replica_count: u8,
        requests_max: u64,
        timeout_ticks: u64,
        skew_max_us: u64,
    ) -> Self {
        let mut prng = Prng::new(seed);
        let id = prng.nonce();
        let skew = i64::try_from(prng.below(skew_max_us.max(1))).expect("small")
            - i64::try_from(skew_max_us / 2).expect("small");
        let target = u8::try_from(prng.below(u64::from(replica_count))).expect("small");
        Self {
            id,
            cluster,
            replica_count,
            prng,
            session: 0,
            request: 0,
            parent: 0,
            in_flight: None,
            done: 0,
            requests_max,
            issuing: true,
            timeout_ticks,
            clock_skew_us: skew,
            payload_size_max: 48,
            target,
            stats: ClientStats::default(),
        }
    }

    /// The client's clock: ticks are 10 ms, plus its skew.
    fn now_us(&self, tick: u64) -> u64 {
        let base = i64::try_from(tick * 10_000).expect("fits") + 1_700_000_000_000_000;
        u64::try_from(base + self.clock_skew_us).expect("positive")
    }

    /// One tick: maybe start the next request, maybe retry the one in flight.
    pub fn tick(&mut self, tick: u64) -> Option<Outgoing> {
        if let Some(in_flight) = &mut self.in_flight {
            if tick >= in_flight.sent_tick + self.timeout_ticks {
                in_flight.sent_tick = tick;
                let message = in_flight.message.clone();
                self.stats.retries += 1;
                self.target =
                    u8::try_from(self.prng.below(u64::from(self.replica_count))).expect("small");
                return Some((self.target, message));
            }
            return None;
        }
        if !self.issuing || self.done >= self.requests_max {
            return None;
        }
        let message = if self.session == 0 { self.register(tick) } else { self.next_request(tick) };
        self.in_flight = Some(InFlight { message: message.clone(), sent_tick: tick });
        self.stats.requests += 1;
        Some((self.target, message))
    }

    fn header(&self, tick: u64) -> Header {
        let mut header = Header::new(Command::Request);
        header.cluster = self.cluster;
        header.client = self.id;
        header.replica = u8::MAX;
        header.timestamp = self.now_us(tick);
        header
    }

    fn register(&mut self, tick: u64) -> Message {
        self.request = 0;
        let mut header = self.header(tick);
        header.operation = Operation::REGISTER;
        Message::new(header, &[])
    }

    fn next_request(&mut self, tick: u64) -> Message {
        self.request += 1;
        let mut header = self.header(tick);
        header.session = self.session;
        header.request = self.request;
        header.parent = self.parent;
        let roll = self.prng.below(10);
        let body = if roll < 7 {
            header.operation = APPEND;
            let partition = u8::try_from(self.prng.below(PARTITIONS as u64)).expect("small");
            let length = 1 + self.prng.below(self.payload_size_max);
            let mut body = vec![partition];
            body.extend((0..length).map(|_| u8::try_from(self.prng.below(256)).expect("byte")));
            body
        } else if roll < 8 {
            header.operation = CREATE;
            format!("name-{}", self.prng.below(1000)).into_bytes()
        } else {
            header.operation = STORE_OFFSET;
            let mut body = vec![
                u8::try_from(self.prng.below(u64::from(CONSUMERS_MAX))).expect("small"),
                u8::try_from(self.prng.below(PARTITIONS as u64)).expect("small"),
            ];
            body.extend_from_slice(&self.prng.below(1 << 20).to_le_bytes());
            body
        };
        Message::new(header, &body)
    }

    /// A reply or eviction arrived. Returns true if it completed the request in flight.
    pub fn on_message(&mut self, message: &Message) -> bool {
        let header = message.header();
        let Some(in_flight) = &self.in_flight else { return false };
        let sent = in_flight.message.header();
        match header.command {
            Command::Reply if header.client == self.id && header.request == sent.request => {
                if sent.operation == Operation::REGISTER {
                    if header.operation != Operation::REGISTER {
                        return false;
                    }
                    self.session = header.session;
                } else if header.session != self.session {
                    return false;
                }
                self.parent = header.checksum;
                self.in_flight = None;
                self.done += 1;
                self.stats.replies += 1;
                self.target =
                    u8::try_from(header.view % u32::from(self.replica_count)).expect("small");
                true
            }
            // Only an eviction of our current session (a stale one, for a session we
            // already replaced, is ignored).
            Command::Eviction
                if header.client == self.id
                    && header.session == self.session
                    && self.session != 0 =>
            {
                // The session is gone: the request's outcome is unknown; start over.
                self.session = 0;
                self.in_flight = None;
                self.stats.evictions += 1;
                false
            }
            _ => false,
        }
    }
}
