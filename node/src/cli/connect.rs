//! Connection flags shared by every admin subcommand and by `vireo bench`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::client::{ClientConfig, Credentials, TlsSettings, TransportKind};

/// `--transport` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// TCP (port 8090 by default); `--tls` for TLS.
    Tcp,
    /// QUIC (port 8080/udp by default).
    Quic,
}

impl From<TransportArg> for TransportKind {
    fn from(value: TransportArg) -> Self {
        match value {
            TransportArg::Tcp => Self::Tcp,
            TransportArg::Quic => Self::Quic,
        }
    }
}

/// Where and how to connect.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Node address(es), `host:port`, comma-separated or repeated. Default:
    /// 127.0.0.1:8090 for TCP, 127.0.0.1:8080 for QUIC.
    #[arg(
        long = "address",
        short = 'a',
        env = "VIREO_ADDRESS",
        value_delimiter = ',',
        global = true
    )]
    pub addresses: Vec<String>,
    /// Transport.
    #[arg(
        long,
        short = 't',
        env = "VIREO_TRANSPORT",
        value_enum,
        default_value = "tcp",
        global = true
    )]
    pub transport: TransportArg,
    /// Username.
    #[arg(long, env = "VIREO_USERNAME", default_value = "iggy", global = true)]
    pub username: String,
    /// Password.
    #[arg(
        long,
        env = "VIREO_PASSWORD",
        default_value = "iggy",
        hide_env_values = true,
        global = true
    )]
    pub password: String,
    /// Personal access token (instead of username and password).
    #[arg(long, env = "VIREO_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// TLS on TCP.
    #[arg(long, global = true)]
    pub tls: bool,
    /// TLS server name (SNI).
    #[arg(long, default_value = "localhost", global = true)]
    pub tls_domain: String,
    /// Verify the server certificate against this PEM CA file (otherwise, as the
    /// Iggy SDK, the chain is not verified).
    #[arg(long, global = true)]
    pub tls_ca: Option<PathBuf>,
    /// Limit on each request, retries included, in seconds.
    #[arg(long, default_value_t = 30, global = true)]
    pub timeout: u64,
}

impl ConnectArgs {
    /// The client configuration these flags describe.
    #[must_use]
    pub fn client_config(&self) -> ClientConfig {
        let transport = TransportKind::from(self.transport);
        let addresses = if self.addresses.is_empty() {
            vec![format!("127.0.0.1:{}", transport.default_port())]
        } else {
            self.addresses.iter().map(|address| address.trim().to_owned()).collect()
        };
        let credentials = match &self.token {
            Some(token) => Credentials::Token(token.clone()),
            None => Credentials::Password {
                username: self.username.clone(),
                password: self.password.clone(),
            },
        };
        let timeout = Duration::from_secs(self.timeout.max(1));
        ClientConfig {
            addresses,
            transport,
            tcp_tls: self.tls,
            tls: TlsSettings {
                server_name: self.tls_domain.clone(),
                verify: self.tls_ca.is_some(),
                ca_file: self.tls_ca.clone(),
            },
            credentials,
            request_timeout: timeout,
            reply_timeout: timeout.min(ClientConfig::default().reply_timeout),
            connect_timeout: timeout.min(ClientConfig::default().connect_timeout),
            ..ClientConfig::default()
        }
    }
}
