//! Receiver-bound connections (Qt's context object), single-shot handles, scoped
//! connections, signal blocking and fallible slots.

mod common;

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{DropCount, run_until};
use cute_core::{
    ConnectionType, EventLoop, LoopHandle, ScopedConnection, Signal, SignalBlocker, SlotError, Timer,
};
use cute_testkit::Watchdog;

const LIMIT: Duration = Duration::from_secs(10);

/// A receiver: what its slots saw.
#[derive(Default)]
struct Receiver {
    seen: RefCell<Vec<i32>>,
}

impl Receiver {
    fn on_value(&self, value: &i32) {
        self.seen.borrow_mut().push(*value);
    }

    #[allow(clippy::ptr_arg)] // a slot of `Signal<String>` takes what it emits: `&String`
    fn on_text(&self, text: &String) -> Result<(), std::num::ParseIntError> {
        self.seen.borrow_mut().push(text.parse()?);
        Ok(())
    }

    fn on_timeout(&self) {
        self.seen.borrow_mut().push(-1);
    }
}

// ---------------------------------------------------------------------------------------
// Receiver-bound connections
// ---------------------------------------------------------------------------------------

#[test]
fn bound_slot_runs_while_the_receiver_lives_and_is_freed_once_it_is_gone() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let receiver = Rc::new(Receiver::default());
    let called = Rc::new(Cell::new(0));
    let freed = Rc::new(Cell::new(0));
    let (c, guard) = (called.clone(), DropCount(freed.clone()));
    let connection = sig.connect_to(&receiver, move |r, v| {
        let _ = &guard;
        c.set(c.get() + 1);
        r.on_value(v);
    });
    sig.connect(|_| {}); // a plain slot beside it
    assert_eq!(sig.receivers(), 2);
    sig.emit(&1);
    sig.emit(&2);
    assert_eq!(*receiver.seen.borrow(), [1, 2]);
    assert_eq!(Rc::strong_count(&receiver), 1, "the slot holds only a Weak");

    drop(receiver);
    assert!(!connection.is_connected(), "disconnected as soon as the receiver is gone");
    assert_eq!(sig.receivers(), 1, "the count falls before the next emission");
    assert_eq!(freed.get(), 0, "freed at the next emission at the latest");
    sig.emit(&3);
    assert_eq!(called.get(), 2, "not called once the receiver is gone");
    assert_eq!(freed.get(), 1, "the closure was dropped by the emission");
    assert!(!connection.disconnect(), "already disconnected");
    assert_eq!(sig.receivers(), 1);
}

#[test]
fn disconnecting_a_bound_slot_whose_receiver_is_gone_frees_it_at_once() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let receiver = Rc::new(Receiver::default());
    let freed = Rc::new(Cell::new(0));
    let guard = DropCount(freed.clone());
    let connection = sig.connect_to(&receiver, move |_, _| {
        let _ = &guard;
    });
    drop(receiver);
    assert!(!connection.disconnect(), "counts as disconnected already");
    assert_eq!(freed.get(), 1, "but the closure is freed now");
}

#[test]
fn method_slots_connect_in_one_line() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let value = Signal::<i32>::new();
    let text = Signal::<String>::new();
    let receiver = Rc::new(Receiver::default());
    value.connect_to(&receiver, Receiver::on_value);
    text.try_connect_to(&receiver, Receiver::on_text);
    value.emit(&7);
    text.emit(&"8".to_string());
    Timer::single_shot_to(Duration::ZERO, &receiver, Receiver::on_timeout);
    assert!(run_until(LIMIT, || receiver.seen.borrow().len() == 3));
    assert_eq!(*receiver.seen.borrow(), [7, 8, -1]);
}

/// The PyQt shape: an object owning the signal's sender connects its own methods, with no
/// reference cycle.
#[test]
fn an_object_connecting_its_own_methods_to_a_signal_it_owns_is_freed() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    struct Example {
        finished: Signal<i32>,
        log: RefCell<Vec<i32>>,
    }
    impl Example {
        fn new() -> Rc<Self> {
            let this = Rc::new(Example { finished: Signal::new(), log: RefCell::default() });
            this.finished.connect_to(&this, Self::on_finished);
            this
        }
        fn on_finished(&self, v: &i32) {
            self.log.borrow_mut().push(*v);
        }
    }
    let ex = Example::new();
    ex.finished.emit(&1);
    assert_eq!(*ex.log.borrow(), [1]);
    let weak = Rc::downgrade(&ex);
    drop(ex);
    assert!(weak.upgrade().is_none(), "no cycle through the slot");
}

#[test]
fn queued_bound_slot_whose_receiver_dies_before_delivery_is_not_called() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let freed = Rc::new(Cell::new(0));

    // Alive at delivery: called.
    let alive = Rc::new(Receiver::default());
    sig.connect_to_with(ConnectionType::Queued, &alive, Receiver::on_value);
    // Dead at delivery: not called, and freed.
    let doomed = Rc::new(Receiver::default());
    let called = Rc::new(Cell::new(false));
    let (c, guard) = (called.clone(), DropCount(freed.clone()));
    let connection = sig.connect_to_with(ConnectionType::Queued, &doomed, move |_, _: &i32| {
        let _ = &guard;
        c.set(true);
    });

    sig.emit(&5);
    assert!(alive.seen.borrow().is_empty(), "queued: not delivered inside emit");
    drop(doomed);
    assert!(!connection.is_connected());
    assert!(run_until(LIMIT, || !alive.seen.borrow().is_empty()));
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(*alive.seen.borrow(), [5]);
    assert!(!called.get(), "the receiver died between the emission and the delivery");
    assert_eq!(freed.get(), 1, "the queued slot was dropped");
    assert_eq!(sig.receivers(), 1);
}

#[test]
fn values_from_another_thread_reach_a_bound_slot_on_the_signal_thread() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let receiver = Rc::new(Receiver::default());
    sig.connect_to(&receiver, Receiver::on_value);
    let emitter = sig.emitter();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for v in 0..100 {
                emitter.emit(v).unwrap();
            }
        });
        assert!(run_until(LIMIT, || receiver.seen.borrow().len() == 100));
    });
    assert_eq!(*receiver.seen.borrow(), (0..100).collect::<Vec<_>>());
}

#[test]
fn a_slot_dropping_the_receiver_of_a_later_slot_skips_it_in_the_same_emission() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let holder: Rc<RefCell<Option<Rc<Receiver>>>> = Rc::new(RefCell::new(Some(Rc::default())));
    let freed = Rc::new(Cell::new(0));
    let log: Rc<RefCell<Vec<&str>>> = Rc::default();

    let (h, l) = (holder.clone(), log.clone());
    sig.connect(move |_| {
        l.borrow_mut().push("killer");
        h.borrow_mut().take(); // drops the receiver of the next slot
    });
    let receiver = holder.borrow().clone().unwrap();
    let (l, guard) = (log.clone(), DropCount(freed.clone()));
    let victim = sig.connect_to(&receiver, move |r, v| {
        let _ = &guard;
        l.borrow_mut().push("victim");
        r.on_value(v);
    });
    drop(receiver);
    let l = log.clone();
    sig.connect(move |_| l.borrow_mut().push("after"));

    sig.emit(&1);
    assert_eq!(*log.borrow(), ["killer", "after"], "the victim is skipped, the others run");
    assert!(!victim.is_connected());
    assert_eq!(freed.get(), 1, "freed when the emission ended");
    assert_eq!(sig.receivers(), 2);
    sig.emit(&2);
    assert_eq!(*log.borrow(), ["killer", "after", "killer", "after"]);
}

#[test]
fn a_bound_slot_may_drop_its_own_receiver() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<i32>::new());
    let holder: Rc<RefCell<Option<Rc<Receiver>>>> = Rc::new(RefCell::new(Some(Rc::default())));
    let receiver = holder.borrow().clone().unwrap();
    let freed = Rc::new(Cell::new(0));
    let (h, s, guard) = (holder.clone(), Rc::downgrade(&sig), DropCount(freed.clone()));
    sig.connect_to(&receiver, move |r, v| {
        let _ = &guard;
        r.on_value(v);
        h.borrow_mut().take(); // the last strong reference but the slot's own
        assert_eq!(r.seen.borrow().len(), 1, "still alive until the slot returns");
        s.upgrade().unwrap().emit(&(v + 1)); // recursive: this slot is not re-entered
    });
    let weak = Rc::downgrade(&receiver);
    drop(receiver);
    sig.emit(&1);
    assert!(weak.upgrade().is_none());
    assert_eq!(sig.receivers(), 0);
    sig.emit(&3);
    assert_eq!(freed.get(), 1);
}

#[test]
fn a_slot_may_drop_the_signal_that_calls_bound_slots() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let owner: Rc<RefCell<Option<Rc<Signal<i32>>>>> = Rc::new(RefCell::new(Some(Rc::default())));
    let sig = owner.borrow().clone().unwrap();
    let receiver = Rc::new(Receiver::default());
    let freed = Rc::new(Cell::new(0));
    let guard = DropCount(freed.clone());
    sig.connect_to(&receiver, move |r, v| {
        let _ = &guard;
        r.on_value(v);
    });
    let o = owner.clone();
    sig.connect(move |_| drop(o.borrow_mut().take())); // the owner drops its signal
    sig.connect_to(&receiver, Receiver::on_value); // still called by this emission
    let weak = Rc::downgrade(&sig);
    sig.emit(&1); // the caller's reference keeps the signal until `emit` returns
    drop(sig);
    assert!(weak.upgrade().is_none());
    assert_eq!(*receiver.seen.borrow(), [1, 1]);
    assert_eq!(freed.get(), 1, "the bound slots went with their signal");
}

#[test]
fn a_bound_slot_connected_during_an_emission_is_not_called_by_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<i32>::new());
    let receiver = Rc::new(Receiver::default());
    let (s, r) = (Rc::downgrade(&sig), Rc::downgrade(&receiver));
    sig.connect_once(move |_| {
        let (sig, receiver) = (s.upgrade().unwrap(), r.upgrade().unwrap());
        sig.connect_to(&receiver, Receiver::on_value);
    });
    sig.emit(&1);
    sig.emit(&2);
    assert_eq!(*receiver.seen.borrow(), [2]);
}

#[test]
fn slots_of_dead_receivers_do_not_pile_up_on_a_signal_that_is_never_emitted() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let freed = Rc::new(Cell::new(0));
    const N: usize = 10_000;
    for _ in 0..N {
        let receiver = Rc::new(Receiver::default());
        let guard = DropCount(freed.clone());
        sig.connect_to(&receiver, move |_, _| {
            let _ = &guard;
        });
    }
    let live = N - freed.get();
    assert!(live <= 64, "{live} closures of dead receivers still held");
    assert_eq!(sig.receivers(), 0);
    // Live receivers are never swept.
    let kept: Vec<Rc<Receiver>> = (0..100).map(|_| Rc::new(Receiver::default())).collect();
    for r in &kept {
        sig.connect_to(r, Receiver::on_value);
    }
    for _ in 0..1000 {
        sig.connect_to(&Rc::new(Receiver::default()), Receiver::on_value);
    }
    assert_eq!(sig.receivers(), 100);
    sig.emit(&4);
    assert!(kept.iter().all(|r| *r.seen.borrow() == [4]));
}

// ---------------------------------------------------------------------------------------
// Scoped connections
// ---------------------------------------------------------------------------------------

#[test]
fn a_scoped_connection_disconnects_on_drop_and_release_keeps_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    let scoped = sig.connect(move |_| h.set(h.get() + 1)).scoped();
    assert!(scoped.is_connected());
    sig.emit(&1);
    drop(scoped);
    sig.emit(&2);
    assert_eq!(hits.get(), 1);
    assert_eq!(sig.receivers(), 0);

    let h = hits.clone();
    let kept = ScopedConnection::from(sig.connect(move |_| h.set(h.get() + 1))).release();
    sig.emit(&3);
    assert_eq!(hits.get(), 2);
    assert!(kept.is_connected());
    drop(kept);
    sig.emit(&4);
    assert_eq!(hits.get(), 3, "a released connection stays connected after its drop");
}

#[test]
fn a_slot_may_drop_its_own_scoped_connection() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let cell: Rc<RefCell<Option<ScopedConnection>>> = Rc::default();
    let hits = Rc::new(Cell::new(0));
    let (c, h) = (cell.clone(), hits.clone());
    *cell.borrow_mut() = Some(
        sig.connect(move |_| {
            h.set(h.get() + 1);
            c.borrow_mut().take(); // disconnects this very slot
        })
        .scoped(),
    );
    sig.emit(&1);
    sig.emit(&2);
    assert_eq!(hits.get(), 1);
    assert_eq!(sig.receivers(), 0);
}

// ---------------------------------------------------------------------------------------
// Blocking
// ---------------------------------------------------------------------------------------

#[test]
fn blocked_emissions_are_dropped_not_delivered_later() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let direct: Rc<RefCell<Vec<i32>>> = Rc::default();
    let queued: Rc<RefCell<Vec<i32>>> = Rc::default();
    let d = direct.clone();
    sig.connect(move |v| d.borrow_mut().push(*v));
    let q = queued.clone();
    sig.connect_with(ConnectionType::Queued, move |v: &i32| q.borrow_mut().push(*v));

    assert!(!sig.signals_blocked());
    assert!(!sig.block_signals(true), "returns the previous state");
    assert!(sig.block_signals(true));
    sig.emit(&1);
    EventLoop::process_events(Duration::ZERO);
    assert!(sig.block_signals(false));
    sig.emit(&2);
    assert!(run_until(LIMIT, || !queued.borrow().is_empty()));
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(*direct.borrow(), [2]);
    assert_eq!(*queued.borrow(), [2], "nothing was queued while blocked");
}

#[test]
fn a_signal_blocked_before_its_first_connection_stays_blocked() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<()>::new();
    assert!(!sig.block_signals(false), "unblocking a fresh signal");
    sig.block_signals(true);
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    sig.connect(move |_| h.set(h.get() + 1));
    sig.emit(&());
    assert_eq!(hits.get(), 0);
}

#[test]
fn nested_blockers_restore_the_state_they_found() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let seen: Rc<RefCell<Vec<i32>>> = Rc::default();
    let s = seen.clone();
    sig.connect(move |v| s.borrow_mut().push(*v));
    {
        let _outer = SignalBlocker::new(&sig);
        sig.emit(&1);
        {
            let mut inner = SignalBlocker::new(&sig);
            sig.emit(&2);
            inner.unblock(); // restores what it found: blocked
            assert!(sig.signals_blocked());
            inner.reblock();
        }
        assert!(sig.signals_blocked(), "the inner blocker restored the outer one's block");
        sig.emit(&3);
    }
    assert!(!sig.signals_blocked());
    sig.emit(&4);
    {
        let mut blocker = SignalBlocker::new(&sig);
        blocker.unblock();
        sig.emit(&5);
        blocker.reblock();
        sig.emit(&6);
    }
    sig.emit(&7);
    assert_eq!(*seen.borrow(), [4, 5, 7]);
    // A signal blocked by hand stays blocked after a blocker.
    sig.block_signals(true);
    drop(SignalBlocker::new(&sig));
    assert!(sig.signals_blocked());
}

#[test]
fn a_slot_blocking_its_signal_lets_the_current_emission_finish() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<i32>::new());
    let seen: Rc<RefCell<Vec<(char, i32)>>> = Rc::default();
    let (s, w) = (seen.clone(), Rc::downgrade(&sig));
    sig.connect(move |v| {
        s.borrow_mut().push(('a', *v));
        let sig = w.upgrade().unwrap();
        sig.block_signals(true);
        sig.emit(&(v + 100)); // dropped: blocked
    });
    let s = seen.clone();
    sig.connect(move |v| s.borrow_mut().push(('b', *v)));
    sig.emit(&1);
    sig.emit(&2);
    assert_eq!(*seen.borrow(), [('a', 1), ('b', 1)]);
}

#[test]
fn values_from_other_threads_arriving_while_blocked_are_dropped() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let seen: Rc<RefCell<Vec<i32>>> = Rc::default();
    let s = seen.clone();
    sig.connect(move |v| s.borrow_mut().push(*v));
    let emitter = sig.emitter();
    let handle = LoopHandle::current();
    let marker = Arc::new(AtomicBool::new(false));

    sig.block_signals(true);
    std::thread::scope(|scope| {
        let (emitter, handle, m) = (emitter.clone(), handle.clone(), marker.clone());
        scope.spawn(move || {
            emitter.emit(1).unwrap();
            // Values of a signal arrive no later than closures posted after them.
            handle.post(move || m.store(true, Ordering::SeqCst)).unwrap();
        });
        assert!(run_until(LIMIT, || marker.load(Ordering::SeqCst)));
    });
    sig.block_signals(false);
    std::thread::scope(|scope| {
        scope.spawn(move || emitter.emit(2).unwrap());
        assert!(run_until(LIMIT, || !seen.borrow().is_empty()));
    });
    assert_eq!(*seen.borrow(), [2]);
}

// ---------------------------------------------------------------------------------------
// Fallible slots
// ---------------------------------------------------------------------------------------

/// Every slot error this binary reports: (signal type, message). The hook is global, so one
/// is installed for the whole binary and each test looks for its own signal type.
fn reported() -> &'static Mutex<Vec<(String, String)>> {
    static REPORTED: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    REPORTED.get_or_init(|| {
        cute_core::set_slot_error_hook(|err: &SlotError| {
            assert!(err.to_string().contains(err.signal_type()));
            assert_eq!(err.source().map(|s| s.to_string()), Some(err.message()));
            reported().lock().unwrap().push((err.signal_type().to_owned(), err.message()));
        });
        Mutex::default()
    })
}

fn reports_for(signal_type: &str) -> Vec<String> {
    let all = reported().lock().unwrap();
    all.iter().filter(|(t, _)| t.ends_with(signal_type)).map(|(_, m)| m.clone()).collect()
}

#[derive(Debug)]
struct FirstLine(String);

#[test]
fn a_failing_slot_reaches_the_hook_and_the_other_slots_still_run() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let _ = reported();
    let sig = Signal::<FirstLine>::new();
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l = log.clone();
    sig.connect(move |_| l.borrow_mut().push("before".into()));
    let l = log.clone();
    let failing = sig.try_connect(move |line| -> Result<(), Box<dyn Error>> {
        let n: u16 = line.0.parse()?; // `?` in a slot
        l.borrow_mut().push(format!("parsed {n}"));
        Ok(())
    });
    let l = log.clone();
    sig.connect(move |_| l.borrow_mut().push("after".into()));

    sig.emit(&FirstLine("80".into()));
    sig.emit(&FirstLine("eighty".into()));
    assert_eq!(*log.borrow(), ["before", "parsed 80", "after", "before", "after"]);
    assert_eq!(reports_for("FirstLine"), ["invalid digit found in string"]);
    assert!(failing.is_connected(), "a failing slot stays connected");
}

#[derive(Debug)]
struct Reading(i64);

#[test]
fn errors_of_any_kind_are_reported_with_their_message() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let _ = reported();
    let sig = Signal::<Reading>::new();
    sig.try_connect(|r| if r.0 < 0 { Err(format!("negative reading {}", r.0)) } else { Ok(()) });
    sig.try_connect(|r| if r.0 > 100 { Err("too high") } else { Ok(()) });
    let receiver = Rc::new(Receiver::default());
    sig.try_connect_to(&receiver, |r, reading| -> Result<(), Box<dyn Error>> {
        r.on_text(&reading.0.to_string())?;
        std::fs::metadata("/definitely/not/here")?;
        Ok(())
    });
    sig.emit(&Reading(-1));
    sig.emit(&Reading(101));
    let reports = reports_for("Reading");
    assert_eq!(reports.len(), 4, "{reports:?}");
    assert_eq!(reports[0], "negative reading -1");
    assert_eq!(reports[2], "too high");
    assert!(reports[1].contains("No such file"), "{reports:?}");
    assert_eq!(*receiver.seen.borrow(), [-1, 101]);
}
