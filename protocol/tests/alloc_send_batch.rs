//! Parsing and validating a send (header, routing, batch layout, every frame checksum,
//! the batch checksum), walking its frames, stamping it and slicing it for a poll
//! allocate nothing: the hot path is allocation-free, not merely per-message-free.
//!
//! A counting global allocator counts only allocations made by the measuring thread
//! while a measurement is open, so the test harness's own threads do not interfere.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use vireo_protocol::iggy::batch::{Batch, OutgoingMessage, encode_batch, slice_batch, stamp};
use vireo_protocol::iggy::primitives::{Identifier, Partitioning, TlvBuilder};
use vireo_protocol::iggy::request::{RequestIds, SendMessages, encode_request};
use vireo_protocol::iggy::{HEADER_SIZE, Request, RequestHeader, parse_request};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if MEASURING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter
// only observes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations it made on this thread.
fn count(f: impl FnOnce()) -> usize {
    ALLOCATIONS.store(0, Ordering::Relaxed);
    MEASURING.with(|m| m.set(true));
    f();
    MEASURING.with(|m| m.set(false));
    ALLOCATIONS.load(Ordering::Relaxed)
}

fn send_frame(messages: usize) -> Vec<u8> {
    let mut headers = TlvBuilder::new();
    headers.string("trace", "0123456789").unwrap();
    let payload = vec![7u8; 256];
    let outgoing: Vec<OutgoingMessage<'_>> = (0..messages)
        .map(|i| OutgoingMessage {
            id: i as u128,
            origin_timestamp: 1_000 + i as u64,
            payload: &payload,
            user_headers: headers.as_bytes(),
        })
        .collect();
    let mut batch = Vec::new();
    encode_batch(&mut batch, &outgoing).unwrap();
    let request = Request::SendMessages(SendMessages {
        stream_id: Identifier::Numeric(1),
        topic_id: Identifier::Numeric(2),
        partitioning: Partitioning::PartitionId(0),
        batch: Batch::parse(&batch).unwrap(),
    });
    let mut frame = Vec::new();
    encode_request(&mut frame, RequestIds { client: 9, session: 1, request: 1 }, &request);
    frame
}

#[test]
fn hot_path_allocates_nothing() {
    for messages in [1usize, 10, 1000] {
        let frame = send_frame(messages);
        let mut stored = vec![0u8; frame.len()];
        let mut poll_buffer = Vec::with_capacity(frame.len());
        let mut payload_bytes = 0usize;
        let allocations = count(|| {
            let header = RequestHeader::decode(&frame).unwrap();
            header.check_session().unwrap();
            let Request::SendMessages(send) =
                parse_request(&header, &frame[HEADER_SIZE..]).unwrap()
            else {
                panic!("not a send");
            };
            assert_eq!(send.batch.message_count() as usize, messages);
            for message in send.batch.frames() {
                payload_bytes += message.payload().len() + message.user_headers().len();
            }
            let batch_bytes = send.batch.as_bytes();
            let stored = &mut stored[..batch_bytes.len()];
            stored.copy_from_slice(batch_bytes);
            stamp(stored, 0, 1_000_000, 42).unwrap();
            let stored = Batch::parse(stored).unwrap();
            stored.verify().unwrap();
            slice_batch(&stored, 1_000_000 + messages as u64 / 2, u32::MAX, &mut poll_buffer)
                .unwrap();
        });
        assert!(payload_bytes >= messages * 256);
        assert_eq!(
            allocations, 0,
            "{messages} messages: {allocations} allocations on the hot path"
        );
    }
    // The counter itself works: an allocation inside a measurement is seen.
    assert_eq!(count(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}
