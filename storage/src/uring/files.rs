//! File management for [`super::UringStorage`]: the synchronous half of the `Storage` trait
//! (open, close, remove, list, sizes) on real files under one root directory.
//!
//! Every operation that changes the namespace or a file's size is made durable before it
//! returns (the trait promises it): a created or removed file fsyncs its parent directory,
//! a resized file is fdatasynced.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::storage::{FileId, OpenMode, StorageError, validate_name};

/// Upper bound on directory depth walked by `list` (names are short relative paths; a deeper
/// tree under the root is not ours).
const LIST_DEPTH_MAX: usize = 16;

/// One open file.
#[derive(Debug)]
pub(super) struct OpenFile {
    /// Shared with in-flight I/O, so a closed handle's descriptor outlives its last I/O.
    pub(super) fd: Rc<OwnedFd>,
    pub(super) name: String,
    /// Whether the file is open with `O_DIRECT`.
    pub(super) direct: bool,
}

/// The open-file table and the root directory.
#[derive(Debug)]
pub(super) struct FileTable {
    root: PathBuf,
    files: BTreeMap<FileId, OpenFile>,
    next_handle: u32,
    /// Whether to ask for `O_DIRECT` at all (tests of the buffered path turn it off).
    direct_requested: bool,
}

fn os_error(operation: &'static str, error: &io::Error) -> StorageError {
    StorageError::Os { operation, errno: error.raw_os_error().unwrap_or(libc::EIO) }
}

fn last_os_error(operation: &'static str) -> StorageError {
    os_error(operation, &io::Error::last_os_error())
}

fn c_path(path: &Path) -> Result<CString, StorageError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| StorageError::InvalidName(path.display().to_string()))
}

/// fsyncs a directory so that entries created or removed in it are durable.
fn sync_directory(path: &Path) -> Result<(), StorageError> {
    let directory = std::fs::File::open(path).map_err(|e| os_error("open directory", &e))?;
    directory.sync_all().map_err(|e| os_error("fsync directory", &e))
}

impl FileTable {
    pub(super) fn new(root: PathBuf, direct_requested: bool) -> Result<Self, StorageError> {
        std::fs::create_dir_all(&root).map_err(|e| os_error("create root", &e))?;
        Ok(Self { root, files: BTreeMap::new(), next_handle: 0, direct_requested })
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    pub(super) fn get(&self, file: FileId) -> Result<&OpenFile, StorageError> {
        self.files.get(&file).ok_or(StorageError::UnknownFile(file))
    }

    pub(super) fn raw_fd(&self, file: FileId) -> Result<RawFd, StorageError> {
        Ok(self.get(file)?.fd.as_raw_fd())
    }

    pub(super) fn open(&mut self, name: &str, mode: OpenMode) -> Result<FileId, StorageError> {
        validate_name(name)?;
        let path = self.root.join(name);
        let parent = path.parent().expect("a joined relative name has a parent").to_path_buf();
        let existed = path.exists();
        let parent_existed = parent.exists();
        if mode == OpenMode::Create && !parent_existed {
            std::fs::create_dir_all(&parent).map_err(|e| os_error("create directory", &e))?;
            // New directories are durable only once their own parents are synced.
            for ancestor in parent.ancestors().skip(1) {
                sync_directory(ancestor)?;
                if ancestor == self.root {
                    break;
                }
            }
        }
        let mut flags = libc::O_RDWR | libc::O_CLOEXEC;
        if mode == OpenMode::Create {
            flags |= libc::O_CREAT;
        }
        let c_name = c_path(&path)?;
        let (fd, direct) = self.open_raw(&c_name, flags, name)?;
        if mode == OpenMode::Create && !existed {
            sync_directory(&parent)?;
        }
        let file = FileId(self.next_handle);
        self.next_handle = self.next_handle.checked_add(1).expect("file handles exhausted");
        self.files.insert(file, OpenFile { fd: Rc::new(fd), name: name.to_owned(), direct });
        Ok(file)
    }

    /// Opens with `O_DIRECT` when asked, falling back to buffered I/O only when the
    /// filesystem refuses `O_DIRECT` (`EINVAL`, e.g. some tmpfs or FUSE mounts).
    fn open_raw(
        &self,
        c_name: &CString,
        flags: i32,
        name: &str,
    ) -> Result<(OwnedFd, bool), StorageError> {
        let mode: libc::c_uint = 0o644;
        if self.direct_requested {
            // SAFETY: `c_name` is a valid NUL-terminated path; `open` has no memory effects
            // beyond reading it.
            let fd = unsafe { libc::open(c_name.as_ptr(), flags | libc::O_DIRECT, mode) };
            if fd >= 0 {
                // SAFETY: `fd` was just returned by `open` and is owned by nobody else.
                return Ok((unsafe { OwnedFd::from_raw_fd(fd) }, true));
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::ENOENT) => return Err(StorageError::NotFound(name.to_owned())),
                Some(libc::EINVAL) => tracing::warn!(
                    file = name,
                    "filesystem refused O_DIRECT (EINVAL); falling back to buffered I/O"
                ),
                _ => return Err(os_error("open", &error)),
            }
        }
        // SAFETY: as above.
        let fd = unsafe { libc::open(c_name.as_ptr(), flags, mode) };
        if fd < 0 {
            let error = io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::ENOENT) {
                return Err(StorageError::NotFound(name.to_owned()));
            }
            return Err(os_error("open", &error));
        }
        // SAFETY: `fd` was just returned by `open` and is owned by nobody else.
        Ok((unsafe { OwnedFd::from_raw_fd(fd) }, false))
    }

    /// Closes the handle. I/O already handed to the kernel keeps its own reference to the
    /// file and completes normally (io_uring grabs the file at submission).
    pub(super) fn close(&mut self, file: FileId) -> Result<(), StorageError> {
        self.files.remove(&file).map(|_| ()).ok_or(StorageError::UnknownFile(file))
    }

    pub(super) fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        validate_name(name)?;
        let path = self.root.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound(name.to_owned()));
            }
            Err(error) => return Err(os_error("unlink", &error)),
        }
        self.files.retain(|_, open| open.name != name);
        sync_directory(path.parent().expect("a joined relative name has a parent"))
    }

    pub(super) fn list(&self) -> Result<Vec<String>, StorageError> {
        let mut names = Vec::new();
        list_into(&self.root, "", 0, &mut names)?;
        names.sort();
        Ok(names)
    }

    pub(super) fn file_size(&self, file: FileId) -> Result<u64, StorageError> {
        let fd = self.raw_fd(file)?;
        // SAFETY: `stat` is plain old data; all-zero is a valid value.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is open for the duration of the call and `stat` is a valid out pointer.
        if unsafe { libc::fstat(fd, &raw mut stat) } != 0 {
            return Err(last_os_error("fstat"));
        }
        Ok(u64::try_from(stat.st_size).expect("file sizes are non-negative"))
    }

    /// Truncates, or grows with `fallocate` (preallocated, zero-filled extents) when the
    /// filesystem supports it and `ftruncate` otherwise; then fdatasyncs.
    pub(super) fn set_file_size(
        &mut self,
        file: FileId,
        size_bytes: u64,
    ) -> Result<(), StorageError> {
        let fd = self.raw_fd(file)?;
        let size = libc::off_t::try_from(size_bytes)
            .map_err(|_| StorageError::Os { operation: "set_file_size", errno: libc::EFBIG })?;
        let current = self.file_size(file)?;
        let mut grown = false;
        if size_bytes > current {
            let start = libc::off_t::try_from(current).expect("current size fits off_t");
            // SAFETY: plain syscall on an open descriptor.
            let status = unsafe { libc::fallocate(fd, 0, start, size - start) };
            if status == 0 {
                grown = true;
            } else {
                let errno = io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
                if errno != libc::EOPNOTSUPP {
                    return Err(StorageError::Os { operation: "fallocate", errno });
                }
            }
        }
        if !grown {
            // SAFETY: plain syscall on an open descriptor.
            if unsafe { libc::ftruncate(fd, size) } != 0 {
                return Err(last_os_error("ftruncate"));
            }
        }
        // SAFETY: plain syscall on an open descriptor.
        if unsafe { libc::fdatasync(fd) } != 0 {
            return Err(last_os_error("fdatasync"));
        }
        Ok(())
    }
}

fn list_into(
    directory: &Path,
    prefix: &str,
    depth: usize,
    names: &mut Vec<String>,
) -> Result<(), StorageError> {
    if depth > LIST_DEPTH_MAX {
        return Ok(());
    }
    let entries = std::fs::read_dir(directory).map_err(|e| os_error("read_dir", &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| os_error("read_dir", &e))?;
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue; // Not a name we could have created (non-UTF-8).
        };
        let name = if prefix.is_empty() { file_name } else { format!("{prefix}/{file_name}") };
        let kind = entry.file_type().map_err(|e| os_error("file_type", &e))?;
        if kind.is_dir() {
            list_into(&entry.path(), &name, depth + 1, names)?;
        } else if kind.is_file() {
            names.push(name);
        }
    }
    Ok(())
}
