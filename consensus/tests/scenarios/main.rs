//! Scenario tests: in-memory clusters of 3 and 5 replicas driven by a small script-like
//! harness (`harness/`), one file per theme. The harness checks after every step that
//! each replica's invariants hold, that all replicas apply one hash-chained history, that
//! no request applies twice and that every reply names an op of that history — so an
//! acknowledged op can never be lost without a check failing.

mod harness;

mod chaos;
mod corruption;
mod crashes;
mod message_faults;
mod partitions;
mod power_loss;
mod retries;
mod state_transfer;
mod view_changes;
