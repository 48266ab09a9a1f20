//! Threads that run their own event loop ([`Thread`], Qt's `QThread`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::dispatcher;
use crate::error::{Error, PostError, panic_message};
use crate::event_loop::LoopHandle;
use crate::signal::Signal;

/// A thread running its own event loop (Qt's `QThread` with the default `run()`).
///
/// Post work to it with [`post`](Self::post) (or through the [`Emitter`](crate::Emitter) of
/// a signal created on it, or [`LoopHandle::invoke_blocking`]), stop it with
/// [`quit`](Self::quit)/[`exit`](Self::exit), and collect its exit code with
/// [`wait`](Self::wait). A panic on the thread ends its loop and is reported by `wait` as
/// [`Error::ThreadPanicked`]. Dropping a `Thread` quits it and waits for it (a slot that
/// never returns keeps the drop waiting, as joining a thread does); dropped by a closure
/// running on the thread itself, it quits without waiting.
///
/// Objects that must live on the thread (signals, timers, a network manager) are created
/// there: by the closure given to [`start_with`](Self::start_with), which returns them to
/// keep them for the thread's life, or as the worker object of
/// [`start_with_object`](Self::start_with_object) (Qt's `moveToThread` pattern).
///
/// [`started`](Self::started) and [`finished`](Self::finished) are emitted on the thread
/// that created the `Thread` (its owner), and [`request_interruption`](Self::request_interruption)
/// asks code running on the thread to stop.
///
/// # Threading
///
/// `Send`: the controlling handle can move between threads; what runs on the thread gets
/// there through `Send` closures ([`post`](Self::post)) or emitters. Its signals stay on
/// the owner's thread.
///
/// # Examples
///
/// ```
/// use cute_core::{EventLoop, Signal, SignalSpy, Thread};
/// use std::time::Duration;
///
/// let result = Signal::<u64>::new();
/// let spy = SignalSpy::new(&result);
/// let emitter = result.emitter();
///
/// let mut worker = Thread::start().unwrap();
/// worker.post(move || emitter.emit((1..=10).sum()).unwrap()).unwrap();
/// assert!(spy.wait(Duration::from_secs(5)));
/// assert_eq!(spy.take_first(), Some(55));
/// worker.exit(4);
/// assert_eq!(worker.wait().unwrap(), 4);
/// ```
#[doc(alias = "QThread")]
pub struct Thread {
    handle: LoopHandle,
    join: Option<JoinHandle<()>>,
    done: Receiver<Result<i32, String>>,
    result: Option<Result<i32, String>>,
    /// Names this thread's signals in its owner's registry.
    id: u64,
    /// The loop of the thread that created this one, where the signals are emitted.
    owner: Option<LoopHandle>,
    /// Set once `finished` has been delivered: the signals are gone from the registry.
    delivered: Arc<AtomicBool>,
    interruption: Arc<AtomicBool>,
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("handle", &self.handle)
            .field("finished", &self.is_finished())
            .field("interruption_requested", &self.is_interruption_requested())
            .finish()
    }
}

/// A thread's `started` and `finished` signals, kept on its owner's thread.
#[derive(Default)]
struct ThreadSignals {
    started: Rc<Signal<()>>,
    finished: Rc<Signal<()>>,
}

thread_local! {
    /// The signals of the threads this thread started, by id, created on first use and
    /// removed once `finished` has been delivered.
    static SIGNALS: RefCell<HashMap<u64, Rc<ThreadSignals>>> = RefCell::new(HashMap::new());
    /// On a thread started by [`Thread`]: its interruption flag.
    static INTERRUPTION: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

#[derive(Clone, Copy)]
enum Lifecycle {
    Started,
    Finished,
}

/// On the owner's thread: emits thread `id`'s signal, if anybody asked for it.
fn announce(id: u64, which: Lifecycle, delivered: &AtomicBool) {
    let signals = SIGNALS.try_with(|s| s.borrow().get(&id).cloned()).ok().flatten();
    if let Lifecycle::Finished = which {
        delivered.store(true, Ordering::SeqCst);
    }
    if let Some(signals) = signals {
        match which {
            Lifecycle::Started => signals.started.emit(&()),
            Lifecycle::Finished => {
                let _ = SIGNALS.try_with(|s| s.borrow_mut().remove(&id));
                signals.finished.emit(&());
            }
        }
    }
}

impl Thread {
    /// Spawns a thread and starts its event loop.
    ///
    /// # Errors
    ///
    /// [`Error::Spawn`] if the thread cannot be spawned, [`Error::Poller`] if its loop
    /// cannot be created.
    pub fn start() -> Result<Thread, Error> {
        Self::start_with(|| {})
    }

    /// Spawns a thread, runs `setup` on it, then runs its event loop.
    ///
    /// What `setup` returns (a signal, a timer, a network manager, a tuple or struct of
    /// them, or `()`) lives on the new thread for as long as its loop runs: it is dropped
    /// there when the loop has ended, after the work posted before the end has run.
    /// Objects `setup` creates and does not return are dropped when it returns, as any
    /// local value is. `setup` must be `Send`; what it returns need not be, since it never
    /// leaves the thread.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use std::time::Duration;
    /// use cute_core::{Signal, SignalSpy, Thread};
    ///
    /// let pong = Signal::<u32>::new();
    /// let spy = SignalSpy::new(&pong);
    /// let pong_emitter = pong.emitter();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let mut worker = Thread::start_with(move || {
    ///     // Lives on the worker; returned, so it lives as long as the worker's loop.
    ///     let ping = Rc::new(Signal::<u32>::new());
    ///     ping.connect(move |n| pong_emitter.emit(n + 1).unwrap());
    ///     tx.send(ping.emitter()).unwrap();
    ///     ping
    /// })
    /// .unwrap();
    /// let ping = rx.recv().unwrap();
    /// ping.emit(41).unwrap();
    /// assert!(spy.wait(Duration::from_secs(5)));
    /// assert_eq!(spy.take_first(), Some(42));
    /// worker.quit();
    /// worker.wait().unwrap();
    /// ```
    pub fn start_with<T, F>(setup: F) -> Result<Thread, Error>
    where
        T: 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        Self::spawn_named(None, setup)
    }

    /// [`start_with`](Self::start_with) with a thread name (shown in panics and debuggers).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_named<T, F>(name: &str, setup: F) -> Result<Thread, Error>
    where
        T: 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        Self::spawn_named(Some(name.to_owned()), setup)
    }

    pub(crate) fn spawn_named<T, F>(name: Option<String>, setup: F) -> Result<Thread, Error>
    where
        T: 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let id = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
        // The owner's loop, created if needed; none on a thread being torn down.
        let owner = dispatcher::try_current().ok().map(|core| LoopHandle::from_shared(core.shared().clone()));
        let delivered = Arc::new(AtomicBool::new(false));
        let interruption = Arc::new(AtomicBool::new(false));
        let (announcer, flag, thread_interruption) = (owner.clone(), delivered.clone(), interruption.clone());
        let mut builder = std::thread::Builder::new();
        if let Some(name) = name {
            builder = builder.name(name);
        }
        let join = builder
            .spawn(move || {
                INTERRUPTION.with(|i| *i.borrow_mut() = Some(thread_interruption));
                let core = match dispatcher::try_current() {
                    Ok(core) => core,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(LoopHandle::from_shared(core.shared().clone())));
                if let Some(owner) = &announcer {
                    let flag = flag.clone();
                    let _ = owner.post(move || announce(id, Lifecycle::Started, &flag));
                }
                let mut kept = None;
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    kept = Some(setup());
                    core.exec(None)
                }));
                drop(core);
                // Run what was posted before the loop stopped (with the kept objects still
                // alive), drop the kept objects on this thread, then drop the loop so later
                // posts fail and hand their values back.
                let kept = AssertUnwindSafe(kept);
                let flushed = catch_unwind(AssertUnwindSafe(move || {
                    dispatcher::shutdown_current_with(move || drop(kept));
                }));
                let result = match (outcome, flushed) {
                    (Ok(code), Ok(())) => Ok(code),
                    (Err(p), _) | (_, Err(p)) => Err(panic_message(&*p)),
                };
                if let Err(msg) = &result {
                    log::error!("cute: a Thread panicked: {msg}");
                }
                let _ = done_tx.send(result);
                // After the result: `is_finished` is true in the slots of `finished`.
                if let Some(owner) = announcer {
                    let _ = owner.post(move || announce(id, Lifecycle::Finished, &flag));
                }
            })
            .map_err(Error::Spawn)?;
        match ready_rx.recv() {
            Ok(Ok(handle)) => Ok(Thread {
                handle,
                join: Some(join),
                done,
                result: None,
                id,
                owner,
                delivered,
                interruption,
            }),
            Ok(Err(e)) => {
                let _ = join.join();
                Err(Error::Poller(e))
            }
            Err(_) => {
                let _ = join.join();
                Err(Error::ThreadPanicked("the thread ended before its loop started".into()))
            }
        }
    }

    /// This thread's signals, on the owner's thread.
    fn signals(&self) -> Rc<ThreadSignals> {
        let owner_here = self.owner.as_ref().is_some_and(LoopHandle::is_current);
        assert!(owner_here, "a Thread's signals are used on the thread that created it");
        if self.delivered.load(Ordering::SeqCst) {
            // `finished` has been delivered: nothing will be emitted any more.
            return Rc::default();
        }
        SIGNALS.with(|s| s.borrow_mut().entry(self.id).or_default().clone())
    }

    /// Emitted on the owner's thread (the thread that created this `Thread`) when the
    /// thread has started, before `setup` runs (Qt's `QThread::started`).
    ///
    /// Delivered through the owner's event loop: slots run when that loop next runs
    /// ([`exec`](crate::CoreApplication::exec), [`SignalSpy::wait`](crate::SignalSpy::wait),
    /// [`process_events`](crate::EventLoop::process_events)), so connecting right after
    /// `start` misses nothing. An owner that never runs its loop never sees the signal
    /// (the emission waits in its loop's queue, and goes with the thread). `started`
    /// always arrives before [`finished`](Self::finished).
    ///
    /// # Panics
    ///
    /// If called on another thread than the owner's (a signal lives on one thread).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{SignalSpy, Thread};
    ///
    /// let thread = Thread::start().unwrap();
    /// let started = SignalSpy::new(&thread.started());
    /// let finished = SignalSpy::new(&thread.finished());
    /// thread.quit();
    /// while finished.total() == 0 {
    ///     assert!(finished.wait(Duration::from_secs(5)));
    /// }
    /// assert_eq!(started.total(), 1);
    /// assert!(thread.is_finished());
    /// ```
    #[doc(alias = "QThread::started")]
    pub fn started(&self) -> Rc<Signal<()>> {
        self.signals().started.clone()
    }

    /// Emitted on the owner's thread once the thread has finished: its loop has returned,
    /// the work posted before has run and the objects living on it are dropped (Qt's
    /// `QThread::finished`). [`is_finished`](Self::is_finished) is true in its slots, and
    /// [`wait`](Self::wait) returns at once. Delivered as [`started`](Self::started) is.
    ///
    /// The signals live as long as they may still be emitted, even if the `Thread` is
    /// dropped first.
    ///
    /// # Panics
    ///
    /// If called on another thread than the owner's.
    #[doc(alias = "QThread::finished")]
    pub fn finished(&self) -> Rc<Signal<()>> {
        self.signals().finished.clone()
    }

    /// Asks the code running on the thread to stop (Qt's `requestInterruption`). Nothing
    /// is interrupted by force: long-running work polls
    /// [`Thread::current_interruption_requested`] (or the thread's owner polls
    /// [`is_interruption_requested`](Self::is_interruption_requested)) and returns early.
    /// The loop keeps running; [`quit`](Self::quit) ends it.
    #[doc(alias = "requestInterruption")]
    pub fn request_interruption(&self) {
        log::debug!("interruption requested for {:?}", self.handle);
        self.interruption.store(true, Ordering::SeqCst);
    }

    /// Whether [`request_interruption`](Self::request_interruption) was called.
    #[doc(alias = "isInterruptionRequested")]
    pub fn is_interruption_requested(&self) -> bool {
        self.interruption.load(Ordering::SeqCst)
    }

    /// On a thread started by [`Thread`]: whether its interruption was requested (Qt's
    /// `QThread::currentThread()->isInterruptionRequested()`). False on any other thread
    /// (the main thread, a [`ThreadPool`](crate::ThreadPool) thread, a `std` thread).
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::Thread;
    ///
    /// let mut worker = Thread::start().unwrap();
    /// worker
    ///     .post(|| {
    ///         let mut rounds = 0u64;
    ///         while !Thread::current_interruption_requested() {
    ///             rounds += 1; // a long computation, in steps
    ///             std::thread::yield_now();
    ///         }
    ///     })
    ///     .unwrap();
    /// worker.request_interruption();
    /// worker.quit();
    /// assert_eq!(worker.wait().unwrap(), 0);
    /// assert!(!Thread::current_interruption_requested()); // not a Thread's thread
    /// ```
    #[doc(alias = "isInterruptionRequested")]
    #[doc(alias = "QThread::currentThread")]
    pub fn current_interruption_requested() -> bool {
        INTERRUPTION
            .try_with(|i| i.borrow().as_ref().is_some_and(|flag| flag.load(Ordering::SeqCst)))
            .unwrap_or(false)
    }

    /// A handle to the thread's loop.
    pub fn handle(&self) -> LoopHandle {
        self.handle.clone()
    }

    /// Runs `f` on the thread (see [`LoopHandle::post`]).
    ///
    /// # Errors
    ///
    /// [`PostError`] holding `f` if the thread has finished.
    pub fn post<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<(), PostError<F>> {
        self.handle.post(f)
    }

    /// Asks the thread's loop to return `code`; [`wait`](Self::wait) then reports it.
    /// Does nothing if the thread has finished.
    pub fn exit(&self, code: i32) {
        let _ = self.handle.exit(code);
    }

    /// [`exit`](Self::exit) with code 0.
    pub fn quit(&self) {
        self.exit(0);
    }

    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        self.result.is_some()
            || !self.done.is_empty()
            || self.join.as_ref().is_none_or(JoinHandle::is_finished)
    }

    fn finish(&mut self, result: Result<i32, String>) -> Result<i32, Error> {
        if let Some(join) = self.join.take() {
            let _ = join.join();
        }
        self.result = Some(result.clone());
        result.map_err(Error::ThreadPanicked)
    }

    /// Blocks until the thread finishes; returns the code its loop exited with.
    ///
    /// # Errors
    ///
    /// [`Error::ThreadPanicked`] if the thread panicked (in a slot, a posted closure or the
    /// setup closure).
    pub fn wait(&mut self) -> Result<i32, Error> {
        if let Some(result) = self.result.clone() {
            return result.map_err(Error::ThreadPanicked);
        }
        let result = self.done.recv().unwrap_or_else(|_| Err("the thread ended without a result".into()));
        self.finish(result)
    }

    /// [`wait`](Self::wait), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::WaitTimedOut`] if the thread is still running; otherwise as `wait`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<i32, Error> {
        if let Some(result) = self.result.clone() {
            return result.map_err(Error::ThreadPanicked);
        }
        match self.done.recv_timeout(timeout) {
            Ok(result) => self.finish(result),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Err(Error::WaitTimedOut),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                self.finish(Err("the thread ended without a result".into()))
            }
        }
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        if self.join.is_some() {
            self.quit();
            if self.handle.is_current() {
                // Dropped by a closure running on the thread itself: waiting would wait for
                // ourselves. The thread ends when that closure returns to its loop.
                log::debug!("Thread dropped on its own thread: detached");
                return;
            }
            let _ = self.wait();
        }
    }
}
