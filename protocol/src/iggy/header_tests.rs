//! Header round trips, and the rejections a hostile peer can provoke.

use super::*;
use proptest::prelude::*;

fn request(operation: Operation) -> RequestHeader {
    RequestHeader {
        size: 300,
        client: 0xfeed_beef,
        request_checksum: 7,
        timestamp: 0,
        request: 3,
        operation,
        session: 9,
        user_id: 0,
        code: if operation == Operation::NonReplicated { 200 } else { 0 },
    }
}

#[test]
fn request_round_trip_and_field_offsets() {
    let header = request(Operation::NonReplicated);
    let bytes = header.to_bytes();
    assert_eq!(bytes[60], COMMAND_REQUEST);
    assert_eq!(&bytes[196..200], &200u32.to_le_bytes());
    assert_eq!(bytes[176], 2);
    assert_eq!(read_size(&bytes), Some(300));
    assert_eq!(RequestHeader::decode(&bytes), Ok(header));
}

#[test]
fn request_rejections() {
    let good = request(Operation::CreateStream).to_bytes();
    let mut bad = good;
    bad[60] = 8;
    assert_eq!(RequestHeader::decode(&bad), Err(HeaderError::Command { expected: 5, found: 8 }));
    let mut bad = good;
    bad[176] = 66;
    assert_eq!(RequestHeader::decode(&bad), Err(HeaderError::Operation(66)));
    let mut bad = good;
    bad[196] = 1;
    assert_eq!(
        RequestHeader::decode(&bad),
        Err(HeaderError::Reserved),
        "code bytes on a replicated op"
    );
    let mut bad = good;
    bad[48..52].copy_from_slice(&255u32.to_le_bytes());
    assert_eq!(RequestHeader::decode(&bad), Err(HeaderError::Size(255)));
    assert_eq!(RequestHeader::decode(&good[..200]), Err(HeaderError::Truncated(200)));
}

#[test]
fn session_rules() {
    let mut header = request(Operation::Register);
    assert_eq!(header.check_session(), Err(SessionError::RegisterWithSession));
    header.session = 0;
    header.request = 0;
    assert_eq!(header.check_session(), Ok(()));
    let mut header = request(Operation::CreateStream);
    header.session = 0;
    assert_eq!(header.check_session(), Err(SessionError::NoSession));
    header.session = 1;
    header.request = 0;
    assert_eq!(header.check_session(), Err(SessionError::NoRequestNumber));
    let mut header = request(Operation::NonReplicated);
    header.session = 0;
    header.request = 0;
    assert_eq!(header.check_session(), Ok(()), "ping works before login");
}

#[test]
fn reply_answers_request_and_round_trips() {
    let request = request(Operation::CreateTopic);
    let mut reply = ReplyHeader::answering(&request);
    reply.status = 1009;
    reply.commit = 5;
    let bytes = reply.to_bytes();
    assert_eq!(bytes[60], COMMAND_REPLY);
    assert_eq!(bytes[208], Operation::CreateTopic as u8);
    assert_eq!(&bytes[216..220], &1009u32.to_le_bytes());
    assert_eq!(&bytes[160..176], &request.client.to_le_bytes());
    assert_eq!(ReplyHeader::decode(&bytes), Ok(reply));
}

#[test]
fn eviction_round_trip_and_validation() {
    let eviction = EvictionHeader {
        client: 77,
        server_protocol_version: 11 << 10,
        server_protocol_version_min: 11 << 10,
        reason: EvictionReason::IncompatibleProtocol,
    };
    let bytes = eviction.to_bytes();
    assert_eq!(bytes[255], 14);
    assert_eq!(read_size(&bytes), Some(256));
    assert_eq!(EvictionHeader::decode(&bytes), Ok(eviction));
    let mut bad = bytes;
    bad[255] = 0;
    assert_eq!(EvictionHeader::decode(&bad), Err(HeaderError::EvictionReason(0)));
    for value in 1..=15u8 {
        assert_eq!(EvictionReason::from_u8(value).map(|r| r as u8), Some(value));
    }
}

proptest! {
    #[test]
    fn decoders_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = RequestHeader::decode(&bytes);
        let _ = ReplyHeader::decode(&bytes);
        let _ = EvictionHeader::decode(&bytes);
    }

    #[test]
    fn request_round_trips_any_fields(
        size in 256u32.., client in any::<u128>(), checksum in any::<u128>(), timestamp in any::<u64>(),
        number in any::<u64>(), op_index in 0usize..Operation::ALL.len(), session in any::<u64>(),
        user_id in any::<u32>(), code in any::<u32>(),
    ) {
        let operation = Operation::ALL[op_index];
        let header = RequestHeader {
            size, client, request_checksum: checksum, timestamp, request: number, operation, session, user_id,
            code: if operation == Operation::NonReplicated { code } else { 0 },
        };
        prop_assert_eq!(RequestHeader::decode(&header.to_bytes()), Ok(header));
    }

    #[test]
    fn reply_round_trips_any_fields(
        size in 256u32.., checksum in any::<u128>(), context in any::<u128>(), client in any::<u128>(),
        op in any::<u64>(), commit in any::<u64>(), number in any::<u64>(), status in any::<u32>(),
        op_index in 0usize..Operation::ALL.len(),
    ) {
        let header = ReplyHeader {
            size, request_checksum: checksum, context, client, op, commit, timestamp: op ^ commit,
            request: number, operation: Operation::ALL[op_index], status,
        };
        prop_assert_eq!(ReplyHeader::decode(&header.to_bytes()), Ok(header));
    }
}
