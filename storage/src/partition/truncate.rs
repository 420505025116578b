//! `truncate_after_op`: the consensus layer rolls a partition back to its last checkpoint
//! and replays its journal, so every record appended by a later op must go.
//!
//! The cut goes right after the last *valid* record whose op is at most the target. Faulty
//! spans after it go too (their op is at least the op of the record before them, so they
//! are not provably at or below the target); faulty spans before it stay, still reported.

use crate::partition::error::LogError;
use crate::partition::index::OFFSET_INDEX_ENTRY_SIZE;
use crate::partition::log::PartitionLog;
use crate::partition::segment::{Segment, SegmentFileKind, segment_file_name};
use crate::storage::Storage;

/// What a truncation removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TruncateOutcome {
    /// The log's next offset afterwards.
    pub next_offset: u64,
    /// Records (valid or faulty) removed.
    pub records_removed: usize,
    /// Offsets removed.
    pub messages_removed: u64,
    /// Whole segments removed.
    pub segments_removed: usize,
}

impl PartitionLog {
    /// Removes every record appended by an op greater than `op`. The log must be quiet
    /// (`LogError::Busy` otherwise: flush and wait first). Durable when it returns.
    pub fn truncate_after_op<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        op: u64,
    ) -> Result<TruncateOutcome, LogError> {
        self.check_failed()?;
        if !self.is_quiet() {
            return Err(LogError::Busy);
        }
        let cut = self.segments.iter().enumerate().rev().find_map(|(index, segment)| {
            let keep = segment.entries.iter().rposition(|e| e.fault.is_none() && e.op <= op)?;
            Some((index, keep + 1))
        });
        let (segment_index, keep) = cut.unwrap_or((0, 0));
        let last = self.segments.len() - 1;
        if segment_index == last && keep == self.segments[last].entries.len() {
            return Ok(TruncateOutcome {
                next_offset: self.next_offset,
                ..TruncateOutcome::default()
            });
        }
        let mut outcome = TruncateOutcome::default();
        let next_offset_before = self.next_offset;
        while self.segments.len() > segment_index + 1 {
            let segment = self.segments.pop_back().expect("more than one segment");
            outcome.records_removed += segment.entries.len();
            outcome.segments_removed += 1;
            remove_segment_files(storage, &self.config.directory, &segment)?;
        }
        let segment = self.segments.back_mut().expect("the cut segment");
        outcome.records_removed += segment.entries.len() - keep;
        let mut entries = std::mem::take(&mut segment.entries);
        entries.truncate(keep);
        let data_end = entries.last().map_or(0, |entry| entry.end_position_bytes());
        let files = [segment.log.file, segment.index.file, segment.time_index.file];
        storage.set_file_size(files[0], data_end)?;
        if self.config.preallocate {
            storage.set_file_size(files[0], self.config.segment_size_bytes)?;
        }
        let index_bytes = (entries.len() * OFFSET_INDEX_ENTRY_SIZE) as u64;
        storage.set_file_size(files[1], index_bytes)?;
        storage.set_file_size(files[2], index_bytes)?;
        let base = segment.base_offset;
        *segment = Segment::new(base, files, entries, data_end, self.config.write_chunk_bytes);
        self.busy.clear();
        self.next_offset = segment.end_offset();
        outcome.messages_removed = next_offset_before - self.next_offset;
        outcome.next_offset = self.next_offset;
        let last_entry = self.segments.iter().rev().find_map(|s| s.entries.last());
        self.last_op = last_entry.map_or(0, |entry| entry.op);
        self.running_max_timestamp_us = last_entry.map_or(0, |e| e.running_max_timestamp_us);
        self.size_bytes = self.segments.iter().map(Segment::size_bytes).sum();
        self.cache.truncate_from(self.next_offset);
        self.durable_next_offset = self.durable_next_offset.min(self.next_offset);
        Ok(outcome)
    }
}

/// Closes and removes a segment's three files (log first: a crash in between leaves
/// orphaned index files, which recovery removes).
pub(crate) fn remove_segment_files<S: Storage + ?Sized>(
    storage: &mut S,
    directory: &str,
    segment: &Segment,
) -> Result<(), LogError> {
    for kind in SegmentFileKind::ALL {
        storage.close(segment.file(kind.ledger_file()))?;
        storage.remove(&segment_file_name(directory, segment.base_offset, kind))?;
    }
    Ok(())
}
