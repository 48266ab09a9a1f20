//! Blocking a signal for a scope ([`SignalBlocker`], Qt's `QSignalBlocker`).

use std::fmt;

use crate::signal::Signal;

/// Blocks a signal while it lives, then restores the state it found (Qt's
/// `QSignalBlocker`): the exception-safe form of
/// [`block_signals`](Signal::block_signals). Emissions meanwhile are dropped, not delivered
/// later.
///
/// Blockers nest: each restores what it found, so an inner blocker leaves the signal
/// blocked for the outer one. (Dropped out of order, the last one dropped wins, as in Qt.)
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use cute_core::{Signal, SignalBlocker};
///
/// let value_changed = Signal::<i32>::new();
/// let seen = Rc::new(Cell::new(0));
/// let s = seen.clone();
/// value_changed.connect(move |v| s.set(*v));
/// {
///     let _blocker = SignalBlocker::new(&value_changed);
///     value_changed.emit(&1); // e.g. while setting the value from the model itself
///     {
///         let _inner = SignalBlocker::new(&value_changed);
///     }
///     assert!(value_changed.signals_blocked()); // the inner one restored "blocked"
/// }
/// assert!(!value_changed.signals_blocked());
/// value_changed.emit(&2);
/// assert_eq!(seen.get(), 2);
/// ```
#[doc(alias = "QSignalBlocker")]
#[must_use = "the signal is unblocked when the blocker is dropped"]
pub struct SignalBlocker<'a, T: 'static> {
    signal: &'a Signal<T>,
    /// Whether the signal was blocked before this blocker.
    was_blocked: bool,
    /// Whether this blocker's block is in force (false after [`unblock`](Self::unblock)).
    blocking: bool,
}

impl<'a, T: 'static> SignalBlocker<'a, T> {
    /// Blocks `signal` until the blocker is dropped.
    pub fn new(signal: &'a Signal<T>) -> Self {
        let was_blocked = signal.block_signals(true);
        SignalBlocker { signal, was_blocked, blocking: true }
    }

    /// Restores the state found at creation now, before the drop (Qt's `unblock`).
    pub fn unblock(&mut self) {
        if self.blocking {
            self.signal.block_signals(self.was_blocked);
            self.blocking = false;
        }
    }

    /// Blocks the signal again after [`unblock`](Self::unblock) (Qt's `reblock`); the drop
    /// still restores the state found at creation.
    pub fn reblock(&mut self) {
        if !self.blocking {
            self.signal.block_signals(true);
            self.blocking = true;
        }
    }
}

impl<T: 'static> Drop for SignalBlocker<'_, T> {
    fn drop(&mut self) {
        self.unblock();
    }
}

impl<T: 'static> fmt::Debug for SignalBlocker<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalBlocker")
            .field("blocking", &self.blocking)
            .field("was_blocked", &self.was_blocked)
            .finish()
    }
}
