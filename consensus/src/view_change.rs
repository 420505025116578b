//! View change: start_view_change → do_view_change → start_view.
//!
//! A backup that stops hearing its primary *votes* for the next view (start_view_change)
//! but keeps its view. A replica moves to view v only once a view-change quorum voted
//! for v — so a replica that can send but not receive can never depose a healthy primary
//! on its own. It then makes v durable, and only then sends its log suffix
//! (do_view_change) to v's primary, which merges a quorum of them (`dvc_merge`), makes
//! `log_view = v` durable and installs its log on the backups with start_view.

use vireo_protocol::vsr::{Command, Header, HeadersBody, Message};
use vireo_storage::superblock::VIEW_HEADERS_MAX;

use crate::dvc_merge::{Dvc, Merge, merge};
use crate::pipeline::PipelineEntry;
use crate::replica::{Replica, Status, VOTE_VIEWS_MAX};
use crate::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    pub(crate) fn on_start_view_change(&mut self, header: &Header) {
        if self.status == Status::RecoveringHead || header.view <= self.view {
            return;
        }
        if header.view > self.view + VOTE_VIEWS_MAX {
            return; // Too far ahead to track; ping/start_view will bring us there.
        }
        let abdication = header.replica == self.primary()
            && header.view == self.view + 1
            && self.status == Status::Normal
            && !self.is_primary();
        let votes = self.start_view_change_votes.entry(header.view).or_default();
        let new_voter = *votes & (1 << header.replica) == 0;
        *votes |= 1 << header.replica;
        let voted = *votes & (1 << self.config.replica) != 0;
        if new_voter && voted && self.status == Status::Normal {
            // We voted for this view too: repeat our vote to the newcomer's audience, so
            // voters that each missed the others' votes still find their quorum.
            let mut vote = self.header(Command::StartViewChange);
            vote.view = header.view;
            self.broadcast(&Message::new(vote, &[]));
        }
        if abdication && !voted {
            // Our own primary votes to leave its view (a graceful handover): no need to
            // wait for its heartbeats to stop.
            self.vote_start_view_change(header.view);
            return;
        }
        self.check_start_view_change_quorum(header.view);
    }

    /// A graceful handover (e.g. SIGTERM on the primary): the primary votes to leave its
    /// view, stops preparing and heartbeating, and its backups vote with it at once (see
    /// `on_start_view_change`), so the next primary takes over in one view change instead
    /// of after a heartbeat timeout. Does nothing on a backup.
    pub fn abdicate(&mut self) {
        if !self.is_primary() || self.config.replica_count == 1 {
            return;
        }
        let view = self.view + 1;
        self.step_down();
        self.vote_start_view_change(view);
        self.after_event();
    }

    /// This replica votes to leave its view for `view`.
    pub(crate) fn vote_start_view_change(&mut self, view: u32) {
        assert!(view > self.view);
        assert_ne!(self.status, Status::RecoveringHead, "a recovering replica casts no votes");
        *self.start_view_change_votes.entry(view).or_default() |= 1 << self.config.replica;
        let mut header = self.header(Command::StartViewChange);
        header.view = view;
        self.broadcast(&Message::new(header, &[]));
        self.check_start_view_change_quorum(view);
    }

    fn check_start_view_change_quorum(&mut self, view: u32) {
        let votes = self.start_view_change_votes.get(&view).copied().unwrap_or(0);
        if votes.count_ones() as usize >= self.config.quorum_view_change() {
            self.transition_to_view_change(view);
        }
    }

    /// Enters view-change status for `view` (a quorum agreed to leave the old view).
    pub(crate) fn transition_to_view_change(&mut self, view: u32) {
        assert!(view > self.view || (view == self.view && self.status != Status::Normal));
        assert_ne!(self.status, Status::RecoveringHead);
        self.view = view;
        self.status = Status::ViewChange;
        self.head_trusted = false;
        self.commit_max_checksum = None;
        // A state transfer aims at the old view's primary: the new view decides anew.
        self.sync = None;
        self.sync_timeout.stop();
        self.pipeline.clear();
        self.do_view_change_from.clear();
        self.start_view_change_votes.retain(|&voted, _| voted > view);
        self.prepare_timeout.stop();
        self.commit_message_timeout.stop();
        self.normal_heartbeat_timeout.stop();
        self.view_change_status_timeout.start_jittered(&mut self.prng);
        self.view_change_message_timeout.start();
        self.persist();
        // Our own vote for this view, so replicas that missed the quorum learn of it.
        let mut header = self.header(Command::StartViewChange);
        header.view = view;
        self.broadcast(&Message::new(header, &[]));
        self.send_do_view_change();
    }

    /// Leaves normal status without leaving the view: a primary that learned its view is
    /// over but cannot install the next one yet.
    pub(crate) fn step_down(&mut self) {
        assert_eq!(self.status, Status::Normal);
        self.status = Status::ViewChange;
        self.head_trusted = false;
        self.pipeline.clear();
        self.prepare_timeout.stop();
        self.commit_message_timeout.stop();
        self.normal_heartbeat_timeout.stop();
        self.view_change_status_timeout.start_jittered(&mut self.prng);
        self.view_change_message_timeout.start();
    }

    /// Sends (or, as the new primary, records) our DVC once the view is durable.
    pub(crate) fn send_do_view_change(&mut self) {
        if self.status != Status::ViewChange || !self.view_durable() {
            return;
        }
        let message = self.build_do_view_change();
        let primary = self.primary_index(self.view);
        if primary == self.config.replica {
            self.on_do_view_change(message);
        } else {
            self.send(primary, message);
        }
    }

    fn build_do_view_change(&self) -> Message {
        // Every op the new primary may have to keep and find a holder for. Kept ops lie
        // above `canonical head - pipeline` (older ones committed), and the canonical head
        // is at least `our head - pipeline`: our ops above the committed prefix of our
        // log_view number at most a pipeline, and that prefix survives into every later
        // view. So two pipelines, plus the op below them (the anchor). One pipeline is not
        // enough: a replica whose stale log runs past the canonical head would leave out
        // canonical ops it holds intact, and when the canonical holders' copies are faulty
        // the view could never start (regression seed 10572554889758413052).
        let pipeline_max = self.config.pipeline_prepare_queue_max as u64;
        let low = self.op.saturating_sub(2 * pipeline_max).max(1);
        let mut body = HeadersBody::default();
        for op in (low..=self.op).filter(|_| self.op > 0) {
            let header = self.journal.header(op).copied();
            let present =
                header.is_some_and(|header| self.journal.has_prepare(op, header.checksum));
            let faulty = self.journal.faulty(op);
            body.headers.push(header);
            body.present.push(present);
            body.nack.push(!present && !faulty);
        }
        assert!(body.headers.len() <= VIEW_HEADERS_MAX);
        let mut header = self.header(Command::DoViewChange);
        header.log_view = self.log_view;
        header.op = self.op;
        header.commit = self.commit_min;
        Message::new(header, &body.encode())
    }

    pub(crate) fn on_do_view_change(&mut self, message: Message) {
        let header = *message.header();
        if self.status == Status::RecoveringHead || header.view < self.view {
            return;
        }
        if header.view > self.view {
            // The sender saw a quorum of votes for this view: join it.
            self.transition_to_view_change(header.view);
        }
        if !self.is_primary_of(self.view) {
            return;
        }
        if self.status == Status::Normal {
            // We already started the view; the sender missed our start_view.
            if self.log_view_durable() && header.replica != self.config.replica {
                let start_view = self.build_start_view(0);
                self.send(header.replica, start_view);
            }
            return;
        }
        self.do_view_change_from.insert(header.replica, message);
        self.check_do_view_change_quorum();
    }

    fn check_do_view_change_quorum(&mut self) {
        if self.log_view == self.view {
            // We already started this view once (then crashed): starting it again could
            // prepare different ops under the same view and op numbers. The next view's
            // primary takes over instead.
            return;
        }
        if !self.do_view_change_from.contains_key(&self.config.replica)
            || self.do_view_change_from.len() < self.config.quorum_view_change()
        {
            return;
        }
        let dvcs: Vec<Dvc> = self
            .do_view_change_from
            .values()
            .filter_map(|message| {
                let header = message.header();
                let body = HeadersBody::decode(message.body(), VIEW_HEADERS_MAX).ok()?;
                Dvc::decode(header.replica, header.log_view, header.op, header.commit, &body)
            })
            .collect();
        if dvcs.len() < self.config.quorum_view_change() {
            return;
        }
        let pipeline_max = self.config.pipeline_prepare_queue_max as u64;
        let result = merge(
            &dvcs,
            usize::from(self.config.replica_count),
            self.config.quorum_nack(),
            pipeline_max,
        );
        if let Merge::Complete { headers, op, commit_max } = result {
            if op > self.superblock.checkpoint.op + self.config.journal_slot_count {
                // Too far behind to hold this log: forfeit, the next view's primary leads.
                return;
            }
            self.start_view_as_primary(&headers, op, commit_max);
        }
    }

    fn start_view_as_primary(&mut self, headers: &[Header], op: u64, commit_max: u64) {
        assert_eq!(self.status, Status::ViewChange);
        assert!(self.log_view < self.view, "a primary starts its view at most once");
        for header in headers {
            self.install_canonical_header(header);
        }
        self.journal_remove_above(op);
        self.op = op;
        self.commit_max = self.commit_max.max(commit_max);
        self.enter_normal();
        self.head_trusted = true;
        // The uncommitted suffix becomes the pipeline; prepare_oks from this view commit it.
        for pipeline_op in self.commit_max + 1..=self.op {
            let header = *self
                .journal
                .header(pipeline_op)
                .expect("the merged log has every uncommitted header");
            let message = self.cache_get(pipeline_op, header.checksum).cloned();
            let message =
                message.filter(|_| self.journal.has_prepare(pipeline_op, header.checksum));
            self.pipeline.push_prepare(PipelineEntry { header, message, ok_from: 0 });
        }
        self.persist();
    }

    /// Installs a header that a view change established, keeping ours if identical.
    fn install_canonical_header(&mut self, header: &Header) {
        if header.op <= self.commit_min {
            if let Some(held) = self.journal.header(header.op) {
                assert_eq!(
                    held.checksum, header.checksum,
                    "a view change replaced committed op {}",
                    header.op
                );
            }
            return;
        }
        if self.journal.header(header.op).is_none_or(|held| held.checksum != header.checksum) {
            self.install_header(*header);
        }
    }

    /// Common to the new primary and backups installing a view.
    fn enter_normal(&mut self) {
        self.status = Status::Normal;
        self.commit_max_checksum = None;
        self.log_view = self.view;
        self.pipeline.clear();
        self.do_view_change_from.clear();
        self.start_view_change_votes.retain(|&voted, _| voted > self.view);
        self.stats.view_changes += 1;
        self.view_change_status_timeout.stop();
        self.view_change_message_timeout.stop();
        self.request_start_view_timeout.stop();
        self.repair_timeout.start();
        if self.is_primary_of(self.view) {
            self.normal_heartbeat_timeout.stop();
        } else {
            self.normal_heartbeat_timeout.start_jittered(&mut self.prng);
            self.commit_message_timeout.stop();
            self.prepare_timeout.stop();
        }
    }

    /// Once `log_view` is durable: the new primary announces the view.
    pub(crate) fn on_view_durable_as_primary(&mut self) {
        let start_view = self.build_start_view(0);
        self.broadcast(&start_view);
        self.commit_message_timeout.start();
        self.prepare_timeout.start();
        let ops: Vec<u64> = self.pipeline.prepares().iter().map(|entry| entry.header.op).collect();
        for op in ops {
            self.primary_ok_self(op);
        }
        self.send_commit_heartbeat();
        self.primary_pipeline_next();
    }

    pub(crate) fn build_start_view(&self, nonce: u128) -> Message {
        let mut header = self.header(Command::StartView);
        header.op = self.op;
        header.commit = self.commit_max;
        header.context = nonce;
        let body = HeadersBody::plain(self.view_headers());
        Message::new(header, &body.encode())
    }

    pub(crate) fn on_start_view(&mut self, message: &Message) {
        let header = *message.header();
        if header.replica != self.primary_index(header.view) || self.is_primary_of(header.view) {
            return;
        }
        let acceptable = match self.status {
            Status::Normal => header.view > self.view,
            Status::ViewChange => header.view >= self.view,
            Status::RecoveringHead => {
                header.view > self.view
                    || (header.view == self.view && header.context == self.nonce)
            }
        };
        if !acceptable {
            return;
        }
        let Ok(body) = HeadersBody::decode(message.body(), VIEW_HEADERS_MAX) else { return };
        let Some(headers) = start_view_headers(&body, header.op) else { return };
        if headers.first().is_some_and(|first| first.op <= self.commit_min) {
            for held in &headers {
                if held.op <= self.commit_min
                    && self.journal.header(held.op).is_some_and(|h| h.checksum != held.checksum)
                {
                    return; // Contradicts our applied history: not a start_view we can trust.
                }
            }
        }
        if header.op < self.commit_min {
            return;
        }
        if header.op > self.superblock.checkpoint.op + self.config.journal_slot_count {
            if header.checkpoint_op > self.commit_min {
                // Too far ahead for our ring, and the primary holds a newer checkpoint:
                // fetch it first, then this view.
                self.start_sync(header.replica, Some(header.view));
            } else {
                // We applied at least what the primary checkpointed, so a checkpoint of
                // our own, now, extends our ring past its head: take it, then ask again.
                self.want_checkpoint(Some(header.view));
            }
            return;
        }
        let recovering = self.status == Status::RecoveringHead;
        self.view = header.view;
        for held in &headers {
            self.install_canonical_header(held);
        }
        self.journal_remove_above(header.op);
        self.op = header.op;
        self.commit_max = self.commit_max.max(header.commit);
        if recovering {
            // Ops we may have acknowledged before the crash but no longer hold intact
            // must never be nacked: mark them faulty until repaired.
            for op in self.faulty_floor_op.max(self.commit_min) + 1..=self.op {
                let held = self.journal.header(op).copied();
                if held.is_none_or(|held| !self.journal.has_prepare(op, held.checksum)) {
                    self.mark_faulty_durably(op);
                }
            }
            self.chain_low = None;
        }
        self.enter_normal();
        self.head_trusted = true;
        self.persist();
    }

    pub(crate) fn on_request_start_view(&mut self, header: &Header) {
        if self.is_primary() && self.log_view_durable() && header.view <= self.view {
            let start_view = self.build_start_view(header.context);
            self.send(header.replica, start_view);
        }
    }

    /// Asks the primary of `view` for its start_view (we saw that view in a message).
    pub(crate) fn request_start_view(&mut self, view: u32) {
        if self.request_start_view_timeout.running() && !self.request_start_view_timeout.fired() {
            return; // Rate limited.
        }
        self.request_start_view_timeout.start();
        let primary = self.primary_index(view);
        if primary == self.config.replica {
            return;
        }
        let mut header = self.header(Command::RequestStartView);
        header.view = view;
        header.context = if self.status == Status::RecoveringHead { self.nonce } else { 0 };
        self.send_header(primary, header);
    }
}

/// The start_view's headers: ascending, ending at the head, chained where consecutive.
fn start_view_headers(body: &HeadersBody, op: u64) -> Option<Vec<Header>> {
    let headers: Vec<Header> = body.headers.iter().copied().collect::<Option<Vec<_>>>()?;
    if op == 0 && headers.is_empty() {
        return Some(headers); // A cluster that has prepared nothing yet.
    }
    if headers.last()?.op != op {
        return None;
    }
    for pair in headers.windows(2) {
        if pair[0].op >= pair[1].op
            || (pair[0].op + 1 == pair[1].op && pair[1].parent != pair[0].checksum)
        {
            return None;
        }
    }
    Some(headers)
}

#[cfg(test)]
#[path = "view_change_tests.rs"]
mod tests;
