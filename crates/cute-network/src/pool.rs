//! The worker thread pool (private): threads are spawned on demand up to a cap, run jobs
//! from a channel, and exit after a while idle or when the manager goes away.
//!
//! Accounting, all under one lock: every job sent is matched by exactly one thread that
//! will receive it — a `free` thread (reserved by decrementing `free`), a newly spawned
//! thread, or, when the cap is reached, the next thread to finish a job (`backlog`). So no
//! job waits for a thread that is not coming, and no thread is spawned while one is free.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::worker::{self, Job};

/// How long an idle worker waits for a job before its thread exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// How long a worker that just finished a job polls for the next one before it sleeps.
/// The loop usually answers a `Finished` with the next request within this window (a
/// sequential client); catching it here saves a thread wake-up per request.
const LINGER: Duration = Duration::from_micros(100);

#[derive(Default)]
struct Counts {
    threads: usize,
    /// Threads waiting for a job that no sent job is matched with yet.
    free: usize,
    /// Jobs sent while every thread was busy and the cap was reached.
    backlog: usize,
}

struct Shared {
    jobs: Receiver<Job>,
    counts: Mutex<Counts>,
    exited: Condvar,
}

impl Shared {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct Pool {
    tx: Option<Sender<Job>>,
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

    /// Queues a job for a free thread, a new thread (within the cap), or the next thread
    /// to finish. If no thread can ever run it, the job is handed back.
    pub(crate) fn execute(&self, job: Job) -> Result<(), Box<Job>> {
        let Some(tx) = &self.tx else { return Err(Box::new(job)) };
        let mut counts = self.shared.counts();
        tx.send(job).map_err(|e| Box::new(e.0))?;
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
                        return self.shared.jobs.try_recv().map_or(Ok(()), |job| Err(Box::new(job)));
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
    let mut lingering = false;
    loop {
        let next = match lingering.then(|| linger(&shared.jobs)).flatten() {
            Some(job) => Ok(job),
            None => shared.jobs.recv_timeout(IDLE_EXIT),
        };
        lingering = false;
        let job = match next {
            Ok(job) => job,
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
        let (events, last) = worker::run(job);
        {
            // Free again (or taking a backlogged job) before reporting: the loop starts
            // the next request on `Finished` and must find this thread available.
            let mut counts = shared.counts();
            if counts.backlog > 0 {
                counts.backlog -= 1;
            } else {
                counts.free += 1;
                lingering = true;
            }
        }
        let _ = events.emit(last);
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
        if let Ok(job) = jobs.try_recv() {
            return Some(job);
        }
        if Instant::now() >= until {
            return None;
        }
        std::hint::spin_loop();
    }
}
