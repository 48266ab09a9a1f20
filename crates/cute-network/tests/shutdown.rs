//! Shutting down with work in flight: quitting the application with 1,000 requests running
//! (quitting cancels them), dropping a manager mid-download, and a panicking slot inside
//! `exec`. Every reply still finishes exactly once, nothing hangs, and no worker thread is
//! left behind.
//!
//! Every test holds `app_lock()`: one `CoreApplication` per process, and the thread counts
//! are process-wide, so these tests must not overlap.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::app_lock;
use cute_core::{CoreApplication, EventLoop};
use cute_httpbin::Httpbin;
use cute_network::{DEFAULT_MAX_WORKERS, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
use cute_testkit::{Responder, Watchdog, hang};

/// The test functions of this binary: libtest runs each on a thread named after it, so such
/// a thread appearing during a test (the harness starting the next test, which then waits
/// for `app_lock`) is not a leak.
const TEST_NAMES: [&str; 4] = [
    "exit_with_a_thousand_requests_in_flight",
    "exec_returns_the_code_passed_to_exit",
    "dropping_the_manager_mid_download",
    "a_panicking_slot_leaves_the_other_requests_running",
];

// ---------------------------------------------------------------------------------------
// Threads (Linux /proc/self/task)
// ---------------------------------------------------------------------------------------

/// The process's threads: id → name.
fn threads() -> BTreeMap<u32, String> {
    let mut threads = BTreeMap::new();
    for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else { continue };
        // A thread that exits meanwhile has no comm any more: it is not counted.
        if let Ok(name) = std::fs::read_to_string(entry.path().join("comm")) {
            threads.insert(tid, name.trim_end().to_owned());
        }
    }
    threads
}

/// Waits (bounded) until every thread alive is one of `baseline`'s or a test-harness thread:
/// no cute-network worker and no fault connection thread left.
fn assert_threads_back_to(baseline: &BTreeMap<u32, String>, what: &str) {
    let harness: Vec<&str> = TEST_NAMES.iter().map(|n| &n[..n.len().min(15)]).collect();
    let limit = Duration::from_secs(10);
    let deadline = Instant::now() + limit;
    loop {
        let now = threads();
        let grown: Vec<String> = now
            .iter()
            .filter(|(tid, name)| !baseline.contains_key(tid) && !harness.contains(&name.as_str()))
            .map(|(tid, name)| format!("{name} ({tid})"))
            .collect();
        if grown.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: threads not back to the baseline ({}) after {limit:?}: {} now, new: {grown:?}",
            baseline.len(),
            now.len()
        );
        EventLoop::process_events(Duration::from_millis(10));
    }
}

/// Counts emissions of the manager's `finished`, per reply.
fn count_manager_finished(nam: &NetworkAccessManager) -> Rc<RefCell<Vec<NetworkReply>>> {
    let seen: Rc<RefCell<Vec<NetworkReply>>> = Rc::default();
    let s = seen.clone();
    nam.finished().connect(move |reply| s.borrow_mut().push(reply.clone()));
    seen
}

fn times(seen: &RefCell<Vec<NetworkReply>>, reply: &NetworkReply) -> usize {
    seen.borrow().iter().filter(|r| *r == reply).count()
}

/// Counts emissions of the reply's own `finished`.
fn count_own_finished(reply: &NetworkReply) -> Rc<Cell<u32>> {
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    reply.finished().connect(move |_| c.set(c.get() + 1));
    count
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn exit_with_a_thousand_requests_in_flight() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(60));
    let app = CoreApplication::new();
    let httpbin = Httpbin::start().expect("start httpbin");
    let hanging = Responder::start(hang);
    let baseline = threads();

    let nam = NetworkAccessManager::new();
    let seen = count_manager_finished(&nam);
    // A few quick ones first (each host's queue is FIFO), then 995 that cannot finish
    // before the application quits: half to a server that never answers, half to /delay/5.
    let mut replies: Vec<(NetworkReply, Rc<Cell<u32>>)> = Vec::new();
    for i in 0..1000 {
        let url = match i {
            0..5 => httpbin.url(&format!("/get?n={i}")),
            _ if i % 2 == 0 => hanging.url(&format!("/hang?n={i}")),
            _ => httpbin.url(&format!("/delay/5?n={i}")),
        };
        let reply = nam.get(&NetworkRequest::new(url));
        let count = count_own_finished(&reply);
        replies.push((reply, count));
    }
    // After the first three finish, a slot asks the application to exit.
    let exit_requested: Rc<Cell<Option<Instant>>> = Rc::default();
    let (e, finished) = (exit_requested.clone(), Rc::new(Cell::new(0)));
    nam.finished().connect(move |_| {
        finished.set(finished.get() + 1);
        if finished.get() == 3 && e.get().is_none() {
            e.set(Some(Instant::now()));
            CoreApplication::exit(7);
        }
    });

    let code = app.exec();
    let returned = Instant::now();
    assert_eq!(code, 7, "the exit code is kept");
    let asked = exit_requested.get().expect("the exit was requested");
    // Quitting cancelled every live reply before exec returned.
    assert_eq!(nam.live_replies(), 0, "replies still live after exec returned");
    let workers = nam.worker_threads();
    assert!(workers <= DEFAULT_MAX_WORKERS, "{workers} worker threads before the drop");

    drop(nam);
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "exec returning and dropping the manager took {took:?} after the exit request"
    );
    eprintln!(
        "exec returned {:?} after the exit request, the drop {:?} later ({workers} workers)",
        returned - asked,
        returned.elapsed()
    );

    let mut canceled = 0;
    for (i, (reply, own)) in replies.iter().enumerate() {
        assert!(reply.is_finished(), "#{i} is still running after exec returned: {reply:?}");
        assert_eq!(own.get(), 1, "#{i}: its own finished emitted {} times", own.get());
        assert_eq!(
            times(&seen, reply),
            1,
            "#{i}: the manager's finished emitted {} times",
            times(&seen, reply)
        );
        match reply.error() {
            NetworkError::OperationCanceledError => canceled += 1,
            NetworkError::NoError if i < 5 => {}
            other => panic!("#{i}: {other:?}: {}", reply.error_string()),
        }
    }
    assert!(canceled >= 995, "only {canceled} of 1000 replies canceled by quitting");
    assert_threads_back_to(&baseline, "after dropping the manager");
    drop(hanging);
    drop(httpbin);
}

#[test]
fn dropping_the_manager_mid_download() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(60));
    let httpbin = Httpbin::start().expect("start httpbin");
    EventLoop::process_events(Duration::ZERO);
    let baseline = threads();

    let nam = NetworkAccessManager::new();
    let seen = count_manager_finished(&nam);
    let reply = nam.get(&NetworkRequest::new(httpbin.url("/bytes/500000000")));
    let own = count_own_finished(&reply);
    let received = Rc::new(Cell::new(0u64));
    let r = received.clone();
    reply.ready_read().connect(move |reply| r.set(r.get() + reply.read_all().len() as u64));

    // Well into the body (several hand-offs of the 1 MiB budget), then drop the manager.
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.get() < 4 * 1024 * 1024 {
        assert!(Instant::now() < deadline, "only {} bytes after 20 s: {reply:?}", received.get());
        assert!(reply.is_running(), "the transfer ended early: {reply:?} {}", reply.error_string());
        EventLoop::process_events(Duration::from_millis(10));
    }
    let dropping = Instant::now();
    drop(nam);
    let took = dropping.elapsed();
    assert!(took < Duration::from_secs(1), "dropping the manager mid-download took {took:?}");
    eprintln!("dropped after {} bytes; the drop took {took:?}", received.get());

    assert!(reply.is_finished());
    assert_eq!(reply.error(), NetworkError::OperationCanceledError, "{}", reply.error_string());
    assert_eq!(own.get(), 1, "own finished emitted {} times", own.get());
    assert_eq!(times(&seen, &reply), 1);
    assert!(received.get() < 500_000_000);
    assert_threads_back_to(&baseline, "after dropping the manager mid-download");
    // Nothing arrives for the dead reply afterwards.
    let before = received.get();
    EventLoop::process_events(Duration::from_millis(20));
    assert_eq!(received.get(), before, "ready_read after the manager was dropped");
    assert_eq!(own.get(), 1);
}

#[test]
fn a_panicking_slot_leaves_the_other_requests_running() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(60));
    let app = CoreApplication::new();
    let httpbin = Httpbin::start().expect("start httpbin");
    let baseline = threads();

    let nam = NetworkAccessManager::new();
    let seen = count_manager_finished(&nam);
    const OTHERS: usize = 6;
    let done = Rc::new(Cell::new(0));
    let d = done.clone();
    nam.finished().connect(move |_| {
        d.set(d.get() + 1);
        if d.get() == OTHERS + 1 {
            CoreApplication::quit();
        }
    });
    // The first reply's finished slot panics; the others take a second, so they are still
    // in flight when it does.
    let first = nam.get(&NetworkRequest::new(httpbin.url("/get")));
    let first_calls = Rc::new(Cell::new(0));
    let f = first_calls.clone();
    first.finished().connect(move |_| {
        f.set(f.get() + 1);
        panic!("a finished slot panics");
    });
    let others: Vec<(NetworkReply, Rc<Cell<u32>>)> = (0..OTHERS)
        .map(|i| {
            let reply = nam.get(&NetworkRequest::new(httpbin.url(&format!("/delay/1?n={i}"))));
            let count = count_own_finished(&reply);
            (reply, count)
        })
        .collect();

    let unwound = catch_unwind(AssertUnwindSafe(|| app.exec()));
    let payload = unwound.expect_err("the slot's panic unwinds out of exec");
    let message = payload.downcast_ref::<&str>().copied().unwrap_or("?");
    assert_eq!(message, "a finished slot panics");
    assert!(first.is_finished());
    assert_eq!(first_calls.get(), 1);
    assert!(others.iter().any(|(r, _)| r.is_running()), "nothing left in flight to test");

    // The application is still usable: exec again, and the others complete.
    assert_eq!(app.exec(), 0);
    assert_eq!(first.error(), NetworkError::NoError, "{}", first.error_string());
    assert_eq!(first_calls.get(), 1, "the panicking slot ran again");
    assert_eq!(times(&seen, &first), 1);
    for (i, (reply, own)) in others.iter().enumerate() {
        assert!(reply.is_finished(), "#{i}: {reply:?}");
        assert_eq!(reply.error(), NetworkError::NoError, "#{i}: {}", reply.error_string());
        assert_eq!(own.get(), 1, "#{i}: own finished emitted {} times", own.get());
        assert_eq!(times(&seen, reply), 1, "#{i}");
        assert_eq!(
            reply.read_json::<serde_json::Value>().ok().map(|j| j["args"]["n"].clone()),
            Some(i.to_string().into())
        );
    }
    assert_eq!(nam.live_replies(), 0);

    // No worker is stuck: they all exit once the manager is dropped.
    let dropping = Instant::now();
    drop(nam);
    let took = dropping.elapsed();
    assert!(took < Duration::from_secs(1), "dropping the idle manager took {took:?}");
    assert_threads_back_to(&baseline, "after dropping the manager");
}

#[test]
fn exec_returns_the_code_passed_to_exit() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(60));
    // A manager made before the application is cancelled by quitting too.
    let early = NetworkAccessManager::new();
    let app = CoreApplication::new();
    let httpbin = Httpbin::start().expect("start httpbin");
    let hanging = Responder::start(hang);
    let nam = NetworkAccessManager::new();
    for code in [0, 1, 42, -3, 255] {
        // Requests that cannot finish by themselves, and an exit once they are under way.
        let replies =
            [&nam, &early].map(|m| m.get(&NetworkRequest::new(hanging.url(&format!("/hang?code={code}")))));
        let owns = replies.each_ref().map(count_own_finished);
        cute_core::Timer::single_shot(Duration::from_millis(20), move || CoreApplication::exit(code));
        assert_eq!(app.exec(), code);
        for (reply, own) in replies.iter().zip(&owns) {
            assert!(reply.is_finished(), "exit({code}): {reply:?}");
            assert_eq!(reply.error(), NetworkError::OperationCanceledError, "exit({code})");
            assert_eq!(own.get(), 1, "exit({code})");
        }
        assert_eq!(nam.live_replies() + early.live_replies(), 0);
    }
    // The manager outlives the quits: it still works when the loop runs again.
    let reply = nam.get(&NetworkRequest::new(httpbin.url("/get")));
    reply.finished().connect(|_| CoreApplication::exit(9));
    assert_eq!(app.exec(), 9);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
}
