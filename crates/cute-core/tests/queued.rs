//! Cross-thread delivery: emitters, posted closures, threads with their own loops.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::run_until;
use cute_core::{Error, EventLoop, LoopHandle, Signal, SignalSpy, Thread, Timer};
use cute_testkit::Watchdog;

#[test]
fn four_threads_times_100k_emits_arrive_exactly_once_in_per_sender_order() {
    let _dog = Watchdog::new(Duration::from_secs(120));
    const THREADS: usize = 4;
    const PER: u64 = 100_000;
    let sig = Signal::<(usize, u64)>::new();
    let next = Rc::new(RefCell::new(vec![0u64; THREADS]));
    let received = Rc::new(Cell::new(0u64));
    let (n, r) = (next.clone(), received.clone());
    sig.connect(move |&(sender, seq)| {
        let mut next = n.borrow_mut();
        assert_eq!(seq, next[sender], "sender {sender}: out of order or duplicated");
        next[sender] += 1;
        r.set(r.get() + 1);
    });
    let emitter = sig.emitter();
    std::thread::scope(|scope| {
        for sender in 0..THREADS {
            let emitter = emitter.clone();
            scope.spawn(move || {
                for seq in 0..PER {
                    emitter.emit((sender, seq)).unwrap();
                }
            });
        }
        let total = THREADS as u64 * PER;
        assert!(run_until(Duration::from_secs(60), || received.get() == total), "lost deliveries");
    });
    assert!(next.borrow().iter().all(|&n| n == PER));
    // Nothing extra arrives afterwards.
    EventLoop::process_events(Duration::from_millis(10));
    assert_eq!(received.get(), THREADS as u64 * PER);
}

#[test]
fn emitting_to_a_dropped_signal_hands_the_value_back() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<String>::new();
    let emitter = sig.emitter();
    drop(sig);
    let err = emitter.emit("kept".to_owned()).unwrap_err();
    assert_eq!(err.into_inner(), "kept");
}

#[test]
fn posting_to_a_finished_thread_hands_the_closure_back() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start().unwrap();
    let handle = thread.handle();
    thread.quit();
    assert_eq!(thread.wait().unwrap(), 0);
    let marker = Arc::new(AtomicUsize::new(0));
    let m = marker.clone();
    let err = handle.post(move || m.store(1, Ordering::SeqCst)).unwrap_err();
    (err.into_inner())(); // we got the very closure back and can still run it
    assert_eq!(marker.load(Ordering::SeqCst), 1);
    assert!(handle.quit().is_err());
    assert!(thread.is_finished());
}

#[test]
fn emitter_of_a_signal_on_a_finished_thread_fails_cleanly() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (tx, rx) = crossbeam_channel::bounded(1);
    let mut thread = Thread::start_with(move || {
        // The signal lives on the worker thread; leak it into the loop's lifetime.
        let sig = Rc::new(Signal::<u8>::new());
        tx.send(sig.emitter()).unwrap();
        Timer::single_shot(Duration::from_secs(3600), move || drop(sig));
    })
    .unwrap();
    let emitter = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(emitter.emit(1).is_ok());
    thread.quit();
    thread.wait().unwrap();
    assert_eq!(emitter.emit(2).unwrap_err().into_inner(), 2);
}

#[test]
fn closures_posted_from_one_thread_run_in_order_on_the_loop_thread() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let order = Signal::<usize>::new();
    let spy = SignalSpy::new(&order);
    let emitter = order.emitter();
    let handle = LoopHandle::current();
    let loop_thread = std::thread::current().id();
    std::thread::spawn(move || {
        for i in 0..1000 {
            let e = emitter.clone();
            handle
                .post(move || {
                    assert_eq!(std::thread::current().id(), loop_thread);
                    e.emit(i).unwrap();
                })
                .unwrap();
        }
    });
    assert!(run_until(Duration::from_secs(10), || spy.total() == 1000));
    assert_eq!(spy.take_all(), (0..1000).collect::<Vec<_>>());
}

#[test]
fn thread_reports_its_exit_code_and_runs_posted_work() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start_named("worker", || {}).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    thread
        .post(move || {
            tx.send(std::thread::current().name().map(str::to_owned)).unwrap();
        })
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap().as_deref(), Some("worker"));
    thread.exit(42);
    assert_eq!(thread.wait().unwrap(), 42);
    assert_eq!(thread.wait().unwrap(), 42, "waiting again reports the same code");
}

#[test]
fn exit_from_the_threads_own_slot() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start_with(|| {
        Timer::single_shot(Duration::from_millis(5), || {
            LoopHandle::current().exit(9).unwrap();
        });
    })
    .unwrap();
    assert_eq!(thread.wait_timeout(Duration::from_secs(10)).unwrap(), 9);
}

#[test]
fn a_panic_on_the_thread_is_reported_by_wait() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start().unwrap();
    thread.post(|| panic!("worker exploded")).unwrap();
    match thread.wait_timeout(Duration::from_secs(10)) {
        Err(Error::ThreadPanicked(msg)) => assert!(msg.contains("worker exploded"), "{msg}"),
        other => panic!("expected a reported panic, got {other:?}"),
    }
}

#[test]
fn wait_timeout_on_a_running_thread_times_out_then_succeeds() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut thread = Thread::start().unwrap();
    assert!(matches!(thread.wait_timeout(Duration::from_millis(20)), Err(Error::WaitTimedOut)));
    assert!(!thread.is_finished());
    thread.quit();
    assert_eq!(thread.wait_timeout(Duration::from_secs(10)).unwrap(), 0);
}

#[test]
fn work_posted_before_quit_is_not_lost() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let ran = Arc::new(AtomicUsize::new(0));
    let mut thread = Thread::start().unwrap();
    // Queue a burst and the quit together: everything posted before the loop stopped runs.
    for _ in 0..1000 {
        let r = ran.clone();
        thread
            .post(move || {
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    thread.quit();
    for _ in 0..1000 {
        let r = ran.clone();
        if thread
            .post(move || {
                r.fetch_add(1, Ordering::SeqCst);
            })
            .is_err()
        {
            ran.fetch_add(1, Ordering::SeqCst); // handed back: we account for it ourselves
        }
    }
    assert_eq!(thread.wait().unwrap(), 0);
    assert_eq!(ran.load(Ordering::SeqCst), 2000);
}

#[test]
fn ping_pong_between_two_loops() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    const ROUNDS: u32 = 10_000;
    // The pong signal lives here; the ping signal lives on the worker.
    let pong = Signal::<u32>::new();
    let pong_emitter = pong.emitter();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let mut worker = Thread::start_with(move || {
        let ping = Rc::new(Signal::<u32>::new());
        ping.connect(move |n| pong_emitter.emit(*n).unwrap());
        tx.send(ping.emitter()).unwrap();
        Timer::single_shot(Duration::from_secs(3600), move || drop(ping));
    })
    .unwrap();
    let ping = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let last = Rc::new(Cell::new(0));
    let (l, p) = (last.clone(), ping.clone());
    pong.connect(move |n| {
        assert_eq!(*n, l.get() + 1);
        l.set(*n);
        if *n < ROUNDS {
            p.emit(n + 1).unwrap();
        }
    });
    ping.emit(1).unwrap();
    assert!(run_until(Duration::from_secs(50), || last.get() == ROUNDS));
    worker.quit();
    worker.wait().unwrap();
}

#[test]
fn a_nested_loop_in_a_slot_delivers_the_rest_of_its_batch_before_later_posts() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let signal = Signal::<u32>::new();
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let nested: Rc<RefCell<Option<EventLoop>>> = Rc::default();
    let (l, n) = (log.clone(), nested.clone());
    // Re-entrant: the slot is still running (in its nested loop) when v2 arrives.
    signal.connect_reentrant(move |&v| {
        l.borrow_mut().push(format!("v{v}"));
        if v == 1 {
            // Qt's synchronous-wait idiom: a local loop inside a slot, waiting for v2.
            let local = EventLoop::new();
            *n.borrow_mut() = Some(local.clone());
            let timeout = local.clone();
            let give_up = Timer::new();
            give_up.set_single_shot(true);
            give_up.timeout().connect(move |_| timeout.exit(1));
            give_up.start_with(Duration::from_secs(5));
            let code = local.exec();
            l.borrow_mut().push(format!("nested loop returned {code}"));
        } else if let Some(local) = n.borrow_mut().take() {
            local.quit();
        }
    });
    let emitter = signal.emitter();
    let handle = LoopHandle::current();
    let c = crossbeam_channel::unbounded::<()>();
    let posted = c.0.clone();
    // Both values and the closure are queued before the loop looks at any of them.
    std::thread::spawn(move || {
        emitter.emit(1).unwrap();
        emitter.emit(2).unwrap();
        handle.post(move || posted.send(()).unwrap()).unwrap_or_else(|_| panic!("loop gone"));
    })
    .join()
    .unwrap();
    let l = log.clone();
    let rx = c.1;
    assert!(
        run_until(Duration::from_secs(20), || {
            if rx.try_recv().is_ok() {
                l.borrow_mut().push("C".into());
            }
            l.borrow().len() == 4
        }),
        "{:?}",
        log.borrow()
    );
    assert_eq!(*log.borrow(), ["v1", "v2", "nested loop returned 0", "C"]);
}
