//! Who sends and polls what: the actors of a run and the partitions they are pinned
//! to, derived from the flags alone (pure, so it is unit-tested).

use super::args::{BenchArgs, Workload};

/// The topic every bench stream holds.
pub const TOPIC_NAME: &str = "bench-topic";

/// A (stream, partition) by position: stream index `0..streams`, partition id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Slot {
    /// Stream index (its name is `<prefix>-<stream + 1>`).
    pub stream: u32,
    /// Partition id.
    pub partition: u32,
}

/// The shape of a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// Workload.
    pub workload: Workload,
    /// Payload bytes per message.
    pub message_size: u64,
    /// Messages per batch.
    pub messages_per_batch: u32,
    /// Batches each producer sends, or each pinned consumer reads.
    pub batches: u64,
    /// Producers measured.
    pub producers: u32,
    /// Consumers measured.
    pub consumers: u32,
    /// Streams used.
    pub streams: u32,
    /// Partitions per topic.
    pub partitions: u32,
}

impl Plan {
    /// Derives the plan from the flags; `Err` explains a flag combination that cannot
    /// run.
    pub fn new(args: &BenchArgs) -> Result<Self, String> {
        let workload = args.workload;
        let producers = if workload.produces() { args.producers } else { 0 };
        let consumers = if workload.consumes() { args.consumers } else { 0 };
        if workload.produces() && producers == 0 {
            return Err("this workload needs at least one producer".into());
        }
        if workload.consumes() && consumers == 0 {
            return Err("this workload needs at least one consumer".into());
        }
        if args.messages_per_batch == 0 || args.message_size == 0 {
            return Err("messages per batch and message size must be above 0".into());
        }
        let streams = args.streams.unwrap_or(match workload {
            Workload::Pp => producers,
            Workload::Pc => consumers,
            Workload::Ppc => producers.max(consumers),
            Workload::Cg => 1,
        });
        let partitions =
            args.partitions.unwrap_or(if workload == Workload::Cg { consumers } else { 1 });
        if streams == 0 || partitions == 0 {
            return Err("streams and partitions must be above 0".into());
        }
        let batch_bytes = args.message_size * u64::from(args.messages_per_batch);
        let actors = u64::from(if workload.produces() { producers } else { consumers });
        let batches = match args.total_data {
            Some(total) => total.div_ceil(batch_bytes * actors).max(1),
            None => args.batches,
        };
        if batches == 0 {
            return Err("batches must be above 0".into());
        }
        Ok(Self {
            workload,
            message_size: args.message_size,
            messages_per_batch: args.messages_per_batch,
            batches,
            producers,
            consumers,
            streams,
            partitions,
        })
    }

    /// Where pinned actor `index` works: streams first, then partitions.
    #[must_use]
    pub fn pinned(&self, index: u32) -> Slot {
        Slot { stream: index % self.streams, partition: (index / self.streams) % self.partitions }
    }

    /// Messages one batch carries.
    #[must_use]
    pub fn batch_messages(&self) -> u64 {
        u64::from(self.messages_per_batch)
    }

    /// Messages pinned consumer `index` must read: its slot's share of what the
    /// producers send (`ppc`), or one actor's worth (`pc`).
    #[must_use]
    pub fn consumer_target(&self, index: u32) -> u64 {
        let per_actor = self.batches * self.batch_messages();
        match self.workload {
            Workload::Ppc => {
                let slot = self.pinned(index);
                let feeding = (0..self.producers).filter(|p| self.pinned(*p) == slot).count();
                feeding as u64 * per_actor
            }
            _ => per_actor,
        }
    }

    /// Batches to write into each slot before consumers are measured (`pc`, `cg`).
    #[must_use]
    pub fn prefill(&self) -> Vec<(Slot, u64)> {
        match self.workload {
            Workload::Pc => {
                let mut slots: Vec<Slot> = (0..self.consumers).map(|c| self.pinned(c)).collect();
                slots.sort();
                slots.dedup();
                slots.into_iter().map(|slot| (slot, self.batches)).collect()
            }
            Workload::Cg => {
                let total = u64::from(self.consumers) * self.batches;
                let per_partition = total.div_ceil(u64::from(self.partitions));
                (0..self.partitions)
                    .map(|partition| (Slot { stream: 0, partition }, per_partition))
                    .collect()
            }
            Workload::Pp | Workload::Ppc => Vec::new(),
        }
    }

    /// Messages the consumer group must read in all (`cg`).
    #[must_use]
    pub fn group_target(&self) -> u64 {
        self.prefill().iter().map(|(_, batches)| batches * self.batch_messages()).sum()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: BenchArgs,
    }

    fn plan_of(line: &str) -> Result<Plan, String> {
        let args = Cli::try_parse_from(format!("bench {line}").split_whitespace())
            .map_err(|error| error.to_string())?
            .args;
        Plan::new(&args)
    }

    #[test]
    fn pinned_producers_get_a_stream_each_by_default() {
        let plan = plan_of("pp -p 8").unwrap();
        assert_eq!((plan.streams, plan.partitions, plan.consumers), (8, 1, 0));
        assert_eq!(plan.pinned(3), Slot { stream: 3, partition: 0 });
        assert!(plan.prefill().is_empty());
    }

    #[test]
    fn total_data_sets_batches_per_actor() {
        let plan = plan_of("pp -p 4 -m 1KB -P 100 -T 1MB").unwrap();
        // 1 MB over 4 producers of 100 KB batches: 2.5 → 3 batches each.
        assert_eq!(plan.batches, 3);
    }

    #[test]
    fn ppc_consumers_read_what_their_slot_receives() {
        let plan = plan_of("ppc -p 4 -c 2 -s 2 -b 10 -P 5").unwrap();
        assert_eq!(plan.consumer_target(0), 2 * 10 * 5);
        let plan = plan_of("ppc -p 2 -c 4 -b 10 -P 5").unwrap();
        assert_eq!(plan.streams, 4);
        assert_eq!(plan.consumer_target(1), 50);
        assert_eq!(plan.consumer_target(3), 0, "stream 3 has no producer");
    }

    #[test]
    fn consumer_workloads_prefill_their_partitions() {
        let plan = plan_of("pc -c 3 -b 7").unwrap();
        assert_eq!(plan.prefill().len(), 3);
        assert!(plan.prefill().iter().all(|(_, batches)| *batches == 7));
        let plan = plan_of("cg -c 3 --partitions 2 -b 5 -P 10").unwrap();
        assert_eq!(
            plan.prefill(),
            vec![(Slot { stream: 0, partition: 0 }, 8), (Slot { stream: 0, partition: 1 }, 8)]
        );
        assert_eq!(plan.group_target(), 160);
    }

    #[test]
    fn impossible_plans_are_refused() {
        assert!(plan_of("pp -p 0").is_err());
        assert!(plan_of("pc -c 1 -P 0").is_err());
        assert!(plan_of("pp --partitions 0").is_err());
    }
}
