//! Thread objects: `started`/`finished` on the owner's thread, interruption, objects that
//! live as long as their thread (`start_with`, `start_with_object`), and cross-thread calls
//! with results (`invoke_blocking`, `invoke_async`, `ObjectHandle`).

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::ThreadId;
use std::time::Duration;

use common::run_until;
use crossbeam_channel::Sender;
use cute_core::{Error, LoopHandle, ObjectHandle, Signal, SignalSpy, Thread};
use cute_testkit::Watchdog;

const LIMIT: Duration = Duration::from_secs(10);

fn assert_send<T: Send>() {}
fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

#[test]
fn handles_that_cross_threads_are_send() {
    assert_send::<Thread>();
    // Whatever the object is: the handle carries none of it.
    assert_send_sync_clone::<ObjectHandle<Rc<RefCell<String>>>>();
    assert_send_sync_clone::<ObjectHandle<Signal<u8>>>();
    assert_send_sync_clone::<LoopHandle>();
}

/// Records the thread it is dropped on.
struct DropRecorder {
    dropped: Sender<ThreadId>,
}

impl Drop for DropRecorder {
    fn drop(&mut self) {
        let _ = self.dropped.send(std::thread::current().id());
    }
}

#[test]
fn started_and_finished_arrive_on_the_owner_thread_in_order() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let thread = Rc::new(Thread::start().unwrap());
    // (which signal, the thread its slot ran on, whether the thread had finished)
    type Log = Rc<RefCell<Vec<(&'static str, ThreadId, bool)>>>;
    let log: Log = Rc::default();
    let (l, t) = (log.clone(), Rc::downgrade(&thread));
    thread.started().connect(move |_| {
        let finished = t.upgrade().is_some_and(|t| t.is_finished());
        l.borrow_mut().push(("started", std::thread::current().id(), finished));
    });
    let (l, t) = (log.clone(), Rc::downgrade(&thread));
    thread.finished().connect(move |_| {
        let finished = t.upgrade().is_some_and(|t| t.is_finished());
        l.borrow_mut().push(("finished", std::thread::current().id(), finished));
    });
    assert!(run_until(LIMIT, || log.borrow().len() == 1), "got {:?}", log.borrow());
    thread.quit();
    assert!(run_until(LIMIT, || log.borrow().len() == 2), "got {:?}", log.borrow());
    let here = std::thread::current().id();
    // `finished` comes after `started`, on this thread, with the thread already finished.
    assert_eq!(*log.borrow(), [("started", here, false), ("finished", here, true)]);
}

#[test]
fn an_owner_that_runs_no_loop_gets_the_signals_when_it_next_does() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start().unwrap();
    let started = SignalSpy::new(&thread.started());
    let finished = SignalSpy::new(&thread.finished());
    thread.quit();
    assert_eq!(thread.wait_timeout(LIMIT).unwrap(), 0);
    // The thread is done, but this thread has run no round: nothing delivered yet.
    assert_eq!((started.total(), finished.total()), (0, 0));
    assert!(run_until(LIMIT, || finished.total() == 1));
    assert_eq!(started.total(), 1);
}

#[test]
fn the_signals_outlive_a_dropped_thread_until_finished_is_delivered() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let thread = Thread::start().unwrap();
    let finished = thread.finished();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    finished.connect(move |_| h.set(h.get() + 1));
    drop(thread); // quits and waits
    assert!(run_until(LIMIT, || hits.get() == 1));
}

#[test]
fn interruption_is_seen_by_the_threads_own_code() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start().unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let (entered_tx, entered_rx) = crossbeam_channel::bounded(1);
    thread
        .post(move || {
            entered_tx.send(Thread::current_interruption_requested()).unwrap();
            let mut rounds = 0u64;
            while !Thread::current_interruption_requested() {
                rounds += 1;
                std::thread::yield_now();
            }
            tx.send(rounds).unwrap();
        })
        .unwrap();
    assert!(!entered_rx.recv_timeout(LIMIT).unwrap(), "not requested yet");
    assert!(!thread.is_interruption_requested());
    thread.request_interruption();
    assert!(thread.is_interruption_requested());
    rx.recv_timeout(LIMIT).expect("the loop stopped when asked");
    // The loop itself keeps running: interruption is a request to the code, not a quit.
    assert_eq!(thread.handle().invoke_blocking(|| 7).unwrap(), 7);
    thread.quit();
    assert_eq!(thread.wait_timeout(LIMIT).unwrap(), 0);
    assert!(!Thread::current_interruption_requested());
}

#[test]
fn what_start_with_returns_lives_until_the_loop_ends_and_is_dropped_on_the_thread() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (dropped_tx, dropped_rx) = crossbeam_channel::unbounded();
    let (emitter_tx, emitter_rx) = crossbeam_channel::bounded(1);
    let echoed = Signal::<u32>::new();
    let spy = SignalSpy::new(&echoed);
    let echo = echoed.emitter();
    let mut thread = Thread::start_with(move || {
        // A signal living on the worker, reached through its emitter: the known bug was
        // that it died when this closure returned.
        let signal = Signal::<u32>::new();
        signal.connect(move |v| echo.emit(*v).unwrap());
        emitter_tx.send(signal.emitter()).unwrap();
        (signal, DropRecorder { dropped: dropped_tx })
    })
    .unwrap();
    let worker_id = thread.handle().invoke_blocking(|| std::thread::current().id()).unwrap();
    let signal = emitter_rx.recv_timeout(LIMIT).unwrap();
    signal.emit(5).unwrap();
    assert!(spy.wait(LIMIT));
    assert_eq!(spy.take_first(), Some(5));
    assert!(dropped_rx.is_empty(), "still alive while the loop runs");
    thread.quit();
    thread.wait_timeout(LIMIT).unwrap();
    assert_eq!(dropped_rx.recv_timeout(LIMIT).unwrap(), worker_id, "dropped on its own thread");
    assert_eq!(signal.emit(6).unwrap_err().into_inner(), 6);
}

/// A worker object that is not `Send`: `Rc` and `Cell` inside.
struct Worker {
    seen: Rc<RefCell<Vec<u32>>>,
    _recorder: DropRecorder,
}

impl Worker {
    fn add(&self, v: u32) {
        self.seen.borrow_mut().push(v);
    }
    fn sum(&self) -> u32 {
        self.seen.borrow().iter().sum()
    }
}

fn start_worker() -> (Thread, ObjectHandle<Worker>, crossbeam_channel::Receiver<ThreadId>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let (thread, handle) = Thread::start_with_object(move || Worker {
        seen: Rc::default(),
        _recorder: DropRecorder { dropped: tx },
    })
    .unwrap();
    (thread, handle, rx)
}

#[test]
fn a_worker_object_lives_until_its_thread_ends_and_is_dropped_there() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (mut thread, worker, dropped) = start_worker();
    for v in 1..=100 {
        worker.invoke(move |w| w.add(v)).unwrap();
    }
    let (sum, worker_thread) = worker.invoke_blocking(|w| (w.sum(), std::thread::current().id())).unwrap();
    assert_eq!(sum, 5050, "every call ran, in order, on one object");
    assert_ne!(worker_thread, std::thread::current().id());
    assert!(dropped.is_empty());
    // Calls posted before the quit still find the object.
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let r = ran.clone();
        worker
            .invoke(move |_| {
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    thread.quit();
    thread.wait_timeout(LIMIT).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 10);
    assert_eq!(dropped.recv_timeout(LIMIT).unwrap(), worker_thread);
}

#[test]
fn invoke_after_the_thread_ended_hands_the_closure_back() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (mut thread, worker, _dropped) = start_worker();
    thread.quit();
    thread.wait_timeout(LIMIT).unwrap();
    let marker = Arc::new(AtomicBool::new(false));
    let m = marker.clone();
    let err = worker.invoke(move |w: &Worker| m.store(w.sum() == 0, Ordering::SeqCst)).unwrap_err();
    let (tx, _rx) = crossbeam_channel::unbounded();
    let stand_in = Worker { seen: Rc::default(), _recorder: DropRecorder { dropped: tx } };
    (err.into_inner())(&stand_in); // the very closure, still callable
    assert!(marker.load(Ordering::SeqCst));
    assert!(matches!(worker.invoke_blocking(|w| w.sum()), Err(Error::LoopGone)));
}

#[test]
fn invoke_with_result_arrives_on_the_callers_loop() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (_thread, worker, _dropped) = start_worker();
    type Got = Rc<RefCell<Option<(u32, ThreadId, ThreadId)>>>;
    let got: Got = Rc::default();
    let g = got.clone();
    worker.invoke(|w| w.add(40)).unwrap();
    worker.invoke_with_result(
        |w| {
            w.add(2);
            (w.sum(), std::thread::current().id())
        },
        move |result| {
            let (sum, there) = result.unwrap();
            *g.borrow_mut() = Some((sum, there, std::thread::current().id()));
        },
    );
    assert!(got.borrow().is_none(), "never inside the call");
    assert!(run_until(LIMIT, || got.borrow().is_some()));
    let (sum, there, here) = got.borrow().unwrap();
    assert_eq!(sum, 42);
    assert_ne!(there, here);
    assert_eq!(here, std::thread::current().id());
}

#[test]
fn invoke_with_result_reports_a_panic_and_the_worker_goes_on() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (mut thread, worker, _dropped) = start_worker();
    let got: Rc<RefCell<Option<Result<u32, Error>>>> = Rc::default();
    let g = got.clone();
    worker.invoke_with_result(|_w| -> u32 { panic!("parser exploded") }, move |r| *g.borrow_mut() = Some(r));
    assert!(run_until(LIMIT, || got.borrow().is_some()));
    match got.borrow_mut().take().unwrap() {
        Err(Error::CallPanicked(msg)) => assert!(msg.contains("parser exploded"), "{msg}"),
        other => panic!("expected CallPanicked, got {other:?}"),
    }
    assert_eq!(worker.invoke_blocking(|w| w.sum()).unwrap(), 0);
    thread.quit();
    assert_eq!(thread.wait_timeout(LIMIT).unwrap(), 0, "the panic did not end the thread");
}

#[test]
fn invoke_blocking_on_the_own_loop_runs_inline() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    // No loop runs here: only an inline call can return.
    let here = std::thread::current().id();
    assert_eq!(LoopHandle::current().invoke_blocking(move || std::thread::current().id()).unwrap(), here);
    // The same from a worker's own code, which a queued call would deadlock.
    let thread = Thread::start().unwrap();
    let nested = thread
        .handle()
        .invoke_blocking(|| LoopHandle::current().invoke_blocking(|| std::thread::current().id()).unwrap())
        .unwrap();
    assert_ne!(nested, here);
    // A panic inline is reported the same way.
    assert!(matches!(
        LoopHandle::current().invoke_blocking(|| panic!("inline")),
        Err(Error::CallPanicked(_))
    ));
}

#[test]
fn invoke_blocking_on_a_finished_thread_fails_at_once() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start().unwrap();
    let handle = thread.handle();
    thread.quit();
    thread.wait_timeout(LIMIT).unwrap();
    assert!(matches!(handle.invoke_blocking(|| 1), Err(Error::LoopGone)));
}

#[test]
fn invoke_blocking_on_a_loop_that_exits_without_running_it_fails_without_hanging() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start().unwrap();
    let handle = thread.handle();
    let (busy_tx, busy_rx) = crossbeam_channel::bounded(1);
    let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
    // The loop is asked to exit, then stays busy until told: whatever is queued behind
    // this closure will meet a loop that has exited.
    thread
        .post(move || {
            LoopHandle::current().exit(3).unwrap();
            busy_tx.send(()).unwrap();
            let _ = go_rx.recv_timeout(LIMIT);
        })
        .unwrap();
    busy_rx.recv_timeout(LIMIT).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        let r = ran.clone();
        let caller = scope.spawn(move || handle.invoke_blocking(move || r.store(true, Ordering::SeqCst)));
        // However the release races with the post, the call fails and does not hang.
        go_tx.send(()).unwrap();
        let result = caller.join().unwrap();
        assert!(matches!(result, Err(Error::LoopExited | Error::LoopGone)), "got {result:?}");
    });
    assert!(!ran.load(Ordering::SeqCst), "an abandoned call never runs");
    assert_eq!(thread.wait_timeout(LIMIT).unwrap(), 3);
}

#[test]
fn invoke_blocking_reports_a_panic_and_the_loop_goes_on() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start().unwrap();
    match thread.handle().invoke_blocking(|| -> u8 { panic!("boom {}", 42) }) {
        Err(Error::CallPanicked(msg)) => assert_eq!(msg, "boom 42"),
        other => panic!("expected CallPanicked, got {other:?}"),
    }
    assert_eq!(thread.handle().invoke_blocking(|| 1 + 1).unwrap(), 2);
    thread.quit();
    assert_eq!(thread.wait_timeout(LIMIT).unwrap(), 0);
}

#[test]
fn invoke_blocking_timeout_gives_up_on_a_busy_loop_and_the_call_never_runs() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let thread = Thread::start().unwrap();
    let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
    thread
        .post(move || {
            let _ = go_rx.recv_timeout(LIMIT);
        })
        .unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let result = thread
        .handle()
        .invoke_blocking_timeout(Duration::from_millis(20), move || r.store(true, Ordering::SeqCst));
    assert!(matches!(result, Err(Error::InvokeTimedOut)), "got {result:?}");
    go_tx.send(()).unwrap();
    // A later call runs after the abandoned one would have: it was skipped.
    thread.handle().invoke_blocking(|| ()).unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn invoke_async_result_arrives_on_the_callers_loop() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let thread = Thread::start().unwrap();
    let got: Rc<RefCell<Vec<(u64, ThreadId)>>> = Rc::default();
    for i in 0..10u64 {
        let g = got.clone();
        thread.handle().invoke_async(
            move || i * i,
            move |r| g.borrow_mut().push((r.unwrap(), std::thread::current().id())),
        );
    }
    assert!(got.borrow().is_empty(), "never inside the call");
    assert!(run_until(LIMIT, || got.borrow().len() == 10));
    let here = std::thread::current().id();
    assert_eq!(*got.borrow(), (0..10u64).map(|i| (i * i, here)).collect::<Vec<_>>());
}

#[test]
fn invoke_async_to_a_gone_loop_reports_it_on_the_callers_loop() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start().unwrap();
    let handle = thread.handle();
    thread.quit();
    thread.wait_timeout(LIMIT).unwrap();
    let got: Rc<RefCell<Option<Result<i32, Error>>>> = Rc::default();
    let g = got.clone();
    handle.invoke_async(|| 1, move |r| *g.borrow_mut() = Some(r));
    assert!(got.borrow().is_none(), "never inside the call");
    assert!(run_until(LIMIT, || got.borrow().is_some()));
    assert!(matches!(got.borrow_mut().take(), Some(Err(Error::LoopGone))));
}

#[test]
fn a_worker_whose_constructor_panics_ends_its_thread_and_calls_fail_cleanly() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (mut thread, worker) = Thread::start_with_object(|| -> Worker { panic!("no worker today") }).unwrap();
    match thread.wait_timeout(LIMIT) {
        Err(Error::ThreadPanicked(msg)) => assert!(msg.contains("no worker today"), "{msg}"),
        other => panic!("expected the constructor's panic, got {other:?}"),
    }
    assert!(matches!(worker.invoke_blocking(|w| w.sum()), Err(Error::LoopGone)));
    assert!(worker.invoke(|_| {}).is_err());
}
