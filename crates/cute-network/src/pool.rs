//! The worker thread pool (private): threads are spawned on demand up to a cap, run
//! [`Runner`]s from a channel, and exit after a while idle or when the manager goes away.
//!
//! A runner serves one host: it takes that host's queued jobs one after another until the
//! queue is empty, so a burst of requests to a host costs no thread hand-off per request.
//!
//! Accounting, all under one lock: every runner sent is matched by exactly one thread that
//! will receive it — a `free` thread (reserved by decrementing `free`), a newly spawned
//! thread, or, when the cap is reached, the next thread to finish a runner (`backlog`). So
//! no runner waits for a thread that is not coming, and no thread is spawned while one is
//! free.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use cute_core::Emitter;

use crate::manager::HostKey;
use crate::worker::{self, Event, EventKind, Job};

/// How long an idle worker waits for a job before its thread exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// How long a runner whose host queue ran empty polls it before giving the host up. A
/// sequential client usually sends its next request within this window (the loop answers
/// `Finished` with the next `get`); catching it here saves two thread hand-offs.
const LINGER: Duration = Duration::from_micros(100);

/// Takes one host's jobs until its queue is empty.
pub(crate) struct Runner {
    host: HostKey,
    jobs: Receiver<Job>,
    lingering: Arc<AtomicUsize>,
    events: Emitter<Event>,
}

impl Runner {
    pub(crate) fn new(
        host: HostKey,
        jobs: Receiver<Job>,
        lingering: Arc<AtomicUsize>,
        events: Emitter<Event>,
    ) -> Self {
        Runner { host, jobs, lingering, events }
    }

    pub(crate) fn host(&self) -> &HostKey {
        &self.host
    }

    /// Runs the host's jobs (each reports its own `Finished`); returns the `RunnerIdle`
    /// event for the caller to send once the thread counts as free.
    fn run(self) -> (Emitter<Event>, Event) {
        loop {
            let job = match self.jobs.try_recv() {
                Ok(job) => job,
                Err(_) => {
                    self.lingering.fetch_add(1, Ordering::SeqCst);
                    let job = linger(&self.jobs);
                    self.lingering.fetch_sub(1, Ordering::SeqCst);
                    match job {
                        Some(job) => job,
                        None => break,
                    }
                }
            };
            let (events, finished) = worker::run(job);
            let _ = events.emit(finished);
        }
        let events = self.events.clone();
        (events, Event::new(0, EventKind::RunnerIdle(self.host)))
    }
}

#[derive(Default)]
struct Counts {
    threads: usize,
    /// Threads waiting for a job that no sent job is matched with yet.
    free: usize,
    /// Jobs sent while every thread was busy and the cap was reached.
    backlog: usize,
}

struct Shared {
    jobs: Receiver<Runner>,
    counts: Mutex<Counts>,
    exited: Condvar,
}

impl Shared {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct Pool {
    tx: Option<Sender<Runner>>,
    shared: Arc<Shared>,
    cap: usize,
}

impl Pool {
    pub(crate) fn new(cap: usize) -> Self {
        let (tx, jobs) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared { jobs, counts: Mutex::default(), exited: Condvar::new() });
        Pool { tx: Some(tx), shared, cap: cap.max(1) }
    }

    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
    }

    /// Live worker threads.
    pub(crate) fn threads(&self) -> usize {
        self.shared.counts().threads
    }

    /// Queues a runner for a free thread, a new thread (within the cap), or the next thread
    /// to finish. If no thread can ever run it, the runner is handed back.
    pub(crate) fn execute(&self, runner: Runner) -> Result<(), Runner> {
        let Some(tx) = &self.tx else { return Err(runner) };
        let mut counts = self.shared.counts();
        tx.send(runner).map_err(|e| e.0)?;
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
                        return self.shared.jobs.try_recv().map_or(Ok(()), Err);
                    }
                }
            }
        }
        counts.backlog += 1;
        Ok(())
    }

    /// Stops taking jobs and waits up to `limit` for the workers to exit. Workers still
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

fn work(shared: Arc<Shared>) {
    loop {
        let runner = match shared.jobs.recv_timeout(IDLE_EXIT) {
            Ok(runner) => runner,
            Err(RecvTimeoutError::Timeout) => {
                let mut counts = shared.counts();
                if shared.jobs.is_empty() && counts.free > 0 {
                    counts.free -= 1;
                    counts.threads -= 1;
                    shared.exited.notify_all();
                    return;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let (events, idle) = runner.run();
        {
            // Free again (or taking a backlogged runner) before reporting: the loop may
            // start the next runner on `RunnerIdle` and must find this thread available.
            let mut counts = shared.counts();
            if counts.backlog > 0 {
                counts.backlog -= 1;
            } else {
                counts.free += 1;
            }
        }
        let _ = events.emit(idle);
    }
    let mut counts = shared.counts();
    counts.threads -= 1;
    counts.free = counts.free.saturating_sub(1);
    shared.exited.notify_all();
}

/// Polls for a job for up to [`LINGER`].
fn linger(jobs: &Receiver<Job>) -> Option<Job> {
    let until = Instant::now() + LINGER;
    loop {
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            // The manager is gone: stop at once rather than poll out the window.
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::yield_now();
    }
}
