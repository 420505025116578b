//! `vireo bench`: throughput and latency of any Iggy-protocol server, through our
//! client ([`crate::client`]) over TCP or QUIC.
//!
//! A run: derive the [`plan::Plan`] from the flags; create (or reuse) the streams
//! `<prefix>-1..` with one topic each; for consumer workloads prefill the partitions
//! (untimed); connect every actor, start them together, measure each request's
//! latency and each actor's throughput; print totals, write `report.json` and
//! `latency.svg`; delete what the run created. Exit status 1 if any actor failed or
//! consumers read fewer messages than their target.

pub mod actors;
mod args;
pub mod chart;
pub mod plan;
pub mod report;
pub mod setup;
pub mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use args::{BenchArgs, Workload, parse_size};
use tokio::sync::Barrier;

use self::actors::{ActorKind, ActorReport, Shared};
use self::plan::Plan;
use self::report::{Report, actor_summaries, describe, summarize};
use self::setup::StreamIds;
use crate::client::{Client, ClientConfig, Id};

/// Runs the bench described by `args`.
#[must_use]
pub fn run(args: &BenchArgs) -> ExitCode {
    let plan = match Plan::new(args) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("vireo bench: {error}");
            return ExitCode::from(2);
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("vireo bench: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(args, plan)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("vireo bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn progress_bar(args: &BenchArgs, total: u64, label: &str) -> indicatif::ProgressBar {
    if args.no_progress {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(
        "{prefix:>9} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} msg ({per_sec}, eta {eta})",
    )
    .expect("static template");
    bar.set_style(style);
    bar.set_prefix(label.to_owned());
    bar
}

/// The whole run; `Ok(false)` when it completed with failures.
async fn execute(args: &BenchArgs, plan: Plan) -> Result<bool, String> {
    let config = args.connect.client_config();
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-{started_at}", plan.workload.name(), config.transport));
    println!(
        "vireo bench {} over {} to {}: {} producer(s), {} consumer(s), {} stream(s) × {} \
         partition(s), {} batches × {} messages × {} B per actor",
        plan.workload.name(),
        config.transport,
        config.addresses.join(","),
        plan.producers,
        plan.consumers,
        plan.streams,
        plan.partitions,
        plan.batches,
        plan.messages_per_batch,
        plan.message_size
    );
    let mut admin = Client::connect(config.clone()).await.map_err(|error| error.to_string())?;
    let ids =
        setup::prepare(&mut admin, &plan, &args.stream_prefix, args.reuse, &args.topic_options)
            .await
            .map_err(|error| format!("preparing streams: {error}"))?;
    let outcome = measure(args, &plan, &config, &ids, &mut admin).await;
    if !args.keep && !args.reuse {
        match setup::cleanup(&mut admin, &ids).await {
            Ok(deleted) if deleted > 0 => println!("deleted {deleted} stream(s)"),
            Ok(_) => {}
            Err(error) => eprintln!("vireo bench: cleanup failed: {error}"),
        }
    }
    let (actors, consumer_target) = outcome?;
    let report = Report {
        name: name.clone(),
        started_at,
        transport: config.transport.to_string(),
        addresses: config.addresses.clone(),
        producers: summarize(&actors, ActorKind::Producer),
        consumers: summarize(&actors, ActorKind::Consumer),
        consumer_target,
        actors: actor_summaries(&actors),
        plan,
    };
    let ok = print_and_check(&report, &actors);
    let directory = write_report(&args.output_dir, &name, &report)?;
    println!("report: {}", directory.join("report.json").display());
    println!("chart:  {}", directory.join("latency.svg").display());
    Ok(ok)
}

/// Prefills, then runs the measured actors; returns their reports and the consumers'
/// message target.
async fn measure(
    args: &BenchArgs,
    plan: &Plan,
    config: &ClientConfig,
    ids: &[StreamIds],
    admin: &mut Client,
) -> Result<(Vec<ActorReport>, u64), String> {
    prefill(args, plan, config, ids, admin).await?;
    let group = if plan.workload == Workload::Cg {
        let name = format!("{}-group-{}", args.stream_prefix, std::process::id());
        let (stream, topic) = (Id::Numeric(ids[0].stream), Id::Numeric(ids[0].topic));
        let group = admin
            .create_consumer_group(&stream, &topic, &name)
            .await
            .map_err(|error| format!("creating consumer group: {error}"))?;
        Some(group.id)
    } else {
        None
    };
    let consumer_target = match group {
        Some(_) => plan.group_target(),
        None => (0..plan.consumers).map(|index| plan.consumer_target(index)).sum(),
    };
    let produced = plan.batches * plan.batch_messages() * u64::from(plan.producers);
    let progress = progress_bar(args, produced + consumer_target, "measuring");
    let shared = Shared {
        config: config.clone(),
        plan: Arc::new(plan.clone()),
        ids: Arc::new(ids.to_vec()),
        barrier: Arc::new(Barrier::new((plan.producers + plan.consumers) as usize)),
        start: Arc::new(OnceLock::new()),
        progress: progress.clone(),
        stall: Duration::from_secs(args.stall_timeout.max(1)),
        verify: args.verify,
    };
    let mut tasks = Vec::new();
    for index in 0..plan.producers {
        tasks.push(tokio::spawn(actors::producer(shared.clone(), index)));
    }
    let consumed = Arc::new(AtomicU64::new(0));
    for index in 0..plan.consumers {
        let shared = shared.clone();
        tasks.push(match group {
            Some(group) => tokio::spawn(actors::group_member(
                shared,
                index,
                group,
                Arc::clone(&consumed),
                consumer_target,
            )),
            None => tokio::spawn(actors::consumer(shared, index)),
        });
    }
    let mut reports = Vec::with_capacity(tasks.len());
    for task in tasks {
        reports.push(task.await.map_err(|error| format!("an actor panicked: {error}"))?);
    }
    progress.finish_and_clear();
    if let Some(group) = group {
        let (stream, topic) = (Id::Numeric(ids[0].stream), Id::Numeric(ids[0].topic));
        let _ = admin.delete_consumer_group(&stream, &topic, &Id::Numeric(group)).await;
    }
    Ok((reports, consumer_target))
}

/// Writes the messages consumer workloads read, unless they are already stored.
async fn prefill(
    args: &BenchArgs,
    plan: &Plan,
    config: &ClientConfig,
    ids: &[StreamIds],
    admin: &mut Client,
) -> Result<(), String> {
    let missing = setup::missing_batches(admin, plan, ids)
        .await
        .map_err(|error| format!("checking stored messages: {error}"))?;
    if missing.is_empty() {
        return Ok(());
    }
    let total: u64 = missing.iter().map(|(_, batches)| batches * plan.batch_messages()).sum();
    println!("prefilling {total} messages into {} partition(s) (not measured)", missing.len());
    let progress = progress_bar(args, total, "prefill");
    let mut tasks = Vec::new();
    for (index, (slot, batches)) in missing.into_iter().enumerate() {
        let prepared =
            actors::prepare_batch(plan, index as u32, ids[slot.stream as usize], slot.partition)
                .map_err(|error| error.to_string())?;
        tasks.push(tokio::spawn(setup::fill(config.clone(), prepared, batches, progress.clone())));
    }
    for task in tasks {
        task.await
            .map_err(|error| format!("prefill panicked: {error}"))?
            .map_err(|error| format!("prefill: {error}"))?;
    }
    progress.finish_and_clear();
    Ok(())
}

/// Prints the totals and every actor failure; `false` if the run is not sound.
fn print_and_check(report: &Report, actors: &[ActorReport]) -> bool {
    let mut ok = true;
    if let Some(producers) = &report.producers {
        print!("{}", describe("Producers", producers));
        let expected =
            report.plan.batches * report.plan.batch_messages() * u64::from(report.plan.producers);
        if producers.messages != expected {
            println!("  producers sent {} of {expected} messages", producers.messages);
            ok = false;
        }
    }
    if let Some(consumers) = &report.consumers {
        print!("{}", describe("Consumers", consumers));
        if consumers.messages < report.consumer_target {
            println!(
                "  consumers read {} of {} messages",
                consumers.messages, report.consumer_target
            );
            ok = false;
        }
    }
    for actor in actors {
        if let Some(error) = &actor.error {
            eprintln!("vireo bench: {:?} {} failed: {error}", actor.kind, actor.index);
            ok = false;
        }
    }
    let failovers: u64 = actors.iter().map(|actor| actor.client.reconnects).sum();
    if failovers > 0 {
        println!("client reconnects during the run: {failovers}");
    }
    ok
}

/// Writes `report.json` and `latency.svg` into `<output>/<name>/`.
fn write_report(output: &std::path::Path, name: &str, report: &Report) -> Result<PathBuf, String> {
    let directory = output.join(name);
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("creating {}: {error}", directory.display()))?;
    let json = serde_json::to_string_pretty(report).map_err(|error| error.to_string())?;
    let path = directory.join("report.json");
    std::fs::write(&path, json).map_err(|error| format!("writing {}: {error}", path.display()))?;
    let title = format!("{} over {}", report.plan.workload.name(), report.transport);
    let svg = chart::render(&title, report.producers.as_ref(), report.consumers.as_ref());
    let path = directory.join("latency.svg");
    std::fs::write(&path, svg).map_err(|error| format!("writing {}: {error}", path.display()))?;
    Ok(directory)
}
