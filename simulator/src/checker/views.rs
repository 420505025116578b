//! Views never regress: a replica's durable view only grows, across restarts too.

use std::collections::BTreeMap;

use super::Violation;

/// Tracks each replica's highest durable view.
#[derive(Debug, Default)]
pub struct ViewChecker {
    durable: BTreeMap<u8, u32>,
    /// Highest view any replica reached.
    pub view_max: u32,
}

impl ViewChecker {
    /// Observes a replica's durable view (from its superblock) and its in-memory view.
    pub fn observe(&mut self, replica: u8, durable_view: u32, view: u32) -> Result<(), Violation> {
        self.view_max = self.view_max.max(view);
        let before = self.durable.entry(replica).or_insert(0);
        if durable_view < *before {
            return Err(Violation::new(
                "views",
                format!(
                    "replica {replica}'s durable view went from {before} back to {durable_view}"
                ),
            ));
        }
        if view < durable_view {
            return Err(Violation::new(
                "views",
                format!("replica {replica} is in view {view} below its durable {durable_view}"),
            ));
        }
        *before = durable_view;
        Ok(())
    }
}
