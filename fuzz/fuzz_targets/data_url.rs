//! `data:` followed by the fuzz input, fetched through the manager; see
//! [`cute_fuzz::harness::data_url`].
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cute_fuzz::harness::data_url(data));
