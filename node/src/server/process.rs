//! Process and machine facts for `get_stats`, read from `/proc` and `statvfs`. Every
//! field degrades to zero or empty when unavailable: stats never fail a request.

use std::path::Path;

/// A sample of the process and machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSample {
    /// Resident memory of the process.
    pub memory_bytes: u64,
    /// Machine memory.
    pub total_memory_bytes: u64,
    /// Machine memory available.
    pub available_memory_bytes: u64,
    /// Bytes the process read from storage.
    pub read_bytes: u64,
    /// Bytes the process wrote to storage.
    pub written_bytes: u64,
    /// Threads of the process.
    pub threads: u32,
    /// Host name.
    pub hostname: String,
    /// Kernel release.
    pub os_version: String,
    /// Free space on the data directory's file system.
    pub free_disk_bytes: u64,
    /// Size of that file system.
    pub total_disk_bytes: u64,
}

fn field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// Samples now.
#[must_use]
pub fn sample(data_dir: &Path) -> ProcessSample {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let status = read("/proc/self/status");
    let meminfo = read("/proc/meminfo");
    let io = read("/proc/self/io");
    let (free_disk_bytes, total_disk_bytes) = disk_space(data_dir);
    ProcessSample {
        memory_bytes: field(&status, "VmRSS:").unwrap_or(0) * 1024,
        total_memory_bytes: field(&meminfo, "MemTotal:").unwrap_or(0) * 1024,
        available_memory_bytes: field(&meminfo, "MemAvailable:").unwrap_or(0) * 1024,
        read_bytes: field(&io, "read_bytes:").unwrap_or(0),
        written_bytes: field(&io, "write_bytes:").unwrap_or(0),
        threads: u32::try_from(field(&status, "Threads:").unwrap_or(0)).unwrap_or(u32::MAX),
        hostname: read("/proc/sys/kernel/hostname").trim().to_owned(),
        os_version: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        free_disk_bytes,
        total_disk_bytes,
    }
}

fn disk_space(path: &Path) -> (u64, u64) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return (0, 0) };
    // SAFETY: `statvfs` is plain old data; all-zero is a valid value.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a valid out pointer.
    if unsafe { libc::statvfs(c_path.as_ptr(), &raw mut stat) } != 0 {
        return (0, 0);
    }
    let block = stat.f_frsize;
    (stat.f_bavail.saturating_mul(block), stat.f_blocks.saturating_mul(block))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let sample = sample(Path::new("/"));
        assert!(sample.memory_bytes > 0);
        assert!(sample.threads >= 1);
        assert!(sample.total_disk_bytes >= sample.free_disk_bytes);
        assert_eq!(field("Threads:\t7\n", "Threads:"), Some(7));
        assert_eq!(field("", "Threads:"), None);
    }
}
