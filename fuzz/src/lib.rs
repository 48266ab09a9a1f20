//! Support for cute's fuzz targets: the harness in [`harness`] is shared with the root
//! package's `tests/fuzz_regressions.rs`, which replays the corpora without libFuzzer.

pub mod harness;
pub mod socket_read;
