//! Waiting for a future on the current thread ([`block_on`]): a nested loop, Qt's
//! `QEventLoop` idiom, that ends when the future is ready.

use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;
use std::time::Duration;

use crate::dispatcher::{self, LoopCore, Message, Shared};

/// The waker of one `block_on`: a flag, and a nudge to the loop so its round returns.
struct Wakeup {
    woken: AtomicBool,
    thread: ThreadId,
    shared: Weak<Shared>,
}

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.woken.swap(true, SeqCst) {
            return; // already woken: the nudge is on its way
        }
        // An empty event: the loop's round sees it and does not sleep (or wakes up). The
        // flag is what `block_on` looks at.
        if self.thread == std::thread::current().id() {
            if let Some(core) = dispatcher::existing()
                && std::ptr::eq(Arc::as_ptr(core.shared()), self.shared.as_ptr())
            {
                core.post_local(Box::new(|| {}));
            }
        } else if let Some(shared) = self.shared.upgrade() {
            let _ = shared.send(Message::Call(Box::new(|| {})));
        }
    }
}

/// Holds a thread-wide exit request that arrived while `block_on` ran, and hands it back to
/// the loop when `block_on` returns (or unwinds).
struct HeldExit<'a> {
    core: &'a LoopCore,
    code: Option<i32>,
}

impl Drop for HeldExit<'_> {
    fn drop(&mut self) {
        if let Some(code) = self.code.take()
            && self.core.exit_requested().is_none()
        {
            self.core.request_exit(code);
        }
    }
}

/// Runs the current thread's event loop until `future` is ready, and returns its output
/// (Qt's nested `QEventLoop` idiom: `loop.exec()` until a slot calls `loop.quit()`,
/// written as a future; asyncio's `run_until_complete`).
///
/// The loop runs whole rounds meanwhile, so timers, queued slots, values from other
/// threads, network replies and tasks of [`spawn_local`](crate::spawn_local) keep flowing.
/// It works anywhere on the thread: at top level, inside a slot, inside a task, and nested
/// inside another `block_on`. Like any nested loop it can run slots re-entrantly; see
/// [`EventLoop`](crate::EventLoop).
///
/// It takes anything that turns into a future (`IntoFuture`), as `.await` does. It
/// returns only when the future is ready: bound the wait with
/// [`timeout`](crate::timeout). A thread-wide exit request
/// ([`CoreApplication::quit`](crate::CoreApplication::quit), [`LoopHandle::exit`](crate::LoopHandle::exit))
/// that arrives meanwhile is held and handed back when `block_on` returns, so the
/// enclosing `exec` (or the next one) returns then. The thread does not spin meanwhile: it
/// sleeps in the loop's poller until something happens.
///
/// # Panics
///
/// If the future or a slot run by the loop panics (the panic propagates; the loop stays
/// usable), or if the thread's loop cannot be created.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{Timer, block_on, sleep, timeout};
///
/// // A future that another part of the program completes (here, a timer's slot).
/// let timer = Timer::new();
/// timer.set_single_shot(true);
/// timer.start_with(Duration::from_millis(5));
/// let fired = timer.timeout().next();
/// assert_eq!(block_on(timeout(Duration::from_secs(10), fired)), Ok(Some(())));
///
/// // Nested inside another `block_on`.
/// let sum = block_on(async {
///     sleep(Duration::from_millis(1)).await;
///     block_on(async { 40 }) + 2
/// });
/// assert_eq!(sum, 42);
/// ```
#[doc(alias = "QEventLoop")]
#[doc(alias = "run_until_complete")]
pub fn block_on<F: IntoFuture>(future: F) -> F::Output {
    let future = future.into_future();
    let core = dispatcher::current();
    let wakeup = Arc::new(Wakeup {
        woken: AtomicBool::new(true), // polled once at the start
        thread: std::thread::current().id(),
        shared: Arc::downgrade(core.shared()),
    });
    let waker = Waker::from(wakeup.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut held = HeldExit { core: &core, code: None };
    loop {
        if wakeup.woken.swap(false, SeqCst)
            && let Poll::Ready(output) = future.as_mut().poll(&mut cx)
        {
            return output;
        }
        // An exit request would make every round busy (and end none of them): hold it.
        if let Some(code) = core.take_exit() {
            held.code = Some(code);
        }
        // Woken during its own poll: run what is ready, without sleeping, and poll again.
        let wait = if wakeup.woken.load(SeqCst) { Some(Duration::ZERO) } else { None };
        core.round(wait);
    }
}
