//! TLS configurations of the client edges (rustls with the ring provider).
//!
//! QUIC is always TLS 1.3 and advertises no ALPN (the 0.11.0 SDK sends none). Without
//! configured files, a self-signed certificate for `localhost` and the listen addresses
//! is generated into `<data_dir>/tls/` on first start and reused afterwards; the SDK's
//! default is not to verify the server certificate.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Config;

/// The edges' TLS configurations.
#[derive(Debug, Default)]
pub struct TlsConfigs {
    /// TCP, when `tcp.tls_enabled`.
    pub tcp: Option<Arc<ServerConfig>>,
    /// QUIC, when `quic.enabled`.
    pub quic: Option<Arc<ServerConfig>>,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The self-signed certificate could not be generated or written.
    #[error("self-signed certificate: {0}")]
    Generate(String),
    /// rustls refused the certificate or key.
    #[error("TLS configuration: {0}")]
    Rustls(String),
}

/// Builds the configurations `config` asks for.
pub fn load(config: &Config) -> Result<TlsConfigs, TlsError> {
    let mut configs = TlsConfigs::default();
    let generated = || -> Result<(PathBuf, PathBuf), TlsError> {
        let ips = [config.tcp.address.ip(), config.quic.address.ip()];
        self_signed(&config.node.data_dir, &ips)
    };
    if config.tcp.enabled && config.tcp.tls_enabled {
        let (cert, key) = match (&config.tcp.tls_cert_file, &config.tcp.tls_key_file) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            _ => generated()?,
        };
        configs.tcp = Some(Arc::new(server_config(&cert, &key, false)?));
    }
    if config.quic.enabled {
        let (cert, key) = match (&config.quic.cert_file, &config.quic.key_file) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            _ => generated()?,
        };
        configs.quic = Some(Arc::new(server_config(&cert, &key, true)?));
    }
    Ok(configs)
}

fn server_config(cert: &Path, key: &Path, tls13_only: bool) -> Result<ServerConfig, TlsError> {
    fn file_error(path: &Path) -> impl Fn(rustls::pki_types::pem::Error) -> TlsError + '_ {
        move |error| TlsError::File { path: path.to_owned(), message: error.to_string() }
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(file_error(cert))?
        .collect::<Result<_, _>>()
        .map_err(file_error(cert))?;
    if chain.is_empty() {
        return Err(TlsError::File { path: cert.to_owned(), message: "no certificate".into() });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(file_error(key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13_only {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|error| TlsError::Rustls(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| TlsError::Rustls(error.to_string()))?;
    if tls13_only {
        server.max_early_data_size = 0; // 0-RTT is refused, as by the official server.
    }
    Ok(server)
}

/// The node's self-signed certificate, generated on first use.
fn self_signed(data_dir: &Path, ips: &[IpAddr]) -> Result<(PathBuf, PathBuf), TlsError> {
    let directory = data_dir.join("tls");
    let cert = directory.join("cert.pem");
    let key = directory.join("key.pem");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    let mut names = vec!["localhost".to_owned()];
    for ip in ips {
        let text = ip.to_string();
        if !names.contains(&text) {
            names.push(text);
        }
    }
    let generated = rcgen::generate_simple_self_signed(names)
        .map_err(|error| TlsError::Generate(error.to_string()))?;
    let write = |path: &Path, text: String| {
        std::fs::write(path, text)
            .and_then(|()| std::fs::File::open(path)?.sync_all())
            .map_err(|error| TlsError::Generate(format!("{}: {error}", path.display())))
    };
    std::fs::create_dir_all(&directory)
        .map_err(|error| TlsError::Generate(format!("{}: {error}", directory.display())))?;
    write(&key, generated.signing_key.serialize_pem())?;
    write(&cert, generated.cert.pem())?;
    tracing::info!(path = %cert.display(), "generated a self-signed certificate");
    Ok((cert, key))
}
