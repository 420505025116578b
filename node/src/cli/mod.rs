//! The admin CLI: `vireo stream|topic|message|stats|ping|cluster …` for users without
//! `iggy-cli`, on our own client ([`crate::client`]). Output is for people (tables,
//! sizes, UTC times; `--json` where a script wants it); errors go to stderr as
//! `vireo: …` with a non-zero exit status.

pub mod check;
pub mod cluster_up;
mod commands;
pub mod connect;
pub mod format;

use std::process::ExitCode;

use clap::{Args, Subcommand};

pub use commands::{MessageAction, StreamAction, TopicAction};
pub use connect::{ConnectArgs, TransportArg};

use crate::client::ClientError;

/// Admin subcommands, flattened into the `vireo` command line.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create, list or delete streams.
    Stream(StreamArgs),
    /// Create, list or delete topics.
    Topic(TopicArgs),
    /// Send or poll messages.
    Message(MessageArgs),
    /// Server statistics.
    Stats(PlainArgs),
    /// Round trips to the server.
    Ping(PingArgs),
    /// The cluster's nodes and leader; `vireo cluster up` starts a local cluster.
    Cluster(ClusterArgs),
}

/// `vireo cluster [up]`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ClusterArgs {
    #[command(subcommand)]
    action: Option<ClusterAction>,
    #[command(flatten)]
    plain: PlainArgs,
}

/// `vireo cluster …` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// Start three nodes of one cluster on loopback (data, configs and logs under
    /// `--dir`); Ctrl-C stops them.
    Up(cluster_up::UpArgs),
}

/// `vireo stream …`.
#[derive(Debug, Args)]
pub struct StreamArgs {
    #[command(subcommand)]
    action: StreamAction,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// `vireo topic …`.
#[derive(Debug, Args)]
pub struct TopicArgs {
    #[command(subcommand)]
    action: TopicAction,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// `vireo message …`.
#[derive(Debug, Args)]
pub struct MessageArgs {
    #[command(subcommand)]
    action: MessageAction,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// A command with only connection flags (and `--json`).
#[derive(Debug, Args)]
pub struct PlainArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// `vireo ping`.
#[derive(Debug, Args)]
pub struct PingArgs {
    /// Pings to send.
    #[arg(long, short = 'c', default_value_t = 1)]
    count: u32,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Runs one admin command to completion and maps the result to an exit status:
/// 0 success, 1 the server refused or the request failed, 3 no node reachable.
#[must_use]
pub fn run(command: AdminCommand) -> ExitCode {
    if let AdminCommand::Cluster(ClusterArgs { action: Some(ClusterAction::Up(args)), .. }) =
        &command
    {
        return cluster_up::run(args);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("vireo: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::execute(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vireo: {}", describe(&error));
            ExitCode::from(match error {
                ClientError::Unreachable { .. } => 3,
                _ => 1,
            })
        }
    }
}

/// One line saying what went wrong and, where it helps, what to do.
#[must_use]
pub fn describe(error: &ClientError) -> String {
    use crate::client::ServerError;
    match error {
        ClientError::Server(ServerError::InvalidCredentials) => {
            format!("{error} (check --username/--password or VIREO_USERNAME/VIREO_PASSWORD)")
        }
        ClientError::Unreachable { .. } => {
            format!("{error} (is the server running? check --address and --transport)")
        }
        _ => error.to_string(),
    }
}
