//! Timers ([`Timer`], Qt's `QTimer`).

use std::cell::Cell;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use crate::dispatcher::{self, LoopCore};
use crate::signal::Signal;
use crate::timer_queue::{Expire, Expiry, Recurrence};

pub(crate) struct TimerShared {
    core: Weak<LoopCore>,
    timeout: Signal<()>,
    interval: Cell<Duration>,
    recurrence: Cell<Recurrence>,
    /// The timer queue key while active.
    key: Cell<Option<usize>>,
}

impl Expire for TimerShared {
    fn expire(&self, expiry: Expiry) {
        if expiry == Expiry::Last {
            self.key.set(None);
        }
        self.timeout.emit(&());
    }
}

impl TimerShared {
    fn stop(&self) {
        if let Some(key) = self.key.take()
            && let Some(core) = self.core.upgrade()
        {
            core.timers.borrow_mut().stop(key);
        }
    }
}

/// A repeating or single-shot timer on the current thread's event loop (Qt's `QTimer`).
///
/// Connect to [`timeout`](Self::timeout), set an interval and [`start`](Self::start). The
/// timer fires while the thread runs its loop ([`CoreApplication::exec`],
/// [`EventLoop::exec`], [`SignalSpy::wait`] …). Timers never fire early; an interval timer
/// keeps its phase (deadlines are multiples of the interval from the start, so it does not
/// drift) and emits once for an overrun, however many periods were missed.
/// Defaults: interval 0 (fire once pending events are processed), repeating.
///
/// Start, stop and expiry are `O(log n)` in the number of live timers. Dropping the timer
/// stops it. A repeating timer's slot that holds the `Timer` itself (an `Rc<Timer>`) makes
/// a cycle that keeps it alive and firing: hold a `Weak` there.
///
/// # Threading
///
/// `!Send`: a timer fires on the loop of the thread that created it.
///
/// [`CoreApplication::exec`]: crate::CoreApplication::exec
/// [`EventLoop::exec`]: crate::EventLoop::exec
/// [`SignalSpy::wait`]: crate::SignalSpy::wait
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use cute_core::{EventLoop, Timer};
///
/// let event_loop = EventLoop::new();
/// let ticks = Rc::new(Cell::new(0));
/// let timer = Timer::new();
/// timer.set_interval(Duration::from_millis(5));
/// let (t, l) = (ticks.clone(), event_loop.clone());
/// timer.timeout().connect(move |_| {
///     t.set(t.get() + 1);
///     if t.get() == 3 {
///         l.quit();
///     }
/// });
/// timer.start();
/// event_loop.exec();
/// assert_eq!(ticks.get(), 3);
/// ```
#[doc(alias = "QTimer")]
pub struct Timer {
    shared: Rc<TimerShared>,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("interval", &self.interval())
            .field("single_shot", &self.is_single_shot())
            .field("active", &self.is_active())
            .finish()
    }
}

impl Default for Timer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer {
    /// A stopped, repeating timer with a zero interval on the current thread's loop.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to create the thread's poller.
    pub fn new() -> Self {
        let core = dispatcher::current();
        Timer {
            shared: Rc::new(TimerShared {
                core: Rc::downgrade(&core),
                timeout: Signal::new(),
                interval: Cell::new(Duration::ZERO),
                recurrence: Cell::new(Recurrence::Repeat),
                key: Cell::new(None),
            }),
        }
    }

    /// The signal emitted when the timer fires.
    pub fn timeout(&self) -> &Signal<()> {
        &self.shared.timeout
    }

    /// Sets the interval. Restarts an active timer with the new interval (as Qt does).
    /// Defaults to zero.
    pub fn set_interval(&self, interval: Duration) {
        self.shared.interval.set(interval);
        if self.is_active() {
            self.start();
        }
    }

    /// The interval.
    pub fn interval(&self) -> Duration {
        self.shared.interval.get()
    }

    /// Makes the timer fire once and stop (true) or repeat (false). Defaults to false.
    /// On an active timer it takes effect at the next expiry, as in Qt: a repeating timer
    /// made single-shot fires once more and stops.
    pub fn set_single_shot(&self, single_shot: bool) {
        let recurrence = if single_shot { Recurrence::Once } else { Recurrence::Repeat };
        self.shared.recurrence.set(recurrence);
        if let Some(key) = self.shared.key.get()
            && let Some(core) = self.shared.core.upgrade()
        {
            core.timers.borrow_mut().set_recurrence(key, recurrence);
        }
    }

    /// Whether the timer fires only once per start.
    pub fn is_single_shot(&self) -> bool {
        self.shared.recurrence.get() == Recurrence::Once
    }

    /// Starts (or restarts) the timer: the first expiry is one interval from now.
    pub fn start(&self) {
        self.shared.stop();
        let Some(core) = self.shared.core.upgrade() else {
            log::warn!("Timer::start: the timer's event loop is gone");
            return;
        };
        let timer: Weak<TimerShared> = Rc::downgrade(&self.shared);
        let key = core.timers.borrow_mut().start_timer(
            self.shared.interval.get(),
            self.shared.recurrence.get(),
            timer,
        );
        self.shared.key.set(Some(key));
    }

    /// Sets the interval and starts (Qt's `start(msec)`).
    pub fn start_with(&self, interval: Duration) {
        self.shared.interval.set(interval);
        self.start();
    }

    /// Stops the timer. Does nothing if it is not active.
    pub fn stop(&self) {
        self.shared.stop();
    }

    /// Whether the timer is running.
    pub fn is_active(&self) -> bool {
        self.shared.key.get().is_some()
    }

    /// Time left until the next expiry: `None` if the timer is not active (Qt: −1),
    /// `Some(Duration::ZERO)` if it is overdue.
    pub fn remaining_time(&self) -> Option<Duration> {
        let key = self.shared.key.get()?;
        let core = self.shared.core.upgrade()?;
        let deadline = core.timers.borrow().deadline(key)?;
        Some(deadline.saturating_duration_since(Instant::now()))
    }

    /// Runs `slot` once after `delay` on the current thread's loop (Qt's static
    /// `QTimer::singleShot`). A zero delay runs it after the events already queued.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to create the thread's poller.
    pub fn single_shot<F: FnOnce() + 'static>(delay: Duration, slot: F) {
        dispatcher::current().timers.borrow_mut().start_once(delay, Box::new(slot));
    }

    /// The number of live timers on this thread (active timers plus pending single shots).
    pub fn active_count() -> usize {
        dispatcher::existing().map_or(0, |core| core.timers.borrow().len())
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.shared.stop();
    }
}
