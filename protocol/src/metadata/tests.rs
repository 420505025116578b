//! Round trips of every metadata op, and hostile archives.

use proptest::prelude::*;
use rkyv::util::AlignedVec;

use super::*;
use crate::iggy::primitives::{
    GlobalPermissions, Permissions, StreamPermissions, TopicPermissions,
};
use crate::iggy::topic_options::{Compression, Durability};

fn permissions() -> Permissions {
    Permissions {
        global: GlobalPermissions { read_streams: true, ..GlobalPermissions::default() },
        streams: vec![StreamPermissions {
            stream_id: 3,
            topics: vec![TopicPermissions {
                topic_id: 1,
                poll_messages: true,
                ..TopicPermissions::default()
            }],
            ..StreamPermissions::default()
        }],
    }
}

fn every_op(name: &str, id: u32, wide: u64) -> Vec<MetadataOp> {
    let config = TopicConfig {
        message_expiry: wide,
        max_topic_size: u64::MAX,
        segment_size: 1 << 30,
        durability: Durability::Persisted,
        consumer_offset_durability: Durability::Replicated,
        compression: Compression::Gzip,
    };
    let owner = if id.is_multiple_of(2) {
        OffsetOwner::Group(id)
    } else {
        OffsetOwner::Consumer(ConsumerKey::Name(name.into()))
    };
    vec![
        MetadataOp::CreateStream { name: name.into() },
        MetadataOp::UpdateStream { stream_id: id, name: name.into() },
        MetadataOp::DeleteStream { stream_id: id },
        MetadataOp::PurgeStream { stream_id: id },
        MetadataOp::CreateTopic { stream_id: id, name: name.into(), partitions_count: 3, config },
        MetadataOp::UpdateTopic {
            stream_id: id,
            topic_id: 1,
            name: name.into(),
            patch: TopicPatch {
                message_expiry: Some(wide),
                max_topic_size: None,
                compression: Some(Compression::None),
            },
        },
        MetadataOp::DeleteTopic { stream_id: id, topic_id: 2 },
        MetadataOp::PurgeTopic { stream_id: id, topic_id: 2 },
        MetadataOp::CreatePartitions { stream_id: id, topic_id: 2, count: 4 },
        MetadataOp::DeletePartitions { stream_id: id, topic_id: 2, count: 1 },
        MetadataOp::DeleteSegments {
            stream_id: id,
            topic_id: 2,
            partition_id: 0,
            segments_count: 5,
        },
        MetadataOp::CreateConsumerGroup { stream_id: id, topic_id: 2, name: name.into() },
        MetadataOp::DeleteConsumerGroup { stream_id: id, topic_id: 2, group_id: 7 },
        MetadataOp::JoinConsumerGroup { stream_id: id, topic_id: 2, group_id: 7, member: 11 },
        MetadataOp::LeaveConsumerGroup { stream_id: id, topic_id: 2, group_id: 7, member: 11 },
        MetadataOp::CreateUser {
            username: name.into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            status: UserStatus::Active,
            permissions: Some(permissions()),
        },
        MetadataOp::UpdateUser { user_id: id, username: None, status: Some(UserStatus::Inactive) },
        MetadataOp::DeleteUser { user_id: id },
        MetadataOp::ChangePassword { user_id: id, password_hash: name.into() },
        MetadataOp::UpdatePermissions { user_id: id, permissions: None },
        MetadataOp::CreatePersonalAccessToken {
            user_id: id,
            name: name.into(),
            token_hash: name.into(),
            expiry_at: Some(wide),
        },
        MetadataOp::DeletePersonalAccessToken { user_id: id, name: name.into() },
        MetadataOp::StoreConsumerOffset {
            owner: owner.clone(),
            stream_id: id,
            topic_id: 1,
            partition_id: 0,
            offset: wide,
        },
        MetadataOp::DeleteConsumerOffset { owner, stream_id: id, topic_id: 1, partition_id: 0 },
    ]
}

#[test]
fn archived_fields_read_in_place() {
    let op = MetadataOp::CreateTopic {
        stream_id: 4,
        name: "orders".into(),
        partitions_count: 8,
        config: TopicConfig {
            message_expiry: 60_000_000,
            max_topic_size: u64::MAX,
            segment_size: 1 << 30,
            durability: Durability::Persisted,
            consumer_offset_durability: Durability::Replicated,
            compression: Compression::None,
        },
    };
    let bytes = encode(&op);
    let mut aligned = AlignedVec::<16>::new();
    aligned.extend_from_slice(&bytes);
    match access(&aligned).unwrap() {
        ArchivedMetadataOp::CreateTopic { stream_id, name, partitions_count, config } => {
            assert_eq!(stream_id.to_native(), 4);
            assert_eq!(name.as_str(), "orders");
            assert_eq!(partitions_count.to_native(), 8);
            assert_eq!(config.durability, Durability::Persisted);
        }
        other => panic!("wrong variant {other:?}"),
    }
}

#[test]
fn misaligned_and_corrupt_archives_are_errors() {
    let bytes = encode(&MetadataOp::DeleteStream { stream_id: 1 });
    let mut shifted = AlignedVec::<16>::new();
    shifted.extend_from_slice(&[0]);
    shifted.extend_from_slice(&bytes);
    assert!(matches!(access(&shifted[1..]), Err(MetadataError::Unaligned(_))));
    assert_eq!(
        decode(&shifted[1..]),
        Ok(MetadataOp::DeleteStream { stream_id: 1 }),
        "decode realigns"
    );
    let mut corrupt = AlignedVec::<16>::new();
    corrupt.extend_from_slice(&bytes);
    let last = corrupt.len() - 1;
    corrupt[last] = 0xff;
    corrupt[0] = 0xff;
    assert_eq!(decode(&corrupt), Err(MetadataError::Invalid));
    assert_eq!(decode(&[]), Err(MetadataError::Invalid));
}

proptest! {
    #[test]
    fn every_op_round_trips(name in "[a-z0-9]{0,40}", id in any::<u32>(), wide in any::<u64>()) {
        for op in every_op(&name, id, wide) {
            prop_assert_eq!(decode(&encode(&op)), Ok(op));
        }
    }

    #[test]
    fn access_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut aligned = AlignedVec::<16>::new();
        aligned.extend_from_slice(&bytes);
        let _ = access(&aligned);
        let _ = decode(&bytes);
    }
}
