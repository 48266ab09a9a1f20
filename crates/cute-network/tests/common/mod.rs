//! Helpers shared by cute-network's integration tests.
#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cute_core::{EventLoop, SignalSpy};
use cute_network::{NetworkAccessManager, NetworkReply, NetworkRequest, RequestUrl};

/// One `CoreApplication` per process: tests that create one hold this lock.
pub fn app_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs this thread's loop until `done()` or `limit` passes; returns `done()`.
pub fn run_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        EventLoop::process_events((deadline - now).min(Duration::from_millis(50)));
    }
    true
}

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
