//! A connected slot ([`Slot`]): its closure, how it is called, and its state.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Weak;

use crate::connection::Link;

/// How a slot is called: at once, or later with a clone of the value.
#[derive(Clone, Copy)]
pub(crate) enum Mode<T> {
    Direct,
    Queued(fn(&T) -> T),
}

/// What a slot needs of its signal.
pub(super) trait Owner {
    /// The slot left the list (disconnected, or its single-shot call is scheduled).
    fn remove(&self);
}

/// A boxed slot closure.
pub(super) type SlotFn<T> = Box<dyn FnMut(&T)>;
/// A boxed re-entrant slot closure.
pub(super) type SharedFn<T> = Box<dyn Fn(&T)>;

/// [`Slot::state`] bit: the slot is connected.
pub(super) const ACTIVE: u8 = 1;
/// [`Slot::state`] bit: direct and not single-shot, the common case, called straight from
/// the hot loop.
pub(super) const PLAIN: u8 = 2;

/// How many times a slot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shots {
    /// Until disconnected.
    Every,
    /// Once: disconnected when the signal is next emitted.
    Once,
}

pub(super) struct Slot<T: 'static> {
    /// [`ACTIVE`] and [`PLAIN`], in one byte so the hot loop tests both with one load.
    pub(super) state: Cell<u8>,
    pub(super) shots: Shots,
    /// A single-shot queued slot has been scheduled.
    pub(super) fired: Cell<bool>,
    pub(super) mode: Mode<T>,
    pub(super) func: RefCell<SlotFn<T>>,
    /// A re-entrant slot ([`Signal::connect_reentrant`]): called without the `func` borrow,
    /// so a nested loop or a recursive emission can call it again while it runs (its
    /// `func` is then a no-op, which costs no allocation). A field beside `func` rather
    /// than an enum with it: such a slot is never [`PLAIN`], so the hot loop calls `func`
    /// without testing which kind it holds (docs/BENCHMARKS.md, "Design decisions
    /// measured").
    pub(super) shared: Option<SharedFn<T>>,
    /// The signal, to take the slot out of its list on disconnect (type-erased: a slot
    /// knows nothing of the signal but this).
    pub(super) signal: Weak<dyn Owner>,
    /// The receiver of a receiver-bound slot ([`Signal::connect_to`]), for
    /// [`Connection::is_connected`] and [`Signal::receivers`]; the hot loop never reads it
    /// (the slot's closure checks its own typed `Weak`).
    pub(super) receiver: Option<Weak<dyn Any>>,
}

impl<T: 'static> Slot<T> {
    #[inline]
    pub(super) fn is_active(&self) -> bool {
        self.state.get() & ACTIVE != 0
    }

    /// Whether the slot belongs in its signal's list: connected, and not a single-shot queued
    /// slot whose call is already scheduled.
    #[inline]
    pub(super) fn is_listed(&self) -> bool {
        self.is_active() && !self.fired.get()
    }

    /// False once the receiver of a receiver-bound slot is gone.
    pub(super) fn receiver_alive(&self) -> bool {
        self.receiver.as_ref().is_none_or(|r| r.strong_count() > 0)
    }

    /// Marks the slot disconnected; returns whether it was connected.
    #[inline]
    pub(super) fn deactivate(&self) -> bool {
        let state = self.state.get();
        self.state.set(state & !ACTIVE);
        state & ACTIVE != 0
    }

    #[inline]
    pub(super) fn call(&self, value: &T) {
        // A slot that is running (it emitted its own signal recursively) is not re-entered:
        // an `FnMut` cannot be called while it is already being called.
        match self.func.try_borrow_mut() {
            Ok(mut f) => f(value),
            Err(_) => skipped_reentrant(),
        }
    }
}

#[cold]
pub(super) fn skipped_reentrant() {
    log::trace!("slot skipped: it is already running (recursive emission)");
}

impl<T: 'static> Link for Slot<T> {
    fn disconnect(&self) -> bool {
        if !self.deactivate() {
            return false;
        }
        if let Some(signal) = self.signal.upgrade() {
            signal.remove();
        }
        // A slot whose receiver is gone was already disconnected, as far as the caller can
        // tell; it is taken out all the same, freeing its closure now.
        self.receiver_alive()
    }

    fn is_connected(&self) -> bool {
        self.is_active() && self.receiver_alive()
    }
}

/// Called by a receiver-bound slot that found its receiver gone: disconnects the slot, whose
/// closure is dropped once no emission or queued call holds it any more.
#[cold]
#[inline(never)]
pub(super) fn receiver_gone<T: 'static>(slot: &Weak<Slot<T>>) {
    if let Some(slot) = slot.upgrade() {
        log::trace!("slot disconnected: its receiver is gone");
        slot.disconnect();
    }
}
