//! Goal: hostile bytes on raw QUIC streams get a well-formed Iggy refusal on the same
//! stream (reply, then FIN), and the connection and node keep serving: a header that is
//! not a request, a frame shorter than a header, a size that disagrees with the stream,
//! an unknown command, an empty stream.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use vireo_node::client::config::TlsSettings;
use vireo_node::client::transport::rustls_client_config;
use vireo_protocol::iggy::request::{RequestIds, encode_request};
use vireo_protocol::iggy::{ErrorCode, HEADER_SIZE, ReplyHeader, Request, RequestHeader};
use vireo_tests::Node;

async fn connect(address: SocketAddr) -> quinn::Connection {
    // As the SDK by default: the node's certificate is self-signed, so it is not verified.
    let crypto = rustls_client_config(&TlsSettings::default(), true).expect("TLS config");
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(crypto).unwrap();
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    endpoint.connect(address, "localhost").unwrap().await.expect("QUIC handshake")
}

/// Sends `frame` on a new stream and reads the reply's status.
async fn exchange(connection: &quinn::Connection, frame: &[u8]) -> u32 {
    let (mut send, mut recv) = connection.open_bi().await.unwrap();
    send.write_all(frame).await.unwrap();
    send.finish().unwrap();
    let reply = recv.read_to_end(10 << 20).await.expect("a reply, then FIN");
    let header = ReplyHeader::decode(&reply).expect("a reply header");
    assert_eq!(header.size as usize, reply.len());
    header.status
}

fn ping() -> Vec<u8> {
    let mut frame = Vec::new();
    let ids = RequestIds { client: 7, session: 0, request: 0 };
    encode_request(&mut frame, ids, &Request::Ping);
    frame
}

#[test]
fn refusals_on_quic_streams_keep_serving() {
    let node = Node::start("malformed-quic", &[]);
    let address: SocketAddr = node.ports.quic_address().parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            let connection = connect(address).await;
            assert_eq!(exchange(&connection, &ping()).await, 0);
            let mut not_a_request = ping();
            not_a_request[60] = 99;
            assert_eq!(exchange(&connection, &not_a_request).await, ErrorCode::INVALID_FORMAT.0);
            assert_eq!(exchange(&connection, &ping()[..10]).await, ErrorCode::INVALID_FORMAT.0);
            assert_eq!(exchange(&connection, &[]).await, ErrorCode::INVALID_FORMAT.0);
            let mut longer = ping();
            longer.extend_from_slice(&[1, 2, 3]);
            assert_eq!(
                exchange(&connection, &longer).await,
                ErrorCode::INVALID_FORMAT.0,
                "size disagrees"
            );
            let mut unknown = ping();
            let mut header = RequestHeader::decode(&unknown).unwrap();
            header.code = 4242;
            header.encode((&mut unknown[..HEADER_SIZE]).try_into().unwrap());
            assert_eq!(exchange(&connection, &unknown).await, ErrorCode::INVALID_COMMAND.0);
            assert_eq!(exchange(&connection, &ping()).await, 0, "the connection still serves");
            let fresh = connect(address).await;
            assert_eq!(exchange(&fresh, &ping()).await, 0, "the node still serves");
        })
        .await
        .expect("bounded");
    });
}
