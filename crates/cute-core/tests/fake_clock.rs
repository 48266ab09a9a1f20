//! The fake clock: timers, `remaining_time` and `SignalSpy::wait` follow it; `advance`
//! fires what became due (missed periods coalesce); an idle loop lets fake time pass
//! deadline by deadline; a frozen clock moves only by `advance`; posts from other threads
//! are delivered meanwhile; dropping it restores real time.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cute_core::testing::FakeClock;
use cute_core::{EventLoop, LoopHandle, Signal, SignalSpy, Timer};
use cute_testkit::Watchdog;

const SEC: Duration = Duration::from_secs(1);

/// A counter bumped by a slot.
fn counter() -> (Rc<Cell<u32>>, impl FnMut(&()) + 'static) {
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    (count, move |_: &()| c.set(c.get() + 1))
}

#[test]
fn a_60_s_single_shot_fires_after_advancing_60_s_and_not_59_in_under_a_second() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let real = Instant::now();
    let clock = FakeClock::install();
    let fired = Rc::new(Cell::new(0));
    let f = fired.clone();
    let shot = Timer::single_shot(60 * SEC, move || f.set(f.get() + 1));

    clock.advance(59 * SEC);
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(fired.get(), 0, "fired a second early");
    assert!(shot.is_active());

    clock.advance(SEC);
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(fired.get(), 1);
    assert!(!shot.is_active());
    assert!(real.elapsed() < SEC, "took {:?} of real time", real.elapsed());
}

#[test]
fn timers_fire_in_deadline_order_after_one_advance_all_seeing_the_advanced_time() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let clock = Rc::new(FakeClock::install());
    let start = clock.now();
    let fired: Rc<RefCell<Vec<(u64, Duration)>>> = Rc::default();
    for secs in [30u64, 10, 20, 5] {
        let (f, c) = (fired.clone(), clock.clone());
        Timer::single_shot(Duration::from_secs(secs), move || f.borrow_mut().push((secs, c.now() - start)));
    }
    clock.advance(25 * SEC);
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(*fired.borrow(), [(5, 25 * SEC), (10, 25 * SEC), (20, 25 * SEC)], "the 30 s one is not due");
}

#[test]
fn a_repeating_timer_fires_once_for_a_big_advance_then_once_per_period_as_time_passes() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let clock = FakeClock::install();
    let (ticks, slot) = counter();
    let timer = Timer::new();
    timer.timeout().connect(slot);
    timer.start_with(SEC);

    // A stall of ten periods: one timeout (Qt's coalescing), phase kept.
    clock.advance(10 * SEC);
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(ticks.get(), 1);
    assert_eq!(timer.remaining_time(), Some(SEC));

    // Time passing by itself goes deadline by deadline: one timeout per period.
    let spy = SignalSpy::new(timer.timeout());
    let start = clock.now();
    for k in 1..=5u32 {
        assert!(spy.wait(60 * SEC));
        assert_eq!(clock.now() - start, k * SEC, "timeout {k} came at its deadline");
    }
    assert_eq!(ticks.get(), 6);
}

#[test]
fn spy_wait_of_60_s_for_a_30_s_timer_returns_true_at_once() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let real = Instant::now();
    let clock = FakeClock::install();
    let start = clock.now();
    let timer = Timer::new();
    timer.set_single_shot(true);
    let spy = SignalSpy::new(timer.timeout());
    timer.start_with(30 * SEC);
    assert!(spy.wait(60 * SEC));
    assert_eq!(clock.now() - start, 30 * SEC, "the clock stops at the timer's deadline");

    // Nothing left to wait for: the wait's own 60 s pass on the fake clock.
    assert!(!spy.wait(60 * SEC));
    assert_eq!(clock.now() - start, 90 * SEC);
    assert!(real.elapsed() < SEC, "took {:?} of real time", real.elapsed());
}

#[test]
fn process_events_lets_at_most_its_max_wait_pass() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let clock = FakeClock::install();
    let start = clock.now();
    let (ticks, slot) = counter();
    let timer = Timer::new();
    timer.timeout().connect(slot);
    timer.start_with(10 * SEC);
    EventLoop::process_events(4 * SEC);
    assert_eq!((ticks.get(), clock.now() - start), (0, 4 * SEC));
    EventLoop::process_events(60 * SEC);
    assert_eq!((ticks.get(), clock.now() - start), (1, 10 * SEC));
}

#[test]
fn remaining_time_follows_the_fake_clock() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let clock = FakeClock::install();
    let timer = Timer::new();
    timer.set_single_shot(true);
    timer.start_with(60 * SEC);
    assert_eq!(timer.remaining_time(), Some(60 * SEC), "real time does not count");
    clock.advance(45 * SEC);
    assert_eq!(timer.remaining_time(), Some(15 * SEC));
    clock.advance(20 * SEC);
    assert_eq!(timer.remaining_time(), Some(Duration::ZERO), "overdue");
    assert!(timer.is_active(), "fires on the next round, not in advance");
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(timer.remaining_time(), None);
}

#[test]
fn dropping_the_clock_restores_real_time_keeping_what_timers_had_left() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let clock = FakeClock::install();
    assert!(FakeClock::is_installed());
    let long = Timer::new();
    long.start_with(3600 * SEC);
    let (fired, slot) = counter();
    let short = Timer::new();
    short.set_single_shot(true);
    short.timeout().connect(slot);
    short.start_with(3600 * SEC + Duration::from_millis(50));
    clock.advance(3600 * SEC);
    assert_eq!(short.remaining_time(), Some(Duration::from_millis(50)));
    drop(clock);
    assert!(!FakeClock::is_installed());

    // 50 ms left on the fake clock is 50 ms of real time now.
    let real = Instant::now();
    let left = short.remaining_time().unwrap();
    assert!(left <= Duration::from_millis(50) && left > Duration::ZERO, "{left:?} left");
    let spy = SignalSpy::new(short.timeout());
    assert!(spy.wait(10 * SEC));
    assert!(real.elapsed() >= Duration::from_millis(40), "fired after {:?}", real.elapsed());
    assert_eq!(fired.get(), 1);
    // The repeating one went back to its phase, minus what was spent.
    assert!(long.remaining_time().unwrap() <= 3600 * SEC);
    assert!(long.remaining_time().unwrap() > 3590 * SEC);
}

#[test]
fn a_post_from_another_thread_is_delivered_while_the_clock_is_installed() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let _clock = FakeClock::install();
    let done = Signal::<u32>::new();
    let spy = SignalSpy::new(&done);
    let emitter = done.emitter();
    let handle = LoopHandle::current();
    let worker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        emitter.emit(7).unwrap();
    });
    // No timer pending: the idle loop sleeps for real until the emission arrives.
    let event_loop = EventLoop::new();
    let quitter = event_loop.clone();
    let _conn = done.connect(move |_| quitter.quit());
    assert_eq!(event_loop.exec(), 0);
    assert_eq!(spy.take_first(), Some(7));
    worker.join().unwrap();

    // With a timer pending, a post that is there is run before any time passes.
    let clock = &_clock;
    let start = clock.now();
    let timer = Timer::new();
    timer.start_with(60 * SEC);
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    std::thread::spawn(move || handle.post(move || f.store(true, Ordering::SeqCst)).unwrap()).join().unwrap();
    EventLoop::process_events(60 * SEC);
    assert!(flag.load(Ordering::SeqCst));
    assert_eq!(clock.now(), start, "the round had work: no time passed");
}

#[test]
fn a_frozen_clock_moves_only_by_advance_and_waits_last_real_time() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let clock = FakeClock::install();
    clock.set_auto_advance(false);
    assert!(!clock.is_auto_advance());
    let start = clock.now();
    let timer = Timer::new();
    timer.set_single_shot(true);
    let spy = SignalSpy::new(timer.timeout());
    timer.start_with(SEC);

    // The wait lasts real time; the 1 s timer does not become due by waiting.
    let real = Instant::now();
    assert!(!spy.wait(Duration::from_millis(30)));
    assert!(real.elapsed() >= Duration::from_millis(30));
    assert_eq!(clock.now(), start);

    // Meanwhile another thread's emission is delivered, timer still pending.
    let sig = Signal::<u32>::new();
    let other = SignalSpy::new(&sig);
    let emitter = sig.emitter();
    let worker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        emitter.emit(1).unwrap();
    });
    assert!(other.wait(10 * SEC));
    worker.join().unwrap();
    assert!(timer.is_active());

    clock.advance(SEC);
    assert!(spy.wait(10 * SEC), "due after advance: fires on the next round");
}

#[test]
#[should_panic(expected = "already has a fake clock")]
fn installing_twice_on_one_thread_panics() {
    let _first = FakeClock::install();
    let _second = FakeClock::install();
}

#[test]
fn each_thread_has_its_own_clock() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let _clock = FakeClock::install();
    std::thread::spawn(|| assert!(!FakeClock::is_installed())).join().unwrap();
}
