//! The simulated network: per-link queues with delay, loss, duplication, reordering,
//! bounded capacity, clogs and partitions (symmetric or one-way) between replicas.
//!
//! Endpoints are replicas (`0..replica_count`) and clients (`replica_count..`). Partitions
//! and clogs apply between replicas only; client links see loss, delay and duplication.

use std::collections::BTreeMap;

use vireo_consensus::prng::Prng;
use vireo_protocol::vsr::Message;

use crate::options::NetworkOptions;

/// A network endpoint: a replica or a client.
pub type Endpoint = usize;

/// Counts of injected network faults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkFaults {
    /// Packets dropped at random.
    pub drops: u64,
    /// Packets duplicated.
    pub duplicates: u64,
    /// Packets dropped by a full link.
    pub overflows: u64,
    /// Packets dropped by a partition.
    pub partition_drops: u64,
    /// Clogs started.
    pub clogs: u64,
    /// Partitions started, by mode: isolate one, random halves.
    pub partitions_isolate: u64,
    /// Random-halves partitions started.
    pub partitions_halves: u64,
    /// Partitions that were one-way.
    pub partitions_asymmetric: u64,
}

#[derive(Debug, Clone)]
struct Packet {
    due_tick: u64,
    sequence: u64,
    message: Message,
}

/// A partition: `side[r]` says which side replica r is on; with `one_way`, side 0 can
/// still send to side 1.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Partition {
    side: Vec<bool>,
    one_way: bool,
    since_tick: u64,
}

/// The network.
#[derive(Debug)]
pub struct Network {
    replica_count: usize,
    options: NetworkOptions,
    prng: Prng,
    links: BTreeMap<(Endpoint, Endpoint), Vec<Packet>>,
    clogged_until: BTreeMap<(Endpoint, Endpoint), u64>,
    partition: Option<Partition>,
    sequence: u64,
    now_tick: u64,
    faults_enabled: bool,
    /// Faults injected so far.
    pub faults: NetworkFaults,
    /// Packets delivered, by command byte.
    pub delivered: BTreeMap<u8, u64>,
}

impl Network {
    /// A network for `replica_count` replicas and any number of clients.
    #[must_use]
    pub fn new(seed: u64, replica_count: usize, options: NetworkOptions) -> Self {
        Self {
            replica_count,
            options,
            prng: Prng::new(seed),
            links: BTreeMap::new(),
            clogged_until: BTreeMap::new(),
            partition: None,
            sequence: 0,
            now_tick: 0,
            faults_enabled: true,
            faults: NetworkFaults::default(),
            delivered: BTreeMap::new(),
        }
    }

    fn roll(&mut self, probability: f64) -> bool {
        probability > 0.0 && (self.prng.below(1_000_000) as f64) < probability * 1e6
    }

    /// Turns faults on or off; turning them off also heals partitions and clogs.
    pub fn set_faults_enabled(&mut self, enabled: bool) {
        self.faults_enabled = enabled;
        if !enabled {
            self.partition = None;
            self.clogged_until.clear();
        }
    }

    fn replicas_connected(&self, from: Endpoint, to: Endpoint) -> bool {
        if from >= self.replica_count || to >= self.replica_count {
            return true;
        }
        let Some(partition) = &self.partition else { return true };
        let (a, b) = (partition.side[from], partition.side[to]);
        a == b || (partition.one_way && !a && b)
    }

    /// Queues a message from `from` to `to`.
    pub fn send(&mut self, from: Endpoint, to: Endpoint, message: &Message) {
        if self.faults_enabled {
            if !self.replicas_connected(from, to) {
                self.faults.partition_drops += 1;
                return;
            }
            if self.roll(self.options.loss) {
                self.faults.drops += 1;
                return;
            }
        }
        let copies = if self.faults_enabled && self.roll(self.options.duplicate) {
            self.faults.duplicates += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.delay();
            self.sequence += 1;
            let packet = Packet {
                due_tick: self.now_tick + delay,
                sequence: self.sequence,
                message: message.clone(),
            };
            let capacity = self.options.link_capacity;
            let link = self.links.entry((from, to)).or_default();
            if link.len() >= capacity {
                let victim = usize::try_from(self.prng.below(link.len() as u64)).expect("small");
                link.remove(victim);
                self.faults.overflows += 1;
            }
            link.push(packet);
        }
    }

    fn delay(&mut self) -> u64 {
        let mean = self.options.delay_mean_ticks.max(1);
        // Exponential with the given mean, from a uniform draw.
        let uniform = (self.prng.below(1_000_000) as f64 + 0.5) / 1_000_000.0;
        let extra = (-uniform.ln() * mean as f64).min(20.0 * mean as f64);
        self.options.delay_min_ticks + extra as u64
    }

    /// Advances to `tick` and returns the packets due, in a deterministic order.
    pub fn step(&mut self, tick: u64) -> Vec<(Endpoint, Endpoint, Message)> {
        self.now_tick = tick;
        if self.faults_enabled {
            self.step_partitions();
            self.step_clogs();
        }
        let mut due = Vec::new();
        for (&(from, to), link) in &mut self.links {
            if self.clogged_until.get(&(from, to)).is_some_and(|&until| until > tick) {
                continue;
            }
            let mut index = 0;
            while index < link.len() {
                if link[index].due_tick <= tick {
                    let packet = link.remove(index);
                    due.push((packet.due_tick, packet.sequence, from, to, packet.message));
                } else {
                    index += 1;
                }
            }
        }
        due.sort_by_key(|(due_tick, sequence, ..)| (*due_tick, *sequence));
        due.into_iter()
            .map(|(_, _, from, to, message)| {
                *self.delivered.entry(message.header().command as u8).or_default() += 1;
                (from, to, message)
            })
            .collect()
    }

    fn step_partitions(&mut self) {
        let n = self.replica_count;
        if n < 2 {
            return;
        }
        if let Some(partition) = &self.partition {
            let old_enough =
                self.now_tick >= partition.since_tick + self.options.partition_ticks_min;
            if old_enough && self.roll(self.options.unpartition_probability) {
                self.partition = None;
            }
            return;
        }
        if !self.roll(self.options.partition_probability) {
            return;
        }
        let mut side = vec![false; n];
        if self.prng.below(2) == 0 {
            side[usize::try_from(self.prng.below(n as u64)).expect("small")] = true;
            self.faults.partitions_isolate += 1;
        } else {
            for entry in &mut side {
                *entry = self.prng.below(2) == 0;
            }
            self.faults.partitions_halves += 1;
        }
        let one_way = self.roll(self.options.partition_asymmetric);
        if one_way {
            self.faults.partitions_asymmetric += 1;
        }
        self.partition = Some(Partition { side, one_way, since_tick: self.now_tick });
    }

    fn step_clogs(&mut self) {
        let n = self.replica_count;
        for from in 0..n {
            for to in 0..n {
                if from != to && self.roll(self.options.clog_probability) {
                    let mean = self.options.clog_mean_ticks.max(1);
                    let until = self.now_tick + 1 + self.prng.below(2 * mean);
                    self.clogged_until.insert((from, to), until);
                    self.faults.clogs += 1;
                }
            }
        }
    }

    /// Drops every packet queued *to* `endpoint` (a crashed process never reads them).
    pub fn drop_inbound(&mut self, endpoint: Endpoint) {
        for (&(_, to), link) in &mut self.links {
            if to == endpoint {
                link.clear();
            }
        }
    }

    /// True if some packet is queued.
    #[must_use]
    pub fn busy(&self) -> bool {
        self.links.values().any(|link| !link.is_empty())
    }
}
