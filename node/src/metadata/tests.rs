//! The metadata machine applied op by op: ids, uniqueness, cascades, assignment,
//! budget refusals and snapshot round trips.

use vireo_consensus::{ApplyContext, StateMachine};
use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::topic_options::{Compression, Durability};
use vireo_protocol::metadata::{MetadataOp, TopicConfig, UserStatus};

use super::reply::{Outcome, decode};
use super::{METADATA_OPERATION, MetadataCommand, MetadataMachine};

struct Harness {
    machine: MetadataMachine,
    op: u64,
}

fn config() -> TopicConfig {
    TopicConfig {
        message_expiry: u64::MAX,
        max_topic_size: u64::MAX,
        segment_size: 1 << 20,
        durability: Durability::Replicated,
        consumer_offset_durability: Durability::Replicated,
        compression: Compression::None,
    }
}

impl Harness {
    fn new(budget: u64) -> Self {
        Self { machine: MetadataMachine::new(budget), op: 0 }
    }

    fn run(&mut self, op: MetadataOp) -> Outcome {
        self.op += 1;
        let context = ApplyContext {
            op: self.op,
            timestamp: 1000 + self.op,
            operation: METADATA_OPERATION,
            client: 1,
        };
        let body = MetadataCommand { op, options_set: 0 }.encode();
        let mut reply = Vec::new();
        self.machine.apply(&context, &body, &mut reply);
        self.machine.check_invariants();
        decode(&reply).expect("compact reply")
    }
}

fn topic(stream_id: u32, name: &str, partitions_count: u32) -> MetadataOp {
    MetadataOp::CreateTopic { stream_id, name: name.into(), partitions_count, config: config() }
}

#[test]
fn streams_and_topics_take_lowest_free_ids_and_refuse_duplicates() {
    let mut h = Harness::new(1 << 20);
    assert_eq!(h.run(MetadataOp::CreateStream { name: "a".into() }), Ok(0));
    assert_eq!(h.run(MetadataOp::CreateStream { name: "b".into() }), Ok(1));
    assert_eq!(
        h.run(MetadataOp::CreateStream { name: "a".into() }),
        Err(ErrorCode::STREAM_NAME_ALREADY_EXISTS)
    );
    assert_eq!(h.run(MetadataOp::DeleteStream { stream_id: 0 }), Ok(0));
    assert_eq!(h.run(MetadataOp::CreateStream { name: "c".into() }), Ok(0));
    assert_eq!(h.run(topic(0, "t", 3)), Ok(0));
    assert_eq!(h.run(topic(0, "t", 1)), Err(ErrorCode::TOPIC_NAME_ALREADY_EXISTS));
    assert_eq!(h.run(topic(9, "t", 1)), Err(ErrorCode::STREAM_ID_NOT_FOUND));
    assert_eq!(h.run(topic(0, "u", 1001)), Err(ErrorCode::INVALID_PARTITIONS_COUNT));
    let stream = &h.machine.state().streams[&0];
    let created = &stream.topics[&0];
    assert_eq!(created.partitions.len(), 3);
    assert!(created.partitions.iter().all(|p| p.incarnation == 6));
    assert_eq!(
        h.run(MetadataOp::DeletePartitions { stream_id: 0, topic_id: 0, count: 4 }),
        Err(ErrorCode::INVALID_PARTITIONS_COUNT)
    );
    assert_eq!(h.run(MetadataOp::DeletePartitions { stream_id: 0, topic_id: 0, count: 2 }), Ok(2));
    assert_eq!(h.run(MetadataOp::CreatePartitions { stream_id: 0, topic_id: 0, count: 2 }), Ok(2));
    let partitions = &h.machine.state().streams[&0].topics[&0].partitions;
    assert_eq!(partitions.iter().map(|p| p.id).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_ne!(partitions[1].incarnation, partitions[0].incarnation, "recreated ids are new");
}

#[test]
fn consumer_groups_rebalance_on_join_leave_and_partition_changes() {
    let mut h = Harness::new(1 << 20);
    h.run(MetadataOp::CreateStream { name: "s".into() }).unwrap();
    h.run(topic(0, "t", 4)).unwrap();
    let create = MetadataOp::CreateConsumerGroup { stream_id: 0, topic_id: 0, name: "g".into() };
    assert_eq!(h.run(create.clone()), Ok(0));
    assert_eq!(h.run(create), Err(ErrorCode::CONSUMER_GROUP_NAME_ALREADY_EXISTS));
    let join =
        |member| MetadataOp::JoinConsumerGroup { stream_id: 0, topic_id: 0, group_id: 0, member };
    let leave =
        |member| MetadataOp::LeaveConsumerGroup { stream_id: 0, topic_id: 0, group_id: 0, member };
    h.run(join(5)).unwrap();
    h.run(join(3)).unwrap();
    let group = |h: &Harness| h.machine.state().streams[&0].topics[&0].groups[&0].clone();
    assert_eq!(group(&h).members[&3], vec![0, 2]);
    assert_eq!(group(&h).members[&5], vec![1, 3]);
    let generation = group(&h).generation;
    h.run(MetadataOp::CreatePartitions { stream_id: 0, topic_id: 0, count: 1 }).unwrap();
    assert_eq!(group(&h).members[&3], vec![0, 2, 4]);
    assert!(group(&h).generation > generation);
    assert_eq!(h.run(leave(9)), Err(ErrorCode::CONSUMER_GROUP_MEMBER_NOT_FOUND));
    h.run(leave(3)).unwrap();
    assert_eq!(group(&h).members[&5], vec![0, 1, 2, 3, 4]);
}

#[test]
fn users_tokens_and_root_protection() {
    let mut h = Harness::new(1 << 20);
    let user = |name: &str| MetadataOp::CreateUser {
        username: name.into(),
        password_hash: "hash".into(),
        status: UserStatus::Active,
        permissions: None,
    };
    assert_eq!(h.run(user("iggy")), Ok(0));
    assert_eq!(h.run(user("bob")), Ok(1));
    assert_eq!(h.run(user("bob")), Err(ErrorCode::USER_ALREADY_EXISTS));
    assert_eq!(h.run(MetadataOp::DeleteUser { user_id: 0 }), Err(ErrorCode::CANNOT_DELETE_USER));
    assert_eq!(h.run(MetadataOp::DeleteUser { user_id: 7 }), Err(ErrorCode::RESOURCE_NOT_FOUND));
    let token = |name: &str, expiry_at| MetadataOp::CreatePersonalAccessToken {
        user_id: 1,
        name: name.into(),
        token_hash: "h".into(),
        expiry_at,
    };
    assert_eq!(h.run(token("t", None)), Ok(1));
    assert_eq!(h.run(token("t", None)), Err(ErrorCode::PERSONAL_ACCESS_TOKEN_ALREADY_EXISTS));
    // An expired token is dropped when the next one is created (timestamps grow by op).
    assert_eq!(h.run(token("old", Some(1009))), Ok(1));
    assert_eq!(h.run(token("new", None)), Ok(1));
    assert!(!h.machine.state().users[&1].tokens.contains_key("old"));
}

#[test]
fn budget_refusals_leave_the_state_untouched_and_snapshots_round_trip() {
    let mut h = Harness::new(600);
    assert_eq!(h.run(MetadataOp::CreateStream { name: "a".into() }), Ok(0));
    let before = h.machine.state().clone();
    assert_eq!(h.run(topic(0, "big", 200)), Err(ErrorCode::TOO_MANY_TOPICS));
    assert_eq!(h.machine.state().streams, before.streams);

    let bytes = h.machine.snapshot();
    let mut restored = MetadataMachine::new(600);
    restored.restore(&bytes).unwrap();
    assert_eq!(restored.state(), h.machine.state());
    assert_eq!(restored.snapshot(), bytes, "snapshots are deterministic");
    assert!(restored.restore(&bytes[..bytes.len() / 2]).is_err());
}
