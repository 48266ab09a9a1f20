//! [`UnixSignals`]: SIGINT, SIGTERM, SIGHUP… delivered as a signal on the loop (the
//! self-pipe recipe Qt's documentation describes, done by signal-hook and registered
//! with the poller).

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::rc::Rc;

use signal_hook_mio::v1_0::Signals;

use crate::Signal;
use crate::io::IoWatcher;

/// Unix signals delivered on the loop (the recipe Qt documents for calling Qt code from a
/// signal handler, done right: a pipe written by the handler and read by the loop).
///
/// While it lives, the signals it was made for no longer have their default effect (a
/// SIGINT no longer ends the process): each arrival emits [`activated`](Self::activated)
/// with the signal's number, on the thread that made it, between the loop's other events.
/// Arrivals close together may be reported once. Dropping it stops the delivery; the
/// process-wide handler stays installed (as signal-hook leaves it), so a later SIGINT is
/// ignored, not fatal, unless another `UnixSignals` or handler takes it.
///
/// # Examples
///
/// `Ctrl-C` quits the application cleanly, so `about_to_quit` runs:
///
/// ```
/// use std::time::Duration;
/// use cute_core::{CoreApplication, Timer, UnixSignals};
///
/// let app = CoreApplication::new();
/// let signals = UnixSignals::new(&[UnixSignals::SIGINT, UnixSignals::SIGTERM]).unwrap();
/// signals.activated().connect(|&signal| {
///     println!("signal {signal}: quitting");
///     CoreApplication::quit();
/// });
/// app.about_to_quit().connect(|()| println!("saving state"));
/// # Timer::single_shot(Duration::ZERO, || { let _ = signal_hook::low_level::raise(UnixSignals::SIGINT); });
/// Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1)); // watchdog
/// assert_eq!(app.exec(), 0);
/// ```
pub struct UnixSignals {
    inner: Rc<Inner>,
    _watcher: IoWatcher,
}

struct Inner {
    /// The pipe's reading end (set once it is registered).
    signals: RefCell<Option<Signals>>,
    activated: Signal<i32>,
}

impl fmt::Debug for UnixSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixSignals").finish_non_exhaustive()
    }
}

impl UnixSignals {
    /// Interrupt from the terminal (`Ctrl-C`).
    pub const SIGINT: i32 = signal_hook::consts::SIGINT;
    /// Termination request (`kill`, a service manager stopping the program).
    pub const SIGTERM: i32 = signal_hook::consts::SIGTERM;
    /// The terminal hung up; daemons take it as "reload the configuration".
    pub const SIGHUP: i32 = signal_hook::consts::SIGHUP;
    /// User-defined signal 1.
    pub const SIGUSR1: i32 = signal_hook::consts::SIGUSR1;
    /// User-defined signal 2.
    pub const SIGUSR2: i32 = signal_hook::consts::SIGUSR2;

    /// Delivers `signals` on the current thread's loop.
    ///
    /// # Errors
    ///
    /// A signal that cannot be handled (SIGKILL, SIGSTOP, SIGSEGV and the like, refused by
    /// signal-hook), or the poller refusing the pipe.
    pub fn new(signals: &[i32]) -> io::Result<UnixSignals> {
        // signal-hook panics on these; a program gets an error instead.
        if let Some(invalid) = signals.iter().find(|s| !(1..=64).contains(*s)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{invalid} is not a signal number"),
            ));
        }
        if let Some(forbidden) = signals.iter().find(|s| signal_hook::consts::FORBIDDEN.contains(s)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "signal {forbidden} cannot be handled (SIGKILL, SIGSTOP and faults never reach a program)"
                ),
            ));
        }
        let mut pipe = Signals::new(signals.iter().copied())?;
        let inner = Rc::new(Inner { signals: RefCell::new(None), activated: Signal::new() });
        let weak = Rc::downgrade(&inner);
        let watcher = IoWatcher::new(&mut pipe, mio::Interest::READABLE, move |_| {
            let Some(inner) = weak.upgrade() else { return };
            // Read them all first: a slot may drop this object.
            let arrived: Vec<i32> =
                inner.signals.borrow_mut().as_mut().map(|s| s.pending().collect()).unwrap_or_default();
            for signal in arrived {
                inner.activated.emit(&signal);
            }
        })?;
        *inner.signals.borrow_mut() = Some(pipe);
        Ok(UnixSignals { inner, _watcher: watcher })
    }

    /// Emitted with the signal's number when one arrives.
    pub fn activated(&self) -> &Signal<i32> {
        &self.inner.activated
    }
}
