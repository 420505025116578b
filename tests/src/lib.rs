//! End-to-end tests of Vireo: real `vireo` processes on loopback, driven by the official
//! Apache Iggy SDK (`iggy` 0.11.0) and CLI. Shared helpers to start, stop and inspect
//! clusters live here; the tests themselves are in `tests/tests/`.
