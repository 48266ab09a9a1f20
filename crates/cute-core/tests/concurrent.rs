//! Concurrent work: `ThreadPool` (limits, expiry, panics) and `concurrent::run` with its
//! `FutureWatcher` (result, progress, cancel, panic) delivered on the caller's loop.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use common::{app_lock, run_until};
use crossbeam_channel::Receiver;
use cute_core::{CoreApplication, FutureWatcher, Promise, SignalSpy, ThreadPool, Timer, concurrent};
use cute_testkit::Watchdog;

const LIMIT: Duration = Duration::from_secs(10);

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn the_pool_and_the_promise_cross_threads() {
    assert_send_sync::<ThreadPool>();
    assert_send_sync::<Promise>();
    assert_send_sync::<&'static ThreadPool>();
}

/// A gate jobs wait at until the test opens it (bounded, so a failing test cannot hang a
/// pool thread for good).
fn gate() -> (crossbeam_channel::Sender<()>, Receiver<()>) {
    crossbeam_channel::unbounded()
}

#[test]
fn the_pool_never_runs_more_than_max_thread_count_jobs_at_once() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let pool = Arc::new(ThreadPool::new());
    pool.set_max_thread_count(2);
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let over = Arc::new(AtomicBool::new(false));
    // Jobs meet in pairs: each one waits until another is running beside it, so the pool
    // must run two at once to get through, and a third running job would be counted.
    let barrier = Arc::new(Barrier::new(2));
    for _ in 0..20 {
        let (pool2, running, most, over, barrier) =
            (pool.clone(), running.clone(), most.clone(), over.clone(), barrier.clone());
        pool.start(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            if pool2.active_thread_count() > 2 || pool2.thread_count() > 2 {
                over.store(true, Ordering::SeqCst);
            }
            barrier.wait();
            running.fetch_sub(1, Ordering::SeqCst);
        });
    }
    assert!(pool.wait_for_done(LIMIT));
    assert_eq!(most.load(Ordering::SeqCst), 2, "exactly the limit, reached and never passed");
    assert!(!over.load(Ordering::SeqCst));
    assert_eq!(pool.active_thread_count(), 0);
    assert!(pool.thread_count() <= 2);
}

#[test]
fn jobs_beyond_the_limit_wait_and_a_raised_limit_starts_them() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let pool = ThreadPool::new();
    pool.set_max_thread_count(1);
    let (open, closed) = gate();
    let (ran_tx, ran_rx) = crossbeam_channel::unbounded();
    let (c, r) = (closed.clone(), ran_tx.clone());
    pool.start(move || {
        r.send("first").unwrap();
        let _ = c.recv_timeout(LIMIT);
    });
    assert_eq!(ran_rx.recv_timeout(LIMIT).unwrap(), "first");
    pool.start(move || ran_tx.send("second").unwrap());
    // Every thread is busy and the pool is at its limit: the second job waits.
    assert_eq!(pool.active_thread_count(), 1);
    assert_eq!(pool.thread_count(), 1);
    assert!(pool.try_start(|| {}).is_err(), "try_start refuses when no thread is free");
    assert!(!pool.wait_for_done(Duration::from_millis(20)));
    pool.set_max_thread_count(2);
    assert_eq!(ran_rx.recv_timeout(LIMIT).unwrap(), "second", "started while the first still runs");
    open.send(()).unwrap();
    assert!(pool.wait_for_done(LIMIT));
}

#[test]
fn a_panicking_job_does_not_take_its_thread_down() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let pool = ThreadPool::new();
    pool.set_max_thread_count(1);
    let (tx, rx) = crossbeam_channel::unbounded();
    let t = tx.clone();
    pool.start(move || {
        t.send(std::thread::current().id()).unwrap();
        panic!("job exploded");
    });
    pool.start(move || tx.send(std::thread::current().id()).unwrap());
    let first = rx.recv_timeout(LIMIT).unwrap();
    let second = rx.recv_timeout(LIMIT).unwrap();
    assert_eq!(first, second, "the same thread ran the next job");
    assert!(pool.wait_for_done(LIMIT));
    assert_eq!(pool.thread_count(), 1);
}

#[test]
fn idle_threads_expire() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let pool = ThreadPool::new();
    assert_eq!(pool.expiry_timeout(), Duration::from_secs(30), "Qt's default");
    assert_eq!(pool.max_thread_count(), std::thread::available_parallelism().map_or(1, |n| n.get()));
    pool.set_expiry_timeout(Duration::from_millis(10));
    pool.start(|| {});
    assert!(pool.wait_for_done(LIMIT));
    let deadline = Instant::now() + LIMIT;
    while pool.thread_count() > 0 {
        assert!(Instant::now() < deadline, "the idle thread never expired");
        std::thread::yield_now();
    }
    // An expired pool still runs jobs: it spawns again.
    let (tx, rx) = crossbeam_channel::bounded(1);
    pool.start(move || tx.send(()).unwrap());
    rx.recv_timeout(LIMIT).unwrap();
}

#[test]
fn dropping_a_pool_runs_its_queued_jobs_first() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let pool = ThreadPool::new();
    pool.set_max_thread_count(1);
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..50 {
        let ran = ran.clone();
        pool.start(move || {
            ran.fetch_add(1, Ordering::SeqCst);
        });
    }
    drop(pool);
    assert_eq!(ran.load(Ordering::SeqCst), 50);
}

#[test]
fn clear_removes_the_jobs_not_yet_started() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let pool = ThreadPool::new();
    pool.set_max_thread_count(1);
    let (open, closed) = gate();
    let (started_tx, started_rx) = crossbeam_channel::bounded(1);
    pool.start(move || {
        started_tx.send(()).unwrap();
        let _ = closed.recv_timeout(LIMIT);
    });
    started_rx.recv_timeout(LIMIT).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    for _ in 0..3 {
        let ran = ran.clone();
        pool.start(move || ran.store(true, Ordering::SeqCst));
    }
    assert_eq!(pool.clear(), 3);
    open.send(()).unwrap();
    assert!(pool.wait_for_done(LIMIT));
    assert!(!ran.load(Ordering::SeqCst));
}

/// What a watcher's signals did, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Started,
    Progress(u64, u64),
    Canceled,
    Errored(String),
    Finished,
}

fn record<R: 'static>(watcher: &FutureWatcher<R>) -> Rc<RefCell<Vec<Seen>>> {
    let seen: Rc<RefCell<Vec<Seen>>> = Rc::default();
    let s = seen.clone();
    watcher.started().connect(move |_| s.borrow_mut().push(Seen::Started));
    let s = seen.clone();
    watcher.progress().connect(move |&(d, t)| s.borrow_mut().push(Seen::Progress(d, t)));
    let s = seen.clone();
    watcher.canceled().connect(move |_| s.borrow_mut().push(Seen::Canceled));
    let s = seen.clone();
    watcher.errored().connect(move |m| s.borrow_mut().push(Seen::Errored(m.clone())));
    let s = seen.clone();
    watcher.finished().connect(move |_| s.borrow_mut().push(Seen::Finished));
    seen
}

#[test]
fn run_delivers_the_result_on_the_callers_loop() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let pool = ThreadPool::new();
    let watcher = concurrent::run_in(&pool, || std::thread::current().id());
    let seen = record(&watcher);
    assert!(pool.wait_for_done(LIMIT));
    // The job is done, but nothing arrives before this thread's loop runs.
    assert!(!watcher.is_finished());
    assert_eq!(watcher.result(), None);
    assert!(run_until(LIMIT, || watcher.is_finished()));
    assert_eq!(*seen.borrow(), [Seen::Started, Seen::Finished]);
    let ran_on: ThreadId = watcher.result().unwrap();
    assert_ne!(ran_on, std::thread::current().id());
    assert_eq!(watcher.take_result(), Some(ran_on));
    assert_eq!(watcher.result(), None);
    assert!(watcher.error().is_none());
    assert!(!watcher.is_canceled());
}

#[test]
fn run_on_the_global_pool() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let watcher = concurrent::run(|| vec![1, 2, 3].into_iter().sum::<i32>());
    let finished = SignalSpy::new(watcher.finished());
    assert!(finished.wait(LIMIT));
    assert_eq!(watcher.result(), Some(6));
}

#[test]
fn progress_is_delivered_in_order_coalesced_and_before_finished() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let watcher = concurrent::run_with_promise(|promise| {
        for done in 1..=1000 {
            promise.report_progress(done, 1000);
        }
        "done"
    });
    let seen = record(&watcher);
    assert!(run_until(LIMIT, || watcher.is_finished()));
    let seen = seen.borrow();
    assert_eq!(seen.first(), Some(&Seen::Started));
    assert_eq!(seen.last(), Some(&Seen::Finished));
    let progress: Vec<u64> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Progress(d, 1000) => Some(*d),
            Seen::Progress(..) => panic!("wrong total: {s:?}"),
            _ => None,
        })
        .collect();
    assert_eq!(progress.last(), Some(&1000), "the latest value arrives");
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "in order, no repeats: {progress:?}");
    assert_eq!(seen.len(), progress.len() + 2, "nothing else: {seen:?}");
    assert_eq!(watcher.progress_value(), (1000, 1000));
    assert_eq!(watcher.result(), Some("done"));
}

#[test]
fn a_canceled_job_stops_and_emits_canceled_instead_of_a_result() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let s = saw_cancel.clone();
    let watcher = concurrent::run_with_promise(move |promise| {
        let deadline = Instant::now() + LIMIT;
        while !promise.is_canceled() && Instant::now() < deadline {
            std::thread::yield_now();
        }
        s.store(promise.is_canceled(), Ordering::SeqCst);
        42
    });
    let seen = record(&watcher);
    assert!(run_until(LIMIT, || watcher.is_started()));
    watcher.cancel();
    assert!(watcher.is_canceled());
    assert_eq!(*seen.borrow(), [Seen::Started], "canceled is not emitted inside cancel");
    assert!(run_until(LIMIT, || watcher.is_finished()));
    assert!(saw_cancel.load(Ordering::SeqCst), "the job saw the request");
    assert_eq!(*seen.borrow(), [Seen::Started, Seen::Canceled, Seen::Finished]);
    assert_eq!(watcher.result(), None, "no result for a canceled job");
    watcher.cancel(); // after the end: nothing more
    assert!(!run_until(Duration::from_millis(20), || seen.borrow().len() > 3));
}

#[test]
fn a_job_canceled_before_it_starts_never_runs() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let pool = ThreadPool::new();
    pool.set_max_thread_count(1);
    let (open, closed) = gate();
    let blocker = concurrent::run_in(&pool, move || {
        let _ = closed.recv_timeout(LIMIT);
    });
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = concurrent::run_in(&pool, move || r.store(true, Ordering::SeqCst));
    let seen = record(&queued);
    queued.cancel();
    open.send(()).unwrap();
    assert!(run_until(LIMIT, || queued.is_finished() && blocker.is_finished()));
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(*seen.borrow(), [Seen::Canceled, Seen::Finished]);
    assert!(!queued.is_started());
}

#[test]
fn a_panicking_job_is_reported_and_the_pool_thread_survives() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let pool = ThreadPool::new();
    pool.set_max_thread_count(1);
    let watcher = concurrent::run_in(&pool, || -> (u8, ThreadId) { panic!("job {} exploded", 7) });
    let seen = record(&watcher);
    let after = concurrent::run_in(&pool, || std::thread::current().id());
    assert!(run_until(LIMIT, || watcher.is_finished() && after.is_finished()));
    assert_eq!(*seen.borrow(), [Seen::Started, Seen::Errored("job 7 exploded".into()), Seen::Finished]);
    assert_eq!(watcher.error().as_deref(), Some("job 7 exploded"));
    assert_eq!(watcher.result(), None);
    assert!(after.result().is_some(), "the next job ran");
    assert_eq!(pool.thread_count(), 1, "on the same thread");
}

#[test]
fn quitting_the_application_with_jobs_in_flight_does_not_hang() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let pool = ThreadPool::new();
    pool.set_max_thread_count(2);
    let watchers: Vec<FutureWatcher<u32>> = (0..4)
        .map(|_| {
            concurrent::run_with_promise_in(&pool, |promise| {
                let deadline = Instant::now() + LIMIT;
                while !promise.is_canceled() && Instant::now() < deadline {
                    std::thread::yield_now();
                }
                1
            })
        })
        .collect();
    // Quit as soon as the first two are running (the other two wait in the queue).
    let started = Rc::new(RefCell::new(0));
    for w in &watchers {
        let s = started.clone();
        w.started().connect(move |_| {
            *s.borrow_mut() += 1;
            if *s.borrow() == 2 {
                CoreApplication::quit();
            }
        });
    }
    Timer::single_shot(LIMIT, || CoreApplication::exit(1));
    assert_eq!(app.exec(), 0, "exec returned while the jobs still run");
    assert_eq!(pool.active_thread_count(), 2);
    for w in &watchers {
        w.cancel();
    }
    assert!(pool.wait_for_done(LIMIT), "canceled jobs end and queued ones never start");
    drop(watchers);
    drop(app);
}
