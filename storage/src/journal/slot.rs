//! The per-slot recovery decision: what a slot's redundant header and prepare, read back
//! after a restart, prove about the op that slot holds.
//!
//! The write order is: prepare, then (after it completes) its redundant header, then the
//! prepare_ok. So an intact redundant header naming op X proves X's prepare was written
//! completely — if that prepare now reads corrupt or stale, it was damaged *after* it may
//! have been acknowledged: the slot is **faulty** (repair from peers, never nack). A
//! redundant header that does not name X (stale wrap, or all zero) proves X was never
//! acknowledged from this slot, so an intact prepare there is adopted (**fix**: rewrite the
//! header) and a broken one is forgotten (**empty**: a torn, unacknowledged write).
//!
//! | redundant header | prepare                       | decision        |
//! |------------------|-------------------------------|-----------------|
//! | zero             | zero                          | empty           |
//! | zero             | intact                        | fix(prepare)    |
//! | zero             | corrupt                       | empty (torn)    |
//! | intact R         | zero or corrupt               | faulty(R)       |
//! | intact R         | intact P, same checksum       | clean(R)        |
//! | intact R         | intact P, newer (op, view)    | fix(P)          |
//! | intact R         | intact P, older               | faulty(R)       |
//! | corrupt          | intact                        | fix(P)          |
//! | corrupt          | zero or corrupt               | faulty(unknown) |
//!
//! "Intact" includes "belongs to this slot": a header or prepare whose op does not map to
//! the slot was misdirected and counts as corrupt. Whether an `empty`/`faulty` slot lies
//! inside the live window of ops is decided later, with the checkpoint and head op known
//! (see [`super::Journal::recover`]).

use vireo_protocol::vsr::{Command, HEADER_SIZE, Header, Message};

/// What recovery concluded about one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotDecision {
    /// Nothing acknowledged was ever stored here (never written, or a torn write).
    Empty,
    /// Header ring and prepare agree and the body is intact.
    Clean(Header),
    /// The prepare is intact but its redundant header is missing, stale or corrupt; the
    /// header must be rewritten (the op was not acknowledged from this slot yet).
    Fix(Header),
    /// The prepare was lost or damaged after it may have been acknowledged. `None` when
    /// even the header is unknown. Must be repaired from peers and never nacked.
    Faulty(Option<Header>),
}

impl SlotDecision {
    /// The header this slot is known to hold, if any.
    #[must_use]
    pub fn header(&self) -> Option<&Header> {
        match self {
            Self::Clean(header) | Self::Fix(header) | Self::Faulty(Some(header)) => Some(header),
            Self::Empty | Self::Faulty(None) => None,
        }
    }
}

/// One side of a slot as read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Zero,
    Intact(Header),
    Corrupt,
}

fn read_redundant(bytes: &[u8], slot: usize, slot_count: u64) -> Read {
    if bytes.iter().all(|&b| b == 0) {
        return Read::Zero;
    }
    match Header::decode(bytes) {
        Ok(header) if belongs(&header, slot, slot_count) => Read::Intact(header),
        _ => Read::Corrupt,
    }
}

fn read_prepare(bytes: &[u8], slot: usize, slot_count: u64, size_max: usize) -> Read {
    let Some(head) = bytes.get(..HEADER_SIZE) else { return Read::Corrupt };
    if head.iter().all(|&b| b == 0) {
        return Read::Zero;
    }
    let Ok(header) = Header::decode(head) else { return Read::Corrupt };
    let size = header.size as usize;
    if size > size_max.min(bytes.len()) || !belongs(&header, slot, slot_count) {
        return Read::Corrupt;
    }
    if !header.valid_checksum_body(&bytes[HEADER_SIZE..size]) {
        return Read::Corrupt;
    }
    Read::Intact(header)
}

/// True if `header` is a prepare for an op that maps to `slot`.
fn belongs(header: &Header, slot: usize, slot_count: u64) -> bool {
    header.command == Command::Prepare && header.op % slot_count == slot as u64
}

/// Applies the decision table to one slot's redundant-header bytes and prepare bytes.
/// Total: any bytes give a decision.
#[must_use]
pub fn classify_slot(
    slot: usize,
    slot_count: u64,
    redundant: &[u8],
    prepare: &[u8],
    message_size_max: usize,
) -> SlotDecision {
    let redundant = read_redundant(redundant, slot, slot_count);
    let prepare = read_prepare(prepare, slot, slot_count, message_size_max);
    match (redundant, prepare) {
        (Read::Zero, Read::Zero | Read::Corrupt) => SlotDecision::Empty,
        (Read::Zero | Read::Corrupt, Read::Intact(p)) => SlotDecision::Fix(p),
        (Read::Intact(r), Read::Zero | Read::Corrupt) => SlotDecision::Faulty(Some(r)),
        (Read::Intact(r), Read::Intact(p)) => {
            if r.checksum == p.checksum {
                SlotDecision::Clean(r)
            } else if (p.op, p.view) > (r.op, r.view) {
                SlotDecision::Fix(p)
            } else {
                SlotDecision::Faulty(Some(r))
            }
        }
        (Read::Corrupt, Read::Zero | Read::Corrupt) => SlotDecision::Faulty(None),
    }
}

/// Verifies a prepare read back for repair or commit: intact, the expected op and checksum.
#[must_use]
pub fn verify_prepare(
    bytes: &[u8],
    op: u64,
    checksum: u128,
    message_size_max: usize,
) -> Option<Message> {
    let header = Header::decode(bytes).ok()?;
    let size = header.size as usize;
    if header.command != Command::Prepare
        || header.op != op
        || header.checksum != checksum
        || size > message_size_max.min(bytes.len())
    {
        return None;
    }
    Message::decode(bytes::Bytes::copy_from_slice(&bytes[..size]), message_size_max).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOTS: u64 = 8;
    const MAX: usize = 1024;

    fn prepare(op: u64, view: u32) -> Message {
        let mut header = Header::new(Command::Prepare);
        header.op = op;
        header.view = view;
        Message::new(header, format!("op {op} view {view}").as_bytes())
    }

    fn padded(message: &Message) -> Vec<u8> {
        let mut bytes = message.as_bytes().to_vec();
        bytes.resize(MAX, 0);
        bytes
    }

    fn classify(redundant: &[u8], prepare: &[u8]) -> SlotDecision {
        classify_slot(3, SLOTS, redundant, prepare, MAX)
    }

    #[test]
    fn decision_table() {
        let zero_header = [0u8; HEADER_SIZE];
        let zero_prepare = vec![0u8; MAX];
        let p = prepare(11, 1);
        let r = p.header().to_bytes();
        let mut corrupt_prepare = padded(&p);
        corrupt_prepare[HEADER_SIZE + 2] ^= 1;
        let mut corrupt_header = r;
        corrupt_header[100] ^= 1;
        let newer = prepare(19, 2);
        let older = prepare(3, 0);

        assert_eq!(classify(&zero_header, &zero_prepare), SlotDecision::Empty);
        assert_eq!(classify(&zero_header, &padded(&p)), SlotDecision::Fix(*p.header()));
        assert_eq!(classify(&zero_header, &corrupt_prepare), SlotDecision::Empty);
        assert_eq!(classify(&r, &zero_prepare), SlotDecision::Faulty(Some(*p.header())));
        assert_eq!(classify(&r, &corrupt_prepare), SlotDecision::Faulty(Some(*p.header())));
        assert_eq!(classify(&r, &padded(&p)), SlotDecision::Clean(*p.header()));
        assert_eq!(classify(&r, &padded(&newer)), SlotDecision::Fix(*newer.header()));
        assert_eq!(classify(&r, &padded(&older)), SlotDecision::Faulty(Some(*p.header())));
        assert_eq!(classify(&corrupt_header, &padded(&p)), SlotDecision::Fix(*p.header()));
        assert_eq!(classify(&corrupt_header, &corrupt_prepare), SlotDecision::Faulty(None));
        assert_eq!(classify(&corrupt_header, &zero_prepare), SlotDecision::Faulty(None));
    }

    #[test]
    fn misdirected_data_counts_as_corrupt() {
        // Op 12 belongs to slot 4, not slot 3: landing here is a misdirected write.
        let wrong = prepare(12, 1);
        let zero_header = [0u8; HEADER_SIZE];
        assert_eq!(classify(&zero_header, &padded(&wrong)), SlotDecision::Empty);
        let p = prepare(11, 1);
        assert_eq!(
            classify(&p.header().to_bytes(), &padded(&wrong)),
            SlotDecision::Faulty(Some(*p.header()))
        );
        assert_eq!(
            classify(&wrong.header().to_bytes(), &padded(&p)),
            SlotDecision::Fix(*p.header())
        );
    }

    #[test]
    fn verify_prepare_checks_identity() {
        let p = prepare(11, 1);
        let bytes = padded(&p);
        assert_eq!(verify_prepare(&bytes, 11, p.header().checksum, MAX), Some(p.clone()));
        assert_eq!(verify_prepare(&bytes, 12, p.header().checksum, MAX), None);
        assert_eq!(verify_prepare(&bytes, 11, 5, MAX), None);
        assert_eq!(verify_prepare(&bytes[..10], 11, p.header().checksum, MAX), None);
    }

    proptest::proptest! {
        #[test]
        fn classify_is_total(
            redundant in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            prepare in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1100),
        ) {
            let _ = classify_slot(3, SLOTS, &redundant, &prepare, MAX);
        }
    }
}
