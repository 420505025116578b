//! The in-flight table of [`super::UringStorage`]: a fixed-capacity slab whose slot index is
//! the SQE's `user_data`. An entry owns the I/O's buffer and a reference to its descriptor
//! until the completion is reaped, which is what makes handing raw pointers to the kernel
//! sound.

use std::os::fd::OwnedFd;
use std::rc::Rc;

use crate::buffer::AlignedBuffer;
use crate::storage::IoToken;

/// What an in-flight I/O does, with its progress for short transfers.
#[derive(Debug)]
pub(super) enum Operation {
    Read { buffer: AlignedBuffer, offset_bytes: u64, done_bytes: usize },
    Write { buffer: AlignedBuffer, offset_bytes: u64, done_bytes: usize },
    Sync,
}

#[derive(Debug)]
pub(super) struct InFlight {
    pub(super) token: IoToken,
    pub(super) fd: Rc<OwnedFd>,
    pub(super) operation: Operation,
}

#[derive(Debug)]
pub(super) struct InFlightTable {
    slots: Vec<Option<InFlight>>,
    free: Vec<u32>,
    count: usize,
}

impl InFlightTable {
    pub(super) fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "in-flight table needs capacity");
        let top = u32::try_from(capacity).expect("capacity fits u32");
        let mut slots = Vec::with_capacity(capacity);
        slots.resize_with(capacity, || None);
        Self { slots, free: (0..top).rev().collect(), count: 0 }
    }

    pub(super) fn len(&self) -> usize {
        self.count
    }

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub(super) fn free_slots(&self) -> usize {
        self.free.len()
    }

    pub(super) fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    pub(super) fn insert(&mut self, entry: InFlight) -> u32 {
        let slot = self.free.pop().expect("caller checked is_full");
        let cell = &mut self.slots[slot as usize];
        assert!(cell.is_none(), "free slot {slot} is occupied");
        *cell = Some(entry);
        self.count += 1;
        slot
    }

    pub(super) fn get_mut(&mut self, slot: u32) -> &mut InFlight {
        self.slots
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
            .expect("completion for a slot that is not in flight")
    }

    pub(super) fn release(&mut self, slot: u32) -> InFlight {
        let entry = self.slots[slot as usize].take().expect("released slot is in flight");
        self.free.push(slot);
        self.count -= 1;
        assert!(self.count + self.free.len() == self.slots.len(), "slab accounting broken");
        entry
    }
}
