//! Retention: by age (`message_expiry`) and by total size (`max_size_bytes`), plus Iggy's
//! `delete_segments` and purge. Only whole sealed segments are deleted, oldest first, so
//! the stored offsets stay one dense range; a sealed segment whose writes have not all
//! completed yet is kept until they have.

use crate::partition::cache::RecentCache;
use crate::partition::error::LogError;
use crate::partition::log::{PartitionLog, create_segment_files};
use crate::partition::segment::Segment;
use crate::partition::truncate::remove_segment_files;
use crate::storage::Storage;

/// A topic's retention settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Delete a sealed segment once its newest message is older than this.
    pub message_expiry_us: Option<u64>,
    /// Delete the oldest sealed segments while the log is larger than this.
    pub max_size_bytes: Option<u64>,
}

/// What retention deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Segments deleted.
    pub segments_deleted: usize,
    /// Offsets deleted.
    pub messages_deleted: u64,
    /// Record bytes deleted.
    pub bytes_deleted: u64,
}

impl PartitionLog {
    /// Applies `policy` at time `now_us` (microseconds, from the caller's clock).
    pub fn enforce_retention<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        now_us: u64,
        policy: &RetentionPolicy,
    ) -> Result<RetentionOutcome, LogError> {
        let mut outcome = RetentionOutcome::default();
        while let Some(segment) = self.deletable_front() {
            let expired = policy
                .message_expiry_us
                .is_some_and(|expiry| segment.max_timestamp_us().saturating_add(expiry) <= now_us);
            let oversized = policy.max_size_bytes.is_some_and(|max| self.size_bytes > max);
            if !expired && !oversized {
                break;
            }
            self.delete_front(storage, &mut outcome)?;
        }
        Ok(outcome)
    }

    /// Deletes up to `count` of the oldest sealed segments (Iggy's `delete_segments`).
    pub fn delete_segments<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        count: usize,
    ) -> Result<RetentionOutcome, LogError> {
        let mut outcome = RetentionOutcome::default();
        while outcome.segments_deleted < count && self.deletable_front().is_some() {
            self.delete_front(storage, &mut outcome)?;
        }
        Ok(outcome)
    }

    /// Deletes every segment, the open one included, and starts an empty segment at the
    /// current `next_offset` (offsets are never reused, so consumers' stored offsets stay
    /// meaningful). The log must be quiet (`LogError::Busy` otherwise).
    pub fn purge<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
    ) -> Result<RetentionOutcome, LogError> {
        self.check_failed()?;
        if !self.is_quiet() {
            return Err(LogError::Busy);
        }
        let mut outcome = RetentionOutcome::default();
        // Create the new segment first: a crash midway then leaves it in place, and the log
        // reopens at the same next offset instead of at `initial_offset`.
        let files = create_segment_files(storage, &self.config, self.next_offset)?;
        while let Some(segment) = self.segments.pop_front() {
            if segment.base_offset == self.next_offset {
                // The (empty) open segment: its files were just reopened for the new one.
                for file in [segment.log.file, segment.index.file, segment.time_index.file] {
                    storage.close(file)?;
                }
                continue;
            }
            outcome.segments_deleted += 1;
            outcome.messages_deleted += segment.end_offset() - segment.base_offset;
            outcome.bytes_deleted += segment.size_bytes();
            remove_segment_files(storage, &self.config.directory, &segment)?;
        }
        let chunk = self.config.write_chunk_bytes;
        self.segments.push_back(Segment::new(self.next_offset, files, Vec::new(), 0, chunk));
        self.size_bytes = 0;
        self.busy.clear();
        self.cache = RecentCache::new(self.next_offset);
        Ok(outcome)
    }

    fn deletable_front(&self) -> Option<&Segment> {
        let front = self.segments.front()?;
        let deletable = self.segments.len() > 1 && front.sealed && front.is_idle();
        deletable.then_some(front)
    }

    fn delete_front<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        outcome: &mut RetentionOutcome,
    ) -> Result<(), LogError> {
        let segment = self.segments.pop_front().expect("a deletable front segment");
        assert!(segment.sealed && segment.is_idle(), "deleting a segment with I/O");
        remove_segment_files(storage, &self.config.directory, &segment)?;
        outcome.segments_deleted += 1;
        outcome.messages_deleted += segment.end_offset() - segment.base_offset;
        outcome.bytes_deleted += segment.size_bytes();
        self.size_bytes -= segment.size_bytes();
        self.busy.remove(&segment.base_offset);
        self.cache.drop_segment(segment.base_offset, segment.end_offset());
        Ok(())
    }
}
