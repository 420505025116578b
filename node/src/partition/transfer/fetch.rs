//! Fetching: one `RequestPartitionData` in flight per group, for the first partition
//! still short, from the record where its log ends. An answer with records is verified
//! as a whole ([`vireo_storage::partition::PartitionLog::verify_import`]) and appended;
//! the next request leaves at once. A refusal (gone, behind, unknown, records that fail
//! verification) moves to the next replica after [`TRANSFER_RETRY_TICKS`]; silence, after
//! [`TRANSFER_TIMEOUT_TICKS`]. Answers that do not match the request in flight (late
//! duplicates, an older checkpoint) are ignored. When every partition has its records,
//! the logs are flushed and then the durable marker removed.

use vireo_protocol::vsr::{
    Command, HEADER_SIZE, Message, PARTITION_DATA_PREFIX_SIZE, PartitionData, PartitionDataRequest,
    PartitionDataStatus,
};

use super::super::key::PartitionKey;
use super::super::machine::PartitionMachine;
use super::{InFlight, TRANSFER_RETRY_TICKS, TRANSFER_TIMEOUT_TICKS, TransferBus, marker};

impl PartitionMachine {
    pub(super) fn fetch_tick(&mut self, bus: &mut dyn TransferBus) {
        let now = self.transfer_ticks;
        let Some(catchup) = &mut self.catchup else { return };
        if catchup.targets.is_empty() {
            self.finish_catchup();
            return;
        }
        if let Some(in_flight) = catchup.in_flight {
            if now < in_flight.sent_tick + TRANSFER_TIMEOUT_TICKS {
                return;
            }
            self.transfer_stats.timeouts += 1;
            catchup.in_flight = None;
            catchup.source = Some(next_source(in_flight.source, bus));
        }
        if now < catchup.retry_tick {
            return;
        }
        self.send_request(bus);
    }

    fn send_request(&mut self, bus: &mut dyn TransferBus) {
        if bus.replica_count() < 2 {
            return; // Nobody to ask (a cluster of one never transfers state).
        }
        let now = self.transfer_ticks;
        let bytes_max = self.transfer_bytes_max();
        let Some(catchup) = &mut self.catchup else { return };
        let Some((&key, &end_offset)) = catchup.targets.first_key_value() else { return };
        let from_offset = self.partitions[&key].log.next_offset();
        let source = *catchup.source.get_or_insert_with(|| next_source(bus.replica(), bus));
        let request = PartitionDataRequest {
            partition: key.into(),
            checkpoint_op: catchup.checkpoint_op,
            from_offset,
            end_offset,
            bytes_max,
        };
        catchup.in_flight = Some(InFlight { key, from_offset, source, sent_tick: now });
        self.transfer_stats.requests += 1;
        let header = self.transfer_header(Command::RequestPartitionData, bus);
        bus.send(source, Message::new(header, &request.encode()));
    }

    pub(super) fn on_partition_data(
        &mut self,
        from: u8,
        message: &Message,
        bus: &mut dyn TransferBus,
    ) {
        let data = match PartitionData::decode(message.body()) {
            Ok(data) => data,
            Err(error) => {
                tracing::debug!(from, %error, "malformed partition data dropped");
                return;
            }
        };
        let Some(catchup) = &mut self.catchup else { return };
        let key = PartitionKey::from(data.partition);
        let expected = catchup.in_flight.is_some_and(|in_flight| {
            in_flight.key == key
                && in_flight.from_offset == data.from_offset
                && in_flight.source == from
                && data.checkpoint_op == catchup.checkpoint_op
        });
        if !expected {
            return; // A late or duplicated answer.
        }
        catchup.in_flight = None;
        if data.status != PartitionDataStatus::Ok {
            tracing::debug!(group = self.group, from, ?key, status = ?data.status,
                first_offset = data.first_offset, next_offset = data.next_offset,
                "partition data refused");
            self.refused(from, bus);
            return;
        }
        let records = message.buffer().slice(HEADER_SIZE + PARTITION_DATA_PREFIX_SIZE..);
        match self.import(key, &records) {
            Ok(()) => self.send_request(bus),
            Err(reason) => {
                tracing::warn!(group = self.group, from, ?key, %reason, "partition data refused on import");
                self.refused(from, bus);
            }
        }
    }

    fn refused(&mut self, from: u8, bus: &dyn TransferBus) {
        self.transfer_stats.refusals += 1;
        let retry_tick = self.transfer_ticks + TRANSFER_RETRY_TICKS;
        let catchup = self.catchup.as_mut().expect("fetching");
        catchup.source = Some(next_source(from, bus));
        catchup.retry_tick = retry_tick;
    }

    /// Verifies and appends a run for `key`. Nothing is appended unless all of it
    /// verifies; an append failure is an environment failure (the node stops).
    fn import(&mut self, key: PartitionKey, records: &bytes::Bytes) -> Result<(), String> {
        let catchup = self.catchup.as_ref().expect("fetching");
        let end_offset = catchup.targets[&key];
        let imported = self.partitions[&key]
            .log
            .verify_import(records, catchup.checkpoint_op)
            .map_err(|error| error.to_string())?;
        let last = imported.last().expect("a verified run holds records");
        let run_end = last.meta.base_offset + u64::from(last.meta.message_count);
        if run_end > end_offset {
            return Err(format!("records end at {run_end}, past the checkpoint's {end_offset}"));
        }
        for record in &imported {
            if record.pad_before {
                let disk = std::rc::Rc::clone(&self.disk);
                let mut disk = disk.borrow_mut();
                let log = &mut self.partitions.get_mut(&key).expect("a target has a log").log;
                log.flush(&mut disk.logs()).map_err(|error| format!("flush: {error}"))?;
            }
            self.append(key, record.op, record.meta, &record.payload)
                .map_err(|code| format!("append failed ({code:?})"))?;
        }
        self.transfer_stats.records_imported += imported.len() as u64;
        self.transfer_stats.bytes_imported += records.len() as u64;
        if self.partitions[&key].log.next_offset() == end_offset {
            let catchup = self.catchup.as_mut().expect("fetching");
            catchup.targets.remove(&key);
            tracing::info!(group = self.group, ?key, end_offset, "partition caught up");
        }
        Ok(())
    }

    /// Every target reached: flush, then remove the marker.
    fn finish_catchup(&mut self) {
        let catchup = self.catchup.as_ref().expect("fetching");
        match &catchup.final_flush {
            None => match self.flush_all() {
                Ok(targets) => {
                    self.catchup.as_mut().expect("fetching").final_flush = Some(targets);
                }
                Err(message) => {
                    self.fail(message);
                }
            },
            Some(targets) => {
                if !self.flushed(targets) {
                    return;
                }
                if let Err(message) = marker::remove(&self.data_dir, self.group) {
                    self.fail(format!("catch-up marker: {message}"));
                    return;
                }
                tracing::info!(group = self.group, stats = ?self.transfer_stats, "catch-up complete");
                self.catchup = None;
            }
        }
    }
}

/// The replica after `after`, skipping this one.
fn next_source(after: u8, bus: &dyn TransferBus) -> u8 {
    let count = bus.replica_count();
    let mut source = (after + 1) % count;
    if source == bus.replica() {
        source = (source + 1) % count;
    }
    source
}
