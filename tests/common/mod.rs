//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded};

/// Aborts the test process if it is still alive after `limit`: a hung loop must fail the
/// run, not stall CI. Dropping the watchdog disarms it.
pub struct Watchdog {
    _disarm: Sender<()>,
}

impl Watchdog {
    pub fn new(limit: Duration) -> Self {
        let (tx, rx) = bounded::<()>(0);
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        std::thread::spawn(move || {
            if let Err(crossbeam_channel::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("watchdog: test `{name}` still running after {limit:?}; aborting");
                std::process::abort();
            }
        });
        Watchdog { _disarm: tx }
    }
}

/// One `CoreApplication` per process: tests that create one hold this lock.
pub fn app_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
