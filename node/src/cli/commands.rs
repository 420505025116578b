//! What each admin subcommand does.

use std::io::BufRead;

use clap::{ArgGroup, Subcommand};

use super::format::{bytes, table, timestamp};
use super::{AdminCommand, ConnectArgs};
use crate::client::{
    Client, ClientError, ConsumerId, Id, OutgoingMessage, Partitioning, PollingKind,
    PollingStrategy, topic_options,
};

/// `vireo stream` actions.
#[derive(Debug, Subcommand)]
pub enum StreamAction {
    /// Create a stream.
    Create {
        /// Its name.
        name: String,
    },
    /// List streams.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a stream and everything in it.
    Delete {
        /// Id or name.
        stream: Id,
    },
}

/// `vireo topic` actions.
#[derive(Debug, Subcommand)]
pub enum TopicAction {
    /// Create a topic.
    Create {
        /// Stream id or name.
        stream: Id,
        /// Topic name.
        name: String,
        /// Partitions.
        #[arg(long, default_value_t = 1)]
        partitions: u32,
        /// Topic option `key=value` (repeatable), e.g. `message_expiry=1h`,
        /// `max_topic_size=1GiB`.
        #[arg(long = "option", short = 'o', value_parser = parse_option)]
        options: Vec<(String, String)>,
    },
    /// List a stream's topics.
    List {
        /// Stream id or name.
        stream: Id,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a topic.
    Delete {
        /// Stream id or name.
        stream: Id,
        /// Topic id or name.
        topic: Id,
    },
}

/// `vireo message` actions.
#[derive(Debug, Subcommand)]
pub enum MessageAction {
    /// Send messages (the arguments, or one per line of stdin), as one batch.
    #[command(group(ArgGroup::new("target").args(["partition", "key"])))]
    Send {
        /// Stream id or name.
        stream: Id,
        /// Topic id or name.
        topic: Id,
        /// Payloads; none reads lines from stdin.
        messages: Vec<String>,
        /// Send to this partition (default: the server balances).
        #[arg(long)]
        partition: Option<u32>,
        /// Route by this messages key.
        #[arg(long)]
        key: Option<String>,
    },
    /// Poll messages and print them.
    #[command(group(ArgGroup::new("start").args(["offset", "first", "last", "next"])))]
    Poll {
        /// Stream id or name.
        stream: Id,
        /// Topic id or name.
        topic: Id,
        /// Partition.
        #[arg(long, default_value_t = 0)]
        partition: u32,
        /// Start at this offset (default 0).
        #[arg(long)]
        offset: Option<u64>,
        /// From the first message.
        #[arg(long)]
        first: bool,
        /// The last `count` messages.
        #[arg(long)]
        last: bool,
        /// After the consumer's stored offset.
        #[arg(long)]
        next: bool,
        /// Most messages to print.
        #[arg(long, short = 'n', default_value_t = 10)]
        count: u32,
        /// Consumer id (whose offset `--next` and `--auto-commit` use).
        #[arg(long, default_value = "1")]
        consumer: Id,
        /// Store the last polled offset as the consumer's.
        #[arg(long)]
        auto_commit: bool,
        /// Print JSON lines instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn parse_option(text: &str) -> Result<(String, String), String> {
    let (key, value) =
        text.split_once('=').ok_or_else(|| format!("expected key=value, got {text:?}"))?;
    Ok((key.trim().to_owned(), value.trim().to_owned()))
}

async fn connect(args: &ConnectArgs) -> Result<Client, ClientError> {
    Client::connect(args.client_config()).await
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
}

/// Runs `command`.
pub(super) async fn execute(command: AdminCommand) -> Result<(), ClientError> {
    match command {
        AdminCommand::Stream(args) => stream(&args.connect, args.action).await,
        AdminCommand::Topic(args) => topic(&args.connect, args.action).await,
        AdminCommand::Message(args) => message(&args.connect, args.action).await,
        AdminCommand::Stats(args) => stats(&args.connect, args.json).await,
        AdminCommand::Cluster(args) => cluster(&args.plain.connect, args.plain.json).await,
        AdminCommand::Ping(args) => ping(&args.connect, args.count).await,
    }
}

async fn stream(connect_args: &ConnectArgs, action: StreamAction) -> Result<(), ClientError> {
    let mut client = connect(connect_args).await?;
    match action {
        StreamAction::Create { name } => {
            let stream = client.create_stream(&name).await?;
            println!("created stream {} (id {})", stream.name, stream.id);
        }
        StreamAction::List { json: true } => println!("{}", json(&client.get_streams().await?)),
        StreamAction::List { json: false } => {
            let rows: Vec<Vec<String>> = client
                .get_streams()
                .await?
                .into_iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.name,
                        s.topics_count.to_string(),
                        s.messages_count.to_string(),
                        bytes(s.size_bytes),
                        timestamp(s.created_at),
                    ]
                })
                .collect();
            print!("{}", table(&["ID", "NAME", "TOPICS", "MESSAGES", "SIZE", "CREATED"], &rows));
        }
        StreamAction::Delete { stream } => {
            client.delete_stream(&stream).await?;
            println!("deleted stream {stream}");
        }
    }
    Ok(())
}

async fn topic(connect_args: &ConnectArgs, action: TopicAction) -> Result<(), ClientError> {
    let mut client = connect(connect_args).await?;
    match action {
        TopicAction::Create { stream, name, partitions, options } => {
            let options = topic_options(&options)?;
            let topic = client.create_topic(&stream, &name, partitions, &options).await?;
            println!(
                "created topic {} (id {}) with {} partition(s) in stream {stream}",
                topic.topic.name, topic.topic.id, topic.topic.partitions_count
            );
        }
        TopicAction::List { stream, json: true } => {
            println!("{}", json(&client.get_topics(&stream).await?));
        }
        TopicAction::List { stream, json: false } => {
            let rows: Vec<Vec<String>> = client
                .get_topics(&stream)
                .await?
                .into_iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.name,
                        t.partitions_count.to_string(),
                        t.messages_count.to_string(),
                        bytes(t.size_bytes),
                        timestamp(t.created_at),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["ID", "NAME", "PARTITIONS", "MESSAGES", "SIZE", "CREATED"], &rows)
            );
        }
        TopicAction::Delete { stream, topic } => {
            client.delete_topic(&stream, &topic).await?;
            println!("deleted topic {topic} from stream {stream}");
        }
    }
    Ok(())
}

async fn message(connect_args: &ConnectArgs, action: MessageAction) -> Result<(), ClientError> {
    match action {
        MessageAction::Send { stream, topic, mut messages, partition, key } => {
            if messages.is_empty() {
                messages = std::io::stdin()
                    .lock()
                    .lines()
                    .collect::<Result<_, _>>()
                    .map_err(|error| ClientError::InvalidArgument(format!("stdin: {error}")))?;
            }
            if messages.is_empty() {
                return Err(ClientError::InvalidArgument("no messages to send".to_owned()));
            }
            let partitioning = match (partition, &key) {
                (Some(partition), _) => Partitioning::PartitionId(partition),
                (None, Some(key)) => Partitioning::MessagesKey(key.as_bytes()),
                (None, None) => Partitioning::Balanced,
            };
            let now = now_micros();
            let outgoing: Vec<OutgoingMessage<'_>> = messages
                .iter()
                .map(|payload| OutgoingMessage {
                    id: 0,
                    origin_timestamp: now,
                    payload: payload.as_bytes(),
                    user_headers: &[],
                })
                .collect();
            let mut client = connect(connect_args).await?;
            let confirmations =
                client.send_messages(&stream, &topic, partitioning, &outgoing).await?;
            match confirmations.first() {
                Some(at) => println!(
                    "sent {} message(s) to partition {} at offset {}",
                    outgoing.len(),
                    at.partition_id,
                    at.base_offset
                ),
                None => println!("sent {} message(s)", outgoing.len()),
            }
        }
        MessageAction::Poll {
            stream,
            topic,
            partition,
            offset,
            first,
            last,
            next,
            count,
            consumer,
            auto_commit,
            json: as_json,
        } => {
            let strategy = match (offset, first, last, next) {
                (_, true, _, _) => PollingStrategy { kind: PollingKind::First, value: 0 },
                (_, _, true, _) => PollingStrategy { kind: PollingKind::Last, value: 0 },
                (_, _, _, true) => PollingStrategy { kind: PollingKind::Next, value: 0 },
                (offset, ..) => {
                    PollingStrategy { kind: PollingKind::Offset, value: offset.unwrap_or(0) }
                }
            };
            let mut client = connect(connect_args).await?;
            let polled = client
                .poll_messages(
                    &ConsumerId::single(consumer),
                    &stream,
                    &topic,
                    Some(partition),
                    strategy,
                    count,
                    auto_commit,
                )
                .await?;
            for message in &polled.messages {
                let payload = String::from_utf8_lossy(&message.payload);
                if as_json {
                    let line = serde_json::json!({
                        "offset": message.offset,
                        "id": message.id.to_string(),
                        "timestamp": message.timestamp,
                        "payload": payload,
                    });
                    println!("{line}");
                } else {
                    println!("{:>8}  {}  {payload}", message.offset, timestamp(message.timestamp));
                }
            }
            if !as_json {
                eprintln!(
                    "polled {} message(s) from partition {} (current offset {})",
                    polled.messages.len(),
                    polled.partition_id,
                    polled.current_offset
                );
            }
        }
    }
    Ok(())
}

async fn stats(connect_args: &ConnectArgs, as_json: bool) -> Result<(), ClientError> {
    let mut client = connect(connect_args).await?;
    let stats = client.get_stats().await?;
    if as_json {
        println!("{}", json(&stats));
        return Ok(());
    }
    let rows = [
        ("server version", stats.server_version.clone()),
        ("hostname", stats.hostname.clone()),
        ("os", format!("{} {} ({})", stats.os_name, stats.os_version, stats.kernel_version)),
        ("process id", stats.process_id.to_string()),
        ("threads", stats.threads_count.to_string()),
        ("uptime", format!("{:.0} s", stats.run_time as f64 / 1e6)),
        ("cpu usage", format!("{:.1} %", stats.cpu_usage)),
        ("memory", format!("{} of {}", bytes(stats.memory_usage), bytes(stats.total_memory))),
        (
            "disk free",
            format!("{} of {}", bytes(stats.free_disk_space), bytes(stats.total_disk_space)),
        ),
        ("read", bytes(stats.read_bytes)),
        ("written", bytes(stats.written_bytes)),
        ("streams", stats.streams_count.to_string()),
        ("topics", stats.topics_count.to_string()),
        ("partitions", stats.partitions_count.to_string()),
        ("segments", stats.segments_count.to_string()),
        ("messages", format!("{} ({})", stats.messages_count, bytes(stats.messages_size_bytes))),
        ("clients", stats.clients_count.to_string()),
        ("consumer groups", stats.consumer_groups_count.to_string()),
    ];
    for (name, value) in rows {
        println!("{name:<16} {value}");
    }
    Ok(())
}

async fn cluster(connect_args: &ConnectArgs, as_json: bool) -> Result<(), ClientError> {
    let mut client = connect(connect_args).await?;
    let nodes = client.get_cluster_metadata().await?;
    if as_json {
        println!("{}", json(&nodes));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = nodes
        .into_iter()
        .map(|n| {
            vec![
                n.name,
                n.ip,
                n.tcp_port.to_string(),
                n.quic_port.to_string(),
                if n.leader { "leader" } else { "follower" }.to_owned(),
                n.status,
            ]
        })
        .collect();
    print!("{}", table(&["NAME", "IP", "TCP", "QUIC", "ROLE", "STATUS"], &rows));
    Ok(())
}

async fn ping(connect_args: &ConnectArgs, count: u32) -> Result<(), ClientError> {
    let mut client = connect(connect_args).await?;
    let address = client.current_address().unwrap_or("?").to_owned();
    for sequence in 1..=count.max(1) {
        let rtt = client.ping().await?;
        println!("pong from {address}: seq={sequence} time={:.3} ms", rtt.as_secs_f64() * 1e3);
    }
    Ok(())
}

fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
}
