//! What each actor measures: a latency histogram (µs) and a time series of 100 ms
//! buckets, both bounded in memory.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Width of one time-series bucket.
pub const BUCKET: Duration = Duration::from_millis(100);
/// Most buckets kept (one hour); later samples land in the last one.
pub const BUCKETS_MAX: usize = 36_000;
/// Highest latency the histograms track, µs (one hour); higher values are clamped.
const LATENCY_MAX_US: u64 = 3_600_000_000;

/// One 100 ms slice of an actor's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bucket {
    /// Messages completed in the slice.
    pub messages: u64,
    /// Payload bytes completed.
    pub bytes: u64,
    /// Requests completed.
    pub requests: u64,
    /// Sum of their latencies, µs.
    pub latency_us_sum: u64,
}

/// One actor's measurements.
#[derive(Debug, Clone)]
pub struct ActorStats {
    /// Request latencies, µs (3 significant digits).
    pub latency: Histogram<u64>,
    /// The time series, from the run's start.
    pub buckets: Vec<Bucket>,
    /// Messages completed.
    pub messages: u64,
    /// Payload bytes completed.
    pub bytes: u64,
    /// Requests completed (non-empty polls for consumers).
    pub requests: u64,
    /// Polls that returned nothing (consumers waiting for producers).
    pub empty_polls: u64,
}

/// A fresh latency histogram.
#[must_use]
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("static histogram bounds")
}

impl Default for ActorStats {
    fn default() -> Self {
        Self {
            latency: histogram(),
            buckets: Vec::new(),
            messages: 0,
            bytes: 0,
            requests: 0,
            empty_polls: 0,
        }
    }
}

impl ActorStats {
    /// Records one completed request that finished `at` (since the run's start).
    pub fn record(&mut self, at: Duration, latency: Duration, messages: u64, bytes: u64) {
        let micros =
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).clamp(1, LATENCY_MAX_US);
        self.latency.record(micros).expect("clamped into the histogram's range");
        self.messages += messages;
        self.bytes += bytes;
        self.requests += 1;
        let index = usize::try_from(at.as_millis() / BUCKET.as_millis())
            .unwrap_or(usize::MAX)
            .min(BUCKETS_MAX - 1);
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, Bucket::default());
        }
        let bucket = &mut self.buckets[index];
        bucket.messages += messages;
        bucket.bytes += bytes;
        bucket.requests += 1;
        bucket.latency_us_sum += micros;
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 95th.
    pub p95: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
    /// 99.99th.
    pub p9999: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stddev: f64,
}

impl Percentiles {
    /// Reads `histogram` (µs).
    #[must_use]
    pub fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        let at = |quantile: f64| ms(histogram.value_at_quantile(quantile));
        Self {
            p50: at(0.50),
            p90: at(0.90),
            p95: at(0.95),
            p99: at(0.99),
            p999: at(0.999),
            p9999: at(0.9999),
            min: ms(histogram.min()),
            max: ms(histogram.max()),
            mean: histogram.mean() / 1000.0,
            stddev: histogram.stdev() / 1000.0,
        }
    }
}

/// Adds `other`'s buckets into `into`, slice by slice.
pub fn merge_buckets(into: &mut Vec<Bucket>, other: &[Bucket]) {
    if into.len() < other.len() {
        into.resize(other.len(), Bucket::default());
    }
    for (sum, bucket) in into.iter_mut().zip(other) {
        sum.messages += bucket.messages;
        sum.bytes += bucket.bytes;
        sum.requests += bucket.requests;
        sum.latency_us_sum += bucket.latency_us_sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_land_in_histogram_and_buckets() {
        let mut stats = ActorStats::default();
        stats.record(Duration::from_millis(50), Duration::from_millis(2), 10, 1000);
        stats.record(Duration::from_millis(250), Duration::from_millis(4), 10, 1000);
        assert_eq!((stats.messages, stats.bytes, stats.requests), (20, 2000, 2));
        assert_eq!(stats.buckets.len(), 3);
        assert_eq!(stats.buckets[0].messages, 10);
        assert_eq!(stats.buckets[1], Bucket::default());
        assert_eq!(stats.buckets[2].latency_us_sum, 4000);
        let percentiles = Percentiles::of(&stats.latency);
        assert!((percentiles.p50 - 2.0).abs() < 0.01, "{percentiles:?}");
        assert!((percentiles.max - 4.0).abs() < 0.01, "{percentiles:?}");
    }

    #[test]
    fn time_and_latency_are_bounded() {
        let mut stats = ActorStats::default();
        stats.record(Duration::from_secs(1_000_000), Duration::from_secs(1_000_000), 1, 1);
        assert_eq!(stats.buckets.len(), BUCKETS_MAX);
        assert!(Percentiles::of(&stats.latency).max <= 3_600_000.0 * 1.001);
        let mut merged = vec![Bucket { messages: 1, ..Bucket::default() }];
        merge_buckets(&mut merged, &[Bucket { messages: 2, ..Bucket::default() }; 3]);
        assert_eq!(merged.iter().map(|b| b.messages).collect::<Vec<_>>(), vec![3, 2, 2]);
    }
}
