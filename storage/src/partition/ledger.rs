//! The log's I/O ledger: sequence numbers, tokens and the in-flight table.
//!
//! **Token scheme.** Every I/O a log submits carries
//! `IoToken((io_namespace as u64) << 32 | (seq as u32))`, where `io_namespace` comes from the
//! log's config and `seq` is the log's own I/O counter. The owner of a shared `Storage`
//! routes a completion to the log whose namespace is `token.0 >> 32`
//! ([`crate::partition::token_namespace`]); the low half only has to be unique among this
//! log's in-flight I/Os, which the bounded in-flight table guarantees (asserted).

use std::collections::{BTreeMap, BTreeSet};

use crate::partition::writer::WriteSequencer;
use crate::storage::IoToken;

/// Which file of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SegmentFile {
    Log,
    Index,
    TimeIndex,
}

/// What an in-flight I/O is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IoKind {
    Write { seq: u64, length_bytes: u64 },
    Sync,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct InFlightIo {
    pub(crate) segment_base_offset: u64,
    pub(crate) file: SegmentFile,
    pub(crate) kind: IoKind,
}

/// The namespace a token belongs to: route completions with it.
#[must_use]
pub fn token_namespace(token: IoToken) -> u32 {
    u32::try_from(token.0 >> 32).expect("upper half fits u32")
}

#[derive(Debug)]
pub(crate) struct IoLedger {
    namespace: u32,
    next_seq: u64,
    /// Writes enqueued (queued or in flight) and not yet completed, by sequence.
    incomplete_writes: BTreeSet<u64>,
    pub(crate) pending_write_bytes: u64,
    in_flight: BTreeMap<u32, InFlightIo>,
}

impl WriteSequencer for IoLedger {
    fn write_enqueued(&mut self, length_bytes: u64) -> u64 {
        let seq = self.allocate();
        self.incomplete_writes.insert(seq);
        self.pending_write_bytes += length_bytes;
        seq
    }
}

impl IoLedger {
    pub(crate) fn new(namespace: u32) -> Self {
        Self {
            namespace,
            next_seq: 0,
            incomplete_writes: BTreeSet::new(),
            pending_write_bytes: 0,
            in_flight: BTreeMap::new(),
        }
    }

    pub(crate) fn allocate(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Sequence numbers below this were allocated before now.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub(crate) fn token(&self, seq: u64) -> IoToken {
        IoToken((u64::from(self.namespace) << 32) | (seq & u64::from(u32::MAX)))
    }

    pub(crate) fn owns(&self, token: IoToken) -> bool {
        token_namespace(token) == self.namespace
    }

    pub(crate) fn in_flight_count(&self) -> usize {
        self.in_flight.len()
    }

    pub(crate) fn submitted(&mut self, token: IoToken, io: InFlightIo) {
        let key = (token.0 & u64::from(u32::MAX)) as u32;
        let previous = self.in_flight.insert(key, io);
        assert!(previous.is_none(), "token {token:?} reused while in flight");
    }

    pub(crate) fn completed(&mut self, token: IoToken) -> InFlightIo {
        assert!(self.owns(token), "completion {token:?} routed to the wrong log");
        let key = (token.0 & u64::from(u32::MAX)) as u32;
        let io = self.in_flight.remove(&key).expect("completion for an unknown token");
        if let IoKind::Write { seq, length_bytes } = io.kind {
            assert!(self.incomplete_writes.remove(&seq), "write completed twice");
            self.pending_write_bytes -= length_bytes;
        }
        io
    }

    /// Every write enqueued before `barrier` has completed.
    pub(crate) fn writes_complete_below(&self, barrier: u64) -> bool {
        self.incomplete_writes.first().is_none_or(|&seq| seq >= barrier)
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.incomplete_writes.is_empty() && self.in_flight.is_empty()
    }

    pub(crate) fn check_invariants(&self, in_flight_max: u32) {
        assert!(self.in_flight.len() <= in_flight_max as usize, "in-flight bound exceeded");
        assert!(self.incomplete_writes.last().is_none_or(|&seq| seq < self.next_seq));
        assert_eq!(self.incomplete_writes.is_empty(), self.pending_write_bytes == 0);
    }
}
