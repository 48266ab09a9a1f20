//! Cross-thread calls with results ([`LoopHandle::invoke_blocking`], Qt's
//! `BlockingQueuedConnection`, and [`LoopHandle::invoke_async`], Qt's
//! `QMetaObject::invokeMethod` with a return value).

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender};

use crate::dispatcher::ExecExit;
use crate::error::{Error, panic_message};
use crate::event_loop::LoopHandle;

/// Runs `f`, turning a panic into [`Error::CallPanicked`].
pub(crate) fn run_caught<R>(f: impl FnOnce() -> R) -> Result<R, Error> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| Error::CallPanicked(panic_message(&*payload)))
}

/// [`BlockingCall::state`]: posted, not yet started.
const QUEUED: u8 = 0;
/// Started: the result will come.
const RUNNING: u8 = 1;
/// Given up (the loop exited, the caller timed out, or the task was dropped unrun).
const ABANDONED: u8 = 2;

/// One blocking call in flight: whoever moves it out of [`QUEUED`] first decides its fate.
struct BlockingCall<R> {
    state: AtomicU8,
    /// Capacity 1: exactly one outcome is ever sent.
    tx: Sender<Result<R, Error>>,
}

impl<R> BlockingCall<R> {
    fn claim(&self, to: u8) -> bool {
        self.state.compare_exchange(QUEUED, to, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    fn abandon(&self, why: Error) {
        if self.claim(ABANDONED) {
            let _ = self.tx.try_send(Err(why));
        }
    }
}

impl<R: Send> ExecExit for BlockingCall<R> {
    fn exec_exited(&self) {
        self.abandon(Error::LoopExited);
    }
}

/// Held by the posted task: if the task is dropped without running (its thread died with
/// the call queued), the caller hears [`Error::LoopGone`] instead of waiting forever.
struct Unrun<R: Send>(Arc<BlockingCall<R>>);

impl<R: Send> Drop for Unrun<R> {
    fn drop(&mut self) {
        self.0.abandon(Error::LoopGone);
    }
}

impl LoopHandle {
    /// Runs `f` on the loop's thread and blocks until it returns its result (Qt's
    /// `Qt::BlockingQueuedConnection`, `QMetaObject::invokeMethod(…, BlockingQueuedConnection,
    /// Q_RETURN_ARG(…))`).
    ///
    /// Called for the current thread's own loop it runs `f` at once, instead of
    /// deadlocking as Qt does. Otherwise `f` is posted like [`post`](Self::post) and runs
    /// in the order of posts; the caller sleeps meanwhile (it runs no events of its own).
    ///
    /// It never waits for a loop that will not come back: if the loop's thread is gone, or
    /// ends with `f` still queued, the call fails with [`Error::LoopGone`]; if the loop's
    /// outermost `exec` returns with `f` still queued, `f` is dropped unrun and the call
    /// fails with [`Error::LoopExited`]. (A loop that is not inside `exec` at all, on a
    /// thread that runs rounds by hand with `process_events` or `SignalSpy::wait`, runs `f`
    /// at its next round: until then the call waits. Bound it with
    /// [`invoke_blocking_timeout`](Self::invoke_blocking_timeout).)
    ///
    /// Two threads each blocking on the other's loop deadlock, as in Qt; so does a thread
    /// blocking on a loop whose thread is waiting for it ([`Thread::wait`]).
    ///
    /// [`Thread::wait`]: crate::Thread::wait
    ///
    /// # Errors
    ///
    /// [`Error::LoopGone`], [`Error::LoopExited`] as above; [`Error::CallPanicked`] with
    /// the message if `f` panicked. The panic is caught on the loop's thread (and here, for
    /// the inline call), so it does not end that loop: it is the caller's call that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::{LoopHandle, Thread};
    ///
    /// let worker = Thread::start().unwrap();
    /// let (id, sum) = worker
    ///     .handle()
    ///     .invoke_blocking(|| (std::thread::current().id(), (1..=10).sum::<u32>()))
    ///     .unwrap();
    /// assert_ne!(id, std::thread::current().id());
    /// assert_eq!(sum, 55);
    ///
    /// // On the current thread's own loop it runs at once.
    /// assert_eq!(LoopHandle::current().invoke_blocking(|| 6 * 7).unwrap(), 42);
    /// ```
    #[doc(alias = "BlockingQueuedConnection")]
    #[doc(alias = "invokeMethod")]
    #[doc(alias = "QMetaObject::invokeMethod")]
    pub fn invoke_blocking<R, F>(&self, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.invoke_blocking_until(f, None)
    }

    /// [`invoke_blocking`](Self::invoke_blocking), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// As `invoke_blocking`, and [`Error::InvokeTimedOut`] if `f` has not returned after
    /// `timeout`. If it had not started, it never will; if it is running, it runs to its
    /// end and its result is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{Error, LoopHandle};
    ///
    /// // A loop nobody runs: the call is abandoned after the timeout.
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let idle = std::thread::spawn(move || {
    ///     tx.send(LoopHandle::current()).unwrap();
    ///     std::thread::park_timeout(Duration::from_secs(5));
    /// });
    /// let handle = rx.recv().unwrap();
    /// let result = handle.invoke_blocking_timeout(Duration::from_millis(20), || 1);
    /// assert!(matches!(result, Err(Error::InvokeTimedOut)));
    /// idle.thread().unpark();
    /// idle.join().unwrap();
    /// ```
    pub fn invoke_blocking_timeout<R, F>(&self, timeout: Duration, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // A timeout too large for the clock means "no timeout".
        self.invoke_blocking_until(f, Instant::now().checked_add(timeout))
    }

    fn invoke_blocking_until<R, F>(&self, f: F, deadline: Option<Instant>) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        if self.is_current() {
            return run_caught(f);
        }
        let (tx, rx) = crossbeam_channel::bounded::<Result<R, Error>>(1);
        let call = Arc::new(BlockingCall { state: AtomicU8::new(QUEUED), tx });
        let watcher: Weak<dyn ExecExit> = Arc::downgrade(&call) as Weak<BlockingCall<R>>;
        // Watch first: an exit between the watch and the post abandons the call, which is
        // then skipped when it runs.
        self.shared().watch_exec_exit(watcher);
        let unrun = Unrun(call.clone());
        let task = move || {
            let call = unrun.0.clone();
            if call.claim(RUNNING) {
                let result = run_caught(f);
                let _ = call.tx.try_send(result);
            }
            drop(unrun);
        };
        if let Err(e) = self.post(task) {
            // Dropping the task (and its `Unrun`) abandons the call; report it plainly.
            drop(e);
            return Err(Error::LoopGone);
        }
        log::trace!("blocking call posted to {self:?}");
        let outcome = match deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(deadline) => rx.recv_deadline(deadline),
        };
        match outcome {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => {
                call.abandon(Error::InvokeTimedOut);
                // The outcome that beat the timeout, if one did; else the timeout's.
                rx.try_recv().unwrap_or(Err(Error::InvokeTimedOut))
            }
            // Never: `call` holds a sender.
            Err(RecvTimeoutError::Disconnected) => Err(Error::LoopGone),
        }
    }

    /// Runs `f` on the loop's thread without waiting for it; `on_done` gets its result on
    /// the *calling* thread's loop, during a later round (Qt's `QMetaObject::invokeMethod`
    /// with a return value, made asynchronous: the closure-and-callback form of
    /// `QFuture::then`).
    ///
    /// `on_done` is called exactly once, never inside this call, with `Ok(result)`, or
    /// [`Error::CallPanicked`] if `f` panicked (the panic is caught on the loop's thread,
    /// which goes on), or [`Error::LoopGone`] if the loop's thread was gone or ended
    /// without running `f`. It needs not be `Send`: it stays on this thread and may hold
    /// `Rc` state. A loop whose `exec` returned with `f` still queued runs it at its next
    /// round; a [`Thread`](crate::Thread) runs it before it ends.
    ///
    /// The calling thread's loop is created if it does not exist; `on_done` runs when it
    /// runs ([`exec`](crate::CoreApplication::exec), [`SignalSpy::wait`](crate::SignalSpy::wait),
    /// [`process_events`](crate::EventLoop::process_events)). If the calling thread ends
    /// first, the result is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use std::time::Duration;
    /// use cute_core::{EventLoop, Thread};
    ///
    /// let worker = Thread::start().unwrap();
    /// let event_loop = EventLoop::new();
    /// let answer = Rc::new(Cell::new(0)); // not Send: stays on this thread
    /// let (a, l) = (answer.clone(), event_loop.clone());
    /// worker.handle().invoke_async(
    ///     || 6 * 7, // runs on the worker
    ///     move |result| {
    ///         a.set(result.unwrap()); // runs here, on this thread's loop
    ///         l.quit();
    ///     },
    /// );
    /// assert_eq!(event_loop.exec(), 0);
    /// assert_eq!(answer.get(), 42);
    /// ```
    #[doc(alias = "invokeMethod")]
    #[doc(alias = "QMetaObject::invokeMethod")]
    pub fn invoke_async<R, F, D>(&self, f: F, on_done: D)
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
        D: FnOnce(Result<R, Error>) + 'static,
    {
        let reply = Reply::<R>::register(on_done);
        let task = move || {
            // The whole reply moves in (not just its field): dropped unrun, it reports.
            let mut reply = reply;
            reply.result = Some(run_caught(f));
        };
        if let Err(e) = self.post(task) {
            log::debug!("invoke_async: the target loop is gone");
            drop(e); // the reply in it reports `LoopGone` on this thread's loop
        }
    }
}

thread_local! {
    /// The `on_done` callbacks of this thread's asynchronous calls in flight, by call id,
    /// each a `Box<dyn FnOnce(Result<R, Error>)>` for its `R`.
    static CALLBACKS: RefCell<HashMap<u64, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

static NEXT_CALL: AtomicU64 = AtomicU64::new(1);

/// The way back of an asynchronous call: dropped on the target thread after the call ran
/// (or dropped unrun), it posts the outcome to the caller's loop.
struct Reply<R: Send + 'static> {
    caller: LoopHandle,
    id: u64,
    result: Option<Result<R, Error>>,
}

impl<R: Send + 'static> Reply<R> {
    /// Keeps `on_done` on this thread until the outcome of call `id` comes back.
    fn register(on_done: impl FnOnce(Result<R, Error>) + 'static) -> Self {
        let id = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
        let callback: Box<dyn FnOnce(Result<R, Error>)> = Box::new(on_done);
        CALLBACKS.with(|c| c.borrow_mut().insert(id, Box::new(callback)));
        Reply { caller: LoopHandle::current(), id, result: None }
    }
}

impl<R: Send + 'static> Drop for Reply<R> {
    fn drop(&mut self) {
        let result = self.result.take().unwrap_or(Err(Error::LoopGone));
        let id = self.id;
        if self.caller.post(move || deliver(id, result)).is_err() {
            log::debug!("invoke_async: the caller's loop is gone; result dropped");
        }
    }
}

/// On the caller's thread: hands the outcome of call `id` to its callback.
fn deliver<R: 'static>(id: u64, result: Result<R, Error>) {
    let callback = CALLBACKS.with(|c| c.borrow_mut().remove(&id));
    match callback.map(|c| c.downcast::<Box<dyn FnOnce(Result<R, Error>)>>()) {
        Some(Ok(callback)) => callback(result),
        Some(Err(_)) => debug_assert!(false, "a callback is taken as the type it was stored as"),
        None => log::debug!("invoke_async: no callback for call {id}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::EventLoop;

    /// The abandon path exactly: the call is in the channel when `exec` returns.
    #[test]
    fn a_call_queued_when_the_outermost_exec_returns_is_abandoned_and_never_runs() {
        let (handle_tx, handle_rx) = crossbeam_channel::bounded(1);
        let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
        let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
        let target = std::thread::spawn(move || {
            handle_tx.send(LoopHandle::current()).unwrap();
            go_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            // Asked to exit before it starts: `exec` returns without running anything.
            LoopHandle::current().exit(1).unwrap();
            assert_eq!(EventLoop::new().exec(), 1);
            // The loop still exists; the call is skipped when a later round meets it.
            done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            EventLoop::process_events(Duration::ZERO);
        });
        let handle: LoopHandle = handle_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        std::thread::scope(|scope| {
            let (h, r) = (handle.clone(), ran.clone());
            let caller = scope.spawn(move || h.invoke_blocking(move || r.store(true, Ordering::SeqCst)));
            let deadline = Instant::now() + Duration::from_secs(10);
            while handle.shared().queued() == 0 {
                assert!(Instant::now() < deadline, "the call was never posted");
                std::thread::yield_now();
            }
            go_tx.send(()).unwrap();
            assert!(matches!(caller.join().unwrap(), Err(Error::LoopExited)));
        });
        done_tx.send(()).unwrap();
        target.join().unwrap();
        assert!(!ran.load(Ordering::SeqCst));
    }
}
