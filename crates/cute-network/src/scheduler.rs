//! Host queues (private): which request runs when, on which pool thread.
//!
//! Each origin (scheme, host, port) has a queue of jobs, served by up to `per_host`
//! runners at once (Qt's connections-per-host limit). A runner is a pool task that takes
//! its host's jobs one after another until the queue is empty, so a burst of requests to
//! a host costs no thread hand-off per request; then it lingers a moment for the next one
//! and reports `RunnerIdle`, and the loop starts another runner if jobs arrived meanwhile.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use cute_core::Emitter;

use crate::pool::{Pool, Task};
use crate::protocol::{Event, Origin};
use crate::worker::{self, Job};

/// How long a runner whose host queue ran empty polls it before giving the host up. A
/// sequential client usually sends its next request within this window (the loop answers
/// `Finished` with the next `get`); catching it here saves two thread hand-offs.
const LINGER: Duration = Duration::from_micros(100);

/// One host's queue.
struct HostQueue {
    tx: Sender<Job>,
    rx: Receiver<Job>,
    runners: usize,
    /// Runners polling the queue for a moment before they give the host up.
    lingering: Arc<AtomicUsize>,
}

pub(crate) struct Scheduler {
    hosts: RefCell<HashMap<Origin, HostQueue>>,
    pool: RefCell<Pool<Runner>>,
    events: Emitter<Event>,
}

/// Jobs that no thread will ever run (no worker thread could be started): the caller
/// fails their replies.
#[must_use]
pub(crate) struct Stranded(pub(crate) Vec<Job>);

impl Scheduler {
    pub(crate) fn new(max_workers: usize, events: Emitter<Event>) -> Self {
        Scheduler { hosts: RefCell::default(), pool: RefCell::new(Pool::new(max_workers)), events }
    }

    /// Queues `job` on its host and starts a runner if the host has room and no lingering
    /// runner will take it.
    pub(crate) fn enqueue(&self, origin: Origin, job: Job, per_host: usize) -> Stranded {
        let runner = {
            let mut hosts = self.hosts.borrow_mut();
            let host = hosts.entry(origin.clone()).or_insert_with(|| {
                let (tx, rx) = crossbeam_channel::unbounded();
                HostQueue { tx, rx, runners: 0, lingering: Arc::default() }
            });
            // The receiver lives in the same queue: the send cannot fail.
            let _ = host.tx.send(job);
            let waiting_for_a_runner = host.rx.len() > host.lingering.load(Ordering::SeqCst);
            (host.runners < per_host && waiting_for_a_runner).then(|| {
                host.runners += 1;
                self.runner(&origin, host)
            })
        };
        self.start(runner.into_iter().collect())
    }

    /// A runner found its host's queue empty and gave the host up; start another if jobs
    /// arrived meanwhile (or the per-host limit grew).
    pub(crate) fn runner_idle(&self, origin: &Origin, per_host: usize) -> Stranded {
        let start = {
            let mut hosts = self.hosts.borrow_mut();
            let Some(host) = hosts.get_mut(origin) else { return Stranded(Vec::new()) };
            host.runners = host.runners.saturating_sub(1);
            let start = self.top_up_host(origin, host, per_host);
            if host.runners == 0 && host.rx.is_empty() {
                hosts.remove(origin);
            }
            start
        };
        self.start(start)
    }

    /// Starts runners for hosts with waiting jobs, up to a (new) per-host limit.
    pub(crate) fn top_up(&self, per_host: usize) -> Stranded {
        let start: Vec<Runner> = {
            let mut hosts = self.hosts.borrow_mut();
            hosts.iter_mut().flat_map(|(origin, host)| self.top_up_host(origin, host, per_host)).collect()
        };
        self.start(start)
    }

    /// Runners to start so that every waiting job not promised to a lingering runner has
    /// one, within the per-host limit.
    fn top_up_host(&self, origin: &Origin, host: &mut HostQueue, per_host: usize) -> Vec<Runner> {
        let mut wanted = host.rx.len().saturating_sub(host.lingering.load(Ordering::SeqCst));
        let mut start = Vec::new();
        while host.runners < per_host && wanted > 0 {
            host.runners += 1;
            wanted -= 1;
            start.push(self.runner(origin, host));
        }
        start
    }

    fn runner(&self, origin: &Origin, host: &HostQueue) -> Runner {
        Runner {
            origin: origin.clone(),
            jobs: host.rx.clone(),
            lingering: host.lingering.clone(),
            events: self.events.clone(),
        }
    }

    /// Hands runners to the pool; a host that no thread can ever serve gives up its jobs.
    fn start(&self, runners: Vec<Runner>) -> Stranded {
        let mut stranded = Vec::new();
        for runner in runners {
            let Err(runner) = self.pool.borrow().execute(runner) else { continue };
            let mut hosts = self.hosts.borrow_mut();
            let Some(host) = hosts.get_mut(&runner.origin) else { continue };
            host.runners -= 1;
            if host.runners == 0 {
                stranded.extend(host.rx.try_iter());
            }
        }
        Stranded(stranded)
    }

    /// Drops the jobs waiting in the host queues (they will never run). Done before the
    /// live replies are aborted: a runner whose request is aborted would otherwise take
    /// the next queued job and connect.
    pub(crate) fn drop_queued(&self) {
        for host in self.hosts.borrow().values() {
            while host.rx.try_recv().is_ok() {}
        }
    }

    /// Jobs waiting for a runner.
    pub(crate) fn queued(&self) -> usize {
        self.hosts.borrow().values().map(|h| h.rx.len()).sum()
    }

    /// Live worker threads.
    pub(crate) fn threads(&self) -> usize {
        self.pool.borrow().threads()
    }

    pub(crate) fn set_max_workers(&self, n: usize) {
        self.pool.borrow_mut().set_cap(n);
    }

    /// Drops every queued job and the queues (so runners find them empty and closed and
    /// stop at once), then waits up to `limit` for the workers to exit.
    pub(crate) fn shutdown(&self, limit: Duration) {
        self.drop_queued();
        drop(std::mem::take(&mut *self.hosts.borrow_mut()));
        self.pool.borrow_mut().shutdown(limit);
    }
}

/// Takes one host's jobs until its queue is empty (a pool task).
pub(crate) struct Runner {
    origin: Origin,
    jobs: Receiver<Job>,
    lingering: Arc<AtomicUsize>,
    events: Emitter<Event>,
}

impl Task for Runner {
    fn run(&mut self) {
        loop {
            let job = match self.jobs.try_recv() {
                Ok(job) => job,
                Err(_) => {
                    self.lingering.fetch_add(1, Ordering::SeqCst);
                    let job = linger(&self.jobs);
                    self.lingering.fetch_sub(1, Ordering::SeqCst);
                    match job {
                        Some(job) => job,
                        None => return,
                    }
                }
            };
            worker::run(job);
        }
    }

    fn done(self) {
        // The manager being gone is the only way this fails, and then nobody waits.
        let _ = self.events.emit(Event::RunnerIdle(self.origin));
    }
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
