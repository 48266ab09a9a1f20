//! Timers: deadline order, lower-bound timing, repeat and stop, zero-delay ordering, scale,
//! single-shot handles and receiver-bound single shots.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::{DropCount, run_until};
use cute_core::{ConnectionType, EventLoop, Signal, SignalSpy, SingleShot, Timer};
use cute_testkit::Watchdog;

#[test]
fn timers_fire_in_deadline_order_and_never_early() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let start = Instant::now();
    let fired: Rc<RefCell<Vec<(u64, Duration)>>> = Rc::default();
    let mut timers = Vec::new();
    for ms in [30u64, 10, 20, 0, 15] {
        let timer = Timer::new();
        timer.set_single_shot(true);
        let f = fired.clone();
        timer.timeout().connect(move |_| f.borrow_mut().push((ms, start.elapsed())));
        timer.start_with(Duration::from_millis(ms));
        timers.push(timer);
    }
    assert!(run_until(Duration::from_secs(10), || fired.borrow().len() == 5));
    let fired = fired.borrow();
    let order: Vec<u64> = fired.iter().map(|(ms, _)| *ms).collect();
    assert_eq!(order, [0, 10, 15, 20, 30]);
    for (ms, at) in fired.iter() {
        assert!(*at >= Duration::from_millis(*ms), "timer {ms} ms fired early at {at:?}");
    }
    assert!(timers.iter().all(|t| !t.is_active()));
}

#[test]
fn interval_timer_repeats_until_stopped_from_its_slot() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let timer = Rc::new(Timer::new());
    timer.set_interval(Duration::from_millis(5));
    let ticks: Rc<RefCell<Vec<Instant>>> = Rc::default();
    let (t, w) = (ticks.clone(), Rc::downgrade(&timer));
    timer.timeout().connect(move |_| {
        t.borrow_mut().push(Instant::now());
        if t.borrow().len() == 5 {
            w.upgrade().unwrap().stop();
        }
    });
    let start = Instant::now();
    timer.start();
    assert!(timer.is_active());
    assert!(run_until(Duration::from_secs(10), || !timer.is_active()));
    assert_eq!(ticks.borrow().len(), 5);
    for (k, at) in ticks.borrow().iter().enumerate() {
        let due = Duration::from_millis(5 * (k as u64 + 1));
        assert!(at.duration_since(start) >= due, "tick {k} came before {due:?}");
    }
    // Stopped: nothing more within a few intervals.
    let spy = SignalSpy::new(timer.timeout());
    assert!(!spy.wait(Duration::from_millis(30)));
}

#[test]
fn zero_delay_timer_runs_after_events_already_queued() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let order: Rc<RefCell<Vec<&str>>> = Rc::default();
    let sig = Signal::<()>::new();
    let o = order.clone();
    sig.connect_with(ConnectionType::Queued, move |_| o.borrow_mut().push("queued event"));
    sig.emit(&());
    let o = order.clone();
    Timer::single_shot(Duration::ZERO, move || o.borrow_mut().push("zero timer"));
    let timer = Timer::new();
    timer.set_single_shot(true);
    let o = order.clone();
    timer.timeout().connect(move |_| o.borrow_mut().push("zero Timer"));
    timer.start();
    assert!(run_until(Duration::from_secs(5), || order.borrow().len() == 3));
    assert_eq!(*order.borrow(), ["queued event", "zero timer", "zero Timer"]);
}

#[test]
fn zero_delay_timer_rearmed_by_its_slot_yields_to_other_events() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    // A zero-interval repeating timer must not starve queued events.
    let timer = Timer::new();
    let ticks = Rc::new(Cell::new(0u32));
    let t = ticks.clone();
    timer.timeout().connect(move |_| t.set(t.get() + 1));
    timer.start();
    let sig = Signal::<()>::new();
    let seen = Rc::new(Cell::new(false));
    let s = seen.clone();
    sig.connect_with(ConnectionType::Queued, move |_| s.set(true));
    sig.emit(&());
    assert!(run_until(Duration::from_secs(5), || seen.get() && ticks.get() > 10));
    timer.stop();
}

#[test]
fn remaining_time_and_restart_semantics() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let timer = Timer::new();
    assert_eq!(timer.remaining_time(), None, "inactive: Qt's -1");
    timer.start_with(Duration::from_secs(60));
    let left = timer.remaining_time().unwrap();
    assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(50), "{left:?}");
    timer.set_interval(Duration::from_secs(5)); // restarts an active timer
    assert!(timer.remaining_time().unwrap() <= Duration::from_secs(5));
    timer.stop();
    assert!(!timer.is_active());
    assert_eq!(timer.remaining_time(), None);
    timer.set_interval(Duration::from_secs(1)); // does not start a stopped timer
    assert!(!timer.is_active());
}

#[test]
fn overdue_timer_reports_zero_remaining() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let timer = Timer::new();
    timer.start_with(Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(timer.remaining_time(), Some(Duration::ZERO));
    let spy = SignalSpy::new(timer.timeout());
    assert!(spy.wait(Duration::from_secs(5)));
}

#[test]
fn overrun_interval_timer_emits_once() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let timer = Timer::new();
    let spy = SignalSpy::new(timer.timeout());
    timer.start_with(Duration::from_millis(2));
    std::thread::sleep(Duration::from_millis(30)); // miss ~15 periods
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(spy.count(), 1, "one timeout for an overrun, as in Qt");
    timer.stop();
}

#[test]
fn dropping_a_timer_stops_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let fired = Rc::new(Cell::new(false));
    {
        let timer = Timer::new();
        let f = fired.clone();
        timer.timeout().connect(move |_| f.set(true));
        timer.start();
    }
    let spy_timer = Timer::new();
    spy_timer.set_single_shot(true);
    let spy = SignalSpy::new(spy_timer.timeout());
    spy_timer.start_with(Duration::from_millis(10));
    assert!(spy.wait(Duration::from_secs(5)));
    assert!(!fired.get());
}

#[test]
fn one_hundred_thousand_timers_all_fire_in_order() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    const N: usize = 100_000;
    // Which timer fired, in firing order.
    let fired: Rc<RefCell<Vec<usize>>> = Rc::new(RefCell::new(Vec::with_capacity(N)));
    // Each timer's deadline lies between its two bounds: `single_shot` reads the clock
    // after `before` and before `after`.
    let mut deadlines: Vec<(Instant, Instant)> = Vec::with_capacity(N);
    // Deadlines spread over 0..50 ms in a scrambled start order.
    for i in 0..N {
        let delay = Duration::from_millis((i as u64 * 7919) % 50);
        let f = fired.clone();
        let before = Instant::now();
        Timer::single_shot(delay, move || {
            assert!(before.elapsed() >= delay, "timer {i} fired early");
            f.borrow_mut().push(i);
        });
        deadlines.push((before + delay, Instant::now() + delay));
    }
    // And many live, restarted timers: stale heap entries must not pile up.
    let live: Vec<Timer> = (0..1000).map(|_| Timer::new()).collect();
    for _ in 0..100 {
        for t in &live {
            t.start_with(Duration::from_secs(3600));
        }
    }
    assert!(run_until(Duration::from_secs(30), || fired.borrow().len() == N));
    // Deadline order: no timer fires after one whose deadline is certainly later.
    let fired = fired.borrow();
    let mut seen = vec![false; N];
    let mut latest: Option<(usize, Instant)> = None; // the latest earliest-bound so far
    for &i in fired.iter() {
        assert!(!std::mem::replace(&mut seen[i], true), "timer {i} fired twice");
        let (earliest, at_most) = deadlines[i];
        if let Some((j, bound)) = latest {
            assert!(
                at_most >= bound,
                "timer {i} fired after timer {j}, whose deadline is {:?} later",
                bound - at_most
            );
        }
        if latest.is_none_or(|(_, bound)| earliest > bound) {
            latest = Some((i, earliest));
        }
    }
    assert_eq!(Timer::active_count(), 1000);
    drop(live);
    assert_eq!(Timer::active_count(), 0);
}

/// A receiver for `single_shot_to`.
#[derive(Default)]
struct Receiver {
    timeouts: Cell<u32>,
}

impl Receiver {
    fn on_timeout(&self) {
        self.timeouts.set(self.timeouts.get() + 1);
    }
}

const LIMIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Single-shot handles
// ---------------------------------------------------------------------------------------

#[test]
fn a_cancelled_single_shot_never_runs_and_its_closure_is_freed() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let before = Timer::active_count();
    let freed = Rc::new(Cell::new(0));
    let ran = Rc::new(Cell::new(false));
    let (r, guard) = (ran.clone(), DropCount(freed.clone()));
    let shot = Timer::single_shot(Duration::from_millis(5), move || {
        let _ = &guard;
        r.set(true);
    });
    assert!(shot.is_active());
    assert_eq!(Timer::active_count(), before + 1);
    assert!(shot.cancel());
    assert!(!shot.is_active());
    assert_eq!(freed.get(), 1, "freed by cancel");
    assert_eq!(Timer::active_count(), before);
    assert!(!shot.cancel(), "cancelling twice");
    // A later shot that fires proves the loop ran past the cancelled one's deadline.
    let later = Rc::new(Cell::new(false));
    let l = later.clone();
    Timer::single_shot(Duration::from_millis(20), move || l.set(true));
    assert!(run_until(LIMIT, || later.get()));
    assert!(!ran.get());
}

#[test]
fn dropping_the_single_shot_handle_does_not_cancel() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let shot = Timer::single_shot(Duration::from_millis(1), move || r.set(true));
    let copy = shot.clone();
    drop(shot);
    assert!(copy.is_active());
    assert!(run_until(LIMIT, || ran.get()));
    assert!(!copy.is_active(), "inactive once it ran");
    assert!(!copy.cancel(), "too late to cancel");
}

#[test]
fn a_single_shot_is_inactive_while_it_runs_and_cannot_cancel_itself() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let handle: Rc<RefCell<Option<SingleShot>>> = Rc::default();
    let seen = Rc::new(Cell::new(None));
    let (h, s) = (handle.clone(), seen.clone());
    *handle.borrow_mut() = Some(Timer::single_shot(Duration::ZERO, move || {
        let h = h.borrow();
        let shot = h.as_ref().unwrap();
        s.set(Some((shot.is_active(), shot.cancel())));
    }));
    assert!(run_until(LIMIT, || seen.get().is_some()));
    assert_eq!(seen.get(), Some((false, false)));
}

#[test]
fn a_bound_single_shot_skips_a_dead_receiver() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let freed = Rc::new(Cell::new(0));
    let receiver = Rc::new(Receiver::default());
    let guard = DropCount(freed.clone());
    let shot = Timer::single_shot_to(Duration::from_millis(1), &receiver, move |r| {
        let _ = &guard;
        r.on_timeout();
    });
    let weak = Rc::downgrade(&receiver);
    drop(receiver);
    assert!(weak.upgrade().is_none(), "the shot holds only a Weak");
    assert!(!shot.is_active(), "inactive once the receiver is gone");
    assert!(run_until(LIMIT, || freed.get() == 1), "dropped at its deadline without running");

    // A live receiver is called.
    let receiver = Rc::new(Receiver::default());
    let shot = Timer::single_shot_to(Duration::from_millis(1), &receiver, Receiver::on_timeout);
    assert!(run_until(LIMIT, || receiver.timeouts.get() == 1));
    assert!(!shot.is_active());
}
