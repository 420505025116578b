//! `vireo bench` flags.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::ConnectArgs;

/// What runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Pinned producers: producer i sends to its own stream (and partition).
    Pp,
    /// Pinned consumers: consumer i polls its own stream (prefilled, untimed).
    Pc,
    /// Pinned producers and consumers at once; consumers follow the producers.
    Ppc,
    /// A consumer group over one stream's partitions (prefilled, untimed).
    Cg,
}

impl Workload {
    /// Whether producers are measured.
    #[must_use]
    pub fn produces(self) -> bool {
        matches!(self, Self::Pp | Self::Ppc)
    }

    /// Whether consumers are measured.
    #[must_use]
    pub fn consumes(self) -> bool {
        !matches!(self, Self::Pp)
    }

    /// The short name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Pp => "pp",
            Self::Pc => "pc",
            Self::Ppc => "ppc",
            Self::Cg => "cg",
        }
    }
}

/// `vireo bench <workload> …`: benchmarks any Iggy-protocol server (only the wire
/// protocol is assumed). Creates its streams and topics, measures, prints MB/s, msg/s
/// and latency percentiles, writes `report.json` and `latency.svg`, and deletes what
/// it created.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Workload.
    #[arg(value_enum)]
    pub workload: Workload,
    /// Payload bytes per message (`1000`, `1KB`, `1KiB`).
    #[arg(long, short = 'm', default_value = "1000", value_parser = parse_size)]
    pub message_size: u64,
    /// Messages per batch (one request).
    #[arg(long = "messages-per-batch", short = 'P', default_value_t = 1000)]
    pub messages_per_batch: u32,
    /// Batches per actor.
    #[arg(long, short = 'b', default_value_t = 1000, conflicts_with = "total_data")]
    pub batches: u64,
    /// Total payload to send (or consume) over all actors, e.g. `1GB`; sets the
    /// batches per actor.
    #[arg(long, short = 'T', value_parser = parse_size)]
    pub total_data: Option<u64>,
    /// Producers.
    #[arg(long, short = 'p', default_value_t = 8)]
    pub producers: u32,
    /// Consumers.
    #[arg(long, short = 'c', default_value_t = 8)]
    pub consumers: u32,
    /// Streams (default: one per pinned actor; 1 for `cg`).
    #[arg(long, short = 's')]
    pub streams: Option<u32>,
    /// Partitions per topic (default: 1; the number of consumers for `cg`).
    #[arg(long)]
    pub partitions: Option<u32>,
    /// Topic option `key=value` for created topics (repeatable), e.g. `durability=persisted`.
    #[arg(long = "topic-option", value_parser = parse_option)]
    pub topic_options: Vec<(String, String)>,
    /// Prefix of the stream names (`<prefix>-1`, `<prefix>-2`, …).
    #[arg(long, default_value = "bench")]
    pub stream_prefix: String,
    /// Use existing streams and topics (create missing ones) and delete nothing.
    #[arg(long)]
    pub reuse: bool,
    /// Keep the streams this run created.
    #[arg(long)]
    pub keep: bool,
    /// Verify message checksums of every polled batch.
    #[arg(long)]
    pub verify: bool,
    /// Where the report directory is created.
    #[arg(long, short = 'o', default_value = "bench-results")]
    pub output_dir: PathBuf,
    /// Name of this run (default: `<workload>-<transport>-<unix time>`).
    #[arg(long)]
    pub name: Option<String>,
    /// Fail an actor that makes no progress for this many seconds.
    #[arg(long, default_value_t = 30)]
    pub stall_timeout: u64,
    /// Runtime worker threads (default: one per CPU).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `1000`, `1KB` (10^3), `1KiB` (2^10), `1.5MB`, `2GiB`, …
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 1000, 1KB, 1MiB"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit {other:?}")),
    };
    let bytes = number * factor;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(bytes.round() as u64)
}

fn parse_option(text: &str) -> Result<(String, String), String> {
    let (key, value) =
        text.split_once('=').ok_or_else(|| format!("expected key=value, got {text:?}"))?;
    Ok((key.trim().to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_decimal_and_binary_units() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("1KB"), Ok(1000));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("1.5 MB"), Ok(1_500_000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("abc").is_err());
        assert!(parse_size("-1").is_err());
    }
}
