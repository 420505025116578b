//! The `vireo` binary: `vireo server` today; the bench and admin subcommands join this
//! multi-command later.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use vireo_node::config::{self, keys::KEYS};

/// Vireo: a replicated message-streaming cluster speaking the Apache Iggy protocol.
#[derive(Debug, Parser)]
#[command(name = "vireo", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node.
    Server(ServerArgs),
    /// Benchmark any Iggy-protocol server (pp, pc, ppc, cg) over TCP or QUIC.
    Bench(vireo_node::bench::BenchArgs),
    #[command(flatten)]
    Admin(vireo_node::cli::AdminCommand),
}

/// Every configuration key can be set in the TOML file, as a `VIREO_SECTION_KEY`
/// environment variable, or with `--set section.key=value` (highest precedence).
#[derive(Debug, Args)]
struct ServerArgs {
    /// TOML configuration file.
    #[arg(long, short = 'c', env = "VIREO_CONFIG")]
    config: Option<PathBuf>,
    /// Override any key: `--set tcp.address=127.0.0.1:9000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Shorthand for `--set node.data_dir=…`.
    #[arg(long)]
    data_dir: Option<String>,
    /// Shorthand for `--set tcp.address=…`.
    #[arg(long)]
    tcp_address: Option<String>,
    /// Shorthand for `--set quic.address=…`.
    #[arg(long)]
    quic_address: Option<String>,
    /// Shorthand for `--set http.address=…`.
    #[arg(long)]
    http_address: Option<String>,
    /// Shorthand for `--set node.shards=…`.
    #[arg(long)]
    shards: Option<u32>,
    /// ACCEPTS DATA LOSS: open replicas that may have lost unsynced writes (after a
    /// reboot without a clean shutdown) as if those writes survived.
    #[arg(long)]
    force_recover: bool,
    /// Print every configuration key with its environment variable, then exit.
    #[arg(long)]
    help_config: bool,
    /// Load and validate the configuration as a start would, print a one-line summary
    /// (or every problem) and exit: 0 when valid, 3 when not. Opens no data directory
    /// and binds no port.
    #[arg(long)]
    check: bool,
}

impl ServerArgs {
    fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let shorthands = [
            ("node.data_dir", self.data_dir.clone()),
            ("tcp.address", self.tcp_address.clone()),
            ("quic.address", self.quic_address.clone()),
            ("http.address", self.http_address.clone()),
            ("node.shards", self.shards.map(|shards| shards.to_string())),
        ];
        for (key, value) in shorthands {
            if let Some(value) = value {
                flags.push(format!("{key}={value}"));
            }
        }
        if self.force_recover {
            flags.push("node.force_recover=true".into());
        }
        flags.extend(self.set.iter().cloned());
        flags
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => {
            if args.help_config {
                for key in KEYS {
                    println!("{:<40} {:<45} {}", key.name, key.env_name(), key.help);
                }
                return ExitCode::SUCCESS;
            }
            if !args.check {
                init_tracing();
            }
            let config = match config::load(args.config.as_deref(), std::env::vars(), &args.flags())
            {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("vireo: {error}");
                    return ExitCode::from(vireo_node::exit::ExitCode::Config as u8);
                }
            };
            if args.check {
                println!("{}", vireo_node::cli::check::summary(&config));
                return ExitCode::SUCCESS;
            }
            ExitCode::from(vireo_node::server::run(config) as u8)
        }
        Command::Bench(args) => vireo_node::bench::run(&args),
        Command::Admin(command) => vireo_node::cli::run(command),
    }
}
