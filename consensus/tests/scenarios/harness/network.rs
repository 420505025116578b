//! A scripted network between replicas: FIFO by default; a test can cut links (one way
//! or both), drop or hold packets matching a rule and release them later, and turn on
//! seeded random loss, duplication and reordering. Every packet sent is logged, so a
//! test can assert what was never sent.

use std::collections::{BTreeSet, VecDeque};

use vireo_consensus::prng::Prng;
use vireo_protocol::vsr::{Command, HeadersBody, Message};

#[derive(Debug, Clone)]
pub struct Packet {
    pub from: u8,
    pub to: u8,
    pub message: Message,
}

impl Packet {
    /// True if this is a do_view_change from `replica` that denies holding `op`: a nack
    /// bit, or a head below `op` (it never received it).
    pub fn denies(&self, replica: u8, op: u64) -> bool {
        let header = self.message.header();
        if self.from != replica || header.command != Command::DoViewChange {
            return false;
        }
        if op > header.op {
            return true;
        }
        let body = HeadersBody::decode(self.message.body(), 64).expect("valid DVC body");
        let low = header.op + 1 - body.headers.len() as u64;
        op >= low && body.nack[usize::try_from(op - low).expect("small")]
    }
}

type Rule = Box<dyn Fn(&Packet) -> bool>;

pub struct Network {
    queue: VecDeque<Packet>,
    held: Vec<Packet>,
    blocked: BTreeSet<(u8, u8)>,
    drop_rules: Vec<Rule>,
    hold_rules: Vec<Rule>,
    prng: Prng,
    /// Percent of packets lost at random.
    pub drop_percent: u64,
    /// Percent of packets delivered twice.
    pub duplicate_percent: u64,
    /// Deliver pending packets in random order.
    pub reorder: bool,
    /// Every packet sent, in order (before any fault).
    pub log: Vec<Packet>,
    pub dropped: u64,
}

impl Network {
    pub fn new(seed: u64) -> Self {
        Self {
            queue: VecDeque::new(),
            held: Vec::new(),
            blocked: BTreeSet::new(),
            drop_rules: Vec::new(),
            hold_rules: Vec::new(),
            prng: Prng::new(seed),
            drop_percent: 0,
            duplicate_percent: 0,
            reorder: false,
            log: Vec::new(),
            dropped: 0,
        }
    }

    pub fn send(&mut self, packet: Packet) {
        self.log.push(packet.clone());
        if self.hold_rules.iter().any(|rule| rule(&packet)) {
            self.held.push(packet);
            return;
        }
        if self.duplicate_percent > 0 && self.prng.below(100) < self.duplicate_percent {
            self.queue.push_back(packet.clone());
        }
        self.queue.push_back(packet);
    }

    /// The next packet to deliver, if any; cut links and drop rules lose packets here.
    pub fn next(&mut self) -> Option<Packet> {
        loop {
            let index = if self.reorder && !self.queue.is_empty() {
                usize::try_from(self.prng.below(self.queue.len() as u64)).expect("fits")
            } else {
                0
            };
            let packet = self.queue.remove(index)?;
            let lost = self.blocked.contains(&(packet.from, packet.to))
                || self.drop_rules.iter().any(|rule| rule(&packet))
                || (self.drop_percent > 0 && self.prng.below(100) < self.drop_percent);
            if lost {
                self.dropped += 1;
                continue;
            }
            return Some(packet);
        }
    }

    /// Cuts the link `from → to` (one way).
    pub fn block(&mut self, from: u8, to: u8) {
        self.blocked.insert((from, to));
    }

    /// Cuts both directions between every replica of `a` and every replica of `b`.
    pub fn partition(&mut self, a: &[u8], b: &[u8]) {
        for &x in a {
            for &y in b {
                self.block(x, y);
                self.block(y, x);
            }
        }
    }

    /// Restores every link and removes every rule (held packets stay held).
    pub fn heal(&mut self) {
        self.blocked.clear();
        self.drop_rules.clear();
        self.hold_rules.clear();
    }

    /// Loses every packet matching `rule`, until `heal`.
    pub fn drop_if(&mut self, rule: impl Fn(&Packet) -> bool + 'static) {
        self.drop_rules.push(Box::new(rule));
    }

    /// Holds back every packet matching `rule`, until `release`.
    pub fn hold_if(&mut self, rule: impl Fn(&Packet) -> bool + 'static) {
        self.hold_rules.push(Box::new(rule));
    }

    /// Stops holding and sends everything held, in order.
    pub fn release(&mut self) {
        self.hold_rules.clear();
        for packet in std::mem::take(&mut self.held) {
            self.queue.push_back(packet);
        }
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }
}
