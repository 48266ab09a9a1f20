//! Async/await on the loop: local tasks (order, output, abort, detach, wakes from other
//! threads, coalescing, panics, a loop that is gone), tasks on another thread's loop,
//! `block_on` (nested, inside slots, with exit requests), signals as futures and streams,
//! timers as futures, and `futures` combinators over all of them.

mod common;

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::{DropCount, run_until};
use cute_core::{
    ConnectionType, Elapsed, Error, EventLoop, LoopHandle, Signal, Thread, Timer, block_on, sleep,
    spawn_local, timeout,
};
use cute_testkit::Watchdog;
use futures_util::future::{Either, join, select};

const LONG: Duration = Duration::from_secs(10);

/// A one-shot channel whose receiver is a future, woken by the sender from any thread.
struct Oneshot<T> {
    slot: Mutex<(Option<T>, Option<Waker>)>,
}

fn oneshot<T>() -> (Arc<Oneshot<T>>, OneshotRx<T>) {
    let shared = Arc::new(Oneshot { slot: Mutex::new((None, None)) });
    (shared.clone(), OneshotRx(shared))
}

impl<T> Oneshot<T> {
    fn send(&self, value: T) {
        let waker = {
            let mut slot = self.slot.lock().unwrap();
            slot.0 = Some(value);
            slot.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

struct OneshotRx<T>(Arc<Oneshot<T>>);

impl<T> Future for OneshotRx<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.0.slot.lock().unwrap();
        match slot.0.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[test]
fn tasks_start_in_spawn_order_after_the_events_already_queued_and_return_their_output() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let log: Rc<RefCell<Vec<&str>>> = Rc::default();
    let queued = Signal::<()>::new();
    let l = log.clone();
    queued.connect_with(ConnectionType::Queued, move |_| l.borrow_mut().push("queued slot"));
    queued.emit(&());
    let handles: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let l = log.clone();
            spawn_local(async move {
                l.borrow_mut().push(name);
                name.len() + 1
            })
        })
        .collect();
    assert!(log.borrow().is_empty(), "a task never runs inside spawn_local");
    assert!(handles.iter().all(|h| !h.is_finished()));
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(*log.borrow(), ["queued slot", "a", "b", "c"]);
    assert!(handles.iter().all(|h| h.is_finished()));
    let outputs: Vec<usize> = handles.into_iter().map(|h| block_on(h).unwrap()).collect();
    assert_eq!(outputs, [2, 2, 2]);
}

#[test]
fn a_task_woken_several_times_before_it_runs_is_polled_once() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let polls = Rc::new(Cell::new(0));
    let waker: Rc<RefCell<Option<Waker>>> = Rc::default();
    let (p, w) = (polls.clone(), waker.clone());
    let task = spawn_local(poll_fn(move |cx| {
        p.set(p.get() + 1);
        *w.borrow_mut() = Some(cx.waker().clone());
        if p.get() == 3 { Poll::Ready(p.get()) } else { Poll::Pending }
    }));
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(polls.get(), 1);
    let woken = waker.borrow().clone().unwrap();
    woken.wake_by_ref();
    woken.wake_by_ref();
    woken.wake_by_ref();
    assert_eq!(polls.get(), 1, "a wake only queues a poll");
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(polls.get(), 2);
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(polls.get(), 2, "no wake, no poll");
    // Woken from another thread, twice: one poll.
    std::thread::scope(|s| {
        s.spawn(|| {
            woken.wake_by_ref();
            woken.wake_by_ref();
        });
    });
    assert!(run_until(LONG, || polls.get() == 3));
    assert_eq!(block_on(task).unwrap(), 3);
    woken.wake(); // the task is done: nothing happens
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(polls.get(), 3);
}

#[test]
fn a_task_woken_from_another_thread_runs_on_its_own_loop() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (tx, rx) = oneshot::<u32>();
    let here = std::thread::current().id();
    let task = spawn_local(async move {
        let value = rx.await;
        (value, std::thread::current().id())
    });
    EventLoop::process_events(Duration::ZERO); // the task waits on the channel now
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        tx.send(42);
    });
    let result = block_on(timeout(LONG, task)).expect("the cross-thread wake was lost");
    assert_eq!(result.unwrap(), (42, here));
    sender.join().unwrap();
}

#[test]
fn abort_drops_the_task_at_once_and_the_handle_reports_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let drops = Rc::new(Cell::new(0));
    let timers_before = Timer::active_count();
    let guard = DropCount(drops.clone());
    let task = spawn_local(async move {
        let _guard = guard;
        sleep(Duration::from_secs(3600)).await;
        unreachable!("aborted long before");
    });
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(Timer::active_count(), timers_before + 1, "the task sleeps on a loop timer");
    assert!(!task.is_finished());
    task.abort();
    assert_eq!(drops.get(), 1, "the future is dropped by abort");
    assert_eq!(Timer::active_count(), timers_before, "its timer is cancelled");
    assert!(task.is_finished());
    task.abort(); // again: nothing
    assert!(matches!(block_on(task), Err(Error::Aborted)));

    // Aborting a finished task keeps its output.
    let done = spawn_local(async { 5 });
    EventLoop::process_events(Duration::ZERO);
    done.abort();
    assert_eq!(block_on(done).unwrap(), 5);
}

#[test]
fn a_task_aborted_while_it_is_being_polled_is_dropped_when_its_poll_returns() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let drops = Rc::new(Cell::new(0));
    let slot: Rc<RefCell<Option<cute_core::JoinHandle<()>>>> = Rc::default();
    let (s, guard) = (slot.clone(), DropCount(drops.clone()));
    let d = drops.clone();
    let handle = spawn_local(async move {
        let _guard = guard;
        // Abort itself, through a nested loop, then go on to an await.
        block_on(async {
            s.borrow().as_ref().unwrap().abort();
        });
        assert_eq!(d.get(), 0, "not dropped while it runs");
        sleep(Duration::from_secs(3600)).await;
    });
    *slot.borrow_mut() = Some(handle);
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(drops.get(), 1);
    let handle = slot.borrow_mut().take().unwrap();
    assert!(matches!(block_on(handle), Err(Error::Aborted)));
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let signal = Rc::new(Signal::<u32>::new());
    let seen = Rc::new(Cell::new(0));
    let (next, s) = (signal.next(), seen.clone());
    drop(spawn_local(async move { s.set(next.await.unwrap()) }));
    EventLoop::process_events(Duration::ZERO);
    signal.emit(&9);
    assert!(run_until(LONG, || seen.get() == 9));
}

#[test]
fn a_panicking_task_propagates_and_its_handle_reports_the_panic() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let task = spawn_local(async {
        if std::hint::black_box(true) {
            panic!("task failed");
        }
    });
    let caught = catch_unwind(AssertUnwindSafe(|| EventLoop::process_events(Duration::ZERO)));
    assert!(caught.is_err(), "the panic propagates out of the loop");
    match block_on(task) {
        Err(Error::CallPanicked(message)) => assert_eq!(message, "task failed"),
        other => panic!("unexpected {other:?}"),
    }
    // The loop goes on.
    assert_eq!(block_on(spawn_local(async { 1 })).unwrap(), 1);
}

#[test]
fn a_task_whose_loop_is_gone_is_dropped_and_waking_it_never_panics() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let dropped = Arc::new(AtomicBool::new(false));
    let (waker_tx, waker_rx) = crossbeam_channel::bounded::<Waker>(1);
    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let flag = Flag(dropped.clone());
    let thread = std::thread::spawn(move || {
        let task = spawn_local(poll_fn(move |cx| {
            let _keep = &flag;
            let _ = waker_tx.try_send(cx.waker().clone());
            Poll::<()>::Pending
        }));
        EventLoop::process_events(Duration::ZERO);
        drop(task); // detached: pending when the thread ends
    });
    let waker = waker_rx.recv_timeout(LONG).unwrap();
    thread.join().unwrap();
    assert!(dropped.load(Ordering::SeqCst), "the task is dropped with its thread");
    waker.wake_by_ref(); // its loop is gone: nothing happens
    waker.wake();
}

#[test]
fn a_task_on_another_threads_loop_runs_there_and_its_output_comes_back() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let worker = Thread::start().unwrap();
    let worker_id = worker.handle().invoke_blocking(|| std::thread::current().id()).unwrap();
    let remote = worker.handle().spawn(async {
        let (tx, rx) = oneshot::<u32>();
        std::thread::spawn(move || tx.send(20));
        rx.await + 1
    });
    let local = spawn_local(async move { remote.await.unwrap() * 2 });
    assert_eq!(block_on(timeout(LONG, local)).unwrap().unwrap(), 42);

    // A future that is not Send, made on the worker; with its timers there.
    let remote = worker.handle().spawn_with(|| async {
        let here = Rc::new(std::thread::current().id());
        sleep(Duration::from_millis(2)).await;
        *here
    });
    assert_eq!(block_on(timeout(LONG, remote)).unwrap().unwrap(), worker_id);

    // A panic is caught on the worker, whose loop goes on.
    let remote = worker.handle().spawn(async {
        if std::hint::black_box(true) {
            panic!("remote failure");
        }
    });
    match block_on(timeout(LONG, remote)).unwrap() {
        Err(Error::CallPanicked(message)) => assert_eq!(message, "remote failure"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(block_on(timeout(LONG, worker.handle().spawn(async { 3 }))).unwrap().unwrap(), 3);
}

#[test]
fn a_remote_task_can_be_aborted_and_one_on_a_loop_that_is_gone_reports_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let mut worker = Thread::start().unwrap();
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let count = Count(dropped.clone());
    let remote = worker.handle().spawn_with(move || async move {
        let _count = count;
        sleep(Duration::from_secs(3600)).await;
    });
    // Let it start, then abort it: the worker drops it.
    let started = worker.handle().invoke_blocking(|| ()).is_ok();
    assert!(started);
    remote.abort();
    assert!(remote.is_finished());
    assert!(matches!(block_on(remote), Err(Error::Aborted)));
    let deadline = Instant::now() + LONG;
    while dropped.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the aborted task was never dropped");
        std::thread::yield_now();
    }

    // A task pending when its thread ends; and one posted after.
    let pending = worker.handle().spawn_with(std::future::pending::<()>);
    let handle = worker.handle();
    worker.quit();
    worker.wait().unwrap();
    assert!(matches!(block_on(timeout(LONG, pending)).unwrap(), Err(Error::LoopGone)));
    assert!(matches!(block_on(handle.spawn(async {})), Err(Error::LoopGone)));
}

#[test]
fn block_on_runs_the_loop_and_nests_inside_slots_and_itself() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let clicked = Signal::<u32>::new();
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l = log.clone();
    clicked.connect(move |&n| {
        // A queued slot and a timer keep flowing while the slot waits.
        let ticks = Signal::<()>::new();
        let l2 = l.clone();
        ticks.connect_with(ConnectionType::Queued, move |_| l2.borrow_mut().push("queued".into()));
        ticks.emit(&());
        let l3 = l.clone();
        Timer::single_shot(Duration::from_millis(1), move || l3.borrow_mut().push("timer".into()));
        let doubled = block_on(async move {
            sleep(Duration::from_millis(3)).await;
            // Nested once more.
            block_on(async move { n * 2 })
        });
        l.borrow_mut().push(format!("slot got {doubled}"));
    });
    clicked.emit(&21);
    assert_eq!(*log.borrow(), ["queued", "timer", "slot got 42"]);
}

#[test]
fn an_exit_request_during_block_on_ends_the_enclosing_loop_once_it_returns() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let event_loop = EventLoop::new();
    let finished = Rc::new(Cell::new(false));
    let f = finished.clone();
    Timer::single_shot(Duration::ZERO, move || {
        // Quit arrives while the slot waits: the wait completes, then the loop returns.
        Timer::single_shot(Duration::from_millis(1), || LoopHandle::current().exit(7).unwrap());
        block_on(sleep(Duration::from_millis(20)));
        f.set(true);
    });
    let start = Instant::now();
    assert_eq!(event_loop.exec(), 7);
    assert!(finished.get());
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn signal_next_gives_the_next_emission_and_dropping_it_disconnects() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let signal = Signal::<String>::new();
    let next = signal.next();
    assert_eq!(signal.receivers(), 1);
    signal.emit(&"first".to_string());
    signal.emit(&"second".to_string());
    assert_eq!(signal.receivers(), 0, "a single-shot connection");
    assert_eq!(block_on(next).as_deref(), Some("first"));

    // Cancelled by drop: the slot goes, and nothing is cloned into it later.
    let clones = Rc::new(Cell::new(0));
    #[derive(Debug)]
    struct Counted(Rc<Cell<usize>>);
    impl Clone for Counted {
        fn clone(&self) -> Self {
            self.0.set(self.0.get() + 1);
            Counted(self.0.clone())
        }
    }
    let counted = Signal::<Counted>::new();
    let next = counted.next();
    assert_eq!(counted.receivers(), 1);
    drop(next);
    assert_eq!(counted.receivers(), 0);
    counted.emit(&Counted(clones.clone()));
    assert_eq!(clones.get(), 0, "no slot ran");

    // Dropped by a timeout, after the first poll.
    let waited = block_on(timeout(Duration::from_millis(5), counted.next()));
    assert_eq!(waited.unwrap_err(), Elapsed);
    assert_eq!(counted.receivers(), 0);
}

#[test]
fn signal_next_ends_when_the_signal_can_no_longer_emit() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let signal = Rc::new(Signal::<u8>::new());
    let next = signal.next();
    signal.disconnect_all();
    assert_eq!(block_on(timeout(LONG, next)), Ok(None));

    // Dropped while a task awaits it: the task is woken and sees the end.
    let next = signal.next();
    let task = spawn_local(next);
    EventLoop::process_events(Duration::ZERO);
    let s = signal.clone();
    Timer::single_shot(Duration::from_millis(1), move || drop(s));
    drop(signal);
    assert_eq!(block_on(timeout(LONG, task)).unwrap().unwrap(), None);
}

#[test]
fn a_signal_stream_gives_every_emission_in_order_and_ends_with_the_signal() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let signal = Signal::<u32>::new();
    let mut stream = signal.stream();
    let emitter = signal.emitter();
    std::thread::spawn(move || {
        for n in 0..100 {
            emitter.emit(n).unwrap();
        }
    });
    let got = block_on(timeout(LONG, async {
        let mut got = Vec::new();
        while got.len() < 100 {
            got.push(stream.next().await.unwrap());
        }
        got
    }))
    .unwrap();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert!(stream.is_empty());
    signal.emit(&7);
    assert_eq!(stream.len(), 1);
    drop(signal);
    assert_eq!(block_on(stream.next()), Some(7));
    assert_eq!(block_on(stream.next()), None);
}

#[test]
fn sleep_never_ends_early_and_dropping_it_cancels_its_timer() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let start = Instant::now();
    block_on(sleep(Duration::from_millis(15)));
    assert!(start.elapsed() >= Duration::from_millis(15));

    let before = Timer::active_count();
    let mut long = Box::pin(sleep(Duration::from_secs(3600)));
    assert_eq!(Timer::active_count(), before, "the timer starts at the first poll");
    let polled = block_on(poll_fn(|cx| Poll::Ready(long.as_mut().poll(cx))));
    assert!(polled.is_pending());
    assert_eq!(Timer::active_count(), before + 1);
    drop(long);
    assert_eq!(Timer::active_count(), before);
}

#[test]
fn timeout_gives_the_output_in_time_and_elapsed_after() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let fast = block_on(timeout(LONG, async {
        sleep(Duration::from_millis(1)).await;
        "done"
    }));
    assert_eq!(fast, Ok("done"));
    let start = Instant::now();
    let slow = block_on(timeout(Duration::from_millis(10), sleep(Duration::from_secs(3600))));
    assert_eq!(slow, Err(Elapsed));
    assert!(start.elapsed() >= Duration::from_millis(10));
    assert!(start.elapsed() < LONG);
}

#[test]
fn futures_combinators_work_with_the_loops_futures() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let signal = Signal::<u32>::new();
    let emitter = signal.emitter();
    let next = signal.next();
    std::thread::spawn(move || emitter.emit(5).unwrap());
    let worker = Thread::start().unwrap();
    let remote = worker.handle().spawn(async { 6 });
    let (value, ((), output)) =
        block_on(timeout(LONG, join(next, join(sleep(Duration::from_millis(2)), remote)))).unwrap();
    assert_eq!((value, output.unwrap()), (Some(5), 6));

    // select: the first to finish wins; the loser is handed back, and its timer lives on
    // until it is dropped.
    let before = Timer::active_count();
    let winner = block_on(select(sleep(Duration::from_millis(2)), sleep(Duration::from_secs(3600))));
    let Either::Left(((), loser)) = winner else { panic!("the long sleep won") };
    assert_eq!(Timer::active_count(), before + 1);
    drop(loser);
    assert_eq!(Timer::active_count(), before);

    let task = spawn_local(async { 1 });
    let never = Signal::<()>::new();
    match block_on(select(task, never.next())) {
        Either::Left((output, _)) => assert_eq!(output.unwrap(), 1),
        Either::Right(_) => panic!("the signal never emits"),
    }
    assert_eq!(never.receivers(), 0);
}
