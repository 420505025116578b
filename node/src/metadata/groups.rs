//! Server-side partition assignment of consumer groups.
//!
//! Deterministic round-robin: members in ascending id order, partition `p` goes to
//! member `p mod members`. Recomputed (and the generation bumped) whenever members join or
//! leave or the topic's partitions change, so every replica assigns identically and a
//! member polling with an old generation learns to re-sync.

use super::model::ConsumerGroup;

/// Recomputes the assignment of `group` over `partitions_count` partitions.
pub fn rebalance(group: &mut ConsumerGroup, partitions_count: u32) {
    let members: Vec<u32> = group.members.keys().copied().collect();
    for assigned in group.members.values_mut() {
        assigned.clear();
    }
    if !members.is_empty() {
        for partition in 0..partitions_count {
            let member = members[partition as usize % members.len()];
            group.members.get_mut(&member).expect("listed member").push(partition);
        }
    }
    group.generation += 1;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn assignment_is_round_robin_and_complete() {
        let mut group = ConsumerGroup {
            id: 0,
            name: "g".into(),
            incarnation: 1,
            members: BTreeMap::from([(9, vec![]), (4, vec![]), (7, vec![])]),
            generation: 0,
        };
        rebalance(&mut group, 5);
        assert_eq!(group.members[&4], vec![0, 3]);
        assert_eq!(group.members[&7], vec![1, 4]);
        assert_eq!(group.members[&9], vec![2]);
        assert_eq!(group.generation, 1);
        group.members.remove(&7);
        rebalance(&mut group, 5);
        assert_eq!(group.members[&4], vec![0, 2, 4]);
        assert_eq!(group.members[&9], vec![1, 3]);
        assert_eq!(group.generation, 2);
    }
}
