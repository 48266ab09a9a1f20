//! Local event loops ([`EventLoop`]) and the cross-thread [`LoopHandle`].

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::dispatcher::{self, LoopCore, Message, Shared, Task};
use crate::error::PostError;

/// A `Send + Clone` handle to one thread's event loop: post closures to it, ask it to quit.
///
/// Every thread has at most one loop (created on first use); [`CoreApplication`],
/// [`EventLoop`] and [`Thread`] all run it.
///
/// # Threading
///
/// `Send + Sync + Clone`. A handle stays valid after the thread ends: posting then fails
/// with [`PostError`], handing the closure back. Nothing here blocks: a post pushes onto an
/// unbounded channel and wakes the loop only if nobody has since it last looked.
///
/// [`CoreApplication`]: crate::CoreApplication
/// [`Thread`]: crate::Thread
///
/// # Examples
///
/// ```
/// use cute_core::{EventLoop, LoopHandle};
///
/// let handle = LoopHandle::current();
/// let event_loop = EventLoop::new();
/// std::thread::spawn(move || {
///     handle.post(|| println!("runs on the loop's thread")).unwrap();
///     handle.exit(7).unwrap();
/// });
/// assert_eq!(event_loop.exec(), 7);
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle").field("thread", &self.shared.thread()).finish()
    }
}

impl LoopHandle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        LoopHandle { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The handle of the current thread's loop (creating the loop if needed).
    ///
    /// # Panics
    ///
    /// If the operating system refuses to create a poller (file descriptors exhausted).
    pub fn current() -> LoopHandle {
        LoopHandle::from_shared(dispatcher::current().shared().clone())
    }

    /// Whether this is the current thread's loop.
    pub fn is_current(&self) -> bool {
        self.shared.thread() == std::thread::current().id()
    }

    /// Runs `f` on the loop's thread during a later round (Qt's
    /// `QMetaObject::invokeMethod(context, f, Qt::QueuedConnection)`). Closures posted from
    /// one thread run in the order they were posted.
    ///
    /// # Errors
    ///
    /// [`PostError`] holding `f` if the loop's thread has ended.
    #[doc(alias = "invokeMethod")]
    pub fn post<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<(), PostError<F>> {
        self.send_task(f)
    }

    /// Posts a task of any type, handing it back if the loop is gone.
    pub(crate) fn send_task<T: Task + 'static>(&self, task: T) -> Result<(), PostError<T>> {
        match self.shared.send(Message::Call(Box::new(task))) {
            Ok(()) => Ok(()),
            Err(Message::Call(task)) => match Task::into_any(task).downcast::<T>() {
                Ok(task) => Err(PostError(*task)),
                Err(_) => unreachable!("a posted task is handed back as the type it was posted as"),
            },
            Err(_) => unreachable!("send hands back the message it was given"),
        }
    }

    /// Asks every loop running on that thread to return `code` (Qt's `exit`). From the
    /// loop's own thread it takes effect when the current event returns (the events still
    /// queued stay queued); from another thread, when the loop reaches the request. If no
    /// loop is running yet, the next `exec` returns `code` at once (Qt would ignore the
    /// request and hang); a [`process_events`](EventLoop::process_events) or
    /// [`SignalSpy::wait`](crate::SignalSpy::wait) outside every `exec` that meets the
    /// request ends early and spends it instead.
    ///
    /// # Errors
    ///
    /// [`PostError`] with the code if the loop's thread has ended.
    pub fn exit(&self, code: i32) -> Result<(), PostError<i32>> {
        if self.is_current()
            && let Some(core) = dispatcher::existing()
        {
            core.request_exit(code);
            return Ok(());
        }
        self.shared.send(Message::Exit(code)).map_err(|_| PostError(code))
    }

    /// [`exit`](Self::exit) with code 0.
    ///
    /// # Errors
    ///
    /// [`PostError`] if the loop's thread has ended.
    pub fn quit(&self) -> Result<(), PostError<i32>> {
        self.exit(0)
    }
}

/// A local event loop (Qt's `QEventLoop`): run the current thread's loop until
/// [`quit`](Self::quit), for instance to wait for one network reply synchronously.
///
/// Loops nest: an `exec` inside a slot runs events (and further nested loops) until its own
/// `quit`; an application-wide [`exit`](LoopHandle::exit) returns from all of them.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{EventLoop, Timer};
///
/// let event_loop = EventLoop::new();
/// let quitter = event_loop.clone();
/// Timer::single_shot(Duration::from_millis(10), move || quitter.exit(3));
/// assert_eq!(event_loop.exec(), 3);
/// ```
#[doc(alias = "QEventLoop")]
#[derive(Clone)]
pub struct EventLoop {
    core: Rc<LoopCore>,
    exit: Rc<Cell<Option<i32>>>,
    running: Rc<Cell<bool>>,
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop").field("running", &self.running.get()).finish()
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl EventLoop {
    /// A local loop on the current thread. Clones refer to the same loop, so a slot can
    /// hold one to quit it.
    ///
    /// # Panics
    ///
    /// If the operating system refuses to create a poller (file descriptors exhausted).
    pub fn new() -> Self {
        EventLoop { core: dispatcher::current(), exit: Rc::default(), running: Rc::default() }
    }

    /// Runs events until [`quit`](Self::quit)/[`exit`](Self::exit) on this loop, or an
    /// exit of the whole thread; returns the code. Re-entering a loop that is already
    /// running returns `-1` at once (as Qt does).
    pub fn exec(&self) -> i32 {
        if self.running.replace(true) {
            log::warn!("EventLoop::exec: this loop is already running");
            return -1;
        }
        struct Running<'a>(&'a Cell<bool>);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _running = Running(&self.running);
        self.core.exec(Some(&self.exit))
    }

    /// Makes [`exec`](Self::exec) return `code` once the current event returns; the events
    /// still queued stay queued. Called before `exec`, it makes the next `exec` return at
    /// once (Qt would forget it).
    pub fn exit(&self, code: i32) {
        self.exit.set(Some(code));
        self.core.interrupt();
    }

    /// [`exit`](Self::exit) with code 0.
    pub fn quit(&self) {
        self.exit(0);
    }

    /// Whether [`exec`](Self::exec) is running.
    pub fn is_running(&self) -> bool {
        self.running.get()
    }

    /// A handle to post to this thread's loop from other threads.
    pub fn handle(&self) -> LoopHandle {
        LoopHandle::from_shared(self.core.shared().clone())
    }

    /// Runs one round of the current thread's loop (Qt's `processEvents`): waits at most
    /// `max_wait` for something to do, then runs what is ready: messages from other
    /// threads, events queued on this thread before the call, and due timers. Returns how
    /// many events were dispatched. `Duration::ZERO` never blocks. Under a
    /// [`FakeClock`](crate::testing::FakeClock), an idle round moves the fake clock on by
    /// at most `max_wait` (to the next timer's deadline if sooner) instead of sleeping.
    ///
    /// # Panics
    ///
    /// If a slot panics (the panic propagates; the loop stays usable), or if the loop
    /// cannot be created.
    pub fn process_events(max_wait: Duration) -> usize {
        process_events_on(&dispatcher::current(), max_wait)
    }
}

/// One round for `process_events`. Outside every `exec`, an exit request that arrived
/// during the round is spent here (it ended this call), as it would be by the `exec` it
/// was meant for; inside an `exec` it is left for the loops.
pub(crate) fn process_events_on(core: &dispatcher::LoopCore, max_wait: Duration) -> usize {
    let dispatched = core.round(Some(max_wait));
    core.take_exit_outside_exec();
    dispatched
}
