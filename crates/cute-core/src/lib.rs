//! The core of [cute](https://github.com/cute-rs/cute), a Qt-style application framework:
//! typed signals and slots, an event loop on [mio](https://docs.rs/mio), a quit-able
//! application object, timers, threads with their own loops, and a signal spy for tests.
//!
//! ```
//! use std::time::Duration;
//! use cute_core::{CoreApplication, Signal, Thread, Timer};
//!
//! let app = CoreApplication::new();
//!
//! // A signal and a slot, as in Qt.
//! let greeted = Signal::<String>::new();
//! greeted.connect(|name| println!("hello, {name}"));
//! greeted.emit(&"world".to_string());
//!
//! // Another thread reports back through an emitter: the slot runs on this thread.
//! let done = Signal::<u64>::new();
//! done.connect(|sum| {
//!     println!("the worker computed {sum}");
//!     CoreApplication::quit();
//! });
//! let emitter = done.emitter();
//! let worker = Thread::start().unwrap();
//! worker.post(move || emitter.emit((1..=100).sum()).unwrap()).unwrap();
//!
//! // A watchdog, in case something goes wrong.
//! Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1));
//! assert_eq!(app.exec(), 0);
//! ```
//!
//! # Threading model
//!
//! Objects live on the thread that created them, as in Qt. A [`Signal`] is `!Send`; its
//! slots are `FnMut(&T) + 'static` closures that may capture `Rc`/`RefCell` state, and
//! [`Signal::emit`] calls them directly, in connection order. Other threads reach a signal
//! through its [`Emitter`] (`Send + Clone`), which queues the value to the signal's loop
//! (Qt's queued connection), or post closures through a [`LoopHandle`].
//!
//! Each thread has at most one event loop, created on first use: one mio `Poll` and
//! `Waker`, a crossbeam channel for posts from other threads (the poller is woken only when
//! a "wake pending" flag flips, so a burst of posts costs one system call), a lock-free
//! queue of same-thread events, and a deadline heap for timers. [`CoreApplication`],
//! [`EventLoop`] (nested, Qt's `QEventLoop`), [`SignalSpy::wait`] and [`Thread`] all run that
//! loop. One round of it runs, in order: messages from other threads, same-thread events
//! queued before the round, then due timers.
//!
//! # Errors
//!
//! Set-up failures and misuse return [`Error`]; posting to a loop that is gone returns a
//! [`PostError`] that hands the value back. Nothing posts, emits or quits by blocking.
//!
//! # Panics in slots
//!
//! A panicking slot (or posted closure, or timer slot) propagates: the panic unwinds out
//! of `emit`, and so out of [`CoreApplication::exec`] or [`EventLoop::exec`]. The loop stays
//! consistent: the events behind the panicking one stay queued and run on the next round,
//! and `exec` can be called again. A [`Thread`] whose loop panics reports the panic from
//! [`Thread::wait`]. (Swallowing panics would hide bugs; Qt's behaviour here is undefined.)
//!
//! # Async/await
//!
//! The loop runs futures too, with no runtime of its own: [`spawn_local`] runs a `!Send`
//! future as a task on the thread's loop ([`JoinHandle`] awaits or aborts it),
//! [`LoopHandle::spawn`] runs one on another thread's loop, and [`block_on`] waits for one
//! by running the loop (the nested [`EventLoop`] idiom). Signals are awaited with
//! [`Signal::next`] (or read as a stream, [`Signal::stream`]), timers with [`sleep`] and
//! [`timeout`]. Task wakers are `Send + Sync`: a future woken from any thread is polled
//! again on its own loop.
//!
//! ```
//! use std::time::Duration;
//! use cute_core::{Signal, Thread, block_on, sleep, spawn_local, timeout};
//!
//! let clicked = Signal::<u32>::new();
//! let next_click = clicked.next();
//! let task = spawn_local(async move {
//!     let n = next_click.await.unwrap(); // the slot, written as an await
//!     sleep(Duration::from_millis(1)).await;
//!     n + 1
//! });
//! clicked.emit(&41);
//!
//! let worker = Thread::start().unwrap();
//! let remote = worker.handle().spawn(async { 100 }); // runs on the worker's loop
//!
//! let both = block_on(timeout(Duration::from_secs(10), async move {
//!     task.await.unwrap() + remote.await.unwrap()
//! }));
//! assert_eq!(both, Ok(142));
//! ```
//!
//! ## A tokio library beside the loop
//!
//! cute's loop is not a tokio runtime: a future that needs one (tokio's I/O, timers,
//! `spawn`) panics when polled here. Run such code on a tokio runtime on other threads,
//! and await its [`JoinHandle`](https://docs.rs/tokio/latest/tokio/task/struct.JoinHandle.html)
//! from the loop: the handle is an ordinary future, and cute's waker brings the result
//! back to the loop's thread. (Or send results back through an [`Emitter`] or
//! [`LoopHandle::post`], as from any thread.)
//!
//! ```
//! use std::time::Duration;
//! use cute_core::{Signal, block_on};
//!
//! // A tokio runtime of its own, with one worker thread, beside the loop.
//! let runtime = tokio::runtime::Builder::new_multi_thread()
//!     .worker_threads(1)
//!     .enable_time()
//!     .build()
//!     .unwrap();
//!
//! // tokio-only code runs on the runtime; its output is awaited on the loop (here with
//! // `block_on`; in a task of `spawn_local` just the same).
//! let fetched = runtime.spawn(async {
//!     tokio::time::sleep(Duration::from_millis(5)).await; // needs tokio's timer
//!     "body".to_string()
//! });
//! assert_eq!(block_on(fetched).unwrap(), "body"); // woken from the runtime's thread
//!
//! // Or push results through an emitter: the slot runs on the loop's thread.
//! let shown = Signal::<String>::new(); // loop-side state (not Send)
//! let next = shown.next();
//! let emitter = shown.emitter();
//! runtime.spawn(async move { emitter.emit("pushed".to_string()).unwrap() });
//! assert_eq!(block_on(next).as_deref(), Some("pushed"));
//! ```
//!
//! # Features
//!
//! - [`Signal`], [`Connection`], [`ConnectionType`] (direct, queued, single-shot),
//!   re-entrant slots ([`Signal::connect_reentrant`]), [`Emitter`] for other threads;
//! - slots bound to a receiver held by `Weak` ([`Signal::connect_to`], Qt's context
//!   object: a method connects as `signal.connect_to(&this, Self::on_x)`), slots that can
//!   fail ([`Signal::try_connect`], [`set_slot_error_hook`]), [`ScopedConnection`],
//!   [`Signal::block_signals`] and [`SignalBlocker`];
//! - [`CoreApplication`] with `exec`, `quit`, `exit` (any thread), `about_to_quit`,
//!   `instance`;
//! - [`EventLoop`] and [`EventLoop::process_events`]; [`LoopHandle`] to post and quit;
//! - [`Timer`] (interval, single shot, `remaining_time`, `Timer::single_shot` with a
//!   [`SingleShot`] handle to cancel it);
//! - [`Thread`] with its own loop and exit code, [`started`](Thread::started) and
//!   [`finished`](Thread::finished) signals on the owner's thread, and
//!   [`request_interruption`](Thread::request_interruption); a worker object living as long
//!   as its thread ([`Thread::start_with_object`], [`ObjectHandle`]: Qt's `moveToThread`);
//! - [`ThreadPool`] (Qt's `QThreadPool`) and [`concurrent::run`] (`QtConcurrent::run`),
//!   whose [`FutureWatcher`] delivers the result, progress, cancellation and panics on the
//!   caller's loop;
//! - cross-thread calls with results: [`LoopHandle::invoke_blocking`] (Qt's
//!   `BlockingQueuedConnection`) and [`LoopHandle::invoke_async`];
//! - [`Property`] (Qt's `Q_PROPERTY` with `NOTIFY`, and Qt 6's `QProperty`): a value with
//!   a `changed` signal emitted only on a real change, and bindings with automatic
//!   dependency tracking, glitch-free updates and binding-loop detection
//!   ([`BindingError`]); [`PropertyUpdateGroup`] batches changes;
//! - [`SignalSpy`] with a bounded `wait`, and [`testing::FakeClock`]: a fake clock that
//!   the thread's timers and waits obey, advanced by hand;
//! - the loop as a platform: [`IoWatcher`] (any mio source on the loop),
//!   [`SocketNotifier`] (Qt's), [`UnixSignals`] (SIGINT and friends as a signal);
//! - async/await on the loop: [`spawn_local`], [`LoopHandle::spawn`] and
//!   [`LoopHandle::spawn_with`], [`block_on`], [`Signal::next`], [`Signal::stream`],
//!   [`sleep`], [`sleep_until`], [`timeout`].
//!
//! Library code never prints; it logs through the [`log`](https://docs.rs/log) facade.

mod application;
mod binding;
mod block_on;
mod blocker;
mod clock;
pub mod concurrent;
mod connection;
mod dispatcher;
mod emitter;
mod error;
mod event_loop;
mod future_watcher;
mod invoke;
mod io;
mod object;
mod property;
mod property_graph;
mod readiness;
mod receiver;
mod remote_task;
mod signal;
mod sleep;
mod slot_error;
#[cfg(unix)]
mod socket_notifier;
mod spy;
mod task;
pub mod testing;
mod thread;
mod thread_pool;
mod timer;
mod timer_queue;
#[cfg(unix)]
mod unix_signals;
mod update_group;

pub use application::{ApplicationRef, CoreApplication};
pub use binding::PropertyBinding;
pub use block_on::block_on;
pub use blocker::SignalBlocker;
pub use connection::{Connection, ScopedConnection};
pub use emitter::Emitter;
pub use error::{BindingError, Elapsed, Error, PostError};
pub use event_loop::{EventLoop, LoopHandle};
pub use future_watcher::{FutureWatcher, Promise};
pub use io::IoWatcher;
pub use mio;
pub use object::ObjectHandle;
pub use property::{Property, WeakProperty};
pub use readiness::Readiness;
pub use remote_task::RemoteJoinHandle;
pub use signal::next::{NextEmission, SignalStream, StreamNext};
pub use signal::{ConnectionType, Signal};
pub use sleep::{Sleep, Timeout, sleep, sleep_until, timeout};
pub use slot_error::{SlotError, SlotErrorHook, set_slot_error_hook, take_slot_error_hook};
#[cfg(unix)]
pub use socket_notifier::{SocketNotifier, SocketNotifierType};
pub use spy::SignalSpy;
pub use task::{JoinHandle, spawn_local};
pub use thread::Thread;
pub use thread_pool::ThreadPool;
pub use timer::{SingleShot, Timer};
#[cfg(unix)]
pub use unix_signals::UnixSignals;
pub use update_group::PropertyUpdateGroup;

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}

    /// The cross-thread types are what their docs say (compile-time checks).
    #[test]
    fn thread_safety_of_the_public_types() {
        send_sync_clone::<LoopHandle>();
        send_sync_clone::<Emitter<String>>();
        send::<Thread>();
        send_sync_clone::<ObjectHandle<std::rc::Rc<String>>>();
        send_sync::<ThreadPool>();
        send_sync::<Promise>();
        send::<PostError<Box<dyn FnOnce() + Send>>>();
        error::<Error>();
        error::<PostError<i32>>();
    }
}
