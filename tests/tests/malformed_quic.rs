//! Goal: hostile bytes on raw QUIC streams get a well-formed Iggy refusal on the same
//! stream (reply, then FIN), and the connection and node keep serving: a header that is
//! not a request, a frame shorter than a header, a size that disagrees with the stream,
//! an unknown command, an empty stream.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use vireo_protocol::iggy::request::{RequestIds, encode_request};
use vireo_protocol::iggy::{ErrorCode, HEADER_SIZE, ReplyHeader, Request, RequestHeader};
use vireo_tests::Node;

/// The SDK's default: no certificate verification (the node's certificate is
/// self-signed).
#[derive(Debug)]
struct SkipVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for SkipVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn connect(address: SocketAddr) -> quinn::Connection {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let crypto = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(SkipVerification(provider)))
        .with_no_client_auth();
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
