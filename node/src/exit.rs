//! How the process ends when the environment fails: a clear message on stderr and a
//! distinct exit code per cause, so an operator (or systemd) can tell a bad config from
//! a full disk. Bugs are panics (`assert!`); a panicking shard thread takes the whole
//! process down with [`ExitCode::Internal`] rather than leaving siblings running.

/// Distinct process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Clean shutdown.
    Ok = 0,
    /// The configuration is invalid (every problem was printed).
    Config = 3,
    /// The data directory or a data file cannot be created, read or recovered.
    Storage = 4,
    /// A listener could not bind its address.
    Bind = 5,
    /// A certificate or key cannot be loaded or generated.
    Tls = 6,
    /// A replica refused to open (data of another cluster, corrupt snapshot).
    Recovery = 7,
    /// A disk write or sync failed while serving: the node stops rather than guess.
    Io = 8,
    /// A thread panicked (a bug).
    Internal = 9,
}

/// Prints `message` and exits with `code`.
pub fn fatal(code: ExitCode, message: &str) -> ! {
    eprintln!("vireo: fatal: {message}");
    tracing::error!(code = code as u8, "fatal: {message}");
    std::process::exit(i32::from(code as u8))
}
