//! Tick-counting timeouts. Time in consensus is only ever a count of `on_tick` calls.

use crate::prng::Prng;

/// A timeout that fires after `after_ticks` ticks once started, with optional jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout {
    name: &'static str,
    after_ticks: u64,
    ticks: u64,
    deadline_ticks: u64,
    running: bool,
}

impl Timeout {
    /// A stopped timeout.
    #[must_use]
    pub fn new(name: &'static str, after_ticks: u64) -> Self {
        assert!(after_ticks > 0, "timeout {name} of zero ticks");
        Self { name, after_ticks, ticks: 0, deadline_ticks: after_ticks, running: false }
    }

    /// Starts (or restarts) from zero.
    pub fn start(&mut self) {
        self.ticks = 0;
        self.deadline_ticks = self.after_ticks;
        self.running = true;
    }

    /// Starts with up to 50% random extra ticks, so replicas that time out together
    /// spread out (no livelock of simultaneous view changes).
    pub fn start_jittered(&mut self, prng: &mut Prng) {
        self.start();
        self.deadline_ticks = self.after_ticks + prng.below(self.after_ticks / 2 + 1);
    }

    /// Restarts only if running.
    pub fn reset(&mut self) {
        if self.running {
            self.start();
        }
    }

    /// Stops; it will not fire.
    pub fn stop(&mut self) {
        self.running = false;
        self.ticks = 0;
    }

    /// True while started.
    #[must_use]
    pub fn running(&self) -> bool {
        self.running
    }

    /// Advances one tick.
    pub fn tick(&mut self) {
        if self.running {
            self.ticks += 1;
        }
    }

    /// True if running and the deadline passed; the caller handles it and restarts.
    #[must_use]
    pub fn fired(&self) -> bool {
        self.running && self.ticks >= self.deadline_ticks
    }

    /// The name, for traces.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_after_ticks_only_when_running() {
        let mut timeout = Timeout::new("t", 3);
        timeout.tick();
        assert!(!timeout.fired());
        timeout.start();
        timeout.tick();
        timeout.tick();
        assert!(!timeout.fired());
        timeout.tick();
        assert!(timeout.fired());
        timeout.reset();
        assert!(!timeout.fired());
        timeout.stop();
        for _ in 0..10 {
            timeout.tick();
        }
        assert!(!timeout.fired());
    }
}
