//! The VSR journal: the write-ahead log of prepares, as a ring of fixed-size slots.
//!
//! One data file per consensus group holds, in order: the superblock copies, two
//! alternating checkpoint-snapshot areas, the **redundant header ring** (one 256-byte
//! header per slot, 16 per sector) and the **prepare ring** (one `slot_size_bytes` slot per
//! op, `op % slot_count`). A prepare is written first; only when that write completes is
//! its header written into the header ring, and only then is the op acknowledged. That
//! order is what lets recovery tell a torn, never-acknowledged write (safe to forget)
//! from a corrupt acknowledged one (must be repaired from peers, never nacked).
//!
//! * [`layout`] — byte offsets of every zone;
//! * [`slot`] — the per-slot recovery decision table (clean / fix / faulty / empty);
//! * [`index`] — the in-memory index the replica consults (header per slot, dirty and
//!   faulty bits, hash-chain checks);
//! * [`store`] — executes journal and superblock writes and reads on any `Storage`.

pub mod index;
pub mod layout;
pub mod slot;
pub mod store;

pub use index::Journal;
pub use layout::JournalLayout;
pub use slot::{SlotDecision, classify_slot};
pub use store::{JournalEvent, JournalStore, Recovered};
