//! Stats and clients (cluster metadata: `cluster.rs`).

use std::borrow::Cow;

use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::primitives::pack_version;
use vireo_protocol::iggy::reply::{ClientGroupReply, ClientReply, StatsReply};

use super::auth::Access;
use super::render::topic_keys;
use super::{Answer, Session};
use crate::shard::inbox::{ClientInfo, ShardMessage, ShardReport};

impl Session {
    /// Every shard's report (this shard's directly).
    pub(super) async fn reports(&self) -> Vec<ShardReport> {
        let mut reports = Vec::new();
        for shard in 0..self.shard.router.shard_count() {
            if shard == self.shard.index {
                reports.push(self.shard.report());
                continue;
            }
            let (sender, receiver) = flume::bounded(1);
            if self.shard.router.send(shard, ShardMessage::Report { reply: sender }).await.is_ok()
                && let Ok(report) = receiver.recv_async().await
            {
                reports.push(report);
            }
        }
        reports
    }

    pub(super) async fn get_stats(&self) -> Answer {
        let view = self.view();
        if let Err(code) = self.check(&view, Access::ReadServers) {
            return code.into();
        }
        let keys: Vec<_> = view
            .streams
            .values()
            .flat_map(|stream| stream.topics.values().flat_map(|t| topic_keys(stream.id, t)))
            .collect();
        let stats = self.stats(keys).await;
        let clients: usize = self.reports().await.iter().map(|report| report.clients.len()).sum();
        let topics = view.streams.values().map(|stream| stream.topics.len()).sum::<usize>();
        let groups = view
            .streams
            .values()
            .flat_map(|stream| stream.topics.values())
            .map(|topic| topic.groups.len())
            .sum::<usize>();
        let process = crate::server::process::sample(&self.shard.config.node.data_dir);
        let version = env!("CARGO_PKG_VERSION");
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let reply = StatsReply {
            process_id: std::process::id(),
            cpu_usage: 0.0,
            total_cpu_usage: 0.0,
            memory_usage: process.memory_bytes,
            total_memory: process.total_memory_bytes,
            available_memory: process.available_memory_bytes,
            run_time: crate::time::now_micros().saturating_sub(crate::time::process_start_micros()),
            start_time: crate::time::process_start_micros(),
            read_bytes: process.read_bytes,
            written_bytes: process.written_bytes,
            messages_size_bytes: stats.values().map(|s| s.size_bytes).sum(),
            streams_count: count(view.streams.len()),
            topics_count: count(topics),
            partitions_count: count(stats.len()),
            segments_count: stats.values().map(|s| s.segments_count).sum(),
            messages_count: stats.values().map(|s| s.messages_count()).sum(),
            clients_count: count(clients),
            consumer_groups_count: count(groups),
            hostname: &process.hostname,
            os_name: "Linux",
            os_version: &process.os_version,
            kernel_version: &process.os_version,
            server_version: version,
            server_semver: semver(version),
            cache_metrics: Cow::Borrowed(&[]),
            threads_count: process.threads,
            free_disk_space: process.free_disk_bytes,
            total_disk_space: process.total_disk_bytes,
        };
        let mut body = Vec::new();
        reply.encode(&mut body);
        Answer::Ok(body)
    }

    pub(super) async fn get_client(&self, client_id: u32) -> Answer {
        if client_id != self.client_id {
            let view = self.view();
            if let Err(code) = self.check(&view, Access::ReadServers) {
                return code.into();
            }
        }
        let reports = self.reports().await;
        let found = reports.iter().flat_map(|r| &r.clients).find(|c| c.client_id == client_id);
        match found {
            Some(client) => {
                let mut body = Vec::new();
                encode_client(client, &mut body);
                for &(stream_id, topic_id, group_id) in &client.groups {
                    ClientGroupReply { stream_id, topic_id, group_id }.encode(&mut body);
                }
                Answer::Ok(body)
            }
            None if client_id == self.client_id => Answer::Status(ErrorCode::ERROR),
            None => Answer::Ok(Vec::new()),
        }
    }

    pub(super) async fn get_clients(&self) -> Answer {
        let view = self.view();
        if let Err(code) = self.check(&view, Access::ReadServers) {
            return code.into();
        }
        let mut clients: Vec<ClientInfo> =
            self.reports().await.into_iter().flat_map(|report| report.clients).collect();
        clients.sort_by_key(|client| client.client_id);
        let mut body = Vec::new();
        for client in &clients {
            encode_client(client, &mut body);
        }
        Answer::Ok(body)
    }
}

fn encode_client(client: &ClientInfo, out: &mut Vec<u8>) {
    ClientReply {
        client_id: client.client_id,
        user_id: client.user_id.unwrap_or(ClientReply::NO_USER),
        transport: client.transport,
        address: &client.address,
        consumer_groups_count: u32::try_from(client.groups.len()).unwrap_or(u32::MAX),
    }
    .encode(out);
}

fn semver(version: &str) -> u32 {
    let mut parts = version.split('.').map(|part| part.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    pack_version(major, minor, patch)
}
