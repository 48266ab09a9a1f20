//! What the loop and a worker share about one reply (private plumbing): the abort switch,
//! the connection to cut on abort, and the byte budget of the worker→loop hand-off.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use ureq::unversioned::transport::ShutdownHandle;

/// Bytes a worker may have handed to the loop and not yet had consumed.
pub(crate) const HANDOFF_LIMIT: u64 = 1024 * 1024;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Who is using a connection, and whether that request is inside a read or write on it.
/// Pooled connections move between requests (a 401 or a 302 with an empty body goes back
/// to the pool while its request carries on), so an abort may only cut a connection its
/// own request is using at that moment.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    pub(crate) owner: u64,
    pub(crate) busy: bool,
}

/// A connection registered with a request by the transport.
pub(crate) struct Connection {
    pub(crate) handle: Weak<dyn ShutdownHandle>,
    pub(crate) usage: Arc<Mutex<Usage>>,
}

pub(crate) struct Control {
    /// The reply's id, as the transport records it in [`Usage::owner`].
    id: u64,
    aborted: AtomicBool,
    /// The connection the request used last (registered by the transport).
    connection: Mutex<Option<Connection>>,
    /// Bytes handed to the loop and not yet released by it, and whether the worker waits.
    in_flight: Mutex<(u64, bool)>,
    space: Condvar,
}

impl Control {
    pub(crate) fn new(id: u64) -> Self {
        Control {
            id,
            aborted: AtomicBool::new(false),
            connection: Mutex::new(None),
            in_flight: Mutex::new((0, false)),
            space: Condvar::new(),
        }
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// Stops the transfer: later I/O fails, a read or write this request is blocked in
    /// returns at once (its connection is shut down), and a worker waiting for budget wakes
    /// up. A connection this request no longer uses is left alone.
    pub(crate) fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
        let connection = lock(&self.connection).take();
        if let Some(connection) = connection {
            // The transport marks itself busy before it checks `aborted`; holding the usage
            // lock here, either it sees the flag, or we see it busy and cut the socket.
            let usage = lock(&connection.usage);
            if usage.owner == self.id
                && usage.busy
                && let Some(handle) = connection.handle.upgrade()
            {
                handle.shutdown();
            }
        }
        let _guard = lock(&self.in_flight);
        self.space.notify_all();
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Records the connection the request is using.
    pub(crate) fn register(&self, connection: Connection) {
        *lock(&self.connection) = Some(connection);
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
