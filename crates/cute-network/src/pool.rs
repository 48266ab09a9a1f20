//! The worker thread pool (private): threads are spawned on demand up to a cap, run jobs
//! from a channel, and exit after a while idle or when the manager goes away.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::worker::{self, Job};

/// How long an idle worker waits for a job before its thread exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);

struct Shared {
    jobs: Receiver<Job>,
    idle: AtomicUsize,
    threads: Mutex<usize>,
    exited: Condvar,
}

pub(crate) struct Pool {
    tx: Option<Sender<Job>>,
    shared: Arc<Shared>,
    cap: usize,
}

impl Pool {
    pub(crate) fn new(cap: usize) -> Self {
        let (tx, jobs) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            jobs,
            idle: AtomicUsize::new(0),
            threads: Mutex::new(0),
            exited: Condvar::new(),
        });
        Pool { tx: Some(tx), shared, cap: cap.max(1) }
    }

    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
    }

    /// Live worker threads.
    pub(crate) fn threads(&self) -> usize {
        *self.shared.threads.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a job, spawning a thread if none is idle and the cap allows. If no thread
    /// can run it, the job is handed back.
    pub(crate) fn execute(&self, job: Job) -> Result<(), Job> {
        let Some(tx) = &self.tx else { return Err(job) };
        tx.send(job).map_err(|e| e.0)?;
        if self.shared.jobs.len() <= self.shared.idle.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut threads = self.shared.threads.lock().unwrap_or_else(|e| e.into_inner());
        if *threads >= self.cap {
            return Ok(());
        }
        let shared = self.shared.clone();
        let spawned =
            std::thread::Builder::new().name("cute-network-worker".into()).spawn(move || work(shared));
        match spawned {
            Ok(_) => {
                *threads += 1;
                Ok(())
            }
            Err(e) => {
                log::error!("cute-network: cannot spawn a worker thread: {e}");
                if *threads == 0 {
                    // Nobody will ever take it: hand it back to fail it.
                    drop(threads);
                    self.shared.jobs.try_recv().map_or(Ok(()), Err)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Stops taking jobs and waits up to `limit` for the workers to exit. Workers still
    /// running afterwards (stuck connecting) are left to finish on their own.
    pub(crate) fn shutdown(&mut self, limit: Duration) {
        self.tx = None;
        let deadline = Instant::now() + limit;
        let mut threads = self.shared.threads.lock().unwrap_or_else(|e| e.into_inner());
        while *threads > 0 {
            let now = Instant::now();
            if now >= deadline {
                log::warn!("cute-network: {} worker(s) still busy at shutdown; detaching them", *threads);
                return;
            }
            threads = self
                .shared
                .exited
                .wait_timeout(threads, deadline - now)
                .map(|r| r.0)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

fn work(shared: Arc<Shared>) {
    shared.idle.fetch_add(1, Ordering::SeqCst);
    loop {
        match shared.jobs.recv_timeout(IDLE_EXIT) {
            Ok(job) => {
                shared.idle.fetch_sub(1, Ordering::SeqCst);
                let (events, last) = worker::run(job);
                // Idle again before reporting: the loop starts the next job on `Finished`,
                // and must find this thread free rather than spawn another.
                shared.idle.fetch_add(1, Ordering::SeqCst);
                let _ = events.emit(last);
            }
            Err(RecvTimeoutError::Timeout) => {
                // Decide under the lock `execute` takes before it declines to spawn, so a job
                // queued meanwhile is never stranded.
                let mut threads = shared.threads.lock().unwrap_or_else(|e| e.into_inner());
                if shared.jobs.is_empty() {
                    shared.idle.fetch_sub(1, Ordering::SeqCst);
                    *threads -= 1;
                    shared.exited.notify_all();
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    shared.idle.fetch_sub(1, Ordering::SeqCst);
    let mut threads = shared.threads.lock().unwrap_or_else(|e| e.into_inner());
    *threads -= 1;
    shared.exited.notify_all();
}
