//! Test aids: a [`FakeClock`] that timers and waits obey, advanced by hand.
//!
//! Qt has nothing built in for this: a Qt test of a 60 s timeout waits 60 s
//! (`QTest::qWait`, `QSignalSpy::wait`). Here a test installs a fake clock on its thread,
//! and the thread's [`Timer`](crate::Timer)s, [`Timer::single_shot`](crate::Timer::single_shot)
//! calls, [`Timer::remaining_time`](crate::Timer::remaining_time),
//! [`SignalSpy::wait`](crate::SignalSpy::wait) and
//! [`EventLoop::process_events`](crate::EventLoop::process_events) follow it, so the test
//! runs in microseconds and the same way every time.
//!
//! ```
//! use std::time::Duration;
//! use cute_core::testing::FakeClock;
//! use cute_core::{EventLoop, SignalSpy, Timer};
//!
//! let clock = FakeClock::install();
//! let timer = Timer::new();
//! timer.set_single_shot(true);
//! let spy = SignalSpy::new(timer.timeout());
//! timer.start_with(Duration::from_secs(60));
//!
//! clock.advance(Duration::from_secs(59));
//! EventLoop::process_events(Duration::ZERO);
//! assert_eq!(spy.count(), 0); // not due yet
//! clock.advance(Duration::from_secs(1));
//! EventLoop::process_events(Duration::ZERO);
//! assert_eq!(spy.count(), 1); // due: fired on the next round
//!
//! // Or let the wait pass the time: an idle loop jumps to the next deadline.
//! let start = std::time::Instant::now();
//! timer.start_with(Duration::from_secs(3600));
//! assert!(spy.wait(Duration::from_secs(7200)));
//! assert!(start.elapsed() < Duration::from_secs(1));
//! drop(clock); // the real clock again
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::clock::{self, Fake};
use crate::dispatcher;

/// A fake clock for the current thread, advanced by hand: a test of a 60 s timeout runs in
/// microseconds, deterministically. [`install`](Self::install) returns the clock; dropping
/// it brings the real clock back.
///
/// # What follows it
///
/// The thread's timers (their deadlines, [`remaining_time`](crate::Timer::remaining_time),
/// single shots), the timeout of [`SignalSpy::wait`](crate::SignalSpy::wait) and the
/// `max_wait` of [`EventLoop::process_events`](crate::EventLoop::process_events). Other
/// threads keep real time, and so do calls that block the thread on another one
/// ([`LoopHandle::invoke_blocking_timeout`](crate::LoopHandle::invoke_blocking_timeout),
/// [`ThreadPool`](crate::ThreadPool) waits). Posts from other threads, emitters and
/// everything else the loop delivers are delivered as usual. cute-network's replies made
/// under a fake clock run their transfer timeout on it too.
///
/// # Advancing
///
/// [`advance`](Self::advance) moves the clock at once, like a stall: the timers that
/// became due fire on the loop's next round, in deadline order, and all see
/// [`now`](Self::now) at the advanced time. A repeating timer that missed several periods
/// fires once and keeps its phase, as after a real stall (Qt's rule): `advance(10 s)` on a
/// 1 s timer is one `timeout`, and the next is due at 11 s.
///
/// # The idle rule
///
/// By default the clock lets time pass when nothing else can happen, as tokio's paused
/// time does: when a round of the loop finds nothing to run and would sleep until a timer
/// or the end of a wait, it looks once (without sleeping) for posts from other threads, and
/// if none came it moves the clock to that deadline instead of sleeping. Time passed this
/// way goes deadline by deadline, so each timer sees `now` at its own deadline and a
/// repeating timer fires once per period: `spy.wait(Duration::from_secs(60))` on a 1 s
/// timer fires it at 1 s and returns. A wait's timeout is measured on the fake clock, so
/// `spy.wait(Duration::from_secs(60))` with nothing to wait for returns `false` at once.
/// A loop with no timer and no wait deadline (`exec` with no timers) sleeps for real
/// until something arrives.
///
/// That rule cannot see work in flight on other threads (a network reply, a thread pool
/// job): a loop waiting for it with a timer pending jumps to the timer. For such tests,
/// [`set_auto_advance(false)`](Self::set_auto_advance) freezes the clock: it then moves
/// only by [`advance`](Self::advance), an idle loop sleeps for real until something
/// arrives, and waits measure their timeout in real time (so
/// `spy.wait(Duration::from_secs(5))` waits up to 5 real seconds for the other thread,
/// while the timers stay where `advance` put them).
///
/// # Panics
///
/// [`install`](Self::install) panics if the thread already has a fake clock.
///
/// # Threading
///
/// `!Send`: the clock belongs to the thread that installed it; other threads' loops keep
/// the real clock.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use cute_core::testing::FakeClock;
/// use cute_core::{EventLoop, Timer};
///
/// let clock = FakeClock::install();
/// let ticks = Rc::new(Cell::new(0));
/// let timer = Timer::new();
/// let t = ticks.clone();
/// timer.timeout().connect(move |_| t.set(t.get() + 1));
/// timer.start_with(Duration::from_secs(1));
///
/// // A stall: missed periods coalesce into one timeout, as in Qt.
/// clock.advance(Duration::from_secs(10));
/// EventLoop::process_events(Duration::ZERO);
/// assert_eq!(ticks.get(), 1);
/// assert_eq!(timer.remaining_time(), Some(Duration::from_secs(1)));
///
/// // Time passing: the loop goes deadline by deadline, one timeout per period.
/// for _ in 0..5 {
///     EventLoop::process_events(Duration::from_secs(60));
/// }
/// assert_eq!(ticks.get(), 6);
/// ```
#[doc(alias = "QTest")]
#[doc(alias = "qWait")]
#[doc(alias = "MockClock")]
#[doc(alias = "pause")]
pub struct FakeClock {
    /// `!Send`: the clock is the installing thread's.
    _thread: PhantomData<Rc<()>>,
}

impl FakeClock {
    /// Installs a fake clock on the current thread, reading the real time now and letting
    /// time pass when the loop is idle (see the idle rule above). Returns the clock;
    /// dropping it restores the real clock.
    ///
    /// # Panics
    ///
    /// If the thread already has a fake clock.
    pub fn install() -> FakeClock {
        let fake = Fake { now: Instant::now(), auto_advance: true };
        let previous = clock::set_fake(Some(fake));
        if previous.is_some() {
            clock::set_fake(previous);
            panic!("FakeClock::install: this thread already has a fake clock");
        }
        log::debug!("fake clock installed");
        FakeClock { _thread: PhantomData }
    }

    /// Whether the current thread has a fake clock.
    pub fn is_installed() -> bool {
        clock::fake().is_some()
    }

    /// The fake time. It starts at the real time of [`install`](Self::install).
    pub fn now(&self) -> Instant {
        clock::now()
    }

    /// Moves the clock forward by `by`. Timers that become due fire on the loop's next
    /// round (`process_events`, a `wait`, an `exec`), in deadline order, all seeing
    /// [`now`](Self::now) at the advanced time; a repeating timer fires once however many
    /// periods it missed. Called from a slot, the timers fire in the round after.
    pub fn advance(&self, by: Duration) {
        clock::advance(by);
    }

    /// Lets an idle loop move the clock to the next deadline (true), or freezes it so only
    /// [`advance`](Self::advance) moves it and waits last real time (false). Defaults to
    /// true. See the idle rule above.
    pub fn set_auto_advance(&self, on: bool) {
        if let Some(mut fake) = clock::fake() {
            fake.auto_advance = on;
            clock::set_fake(Some(fake));
        }
    }

    /// Whether an idle loop moves the clock (see [`set_auto_advance`](Self::set_auto_advance)).
    pub fn is_auto_advance(&self) -> bool {
        clock::fake().is_some_and(|fake| fake.auto_advance)
    }
}

impl Drop for FakeClock {
    /// Restores the real clock. The thread's pending timers keep the time they had left: a
    /// timer due in 1 s of fake time is due 1 s of real time from now.
    fn drop(&mut self) {
        let Some(fake) = clock::set_fake(None) else { return };
        if let Some(core) = dispatcher::existing()
            && let Ok(mut timers) = core.timers.try_borrow_mut()
        {
            timers.rebase(fake.now, Instant::now());
        }
        log::debug!("fake clock removed");
    }
}

impl fmt::Debug for FakeClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeClock")
            .field("now", &clock::fake().map(|fake| fake.now))
            .field("auto_advance", &self.is_auto_advance())
            .finish()
    }
}
