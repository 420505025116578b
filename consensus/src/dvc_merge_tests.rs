//! The merge, on logs that a cluster reaches when the replica that could vouch for an
//! uncommitted op is in `recovering_head` and sends no do_view_change.

use std::collections::BTreeMap;

use vireo_protocol::vsr::{Command, Header};

use super::{Dvc, DvcEntry, Merge, merge};

fn prepare(op: u64, view: u32, parent: u128) -> Header {
    let mut header = Header::new(Command::Prepare);
    header.op = op;
    header.view = view;
    header.parent = parent;
    header.seal(&[]);
    header
}

/// `entries`: (header, present); `None` is a blank (nacked).
fn dvc(
    replica: u8,
    log_view: u32,
    commit_min: u64,
    entries: &[(u64, Option<Header>, bool)],
) -> Dvc {
    let mut map = BTreeMap::new();
    for &(op, header, present) in entries {
        map.insert(op, DvcEntry { header, present, nack: header.is_none() });
    }
    let op = entries.iter().filter(|e| e.1.is_some()).map(|e| e.0).max().expect("a head");
    Dvc { replica, log_view, op, commit_min, entries: map }
}

/// Ops 1..=3 committed (view 0). Op 4 of view 0 is held by replica 0 (the old primary);
/// op 4 of view 1 was held only by replica 1 (now recovering); op 5 of view 1 by
/// replicas 1 and 2. Replicas 0 and 2 answer. Op 4 of view 1 never reached a replication
/// quorum (2 of 3): replica 2 has a blank there, and replica 0 holds another op 4 — it
/// does not hold the one op 5 names as its parent. Two denials: cut at 4.
#[test]
fn a_different_header_under_the_canonical_parent_denies_the_op() {
    let op1 = prepare(1, 0, 7);
    let op2 = prepare(2, 0, op1.checksum);
    let op3 = prepare(3, 0, op2.checksum);
    let op4_view0 = prepare(4, 0, op3.checksum);
    let op4_view1 = prepare(4, 1, op3.checksum);
    let op5_view1 = prepare(5, 1, op4_view1.checksum);
    let old_primary = dvc(
        0,
        0,
        3,
        &[
            (1, Some(op1), true),
            (2, Some(op2), true),
            (3, Some(op3), true),
            (4, Some(op4_view0), true),
        ],
    );
    let canonical = dvc(
        2,
        1,
        3,
        &[
            (1, Some(op1), true),
            (2, Some(op2), true),
            (3, Some(op3), true),
            (4, None, false),
            (5, Some(op5_view1), true),
        ],
    );

    assert_eq!(
        merge(&[old_primary, canonical], 3, 2, 4),
        Merge::Complete { headers: vec![op1, op2, op3], op: 3, commit_max: 3 }
    );
}

/// The control: when replica 0 has a blank at op 4 too, the two nacks cut it.
#[test]
fn two_blanks_under_the_canonical_parent_cut_the_op() {
    let op1 = prepare(1, 0, 7);
    let op2 = prepare(2, 0, op1.checksum);
    let op3 = prepare(3, 0, op2.checksum);
    let op4_view1 = prepare(4, 1, op3.checksum);
    let op5_view1 = prepare(5, 1, op4_view1.checksum);
    let old_primary =
        dvc(0, 0, 3, &[(1, Some(op1), true), (2, Some(op2), true), (3, Some(op3), true)]);
    let canonical = dvc(
        2,
        1,
        3,
        &[
            (1, Some(op1), true),
            (2, Some(op2), true),
            (3, Some(op3), true),
            (4, None, false),
            (5, Some(op5_view1), true),
        ],
    );

    assert_eq!(
        merge(&[old_primary, canonical], 3, 2, 4),
        Merge::Complete { headers: vec![op1, op2, op3], op: 3, commit_max: 3 }
    );
}
