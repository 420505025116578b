//! The wall clock, read only at the edge: request timestamps (µs since the Unix epoch)
//! that the primary turns into prepare timestamps, and process start time for stats.
//! State machines never read it; they use `ApplyContext::timestamp`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch (0 if the clock is before 1970).
#[must_use]
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
}

static PROCESS_START_MICROS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// When the process started serving (set once at start-up; later calls keep the first).
pub fn mark_process_start() {
    let _ = PROCESS_START_MICROS.set(now_micros());
}

/// Microseconds since the epoch at [`mark_process_start`] (now, if never marked).
#[must_use]
pub fn process_start_micros() -> u64 {
    *PROCESS_START_MICROS.get_or_init(now_micros)
}
