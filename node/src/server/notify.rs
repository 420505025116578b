//! systemd's readiness protocol (`sd_notify`), by hand: when the service manager sets
//! `NOTIFY_SOCKET`, the node sends `READY=1` once it serves clients, `STOPPING=1` when a
//! graceful shutdown starts, and `STATUS=…` lines for `systemctl status`. Each message is
//! one datagram on a Unix socket; a name starting with `@` is in the abstract namespace.
//!
//! Notifying is best effort: a failure is logged once as a warning and never stops the
//! node (a unit with `Type=notify` then times out on its own and says why).

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET_ENV: &str = "NOTIFY_SOCKET";

/// Bounds a `STATUS=` line (systemd truncates long ones anyway).
const STATUS_LENGTH_MAX: usize = 200;

/// Where notifications go; `None` inside when the node was not started by a service
/// manager that asked for them.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    /// Only the first failure is logged: a broken socket would otherwise warn per status.
    warned: AtomicBool,
}

/// Why the notification socket could not be used.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// `NOTIFY_SOCKET` is neither an absolute path nor an `@` abstract name.
    #[error("{NOTIFY_SOCKET_ENV}={0:?} is neither an absolute path nor an @abstract name")]
    Address(String),
    /// Creating the socket or sending failed.
    #[error("{NOTIFY_SOCKET_ENV}: {0}")]
    Io(#[from] std::io::Error),
}

impl Notifier {
    /// A notifier for `NOTIFY_SOCKET`, or a silent one when it is unset. A malformed
    /// value is logged and ignored.
    #[must_use]
    pub fn from_env() -> Self {
        match std::env::var_os(NOTIFY_SOCKET_ENV) {
            None => Self::disabled(),
            Some(value) => match Self::to(&value.to_string_lossy()) {
                Ok(notifier) => notifier,
                Err(error) => {
                    tracing::warn!(%error, "readiness notifications disabled");
                    Self::disabled()
                }
            },
        }
    }

    /// A notifier that sends nothing.
    #[must_use]
    pub fn disabled() -> Self {
        Self { target: None, warned: AtomicBool::new(false) }
    }

    /// A notifier sending to `address` (`/path` or `@abstract`).
    pub fn to(address: &str) -> Result<Self, NotifyError> {
        let target = if let Some(name) = address.strip_prefix('@') {
            SocketAddr::from_abstract_name(name.as_bytes())?
        } else if address.starts_with('/') {
            SocketAddr::from_pathname(address)?
        } else {
            return Err(NotifyError::Address(address.to_owned()));
        };
        let socket = UnixDatagram::unbound()?;
        // Never block the node on a service manager that does not read.
        socket.set_nonblocking(true)?;
        Ok(Self { target: Some((socket, target)), warned: AtomicBool::new(false) })
    }

    /// True when notifications are sent somewhere.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// `READY=1` with a status line: the node serves clients.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", clip(status)));
    }

    /// `STOPPING=1` with a status line: a graceful shutdown started.
    pub fn stopping(&self, status: &str) {
        self.send(&format!("STOPPING=1\nSTATUS={}", clip(status)));
    }

    /// A `STATUS=` line only.
    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}", clip(status)));
    }

    fn send(&self, message: &str) {
        let Some((socket, target)) = &self.target else { return };
        if let Err(error) = socket.send_to_addr(message.as_bytes(), target)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(%error, "could not notify the service manager ({NOTIFY_SOCKET_ENV})");
        }
    }
}

/// One line, bounded: a newline would start another assignment in the datagram.
fn clip(status: &str) -> String {
    let line = status.replace('\n', " ");
    match line.char_indices().nth(STATUS_LENGTH_MAX) {
        Some((end, _)) => line[..end].to_owned(),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn received(socket: &UnixDatagram) -> String {
        let mut buffer = [0u8; 1024];
        let length = socket.recv(&mut buffer).expect("a notification");
        String::from_utf8(buffer[..length].to_vec()).expect("text")
    }

    #[test]
    fn sends_ready_stopping_and_status_to_a_path() {
        let dir = std::env::temp_dir().join(format!("vireo-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        listener.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let notifier = Notifier::to(path.to_str().unwrap()).unwrap();
        assert!(notifier.enabled());
        notifier.status("replaying journals");
        notifier.ready("serving tcp=127.0.0.1:8090");
        notifier.stopping("draining\nclients");
        assert_eq!(received(&listener), "STATUS=replaying journals");
        assert_eq!(received(&listener), "READY=1\nSTATUS=serving tcp=127.0.0.1:8090");
        assert_eq!(received(&listener), "STOPPING=1\nSTATUS=draining clients");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sends_to_an_abstract_name() {
        let name = format!("vireo-notify-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&address).unwrap();
        listener.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let notifier = Notifier::to(&format!("@{name}")).unwrap();
        notifier.ready("serving");
        assert_eq!(received(&listener), "READY=1\nSTATUS=serving");
    }

    #[test]
    fn a_missing_listener_only_warns_and_bad_names_are_refused() {
        let notifier = Notifier::to("/nonexistent/vireo/notify.sock").unwrap();
        notifier.ready("serving"); // Must not panic or block.
        notifier.stopping("stopping");
        assert!(notifier.warned.load(Ordering::Relaxed));
        assert!(matches!(Notifier::to("relative.sock"), Err(NotifyError::Address(_))));
        assert!(!Notifier::disabled().enabled());
    }

    #[test]
    fn status_lines_are_single_and_bounded() {
        assert_eq!(clip("a\nb"), "a b");
        assert_eq!(clip(&"x".repeat(500)).len(), STATUS_LENGTH_MAX);
    }
}
