//! The server's stop signal, shared by the handler pool and the slow-endpoint workers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A one-way "the server is stopping" flag that sleeping endpoints wake up for at once.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    flag: AtomicBool,
    lock: Mutex<bool>,
    wake: Condvar,
}

impl Shutdown {
    /// Sets the flag and wakes every [`Shutdown::sleep`] in progress.
    pub(crate) fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let mut stopped = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        *stopped = true;
        self.wake.notify_all();
    }

    /// Whether [`Shutdown::trigger`] has been called.
    pub(crate) fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Sleeps for `duration` unless the server stops first. Returns `true` when the full
    /// duration elapsed, `false` when the sleep was cut short by shutdown.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut stopped = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if *stopped {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            stopped =
                self.wake.wait_timeout(stopped, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Shutdown;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn sleep_runs_to_completion_without_trigger() {
        let shutdown = Shutdown::default();
        assert!(shutdown.sleep(Duration::from_millis(5)));
        assert!(!shutdown.is_set());
    }

    #[test]
    fn trigger_cuts_a_sleep_short() {
        let shutdown = Arc::new(Shutdown::default());
        let other = Arc::clone(&shutdown);
        let started = Instant::now();
        let sleeper = std::thread::spawn(move || other.sleep(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        shutdown.trigger();
        assert!(!sleeper.join().unwrap());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(shutdown.is_set());
        assert!(!shutdown.sleep(Duration::from_secs(10)));
    }
}
