//! The worker thread pool (private): threads are spawned on demand up to a cap, run
//! [`Task`]s from a channel, and exit after a while idle or when the pool is shut down.
//!
//! Accounting, all under one lock: every task sent is matched by exactly one thread that
//! will receive it — a `free` thread (reserved by decrementing `free`), a newly spawned
//! thread, or, when the cap is reached, the next thread to finish a task (`backlog`). So
//! no task waits for a thread that is not coming, and no thread is spawned while one is
//! free.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::sync::lock;

/// How long an idle worker waits for a task before its thread exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// Work for a pool thread.
pub(crate) trait Task: Send + 'static {
    /// Does the work.
    fn run(&mut self);

    /// Called once the thread that ran the task counts as free again, so that whoever
    /// hears from `done` and sends the next task finds the thread available.
    fn done(self);
}

#[derive(Default)]
struct Counts {
    threads: usize,
    /// Threads waiting for a task that no sent task is matched with yet.
    free: usize,
    /// Tasks sent while every thread was busy and the cap was reached.
    backlog: usize,
}

struct Shared<T> {
    tasks: Receiver<T>,
    counts: Mutex<Counts>,
    exited: Condvar,
}

impl<T> Shared<T> {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        lock(&self.counts)
    }
}

pub(crate) struct Pool<T> {
    tx: Option<Sender<T>>,
    shared: Arc<Shared<T>>,
    cap: usize,
}

impl<T: Task> Pool<T> {
    pub(crate) fn new(cap: usize) -> Self {
        let (tx, tasks) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared { tasks, counts: Mutex::default(), exited: Condvar::new() });
        Pool { tx: Some(tx), shared, cap: cap.max(1) }
    }

    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
    }

    /// Live worker threads.
    pub(crate) fn threads(&self) -> usize {
        self.shared.counts().threads
    }

    /// Queues a task for a free thread, a new thread (within the cap), or the next thread
    /// to finish. If no thread can ever run it, the task is handed back.
    pub(crate) fn execute(&self, task: T) -> Result<(), T> {
        let Some(tx) = &self.tx else { return Err(task) };
        let mut counts = self.shared.counts();
        tx.send(task).map_err(|e| e.0)?;
        if counts.free > 0 {
            counts.free -= 1;
            return Ok(());
        }
        if counts.threads < self.cap {
            let shared = self.shared.clone();
            match std::thread::Builder::new().name("cute-network-worker".into()).spawn(move || work(shared)) {
                Ok(_) => {
                    counts.threads += 1;
                    return Ok(());
                }
                Err(e) => {
                    log::error!("cute-network: cannot spawn a worker thread: {e}");
                    if counts.threads == 0 {
                        // Nobody will ever take it: hand it back to fail it.
                        return self.shared.tasks.try_recv().map_or(Ok(()), Err);
                    }
                }
            }
        }
        counts.backlog += 1;
        Ok(())
    }

    /// Stops taking tasks and waits up to `limit` for the workers to exit. Workers still
    /// running afterwards (stuck connecting) are left to finish on their own.
    pub(crate) fn shutdown(&mut self, limit: Duration) {
        self.tx = None;
        let deadline = Instant::now() + limit;
        let mut counts = self.shared.counts();
        while counts.threads > 0 {
            let now = Instant::now();
            if now >= deadline {
                log::warn!(
                    "cute-network: {} worker(s) still busy at shutdown; detaching them",
                    counts.threads
                );
                return;
            }
            counts = self
                .shared
                .exited
                .wait_timeout(counts, deadline - now)
                .map(|r| r.0)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

fn work<T: Task>(shared: Arc<Shared<T>>) {
    loop {
        let mut task = match shared.tasks.recv_timeout(IDLE_EXIT) {
            Ok(task) => task,
            Err(RecvTimeoutError::Timeout) => {
                let mut counts = shared.counts();
                if shared.tasks.is_empty() && counts.free > 0 {
                    counts.free -= 1;
                    counts.threads -= 1;
                    shared.exited.notify_all();
                    return;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        task.run();
        {
            // Free again (or taking a backlogged task) before `done`: its news may make
            // the owner send the next task, which must find this thread available.
            let mut counts = shared.counts();
            if counts.backlog > 0 {
                counts.backlog -= 1;
            } else {
                counts.free += 1;
            }
        }
        task.done();
    }
    let mut counts = shared.counts();
    counts.threads -= 1;
    counts.free = counts.free.saturating_sub(1);
    shared.exited.notify_all();
}

#[cfg(test)]
mod tests {
    use std::thread::{self, ThreadId};

    use crossbeam_channel::{Sender, unbounded};

    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    /// A task that reports the thread it runs on, then waits for its gate to open.
    struct Probe {
        gate: Receiver<()>,
        ran: Sender<ThreadId>,
        done: Sender<()>,
    }

    impl Task for Probe {
        fn run(&mut self) {
            self.ran.send(thread::current().id()).unwrap();
            let _ = self.gate.recv_timeout(LIMIT);
        }

        fn done(self) {
            let _ = self.done.send(());
        }
    }

    struct Harness {
        pool: Pool<Probe>,
        gate: (Sender<()>, Receiver<()>),
        ran: (Sender<ThreadId>, Receiver<ThreadId>),
        done: (Sender<()>, Receiver<()>),
    }

    impl Harness {
        fn new(cap: usize) -> Self {
            Harness { pool: Pool::new(cap), gate: unbounded(), ran: unbounded(), done: unbounded() }
        }

        fn probe(&self) -> Probe {
            Probe { gate: self.gate.1.clone(), ran: self.ran.0.clone(), done: self.done.0.clone() }
        }

        fn execute(&self, n: usize) {
            for _ in 0..n {
                assert!(self.pool.execute(self.probe()).is_ok());
            }
        }

        fn ran(&self) -> ThreadId {
            self.ran.1.recv_timeout(LIMIT).expect("a task ran")
        }

        fn open(&self, n: usize) {
            for _ in 0..n {
                self.gate.0.send(()).unwrap();
            }
        }

        fn done(&self) {
            self.done.1.recv_timeout(LIMIT).expect("a task finished");
        }
    }

    #[test]
    fn threads_stay_within_the_cap_and_the_backlog_runs_on_the_threads_that_free_up() {
        let h = Harness::new(2);
        h.execute(5);
        let first = [h.ran(), h.ran()];
        assert_eq!(h.pool.threads(), 2);
        assert!(h.ran.1.recv_timeout(Duration::from_millis(50)).is_err(), "a third task ran at a cap of 2");
        h.open(5);
        for _ in 0..3 {
            assert!(first.contains(&h.ran()), "a backlogged task ran on a new thread");
        }
        for _ in 0..5 {
            h.done();
        }
        assert_eq!(h.pool.threads(), 2);
    }

    #[test]
    fn a_free_thread_is_reused_and_counts_as_free_before_done() {
        let h = Harness::new(4);
        h.open(3);
        h.execute(1);
        let thread = h.ran();
        h.done();
        // `done` came after the thread was marked free: the next task must not spawn.
        h.execute(1);
        assert_eq!(h.ran(), thread);
        h.done();
        h.execute(1);
        assert_eq!(h.ran(), thread);
        h.done();
        assert_eq!(h.pool.threads(), 1);
    }

    #[test]
    fn shutdown_joins_idle_threads_and_hands_later_tasks_back() {
        let mut h = Harness::new(3);
        h.open(3);
        h.execute(3);
        for _ in 0..3 {
            h.ran();
            h.done();
        }
        h.pool.shutdown(LIMIT);
        assert_eq!(h.pool.threads(), 0);
        assert!(h.pool.execute(h.probe()).is_err());
    }

    #[test]
    fn shutdown_gives_up_on_a_stuck_thread_after_the_limit() {
        let mut h = Harness::new(1);
        h.execute(1);
        h.ran();
        let start = Instant::now();
        h.pool.shutdown(Duration::from_millis(100));
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert_eq!(h.pool.threads(), 1, "the stuck thread is detached, not counted out");
        h.open(1);
        h.done();
    }
}
