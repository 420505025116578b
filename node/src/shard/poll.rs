//! Serving a poll on the partition's owner shard, from applied data only (the log holds
//! nothing else). Recent batches come from the log's memory; older ones need one disk
//! read each (`ReadPlan`), awaited without blocking the shard. Stored batches go into
//! the reply as shared `Bytes` (zero-copy); a batch that starts before the requested
//! offset or holds more messages than asked for is cut with `slice_batch`, because the
//! 0.11.0 SDK keeps every message it receives.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use vireo_protocol::iggy::ErrorCode;
use vireo_protocol::iggy::batch::{Batch, slice_batch};
use vireo_storage::partition::{ReadOutcome, ReadPlan, ReadStart, StoredBatch};
use vireo_storage::{IoDone, IoError, Storage};

use super::Shard;
use super::inbox::{PollPart, PollQuery, PollStart, Polled};

/// A poll's disk read result.
pub(super) type ReadDone = Result<IoDone, IoError>;

/// Most reads one poll performs (each covers up to the log's `read_bytes_max`).
const READS_PER_POLL_MAX: usize = 64;

enum Step {
    Done,
    Memory(Vec<StoredBatch>),
    Disk(ReadPlan),
}

impl Shard {
    /// Serves `query` on `group` (owned by this shard).
    pub async fn poll(self: &Rc<Self>, group: u32, query: PollQuery) -> Result<Polled, ErrorCode> {
        let (stats, mut start) = {
            let drivers = self.partitions.borrow();
            let driver = drivers.get(&group).ok_or(ErrorCode::PARTITION_NOT_FOUND)?;
            let machine = driver.replica.state_machine();
            // A replica still fetching the group's records after a state transfer has
            // neither them nor the ops since: the client retries (elsewhere).
            machine.readable().map_err(|_| ErrorCode::TRANSIENT_NOT_ACCEPTED)?;
            let stats = machine.stats(&query.key);
            let start = match query.start {
                PollStart::Offset(offset) => ReadStart::Offset(offset),
                PollStart::Timestamp(timestamp) => ReadStart::Timestamp(timestamp),
                PollStart::First => ReadStart::First,
                PollStart::Last => ReadStart::Offset(
                    stats
                        .next_offset
                        .saturating_sub(u64::from(query.count))
                        .max(stats.first_offset),
                ),
                PollStart::Next => {
                    let stored = query
                        .owner
                        .as_ref()
                        .and_then(|owner| machine.stored_offset(&query.key, owner));
                    ReadStart::Offset(stored.map_or(stats.first_offset, |offset| offset + 1))
                }
            };
            (stats, start)
        };
        let mut polled = Polled { stats, ..Polled::default() };
        let mut from = match start {
            ReadStart::Offset(offset) => offset,
            _ => 0,
        };
        let mut bytes = 0usize;
        for _ in 0..READS_PER_POLL_MAX {
            if polled.messages_count >= query.count || bytes >= query.bytes_max as usize {
                break;
            }
            let step = {
                let drivers = self.partitions.borrow();
                let driver = drivers.get(&group).ok_or(ErrorCode::PARTITION_NOT_FOUND)?;
                match driver.replica.state_machine().log(&query.key) {
                    None => Step::Done,
                    // Bounded by the messages still wanted too: reading `bytes_max`
                    // (megabytes, O_DIRECT) from disk for a one-message poll took
                    // milliseconds per poll and discarded almost all of it.
                    Some(log) => match log.read_messages(
                        start,
                        query.bytes_max,
                        query.count - polled.messages_count,
                    ) {
                        Ok(ReadOutcome::Batches(batches)) => Step::Memory(batches),
                        Ok(ReadOutcome::Plan(plan)) => Step::Disk(plan),
                        Ok(ReadOutcome::Empty) => Step::Done,
                        Err(error) => {
                            tracing::warn!(?query.key, %error, "poll read failed");
                            return Err(ErrorCode::ERROR);
                        }
                    },
                }
            };
            let batches = match step {
                Step::Done => break,
                Step::Memory(batches) => batches,
                Step::Disk(plan) => self.read_plan(&plan).await?,
            };
            if batches.is_empty() {
                break;
            }
            if matches!(start, ReadStart::Timestamp(_) | ReadStart::First) {
                from = batches[0].header.meta.base_offset;
            }
            let mut next = from;
            for batch in &batches {
                next = batch.header.end_offset();
                if !add(&mut polled, &batch.payload, from, query.count, &mut bytes) {
                    break;
                }
                if polled.messages_count >= query.count || bytes >= query.bytes_max as usize {
                    break;
                }
            }
            from = polled.last_offset.map_or(next, |last| last + 1).max(from);
            start = ReadStart::Offset(from);
        }
        Ok(polled)
    }

    async fn read_plan(self: &Rc<Self>, plan: &ReadPlan) -> Result<Vec<StoredBatch>, ErrorCode> {
        let (sender, receiver) = flume::bounded(1);
        loop {
            let submitted = {
                let mut disk = self.disk.borrow_mut();
                if disk.logs().submit_capacity() > 0 {
                    let token = disk.read_token();
                    let id = u32::try_from(token.0 & 0xffff_ffff).expect("32 bits");
                    disk.logs().submit(token, plan.request()).map_err(|_| ErrorCode::ERROR)?;
                    self.reads.borrow_mut().insert(id, sender.clone());
                    true
                } else {
                    false
                }
            };
            if submitted {
                break;
            }
            monoio::time::sleep(Duration::from_millis(1)).await;
        }
        match receiver.recv_async().await {
            Ok(Ok(IoDone::Read(buffer))) => plan.complete(buffer).map_err(|error| {
                tracing::warn!(%error, "poll read verification failed");
                ErrorCode::ERROR
            }),
            _ => Err(ErrorCode::ERROR),
        }
    }
}

/// Adds the part of `payload` (one stored batch) at or after `from`, up to `count`
/// messages in total. Returns false when nothing more fits.
fn add(polled: &mut Polled, payload: &Bytes, from: u64, count: u32, bytes: &mut usize) -> bool {
    let Ok(batch) = Batch::parse(payload) else {
        tracing::error!("stored batch does not parse");
        return false;
    };
    let header = batch.header();
    let base = header.base_offset;
    let end = base + u64::from(header.message_count);
    if end <= from {
        return true;
    }
    let room = count - polled.messages_count;
    if base >= from && header.message_count <= room {
        polled.parts.push(PollPart::Whole(payload.clone()));
        polled.messages_count += header.message_count;
        polled.last_offset = Some(end - 1);
        *bytes += payload.len();
        return true;
    }
    let mut out = Vec::new();
    match slice_batch(&batch, from, room, &mut out) {
        Some(slice) => {
            polled.messages_count += slice.message_count;
            polled.last_offset = Some(slice.last_offset);
            *bytes += out.len();
            polled.parts.push(PollPart::Sliced(out));
            true
        }
        None => false,
    }
}
