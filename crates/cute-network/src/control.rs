//! What the loop and a worker share about one reply (private plumbing): the abort switch,
//! the connection to cut on abort, and the byte budget of the worker→loop hand-off.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use ureq::unversioned::transport::ShutdownHandle;

/// Bytes a worker may have handed to the loop and not yet had consumed.
pub(crate) const HANDOFF_LIMIT: u64 = 1024 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) struct Control {
    aborted: AtomicBool,
    /// The connection the request is using right now (registered by the transport).
    connection: Mutex<Option<Weak<dyn ShutdownHandle>>>,
    /// Bytes handed to the loop and not yet released by it, and whether the worker waits.
    in_flight: Mutex<(u64, bool)>,
    space: Condvar,
}

impl Control {
    pub(crate) fn new() -> Self {
        Control {
            aborted: AtomicBool::new(false),
            connection: Mutex::new(None),
            in_flight: Mutex::new((0, false)),
            space: Condvar::new(),
        }
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// Stops the transfer: later I/O fails, a blocked read or write on the registered
    /// connection returns at once, and a worker waiting for budget wakes up.
    pub(crate) fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
        let connection = lock(&self.connection).take();
        if let Some(conn) = connection.and_then(|w| w.upgrade()) {
            conn.shutdown();
        }
        let _guard = lock(&self.in_flight);
        self.space.notify_all();
    }

    /// Records the connection in use. Returns false if the request was aborted meanwhile
    /// (the caller must then fail its I/O).
    pub(crate) fn register(&self, connection: Weak<dyn ShutdownHandle>) -> bool {
        *lock(&self.connection) = Some(connection);
        !self.is_aborted()
    }

    /// Waits until `n` more bytes fit in the hand-off (always admitted when nothing is in
    /// flight, so one large chunk cannot deadlock). Returns false if aborted.
    pub(crate) fn acquire(&self, n: u64) -> bool {
        let mut state = lock(&self.in_flight);
        while state.0 > 0 && state.0 + n > HANDOFF_LIMIT && !self.is_aborted() {
            state.1 = true;
            state = self
                .space
                .wait_timeout(state, Duration::from_millis(200))
                .map(|r| r.0)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        state.1 = false;
        state.0 += n;
        !self.is_aborted()
    }

    /// The loop consumed `n` bytes; wakes the worker only if it is waiting.
    pub(crate) fn release(&self, n: u64) {
        let mut state = lock(&self.in_flight);
        state.0 = state.0.saturating_sub(n);
        if state.1 {
            self.space.notify_all();
        }
    }
}
