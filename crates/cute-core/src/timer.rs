//! Timers ([`Timer`], Qt's `QTimer`).

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use crate::clock;
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
        Some(deadline.saturating_duration_since(clock::now()))
    }

    /// Runs `slot` once after `delay` on the current thread's loop (Qt's static
    /// `QTimer::singleShot`). A zero delay runs it after the events already queued.
    ///
    /// Returns a [`SingleShot`] handle to [`cancel`](SingleShot::cancel) the call or ask
    /// whether it is still pending. Dropping the handle does *not* cancel: a single shot is
    /// fire-and-forget, as in Qt, so `Timer::single_shot(delay, f);` needs no binding.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to create the thread's poller.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{CoreApplication, Timer};
    ///
    /// let app = CoreApplication::new();
    /// Timer::single_shot(Duration::from_millis(5), CoreApplication::quit); // fire and forget
    /// let watchdog = Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1));
    /// assert_eq!(app.exec(), 0);
    /// assert!(watchdog.cancel()); // not needed any more
    /// ```
    #[doc(alias = "singleShot")]
    #[doc(alias = "QTimer::singleShot")]
    pub fn single_shot<F: FnOnce() + 'static>(delay: Duration, slot: F) -> SingleShot {
        Self::schedule(delay, Box::new(slot), None)
    }

    /// [`single_shot`](Self::single_shot) bound to `receiver` (Qt's
    /// `QTimer::singleShot(msec, context, functor)`): `slot` gets the receiver, and is not
    /// called if the receiver is gone by then. The call holds only a `Weak` to the
    /// receiver; its closure is freed when the delay expires, or on
    /// [`cancel`](SingleShot::cancel). [`SingleShot::is_active`] is false once the
    /// receiver is gone.
    ///
    /// A method `fn on_timeout(&self)` schedules in one line:
    /// `Timer::single_shot_to(delay, &this, Self::on_timeout)`.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to create the thread's poller.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    /// use cute_core::{EventLoop, Timer};
    ///
    /// struct Poller {
    ///     polls: Cell<u32>,
    /// }
    ///
    /// impl Poller {
    ///     fn poll(&self) {
    ///         self.polls.set(self.polls.get() + 1);
    ///     }
    /// }
    ///
    /// let poller = Rc::new(Poller { polls: Cell::new(0) });
    /// let shot = Timer::single_shot_to(Duration::ZERO, &poller, Poller::poll);
    /// assert!(shot.is_active());
    /// EventLoop::process_events(Duration::ZERO);
    /// assert_eq!(poller.polls.get(), 1);
    /// assert!(!shot.is_active());
    ///
    /// // A receiver gone before the delay expires is not called.
    /// let gone = Rc::new(Poller { polls: Cell::new(0) });
    /// let shot = Timer::single_shot_to(Duration::ZERO, &gone, |_| unreachable!());
    /// drop(gone);
    /// assert!(!shot.is_active());
    /// EventLoop::process_events(Duration::ZERO);
    /// ```
    #[doc(alias = "singleShot")]
    #[doc(alias = "QTimer::singleShot")]
    pub fn single_shot_to<R, F>(delay: Duration, receiver: &Rc<R>, slot: F) -> SingleShot
    where
        R: 'static,
        F: FnOnce(&R) + 'static,
    {
        let bound = Rc::downgrade(receiver);
        let erased: Weak<dyn Any> = bound.clone();
        let call = move || match bound.upgrade() {
            Some(receiver) => slot(&receiver),
            None => log::trace!("single shot dropped: its receiver is gone"),
        };
        Self::schedule(delay, Box::new(call), Some(erased))
    }

    fn schedule(delay: Duration, call: Box<dyn FnOnce()>, receiver: Option<Weak<dyn Any>>) -> SingleShot {
        let core = dispatcher::current();
        let (key, seq) = core.timers.borrow_mut().start_once(delay, call);
        SingleShot { core: Rc::downgrade(&core), key, seq, receiver }
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

/// A handle to one [`Timer::single_shot`] call: [`cancel`](Self::cancel) it or ask whether
/// it [`is_active`](Self::is_active). Qt's static `QTimer::singleShot` gives no handle;
/// this one is optional.
///
/// Dropping the handle does not cancel the call (it is fire-and-forget, as in Qt), so
/// ignoring it is fine. Clones name the same call.
///
/// # Threading
///
/// `!Send`: the call runs on the loop of the thread that scheduled it, and is cancelled
/// there.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::Timer;
///
/// let shot = Timer::single_shot(Duration::from_secs(60), || unreachable!());
/// assert!(shot.is_active());
/// assert!(shot.cancel());
/// assert!(!shot.is_active());
/// assert!(!shot.cancel()); // already cancelled
/// ```
#[derive(Clone)]
pub struct SingleShot {
    core: Weak<LoopCore>,
    key: usize,
    seq: u64,
    /// The receiver of [`Timer::single_shot_to`].
    receiver: Option<Weak<dyn Any>>,
}

impl SingleShot {
    /// Cancels the call if it has not run yet; returns whether it had not. Its closure is
    /// dropped now. Cancelling a call that ran, was cancelled, or whose receiver is gone
    /// returns `false` (the last is dropped all the same).
    pub fn cancel(&self) -> bool {
        let Some(core) = self.core.upgrade() else { return false };
        let removed = core.timers.borrow_mut().cancel_once(self.key, self.seq);
        // Dropped outside the queue's borrow: captured state may start or stop timers.
        removed.is_some_and(|call| {
            drop(call);
            self.receiver_alive()
        })
    }

    /// Whether the call is still waiting to run: false once it ran (or while it runs), once
    /// it was cancelled, and once the receiver of a [`Timer::single_shot_to`] call is gone.
    pub fn is_active(&self) -> bool {
        self.receiver_alive()
            && self
                .core
                .upgrade()
                .is_some_and(|core| core.timers.borrow().is_once_pending(self.key, self.seq))
    }

    fn receiver_alive(&self) -> bool {
        self.receiver.as_ref().is_none_or(|r| r.strong_count() > 0)
    }
}

impl fmt::Debug for SingleShot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleShot").field("active", &self.is_active()).finish()
    }
}
