//! Async tasks on the thread's event loop ([`spawn_local`], [`JoinHandle`]).
//!
//! A task is a boxed `!Send` future kept in a thread-local registry of the loop's thread;
//! its waker is a small `Send + Sync` header naming the task's slot there and its loop.
//! Waking the task queues one poll on its loop: a same-thread event from the loop's own
//! thread, a message through the loop's channel from any other. The header's state makes
//! a task woken many times before it runs poll once, and a task woken while it is being
//! polled poll again after.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;

use slab::Slab;

use crate::dispatcher::{self, Message, Shared};
use crate::error::{Error, panic_message};

/// [`Header::state`]: not queued, not running; a wake queues a poll.
const IDLE: u8 = 0;
/// A poll is queued; further wakes do nothing (they are coalesced).
const SCHEDULED: u8 = 1;
/// Being polled, not woken since the poll began.
const RUNNING: u8 = 2;
/// Being polled and woken meanwhile: polled again once this poll returns.
const NOTIFIED: u8 = 3;
/// Finished, aborted or dropped: wakes do nothing.
const DONE: u8 = 4;

/// The `Send + Sync` half of a task, which its wakers hold.
struct Header {
    /// The task's slot in its thread's registry.
    key: usize,
    state: AtomicU8,
    thread: ThreadId,
    /// The task's loop; a wake after it is gone does nothing.
    shared: Weak<Shared>,
}

impl Wake for Header {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(SeqCst);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return, // already queued, already notified, or done
            };
            match self.state.compare_exchange_weak(state, next, SeqCst, SeqCst) {
                Ok(_) => {
                    if next == SCHEDULED {
                        schedule(self);
                    }
                    return;
                }
                Err(actual) => state = actual,
            }
        }
    }
}

/// Queues a poll of the task on its loop: a same-thread event on the loop's own thread, a
/// message from any other. If the loop is gone, the task is never polled again.
fn schedule(header: &Arc<Header>) {
    let task = header.clone();
    if header.thread == std::thread::current().id() {
        match dispatcher::existing() {
            Some(core) if std::ptr::eq(Arc::as_ptr(core.shared()), header.shared.as_ptr()) => {
                core.post_local(Box::new(move || run(task)));
            }
            _ => log::trace!("task not polled: its event loop is gone"),
        }
        return;
    }
    let sent = header
        .shared
        .upgrade()
        .is_some_and(|shared| shared.send(Message::Call(Box::new(move || run(task)))).is_ok());
    if !sent {
        log::trace!("task not polled: its event loop is gone");
    }
}

/// A task's future, boxed and type-erased (it reports its output itself).
type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Where a task's end goes when it does not complete (aborted, panicked, dropped).
trait Fail {
    fn fail(&self, error: Error);
}

/// A task in its thread's registry.
struct Entry {
    header: Arc<Header>,
    /// `None` while the task is being polled.
    future: Option<LocalFuture>,
    /// Aborted while it was being polled: dropped when the poll returns.
    aborted: bool,
    join: Rc<dyn Fail>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        // Dropped before it ended: the thread is ending with the task pending. (Does
        // nothing when the task completed, was aborted or panicked: that was reported.)
        self.header.state.store(DONE, SeqCst);
        self.join.fail(Error::LoopGone);
    }
}

thread_local! {
    /// The thread's tasks. Their futures are polled with no borrow of this held, so a task
    /// may spawn, abort and run nested loops.
    static TASKS: RefCell<Slab<Entry>> = const { RefCell::new(Slab::new()) };
}

/// Takes the task's entry out of the registry (to drop it once no borrow is held).
fn remove_entry(header: &Arc<Header>) -> Option<Entry> {
    TASKS
        .try_with(|tasks| {
            let mut tasks = tasks.borrow_mut();
            let ours = tasks.get(header.key).is_some_and(|e| Arc::ptr_eq(&e.header, header));
            if ours { tasks.try_remove(header.key) } else { None }
        })
        .ok()
        .flatten()
}

/// Polls the task once (a queued poll, run on the task's loop).
fn run(header: Arc<Header>) {
    if header.state.compare_exchange(SCHEDULED, RUNNING, SeqCst, SeqCst).is_err() {
        return; // aborted since the poll was queued
    }
    let taken = TASKS
        .try_with(|tasks| {
            let mut tasks = tasks.borrow_mut();
            let entry = tasks.get_mut(header.key).filter(|e| Arc::ptr_eq(&e.header, &header))?;
            entry.future.take()
        })
        .ok()
        .flatten();
    let Some(mut future) = taken else {
        header.state.store(DONE, SeqCst);
        return;
    };
    let waker = Waker::from(header.clone());
    let mut cx = Context::from_waker(&waker);
    match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
        Ok(Poll::Pending) => {
            let mut future = Some(future);
            let aborted = TASKS
                .try_with(|tasks| {
                    let mut tasks = tasks.borrow_mut();
                    let entry = tasks.get_mut(header.key).filter(|e| Arc::ptr_eq(&e.header, &header))?;
                    if entry.aborted {
                        return tasks.try_remove(header.key);
                    }
                    entry.future = future.take();
                    None
                })
                .ok()
                .flatten();
            if future.is_some() || aborted.is_some() {
                // Aborted while it was being polled (or its registry is gone).
                header.state.store(DONE, SeqCst);
                drop(future);
                drop(aborted);
                return;
            }
            if header.state.compare_exchange(RUNNING, IDLE, SeqCst, SeqCst).is_err() {
                // Woken while it was being polled: poll it again.
                header.state.store(SCHEDULED, SeqCst);
                schedule(&header);
            }
        }
        Ok(Poll::Ready(())) => {
            header.state.store(DONE, SeqCst);
            drop(future);
            drop(remove_entry(&header));
        }
        Err(payload) => {
            // The panic propagates, as a slot's does; the handle hears of it.
            header.state.store(DONE, SeqCst);
            let entry = remove_entry(&header);
            if let Some(entry) = &entry {
                entry.join.fail(Error::CallPanicked(panic_message(&*payload)));
            }
            drop(future);
            drop(entry);
            resume_unwind(payload);
        }
    }
}

/// The output of a task, shared by the task and its [`JoinHandle`].
struct JoinState<T> {
    inner: RefCell<JoinInner<T>>,
}

struct JoinInner<T> {
    result: Option<Result<T, Error>>,
    /// The task ended (its result may have been taken since).
    ended: bool,
    waker: Option<Waker>,
}

impl<T> JoinState<T> {
    fn new() -> Self {
        JoinState { inner: RefCell::new(JoinInner { result: None, ended: false, waker: None }) }
    }

    /// Records how the task ended, the first time only, and wakes whoever awaits it.
    fn set(&self, result: Result<T, Error>) {
        let waker = {
            let mut inner = self.inner.borrow_mut();
            if inner.ended {
                return;
            }
            inner.ended = true;
            inner.result = Some(result);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn ended(&self) -> bool {
        self.inner.borrow().ended
    }
}

impl<T> Fail for JoinState<T> {
    fn fail(&self, error: Error) {
        self.set(Err(error));
    }
}

/// Runs `future` as a task on the current thread's event loop; returns a handle that is a
/// future for its output (tokio's `spawn_local`, qasync's `ensure_future`).
///
/// The future needs not be `Send`: it stays on this thread and may hold `Rc` state, signals
/// and timers. It is first polled on a later round of the loop, after the events already
/// queued (so tasks spawned one after another start in that order), and again each time
/// it is woken; it makes progress while the thread runs its loop
/// ([`CoreApplication::exec`](crate::CoreApplication::exec), [`EventLoop::exec`](crate::EventLoop::exec),
/// [`block_on`](crate::block_on), [`SignalSpy::wait`](crate::SignalSpy::wait) …).
///
/// The task's waker is `Send + Sync`: waking it from another thread (a channel, another
/// runtime's I/O) posts the poll to this loop. A task woken several times before it runs is
/// polled once. Dropping the [`JoinHandle`] detaches the task (it keeps running);
/// [`JoinHandle::abort`] drops it.
///
/// A task that panics propagates the panic out of the loop, as a slot does (its handle
/// resolves to [`Error::CallPanicked`]). A task whose loop is gone is never polled again:
/// it is dropped when its thread ends, and its handle resolves to [`Error::LoopGone`].
///
/// # Panics
///
/// If the operating system refuses to create the thread's poller, or if called while the
/// thread is being torn down.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{Signal, block_on, sleep, spawn_local};
///
/// let ready = std::rc::Rc::new(Signal::<u32>::new()); // not Send: fine in a local task
/// let next = ready.next(); // the next emission, as a future
/// let task = spawn_local(async move { next.await.unwrap() * 2 });
/// let r = ready.clone();
/// spawn_local(async move {
///     sleep(Duration::from_millis(5)).await;
///     r.emit(&21);
/// });
/// assert_eq!(block_on(task).unwrap(), 42);
/// ```
#[doc(alias = "ensure_future")]
#[doc(alias = "create_task")]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let core = dispatcher::current();
    let join = Rc::new(JoinState::new());
    let output = join.clone();
    let future: LocalFuture = Box::pin(async move {
        let value = future.await;
        output.set(Ok(value));
    });
    let header = TASKS.with(|tasks| {
        let mut tasks = tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let header = Arc::new(Header {
            key: entry.key(),
            state: AtomicU8::new(SCHEDULED),
            thread: std::thread::current().id(),
            shared: Arc::downgrade(core.shared()),
        });
        let join: Rc<dyn Fail> = join.clone();
        entry.insert(Entry { header: header.clone(), future: Some(future), aborted: false, join });
        header
    });
    let task = header.clone();
    core.post_local(Box::new(move || run(task)));
    log::trace!("task {} spawned", header.key);
    JoinHandle { header, join }
}

/// A handle to a task of [`spawn_local`]: a future for its output, and
/// [`abort`](Self::abort).
///
/// Awaiting it gives `Ok(output)`, or [`Error::Aborted`] if the task was aborted,
/// [`Error::CallPanicked`] if it panicked, [`Error::LoopGone`] if its thread ended with the
/// task pending. Dropping the handle detaches the task: it runs on, and its output is
/// dropped.
///
/// # Threading
///
/// `!Send`: it belongs to the thread of its task. (The task's *waker* is `Send + Sync`.)
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{Error, block_on, sleep, spawn_local};
///
/// let forever = spawn_local(async { sleep(Duration::from_secs(3600)).await });
/// forever.abort(); // dropped now: its timer is cancelled
/// assert!(matches!(block_on(forever), Err(Error::Aborted)));
/// ```
#[doc(alias = "Task")]
pub struct JoinHandle<T> {
    header: Arc<Header>,
    join: Rc<JoinState<T>>,
}

impl<T> JoinHandle<T> {
    /// Aborts the task: its future is dropped now (or, if the task itself or a nested loop
    /// inside it calls this, as soon as its current poll returns), and the handle resolves
    /// to [`Error::Aborted`]. Does nothing if the task has already ended; its output is
    /// still there.
    pub fn abort(&self) {
        if self.join.ended() {
            return;
        }
        self.join.set(Err(Error::Aborted));
        let header = &self.header;
        let removed = TASKS
            .try_with(|tasks| {
                let mut tasks = tasks.borrow_mut();
                let entry = tasks.get_mut(header.key).filter(|e| Arc::ptr_eq(&e.header, header))?;
                if entry.future.is_none() {
                    entry.aborted = true; // being polled: dropped when the poll returns
                    return None;
                }
                tasks.try_remove(header.key)
            })
            .ok()
            .flatten();
        if removed.is_some() {
            header.state.store(DONE, SeqCst);
        }
        log::trace!("task {} aborted", header.key);
        drop(removed);
    }

    /// Whether the task has ended: completed, aborted, panicked or dropped with its loop.
    pub fn is_finished(&self) -> bool {
        self.join.ended()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, Error>;

    /// # Panics
    ///
    /// If polled again after it returned its output.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.join.inner.borrow_mut();
        if let Some(result) = inner.result.take() {
            return Poll::Ready(result);
        }
        assert!(!inner.ended, "JoinHandle polled after it returned the task's output");
        if !inner.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            inner.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.header.key)
            .field("finished", &self.is_finished())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn the_waker_half_is_send_and_sync() {
        send_sync::<Header>();
    }
}
