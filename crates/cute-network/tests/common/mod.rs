//! Helpers shared by cute-network's integration tests.
#![allow(dead_code, unused_imports, unreachable_pub)] // each test binary uses a subset

use std::time::Duration;

use cute_core::SignalSpy;
use cute_network::{NetworkAccessManager, NetworkReply, NetworkRequest, RequestUrl};

// The core's test helpers (`app_lock`, `run_until`), shared rather than copied.
#[path = "../../../cute-core/tests/common/mod.rs"]
mod core_common;

pub use core_common::{app_lock, run_until};

pub mod sockets;

/// Runs this thread's loop until `reply` finishes (at most 30 s, then the test fails).
pub fn wait(reply: &NetworkReply) {
    if !reply.is_finished() {
        let spy = SignalSpy::new(reply.finished());
        assert!(spy.wait(Duration::from_secs(30)), "reply did not finish: {reply:?}");
    }
}

/// GETs `url` with `nam` and runs this thread's loop until the reply finishes (see
/// [`wait`]).
pub fn fetch(nam: &NetworkAccessManager, url: impl Into<RequestUrl>) -> NetworkReply {
    let reply = nam.get(&NetworkRequest::new(url));
    wait(&reply);
    reply
}
