//! Every knob of a run, drawn from the seed (swarm testing) and overridable by flags.
//!
//! Swarm testing: instead of one "realistic" fault mix, each seed picks its own — some
//! runs have no packet loss and many crashes, others the reverse — so rare combinations
//! get exercised. Zero is always a possible value.

use vireo_consensus::Durability;
use vireo_consensus::prng::Prng;

/// Network fault knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkOptions {
    /// Per-packet drop probability.
    pub loss: f64,
    /// Per-packet duplication probability.
    pub duplicate: f64,
    /// Minimum one-way delay in ticks.
    pub delay_min_ticks: u64,
    /// Mean extra delay (exponential) in ticks; also reorders.
    pub delay_mean_ticks: u64,
    /// Packets a link holds before it drops a random one.
    pub link_capacity: usize,
    /// Per-tick probability a partition starts.
    pub partition_probability: f64,
    /// Per-tick probability a partition heals (after its minimum length).
    pub unpartition_probability: f64,
    /// Minimum partition length in ticks.
    pub partition_ticks_min: u64,
    /// Probability a partition is one-way (one side can still send).
    pub partition_asymmetric: f64,
    /// Per-tick, per-link probability of a clog (the link holds its packets).
    pub clog_probability: f64,
    /// Mean clog length in ticks.
    pub clog_mean_ticks: u64,
}

/// Storage fault knobs (only where the fault atlas allows).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageOptions {
    /// Probability a write lands with one corrupted byte.
    pub write_corrupt: f64,
    /// Probability a read sees a corrupted byte (persistently, until rewritten).
    pub read_corrupt: f64,
    /// Probability a write lands at the wrong place (the target keeps old data).
    pub misdirect: f64,
    /// Probability a read hits a latent sector error (EIO until rewritten).
    pub latent_error: f64,
    /// Read latency range in ticks.
    pub read_latency_ticks: (u64, u64),
    /// Write latency range in ticks.
    pub write_latency_ticks: (u64, u64),
}

/// Replica fault knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeOptions {
    /// Per-tick probability that an up replica crashes.
    pub crash_probability: f64,
    /// Per-tick probability that a down replica restarts.
    pub restart_probability: f64,
    /// Fraction of crashes that are power losses (unsynced writes lost).
    pub power_loss_fraction: f64,
    /// Per-tick probability that an up replica pauses (time moves on without it).
    pub pause_probability: f64,
    /// Per-tick probability that a paused replica resumes.
    pub unpause_probability: f64,
    /// Probability, per run, of one whole-cluster power loss.
    pub cluster_power_loss: bool,
    /// Largest clock skew of a client, in microseconds (its timestamps stamp requests).
    pub clock_skew_us_max: u64,
}

/// Partition-log knobs: the real `PartitionLog` of each model partition on the data disk
/// (small segments, chunks and caches, so rotation, padding and disk reads happen often).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// Segment size (a segment is sealed when the next record would not fit).
    pub segment_size_bytes: u64,
    /// Size of each log write (staging chunk).
    pub write_chunk_bytes: usize,
    /// Recent batches kept in memory beyond the unwritten ones.
    pub cache_bytes_max: u64,
    /// I/Os one log keeps in flight.
    pub io_in_flight_max: u32,
    /// Bytes one cold read covers at most.
    pub read_bytes_max: u32,
    /// Preallocate each segment's log file.
    pub preallocate: bool,
    /// The data disk's crashes tear writes into any subset of sectors and lose each
    /// unsynced sector independently (otherwise: prefixes, and all unsynced sectors).
    pub scattered_crashes: bool,
    /// The data disk's write and sync latency range in ticks (a slow data disk keeps
    /// checkpoints waiting for their flush, and widens the windows in which a crash
    /// finds log writes unsynced).
    pub write_latency_ticks: (u64, u64),
}

/// All knobs of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The seed everything derives from.
    pub seed: u64,
    /// Replicas (1..=6).
    pub replica_count: u8,
    /// Clients.
    pub client_count: usize,
    /// Durability mode.
    pub durability: Durability,
    /// Journal slots.
    pub journal_slot_count: u64,
    /// Pipeline depth.
    pub pipeline_max: usize,
    /// Ops between checkpoints.
    pub checkpoint_interval_ops: u64,
    /// Client sessions the cluster keeps (fewer than clients forces evictions).
    pub clients_max: usize,
    /// Ticks of the faulty (safety) phase.
    pub ticks_safety: u64,
    /// Ticks the healed core gets to converge (liveness phase).
    pub ticks_liveness: u64,
    /// Requests each client sends before it stops.
    pub requests_per_client: u64,
    /// Client request timeout before a retry, in ticks.
    pub client_timeout_ticks: u64,
    /// Largest `APPEND` payload a client sends (large ones fill log chunks and segments
    /// between checkpoints, so crashes find unsynced and torn log writes).
    pub payload_size_max: u64,
    /// Network faults.
    pub network: NetworkOptions,
    /// Storage faults.
    pub storage: StorageOptions,
    /// Replica faults.
    pub node: NodeOptions,
    /// Partition logs on the data disk.
    pub log: LogOptions,
}

fn chance(prng: &mut Prng, max_permille: u64) -> f64 {
    // A third of the time exactly zero: swarm runs need fault-free dimensions too.
    if prng.below(3) == 0 { 0.0 } else { prng.below(max_permille + 1) as f64 / 1000.0 }
}

fn pick(prng: &mut Prng, count: u64) -> usize {
    usize::try_from(prng.below(count)).expect("small")
}

impl Options {
    /// Draws every knob from `seed`.
    #[must_use]
    pub fn from_seed(seed: u64) -> Self {
        let mut prng = Prng::new(seed ^ 0x0b7e_0b7e_5eed);
        let replica_count =
            [1, 2, 3, 3, 3, 3, 4, 5, 5, 6][usize::try_from(prng.below(10)).expect("small")];
        let pipeline_max = 1 + usize::try_from(prng.below(6)).expect("small");
        let checkpoint_interval_ops = 8 + prng.below(24);
        let journal_slot_count = checkpoint_interval_ops + 2 * pipeline_max as u64 + prng.below(16);
        let client_count = 1 + usize::try_from(prng.below(8)).expect("small");
        let ticks_safety = 2_000 + prng.below(18_000);
        Self {
            seed,
            replica_count,
            client_count,
            durability: if prng.below(3) == 0 {
                Durability::Persisted
            } else {
                Durability::Replicated
            },
            journal_slot_count,
            pipeline_max,
            checkpoint_interval_ops,
            clients_max: 2 + usize::try_from(prng.below(8)).expect("small"),
            ticks_safety,
            ticks_liveness: 20_000,
            requests_per_client: 20 + prng.below(200),
            client_timeout_ticks: 20 + prng.below(80),
            network: NetworkOptions {
                loss: chance(&mut prng, 200),
                duplicate: chance(&mut prng, 200),
                delay_min_ticks: prng.below(3),
                delay_mean_ticks: 1 + prng.below(8),
                link_capacity: 4 + usize::try_from(prng.below(60)).expect("small"),
                partition_probability: chance(&mut prng, 5),
                unpartition_probability: 0.005 + chance(&mut prng, 30),
                partition_ticks_min: 50 + prng.below(200),
                partition_asymmetric: chance(&mut prng, 500),
                clog_probability: chance(&mut prng, 2),
                clog_mean_ticks: 10 + prng.below(200),
            },
            storage: StorageOptions {
                write_corrupt: chance(&mut prng, 30),
                read_corrupt: chance(&mut prng, 30),
                misdirect: chance(&mut prng, 20),
                latent_error: chance(&mut prng, 20),
                read_latency_ticks: (0, 1 + prng.below(5)),
                write_latency_ticks: (0, 1 + prng.below(10)),
            },
            node: NodeOptions {
                crash_probability: chance(&mut prng, 2),
                restart_probability: 0.002 + chance(&mut prng, 50),
                power_loss_fraction: prng.below(101) as f64 / 100.0,
                pause_probability: chance(&mut prng, 1),
                unpause_probability: 0.01 + chance(&mut prng, 100),
                cluster_power_loss: prng.below(20) == 0,
                clock_skew_us_max: if prng.below(2) == 0 { 0 } else { prng.below(5_000_000) },
            },
            // Drawn last: every knob above keeps the value it had before logs existed.
            payload_size_max: [48, 48, 48, 600, 3_000][pick(&mut prng, 5)],
            log: LogOptions {
                segment_size_bytes: [8, 12, 16, 32, 64, 256][pick(&mut prng, 6)] * 1024,
                write_chunk_bytes: [4, 8, 16, 64][pick(&mut prng, 4)] * 1024,
                cache_bytes_max: [0, 256, 2048, 1 << 20][pick(&mut prng, 4)],
                io_in_flight_max: 4 + u32::try_from(prng.below(13)).expect("small"),
                read_bytes_max: [16, 24, 64][pick(&mut prng, 3)] * 1024,
                preallocate: prng.below(2) == 0,
                scattered_crashes: prng.below(2) == 0,
                write_latency_ticks: (0, [1, 5, 10, 30, 80][pick(&mut prng, 5)]),
            },
        }
    }

    /// One line per knob, printed first so any run can be read and replayed.
    #[must_use]
    pub fn describe(&self) -> String {
        let n = &self.network;
        let s = &self.storage;
        let d = &self.node;
        format!(
            "seed={} replicas={} clients={} durability={:?} journal_slots={} pipeline={} checkpoint_interval={} \
             clients_max={} ticks_safety={} ticks_liveness={} requests_per_client={} client_timeout={} \
             payload_max={}\n\
             network: loss={:.3} duplicate={:.3} delay={}+exp({}) capacity={} partition={:.4}/heal={:.4}/min={} \
             asymmetric={:.2} clog={:.4}/mean={}\n\
             storage: write_corrupt={:.3} read_corrupt={:.3} misdirect={:.3} latent={:.3} read_latency={:?} \
             write_latency={:?}\n\
             nodes: crash={:.4} restart={:.4} power_loss={:.2} pause={:.4}/unpause={:.3} cluster_power_loss={} \
             clock_skew_us_max={}\n\
             logs: segment={} write_chunk={} cache={} in_flight={} read_max={} preallocate={} \
             scattered_crashes={} write_latency={:?}",
            self.seed,
            self.replica_count,
            self.client_count,
            self.durability,
            self.journal_slot_count,
            self.pipeline_max,
            self.checkpoint_interval_ops,
            self.clients_max,
            self.ticks_safety,
            self.ticks_liveness,
            self.requests_per_client,
            self.client_timeout_ticks,
            self.payload_size_max,
            n.loss,
            n.duplicate,
            n.delay_min_ticks,
            n.delay_mean_ticks,
            n.link_capacity,
            n.partition_probability,
            n.unpartition_probability,
            n.partition_ticks_min,
            n.partition_asymmetric,
            n.clog_probability,
            n.clog_mean_ticks,
            s.write_corrupt,
            s.read_corrupt,
            s.misdirect,
            s.latent_error,
            s.read_latency_ticks,
            s.write_latency_ticks,
            d.crash_probability,
            d.restart_probability,
            d.power_loss_fraction,
            d.pause_probability,
            d.unpause_probability,
            d.cluster_power_loss,
            d.clock_skew_us_max,
            self.log.segment_size_bytes,
            self.log.write_chunk_bytes,
            self.log.cache_bytes_max,
            self.log.io_in_flight_max,
            self.log.read_bytes_max,
            self.log.preallocate,
            self.log.scattered_crashes,
            self.log.write_latency_ticks,
        )
    }
}

/// Parses a seed: a decimal u64, or a 40-hex-digit commit id (its first 16 hex digits).
pub fn parse_seed(text: &str) -> Result<u64, String> {
    if text.len() == 40 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        return u64::from_str_radix(&text[..16], 16).map_err(|e| e.to_string());
    }
    text.parse::<u64>()
        .map_err(|_| format!("seed must be a u64 or a 40-hex commit id, got {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_options_and_valid_journal() {
        for seed in 0..200 {
            let a = Options::from_seed(seed);
            assert_eq!(a, Options::from_seed(seed));
            assert!(a.journal_slot_count >= a.checkpoint_interval_ops + 2 * a.pipeline_max as u64);
            assert!((1..=6).contains(&a.replica_count));
        }
        assert_ne!(Options::from_seed(1), Options::from_seed(2));
        assert_eq!(parse_seed("42"), Ok(42));
        assert_eq!(
            parse_seed("0123456789abcdef0123456789abcdef01234567"),
            Ok(0x0123_4567_89ab_cdef)
        );
        assert!(parse_seed("x").is_err());
    }
}
