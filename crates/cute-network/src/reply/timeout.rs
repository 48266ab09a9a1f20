//! The transfer timeout measured on the loop, for requests made while the thread has a
//! [`FakeClock`] (private).
//!
//! The transfer (inactivity) timeout normally runs on the manager's runtime, in real time,
//! around each wait for the connection (`worker::transfer::in_time`). A test cannot step
//! that clock, nor know when each of those waits starts. So a reply made under a fake
//! clock also gets a cute [`Timer`] on its loop, restarted by every event its worker sends
//! (headers, body, progress, redirects, questions): when the fake clock passes the limit
//! without news, the reply is aborted and fails with `TimeoutError`, as the worker would
//! have failed it. The worker's own real-time timeout still stands behind it.

use std::time::Duration;

use cute_core::Timer;
use cute_core::testing::FakeClock;

/// A reply's loop-side transfer timeout.
pub(super) struct LoopTimeout {
    timer: Timer,
}

impl LoopTimeout {
    /// A started timeout, if the thread has a fake clock and the request a transfer
    /// timeout (`limit`); `expired` gets the limit when it passes without news.
    pub(super) fn arm(limit: Option<Duration>, expired: impl Fn(Duration) + 'static) -> Option<LoopTimeout> {
        let limit = limit.filter(|_| FakeClock::is_installed())?;
        let timer = Timer::new();
        timer.set_single_shot(true);
        timer.timeout().connect(move |_| expired(limit));
        timer.start_with(limit);
        log::trace!("transfer timeout of {limit:?} on the loop's fake clock");
        Some(LoopTimeout { timer })
    }

    /// News from the worker: the inactivity period starts again.
    pub(super) fn restart(&self) {
        if self.timer.is_active() {
            self.timer.start();
        }
    }

    /// The reply finished.
    pub(super) fn stop(&self) {
        self.timer.stop();
    }
}
