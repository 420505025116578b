//! Process-wide counters and their Prometheus text rendering (`/metrics`).
//!
//! Counters are relaxed atomics bumped once per request or connection (never per
//! message), so sharing them between shards costs a cache line, not a lock. Per-group
//! consensus state comes from the shards' reports at scrape time.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::shard::inbox::ShardReport;

/// The node's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Client requests handled.
    pub requests: AtomicU64,
    /// Requests answered with a non-zero status or an eviction.
    pub request_errors: AtomicU64,
    /// Connections accepted (TCP and QUIC).
    pub connections_accepted: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
    /// Messages produced.
    pub messages_sent: AtomicU64,
    /// Messages returned by polls.
    pub messages_polled: AtomicU64,
    /// Request bytes received.
    pub bytes_received: AtomicU64,
    /// Reply bytes sent.
    pub bytes_sent: AtomicU64,
    /// Malformed or oversized frames.
    pub frames_rejected: AtomicU64,
}

impl Metrics {
    /// Adds `value` to `counter`.
    pub fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }

    /// Subtracts one from a gauge.
    pub fn decrement(counter: &AtomicU64) {
        counter.fetch_sub(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of the counters and the shards' reports.
    #[must_use]
    pub fn render(&self, reports: &[ShardReport]) -> String {
        let mut out = String::new();
        let counters = [
            ("vireo_requests_total", "Client requests handled.", &self.requests),
            (
                "vireo_request_errors_total",
                "Requests answered with an error.",
                &self.request_errors,
            ),
            (
                "vireo_connections_accepted_total",
                "Connections accepted.",
                &self.connections_accepted,
            ),
            ("vireo_messages_sent_total", "Messages produced.", &self.messages_sent),
            ("vireo_messages_polled_total", "Messages returned by polls.", &self.messages_polled),
            ("vireo_bytes_received_total", "Request bytes received.", &self.bytes_received),
            ("vireo_bytes_sent_total", "Reply bytes sent.", &self.bytes_sent),
            (
                "vireo_frames_rejected_total",
                "Malformed or oversized frames.",
                &self.frames_rejected,
            ),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        let _ = writeln!(out, "# HELP vireo_connections_open Open client connections.");
        let _ = writeln!(out, "# TYPE vireo_connections_open gauge");
        let _ = writeln!(
            out,
            "vireo_connections_open {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        type Gauge = (&'static str, &'static str, fn(&crate::shard::inbox::GroupHealth) -> u64);
        let gauges: [Gauge; 6] = [
            ("vireo_group_view", "Current view.", |g| u64::from(g.view)),
            ("vireo_group_op", "Head op.", |g| g.op),
            ("vireo_group_commit_min", "Applied op.", |g| g.commit_min),
            ("vireo_group_commit_max", "Committed op.", |g| g.commit_max),
            ("vireo_group_checkpoint_op", "Durable checkpoint op.", |g| g.checkpoint_op),
            ("vireo_group_ready", "1 when the group serves (primary, caught up).", |g| {
                u64::from(g.ready)
            }),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for group in reports.iter().flat_map(|report| &report.groups) {
                let _ = writeln!(out, "{name}{{group=\"{}\"}} {}", group.group, value(group));
            }
        }
        render_journal_repairs(&mut out, reports);
        out
    }
}

/// The kind of a consensus group, the label of the per-kind counters: group 0 is the
/// metadata group, every other group a partition group.
fn group_kind(group: u32) -> &'static str {
    if group == 0 { "metadata" } else { "partition" }
}

/// Journal damage and its repair (op by op, or by state transfer), summed per group kind
/// (since the process started):
/// an operator alerts on any increase without tracking every partition group.
fn render_journal_repairs(out: &mut String, reports: &[ShardReport]) {
    type Count = (&'static str, &'static str, fn(&crate::shard::inbox::GroupHealth) -> u64);
    let counts: [Count; 3] = [
        (
            "vireo_journal_prepares_repaired_total",
            "Journal prepares repaired from peers (missing or damaged locally).",
            |g| g.prepares_repaired,
        ),
        (
            "vireo_journal_faulty_slots_at_recovery_total",
            "Journal slots found damaged or unreadable when the node opened its groups.",
            |g| g.faulty_at_recovery,
        ),
        (
            "vireo_state_transfers_total",
            "State transfers from peers (a log too far behind to repair op by op).",
            |g| g.syncs,
        ),
    ];
    for (name, help, value) in counts {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for kind in ["metadata", "partition"] {
            let total: u64 = reports
                .iter()
                .flat_map(|report| &report.groups)
                .filter(|group| group_kind(group.group) == kind)
                .map(value)
                .sum();
            let _ = writeln!(out, "{name}{{kind=\"{kind}\"}} {total}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::inbox::GroupHealth;

    fn health(group: u32, prepares_repaired: u64, faulty_at_recovery: u64) -> GroupHealth {
        GroupHealth {
            group,
            ready: true,
            stall_reason: None,
            view: 0,
            op: 9,
            commit_min: 9,
            commit_max: 9,
            checkpoint_op: 0,
            prepares_repaired,
            faulty_at_recovery,
            syncs: 1,
        }
    }

    #[test]
    fn renders_counters_and_groups() {
        let metrics = Metrics::default();
        Metrics::add(&metrics.requests, 3);
        let report = ShardReport { view_op: 0, groups: vec![health(2, 0, 0)], clients: Vec::new() };
        let text = metrics.render(&[report]);
        assert!(text.contains("vireo_requests_total 3"));
        assert!(text.contains("vireo_group_op{group=\"2\"} 9"));
        assert!(text.contains("vireo_group_ready{group=\"2\"} 1"));
    }

    #[test]
    fn journal_repairs_are_summed_per_group_kind_across_shards() {
        let reports = [
            ShardReport {
                view_op: 0,
                groups: vec![health(0, 4, 1), health(2, 3, 2)],
                ..Default::default()
            },
            ShardReport { view_op: 0, groups: vec![health(1, 5, 0)], ..Default::default() },
        ];
        let text = Metrics::default().render(&reports);
        for line in [
            "# TYPE vireo_journal_prepares_repaired_total counter",
            "vireo_journal_prepares_repaired_total{kind=\"metadata\"} 4",
            "vireo_journal_prepares_repaired_total{kind=\"partition\"} 8",
            "vireo_journal_faulty_slots_at_recovery_total{kind=\"metadata\"} 1",
            "vireo_journal_faulty_slots_at_recovery_total{kind=\"partition\"} 2",
            "vireo_state_transfers_total{kind=\"partition\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from:\n{text}");
        }
    }
}
