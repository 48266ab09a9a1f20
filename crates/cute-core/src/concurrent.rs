//! Running a function on a pool thread and getting its result back on this thread's loop
//! (Qt's `QtConcurrent::run` with a `QFutureWatcher`).
//!
//! Each function returns a [`FutureWatcher`] living on the calling thread: its signals
//! ([`started`](FutureWatcher::started), [`progress`](FutureWatcher::progress),
//! [`canceled`](FutureWatcher::canceled), [`errored`](FutureWatcher::errored),
//! [`finished`](FutureWatcher::finished)) are emitted on the calling thread's loop, and
//! [`result`](FutureWatcher::result) holds the value once `finished` is emitted. The
//! calling thread's loop is created if needed.
//!
//! A panic in the job is caught on the pool thread (which goes on) and reported through
//! [`errored`](FutureWatcher::errored) and [`error`](FutureWatcher::error).
//!
//! Quitting the application does not wait for jobs in flight, nor does dropping their
//! watchers stop them: [`FutureWatcher::cancel`] asks a job to stop, and
//! [`ThreadPool::wait_for_done`] waits for the pool.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use cute_core::{CoreApplication, Timer, concurrent};
//!
//! let app = CoreApplication::new();
//! let watcher = concurrent::run_with_promise(|promise| {
//!     let mut primes = 0;
//!     for n in 2..20_000u64 {
//!         if promise.is_canceled() {
//!             break;
//!         }
//!         if (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0) {
//!             primes += 1;
//!         }
//!         promise.report_progress(n, 20_000);
//!     }
//!     primes
//! });
//! watcher.progress().connect(|&(done, total)| {
//!     let _percent = done * 100 / total; // a progress bar would show it
//! });
//! watcher.finished().connect(|_| CoreApplication::quit());
//! Timer::single_shot(Duration::from_secs(30), || CoreApplication::exit(1)); // a watchdog
//! assert_eq!(app.exec(), 0);
//! assert_eq!(watcher.result(), Some(2262));
//! ```

use crate::future_watcher::{FutureWatcher, Promise};
use crate::thread_pool::ThreadPool;

/// Runs `job` on the [global pool](ThreadPool::global_instance); its result arrives on
/// this thread's loop through the returned watcher (Qt's `QtConcurrent::run`).
///
/// # Panics
///
/// If this thread's event loop cannot be created (file descriptors exhausted).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{SignalSpy, concurrent};
///
/// let watcher = concurrent::run(|| "computed on a pool thread".len());
/// let finished = SignalSpy::new(watcher.finished());
/// assert!(finished.wait(Duration::from_secs(10)));
/// assert_eq!(watcher.result(), Some(25));
/// ```
#[doc(alias = "QtConcurrent::run")]
pub fn run<R, F>(job: F) -> FutureWatcher<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    run_with_promise_in(ThreadPool::global_instance(), move |_| job())
}

/// [`run`] for a job that reports progress and checks for cancellation through a
/// [`Promise`] (Qt's `QtConcurrent::run` with a `QPromise&` first parameter).
///
/// # Panics
///
/// As [`run`].
#[doc(alias = "QtConcurrent::run")]
#[doc(alias = "QPromise")]
pub fn run_with_promise<R, F>(job: F) -> FutureWatcher<R>
where
    F: FnOnce(&Promise) -> R + Send + 'static,
    R: Send + 'static,
{
    run_with_promise_in(ThreadPool::global_instance(), job)
}

/// [`run`] on `pool` instead of the global pool (Qt's `QtConcurrent::run(pool, …)`).
///
/// # Panics
///
/// As [`run`].
#[doc(alias = "QtConcurrent::run")]
pub fn run_in<R, F>(pool: &ThreadPool, job: F) -> FutureWatcher<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    run_with_promise_in(pool, move |_| job())
}

/// [`run_with_promise`] on `pool`.
///
/// # Panics
///
/// As [`run`].
#[doc(alias = "QtConcurrent::run")]
pub fn run_with_promise_in<R, F>(pool: &ThreadPool, job: F) -> FutureWatcher<R>
where
    F: FnOnce(&Promise) -> R + Send + 'static,
    R: Send + 'static,
{
    let (watcher, side) = FutureWatcher::new_pair();
    pool.start(move || side.run(job));
    watcher
}
