//! A 401 whose `WWW-Authenticate` value is the fuzz input (the challenge parser,
//! reached through the public API); see [`cute_fuzz::harness::challenge_parse`].
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cute_fuzz::harness::challenge_parse(data));
