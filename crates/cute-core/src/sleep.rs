//! Timers as futures: [`sleep`], [`sleep_until`] and [`timeout`], on the loop's timers
//! ([`Timer::single_shot`], cancelled when the future is dropped).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::Elapsed;
use crate::timer::{SingleShot, Timer};
use crate::timer_queue;

/// Completes after `duration`, on the current thread's loop (the future form of Qt's
/// `QTimer::singleShot`; asyncio's `sleep`).
///
/// The deadline is taken now; the timer is started when the future is first polled, and
/// cancelled if it is dropped before it fires. Like every timer of the loop it never fires
/// early. A duration too large for the clock sleeps as long as a timer can ("forever").
///
/// # Threading
///
/// The returned [`Sleep`] is `!Send`: it runs on the loop of the thread that polls it
/// first. To sleep inside a task on another thread's loop, make the task there
/// ([`LoopHandle::spawn_with`](crate::LoopHandle::spawn_with)).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use cute_core::{block_on, sleep};
///
/// let start = Instant::now();
/// block_on(sleep(Duration::from_millis(10)));
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// ```
#[doc(alias = "asyncio.sleep")]
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(timer_queue::after(Instant::now(), duration))
}

/// Completes at `deadline` (see [`sleep`]); at once if it has passed.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { deadline, fired: Rc::default(), shot: None }
}

/// The timer's side of a [`Sleep`]: set when it fires, and the task to wake then.
#[derive(Default)]
struct Fired {
    done: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// A future that completes at a deadline ([`sleep`], [`sleep_until`]).
///
/// Dropping it cancels its timer.
pub struct Sleep {
    deadline: Instant,
    fired: Rc<Fired>,
    /// The loop's timer, once polled.
    shot: Option<SingleShot>,
}

impl Sleep {
    /// When it completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.fired.done.get() || Instant::now() >= self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_elapsed() {
            if let Some(shot) = self.shot.take() {
                shot.cancel();
            }
            return Poll::Ready(());
        }
        {
            let mut waker = self.fired.waker.borrow_mut();
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
        }
        if self.shot.is_none() {
            let fired = Rc::downgrade(&self.fired);
            let delay = self.deadline.saturating_duration_since(Instant::now());
            self.shot = Some(Timer::single_shot(delay, move || {
                let Some(fired) = fired.upgrade() else { return };
                fired.done.set(true);
                let waker = fired.waker.borrow_mut().take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            }));
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(shot) = self.shot.take() {
            shot.cancel();
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}

/// Runs `future` for at most `duration`: `Ok(output)` if it completes in time, else
/// `Err(Elapsed)`; the future is dropped with the `Timeout` (asyncio's `wait_for`,
/// tokio's `timeout`; the async form of a `QEventLoop` with a watchdog timer).
///
/// The future is polled first, so one that is ready wins even if the time is up. The timer
/// is the loop's ([`sleep`]), cancelled when the returned future is dropped.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{Elapsed, Signal, block_on, timeout};
///
/// assert_eq!(block_on(timeout(Duration::from_secs(10), async { 7 })), Ok(7));
///
/// let never = Signal::<()>::new();
/// let waited = block_on(timeout(Duration::from_millis(5), never.next()));
/// assert_eq!(waited, Err(Elapsed));
/// assert_eq!(never.receivers(), 0); // the dropped future disconnected its slot
/// ```
#[doc(alias = "wait_for")]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout { future: Box::pin(future), sleep: sleep(duration) }
}

/// The future of [`timeout`].
pub struct Timeout<F> {
    future: Pin<Box<F>>,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// When it gives up.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = self.future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout").field("sleep", &self.sleep).finish_non_exhaustive()
    }
}
