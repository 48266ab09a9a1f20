//! What the loop and a worker share about one reply (private plumbing): the abort switch,
//! the connection to cut on abort, the byte budget of the worker→loop hand-off, and the
//! slot through which the loop answers a worker's question.
//!
//! A worker blocks in two places only, both here: waiting for hand-off budget
//! ([`Control::acquire`]) and waiting for an answer ([`Control::await_answer`]). Both wake
//! on [`Control::abort`], which is also the only way a reply finishes on the loop while
//! its worker may still be waiting (the other ways wait for the worker's `Finished`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};

use ureq::unversioned::transport::ShutdownHandle;

use crate::protocol::Answer;
use crate::sync::{lock, wait};

/// Bytes a worker may have handed to the loop and not yet had consumed.
pub(crate) const HANDOFF_LIMIT: u64 = 1024 * 1024;

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

/// What the worker may be waiting for, under one lock.
#[derive(Default)]
struct Waits {
    /// Bytes handed to the loop and not yet released by it.
    in_flight: u64,
    /// The worker waits for budget (so a release must wake it).
    wants_budget: bool,
    /// The loop's answer, until the worker takes it.
    answer: Option<Answer>,
}

pub(crate) struct Control {
    /// The reply's id, as the transport records it in [`Usage::owner`].
    id: u64,
    aborted: AtomicBool,
    /// The connection the request used last (registered by the transport).
    connection: Mutex<Option<Connection>>,
    waits: Mutex<Waits>,
    wake: Condvar,
    /// The status code and reason phrase of the last status line read for the request.
    status_line: Mutex<Option<(u16, String)>>,
}

impl Control {
    pub(crate) fn new(id: u64) -> Self {
        Control {
            id,
            aborted: AtomicBool::new(false),
            connection: Mutex::new(None),
            waits: Mutex::default(),
            wake: Condvar::new(),
            status_line: Mutex::new(None),
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// Stops the transfer: later I/O fails, a read or write this request is blocked in
    /// returns at once (its connection is shut down), and a worker waiting for budget or an
    /// answer wakes up. A connection this request no longer uses is left alone.
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
        // Taking the lock orders this after a waiter's check of `aborted`.
        let _waits = lock(&self.waits);
        self.wake.notify_all();
    }

    /// The transport read a status line for this request.
    pub(crate) fn note_status_line(&self, code: u16, reason: &str) {
        let mut line = lock(&self.status_line);
        if !matches!(&*line, Some((c, r)) if *c == code && r == reason) {
            *line = Some((code, reason.to_owned()));
        }
    }

    /// The reason phrase the server sent with status `code` (the last status line read).
    pub(crate) fn reason_for(&self, code: u16) -> Option<String> {
        lock(&self.status_line).as_ref().filter(|(c, _)| *c == code).map(|(_, r)| r.clone())
    }

    /// Records the connection the request is using.
    pub(crate) fn register(&self, connection: Connection) {
        *lock(&self.connection) = Some(connection);
    }

    /// Waits until `n` more bytes fit in the hand-off (always admitted when nothing is in
    /// flight, so one large chunk cannot deadlock). Returns false if aborted.
    pub(crate) fn acquire(&self, n: u64) -> bool {
        let mut waits = lock(&self.waits);
        while waits.in_flight > 0 && waits.in_flight + n > HANDOFF_LIMIT && !self.is_aborted() {
            waits.wants_budget = true;
            waits = wait(&self.wake, waits);
        }
        waits.wants_budget = false;
        waits.in_flight += n;
        !self.is_aborted()
    }

    /// The loop consumed `n` bytes; wakes the worker only if it is waiting for budget.
    pub(crate) fn release(&self, n: u64) {
        let mut waits = lock(&self.waits);
        waits.in_flight = waits.in_flight.saturating_sub(n);
        if waits.wants_budget {
            self.wake.notify_all();
        }
    }

    /// The loop answers the question the worker asked.
    pub(crate) fn answer(&self, answer: Answer) {
        lock(&self.waits).answer = Some(answer);
        self.wake.notify_all();
    }

    /// Waits for the loop's answer to the question just asked; `None` if aborted.
    pub(crate) fn await_answer(&self) -> Option<Answer> {
        let mut waits = lock(&self.waits);
        loop {
            if self.is_aborted() {
                return None;
            }
            if let Some(answer) = waits.answer.take() {
                return Some(answer);
            }
            waits = wait(&self.wake, waits);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn budget_blocks_past_the_limit_until_released_or_aborted() {
        let control = Arc::new(Control::new(1));
        assert!(control.acquire(HANDOFF_LIMIT + 5), "one chunk larger than the limit is admitted alone");
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = {
            let control = control.clone();
            std::thread::spawn(move || tx.send(control.acquire(10)).unwrap())
        };
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err(), "admitted past the limit");
        control.release(HANDOFF_LIMIT + 5);
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(true));
        worker.join().unwrap();

        assert!(control.acquire(HANDOFF_LIMIT - 10));
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = {
            let control = control.clone();
            std::thread::spawn(move || tx.send(control.acquire(100)).unwrap())
        };
        control.abort();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(false), "abort wakes a waiting worker");
        worker.join().unwrap();
    }

    #[test]
    fn answers_reach_the_waiting_worker_and_abort_ends_the_wait() {
        let control = Arc::new(Control::new(1));
        let worker = {
            let control = control.clone();
            std::thread::spawn(move || control.await_answer())
        };
        control.answer(Answer::Redirect { allowed: true });
        assert!(matches!(worker.join().unwrap(), Some(Answer::Redirect { allowed: true })));

        let worker = {
            let control = control.clone();
            std::thread::spawn(move || control.await_answer())
        };
        control.abort();
        assert!(worker.join().unwrap().is_none());
    }
}
