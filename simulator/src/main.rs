//! `vireo-sim`: run the deterministic simulator from a seed, or a swarm of seeds.
//!
//! Exit codes: 0 passed (or a stall the run proves justified), 127 a replica or checker
//! crashed (assertion), 128 liveness (no convergence after healing), 129 correctness (a
//! safety checker failed), 2 bad arguments.

// The wall clock appears only here, in the binary's swarm time box and speed report;
// nothing inside a simulated run reads it (the library is checked without this allow).
#![allow(clippy::disallowed_methods)]

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use vireo_consensus::Durability;
use vireo_simulator::cluster::{Cluster, Log, Outcome};
use vireo_simulator::options::{Options, parse_seed};
use vireo_simulator::summary::Summary;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "vireo-sim",
    about = "Deterministic simulator: fuzzes Vireo's consensus and storage from a seed"
)]
struct Args {
    /// Run this seed (a u64, or a 40-hex commit id).
    #[arg(long, value_parser = parse_seed)]
    seed: Option<u64>,
    /// Swarm: run this many seeds (derived from --from) on all cores.
    #[arg(long)]
    seeds: Option<u64>,
    /// Swarm: run seeds for this many minutes.
    #[arg(long)]
    minutes: Option<f64>,
    /// First seed of a swarm (a u64 or a 40-hex commit id); random seeds are derived from it.
    #[arg(long, value_parser = parse_seed, default_value = "0")]
    from: u64,
    /// Swarm worker threads (default: all cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Override: replica count (1..=6).
    #[arg(long)]
    replicas: Option<u8>,
    /// Override: client count.
    #[arg(long)]
    clients: Option<usize>,
    /// Override: durability (`replicated` or `persisted`).
    #[arg(long)]
    durability: Option<String>,
    /// Override: ticks of the faulty phase.
    #[arg(long)]
    ticks: Option<u64>,
    /// Override: requests per client.
    #[arg(long)]
    requests: Option<u64>,
    /// Override: force (or forbid) one whole-cluster power loss.
    #[arg(long)]
    cluster_power_loss: Option<bool>,
    /// Log: quiet, short (status changes) or full (every message).
    #[arg(long, default_value = "short")]
    log: String,
    /// Run the seed twice and require identical summaries.
    #[arg(long)]
    check_determinism: bool,
}

thread_local! {
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook(quiet: bool) {
    panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        let location =
            info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let text = format!("{message} at {location}");
        if !quiet {
            eprintln!("panicked: {text}");
            if std::env::var_os("RUST_BACKTRACE").is_some() {
                eprintln!("{}", std::backtrace::Backtrace::force_capture());
            }
        }
        PANIC.with(|cell| *cell.borrow_mut() = Some(text));
    }));
}

fn options_for(seed: u64, args: &Args) -> Result<Options, String> {
    let mut options = Options::from_seed(seed);
    if let Some(replicas) = args.replicas {
        if !(1..=6).contains(&replicas) {
            return Err(format!("--replicas must be 1..=6, got {replicas}"));
        }
        options.replica_count = replicas;
    }
    if let Some(clients) = args.clients {
        options.client_count = clients.max(1);
    }
    if let Some(durability) = &args.durability {
        options.durability = match durability.as_str() {
            "replicated" => Durability::Replicated,
            "persisted" => Durability::Persisted,
            other => {
                return Err(format!("--durability must be replicated or persisted, got {other:?}"));
            }
        };
    }
    if let Some(ticks) = args.ticks {
        options.ticks_safety = ticks;
    }
    if let Some(requests) = args.requests {
        options.requests_per_client = requests;
    }
    if let Some(power_loss) = args.cluster_power_loss {
        options.node.cluster_power_loss = power_loss;
    }
    Ok(options)
}

/// Result of one seed.
struct RunResult {
    code: u8,
    kind: &'static str,
    detail: String,
    summary: Summary,
}

fn run_seed(options: Options, log: Log) -> RunResult {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut cluster = Cluster::new(options, log);
        let outcome = cluster.run();
        cluster.finish_summary();
        (outcome, cluster.summary.clone())
    }));
    let (code, kind, detail, summary) = match outcome {
        Ok((Outcome::Passed, summary)) => (0, "passed", String::new(), summary),
        Ok((Outcome::StalledJustified(reason), summary)) => {
            (0, "stalled (justified)", reason, summary)
        }
        Ok((Outcome::Liveness(detail), summary)) => (128, "liveness", detail, summary),
        Ok((Outcome::Correctness(violation), summary)) => {
            (129, "correctness", format!("{}: {}", violation.checker, violation.detail), summary)
        }
        Err(_) => {
            let detail = PANIC.with(|cell| cell.borrow_mut().take()).unwrap_or_default();
            (127, "crash", detail, Summary::default())
        }
    };
    RunResult { code, kind, detail, summary }
}

fn replay_command(seed: u64, args: &Args) -> String {
    let mut command = format!("vireo-sim --seed {seed}");
    if let Some(r) = args.replicas {
        command.push_str(&format!(" --replicas {r}"));
    }
    if let Some(c) = args.clients {
        command.push_str(&format!(" --clients {c}"));
    }
    if let Some(d) = &args.durability {
        command.push_str(&format!(" --durability {d}"));
    }
    if let Some(t) = args.ticks {
        command.push_str(&format!(" --ticks {t}"));
    }
    if let Some(r) = args.requests {
        command.push_str(&format!(" --requests {r}"));
    }
    if let Some(p) = args.cluster_power_loss {
        command.push_str(&format!(" --cluster-power-loss {p}"));
    }
    command
}

fn single(seed: u64, args: &Args) -> ExitCode {
    let options = match options_for(seed, args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("vireo-sim: {error}");
            return ExitCode::from(2);
        }
    };
    let log = match args.log.as_str() {
        "quiet" => Log::Quiet,
        "short" => Log::Short,
        "full" => Log::Full,
        other => {
            eprintln!("vireo-sim: --log must be quiet, short or full, got {other:?}");
            return ExitCode::from(2);
        }
    };
    println!("{}", options.describe());
    install_panic_hook(false);
    let started = Instant::now();
    let result = run_seed(options.clone(), log);
    if args.check_determinism {
        let again = run_seed(options, Log::Quiet);
        if again.summary != result.summary || again.code != result.code {
            let (first, second) = (result.summary.describe(), again.summary.describe());
            println!(
                "NONDETERMINISTIC: two runs of seed {seed} differ\nfirst:\n{first}\nsecond:\n{second}"
            );
            return ExitCode::from(129);
        }
        println!("determinism: two runs identical");
    }
    println!("{}", result.summary.describe());
    println!("result: {} in {:.2}s", result.kind, started.elapsed().as_secs_f64());
    if !result.detail.is_empty() {
        println!("detail: {}", result.detail);
    }
    if result.code != 0 {
        println!("replay: {}", replay_command(seed, args));
    }
    ExitCode::from(result.code)
}

fn swarm(args: &Args) -> ExitCode {
    install_panic_hook(true);
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let count = args.seeds.unwrap_or(u64::MAX);
    let deadline = args.minutes.map(|m| Instant::now() + Duration::from_secs_f64(m * 60.0));
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let totals = Arc::new(Mutex::new(Summary::default()));
    let justified = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut base = vireo_consensus::prng::Prng::new(args.from);
    let first = base.next_u64();
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let (next, failures, totals, args) =
                (next.clone(), failures.clone(), totals.clone(), args.clone());
            let justified = justified.clone();
            std::thread::spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= count || deadline.is_some_and(|d| Instant::now() >= d) {
                        return;
                    }
                    let seed = first.wrapping_add(index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    let Ok(options) = options_for(seed, &args) else { return };
                    let replay = replay_command(seed, &args);
                    let result = run_seed(options, Log::Quiet);
                    totals.lock().expect("not poisoned").accumulate(&result.summary);
                    if result.kind.starts_with("stalled") {
                        justified.fetch_add(1, Ordering::Relaxed);
                    }
                    if result.code != 0 {
                        let line = format!(
                            "seed {seed}: {} ({}) — replay: {replay}",
                            result.kind,
                            result.detail.lines().next().unwrap_or("")
                        );
                        eprintln!("FAIL {line}");
                        failures.lock().expect("not poisoned").push((result.code, line));
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let ran = next.load(Ordering::Relaxed).min(count);
    let elapsed = started.elapsed().as_secs_f64();
    let failures = failures.lock().expect("not poisoned");
    println!(
        "swarm: {ran} seeds in {elapsed:.1}s on {jobs} threads ({:.1} seeds/s, {:.0} simulated ops per CPU-second), \
         {} failed, {} ended in a justified stall",
        ran as f64 / elapsed,
        totals.lock().expect("not poisoned").ops_committed as f64 / (elapsed * jobs as f64),
        failures.len(),
        justified.load(Ordering::Relaxed)
    );
    println!("swarm totals:\n{}", totals.lock().expect("not poisoned").describe());
    for (_, line) in failures.iter() {
        println!("  {line}");
    }
    match failures.iter().map(|(code, _)| *code).max() {
        None => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(code),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match (args.seed, args.seeds.is_some() || args.minutes.is_some()) {
        (Some(seed), false) => single(seed, &args),
        (None, true) => swarm(&args),
        _ => {
            eprintln!("vireo-sim: give --seed S, or --seeds N / --minutes M for a swarm");
            ExitCode::from(2)
        }
    }
}
