//! The primary's pipeline: prepares in flight (bounded) and client requests waiting for
//! room. A prepare leaves the pipeline only when it commits, in op order.

use std::collections::VecDeque;

use vireo_protocol::vsr::{Header, Message};

/// A prepare the primary has sent and not yet committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineEntry {
    /// The prepare's header.
    pub header: Header,
    /// The whole prepare; `None` after a view change until its body is repaired.
    pub message: Option<Message>,
    /// Replicas (bit per index) that hold it, the primary included once written.
    pub ok_from: u8,
}

impl PipelineEntry {
    /// Number of replicas known to hold the prepare.
    #[must_use]
    pub fn ok_count(&self) -> usize {
        self.ok_from.count_ones() as usize
    }
}

/// Prepares in flight and queued requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    prepare_max: usize,
    request_max: usize,
    prepares: VecDeque<PipelineEntry>,
    requests: VecDeque<Message>,
}

impl Pipeline {
    /// An empty pipeline.
    #[must_use]
    pub fn new(prepare_max: usize, request_max: usize) -> Self {
        Self {
            prepare_max,
            request_max,
            prepares: VecDeque::with_capacity(prepare_max),
            requests: VecDeque::with_capacity(request_max),
        }
    }

    /// True when no more prepares fit.
    #[must_use]
    pub fn prepares_full(&self) -> bool {
        self.prepares.len() >= self.prepare_max
    }

    /// Prepares in flight.
    #[must_use]
    pub fn prepares(&self) -> &VecDeque<PipelineEntry> {
        &self.prepares
    }

    /// Adds a prepare after the last one.
    ///
    /// # Panics
    /// If full or not the next op with the right parent (bugs).
    pub fn push_prepare(&mut self, entry: PipelineEntry) {
        assert!(!self.prepares_full());
        if let Some(last) = self.prepares.back() {
            assert_eq!(last.header.op + 1, entry.header.op);
            assert_eq!(last.header.checksum, entry.header.parent, "pipeline hash chain");
        }
        self.prepares.push_back(entry);
    }

    /// The oldest prepare.
    #[must_use]
    pub fn head(&self) -> Option<&PipelineEntry> {
        self.prepares.front()
    }

    /// Removes the oldest prepare (it committed).
    pub fn pop_head(&mut self) -> Option<PipelineEntry> {
        self.prepares.pop_front()
    }

    /// The entry for `op`, if in flight.
    pub fn entry_mut(&mut self, op: u64) -> Option<&mut PipelineEntry> {
        let first = self.prepares.front()?.header.op;
        let index = usize::try_from(op.checked_sub(first)?).ok()?;
        self.prepares.get_mut(index)
    }

    /// True if `client` has a prepare in flight or a queued request.
    #[must_use]
    pub fn has_client(&self, client: u128) -> bool {
        self.prepares.iter().any(|entry| entry.header.client == client)
            || self.requests.iter().any(|request| request.header().client == client)
    }

    /// Queues a request; false (dropped) when the queue is full — the client retries.
    pub fn push_request(&mut self, request: Message) -> bool {
        if self.requests.len() >= self.request_max {
            return false;
        }
        self.requests.push_back(request);
        true
    }

    /// The oldest queued request.
    pub fn pop_request(&mut self) -> Option<Message> {
        self.requests.pop_front()
    }

    /// Queued requests.
    #[must_use]
    pub fn requests_len(&self) -> usize {
        self.requests.len()
    }

    /// Drops everything (the view changed).
    pub fn clear(&mut self) {
        self.prepares.clear();
        self.requests.clear();
    }

    /// Asserts bounds and the hash chain of the prepares.
    pub fn check_invariants(&self) {
        assert!(self.prepares.len() <= self.prepare_max);
        assert!(self.requests.len() <= self.request_max);
        for pair in self.prepares.iter().collect::<Vec<_>>().windows(2) {
            assert_eq!(pair[0].header.op + 1, pair[1].header.op);
            assert_eq!(pair[0].header.checksum, pair[1].header.parent);
        }
        for entry in &self.prepares {
            if let Some(message) = &entry.message {
                assert_eq!(message.header(), &entry.header);
            }
        }
    }
}
