//! Repair: finding and fetching what the journal lacks, in normal status.
//!
//! Missing or mismatched headers are found by walking the hash chain down from the
//! trusted head: the first op whose header is absent or is not its successor's `parent`
//! is asked for (request_headers); a header is accepted only if it is exactly the parent
//! its successor names. Bodies are then fetched oldest first (request_prepare), and a
//! prepare is accepted only if its checksum is one the chain (or the current primary)
//! vouches for. A replica never answers for a prepare it does not hold intact — a faulty
//! slot stays silent rather than deny.

use vireo_protocol::vsr::{Command, Header, HeadersBody, Message};

use crate::action::Action;
use crate::replica::{
    HEADERS_BATCH_MAX, REPAIR_PREPARES_PER_TICK_MAX, REPAIR_READS_MAX, REPAIR_ROUNDS_BEFORE_SYNC,
    Replica, Status,
};
use crate::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// The repair timeout: ask for the next missing header range and the oldest missing
    /// prepares.
    pub(crate) fn repair(&mut self) {
        if self.status != Status::Normal || self.sync.is_some() || self.config.replica_count == 1 {
            return;
        }
        // Catch up to the primary's commit point when we lack its head entirely.
        let ring_max = self.superblock.checkpoint.op + self.config.journal_slot_count;
        if self.commit_max_checksum.is_some_and(|(op, _)| op > ring_max)
            && self.commit_min > self.superblock.checkpoint.op
        {
            // The primary's commit point lies past our ring: a checkpoint at what we
            // applied moves the ring forward (no need to wait for the interval).
            self.want_checkpoint(None);
        }
        if let Some((op, checksum)) = self.commit_max_checksum
            && op > self.commit_min
            && !self.is_primary()
            && self.journal.header(op).is_none_or(|held| held.checksum != checksum)
        {
            let target = self.repair_target();
            self.send_request_prepare(target, op, checksum);
        }
        if self.commit_min == self.repair_commit_min_seen && self.commit_min < self.commit_max {
            self.repair_rounds_stalled += 1;
        } else {
            self.repair_commit_min_seen = self.commit_min;
            self.repair_rounds_stalled = 0;
        }
        if self.repair_rounds_stalled >= REPAIR_ROUNDS_BEFORE_SYNC
            && self.primary_checkpoint_op > self.commit_min
            && !self.is_primary()
        {
            self.repair_rounds_stalled = 0;
            let primary = self.primary();
            self.start_sync(primary, None);
            return;
        }
        let low = self.chain_low();
        if low > self.commit_min + 1 {
            // The header at `low - 1` is missing or does not chain: ask for a range below.
            let op_max = low - 1;
            let op_min = op_max.saturating_sub(HEADERS_BATCH_MAX - 1).max(self.commit_min + 1);
            let mut header = self.header(Command::RequestHeaders);
            header.commit = op_min;
            header.op = op_max;
            let target = self.repair_target();
            self.send_header(target, header);
        }
        let mut requested = 0;
        for op in low.max(self.commit_min + 1)..=self.op {
            if requested >= REPAIR_PREPARES_PER_TICK_MAX {
                break;
            }
            let Some(header) = self.journal.header(op).copied() else { continue };
            if self.journal.has_prepare(op, header.checksum)
                || self.journal_writing.contains(&(op, header.checksum))
            {
                continue;
            }
            if let Some(message) = self.cache_get(op, header.checksum).cloned() {
                self.journal_write(message);
                continue;
            }
            let target = self.repair_target();
            self.send_request_prepare(target, op, header.checksum);
            requested += 1;
        }
    }

    /// Whom to ask: a backup asks its primary most of the time and a random peer
    /// otherwise (the primary's own copy may be the damaged one); the primary asks peers.
    fn repair_target(&mut self) -> u8 {
        let primary = self.primary();
        if primary != self.config.replica && self.prng.below(4) != 0 {
            return primary;
        }
        let peers = u64::from(self.config.replica_count) - 1;
        let pick = u8::try_from(self.prng.below(peers)).expect("few replicas");
        if pick >= self.config.replica { pick + 1 } else { pick }
    }

    fn send_request_prepare(&mut self, replica: u8, op: u64, checksum: u128) {
        let mut header = self.header(Command::RequestPrepare);
        header.op = op;
        header.context = checksum;
        self.send_header(replica, header);
    }

    pub(crate) fn on_request_headers(&mut self, header: &Header) {
        if self.status == Status::RecoveringHead || header.commit > header.op {
            return;
        }
        let op_max = header.op.min(self.op);
        let op_min = header.commit.max(op_max.saturating_sub(HEADERS_BATCH_MAX - 1));
        if op_min > op_max {
            return;
        }
        let headers = self.headers_between(op_min, op_max);
        if headers.is_empty() {
            return;
        }
        let reply =
            Message::new(self.header(Command::Headers), &HeadersBody::plain(headers).encode());
        self.send(header.replica, reply);
    }

    pub(crate) fn on_headers(&mut self, message: &Message) {
        if self.status != Status::Normal || self.sync.is_some() {
            return;
        }
        let Ok(body) = HeadersBody::decode(message.body(), HEADERS_BATCH_MAX as usize) else {
            return;
        };
        let mut headers: Vec<Header> = body.headers.into_iter().flatten().collect();
        headers.sort_by_key(|header| std::cmp::Reverse(header.op));
        for header in headers {
            self.repair_header(&header);
        }
    }

    /// Accepts `header` if it is exactly the parent of the chain's lowest trusted header.
    fn repair_header(&mut self, header: &Header) -> bool {
        if header.command != Command::Prepare
            || header.op <= self.commit_min
            || header.op >= self.op
        {
            return false;
        }
        let low = self.chain_low();
        if header.op + 1 != low {
            return false;
        }
        let Some(above) = self.journal.header(low) else { return false };
        if above.parent != header.checksum {
            return false;
        }
        if self.journal.header(header.op).is_some_and(|held| held.checksum == header.checksum) {
            return false;
        }
        self.install_header(*header);
        self.stats.headers_repaired += 1;
        true
    }

    pub(crate) fn on_request_prepare(&mut self, header: &Header) {
        let (op, checksum) = (header.op, header.context);
        if !self.journal.has_prepare(op, checksum) {
            return; // Missing or faulty: silence, never a denial.
        }
        if let Some(message) = self.cache_get(op, checksum).cloned() {
            self.send(header.replica, message);
        } else if self.repair_reads.len() < REPAIR_READS_MAX
            && !self.repair_reads.contains_key(&(op, checksum))
        {
            self.repair_reads.insert((op, checksum), header.replica);
            if self.commit_reading != Some(op) {
                self.outbox.push(Action::JournalRead { op, checksum });
            }
        }
    }

    /// A prepare that is not the current primary's replication: a repair answer.
    pub(crate) fn on_prepare_repair(&mut self, message: Message) {
        let header = *message.header();
        let ring_max = self.superblock.checkpoint.op + self.config.journal_slot_count;
        if header.op <= self.commit_min || header.op > ring_max {
            return;
        }
        let expected =
            self.journal.header(header.op).is_some_and(|held| held.checksum == header.checksum);
        if expected {
            if self.journal.has_prepare(header.op, header.checksum) {
                return;
            }
        } else if self.commit_max_checksum == Some((header.op, header.checksum))
            && !self.is_primary()
        {
            // The op the current primary's heartbeat vouched for: a trust anchor even
            // when our own header there is missing or stale.
            self.install_header(header);
            if header.op >= self.op {
                self.op = header.op;
                self.head_trusted = true;
            }
        } else if !self.repair_header(&header) {
            return;
        }
        self.stats.prepares_repaired += 1;
        self.cache_insert(message.clone());
        self.journal_write(message);
    }
}

#[cfg(test)]
#[path = "repair_tests.rs"]
mod tests;
