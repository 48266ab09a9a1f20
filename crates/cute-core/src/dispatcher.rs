//! The per-thread event loop core (private plumbing).
//!
//! Every thread that uses cute's loop gets one [`LoopCore`], created lazily and kept in a
//! thread-local until the thread ends. It owns:
//!
//! - one mio [`Poll`] and a mio [`Waker`], the only way the thread ever sleeps and wakes;
//! - the receiving end of a crossbeam channel of [`Message`]s from other threads; senders
//!   push and then wake the poller only when the `wake_pending` flag flips from false to
//!   true, so a burst of posts costs one system call;
//! - a queue of same-thread events (queued slot calls), touched without locks;
//! - the [`TimerQueue`] deadline heap, which sets the poll timeout;
//! - the registry of typed emitter sources (see [`Source`]);
//! - the I/O sources registered with the poller (sockets, pipes: see `io.rs`), each with
//!   the handler its readiness is dispatched to.
//!
//! [`Shared`] is the `Send + Sync` half, held by every [`LoopHandle`](crate::LoopHandle) and
//! emitter. Dropping the core (thread exit) drops the receiver, after which posts fail and
//! hand their value back.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, Weak};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use mio::{Events, Poll, Token, Waker};
use slab::Slab;

use crate::clock;
use crate::timer_queue::TimerQueue;

const WAKER: Token = Token(0);

/// How long a loop polls for the next cross-thread message before it sleeps (see
/// `LoopCore::busy_poll`).
const BUSY_POLL: Duration = Duration::from_micros(50);

/// A closure posted from another thread that can be handed back if the loop is gone.
pub(crate) trait Task: Send {
    fn run(self: Box<Self>);
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send>;
}

impl<F: FnOnce() + Send + 'static> Task for F {
    fn run(self: Box<Self>) {
        (*self)()
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

/// Something waiting on a loop from another thread (a blocking invocation) that must
/// hear when the loop's outermost `exec` returns, so it does not wait for a round that may
/// never come.
pub(crate) trait ExecExit: Send + Sync {
    /// The outermost `exec` of the loop returned.
    fn exec_exited(&self);
}

/// What crosses threads into a loop.
pub(crate) enum Message {
    /// Run a closure on the loop's thread.
    Call(Box<dyn Task>),
    /// Drain the typed emitter source with this registry key.
    Drain(usize),
    /// Exit every running loop of the thread with this code.
    Exit(i32),
}

/// The `Send + Sync` half of a loop.
pub(crate) struct Shared {
    tx: Sender<Message>,
    waker: Waker,
    wake_pending: AtomicBool,
    thread: ThreadId,
    /// Set when the loop shuts down; later sends fail and hand their message back.
    closed: AtomicBool,
    /// Sends in progress, so shutdown can wait for them and run what they delivered.
    sending: AtomicUsize,
    /// Callers blocked on this loop from other threads ([`ExecExit`]), told when the
    /// outermost `exec` returns.
    exec_watchers: Mutex<Vec<Weak<dyn ExecExit>>>,
}

impl Shared {
    pub(crate) fn thread(&self) -> ThreadId {
        self.thread
    }

    /// Pushes a message, then wakes the loop if nobody has since it last looked.
    pub(crate) fn send(&self, msg: Message) -> Result<(), Message> {
        self.sending.fetch_add(1, Ordering::SeqCst);
        let result =
            if self.closed.load(Ordering::SeqCst) { Err(msg) } else { self.tx.send(msg).map_err(|e| e.0) };
        self.sending.fetch_sub(1, Ordering::SeqCst);
        if result.is_ok() {
            self.notify();
        }
        result
    }

    /// Registers `watcher` to be told when the loop's outermost `exec` next returns. Watchers
    /// that are gone are pruned here, so the list stays as long as the calls in flight.
    pub(crate) fn watch_exec_exit(&self, watcher: Weak<dyn ExecExit>) {
        let mut watchers = self.exec_watchers.lock().unwrap_or_else(|e| e.into_inner());
        watchers.retain(|w| w.strong_count() > 0);
        watchers.push(watcher);
    }

    /// How many messages wait in the loop's channel (for tests that must know a post has
    /// landed).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.tx.len()
    }

    /// Tells the watchers that the outermost `exec` returned.
    fn exec_exited(&self) {
        let watchers = std::mem::take(&mut *self.exec_watchers.lock().unwrap_or_else(|e| e.into_inner()));
        for watcher in watchers.iter().filter_map(Weak::upgrade) {
            watcher.exec_exited();
        }
    }

    /// Refuses further sends, then waits for the sends already past the check. Afterwards
    /// the channel holds everything that was ever accepted.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        while self.sending.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
    }

    /// Coalesced wake: only the sender that flips `wake_pending` pays for the system call.
    #[inline]
    pub(crate) fn notify(&self) {
        // Pairs with the fence in `LoopCore::round`: either the loop sees our message when
        // it checks the channel, or we see the flag it cleared and wake it.
        fence(Ordering::SeqCst);
        if !self.wake_pending.load(Ordering::SeqCst)
            && !self.wake_pending.swap(true, Ordering::SeqCst)
            && let Err(e) = self.waker.wake()
        {
            log::error!("cute: waking an event loop failed: {e}");
        }
    }
}

/// What an I/O source registered with the loop's poller is told (see `io.rs`).
pub(crate) trait IoHandler {
    /// The source is ready (edge-triggered: once per change).
    fn ready(&self, readiness: crate::readiness::Readiness);
}

/// A typed stream of emissions from other threads, drained on the loop's thread.
pub(crate) trait Source {
    /// Delivers what is queued. Called for a `Message::Drain`.
    fn drain(&self);
    /// Whether values are queued.
    fn has_pending(&self) -> bool;
}

thread_local! {
    static CORE: RefCell<Option<Rc<LoopCore>>> = const { RefCell::new(None) };
}

/// The current thread's loop core, created on first use.
///
/// # Panics
///
/// If the operating system refuses to create a poller (file descriptors exhausted), or if
/// called while the thread is being torn down.
pub(crate) fn current() -> Rc<LoopCore> {
    try_current().unwrap_or_else(|e| panic!("cute: cannot create this thread's event loop: {e}"))
}

/// The current thread's loop core, created on first use.
pub(crate) fn try_current() -> io::Result<Rc<LoopCore>> {
    CORE.try_with(|slot| {
        let mut slot = slot.borrow_mut();
        if let Some(core) = slot.as_ref() {
            return Ok(core.clone());
        }
        let core = Rc::new(LoopCore::new()?);
        *slot = Some(core.clone());
        Ok(core)
    })
    .map_err(|_| io::Error::other("the thread is shutting down"))?
}

/// The current thread's loop core if it exists (never creates one; safe in destructors).
pub(crate) fn existing() -> Option<Rc<LoopCore>> {
    CORE.try_with(|slot| slot.try_borrow().ok().and_then(|s| s.clone())).ok().flatten()
}

/// Drops the current thread's core after running what was already posted to it; `between`
/// runs after that, while the core still exists (a thread drops the objects that live on
/// it there), and what it queues runs too.
pub(crate) fn shutdown_current_with(between: impl FnOnce()) {
    /// Takes the core out of the thread-local last, even when a closure run by the flush
    /// panics, so later posts fail at once instead of waiting for the thread's end.
    struct TakeOut;
    impl Drop for TakeOut {
        fn drop(&mut self) {
            let core = CORE.try_with(|slot| slot.borrow_mut().take()).ok().flatten();
            drop(core);
        }
    }
    let _take_out = TakeOut;
    let core = CORE.try_with(|slot| slot.borrow().clone()).ok().flatten();
    if let Some(core) = core {
        // Everything accepted before the close runs; every later post fails and hands its
        // value back. Nothing posted is lost silently.
        core.shared.close();
        core.clear_exit();
        core.flush();
        between();
        core.flush();
    } else {
        between();
    }
}

pub(crate) struct LoopCore {
    shared: Arc<Shared>,
    rx: Receiver<Message>,
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    local: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    pub(crate) timers: RefCell<TimerQueue>,
    sources: RefCell<Slab<Rc<dyn Source>>>,
    /// A thread-wide exit request (`LoopHandle::exit`, `CoreApplication::exit`).
    exit_code: Cell<Option<i32>>,
    /// Running `exec` frames.
    depth: Cell<usize>,
    /// The last round handled messages from other threads.
    recent_remote: Cell<bool>,
    /// A loop was asked to exit during this round: stop it after the current event.
    interrupted: Cell<bool>,
    /// Sources whose drain is in progress further up the stack: a slot they called runs a
    /// nested loop. That loop resumes them first, so their values are not overtaken by
    /// messages sent after them, nor left waiting for a `Drain` that is not coming.
    draining: RefCell<Vec<Rc<dyn Source>>>,
    /// I/O sources by token (never reused, so a stale event cannot reach a new source).
    io: RefCell<HashMap<usize, Rc<dyn IoHandler>>>,
    next_token: Cell<usize>,
    /// Readiness polled and not dispatched yet, in order.
    ready: RefCell<VecDeque<(usize, crate::readiness::Readiness)>>,
}

impl LoopCore {
    fn new() -> io::Result<LoopCore> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            tx,
            waker,
            wake_pending: AtomicBool::new(false),
            thread: std::thread::current().id(),
            closed: AtomicBool::new(false),
            sending: AtomicUsize::new(0),
            exec_watchers: Mutex::new(Vec::new()),
        });
        log::trace!("event loop created on {:?}", shared.thread);
        Ok(LoopCore {
            shared,
            rx,
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(256)),
            local: RefCell::new(VecDeque::new()),
            timers: RefCell::new(TimerQueue::default()),
            sources: RefCell::new(Slab::new()),
            exit_code: Cell::new(None),
            depth: Cell::new(0),
            recent_remote: Cell::new(false),
            interrupted: Cell::new(false),
            draining: RefCell::new(Vec::new()),
            io: RefCell::new(HashMap::new()),
            next_token: Cell::new(1),
            ready: RefCell::new(VecDeque::new()),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Runs what is queued (bounded: a chain of queued slots re-posting forever must not
    /// keep a dead thread).
    fn flush(&self) {
        for _ in 0..1000 {
            if self.rx.is_empty() && self.local.borrow().is_empty() {
                break;
            }
            self.round(Some(Duration::ZERO));
        }
    }

    /// Queues a same-thread event for the next round (queued connections, deferred calls).
    pub(crate) fn post_local(&self, f: Box<dyn FnOnce()>) {
        self.local.borrow_mut().push_back(f);
    }

    /// Registers a source, built by `make` from its registry key.
    pub(crate) fn register_source(&self, make: impl FnOnce(usize) -> Rc<dyn Source>) -> usize {
        let mut sources = self.sources.borrow_mut();
        let entry = sources.vacant_entry();
        let key = entry.key();
        entry.insert(make(key));
        key
    }

    pub(crate) fn unregister_source(&self, key: usize) {
        // Take it out first so its drop (which may drop a signal) runs without the borrow.
        let removed = self.sources.borrow_mut().try_remove(key);
        drop(removed);
    }

    /// Registers an I/O source with the poller; its readiness goes to `handler`. Returns
    /// its token.
    pub(crate) fn register_io(
        &self,
        source: &mut (impl mio::event::Source + ?Sized),
        interest: mio::Interest,
        handler: Rc<dyn IoHandler>,
    ) -> io::Result<usize> {
        let token = self.next_token.get();
        self.poll.borrow().registry().register(source, Token(token), interest)?;
        self.next_token.set(token + 1);
        self.io.borrow_mut().insert(token, handler);
        Ok(token)
    }

    /// Changes what a registered source is watched for (and re-arms it: readiness that
    /// still holds is reported again).
    pub(crate) fn reregister_io(
        &self,
        token: usize,
        source: &mut (impl mio::event::Source + ?Sized),
        interest: mio::Interest,
    ) -> io::Result<()> {
        self.poll.borrow().registry().reregister(source, Token(token), interest)
    }

    /// Takes a source off the poller (its handler stays until `forget_io`).
    pub(crate) fn deregister_io(&self, source: &mut (impl mio::event::Source + ?Sized)) -> io::Result<()> {
        self.poll.borrow().registry().deregister(source)
    }

    /// Forgets a source's handler: events still in flight for its token are dropped.
    pub(crate) fn forget_io(&self, token: usize) {
        let removed = self.io.borrow_mut().remove(&token);
        self.ready.borrow_mut().retain(|(t, _)| *t != token);
        drop(removed);
    }

    /// I/O sources registered (for tests of idle cost).
    pub(crate) fn io_sources(&self) -> usize {
        self.io.borrow().len()
    }

    pub(crate) fn request_exit(&self, code: i32) {
        log::debug!("event loop exit requested with code {code}");
        self.exit_code.set(Some(code));
        self.interrupted.set(true);
    }

    /// Ends the current round after the event being dispatched (a loop was asked to exit).
    pub(crate) fn interrupt(&self) {
        self.interrupted.set(true);
    }

    pub(crate) fn exit_requested(&self) -> Option<i32> {
        self.exit_code.get()
    }

    /// Outside every `exec` (a round run by `process_events` or `SignalSpy::wait`), an exit
    /// request is spent by the call it interrupted: takes it, so it cannot stay behind and
    /// end a later, unrelated `exec` or turn every later round into a busy one. Inside an
    /// `exec` it is left for the loops to see.
    pub(crate) fn take_exit_outside_exec(&self) -> Option<i32> {
        if self.depth.get() == 0 { self.exit_code.take() } else { None }
    }

    /// Takes the pending exit request out, for a caller that must keep running rounds
    /// (`block_on`) and hands it back with [`request_exit`](Self::request_exit) when done.
    pub(crate) fn take_exit(&self) -> Option<i32> {
        self.exit_code.take()
    }

    /// Forgets a pending exit request (the application object is gone).
    pub(crate) fn clear_exit(&self) {
        self.exit_code.set(None);
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth.get()
    }

    /// Runs rounds until the thread is asked to exit, or `own` (a local loop's flag) is set.
    /// Returns the exit code. Nested calls are allowed.
    pub(crate) fn exec(&self, own: Option<&Cell<Option<i32>>>) -> i32 {
        struct Frame<'a>(&'a LoopCore);
        impl Drop for Frame<'_> {
            fn drop(&mut self) {
                let depth = self.0.depth.get() - 1;
                self.0.depth.set(depth);
                if depth == 0 {
                    // The outermost loop has returned: the exit request is spent, and the
                    // blocking calls still queued will not run now.
                    self.0.exit_code.set(None);
                    self.0.shared.exec_exited();
                }
            }
        }
        self.depth.set(self.depth.get() + 1);
        let _frame = Frame(self);
        loop {
            if let Some(code) = self.exit_code.get() {
                return code;
            }
            if let Some(code) = own.and_then(Cell::take) {
                return code;
            }
            self.round(None);
        }
    }

    /// One round of the loop: wait up to `max_wait` (`None`: until something happens) for
    /// work, then run, in order: messages from other threads, same-thread events queued
    /// before the round, and timers that are due. Returns how many were dispatched.
    pub(crate) fn round(&self, max_wait: Option<Duration>) -> usize {
        // Exit requests made before the round were seen by `exec` before it called us.
        self.interrupted.set(false);
        if !self.draining.borrow().is_empty() {
            self.resume_drains();
        }
        // Clear the flag *before* looking at the channel (see `Shared::notify`).
        self.shared.wake_pending.store(false, Ordering::SeqCst);
        fence(Ordering::SeqCst);

        let busy = !self.rx.is_empty()
            || !self.local.borrow().is_empty()
            || self.exit_code.get().is_some()
            || !self.ready.borrow().is_empty();
        if busy || max_wait == Some(Duration::ZERO) {
            // Not sleeping: still look at the sockets, so a busy loop never starves them.
            if !self.io.borrow().is_empty() {
                self.wait(Some(Duration::ZERO));
            }
        } else {
            let next_timer = self.timers.borrow_mut().next_deadline();
            let fake = clock::fake();
            let now = fake.map_or_else(Instant::now, |fake| fake.now);
            let mut until_timer = next_timer.map(|d| d.saturating_duration_since(now));
            if fake.is_some_and(|fake| !fake.auto_advance) && until_timer != Some(Duration::ZERO) {
                // A frozen fake clock: no timer becomes due by waiting.
                until_timer = None;
            }
            let timeout = match (max_wait, until_timer) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if timeout != Some(Duration::ZERO) && !self.busy_poll(timeout) {
                match (fake, timeout) {
                    (Some(fake), Some(timeout)) if fake.auto_advance => self.let_time_pass(timeout),
                    _ => self.wait(timeout),
                }
            }
        }

        // Timers started from here on (by the events this round runs) wait for the next
        // round, so a zero-delay timer runs after every event queued before it was started.
        let timer_limit = self.timers.borrow().seq_limit();
        let mut dispatched = 0;
        // Messages from other threads, bounded by what is there now so a flooding sender
        // cannot starve timers and local events.
        let remote = self.rx.len();
        self.recent_remote.set(remote > 0);
        for _ in 0..remote {
            let Ok(msg) = self.rx.try_recv() else { break };
            dispatched += 1;
            match msg {
                Message::Call(task) => task.run(),
                Message::Drain(key) => {
                    let source = self.sources.borrow().get(key).cloned();
                    if let Some(source) = source {
                        self.drain(source);
                    }
                }
                Message::Exit(code) => self.request_exit(code),
            }
            if self.interrupted.get() {
                return dispatched;
            }
        }

        // I/O readiness polled before this point.
        let polled = self.ready.borrow().len();
        for _ in 0..polled {
            let Some((token, readiness)) = self.ready.borrow_mut().pop_front() else { break };
            let handler = self.io.borrow().get(&token).cloned();
            if let Some(handler) = handler {
                dispatched += 1;
                handler.ready(readiness);
                if self.interrupted.get() {
                    return dispatched;
                }
            }
        }

        // Same-thread events queued before this point.
        let queued = self.local.borrow().len();
        for _ in 0..queued {
            let Some(event) = self.local.borrow_mut().pop_front() else { break };
            dispatched += 1;
            event();
            if self.interrupted.get() {
                return dispatched;
            }
        }

        // Timers due now that were started before the round (a zero-delay timer started or
        // restarted by an event or a slot fires in the next round, after the events queued
        // meanwhile).
        let now = clock::now();
        loop {
            let fire = self.timers.borrow_mut().pop_due(now, timer_limit);
            let Some(fire) = fire else { break };
            fire.run();
            dispatched += 1;
            if self.interrupted.get() {
                break;
            }
        }
        dispatched
    }

    /// Runs a source's drain, recording it as in progress while its slots run.
    fn drain(&self, source: Rc<dyn Source>) {
        struct InProgress<'a>(&'a LoopCore);
        impl Drop for InProgress<'_> {
            fn drop(&mut self) {
                self.0.draining.borrow_mut().pop();
            }
        }
        self.draining.borrow_mut().push(source.clone());
        let _in_progress = InProgress(self);
        source.drain();
    }

    /// A nested loop started inside a drain's slot: deliver what those drains still hold,
    /// outermost first, before anything else this round.
    #[cold]
    fn resume_drains(&self) {
        let stranded: Vec<Rc<dyn Source>> = self.draining.borrow().clone();
        for source in stranded {
            if source.has_pending() {
                self.drain(source);
            }
        }
    }

    /// Right after a round that handled messages from other threads, another is likely to
    /// follow within microseconds (a worker answering, a ping-pong partner): poll the
    /// channel for up to [`BUSY_POLL`] before sleeping, telling senders not to wake us
    /// meanwhile. Saves a system call on each side and the scheduler's wake-up latency.
    /// Returns whether a message arrived. A loop that only has timers never polls.
    fn busy_poll(&self, timeout: Option<Duration>) -> bool {
        if !self.recent_remote.get() {
            return false;
        }
        self.recent_remote.set(false);
        self.shared.wake_pending.store(true, Ordering::SeqCst);
        let until = Instant::now() + timeout.map_or(BUSY_POLL, |t| t.min(BUSY_POLL));
        loop {
            if !self.rx.is_empty() {
                return true;
            }
            if Instant::now() >= until {
                break;
            }
            std::thread::yield_now();
        }
        // Going to sleep: let senders wake us again, then look once more.
        self.shared.wake_pending.store(false, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        !self.rx.is_empty()
    }

    /// Idle under a fake clock that lets time pass: looks once, without sleeping, for
    /// messages from other threads and socket readiness; if none came, moves the fake clock on by `timeout` (to
    /// the next timer's deadline or the end of the caller's wait) instead of sleeping.
    #[cold]
    fn let_time_pass(&self, timeout: Duration) {
        self.wait(Some(Duration::ZERO));
        // Sockets and other threads first: time passes only when nothing came.
        if self.rx.is_empty() && self.ready.borrow().is_empty() {
            clock::advance(timeout);
        }
    }

    fn wait(&self, timeout: Option<Duration>) {
        let mut events = self.events.borrow_mut();
        let result = self.poll.borrow_mut().poll(&mut events, timeout);
        match result {
            Ok(()) => {
                let mut ready = self.ready.borrow_mut();
                for event in events.iter().filter(|e| e.token() != WAKER) {
                    ready.push_back((event.token().0, crate::readiness::Readiness::of(event)));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // A failing poller would turn every round into a busy loop; sleep a bit.
                log::error!("cute: polling failed: {e}");
                std::thread::sleep(
                    timeout.unwrap_or(Duration::from_millis(10)).min(Duration::from_millis(10)),
                );
            }
        }
    }
}

impl Drop for LoopCore {
    fn drop(&mut self) {
        self.shared.close();
        log::trace!("event loop on {:?} dropped", self.shared.thread);
    }
}
