//! A peer sends the fuzz input to a `TcpSocket` in pieces; see
//! [`cute_fuzz::socket_read::socket_read`].
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cute_fuzz::socket_read::socket_read(data));
