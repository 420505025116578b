//! What a restart can prove about the journal's unsynced writes
//! (`vireo_consensus::RestartEvidence`), from facts the data directory keeps:
//!
//! * `boot_id` — the kernel's boot id (`/proc/sys/kernel/random/boot_id`) when the node
//!   last started. Same boot now: the process died but the kernel kept every completed
//!   write in its page cache, so `CompletedWritesKept`. Another boot (power loss, kernel
//!   crash, reboot): unsynced writes may be gone, so `UnsyncedWritesMayBeLost`.
//! * `clean-shutdown` — written by a graceful shutdown after every write completed and
//!   every journal and log was synced: nothing unsynced existed, whatever the boot.
//!   Removed (durably) before any new write.
//!
//! With `replicated` durability a single node that may have lost unsynced writes cannot
//! prove what it acknowledged: its replicas enter `recovering_head` and stall by design
//! (see `vireo-consensus`). `--force-recover` is the operator's escape hatch: it opens
//! them as if completed writes had been kept, **accepting the loss of acknowledged writes
//! that were not yet synced**. It says so in the log.

use std::path::Path;

use vireo_consensus::RestartEvidence;

/// The file holding the last start's boot id.
const BOOT_ID_FILE: &str = "boot_id";
/// The marker of a clean shutdown.
pub const CLEAN_SHUTDOWN_FILE: &str = "clean-shutdown";
const KERNEL_BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// Why the evidence could not be established.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct EvidenceError {
    /// The file involved.
    pub path: String,
    /// What failed.
    pub message: String,
}

fn error(path: &Path, error: &std::io::Error) -> EvidenceError {
    EvidenceError { path: path.display().to_string(), message: error.to_string() }
}

/// The kernel's current boot id.
pub fn current_boot_id() -> Result<String, EvidenceError> {
    std::fs::read_to_string(KERNEL_BOOT_ID)
        .map(|id| id.trim().to_owned())
        .map_err(|e| error(Path::new(KERNEL_BOOT_ID), &e))
}

/// Decides the evidence for this start and records this boot for the next one.
pub fn establish(data_dir: &Path, force_recover: bool) -> Result<RestartEvidence, EvidenceError> {
    let boot_id = current_boot_id()?;
    let recorded_path = data_dir.join(BOOT_ID_FILE);
    let recorded = match std::fs::read_to_string(&recorded_path) {
        Ok(text) => Some(text.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(error(&recorded_path, &e)),
    };
    let marker = data_dir.join(CLEAN_SHUTDOWN_FILE);
    let clean = marker.exists();
    let evidence = decide(recorded.as_deref(), &boot_id, clean, force_recover);
    if clean {
        std::fs::remove_file(&marker).map_err(|e| error(&marker, &e))?;
    }
    write_synced(&recorded_path, &boot_id)?;
    sync_directory(data_dir)?;
    if force_recover && recorded.as_deref() != Some(boot_id.as_str()) && !clean {
        tracing::warn!(
            "--force-recover: opening as if unsynced journal writes survived a reboot; \
             acknowledged writes that were not synced may be lost"
        );
    }
    Ok(evidence)
}

/// The decision table (pure, tested).
#[must_use]
pub fn decide(
    recorded_boot: Option<&str>,
    current_boot: &str,
    clean_shutdown: bool,
    force_recover: bool,
) -> RestartEvidence {
    let same_boot = recorded_boot.is_none_or(|recorded| recorded == current_boot);
    if same_boot || clean_shutdown || force_recover {
        RestartEvidence::CompletedWritesKept
    } else {
        RestartEvidence::UnsyncedWritesMayBeLost
    }
}

/// Writes the clean-shutdown marker (after every write completed and was synced).
pub fn mark_clean_shutdown(data_dir: &Path) -> Result<(), EvidenceError> {
    write_synced(&data_dir.join(CLEAN_SHUTDOWN_FILE), "clean\n")?;
    sync_directory(data_dir)
}

fn write_synced(path: &Path, text: &str) -> Result<(), EvidenceError> {
    std::fs::write(path, text)
        .and_then(|()| std::fs::File::open(path)?.sync_all())
        .map_err(|e| error(path, &e))
}

fn sync_directory(path: &Path) -> Result<(), EvidenceError> {
    std::fs::File::open(path)
        .and_then(|directory| directory.sync_all())
        .map_err(|e| error(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_new_boot_without_a_clean_shutdown_loses_evidence() {
        use RestartEvidence::{CompletedWritesKept as Kept, UnsyncedWritesMayBeLost as Lost};
        assert_eq!(decide(None, "a", false, false), Kept, "a fresh directory");
        assert_eq!(decide(Some("a"), "a", false, false), Kept, "same boot");
        assert_eq!(decide(Some("a"), "b", false, false), Lost, "rebooted");
        assert_eq!(decide(Some("a"), "b", true, false), Kept, "clean shutdown");
        assert_eq!(decide(Some("a"), "b", false, true), Kept, "forced");
    }

    #[test]
    fn establish_records_the_boot_and_consumes_the_marker() {
        let dir = std::env::temp_dir().join(format!("vireo-evidence-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(BOOT_ID_FILE), "another-boot").unwrap();
        assert_eq!(establish(&dir, false).unwrap(), RestartEvidence::UnsyncedWritesMayBeLost);
        assert_eq!(establish(&dir, false).unwrap(), RestartEvidence::CompletedWritesKept);
        std::fs::write(dir.join(BOOT_ID_FILE), "another-boot").unwrap();
        mark_clean_shutdown(&dir).unwrap();
        assert_eq!(establish(&dir, false).unwrap(), RestartEvidence::CompletedWritesKept);
        assert!(!dir.join(CLEAN_SHUTDOWN_FILE).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
