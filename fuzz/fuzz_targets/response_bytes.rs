//! A GET answered with the fuzz input verbatim by a local server; see
//! [`cute_fuzz::harness::response_bytes`].
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cute_fuzz::harness::response_bytes(data));
