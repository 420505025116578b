//! Turning actor reports into totals, the printed summary and `report.json`.

use std::fmt::Write;
use std::time::Duration;

use super::actors::{ActorKind, ActorReport};
use super::plan::Plan;
use super::stats::{Bucket, Percentiles, histogram, merge_buckets};
use crate::client::ClientStats;

/// Totals over the actors of one kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupSummary {
    /// Actors.
    pub actors: u32,
    /// Messages completed.
    pub messages: u64,
    /// Payload bytes completed.
    pub payload_bytes: u64,
    /// Requests completed.
    pub requests: u64,
    /// From the first actor's start to the last one's finish, seconds.
    pub duration_s: f64,
    /// Payload throughput, 10^6 bytes per second.
    pub mb_per_s: f64,
    /// Messages per second.
    pub msg_per_s: f64,
    /// Request latency over every request of every actor.
    pub latency_ms: Percentiles,
    /// Actors that stopped early.
    pub failed_actors: u32,
    /// Polls that returned nothing.
    pub empty_polls: u64,
    /// Throughput per 100 ms, MB/s (for the chart).
    #[serde(skip)]
    pub series_mb_per_s: Vec<f64>,
    /// Latency value at quantiles (for the chart): (quantile, ms).
    #[serde(skip)]
    pub quantile_curve: Vec<(f64, f64)>,
}

/// One actor in the JSON report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ActorSummary {
    /// Producer or consumer.
    pub kind: ActorKind,
    /// Index.
    pub index: u32,
    /// Stream index and partition (pinned actors).
    pub slot: Option<super::plan::Slot>,
    /// Messages.
    pub messages: u64,
    /// Payload bytes.
    pub payload_bytes: u64,
    /// Seconds from its start to its finish.
    pub duration_s: f64,
    /// Its throughput, MB/s.
    pub mb_per_s: f64,
    /// Its latency.
    pub latency_ms: Percentiles,
    /// Why it stopped early.
    pub error: Option<String>,
    /// Its client's failover counters.
    pub client: ClientStats,
}

/// Everything `report.json` holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// Run name.
    pub name: String,
    /// Start time, seconds since the Unix epoch.
    pub started_at: u64,
    /// Transport.
    pub transport: String,
    /// Addresses dialed.
    pub addresses: Vec<String>,
    /// The plan.
    pub plan: Plan,
    /// Producer totals (absent when none were measured).
    pub producers: Option<GroupSummary>,
    /// Consumer totals.
    pub consumers: Option<GroupSummary>,
    /// Messages the consumers had to read in all.
    pub consumer_target: u64,
    /// Per actor.
    pub actors: Vec<ActorSummary>,
}

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn rate(amount: u64, duration: Duration) -> f64 {
    if duration.is_zero() { 0.0 } else { amount as f64 / duration.as_secs_f64() }
}

/// Sums the actors of `kind`; `None` if there are none.
#[must_use]
pub fn summarize(actors: &[ActorReport], kind: ActorKind) -> Option<GroupSummary> {
    let actors: Vec<&ActorReport> = actors.iter().filter(|actor| actor.kind == kind).collect();
    if actors.is_empty() {
        return None;
    }
    let mut latency = histogram();
    let mut buckets: Vec<Bucket> = Vec::new();
    for actor in &actors {
        latency.add(&actor.stats.latency).expect("histograms share their bounds");
        merge_buckets(&mut buckets, &actor.stats.buckets);
    }
    let started = actors.iter().map(|actor| actor.started).min().unwrap_or_default();
    let finished = actors.iter().map(|actor| actor.finished).max().unwrap_or_default();
    let duration = finished.saturating_sub(started);
    let messages = actors.iter().map(|actor| actor.stats.messages).sum();
    let payload_bytes = actors.iter().map(|actor| actor.stats.bytes).sum();
    let per_second = 1.0 / super::stats::BUCKET.as_secs_f64();
    let quantile_curve = if latency.is_empty() {
        Vec::new()
    } else {
        // Quantiles 1 - 10^(-k/20): evenly spaced on a "nines" axis up to 99.999 %.
        (0..=100)
            .map(|k| {
                let quantile = 1.0 - 10f64.powf(-f64::from(k) / 20.0);
                (quantile, latency.value_at_quantile(quantile) as f64 / 1000.0)
            })
            .collect()
    };
    Some(GroupSummary {
        actors: actors.len() as u32,
        messages,
        payload_bytes,
        requests: actors.iter().map(|actor| actor.stats.requests).sum(),
        duration_s: seconds(duration),
        mb_per_s: rate(payload_bytes, duration) / 1e6,
        msg_per_s: rate(messages, duration),
        latency_ms: Percentiles::of(&latency),
        failed_actors: actors.iter().filter(|actor| actor.error.is_some()).count() as u32,
        empty_polls: actors.iter().map(|actor| actor.stats.empty_polls).sum(),
        series_mb_per_s: buckets.iter().map(|b| b.bytes as f64 * per_second / 1e6).collect(),
        quantile_curve,
    })
}

/// Per-actor lines of the JSON report.
#[must_use]
pub fn actor_summaries(actors: &[ActorReport]) -> Vec<ActorSummary> {
    actors
        .iter()
        .map(|actor| {
            let duration = actor.finished.saturating_sub(actor.started);
            ActorSummary {
                kind: actor.kind,
                index: actor.index,
                slot: actor.slot,
                messages: actor.stats.messages,
                payload_bytes: actor.stats.bytes,
                duration_s: seconds(duration),
                mb_per_s: rate(actor.stats.bytes, duration) / 1e6,
                latency_ms: Percentiles::of(&actor.stats.latency),
                error: actor.error.clone(),
                client: actor.client,
            }
        })
        .collect()
}

/// The human summary of one group.
#[must_use]
pub fn describe(title: &str, summary: &GroupSummary) -> String {
    let mut text = String::new();
    let l = &summary.latency_ms;
    let _ = writeln!(
        text,
        "{title}: {} messages, {:.1} MB in {:.2} s: {:.1} MB/s, {:.0} msg/s ({} actors{})",
        summary.messages,
        summary.payload_bytes as f64 / 1e6,
        summary.duration_s,
        summary.mb_per_s,
        summary.msg_per_s,
        summary.actors,
        if summary.failed_actors > 0 {
            format!(", {} FAILED", summary.failed_actors)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        text,
        "  latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p999 {:.3}  p9999 {:.3}  \
         min {:.3}  max {:.3}  avg {:.3}",
        l.p50, l.p90, l.p99, l.p999, l.p9999, l.min, l.max, l.mean
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::ActorStats;

    fn actor(kind: ActorKind, started_ms: u64, finished_ms: u64, latency_ms: u64) -> ActorReport {
        let mut stats = ActorStats::default();
        stats.record(
            Duration::from_millis(finished_ms),
            Duration::from_millis(latency_ms),
            1000,
            1_000_000,
        );
        ActorReport {
            kind,
            index: 0,
            slot: None,
            stats,
            started: Duration::from_millis(started_ms),
            finished: Duration::from_millis(finished_ms),
            error: None,
            client: ClientStats::default(),
        }
    }

    #[test]
    fn totals_span_the_first_start_to_the_last_finish() {
        let actors = [
            actor(ActorKind::Producer, 0, 500, 2),
            actor(ActorKind::Producer, 100, 1000, 4),
            actor(ActorKind::Consumer, 0, 10, 1),
        ];
        let producers = summarize(&actors, ActorKind::Producer).unwrap();
        assert_eq!(
            (producers.actors, producers.messages, producers.payload_bytes),
            (2, 2000, 2_000_000)
        );
        assert!((producers.duration_s - 1.0).abs() < 1e-9);
        assert!((producers.mb_per_s - 2.0).abs() < 1e-9);
        assert!((producers.msg_per_s - 2000.0).abs() < 1e-6);
        assert!((producers.latency_ms.max - 4.0).abs() < 0.01);
        assert_eq!(producers.series_mb_per_s.len(), 11);
        assert!((producers.series_mb_per_s[5] - 10.0).abs() < 1e-9, "1 MB in a 100 ms slice");
        assert_eq!(producers.quantile_curve.len(), 101);
        assert!(summarize(&actors[..1], ActorKind::Consumer).is_none());
        let text = describe("Producers", &producers);
        assert!(text.contains("2.0 MB/s") && text.contains("p9999"), "{text}");
    }
}
