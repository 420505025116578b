//! Timeouts: what each one does when it fires.

use vireo_protocol::vsr::{Command, Header, Message};

use crate::replica::{Replica, Status};
use crate::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    pub(crate) fn tick_timeouts(&mut self) {
        for timeout in [
            &mut self.ping_timeout,
            &mut self.prepare_timeout,
            &mut self.commit_message_timeout,
            &mut self.normal_heartbeat_timeout,
            &mut self.view_change_message_timeout,
            &mut self.view_change_status_timeout,
            &mut self.repair_timeout,
            &mut self.request_start_view_timeout,
            &mut self.journal_sync_timeout,
            &mut self.sync_timeout,
        ] {
            timeout.tick();
        }
        if self.ping_timeout.fired() {
            self.ping_timeout.start();
            self.send_pings();
        }
        if self.prepare_timeout.fired() {
            self.prepare_timeout.start();
            if self.primary_ready() {
                self.resend_pipeline_prepares();
            }
        }
        if self.commit_message_timeout.fired() {
            self.commit_message_timeout.start();
            self.send_commit_heartbeat();
        }
        if self.normal_heartbeat_timeout.fired() {
            self.normal_heartbeat_timeout.start_jittered(&mut self.prng);
            if self.status == Status::Normal && !self.is_primary() {
                let proposed =
                    self.start_view_change_votes.keys().next_back().copied().unwrap_or(0);
                self.vote_start_view_change(proposed.max(self.view + 1));
            }
        }
        self.vote_for_higher_view();
        if self.view_change_status_timeout.fired() {
            self.view_change_status_timeout.start_jittered(&mut self.prng);
            if self.status == Status::ViewChange {
                // Join the highest view others already propose, so replicas that fell
                // behind in different views converge on one instead of each voting alone.
                let proposed =
                    self.start_view_change_votes.keys().next_back().copied().unwrap_or(0);
                self.vote_start_view_change(proposed.max(self.view + 1));
            }
        }
        if self.view_change_message_timeout.fired() {
            self.view_change_message_timeout.start();
            if self.status == Status::ViewChange {
                let mut header = self.header(Command::StartViewChange);
                header.view = self.view;
                self.broadcast(&Message::new(header, &[]));
                self.send_do_view_change();
            }
        }
        if self.repair_timeout.fired() {
            self.repair_timeout.start();
            self.repair();
        }
        if self.request_start_view_timeout.fired() {
            if self.status == Status::RecoveringHead {
                self.request_start_view_timeout.start();
                self.request_start_view_broadcast();
            } else {
                self.request_start_view_timeout.stop();
            }
        }
        if self.journal_sync_timeout.fired() {
            self.journal_sync_timeout.start();
            self.request_journal_sync();
        }
        if self.sync_timeout.fired() {
            self.sync_timeout.start();
            self.request_sync_chunks();
        }
    }

    /// A replica stuck in a higher view (it joined a view change that never finished,
    /// then restarted) can never come back down: views only grow. If a replica keeps
    /// hearing of such a view and no start_view for it arrives, it votes to move there,
    /// so the cluster readmits the straggler instead of leaving it out forever.
    fn vote_for_higher_view(&mut self) {
        let Some((view, since)) = self.higher_view else { return };
        if view <= self.view || self.status != Status::Normal {
            self.higher_view = None;
            return;
        }
        let patience = 3 * self.config.timeouts.request_start_view_ticks;
        if self.ticks >= since + patience {
            self.higher_view = Some((view, self.ticks));
            let proposed = self.start_view_change_votes.keys().next_back().copied().unwrap_or(0);
            self.vote_start_view_change(view.max(proposed));
        }
    }

    fn send_pings(&mut self) {
        let mut header = self.header(Command::Ping);
        header.op = self.op;
        header.commit = self.commit_min;
        header.timestamp = self.ticks;
        self.broadcast(&Message::new(header, &[]));
    }

    pub(crate) fn on_ping(&mut self, ping: &Header) {
        let mut pong = self.header(Command::Pong);
        pong.timestamp = ping.timestamp;
        pong.op = self.op;
        self.send_header(ping.replica, pong);
        if ping.view > self.view {
            self.request_start_view(ping.view);
            if self.status == Status::Normal
                && self.higher_view.is_none_or(|(view, _)| ping.view > view)
            {
                self.higher_view = Some((ping.view, self.ticks));
            }
        }
        if ping.view == self.view {
            self.maybe_start_sync(ping.op);
        }
    }
}
