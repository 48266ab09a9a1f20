//! Helpers shared by cute-core's integration tests.
#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cute_core::EventLoop;

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

/// Counts its drops: captured by a slot, a callback or a binding, it tells when that
/// closure is freed.
pub struct DropCount(pub std::rc::Rc<std::cell::Cell<usize>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}
