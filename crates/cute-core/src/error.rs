//! Error types of the core crate.

use std::any::Any;
use std::fmt;

/// Errors from setting up or misusing the core objects.
///
/// Runtime events (a slot panicking, a loop being asked to quit) are not errors; this type
/// only covers set-up failures and misuse, following the crate's rule that `Result` is for
/// set-up and misuse while events travel through signals.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A [`CoreApplication`](crate::CoreApplication) already exists in this process.
    #[error("a CoreApplication already exists in this process (only one is allowed at a time)")]
    ApplicationExists,
    /// The operating system refused to create the poller or waker of an event loop
    /// (usually because the process ran out of file descriptors).
    #[error("could not create the event loop's poller")]
    Poller(#[source] std::io::Error),
    /// The operating system refused to spawn a thread.
    #[error("could not spawn a thread")]
    Spawn(#[source] std::io::Error),
    /// A [`Thread`](crate::Thread) ended by panicking; the panic's message is kept.
    #[error("the thread panicked: {0}")]
    ThreadPanicked(String),
    /// [`Thread::wait_timeout`](crate::Thread::wait_timeout) gave up before the thread
    /// finished.
    #[error("timed out waiting for the thread to finish")]
    WaitTimedOut,
    /// A cross-thread call ([`LoopHandle::invoke_blocking`], [`ObjectHandle::invoke_blocking`],
    /// [`LoopHandle::invoke_async`]) could not run: the target loop's thread has ended (or
    /// ended with the call still queued).
    ///
    /// [`LoopHandle::invoke_blocking`]: crate::LoopHandle::invoke_blocking
    /// [`LoopHandle::invoke_async`]: crate::LoopHandle::invoke_async
    /// [`ObjectHandle::invoke_blocking`]: crate::ObjectHandle::invoke_blocking
    #[error("the target event loop is gone")]
    LoopGone,
    /// A blocking call was still queued when the target loop's outermost `exec` returned,
    /// so it was not run (and never will be).
    #[error("the target event loop exited before running the call")]
    LoopExited,
    /// A blocking call was still queued (or still running) when the caller's timeout
    /// passed ([`LoopHandle::invoke_blocking_timeout`](crate::LoopHandle::invoke_blocking_timeout)).
    #[error("timed out waiting for the invoked call")]
    InvokeTimedOut,
    /// A cross-thread call panicked; the panic's message is kept. The target loop goes on.
    /// Also the end of a task that panicked ([`JoinHandle`](crate::JoinHandle),
    /// [`RemoteJoinHandle`](crate::RemoteJoinHandle)).
    #[error("the invoked call panicked: {0}")]
    CallPanicked(String),
    /// The task was aborted before it completed ([`JoinHandle::abort`](crate::JoinHandle::abort),
    /// [`RemoteJoinHandle::abort`](crate::RemoteJoinHandle::abort)).
    #[error("the task was aborted")]
    Aborted,
}

/// The time given to [`timeout`](crate::timeout) ran out before its future completed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{Elapsed, block_on, sleep, timeout};
///
/// let late = block_on(timeout(Duration::from_millis(1), sleep(Duration::from_secs(60))));
/// assert_eq!(late, Err(Elapsed));
/// assert_eq!(Elapsed.to_string(), "the deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("the deadline has elapsed")]
pub struct Elapsed;

/// Why a [`Property`](crate::Property)'s binding could not give a value (Qt's
/// `QPropertyBindingError`), from [`Property::binding_error`](crate::Property::binding_error).
///
/// The property keeps its last good value meanwhile. (A binding that panics is not an
/// error value: the panic propagates, as a slot's does.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[doc(alias = "QPropertyBindingError")]
#[non_exhaustive]
pub enum BindingError {
    /// The binding depends on its own value, directly or through other bindings (Qt's
    /// `QPropertyBindingError::BindingLoop`).
    #[doc(alias = "BindingLoop")]
    #[error("binding loop: the binding depends on its own value")]
    Loop,
}

/// The message of a panic payload (`panic!` with a literal or a format string).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// Posting to an event loop that no longer exists: the value is handed back.
///
/// Returned by [`LoopHandle::post`](crate::LoopHandle::post),
/// [`Emitter::emit`](crate::Emitter::emit) and friends when the receiving thread has ended
/// (or the receiving signal was dropped). Posting never blocks and never panics.
///
/// # Examples
///
/// ```
/// use cute_core::Thread;
///
/// let mut thread = Thread::start().unwrap();
/// let handle = thread.handle();
/// thread.quit();
/// thread.wait().unwrap();
/// let err = handle.post(|| println!("never runs")).unwrap_err();
/// let _closure = err.into_inner(); // the closure comes back
/// ```
pub struct PostError<T>(pub T);

impl<T> PostError<T> {
    /// Takes back the value that could not be delivered.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for PostError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PostError(..)")
    }
}

impl<T> fmt::Display for PostError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the receiving event loop or signal is gone")
    }
}

impl<T> std::error::Error for PostError<T> {}
