//! Recording emissions in tests ([`SignalSpy`], Qt's `QSignalSpy`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use crate::connection::Connection;
use crate::signal::Signal;
use crate::{clock, dispatcher, timer_queue};

/// Records every emission of a signal, and waits for the next one (Qt's `QSignalSpy`).
///
/// The spy connects a direct slot that clones each emitted value into a queue.
/// [`wait`](Self::wait) runs the current thread's event loop until a new emission arrives
/// or the timeout passes, which is the bounded, condition-based wait tests need.
/// Dropping the spy disconnects it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{Signal, SignalSpy, Timer};
///
/// let timer = Timer::new();
/// timer.set_single_shot(true);
/// let spy = SignalSpy::new(timer.timeout());
/// timer.start_with(Duration::from_millis(5));
/// assert!(spy.wait(Duration::from_secs(5)));
/// assert_eq!(spy.count(), 1);
/// assert!(!spy.wait(Duration::from_millis(20))); // single shot: nothing more
/// ```
#[doc(alias = "QSignalSpy")]
pub struct SignalSpy<T: 'static> {
    records: Rc<RefCell<VecDeque<T>>>,
    total: Rc<Cell<usize>>,
    connection: Connection,
    waiting: Cell<bool>,
}

impl<T: 'static> fmt::Debug for SignalSpy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalSpy")
            .field("count", &self.records.borrow().len())
            .field("total", &self.total.get())
            .finish()
    }
}

impl<T: Clone + 'static> SignalSpy<T> {
    /// Starts recording `signal`'s emissions.
    pub fn new(signal: &Signal<T>) -> Self {
        let records: Rc<RefCell<VecDeque<T>>> = Rc::default();
        let total: Rc<Cell<usize>> = Rc::default();
        let (r, t) = (records.clone(), total.clone());
        let connection = signal.connect(move |value: &T| {
            r.borrow_mut().push_back(value.clone());
            t.set(t.get() + 1);
        });
        SignalSpy { records, total, connection, waiting: Cell::new(false) }
    }

    /// The number of recorded emissions not yet taken.
    pub fn count(&self) -> usize {
        self.records.borrow().len()
    }

    /// Whether no emission is recorded (or all were taken).
    pub fn is_empty(&self) -> bool {
        self.records.borrow().is_empty()
    }

    /// The number of emissions since the spy was created (taking does not lower it).
    pub fn total(&self) -> usize {
        self.total.get()
    }

    /// A clone of the `index`-th recorded value.
    pub fn get(&self, index: usize) -> Option<T> {
        self.records.borrow().get(index).cloned()
    }

    /// Removes and returns the oldest recorded value (Qt's `takeFirst`).
    pub fn take_first(&self) -> Option<T> {
        self.records.borrow_mut().pop_front()
    }

    /// Removes and returns every recorded value, oldest first.
    pub fn take_all(&self) -> Vec<T> {
        self.records.borrow_mut().drain(..).collect()
    }

    /// Runs the current thread's event loop until the signal is emitted again or `timeout`
    /// passes; returns whether a new emission arrived. Emissions recorded before the call do
    /// not count (as in Qt). Returns `false` early if the thread's loop is asked to exit.
    ///
    /// Under a [`FakeClock`](crate::testing::FakeClock) the timeout is measured on the fake
    /// clock, which an idle loop moves to the next deadline: waiting 60 s for a 30 s timer
    /// returns `true` at once (where Qt's `QTest::qWait` sleeps). A frozen fake clock
    /// leaves the timeout in real time.
    ///
    /// # Panics
    ///
    /// If called re-entrantly on the same spy (from a slot run by its own `wait`), or if a
    /// slot run by the loop panics.
    #[doc(alias = "qWait")]
    pub fn wait(&self, timeout: Duration) -> bool {
        assert!(!self.waiting.replace(true), "SignalSpy::wait is not re-entrant");
        struct Waiting<'a>(&'a Cell<bool>);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _waiting = Waiting(&self.waiting);
        let before = self.total.get();
        // A timeout too large for the clock waits as long as a timer would: "never".
        let deadline = timer_queue::after(clock::wait_now(), timeout);
        let core = dispatcher::current();
        loop {
            if self.total.get() > before {
                return true;
            }
            // Outside every `exec`, the exit request is spent by this wait.
            if core.take_exit_outside_exec().is_some() || core.exit_requested().is_some() {
                return false;
            }
            let now = clock::wait_now();
            if now >= deadline {
                return false;
            }
            core.round(Some(deadline - now));
        }
    }
}

impl<T: 'static> Drop for SignalSpy<T> {
    fn drop(&mut self) {
        self.connection.disconnect();
    }
}
