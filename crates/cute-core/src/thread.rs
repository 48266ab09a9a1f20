//! Threads that run their own event loop ([`Thread`], Qt's `QThread`).

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Receiver;

use crate::dispatcher;
use crate::error::{Error, PostError};
use crate::event_loop::LoopHandle;

/// A thread running its own event loop (Qt's `QThread` with the default `run()`).
///
/// Post work to it with [`post`](Self::post) (or through the [`Emitter`](crate::Emitter) of
/// a signal created on it), stop it with [`quit`](Self::quit)/[`exit`](Self::exit), and
/// collect its exit code with [`wait`](Self::wait). A panic on the thread ends its loop and
/// is reported by `wait` as [`Error::ThreadPanicked`]. Dropping a `Thread` quits it and
/// waits for it (a slot that never returns keeps the drop waiting, as joining a thread
/// does); dropped by a closure running on the thread itself, it quits without waiting.
///
/// Objects that must live on the thread (signals, timers) are created there, in the
/// closure given to [`start_with`](Self::start_with) or in posted closures.
///
/// # Threading
///
/// `Send`: the controlling handle can move between threads; what runs on the thread gets
/// there through `Send` closures ([`post`](Self::post)) or emitters.
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
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread").field("handle", &self.handle).field("finished", &self.is_finished()).finish()
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
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

    /// Spawns a thread, runs `setup` on it, then runs its event loop. Objects created by
    /// `setup` (signals, timers, a network manager) live on the new thread.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_with<F: FnOnce() + Send + 'static>(setup: F) -> Result<Thread, Error> {
        Self::spawn_named(None, setup)
    }

    /// [`start_with`](Self::start_with) with a thread name (shown in panics and debuggers).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_named<F: FnOnce() + Send + 'static>(name: &str, setup: F) -> Result<Thread, Error> {
        Self::spawn_named(Some(name.to_owned()), setup)
    }

    fn spawn_named<F: FnOnce() + Send + 'static>(name: Option<String>, setup: F) -> Result<Thread, Error> {
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let mut builder = std::thread::Builder::new();
        if let Some(name) = name {
            builder = builder.name(name);
        }
        let join = builder
            .spawn(move || {
                let core = match dispatcher::try_current() {
                    Ok(core) => core,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(LoopHandle::from_shared(core.shared().clone())));
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    setup();
                    core.exec(None)
                }));
                drop(core);
                // Run what was posted before the loop stopped, then drop the loop so later
                // posts fail and hand their values back.
                let flushed = catch_unwind(dispatcher::shutdown_current);
                let result = match (outcome, flushed) {
                    (Ok(code), Ok(())) => Ok(code),
                    (Err(p), _) | (_, Err(p)) => Err(panic_message(&*p)),
                };
                if let Err(msg) = &result {
                    log::error!("cute: a Thread panicked: {msg}");
                }
                let _ = done_tx.send(result);
            })
            .map_err(Error::Spawn)?;
        match ready_rx.recv() {
            Ok(Ok(handle)) => Ok(Thread { handle, join: Some(join), done, result: None }),
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
