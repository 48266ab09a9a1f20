//! The time the loop reads (private plumbing): the real clock, or the current thread's
//! fake one ([`FakeClock`](crate::testing::FakeClock)).
//!
//! Deadlines are `Instant`s either way. A fake clock is an `Instant` that moves only when
//! told to, kept in a thread-local `Cell`: with none installed, [`now`] costs one
//! thread-local read more than `Instant::now()`.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// A fake clock's state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fake {
    /// The fake time.
    pub(crate) now: Instant,
    /// Whether an idle loop lets fake time pass (jumps to the next deadline).
    pub(crate) auto_advance: bool,
}

thread_local! {
    static FAKE: Cell<Option<Fake>> = const { Cell::new(None) };
}

/// The current thread's fake clock, if one is installed.
#[inline]
pub(crate) fn fake() -> Option<Fake> {
    FAKE.try_with(Cell::get).ok().flatten()
}

/// The time timers are measured on: the fake clock's if one is installed, else the real one.
#[inline]
pub(crate) fn now() -> Instant {
    match fake() {
        Some(fake) => fake.now,
        None => Instant::now(),
    }
}

/// The time a wait's timeout is measured on: the fake clock's if one is installed and lets
/// time pass by itself, else the real one (a frozen clock's waits last real time).
#[inline]
pub(crate) fn wait_now() -> Instant {
    match fake() {
        Some(fake) if fake.auto_advance => fake.now,
        _ => Instant::now(),
    }
}

/// Installs (`Some`) or removes (`None`) the current thread's fake clock; returns the one
/// it replaces.
pub(crate) fn set_fake(fake: Option<Fake>) -> Option<Fake> {
    FAKE.try_with(|cell| cell.replace(fake)).ok().flatten()
}

/// Moves the installed fake clock forward by `by` (saturating at the clock's end); does
/// nothing without one.
pub(crate) fn advance(by: Duration) {
    let _ = FAKE.try_with(|cell| {
        if let Some(mut fake) = cell.get() {
            fake.now = fake.now.checked_add(by).unwrap_or(fake.now);
            cell.set(Some(fake));
        }
    });
}
