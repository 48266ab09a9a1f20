//! Watching a job that runs on another thread ([`FutureWatcher`], Qt's `QFutureWatcher`)
//! and the job's side of it ([`Promise`], Qt's `QPromise`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::emitter::Emitter;
use crate::error::panic_message;
use crate::signal::Signal;

/// What a job and its watcher share.
#[derive(Debug, Default)]
struct Shared {
    canceled: AtomicBool,
    /// The latest `(done, total)` the job reported.
    progress: Mutex<(u64, u64)>,
    /// A `Note::Progress` is on its way: further reports only update `progress`.
    progress_pending: AtomicBool,
}

/// What a job tells its watcher while it runs, in order.
#[derive(Debug, Clone, Copy)]
enum Note {
    Started,
    Progress,
    Canceled,
}

/// How a job ended. Sent through a signal of its own, after every `Note` the job sent.
enum Outcome<R> {
    /// The job returned; the value is taken out by the watcher.
    Finished(RefCell<Option<R>>),
    Panicked(String),
    /// Canceled before it started: the job never ran.
    Skipped,
}

/// The job's side of a [`FutureWatcher`]: report progress, and check for cancellation
/// (Qt's `QPromise`). A job started with
/// [`concurrent::run_with_promise`](crate::concurrent::run_with_promise) gets one.
///
/// # Threading
///
/// `Send + Sync`: it lives with the job, on a pool thread.
#[doc(alias = "QPromise")]
pub struct Promise {
    shared: Arc<Shared>,
    notes: Emitter<Note>,
}

impl fmt::Debug for Promise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise").field("canceled", &self.is_canceled()).finish()
    }
}

impl Promise {
    /// Reports that `done` of `total` steps are done; the watcher emits
    /// [`progress`](FutureWatcher::progress) on its loop.
    ///
    /// Reports are coalesced: while one is on its way to the watcher's loop, later ones
    /// only update the value it will read, so a job may report as often as it likes
    /// without flooding the loop; the watcher sees the latest value, and never the same
    /// value twice in a row.
    #[doc(alias = "setProgressValue")]
    #[doc(alias = "setProgressRange")]
    pub fn report_progress(&self, done: u64, total: u64) {
        *self.shared.progress.lock().unwrap_or_else(|e| e.into_inner()) = (done, total);
        if !self.shared.progress_pending.swap(true, Ordering::SeqCst) {
            // Fails only once the watcher is gone: nobody to tell.
            let _ = self.notes.emit(Note::Progress);
        }
    }

    /// Whether the watcher asked the job to stop ([`FutureWatcher::cancel`], Qt's
    /// `QPromise::isCanceled`). A job that sees it may return early: its result is dropped.
    #[doc(alias = "isCanceled")]
    pub fn is_canceled(&self) -> bool {
        self.shared.canceled.load(Ordering::SeqCst)
    }
}

/// Watches a job running on another thread and delivers what happens to it as signals on
/// the thread that started it (Qt's `QFutureWatcher` over the `QFuture` of
/// `QtConcurrent::run`). Made by [`concurrent::run`](crate::concurrent::run) and its
/// siblings.
///
/// Signals, all emitted on the starting thread's loop, in this order:
/// [`started`](Self::started) when the job begins, [`progress`](Self::progress) as it
/// reports, then one of: a result ([`result`](Self::result)), a [`canceled`](Self::canceled)
/// job (no result), or a panic ([`errored`](Self::errored), with the message), and last
/// [`finished`](Self::finished), in every case (as in Qt, a canceled job also finishes).
/// Nothing is lost: a panic is always reported, and [`finished`](Self::finished) always
/// comes, unless the watcher or its thread's loop is gone first.
///
/// Dropping the watcher does not stop the job (Qt neither): call [`cancel`](Self::cancel)
/// first. Its outcome is then dropped.
///
/// # Threading
///
/// `!Send`: the watcher and its signals live on the thread that started the job; they are
/// emitted when that thread's loop runs ([`exec`](crate::CoreApplication::exec),
/// [`SignalSpy::wait`](crate::SignalSpy::wait), …). The compiler keeps it there:
///
/// ```compile_fail
/// let watcher = cute_core::concurrent::run(|| 1);
/// std::thread::spawn(move || watcher.cancel()); // FutureWatcher is not Send
/// ```
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{SignalSpy, concurrent};
///
/// let watcher = concurrent::run(|| (1..=1000u64).sum::<u64>());
/// let finished = SignalSpy::new(watcher.finished());
/// assert!(finished.wait(Duration::from_secs(10)));
/// assert_eq!(watcher.result(), Some(500500));
/// ```
#[doc(alias = "QFutureWatcher")]
#[doc(alias = "QFuture")]
pub struct FutureWatcher<R: 'static> {
    inner: Rc<Inner<R>>,
}

struct Inner<R: 'static> {
    shared: Arc<Shared>,
    started: Signal<()>,
    progress: Signal<(u64, u64)>,
    canceled: Signal<()>,
    errored: Signal<String>,
    finished: Signal<()>,
    result: RefCell<Option<R>>,
    error: RefCell<Option<String>>,
    last_progress: Cell<(u64, u64)>,
    is_started: Cell<bool>,
    is_finished: Cell<bool>,
    canceled_emitted: Cell<bool>,
    /// The job's notes and outcome arrive through these (their emitters are the job's).
    notes: Signal<Note>,
    outcome: Signal<Outcome<R>>,
    /// To queue `Note::Canceled` from `cancel`, so `canceled` is emitted by the loop.
    notes_emitter: Emitter<Note>,
}

impl<R: 'static> fmt::Debug for FutureWatcher<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureWatcher")
            .field("type", &std::any::type_name::<R>())
            .field("started", &self.is_started())
            .field("finished", &self.is_finished())
            .field("canceled", &self.is_canceled())
            .field("progress", &self.inner.last_progress.get())
            .finish()
    }
}

/// The job's side, for the modules that run jobs.
pub(crate) struct JobSide<R> {
    promise: Promise,
    outcome: Emitter<Outcome<R>>,
}

impl<R: Send + 'static> JobSide<R> {
    /// Runs the job on the current thread and reports to the watcher; a panic in the job
    /// is caught and reported.
    pub(crate) fn run(self, job: impl FnOnce(&Promise) -> R) {
        if self.promise.is_canceled() {
            let _ = self.outcome.emit(Outcome::Skipped);
            return;
        }
        let _ = self.promise.notes.emit(Note::Started);
        let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&self.promise))) {
            Ok(value) => Outcome::Finished(RefCell::new(Some(value))),
            Err(panic) => {
                let message = panic_message(&*panic);
                log::debug!("a concurrent job panicked: {message}");
                Outcome::Panicked(message)
            }
        };
        if self.outcome.emit(outcome).is_err() {
            log::trace!("a concurrent job ended after its watcher");
        }
    }
}

impl<R: Send + 'static> FutureWatcher<R> {
    /// A watcher on the current thread and the job's side of it.
    pub(crate) fn new_pair() -> (FutureWatcher<R>, JobSide<R>) {
        let shared = Arc::new(Shared::default());
        let notes = Signal::new();
        let outcome = Signal::new();
        let notes_emitter = notes.emitter();
        let outcome_emitter = outcome.emitter();
        let inner = Rc::new(Inner {
            shared: shared.clone(),
            started: Signal::new(),
            progress: Signal::new(),
            canceled: Signal::new(),
            errored: Signal::new(),
            finished: Signal::new(),
            result: RefCell::new(None),
            error: RefCell::new(None),
            last_progress: Cell::new((0, 0)),
            is_started: Cell::new(false),
            is_finished: Cell::new(false),
            canceled_emitted: Cell::new(false),
            notes,
            outcome,
            notes_emitter: notes_emitter.clone(),
        });
        inner.notes.connect_to(&inner, Inner::on_note);
        inner.outcome.connect_to(&inner, Inner::on_outcome);
        let job = JobSide { promise: Promise { shared, notes: notes_emitter }, outcome: outcome_emitter };
        (FutureWatcher { inner }, job)
    }
}

impl<R: 'static> Inner<R> {
    fn on_note(&self, note: &Note) {
        match note {
            Note::Started => {
                self.is_started.set(true);
                self.started.emit(&());
            }
            Note::Progress => {
                // Cleared before reading: a report after this point sends a new note.
                self.shared.progress_pending.store(false, Ordering::SeqCst);
                let latest = *self.shared.progress.lock().unwrap_or_else(|e| e.into_inner());
                if latest != self.last_progress.get() && !self.is_finished.get() {
                    self.last_progress.set(latest);
                    self.progress.emit(&latest);
                }
            }
            Note::Canceled => self.emit_canceled(),
        }
    }

    fn emit_canceled(&self) {
        if !self.canceled_emitted.replace(true) {
            self.canceled.emit(&());
        }
    }

    fn on_outcome(&self, outcome: &Outcome<R>) {
        if self.is_finished.get() {
            return;
        }
        let canceled = self.shared.canceled.load(Ordering::SeqCst);
        match outcome {
            Outcome::Finished(value) => {
                let value = value.borrow_mut().take();
                if canceled {
                    log::trace!("a canceled job's result dropped");
                } else {
                    *self.result.borrow_mut() = value;
                }
            }
            Outcome::Panicked(message) => {
                *self.error.borrow_mut() = Some(message.clone());
            }
            Outcome::Skipped => {}
        }
        self.is_finished.set(true);
        if canceled {
            self.emit_canceled();
        }
        if let Outcome::Panicked(message) = outcome {
            self.errored.emit(message);
        }
        self.finished.emit(&());
    }
}

impl<R: 'static> FutureWatcher<R> {
    /// Emitted when the job starts running on its thread (Qt's `started`).
    pub fn started(&self) -> &Signal<()> {
        &self.inner.started
    }

    /// Emitted with `(done, total)` when the job reports progress through its
    /// [`Promise`] (Qt's `progressValueChanged` and `progressRangeChanged` in one).
    /// Coalesced: see [`Promise::report_progress`]. Not emitted after `finished`.
    #[doc(alias = "progressValueChanged")]
    #[doc(alias = "progressRangeChanged")]
    pub fn progress(&self) -> &Signal<(u64, u64)> {
        &self.inner.progress
    }

    /// Emitted once after [`cancel`](Self::cancel), on the next round of the loop (or when
    /// the job ends, if that comes first); no result is delivered (Qt's `canceled`).
    /// [`finished`](Self::finished) follows when the job has ended.
    pub fn canceled(&self) -> &Signal<()> {
        &self.inner.canceled
    }

    /// Emitted with the panic's message if the job panicked (Qt rethrows the job's
    /// exception from `result()`); [`finished`](Self::finished) follows.
    #[doc(alias = "exception")]
    pub fn errored(&self) -> &Signal<String> {
        &self.inner.errored
    }

    /// Emitted last, once the job has ended, whether it returned, panicked or was
    /// canceled (Qt's `finished`).
    pub fn finished(&self) -> &Signal<()> {
        &self.inner.finished
    }

    /// Whether [`started`](Self::started) has been emitted (Qt's `isStarted`).
    #[doc(alias = "isStarted")]
    pub fn is_started(&self) -> bool {
        self.inner.is_started.get()
    }

    /// Whether the job has started and not yet finished, as far as this loop has heard
    /// (Qt's `isRunning`).
    #[doc(alias = "isRunning")]
    pub fn is_running(&self) -> bool {
        self.is_started() && !self.is_finished()
    }

    /// Whether [`finished`](Self::finished) has been emitted (Qt's `isFinished`).
    #[doc(alias = "isFinished")]
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished.get()
    }

    /// Whether [`cancel`](Self::cancel) was called before the job's outcome arrived (Qt's
    /// `isCanceled`).
    #[doc(alias = "isCanceled")]
    pub fn is_canceled(&self) -> bool {
        self.inner.shared.canceled.load(Ordering::SeqCst)
    }

    /// Asks the job to stop (Qt's `cancel`): a job that has not started never runs; a
    /// running job sees [`Promise::is_canceled`] and may return early; its result, if any,
    /// is dropped. [`canceled`](Self::canceled) is emitted on the next round, then
    /// [`finished`](Self::finished) when the job has ended. Does nothing once the job's
    /// outcome has arrived.
    pub fn cancel(&self) {
        if self.is_finished() || self.inner.shared.canceled.swap(true, Ordering::SeqCst) {
            return;
        }
        log::debug!("concurrent job canceled");
        // Through the loop, so `canceled` is never emitted inside `cancel`.
        let _ = self.inner.notes_emitter.emit(Note::Canceled);
    }

    /// The latest progress delivered, `(done, total)`; `(0, 0)` before any.
    #[doc(alias = "progressValue")]
    #[doc(alias = "progressMaximum")]
    pub fn progress_value(&self) -> (u64, u64) {
        self.inner.last_progress.get()
    }

    /// A clone of the job's result, once [`finished`](Self::finished) has been emitted for
    /// a job that returned (Qt's `result`, without its blocking: here the result is there
    /// or not). `None` before, for a canceled or panicked job, and after
    /// [`take_result`](Self::take_result).
    #[doc(alias = "resultAt")]
    pub fn result(&self) -> Option<R>
    where
        R: Clone,
    {
        self.inner.result.borrow().clone()
    }

    /// Takes the job's result out of the watcher (for results that are not `Clone`, or
    /// large).
    #[doc(alias = "takeResult")]
    pub fn take_result(&self) -> Option<R> {
        self.inner.result.borrow_mut().take()
    }

    /// The message of the job's panic, once [`errored`](Self::errored) has been emitted.
    pub fn error(&self) -> Option<String> {
        self.inner.error.borrow().clone()
    }
}
