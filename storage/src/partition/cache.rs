//! The recent-batch cache: a suffix of the log held in memory, so recent reads (consumers
//! at the head, the consensus layer reading back what it just applied) never touch the
//! disk. It always holds every batch whose bytes are not yet written (they could not be
//! read from disk), plus older batches up to `cache_bytes_max`.

use std::collections::VecDeque;

use crate::partition::record::{RecordHeader, StoredBatch};

#[derive(Debug, Clone)]
pub(crate) struct CachedBatch {
    pub(crate) segment_base_offset: u64,
    pub(crate) batch: StoredBatch,
}

#[derive(Debug)]
pub(crate) struct RecentCache {
    batches: VecDeque<CachedBatch>,
    payload_bytes: u64,
    /// First offset held; equals the log's next offset when empty.
    first_offset: u64,
}

impl RecentCache {
    pub(crate) fn new(next_offset: u64) -> Self {
        Self { batches: VecDeque::new(), payload_bytes: 0, first_offset: next_offset }
    }

    pub(crate) fn first_offset(&self) -> u64 {
        self.first_offset
    }

    pub(crate) fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    pub(crate) fn push(&mut self, segment_base_offset: u64, batch: StoredBatch) {
        let expected =
            self.batches.back().map_or(self.first_offset, |c| c.batch.header.end_offset());
        assert_eq!(batch.header.meta.base_offset, expected, "cache must stay contiguous");
        self.payload_bytes += batch.payload.len() as u64;
        self.batches.push_back(CachedBatch { segment_base_offset, batch });
    }

    pub(crate) fn front(&self) -> Option<&CachedBatch> {
        self.batches.front()
    }

    pub(crate) fn pop_front(&mut self) {
        let popped = self.batches.pop_front().expect("pop of an empty cache");
        self.payload_bytes -= popped.batch.payload.len() as u64;
        self.first_offset = popped.batch.header.end_offset();
    }

    /// Drops every batch at or after `offset` (truncation); `offset` becomes the end.
    pub(crate) fn truncate_from(&mut self, offset: u64) {
        while self.batches.back().is_some_and(|c| c.batch.header.meta.base_offset >= offset) {
            let popped = self.batches.pop_back().expect("back exists");
            self.payload_bytes -= popped.batch.payload.len() as u64;
        }
        if self.batches.is_empty() {
            self.first_offset = offset;
        }
        assert!(
            self.batches.back().is_none_or(|c| c.batch.header.end_offset() == offset),
            "truncation inside a cached batch"
        );
    }

    /// Drops every batch of segment `base` (deleted by retention), which must be a prefix.
    pub(crate) fn drop_segment(&mut self, base: u64, segment_end_offset: u64) {
        while self.batches.front().is_some_and(|c| c.segment_base_offset == base) {
            self.pop_front();
        }
        self.first_offset = self.first_offset.max(segment_end_offset);
    }

    /// Consecutive batches from the one holding `offset`, at least one, until `bytes_max`
    /// or until they hold `messages_max` messages at or after `offset`.
    pub(crate) fn read(&self, offset: u64, bytes_max: u64, messages_max: u32) -> Vec<StoredBatch> {
        assert!(offset >= self.first_offset, "offset below the cache");
        let start = self.batches.partition_point(|c| c.batch.header.end_offset() <= offset);
        let mut total = 0_u64;
        let mut messages = 0_u64;
        let mut batches = Vec::new();
        for cached in self.batches.range(start..) {
            let size = cached.batch.payload.len() as u64;
            let full = total + size > bytes_max || messages >= u64::from(messages_max);
            if !batches.is_empty() && full {
                break;
            }
            total += size;
            let header = &cached.batch.header;
            messages += header.end_offset().saturating_sub(offset.max(header.meta.base_offset));
            batches.push(cached.batch.clone());
        }
        batches
    }

    pub(crate) fn last_header(&self) -> Option<&RecordHeader> {
        self.batches.back().map(|c| &c.batch.header)
    }

    pub(crate) fn check_invariants(&self, next_offset: u64) {
        let mut offset = self.first_offset;
        let mut bytes = 0;
        for cached in &self.batches {
            assert_eq!(cached.batch.header.meta.base_offset, offset, "cache not contiguous");
            offset = cached.batch.header.end_offset();
            bytes += cached.batch.payload.len() as u64;
        }
        assert_eq!(offset, next_offset, "cache does not end at the log's end");
        assert_eq!(bytes, self.payload_bytes, "cache bytes not accounted");
    }
}
