//! [`Watchdog`]: a hung test fails the run instead of stalling CI.

use std::sync::mpsc;
use std::time::Duration;

/// Aborts the test process if it is still alive after `limit`: a hung loop must fail the
/// run, not stall CI. Dropping the watchdog disarms it.
#[derive(Debug)]
pub struct Watchdog {
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    /// Arms a watchdog for the current test (named after the current thread in the
    /// message printed before aborting).
    pub fn new(limit: Duration) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("watchdog: test `{name}` still running after {limit:?}; aborting");
                std::process::abort();
            }
        });
        Watchdog { _disarm: tx }
    }
}
