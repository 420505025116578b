//! Sector-aligned owned buffers: what `O_DIRECT` needs, and what every `Storage` takes.

use std::alloc::{self, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Disk I/O granularity: every offset and length given to a `Storage` is a multiple of it.
pub const SECTOR_SIZE: usize = 4096;

/// An owned, zero-initialised byte buffer aligned to [`SECTOR_SIZE`], whose length is a
/// multiple of [`SECTOR_SIZE`]. Ownership passes to the storage on submit and comes back
/// on completion, so no I/O ever points at memory the caller could touch meanwhile.
pub struct AlignedBuffer {
    pointer: NonNull<u8>,
    length: usize,
}

// SAFETY: the buffer uniquely owns its allocation, like a `Box<[u8]>`.
unsafe impl Send for AlignedBuffer {}
// SAFETY: shared access only hands out `&[u8]`.
unsafe impl Sync for AlignedBuffer {}

impl AlignedBuffer {
    /// A zeroed buffer of `length` bytes.
    ///
    /// # Panics
    /// If `length` is zero or not a multiple of [`SECTOR_SIZE`] (a bug), or on allocation failure.
    #[must_use]
    pub fn zeroed(length: usize) -> Self {
        assert!(length > 0, "aligned buffer of zero length");
        assert_eq!(length % SECTOR_SIZE, 0, "length {length} is not sector-aligned");
        let layout = Self::layout(length);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let Some(pointer) = NonNull::new(raw) else { alloc::handle_alloc_error(layout) };
        Self { pointer, length }
    }

    /// A zeroed buffer large enough for `length` bytes, rounded up to whole sectors.
    #[must_use]
    pub fn for_length(length: usize) -> Self {
        Self::zeroed(round_up(length.max(1)))
    }

    /// A buffer holding `bytes` followed by zero padding to a whole sector.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut buffer = Self::for_length(bytes.len());
        buffer[..bytes.len()].copy_from_slice(bytes);
        buffer
    }

    fn layout(length: usize) -> Layout {
        Layout::from_size_align(length, SECTOR_SIZE).expect("valid aligned layout")
    }
}

/// Rounds `length` up to a multiple of [`SECTOR_SIZE`].
#[must_use]
pub const fn round_up(length: usize) -> usize {
    length.div_ceil(SECTOR_SIZE) * SECTOR_SIZE
}

impl Drop for AlignedBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with exactly this layout.
        unsafe { alloc::dealloc(self.pointer.as_ptr(), Self::layout(self.length)) }
    }
}

impl Deref for AlignedBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `length` initialised bytes live at `pointer` for the buffer's lifetime.
        unsafe { std::slice::from_raw_parts(self.pointer.as_ptr(), self.length) }
    }
}

impl DerefMut for AlignedBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.pointer.as_ptr(), self.length) }
    }
}

impl Clone for AlignedBuffer {
    fn clone(&self) -> Self {
        let mut copy = Self::zeroed(self.length);
        copy.copy_from_slice(self);
        copy
    }
}

impl std::fmt::Debug for AlignedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuffer({} bytes)", self.length)
    }
}

impl PartialEq for AlignedBuffer {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for AlignedBuffer {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        let buffer = AlignedBuffer::zeroed(2 * SECTOR_SIZE);
        assert_eq!(buffer.as_ptr() as usize % SECTOR_SIZE, 0);
        assert!(buffer.iter().all(|&b| b == 0));
        let padded = AlignedBuffer::from_slice(b"abc");
        assert_eq!(padded.len(), SECTOR_SIZE);
        assert_eq!(&padded[..3], b"abc");
        assert_eq!(round_up(0), 0);
        assert_eq!(round_up(1), SECTOR_SIZE);
        assert_eq!(round_up(SECTOR_SIZE), SECTOR_SIZE);
    }
}
