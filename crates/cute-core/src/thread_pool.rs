//! A pool of reusable threads for short jobs ([`ThreadPool`], Qt's `QThreadPool`).

use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::error::panic_message;

/// A job waiting for a pool thread.
type Job = Box<dyn FnOnce() + Send>;

/// Qt's default: a thread with nothing to do for this long ends.
const DEFAULT_EXPIRY: Duration = Duration::from_secs(30);

/// A pool of threads that run jobs (`FnOnce() + Send` closures, Qt's `QRunnable`), at most
/// [`max_thread_count`](Self::max_thread_count) at a time (Qt's `QThreadPool`).
///
/// Threads are spawned as jobs arrive, up to the maximum; a job that finds every thread
/// busy waits in a queue (first in, first out). A thread left without work for
/// [`expiry_timeout`](Self::expiry_timeout) (30 s, as in Qt) ends, so an idle pool holds
/// no threads. Pool threads run no event loop: a job reports back through an
/// [`Emitter`](crate::Emitter) or a [`LoopHandle`](crate::LoopHandle), or runs as a
/// [`concurrent::run`](crate::concurrent::run) job, whose result arrives on the caller's
/// loop through a [`FutureWatcher`](crate::FutureWatcher).
///
/// A job that panics is logged (`log::error!`) and does not take its thread down.
/// Dropping a pool waits for its queued and running jobs (as Qt's destructor does);
/// [`global_instance`](Self::global_instance) is never dropped: its threads end with
/// the process (or when they expire).
///
/// # Threading
///
/// `Send + Sync`: start jobs and change the limits from any thread.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use cute_core::ThreadPool;
///
/// let pool = ThreadPool::new();
/// pool.set_max_thread_count(2);
/// let total = Arc::new(AtomicU64::new(0));
/// for i in 1..=100 {
///     let total = total.clone();
///     pool.start(move || {
///         total.fetch_add(i, Ordering::Relaxed);
///     });
/// }
/// assert!(pool.wait_for_done(Duration::from_secs(10)));
/// assert_eq!(total.load(Ordering::Relaxed), 5050);
/// assert_eq!(pool.active_thread_count(), 0);
/// ```
#[doc(alias = "QThreadPool")]
pub struct ThreadPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    state: Mutex<PoolState>,
    /// Idle threads wait here for jobs.
    work: Condvar,
    /// `wait_for_done` and the pool's drop wait here.
    done: Condvar,
    /// Numbers the threads' names.
    spawned: AtomicUsize,
}

struct PoolState {
    queue: VecDeque<Job>,
    max: usize,
    expiry: Duration,
    /// Threads alive, busy or idle.
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
    /// Threads running a job.
    active: usize,
    /// The pool was dropped: threads end once the queue is empty.
    shutdown: bool,
}

impl PoolInner {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Jobs run outside the lock, so a poisoned lock means a bug in this file; the
        // counts are still consistent at every unlock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("ThreadPool")
            .field("max_thread_count", &state.max)
            .field("threads", &state.threads)
            .field("active", &state.active)
            .field("queued", &state.queue.len())
            .finish()
    }
}

impl Default for ThreadPool {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreadPool {
    /// A pool with no threads yet, at most
    /// [`available_parallelism`](std::thread::available_parallelism) of them (1 if that is
    /// unknown), expiring after 30 s.
    pub fn new() -> Self {
        let max = std::thread::available_parallelism().map_or(1, |n| n.get());
        ThreadPool {
            inner: Arc::new(PoolInner {
                state: Mutex::new(PoolState {
                    queue: VecDeque::new(),
                    max,
                    expiry: DEFAULT_EXPIRY,
                    threads: 0,
                    idle: 0,
                    active: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                done: Condvar::new(),
                spawned: AtomicUsize::new(0),
            }),
        }
    }

    /// The process-wide pool (Qt's `QThreadPool::globalInstance()`), created on first use;
    /// [`concurrent::run`](crate::concurrent::run) runs its jobs there.
    #[doc(alias = "globalInstance")]
    pub fn global_instance() -> &'static ThreadPool {
        static GLOBAL: OnceLock<ThreadPool> = OnceLock::new();
        GLOBAL.get_or_init(ThreadPool::new)
    }

    /// The most threads the pool runs at once. Defaults to
    /// [`available_parallelism`](std::thread::available_parallelism).
    #[doc(alias = "maxThreadCount")]
    pub fn max_thread_count(&self) -> usize {
        self.inner.lock().max
    }

    /// Sets the most threads the pool runs at once; `0` counts as 1 (Qt, too, always keeps
    /// one). Raising it starts threads for queued jobs at once; lowering it ends the extra
    /// threads as their current jobs return (running jobs are never interrupted).
    #[doc(alias = "setMaxThreadCount")]
    pub fn set_max_thread_count(&self, count: usize) {
        let mut state = self.inner.lock();
        state.max = count.max(1);
        log::debug!("ThreadPool: at most {} threads", state.max);
        while state.queue.len() > state.idle && state.threads < state.max {
            if !self.spawn(&mut state) {
                break;
            }
        }
        // Threads over the new limit notice it when they wake.
        self.inner.work.notify_all();
    }

    /// How many threads are running a job now (Qt's `activeThreadCount`).
    #[doc(alias = "activeThreadCount")]
    pub fn active_thread_count(&self) -> usize {
        self.inner.lock().active
    }

    /// How many threads the pool holds now, busy or idle (not in Qt; for diagnostics).
    pub fn thread_count(&self) -> usize {
        self.inner.lock().threads
    }

    /// How long a thread waits for work before it ends. Defaults to 30 s, as in Qt;
    /// [`Duration::MAX`] keeps threads for good.
    #[doc(alias = "expiryTimeout")]
    pub fn expiry_timeout(&self) -> Duration {
        self.inner.lock().expiry
    }

    /// Sets [`expiry_timeout`](Self::expiry_timeout); idle threads apply it from their next
    /// wait.
    #[doc(alias = "setExpiryTimeout")]
    pub fn set_expiry_timeout(&self, timeout: Duration) {
        self.inner.lock().expiry = timeout;
        self.inner.work.notify_all();
    }

    /// Runs `job` on a pool thread: an idle one, a new one if the pool is below
    /// [`max_thread_count`](Self::max_thread_count), or the first to become free (Qt's
    /// `QThreadPool::start`). Returns at once.
    ///
    /// If the operating system refuses to spawn a thread, the failure is logged and the job
    /// waits for a thread that exists, or for the next `start` that manages to spawn one.
    #[doc(alias = "QRunnable")]
    pub fn start<F: FnOnce() + Send + 'static>(&self, job: F) {
        let mut state = self.inner.lock();
        state.queue.push_back(Box::new(job));
        if state.queue.len() > state.idle && state.threads < state.max {
            self.spawn(&mut state);
        }
        self.inner.work.notify_one();
    }

    /// Runs `job` only if a thread can take it at once (an idle one, or a new one below the
    /// limit); otherwise hands it back (Qt's `tryStart`).
    ///
    /// # Errors
    ///
    /// The job, if every thread is busy and the pool is at its limit.
    #[doc(alias = "tryStart")]
    pub fn try_start<F: FnOnce() + Send + 'static>(&self, job: F) -> Result<(), F> {
        let mut state = self.inner.lock();
        let free = state.idle > state.queue.len();
        if !free && (state.threads >= state.max || !self.spawn(&mut state)) {
            return Err(job);
        }
        state.queue.push_back(Box::new(job));
        self.inner.work.notify_one();
        Ok(())
    }

    /// Removes the jobs that have not started yet (Qt's `clear`); returns how many.
    pub fn clear(&self) -> usize {
        let removed: Vec<Job> = {
            let mut state = self.inner.lock();
            state.queue.drain(..).collect()
        };
        self.inner.done.notify_all();
        // Dropped outside the lock: a job's captures may do anything when dropped.
        removed.len()
    }

    /// Blocks until no job is queued or running, or `timeout` passes (Qt's
    /// `waitForDone`); returns whether the pool is done. [`Duration::MAX`] waits for good.
    ///
    /// Blocking: the calling thread's event loop does not run meanwhile, so do not call it
    /// from a loop thread while jobs wait for that loop.
    #[doc(alias = "waitForDone")]
    pub fn wait_for_done(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.inner.lock();
        loop {
            if state.active == 0 && state.queue.is_empty() {
                return true;
            }
            state = match deadline {
                None => self.inner.done.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    self.inner.done.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }

    /// Spawns one more thread; returns whether it was spawned.
    fn spawn(&self, state: &mut PoolState) -> bool {
        let n = self.inner.spawned.fetch_add(1, Ordering::Relaxed);
        let inner = self.inner.clone();
        match std::thread::Builder::new().name(format!("cute-pool-{n}")).spawn(move || work(&inner)) {
            Ok(_) => {
                state.threads += 1;
                log::trace!("ThreadPool: thread {n} spawned ({} alive)", state.threads);
                true
            }
            Err(e) => {
                log::error!("cute: ThreadPool could not spawn a thread: {e}");
                false
            }
        }
    }
}

/// A pool thread: runs jobs until it has waited `expiry` for one, or the pool shrinks or is
/// dropped.
fn work(inner: &PoolInner) {
    let mut state = inner.lock();
    loop {
        if state.threads > state.max {
            break; // the limit was lowered
        }
        if state.active < state.max
            && let Some(job) = state.queue.pop_front()
        {
            state.active += 1;
            drop(state);
            if let Err(panic) = catch_unwind(AssertUnwindSafe(job)) {
                log::error!("cute: a ThreadPool job panicked: {}", panic_message(&*panic));
            }
            state = inner.lock();
            state.active -= 1;
            if state.active == 0 && state.queue.is_empty() {
                inner.done.notify_all();
            }
            continue;
        }
        if state.shutdown && state.queue.is_empty() {
            break;
        }
        state.idle += 1;
        let expiry = state.expiry;
        let (next, timed_out) = if expiry >= Duration::from_secs(365 * 24 * 3600) {
            (inner.work.wait(state).unwrap_or_else(|e| e.into_inner()), false)
        } else {
            let (next, result) = inner.work.wait_timeout(state, expiry).unwrap_or_else(|e| e.into_inner());
            (next, result.timed_out())
        };
        state = next;
        state.idle -= 1;
        if timed_out && state.queue.is_empty() {
            log::trace!("ThreadPool: an idle thread expired");
            break;
        }
    }
    state.threads -= 1;
    if state.threads == 0 {
        inner.done.notify_all();
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        state.shutdown = true;
        self.inner.work.notify_all();
        if state.threads == 0 && !state.queue.is_empty() {
            log::error!("cute: ThreadPool dropped with queued jobs and no thread to run them");
            state.queue.clear();
        }
        while state.threads > 0 {
            state = self.inner.done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}
