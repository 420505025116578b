//! rustls client settings shared by TCP-TLS and QUIC.
//!
//! Like the official SDK, certificate verification is off by default: a node
//! generates a self-signed certificate on its first start. Signatures are still
//! checked, so the handshake proves the server holds the key of the certificate it
//! sent; only the chain of trust is skipped. With `verify` (or a CA file) the
//! certificate must chain to the given CAs and match the server name.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::client::config::TlsSettings;

/// Accepts any certificate chain but verifies handshake signatures.
#[derive(Debug)]
struct SkipChainVerification {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for SkipChainVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Builds a rustls client configuration (ring provider). `tls13_only` for QUIC.
pub fn rustls_client_config(
    settings: &TlsSettings,
    tls13_only: bool,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] =
        if tls13_only { &[&rustls::version::TLS13] } else { rustls::DEFAULT_VERSIONS };
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|error| format!("TLS versions: {error}"))?;
    let config = if settings.verify || settings.ca_file.is_some() {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(path) = &settings.ca_file {
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|error| format!("CA file {}: {error}", path.display()))?;
            for certificate in certificates {
                let certificate =
                    certificate.map_err(|error| format!("CA file {}: {error}", path.display()))?;
                roots
                    .add(certificate)
                    .map_err(|error| format!("CA file {}: {error}", path.display()))?;
            }
        }
        if roots.is_empty() {
            return Err("certificate verification needs a CA file (--tls-ca)".to_owned());
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let verifier = SkipChainVerification { algorithms: provider_algorithms(&provider) };
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    };
    Ok(config)
}

fn provider_algorithms(provider: &CryptoProvider) -> WebPkiSupportedAlgorithms {
    provider.signature_verification_algorithms
}

/// The SNI name for `settings`.
pub(super) fn server_name(settings: &TlsSettings) -> Result<ServerName<'static>, String> {
    ServerName::try_from(settings.server_name.clone())
        .map_err(|error| format!("TLS server name {:?}: {error}", settings.server_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_build_without_a_ca_and_verification_needs_one() {
        assert!(rustls_client_config(&TlsSettings::default(), true).is_ok());
        let verify = TlsSettings { verify: true, ..TlsSettings::default() };
        assert!(rustls_client_config(&verify, false).unwrap_err().contains("CA file"));
        let missing =
            TlsSettings { ca_file: Some("/nonexistent/ca.pem".into()), ..TlsSettings::default() };
        assert!(rustls_client_config(&missing, false).is_err());
    }

    #[test]
    fn server_names_accept_dns_names_and_ips() {
        assert!(server_name(&TlsSettings::default()).is_ok());
        let ip = TlsSettings { server_name: "127.0.0.1".into(), ..TlsSettings::default() };
        assert!(server_name(&ip).is_ok());
    }
}
