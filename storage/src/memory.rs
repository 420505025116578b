//! A fault-free in-memory `Storage` for unit tests: every write is durable at once, every
//! completion is ready on the next `poll`. Tests corrupt bytes directly with `bytes_mut`.

use std::collections::{BTreeMap, VecDeque};

use crate::buffer::AlignedBuffer;
use crate::storage::{
    Completion, FileId, IoDone, IoRequest, IoToken, OpenMode, Storage, StorageError,
    validate_alignment, validate_name,
};

/// Files as byte vectors keyed by name. Cloning it is a "restart" with every write kept.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    files: BTreeMap<String, Vec<u8>>,
    handles: BTreeMap<FileId, String>,
    next_handle: u32,
    ready: VecDeque<Completion>,
    /// Bound on queued completions, like a real submission queue.
    queue_depth_max: usize,
}

impl MemoryStorage {
    /// An empty storage with a 1024-entry queue.
    #[must_use]
    pub fn new() -> Self {
        Self { queue_depth_max: 1024, ..Self::default() }
    }

    /// The bytes of a file, for assertions.
    #[must_use]
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    /// Mutable bytes of a file, for corruption tests.
    pub fn bytes_mut(&mut self, name: &str) -> Option<&mut Vec<u8>> {
        self.files.get_mut(name)
    }

    /// A copy holding the same files and no open handles or queued I/O: a clean restart.
    #[must_use]
    pub fn restarted(&self) -> Self {
        Self { files: self.files.clone(), queue_depth_max: self.queue_depth_max, ..Self::default() }
    }

    fn name(&self, file: FileId) -> Result<&String, StorageError> {
        self.handles.get(&file).ok_or(StorageError::UnknownFile(file))
    }
}

impl Storage for MemoryStorage {
    fn open(&mut self, name: &str, mode: OpenMode) -> Result<FileId, StorageError> {
        validate_name(name)?;
        if !self.files.contains_key(name) {
            if mode == OpenMode::Existing {
                return Err(StorageError::NotFound(name.to_owned()));
            }
            self.files.insert(name.to_owned(), Vec::new());
        }
        let file = FileId(self.next_handle);
        self.next_handle = self.next_handle.checked_add(1).expect("file handles exhausted");
        self.handles.insert(file, name.to_owned());
        Ok(file)
    }

    fn close(&mut self, file: FileId) -> Result<(), StorageError> {
        self.handles.remove(&file).map(|_| ()).ok_or(StorageError::UnknownFile(file))
    }

    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        validate_name(name)?;
        if self.files.remove(name).is_none() {
            return Err(StorageError::NotFound(name.to_owned()));
        }
        self.handles.retain(|_, open| open != name);
        Ok(())
    }

    fn list(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.files.keys().cloned().collect())
    }

    fn file_size(&self, file: FileId) -> Result<u64, StorageError> {
        let name = self.name(file)?;
        Ok(self.files[name].len() as u64)
    }

    fn set_file_size(&mut self, file: FileId, size_bytes: u64) -> Result<(), StorageError> {
        let name = self.name(file)?.clone();
        let size = usize::try_from(size_bytes)
            .map_err(|_| StorageError::Os { operation: "set_file_size", errno: libc::EFBIG })?;
        self.files.get_mut(&name).expect("open file exists").resize(size, 0);
        Ok(())
    }

    fn submit(&mut self, token: IoToken, request: IoRequest) -> Result<(), StorageError> {
        validate_alignment(&request)?;
        if self.ready.len() >= self.queue_depth_max {
            return Err(StorageError::QueueFull);
        }
        let result = match request {
            IoRequest::Read { file, offset_bytes, mut buffer } => {
                let data = &self.files[self.name(file)?];
                read_into(data, offset_bytes, &mut buffer);
                IoDone::Read(buffer)
            }
            IoRequest::Write { file, offset_bytes, buffer } => {
                let name = self.name(file)?.clone();
                let data = self.files.get_mut(&name).expect("open file exists");
                let start = usize::try_from(offset_bytes).expect("offset fits usize");
                let end = start + buffer.len();
                if data.len() < end {
                    data.resize(end, 0);
                }
                data[start..end].copy_from_slice(&buffer);
                IoDone::Write(buffer)
            }
            IoRequest::Sync { file } => {
                self.name(file)?;
                IoDone::Sync
            }
        };
        self.ready.push_back(Completion { token, result: Ok(result) });
        Ok(())
    }

    fn submit_capacity(&self) -> usize {
        self.queue_depth_max.saturating_sub(self.ready.len())
    }

    fn poll(&mut self, completions: &mut Vec<Completion>) {
        completions.extend(self.ready.drain(..));
    }

    fn wait(&mut self, completions: &mut Vec<Completion>) {
        self.poll(completions);
    }

    fn in_flight(&self) -> usize {
        self.ready.len()
    }
}

/// Copies `data[offset..]` into `buffer`, zero-filling past the end of `data`.
pub fn read_into(data: &[u8], offset_bytes: u64, buffer: &mut AlignedBuffer) {
    buffer.fill(0);
    let Ok(start) = usize::try_from(offset_bytes) else { return };
    if start >= data.len() {
        return;
    }
    let available = (data.len() - start).min(buffer.len());
    buffer[..available].copy_from_slice(&data[start..start + available]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SECTOR_SIZE;
    use crate::storage::execute;

    #[test]
    fn write_then_read_back_and_zero_past_end() {
        let mut storage = MemoryStorage::new();
        let file = storage.open("a/b.log", OpenMode::Create).unwrap();
        let mut others = Vec::new();
        let done = execute(
            &mut storage,
            IoToken(1),
            IoRequest::Write { file, offset_bytes: 0, buffer: AlignedBuffer::from_slice(b"xyz") },
            &mut others,
        )
        .unwrap();
        assert!(matches!(done, Ok(IoDone::Write(_))));
        let buffer = AlignedBuffer::zeroed(2 * SECTOR_SIZE);
        let done = execute(
            &mut storage,
            IoToken(2),
            IoRequest::Read { file, offset_bytes: 0, buffer },
            &mut others,
        )
        .unwrap();
        let Ok(IoDone::Read(buffer)) = done else { panic!("read failed") };
        assert_eq!(&buffer[..3], b"xyz");
        assert!(buffer[3..].iter().all(|&b| b == 0));
        assert!(others.is_empty());
        assert_eq!(storage.file_size(file).unwrap(), SECTOR_SIZE as u64);
    }

    #[test]
    fn rejects_bad_names_and_unaligned_io() {
        let mut storage = MemoryStorage::new();
        for bad in ["", "/abs", "a/../b", "a//b", "."] {
            assert!(storage.open(bad, OpenMode::Create).is_err(), "{bad:?}");
        }
        assert!(matches!(
            storage.open("missing", OpenMode::Existing),
            Err(StorageError::NotFound(_))
        ));
        let file = storage.open("f", OpenMode::Create).unwrap();
        let error = storage
            .submit(
                IoToken(0),
                IoRequest::Write {
                    file,
                    offset_bytes: 7,
                    buffer: AlignedBuffer::zeroed(SECTOR_SIZE),
                },
            )
            .unwrap_err();
        assert!(matches!(error, StorageError::Unaligned { .. }));
    }
}
