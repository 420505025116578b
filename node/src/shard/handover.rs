//! Graceful handover at SIGTERM: every group whose primary is this node's replica
//! abdicates (`Replica::abdicate`: it votes to leave its view and its backups follow at
//! once), and the shard waits — bounded — until each such group is led by another
//! replica in normal status, so clients see one short view change instead of a
//! heartbeat timeout. Then the usual drain runs.

use std::rc::Rc;
use std::time::{Duration, Instant};

use vireo_consensus::Status;

use super::Shard;

/// How long a shard waits for other replicas to take over its groups.
pub const HANDOVER_TIMEOUT: Duration = Duration::from_secs(2);

impl Shard {
    /// The owned groups whose primary is this node's replica.
    fn primary_groups(&self) -> Vec<u32> {
        let mut groups = Vec::new();
        if self.metadata.borrow().as_ref().is_some_and(|d| d.replica.is_primary()) {
            groups.push(0);
        }
        for (group, driver) in self.partitions.borrow().iter() {
            if driver.replica.is_primary() {
                groups.push(*group);
            }
        }
        groups
    }

    fn abdicate(&self, group: u32) {
        if group == 0 {
            if let Some(driver) = self.metadata.borrow_mut().as_mut() {
                driver.replica.abdicate();
            }
        } else if let Some(driver) = self.partitions.borrow_mut().get_mut(&group) {
            driver.replica.abdicate();
        }
    }

    /// True once `group` is in normal status under another replica's primaryship.
    fn led_elsewhere(&self, group: u32) -> bool {
        let check = |status: Status, primary: u8| {
            status == Status::Normal && primary != self.config.cluster.replica
        };
        if group == 0 {
            return self
                .metadata
                .borrow()
                .as_ref()
                .is_none_or(|d| check(d.replica.status(), d.replica.primary()));
        }
        self.partitions
            .borrow()
            .get(&group)
            .is_none_or(|d| check(d.replica.status(), d.replica.primary()))
    }
}

/// Hands primaryship of this shard's groups over (multi-node clusters); `Err` names the
/// groups no other replica took within [`HANDOVER_TIMEOUT`] (shutdown goes on anyway).
pub async fn run(shard: &Rc<Shard>) -> Result<(), String> {
    if !shard.config.cluster.is_multi_node() {
        return Ok(());
    }
    let groups = shard.primary_groups();
    if groups.is_empty() {
        return Ok(());
    }
    tracing::info!(?groups, "handing primaryship over");
    for &group in &groups {
        shard.abdicate(group);
    }
    shard.run();
    let deadline = Instant::now() + HANDOVER_TIMEOUT;
    loop {
        let pending: Vec<u32> =
            groups.iter().copied().filter(|&g| !shard.led_elsewhere(g)).collect();
        if pending.is_empty() {
            tracing::info!(?groups, "primaryship handed over");
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("groups {pending:?} not taken over within {HANDOVER_TIMEOUT:?}"));
        }
        monoio::time::sleep(Duration::from_millis(5)).await;
    }
}
