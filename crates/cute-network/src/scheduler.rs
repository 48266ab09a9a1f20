//! Host queues (private): which request runs when.
//!
//! Each origin (scheme, host, port) has a queue of jobs, served by up to `per_host`
//! runners at once (Qt's connections-per-host limit). A runner is a task on the manager's
//! runtime that takes its host's jobs one after another until the queue is empty (each job
//! a task of its own, which an abort cancels); then it lingers a moment for the next one
//! and reports `RunnerIdle`, and the loop starts another runner if jobs arrived meanwhile.
//! Queued jobs cost their descriptors only: 10,000 queued requests are not 10,000 tasks.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::request::Priority;
use tokio::runtime::Runtime;

use crate::exchange::Exchange;
use crate::protocol::{Event, Origin, ReplyEvent};
use crate::worker::{self, Shared};

/// The runtime's worker threads: requests are I/O-bound, two threads keep a core busy
/// while the other waits.
const RUNTIME_THREADS: usize = 2;

/// How long a runner whose host queue ran empty polls it before giving the host up. A
/// sequential client usually sends its next request within this window (the loop answers
/// `Finished` with the next `get`); catching it here saves two thread hand-offs.
const LINGER: Duration = Duration::from_micros(100);

/// Runners for an origin whose server multiplexes requests (HTTP/2): the server's
/// `SETTINGS_MAX_CONCURRENT_STREAMS` is the real limit (requests beyond it wait in hyper
/// for a stream), so this only bounds the tasks.
const MULTIPLEXED_RUNNERS: usize = 1024;

/// A host's waiting jobs in three lanes, by request priority (Qt's `setPriority`): a
/// runner takes from the highest lane that has one; within a lane, first come first
/// served.
#[derive(Clone)]
struct Lanes {
    high: Receiver<Arc<Exchange>>,
    normal: Receiver<Arc<Exchange>>,
    low: Receiver<Arc<Exchange>>,
}

impl Lanes {
    fn try_recv(&self) -> Result<Arc<Exchange>, TryRecvError> {
        match self.high.try_recv() {
            Err(TryRecvError::Empty) => match self.normal.try_recv() {
                Err(TryRecvError::Empty) => self.low.try_recv(),
                other => other,
            },
            other => other,
        }
    }

    fn len(&self) -> usize {
        self.high.len() + self.normal.len() + self.low.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn drain(&self) -> impl Iterator<Item = Arc<Exchange>> + '_ {
        self.high.try_iter().chain(self.normal.try_iter()).chain(self.low.try_iter())
    }
}

/// One host's queue.
struct HostQueue {
    tx: [Sender<Arc<Exchange>>; 3],
    rx: Lanes,
    runners: usize,
    /// Runners polling the queue for a moment before they give the host up.
    lingering: Arc<AtomicUsize>,
}

pub(crate) struct Scheduler {
    hosts: RefCell<HashMap<Origin, HostQueue>>,
    /// Origins whose server was found to multiplex requests (HTTP/2).
    multiplexed: RefCell<HashSet<Origin>>,
    /// The manager's runtime, started with its first request.
    runtime: RefCell<Option<Runtime>>,
    /// The cap on the runtime's threads (workers, and threads for blocking work such as
    /// name resolution and file I/O).
    max_threads: std::cell::Cell<usize>,
    shared: Shared,
}

/// Jobs that no thread will ever run (no worker thread could be started): the caller
/// fails their replies.
#[must_use]
pub(crate) struct Stranded(pub(crate) Vec<Arc<Exchange>>);

impl Scheduler {
    pub(crate) fn new(max_workers: usize, shared: Shared) -> Self {
        Scheduler {
            hosts: RefCell::default(),
            multiplexed: RefCell::default(),
            runtime: RefCell::new(None),
            max_threads: std::cell::Cell::new(max_workers),
            shared,
        }
    }

    /// The runtime's handle, starting it if needed; `None` if it cannot be started.
    fn handle(&self) -> Option<tokio::runtime::Handle> {
        let mut runtime = self.runtime.borrow_mut();
        if runtime.is_none() {
            let max = self.max_threads.get().max(1);
            let built = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(RUNTIME_THREADS.min(max))
                .max_blocking_threads(max)
                .thread_name("cute-network")
                .enable_all()
                .build();
            match built {
                Ok(built) => *runtime = Some(built),
                Err(e) => {
                    log::error!("cute-network: cannot start the network runtime: {e}");
                    return None;
                }
            }
        }
        runtime.as_ref().map(|r| r.handle().clone())
    }

    /// Queues `job` on its host and starts a runner if the host has room and no lingering
    /// runner will take it.
    pub(crate) fn enqueue(&self, origin: Origin, job: Arc<Exchange>, per_host: usize) -> Stranded {
        let runner = {
            let mut hosts = self.hosts.borrow_mut();
            let host = hosts.entry(origin.clone()).or_insert_with(|| {
                let (high, high_rx) = crossbeam_channel::unbounded();
                let (normal, normal_rx) = crossbeam_channel::unbounded();
                let (low, low_rx) = crossbeam_channel::unbounded();
                let rx = Lanes { high: high_rx, normal: normal_rx, low: low_rx };
                HostQueue { tx: [high, normal, low], rx, runners: 0, lingering: Arc::default() }
            });
            let lane = match job.request.priority() {
                Priority::HighPriority => 0,
                Priority::NormalPriority => 1,
                Priority::LowPriority => 2,
            };
            // The receiver lives in the same queue: the send cannot fail.
            let _ = host.tx[lane].send(job);
            let waiting_for_a_runner = host.rx.len() > host.lingering.load(Ordering::SeqCst);
            (host.runners < self.limit(&origin, per_host) && waiting_for_a_runner).then(|| {
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

    /// How many runners may serve `origin`: the per-host limit (Qt's, for HTTP/1.1), or
    /// many more once its server was found to multiplex requests.
    fn limit(&self, origin: &Origin, per_host: usize) -> usize {
        if self.multiplexed.borrow().contains(origin) { MULTIPLEXED_RUNNERS.max(per_host) } else { per_host }
    }

    /// Records whether `origin`'s server multiplexes requests, and starts runners for its
    /// waiting jobs if it does.
    pub(crate) fn multiplexed(&self, origin: &Origin, multiplexed: bool, per_host: usize) -> Stranded {
        if !multiplexed {
            // Runners beyond the per-host limit end with their current request; the pool
            // holds HTTP/1.1 exchanges to the limit meanwhile.
            self.multiplexed.borrow_mut().remove(origin);
            return Stranded(Vec::new());
        }
        self.multiplexed.borrow_mut().insert(origin.clone());
        let start = {
            let mut hosts = self.hosts.borrow_mut();
            match hosts.get_mut(origin) {
                Some(host) => self.top_up_host(origin, host, per_host),
                None => Vec::new(),
            }
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
        let limit = self.limit(origin, per_host);
        while host.runners < limit && wanted > 0 {
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
            shared: self.shared.clone(),
        }
    }

    /// Starts runners on the runtime; a host that can never be served gives up its jobs.
    fn start(&self, runners: Vec<Runner>) -> Stranded {
        let mut stranded = Vec::new();
        for runner in runners {
            if let Some(handle) = self.handle() {
                handle.spawn(runner.run());
                continue;
            }
            let mut hosts = self.hosts.borrow_mut();
            let Some(host) = hosts.get_mut(&runner.origin) else { continue };
            host.runners -= 1;
            if host.runners == 0 {
                stranded.extend(host.rx.drain());
            }
        }
        Stranded(stranded)
    }

    /// Opens a connection to `url`'s origin ahead of its requests (on the runtime).
    pub(crate) fn warm(&self, url: url::Url, settings: Arc<crate::settings::Settings>) {
        if let Some(handle) = self.handle() {
            handle.spawn(worker::warm(self.shared.clone(), settings, url));
        }
    }

    /// Drops the jobs waiting in the host queues (they will never run). Done before the
    /// live replies are aborted: a runner whose request is aborted would otherwise take
    /// the next queued job and connect.
    pub(crate) fn drop_queued(&self) {
        for host in self.hosts.borrow().values() {
            host.rx.drain().for_each(drop);
        }
    }

    /// Jobs waiting for a runner.
    pub(crate) fn queued(&self) -> usize {
        self.hosts.borrow().values().map(|h| h.rx.len()).sum()
    }

    /// The runtime's worker threads (none before the first request).
    pub(crate) fn threads(&self) -> usize {
        self.runtime.borrow().as_ref().map_or(0, |r| r.metrics().num_workers())
    }

    /// Caps the runtime's threads; applies when the runtime starts (with the first
    /// request).
    pub(crate) fn set_max_workers(&self, n: usize) {
        self.max_threads.set(n);
    }

    /// Drops every queued job and the queues (so runners find them empty and closed and
    /// stop at once), then waits up to `limit` for the runtime's tasks to end.
    pub(crate) fn shutdown(&self, limit: Duration) {
        self.drop_queued();
        drop(std::mem::take(&mut *self.hosts.borrow_mut()));
        if let Some(runtime) = self.runtime.borrow_mut().take() {
            runtime.shutdown_timeout(limit);
        }
    }
}

/// Takes one host's jobs until its queue is empty (a task on the runtime).
pub(crate) struct Runner {
    origin: Origin,
    jobs: Lanes,
    lingering: Arc<AtomicUsize>,
    shared: Shared,
}

impl Runner {
    async fn run(self) {
        loop {
            let job = match self.jobs.try_recv() {
                Ok(job) => job,
                Err(_) => {
                    self.lingering.fetch_add(1, Ordering::SeqCst);
                    let job = linger(&self.jobs).await;
                    self.lingering.fetch_sub(1, Ordering::SeqCst);
                    match job {
                        Some(job) => job,
                        None => break,
                    }
                }
            };
            // A permit of the backlog first (an abort meanwhile ends the wait).
            let permit = tokio::select! {
                biased;
                () = job.control.cancelled() => continue,
                permit = self.shared.backlog.clone().acquire_owned() => permit,
            };
            // Run here, not as a task of its own (spawning one would cost more than a small
            // request): an abort drops it wherever it waits.
            let request = worker::run(self.shared.job(job.clone()));
            tokio::pin!(request);
            let ran = tokio::select! {
                biased;
                () = job.control.cancelled() => None,
                ran = CatchUnwind(request.as_mut()) => Some(ran),
            };
            match ran {
                // Aborted: no `Finished` will come for the loop to give the permit back.
                None => drop(permit),
                Some(ran) => {
                    if ran.is_err() {
                        // Reported here, as the request could not.
                        let finished = ReplyEvent::Finished(Err(worker::panicked()));
                        let _ = self.shared.events.emit(Event::reply(job.id, finished));
                    }
                    // The loop gives it back as it takes the `Finished` in.
                    if let Ok(permit) = permit {
                        permit.forget();
                    }
                }
            }
        }
        // The manager being gone is the only way this fails, and then nobody waits.
        let _ = self.shared.events.emit(Event::RunnerIdle(self.origin));
    }
}

/// A future whose panics are caught: the runner reports a panicking request as failed and
/// goes on with the next.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The request is never polled again after a panic: the runner drops it.
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut self.0).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// Polls for a job for up to [`LINGER`].
async fn linger(jobs: &Lanes) -> Option<Arc<Exchange>> {
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
        tokio::task::yield_now().await;
    }
}
