//! Goal: hostile or broken bytes on a raw TCP socket get a well-formed Iggy refusal —
//! never a crash or a silent drop — and the node keeps serving: garbage headers, an
//! unknown command, a body that does not decode, a frame above the node's request limit
//! (read, discarded and refused; the connection continues), sizes that cannot be framed
//! (refused, then that connection closes), and truncated frames.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use vireo_protocol::iggy::primitives::{Identifier, Name};
use vireo_protocol::iggy::request::{RequestIds, StreamTarget, encode_request};
use vireo_protocol::iggy::{
    COMMAND_EVICTION, ErrorCode, HEADER_SIZE, Operation, ReplyHeader, Request, RequestHeader,
};
use vireo_tests::Node;

const IDS: RequestIds = RequestIds { client: 0xfeed, session: 0, request: 0 };

fn connect(node: &Node) -> TcpStream {
    let stream = TcpStream::connect(node.ports.tcp_address()).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("read timeout");
    stream
}

/// Reads one reply frame.
fn read_reply(stream: &mut TcpStream) -> (ReplyHeader, Vec<u8>) {
    let mut header = [0u8; HEADER_SIZE];
    stream.read_exact(&mut header).expect("reply header");
    assert_ne!(header[60], COMMAND_EVICTION, "unexpected eviction");
    let reply = ReplyHeader::decode(&header).expect("a reply header");
    let mut body = vec![0u8; reply.size as usize - HEADER_SIZE];
    stream.read_exact(&mut body).expect("reply body");
    (reply, body)
}

fn ping_frame() -> Vec<u8> {
    let mut frame = Vec::new();
    encode_request(&mut frame, IDS, &Request::Ping);
    frame
}

fn assert_serving(stream: &mut TcpStream) {
    stream.write_all(&ping_frame()).expect("send ping");
    let (reply, _) = read_reply(stream);
    assert_eq!(reply.status, 0, "ping after a refusal");
}

fn status_of(stream: &mut TcpStream, frame: &[u8]) -> u32 {
    stream.write_all(frame).expect("send");
    read_reply(stream).0.status
}

#[test]
fn refusals_keep_the_connection_and_the_node_serving() {
    let node = Node::start("malformed", &[]);
    let mut stream = connect(&node);
    assert_serving(&mut stream);

    // A header whose command byte is not a request.
    let mut garbage = ping_frame();
    garbage[60] = 42;
    assert_eq!(status_of(&mut stream, &garbage), ErrorCode::INVALID_FORMAT.0);
    assert_serving(&mut stream);

    // Reserved header bytes that the official encoder always zeroes.
    let mut reserved = ping_frame();
    reserved[250] = 1;
    assert_eq!(status_of(&mut stream, &reserved), ErrorCode::INVALID_FORMAT.0);

    // An unknown command code.
    let mut unknown = ping_frame();
    let mut header = RequestHeader::decode(&unknown).unwrap();
    header.code = 9_999;
    header.encode((&mut unknown[..HEADER_SIZE]).try_into().unwrap());
    assert_eq!(status_of(&mut stream, &unknown), ErrorCode::INVALID_COMMAND.0);
    assert_serving(&mut stream);

    // A body that does not decode for its command (a numeric id with a 3-byte value).
    let mut frame = Vec::new();
    let target = StreamTarget { stream_id: Identifier::Numeric(1) };
    encode_request(&mut frame, IDS, &Request::GetStream(target));
    frame[HEADER_SIZE + 1] = 3;
    assert_eq!(status_of(&mut stream, &frame), ErrorCode::INVALID_FORMAT.0);
    assert_serving(&mut stream);

    // A read before login: refused with Unauthenticated, not dropped.
    let mut frame = Vec::new();
    let target = StreamTarget { stream_id: Identifier::Name(Name::new("s").unwrap()) };
    encode_request(&mut frame, IDS, &Request::GetStream(target));
    assert_eq!(status_of(&mut stream, &frame), ErrorCode::UNAUTHENTICATED.0);

    // Above the node's request limit (1 MiB in tests): read, discarded, refused.
    let body = 3 << 20;
    let mut big = ping_frame();
    let mut header = RequestHeader::decode(&big).unwrap();
    header.size = u32::try_from(HEADER_SIZE + body).unwrap();
    header.operation = Operation::SendMessages;
    header.code = 0;
    header.session = 1;
    header.request = 1;
    header.encode((&mut big[..HEADER_SIZE]).try_into().unwrap());
    big.resize(HEADER_SIZE + body, 0xab);
    assert_eq!(status_of(&mut stream, &big), ErrorCode::TOO_BIG_MESSAGE_PAYLOAD.0);
    assert_serving(&mut stream);

    // A size below the header cannot be framed: refused, then closed.
    let mut tiny = ping_frame();
    tiny[48..52].copy_from_slice(&10u32.to_le_bytes());
    let mut doomed = connect(&node);
    assert_eq!(status_of(&mut doomed, &tiny), ErrorCode::INVALID_SIZE_BYTES.0);
    let mut rest = Vec::new();
    let _ = doomed.read_to_end(&mut rest);
    assert!(rest.is_empty(), "the connection closes after an unframeable size");

    // A size above the hard limit (64 MiB) is refused without reading it.
    let mut huge = ping_frame();
    huge[48..52].copy_from_slice(&(100u32 << 20).to_le_bytes());
    let mut doomed = connect(&node);
    assert_eq!(status_of(&mut doomed, &huge), ErrorCode::INVALID_SIZE_BYTES.0);

    // A truncated frame, then the peer vanishes.
    let mut truncated = connect(&node);
    truncated.write_all(&ping_frame()[..100]).unwrap();
    drop(truncated);

    // Random bytes.
    let mut noise = connect(&node);
    let bytes: Vec<u8> =
        (0..1000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let _ = noise.write_all(&bytes);
    drop(noise);

    // After all of it, the node still serves new connections and the old one.
    assert_serving(&mut stream);
    assert_serving(&mut connect(&node));
    let (status, body) = node.http_get("/metrics");
    assert_eq!(status, 200);
    assert!(body.contains("vireo_frames_rejected_total"));
}
