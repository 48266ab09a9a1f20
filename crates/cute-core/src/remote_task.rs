//! Tasks on another thread's loop ([`LoopHandle::spawn`], [`RemoteJoinHandle`]): the task
//! is spawned there with [`spawn_local`]; its output comes back through a shared slot whose
//! waker is the awaiting task's (so it wakes the caller's loop).

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::error::{Error, panic_message};
use crate::event_loop::LoopHandle;
use crate::task::spawn_local;

/// What the caller and the remote task share.
struct RemoteState<T> {
    inner: Mutex<RemoteInner<T>>,
    aborted: AtomicBool,
}

struct RemoteInner<T> {
    result: Option<Result<T, Error>>,
    /// The task ended (its result may have been taken since).
    ended: bool,
    /// Whoever awaits the handle.
    waiter: Option<Waker>,
    /// The remote task's waker, to wake it when it is aborted.
    task: Option<Waker>,
}

impl<T> RemoteState<T> {
    fn lock(&self) -> MutexGuard<'_, RemoteInner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records how the task ended, the first time only, and wakes the waiter.
    fn set(&self, result: Result<T, Error>) {
        let waiter = {
            let mut inner = self.lock();
            if inner.ended {
                return;
            }
            inner.ended = true;
            inner.result = Some(result);
            inner.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

/// Held by the posted closure and then by the task: dropped before the task ended (the
/// loop's thread ended first), it reports [`Error::LoopGone`].
struct Reporter<T>(Arc<RemoteState<T>>);

impl<T> Drop for Reporter<T> {
    fn drop(&mut self) {
        self.0.set(Err(Error::LoopGone));
    }
}

/// The task as it runs on the target loop: stops when aborted, catches a panic.
struct RemoteTask<F: Future> {
    future: Pin<Box<F>>,
    reporter: Reporter<F::Output>,
}

impl<F: Future> Future for RemoteTask<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let state = &this.reporter.0;
        // The waker first, then the flag: `abort` sets the flag, then takes the waker.
        state.lock().task = Some(cx.waker().clone());
        if state.aborted.load(SeqCst) {
            return Poll::Ready(());
        }
        match catch_unwind(AssertUnwindSafe(|| this.future.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => {
                state.set(Ok(value));
                Poll::Ready(())
            }
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                let message = panic_message(&*payload);
                log::debug!("a spawned task panicked (its loop goes on): {message}");
                state.set(Err(Error::CallPanicked(message)));
                Poll::Ready(())
            }
        }
    }
}

impl LoopHandle {
    /// Runs `future` as a task on this handle's loop (the thread it belongs to), and
    /// returns a handle that is a future for its output, to await from any thread's loop.
    ///
    /// The future must be `Send` to get there. One that holds `!Send` state across an
    /// `.await` (an `Rc`, a [`Signal`](crate::Signal), a [`sleep`](crate::sleep)) is made
    /// on the target thread with [`spawn_with`](Self::spawn_with) instead.
    ///
    /// A panic in the task is caught there (the target loop goes on) and reported as
    /// [`Error::CallPanicked`], as [`invoke_async`](Self::invoke_async) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::{Thread, block_on};
    ///
    /// let worker = Thread::start().unwrap();
    /// let handle = worker.handle().spawn(async { std::thread::current().id() });
    /// let id = block_on(handle).unwrap(); // this thread's loop runs meanwhile
    /// assert_ne!(id, std::thread::current().id());
    /// ```
    pub fn spawn<F>(&self, future: F) -> RemoteJoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(move || future)
    }

    /// [`spawn`](Self::spawn) for a future that is not `Send`: `make` (which is) runs on
    /// the target thread and makes it there, so it may hold `Rc` state, signals and timers
    /// of that thread. Only its output crosses back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{Thread, block_on, sleep};
    ///
    /// let worker = Thread::start().unwrap();
    /// let handle = worker.handle().spawn_with(|| async {
    ///     let local = std::rc::Rc::new(20); // not Send: lives on the worker
    ///     sleep(Duration::from_millis(1)).await; // a timer of the worker's loop
    ///     *local + 22
    /// });
    /// assert_eq!(block_on(handle).unwrap(), 42);
    /// ```
    pub fn spawn_with<M, F>(&self, make: M) -> RemoteJoinHandle<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let state = Arc::new(RemoteState {
            inner: Mutex::new(RemoteInner { result: None, ended: false, waiter: None, task: None }),
            aborted: AtomicBool::new(false),
        });
        let reporter = Reporter(state.clone());
        let start = move || match catch_unwind(AssertUnwindSafe(make)) {
            Ok(future) => {
                if !reporter.0.aborted.load(SeqCst) {
                    drop(spawn_local(RemoteTask { future: Box::pin(future), reporter })); // detached
                }
            }
            Err(payload) => reporter.0.set(Err(Error::CallPanicked(panic_message(&*payload)))),
        };
        if let Err(e) = self.post(start) {
            log::debug!("LoopHandle::spawn: the target loop is gone");
            drop(e); // its reporter reports it
        }
        RemoteJoinHandle { state }
    }
}

/// A handle to a task of [`LoopHandle::spawn`] running on another thread's loop: a future
/// for its output, and [`abort`](Self::abort).
///
/// Awaiting it gives `Ok(output)`, or [`Error::Aborted`], [`Error::CallPanicked`] (the
/// panic was caught on the task's thread), or [`Error::LoopGone`] (the thread was gone, or
/// ended with the task pending). Dropping the handle detaches the task.
///
/// # Threading
///
/// `Send + Sync` for a `Send` output: await it from any thread's loop (or any executor:
/// its waker is whatever polls it).
///
/// # Examples
///
/// ```
/// use cute_core::{Thread, block_on, spawn_local};
///
/// let worker = Thread::start().unwrap();
/// let squared = worker.handle().spawn(async { 7 * 7 });
/// // Awaited from a task on this thread's loop.
/// let task = spawn_local(async move { squared.await.unwrap() + 1 });
/// assert_eq!(block_on(task).unwrap(), 50);
/// ```
pub struct RemoteJoinHandle<T> {
    state: Arc<RemoteState<T>>,
}

impl<T> RemoteJoinHandle<T> {
    /// Aborts the task: the handle resolves to [`Error::Aborted`] now, and the task is
    /// dropped on its thread at that loop's next round (or never started). Does nothing if
    /// the task has already ended.
    pub fn abort(&self) {
        if self.state.lock().ended {
            return;
        }
        self.state.aborted.store(true, SeqCst);
        self.state.set(Err(Error::Aborted));
        let task = self.state.lock().task.take();
        if let Some(task) = task {
            task.wake();
        }
    }

    /// Whether the task has ended: completed, aborted, panicked or gone with its loop.
    pub fn is_finished(&self) -> bool {
        self.state.lock().ended
    }
}

impl<T> Future for RemoteJoinHandle<T> {
    type Output = Result<T, Error>;

    /// # Panics
    ///
    /// If polled again after it returned the task's output.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.state.lock();
        if let Some(result) = inner.result.take() {
            return Poll::Ready(result);
        }
        assert!(!inner.ended, "RemoteJoinHandle polled after it returned the task's output");
        if !inner.waiter.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            inner.waiter = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for RemoteJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJoinHandle").field("finished", &self.is_finished()).finish()
    }
}
