//! Edge cases of the loop's semantics: the order of events and zero-delay timers, exit
//! requests met outside `exec`, durations too large for the clock, timers changed while
//! active, threads dropped from their own loop, and emitter ordering under contention.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::run_until;
use cute_core::{ConnectionType, EventLoop, LoopHandle, Signal, SignalSpy, Thread, Timer};
use cute_testkit::Watchdog;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn a_zero_delay_timer_started_by_an_event_runs_after_the_events_queued_before_it() {
    let _dog = Watchdog::new(LIMIT);
    let log = Rc::new(RefCell::new(Vec::new()));
    let first = Signal::<()>::new();
    let second = Rc::new(Signal::<()>::new());
    let l = log.clone();
    second.connect_with(ConnectionType::Queued, move |_| l.borrow_mut().push("queued event"));
    let (l, s) = (log.clone(), second.clone());
    first.connect_with(ConnectionType::Queued, move |_| {
        l.borrow_mut().push("first event");
        s.emit(&()); // queues an event...
        let l = l.clone();
        Timer::single_shot(Duration::ZERO, move || l.borrow_mut().push("zero timer")); // ...then a timer
    });
    first.emit(&());
    assert!(run_until(Duration::from_secs(5), || log.borrow().len() == 3));
    assert_eq!(*log.borrow(), ["first event", "queued event", "zero timer"]);
}

#[test]
fn an_exit_request_met_by_process_events_is_spent_there() {
    let _dog = Watchdog::new(LIMIT);
    let event_loop = EventLoop::new();
    // A slot run by process_events (no exec running) asks the thread's loops to exit.
    Timer::single_shot(Duration::ZERO, || LoopHandle::current().exit(3).unwrap());
    assert!(run_until(Duration::from_secs(5), || Timer::active_count() == 0));

    // The request does not linger: a spy still waits for its emission...
    let tick = Timer::new();
    tick.set_single_shot(true);
    tick.set_interval(Duration::from_millis(5));
    let spy = SignalSpy::new(tick.timeout());
    tick.start();
    assert!(spy.wait(Duration::from_secs(5)), "the spy gave up at once: a stale exit request");
    // ...and a later exec runs until its own quit and returns its own code.
    let l = event_loop.clone();
    Timer::single_shot(Duration::from_millis(5), move || l.exit(7));
    assert_eq!(event_loop.exec(), 7);
}

#[test]
fn an_exit_request_ends_a_spy_wait_outside_exec_and_is_spent() {
    let _dog = Watchdog::new(LIMIT);
    let never = Signal::<()>::new();
    let spy = SignalSpy::new(&never);
    Timer::single_shot(Duration::from_millis(5), || LoopHandle::current().quit().unwrap());
    assert!(!spy.wait(Duration::from_secs(10)), "the wait did not end on the exit request");
    assert_eq!(spy.count(), 0);
    // Spent: the next wait waits again (for an emission this time).
    let signal = Rc::new(Signal::<()>::new());
    let spy = SignalSpy::new(&signal);
    let s = signal.clone();
    Timer::single_shot(Duration::from_millis(5), move || s.emit(&()));
    assert!(spy.wait(Duration::from_secs(5)));
}

#[test]
fn durations_too_large_for_the_clock_mean_never_not_a_panic() {
    let _dog = Watchdog::new(LIMIT);
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    Timer::single_shot(Duration::MAX, move || f.set(true));
    let timer = Timer::new();
    timer.start_with(Duration::MAX);
    assert!(timer.is_active());
    assert!(timer.remaining_time().unwrap() > Duration::from_secs(365 * 24 * 3600));
    timer.stop();

    // A wait without a usable deadline still returns on the emission.
    let signal = Rc::new(Signal::<u8>::new());
    let spy = SignalSpy::new(&signal);
    let s = signal.clone();
    Timer::single_shot(Duration::from_millis(5), move || s.emit(&1));
    assert!(spy.wait(Duration::MAX));
    assert_eq!(spy.take_first(), Some(1));
    assert!(!fired.get());
}

#[test]
fn a_repeating_timer_made_single_shot_while_active_fires_once_more_and_stops() {
    let _dog = Watchdog::new(LIMIT);
    let timer = Rc::new(Timer::new());
    timer.set_interval(Duration::from_millis(2));
    let spy = SignalSpy::new(timer.timeout());
    let t = Rc::downgrade(&timer);
    let first = Cell::new(true);
    timer.timeout().connect(move |_| {
        if first.replace(false) {
            t.upgrade().unwrap().set_single_shot(true);
        }
    });
    timer.start();
    assert!(run_until(Duration::from_secs(5), || spy.count() == 2));
    assert!(!timer.is_active(), "still active after the second timeout");
    assert!(!spy.wait(Duration::from_millis(30)), "fired a third time");
    assert_eq!(spy.count(), 2);

    // And the other way: a single-shot timer made repeating while active keeps going.
    timer.set_single_shot(true);
    timer.start();
    timer.set_single_shot(false);
    let spy = SignalSpy::new(timer.timeout());
    assert!(run_until(Duration::from_secs(5), || spy.count() >= 3));
    assert!(timer.is_active());
}

#[test]
fn a_thread_dropped_by_a_closure_on_its_own_loop_ends_without_deadlock() {
    let _dog = Watchdog::new(LIMIT);
    let thread = Thread::start().unwrap();
    let handle = thread.handle();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let mut thread = Some(thread);
    handle
        .post(move || {
            drop(thread.take());
            tx.send(()).unwrap();
        })
        .unwrap_or_else(|_| panic!("the thread's loop is gone"));
    rx.recv_timeout(Duration::from_secs(10)).expect("dropping the thread on itself hung");
    // It quit: its loop goes away, and posts to it are handed back.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while handle.post(|| {}).is_ok() {
        assert!(std::time::Instant::now() < deadline, "the thread's loop never ended");
        std::thread::yield_now();
    }
}

#[test]
fn values_emitted_before_a_post_arrive_before_it_under_contention() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // Each sender emits a value, then posts a closure recording that its value must have
    // arrived. Many senders share one emitter, so its "drain pending" state is contended.
    const SENDERS: u64 = 4;
    const EACH: u64 = 20_000;
    let signal = Signal::<(u64, u64)>::new();
    let seen = Rc::new(RefCell::new(vec![0u64; SENDERS as usize]));
    let s = seen.clone();
    signal.connect(move |&(sender, i)| {
        let mut seen = s.borrow_mut();
        assert_eq!(seen[sender as usize], i, "sender {sender}: values out of order");
        seen[sender as usize] = i + 1;
    });
    let emitter = signal.emitter();
    let handle = LoopHandle::current();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<()>();
    let violations = Arc::new(AtomicU64::new(0));
    let checks = Rc::new(RefCell::new(Vec::<(u64, u64)>::new()));
    let (check_tx, check_rx) = crossbeam_channel::unbounded::<(u64, u64)>();
    std::thread::scope(|scope| {
        for sender in 0..SENDERS {
            let (emitter, handle, done_tx, check_tx) =
                (emitter.clone(), handle.clone(), done_tx.clone(), check_tx.clone());
            scope.spawn(move || {
                for i in 0..EACH {
                    emitter.emit((sender, i)).unwrap();
                    if i % 16 == 0 {
                        let check_tx = check_tx.clone();
                        handle
                            .post(move || check_tx.send((sender, i)).unwrap())
                            .unwrap_or_else(|_| panic!("loop gone"));
                    }
                }
                done_tx.send(()).unwrap();
            });
        }
        drop(check_tx);
        let finished = Cell::new(0);
        let ok = run_until(Duration::from_secs(50), || {
            // A check posted after value i ran: value i must have been delivered already.
            while let Ok((sender, i)) = check_rx.try_recv() {
                if seen.borrow()[sender as usize] <= i {
                    violations.fetch_add(1, Ordering::SeqCst);
                }
                checks.borrow_mut().push((sender, i));
            }
            while done_rx.try_recv().is_ok() {
                finished.set(finished.get() + 1);
            }
            finished.get() == SENDERS && seen.borrow().iter().all(|&n| n == EACH)
        });
        assert!(ok, "not every value arrived: {:?}", seen.borrow());
    });
    assert_eq!(violations.load(Ordering::SeqCst), 0, "a post overtook a value emitted before it");
    assert!(!checks.borrow().is_empty());
}
