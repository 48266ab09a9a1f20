//! Counts the server's live tasks (the accept loop and the connections), so that dropping
//! the server can wait, for a bounded time, until they are done.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The count of live tasks, each holding a [`TaskGuard`].
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    live: Mutex<usize>,
    ended: Condvar,
}

/// Proof that a task is live; dropping it (the task ends, or is dropped by the runtime's
/// shutdown, or panics) decrements the count.
#[derive(Debug)]
pub(crate) struct TaskGuard(Arc<Tracker>);

impl Tracker {
    /// Counts one more live task until the returned guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> TaskGuard {
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        TaskGuard(Arc::clone(self))
    }

    /// Blocks until no task is live or `timeout` has passed; returns how many are still live.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        while *live > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            live = self.ended.wait_timeout(live, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
        *live
    }
}

impl TaskGuard {
    /// The tracker this guard counts in.
    pub(crate) fn tracker(&self) -> &Arc<Tracker> {
        &self.0
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let mut live = self.0.live.lock().unwrap_or_else(PoisonError::into_inner);
        *live -= 1;
        self.0.ended.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::Tracker;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn waits_for_guards_up_to_the_timeout() {
        let tracker = Arc::new(Tracker::default());
        assert_eq!(tracker.wait_idle(Duration::from_secs(5)), 0);
        let guard = tracker.enter();
        let second = guard.tracker().enter();
        let started = Instant::now();
        assert_eq!(tracker.wait_idle(Duration::from_millis(20)), 2);
        assert!(started.elapsed() >= Duration::from_millis(20));
        drop(second);
        let ender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            drop(guard);
        });
        assert_eq!(tracker.wait_idle(Duration::from_secs(5)), 0);
        ender.join().unwrap();
    }
}
