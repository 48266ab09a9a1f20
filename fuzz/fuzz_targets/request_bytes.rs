//! A request built from a fuzzed URL, header and verb (split on 0xFF bytes), sent with
//! `send_custom_request` to a local server; see [`cute_fuzz::harness::request_bytes`].
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cute_fuzz::harness::request_bytes(data));
