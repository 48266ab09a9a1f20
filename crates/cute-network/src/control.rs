//! What the loop and a request's task share about one reply (private plumbing): the abort
//! switch, the byte budget of the task→loop hand-off, and the slot through which the loop
//! answers the task's question.
//!
//! A request runs on its manager's runtime, in its host's runner task. It waits in two
//! places only, both here: for hand-off budget ([`Control::acquire`]) and for an answer
//! ([`Control::ask`]). An abort cancels the request outright: the runner drops it at its
//! next await (name resolution, connect, a read, a write, or one of these waits)
//! ([`Control::cancelled`]), which closes its connection (over HTTP/2, resets its stream
//! only).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::{Notify, oneshot};

use crate::protocol::Answer;
use crate::sync::lock;

/// Bytes a task may have handed to the loop and not yet had consumed.
pub(crate) const HANDOFF_LIMIT: usize = 1024 * 1024;

pub(crate) struct Control {
    aborted: AtomicBool,
    /// The application may see the body while it arrives (a `ready_read` slot, a read
    /// buffer limit, a read before the end): the body must come in chunks. Until then the
    /// task gathers it whole (see `worker::transfer`).
    watched: AtomicBool,
    /// Hand-off budget in bytes: a chunk takes from it, the loop gives back as the
    /// application reads.
    budget: AtomicUsize,
    /// Wakes the runner running the request: when it is aborted, and when budget comes
    /// back. One `Notify` for both (every waiter re-checks its condition), which keeps a
    /// queued request's control small.
    wake: Notify,
    /// Where the loop's answer goes, while a question is open.
    answer: Mutex<Option<oneshot::Sender<Answer>>>,
}

impl Control {
    pub(crate) fn new() -> Self {
        Control {
            aborted: AtomicBool::new(false),
            watched: AtomicBool::new(false),
            budget: AtomicUsize::new(HANDOFF_LIMIT),
            wake: Notify::new(),
            answer: Mutex::new(None),
        }
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// The application may look at the body before it is complete (never undone).
    pub(crate) fn watch(&self) {
        self.watched.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_watched(&self) -> bool {
        self.watched.load(Ordering::Relaxed)
    }

    /// Stops the request: one not started yet never starts, a running one is cancelled at
    /// once (whatever it is waiting for).
    pub(crate) fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
        lock(&self.answer).take();
    }

    /// Completes when the request is aborted (at once if it already was).
    pub(crate) async fn cancelled(&self) {
        loop {
            // Made before the check: `notify_waiters` reaches a `Notified` from its making.
            let woken = self.wake.notified();
            if self.is_aborted() {
                return;
            }
            woken.await;
        }
    }

    /// Waits until `n` more bytes fit in the hand-off (a chunk larger than the whole budget
    /// waits for all of it, so it cannot deadlock). Returns false if aborted.
    pub(crate) async fn acquire(&self, n: usize) -> bool {
        let n = n.min(HANDOFF_LIMIT);
        loop {
            let woken = self.wake.notified();
            if self.is_aborted() {
                return false;
            }
            let mut free = self.budget.load(Ordering::Acquire);
            while free >= n {
                match self.budget.compare_exchange_weak(free, free - n, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return true,
                    Err(now) => free = now,
                }
            }
            woken.await;
        }
    }

    /// The loop consumed `n` bytes.
    pub(crate) fn release(&self, n: u64) {
        let n = usize::try_from(n).unwrap_or(HANDOFF_LIMIT).min(HANDOFF_LIMIT);
        // Never above the limit: a chunk larger than it took only the limit, and is given
        // back in pieces as it is read.
        let _ = self.budget.fetch_update(Ordering::AcqRel, Ordering::Acquire, |free| {
            Some(free.saturating_add(n).min(HANDOFF_LIMIT))
        });
        self.wake.notify_waiters();
    }

    /// Opens a question: the returned receiver gets the loop's answer (an error if the
    /// request is aborted before it comes).
    pub(crate) fn ask(&self) -> oneshot::Receiver<Answer> {
        let (tx, rx) = oneshot::channel();
        *lock(&self.answer) = Some(tx);
        rx
    }

    /// The loop answers the question the task asked.
    pub(crate) fn answer(&self, answer: Answer) {
        if let Some(tx) = lock(&self.answer).take() {
            let _ = tx.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn budget_blocks_past_the_limit_until_released_or_aborted() {
        runtime().block_on(async {
            let control = Arc::new(Control::new());
            assert!(
                control.acquire(HANDOFF_LIMIT + 5).await,
                "a chunk larger than the limit is admitted alone"
            );
            let waiting = tokio::spawn({
                let control = control.clone();
                async move { control.acquire(10).await }
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(!waiting.is_finished(), "admitted past the limit");
            control.release((HANDOFF_LIMIT + 5) as u64);
            assert!(waiting.await.unwrap());

            assert!(control.acquire(HANDOFF_LIMIT - 10).await);
            let waiting = tokio::spawn({
                let control = control.clone();
                async move { control.acquire(100).await }
            });
            tokio::task::yield_now().await;
            control.abort();
            assert!(!waiting.await.unwrap(), "abort ends the wait");
        });
    }

    #[test]
    fn giving_back_more_than_was_taken_never_raises_the_budget_past_the_limit() {
        runtime().block_on(async {
            let control = Control::new();
            // A chunk of 50 MiB took the whole budget (1 MiB) and is read in 64 KiB steps.
            assert!(control.acquire(50 * 1024 * 1024).await);
            for _ in 0..800 {
                control.release(64 * 1024);
            }
            assert!(control.acquire(HANDOFF_LIMIT).await, "the whole budget is back");
            let more = tokio::time::timeout(Duration::from_millis(20), control.acquire(1)).await;
            assert!(more.is_err(), "but no more than the limit");
        });
    }

    #[test]
    fn answers_reach_the_asking_task_and_abort_ends_the_wait() {
        runtime().block_on(async {
            let control = Control::new();
            let asked = control.ask();
            control.answer(Answer::Redirect { allowed: true });
            assert!(matches!(asked.await, Ok(Answer::Redirect { allowed: true })));
            let asked = control.ask();
            control.abort();
            assert!(asked.await.is_err());
        });
    }

    #[test]
    fn cancelled_completes_on_abort_before_or_during_the_wait() {
        runtime().block_on(async {
            let control = Arc::new(Control::new());
            let waiting = tokio::spawn({
                let control = control.clone();
                async move { control.cancelled().await }
            });
            tokio::task::yield_now().await;
            assert!(!waiting.is_finished());
            control.abort();
            tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
            // Aborted before anyone waits: no wait at all.
            let control = Control::new();
            control.abort();
            tokio::time::timeout(Duration::from_secs(5), control.cancelled()).await.unwrap();
        });
    }
}
