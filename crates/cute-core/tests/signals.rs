//! Emission semantics of `Signal` on one thread: order, reentrancy, disconnection, panics.

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::{Rc, Weak};
use std::time::Duration;

use cute_core::{Connection, ConnectionType, EventLoop, Signal};
use cute_testkit::Watchdog;

fn log() -> Rc<RefCell<Vec<String>>> {
    Rc::default()
}

fn push(log: &Rc<RefCell<Vec<String>>>, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

#[test]
fn slots_run_in_connection_order_and_duplicates_run_twice() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let l = log();
    for name in ["a", "b", "c"] {
        let l = l.clone();
        sig.connect(move |v| push(&l, format!("{name}{v}")));
    }
    let l2 = l.clone();
    let dup = move |v: &i32| push(&l2, format!("d{v}"));
    sig.connect(dup.clone());
    sig.connect(dup);
    sig.emit(&1);
    assert_eq!(*l.borrow(), ["a1", "b1", "c1", "d1", "d1"]);
    assert_eq!(sig.receivers(), 5);
}

#[test]
fn slot_connected_during_emission_is_not_called_by_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<()>::new());
    let l = log();
    let (s, l1) = (Rc::downgrade(&sig), l.clone());
    sig.connect(move |_| {
        push(&l1, "first");
        if let Some(sig) = s.upgrade() {
            let l = l1.clone();
            sig.connect(move |_| push(&l, "late"));
        }
    });
    sig.emit(&());
    assert_eq!(*l.borrow(), ["first"]);
    sig.emit(&());
    assert_eq!(*l.borrow(), ["first", "first", "late"]);
}

#[test]
fn slot_disconnected_during_emission_is_not_called_after_that_point() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<()>::new();
    let l = log();
    let victim: Rc<RefCell<Connection>> = Rc::default();
    let (v, l1) = (victim.clone(), l.clone());
    sig.connect(move |_| {
        push(&l1, "killer");
        v.borrow().disconnect();
    });
    let l2 = l.clone();
    *victim.borrow_mut() = sig.connect(move |_| push(&l2, "victim"));
    sig.emit(&());
    sig.emit(&());
    assert_eq!(*l.borrow(), ["killer", "killer"]);
    assert!(!victim.borrow().is_connected());
    assert_eq!(sig.receivers(), 1);
}

#[test]
fn slot_can_disconnect_itself_and_disconnect_is_idempotent() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<()>::new();
    let me: Rc<RefCell<Connection>> = Rc::default();
    let hits = Rc::new(Cell::new(0));
    let (m, h) = (me.clone(), hits.clone());
    *me.borrow_mut() = sig.connect(move |_| {
        h.set(h.get() + 1);
        assert!(m.borrow().disconnect());
        assert!(!m.borrow().disconnect());
    });
    sig.emit(&());
    sig.emit(&());
    assert_eq!(hits.get(), 1);
    assert_eq!(sig.receivers(), 0);
}

#[test]
fn disconnect_all_during_emission_stops_the_remaining_slots() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<()>::new());
    let hits = Rc::new(Cell::new(0));
    let s = Rc::downgrade(&sig);
    let h = hits.clone();
    sig.connect(move |_| {
        h.set(h.get() + 1);
        s.upgrade().unwrap().disconnect_all();
    });
    let h = hits.clone();
    sig.connect(move |_| h.set(h.get() + 100));
    sig.emit(&());
    assert_eq!(hits.get(), 1);
    assert_eq!(sig.receivers(), 0);
}

#[test]
fn recursive_emission_calls_the_other_slots_and_never_reenters_a_running_one() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<u32>::new());
    let l = log();
    let (s, l1) = (Rc::downgrade(&sig), l.clone());
    sig.connect(move |depth| {
        push(&l1, format!("outer{depth}"));
        if *depth < 3 {
            s.upgrade().unwrap().emit(&(depth + 1));
        }
    });
    let l2 = l.clone();
    sig.connect(move |depth| push(&l2, format!("inner{depth}")));
    sig.emit(&0);
    // The recursing slot runs once (it is busy during the nested emission); the other
    // slot sees the nested emission first, then the outer one.
    assert_eq!(*l.borrow(), ["outer0", "inner1", "inner0"]);
}

struct Owner {
    changed: Signal<()>,
}

#[test]
fn slot_may_drop_the_signals_owner_without_leaking() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let holder: Rc<RefCell<Option<Rc<Owner>>>> = Rc::default();
    let owner = Rc::new(Owner { changed: Signal::new() });
    let captured = Rc::new(());
    let watch = Rc::downgrade(&captured);
    let weak_owner: Weak<Owner> = Rc::downgrade(&owner);
    let h = holder.clone();
    owner.changed.connect(move |_| {
        let _keep = &captured;
        h.borrow_mut().take(); // drops the holder's reference to the owner
    });
    let l = log();
    let l2 = l.clone();
    owner.changed.connect(move |_| push(&l2, "second still runs"));
    *holder.borrow_mut() = Some(owner.clone());
    drop(owner);
    let current = holder.borrow().clone().unwrap();
    current.changed.emit(&());
    assert!(holder.borrow().is_none());
    drop(current);
    assert!(weak_owner.upgrade().is_none(), "the owner is gone");
    assert!(watch.upgrade().is_none(), "the slot and its captures were freed");
    assert_eq!(*l.borrow(), ["second still runs"]);
}

#[test]
fn dropping_a_signal_frees_its_slots_and_reports_them_disconnected() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let captured = Rc::new(());
    let watch = Rc::downgrade(&captured);
    let sig = Signal::<()>::new();
    let c = sig.connect(move |_| {
        let _ = &captured;
    });
    assert!(c.is_connected());
    drop(sig);
    assert!(!c.is_connected());
    assert!(!c.disconnect());
    assert!(watch.upgrade().is_none());
}

#[test]
fn single_shot_connection_is_disconnected_before_it_runs() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<i32>::new());
    let l = log();
    let (s, l1) = (Rc::downgrade(&sig), l.clone());
    let c = sig.connect_once(move |v| {
        push(&l1, format!("once{v}"));
        // Already disconnected while running: a recursive emission does not reach it.
        s.upgrade().unwrap().emit(&(v + 1));
    });
    sig.emit(&1);
    sig.emit(&10);
    assert_eq!(*l.borrow(), ["once1"]);
    assert!(!c.is_connected());
}

#[test]
fn queued_connection_runs_on_a_later_round_with_a_copy() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<String>::new();
    let l = log();
    let l1 = l.clone();
    sig.connect_with(ConnectionType::Queued, move |s: &String| push(&l1, format!("queued {s}")));
    let l2 = l.clone();
    sig.connect_with(ConnectionType::Direct, move |s: &String| push(&l2, format!("direct {s}")));
    sig.emit(&"x".to_owned());
    assert_eq!(*l.borrow(), ["direct x"]);
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(*l.borrow(), ["direct x", "queued x"]);
}

#[test]
fn queued_call_is_dropped_when_disconnected_before_delivery() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    let c = sig.connect_with(ConnectionType::Queued, move |_| h.set(h.get() + 1));
    sig.emit(&1);
    c.disconnect();
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(hits.get(), 0);
}

#[test]
fn queued_single_shot_runs_once_for_many_emissions() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<i32>::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    sig.connect_once_with(ConnectionType::Queued, move |v: &i32| s.borrow_mut().push(*v));
    sig.emit(&1);
    sig.emit(&2);
    assert_eq!(sig.receivers(), 0);
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(*seen.borrow(), [1]);
}

#[test]
fn panicking_slot_propagates_and_leaves_the_signal_usable() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<bool>::new();
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    sig.connect(move |boom| {
        h.set(h.get() + 1);
        if *boom {
            panic!("slot failed");
        }
    });
    let h = hits.clone();
    sig.connect(move |_| h.set(h.get() + 10));
    let result = catch_unwind(AssertUnwindSafe(|| sig.emit(&true)));
    assert!(result.is_err());
    assert_eq!(hits.get(), 1, "slots after the panicking one did not run");
    sig.emit(&false);
    assert_eq!(hits.get(), 12);
    assert_eq!(sig.receivers(), 2);
}

#[test]
fn slot_may_connect_and_disconnect_other_slots_freely() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<()>::new());
    let conns: Rc<RefCell<Vec<Connection>>> = Rc::default();
    let hits = Rc::new(Cell::new(0));
    let (s, c, h) = (Rc::downgrade(&sig), conns.clone(), hits.clone());
    sig.connect(move |_| {
        let sig = s.upgrade().unwrap();
        for old in c.borrow_mut().drain(..) {
            old.disconnect();
        }
        for _ in 0..3 {
            let h = h.clone();
            c.borrow_mut().push(sig.connect(move |_| h.set(h.get() + 1)));
        }
    });
    for _ in 0..5 {
        sig.emit(&());
        assert_eq!(sig.receivers(), 4);
    }
    // Each emission's snapshot holds the three slots added by the previous one, but the
    // first slot disconnects them before their turn: none of them ever runs.
    assert_eq!(hits.get(), 0);
    for c in conns.borrow().iter() {
        assert!(c.is_connected());
    }
}

/// A slot whose captured state emits the signal when it is dropped.
struct EmitsOnDrop {
    signal: Weak<Signal<u32>>,
    dropped: Rc<Cell<u32>>,
}

impl Drop for EmitsOnDrop {
    fn drop(&mut self) {
        self.dropped.set(self.dropped.get() + 1);
        if let Some(signal) = self.signal.upgrade() {
            signal.emit(&0);
            let _ = signal.receivers();
        }
    }
}

#[test]
fn a_disconnected_slots_state_may_use_the_signal_when_it_is_dropped() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<u32>::new());
    let dropped = Rc::new(Cell::new(0));
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    sig.connect(move |_| counter.set(counter.get() + 1));

    // Disconnected outside an emission: dropped at once, and may emit.
    let guard = EmitsOnDrop { signal: Rc::downgrade(&sig), dropped: dropped.clone() };
    let outside = sig.connect(move |_| {
        let _ = &guard;
    });
    outside.disconnect();
    assert_eq!(dropped.get(), 1);
    assert_eq!(calls.get(), 1, "the emission from the drop reached the other slot");

    // Disconnected by a slot during an emission: dropped when the emission ends.
    let guard = EmitsOnDrop { signal: Rc::downgrade(&sig), dropped: dropped.clone() };
    let inside: Rc<RefCell<Option<Connection>>> = Rc::default();
    let i = inside.clone();
    let once = sig.connect(move |&v| {
        if v == 1
            && let Some(c) = i.borrow_mut().take()
        {
            c.disconnect();
        }
    });
    *inside.borrow_mut() = Some(sig.connect(move |_| {
        let _ = &guard;
    }));
    sig.emit(&1);
    assert_eq!(dropped.get(), 2);
    assert_eq!(sig.receivers(), 2);
    once.disconnect();
    assert_eq!(sig.receivers(), 1);
}

#[test]
fn a_slot_connected_and_disconnected_within_one_emission_is_dropped_outside_the_borrow() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Rc::new(Signal::<u32>::new());
    let dropped = Rc::new(Cell::new(0));
    let (s, d) = (Rc::downgrade(&sig), dropped.clone());
    let once = Cell::new(true);
    sig.connect(move |_| {
        if !once.replace(false) {
            return;
        }
        let sig = s.upgrade().unwrap();
        // Its state emits, counts receivers and connects when it is dropped.
        let guard = EmitsOnDrop { signal: Rc::downgrade(&sig), dropped: d.clone() };
        let weak = Rc::downgrade(&sig);
        let connection = sig.connect(move |_| {
            let _ = &guard;
        });
        connection.disconnect();
        // Connecting from a drop: done after this emission ends, outside every borrow.
        let later = DropThen(Some(Box::new(move || {
            if let Some(sig) = weak.upgrade() {
                sig.connect(|_| {});
            }
        })));
        let c = sig.connect(move |_| {
            let _ = &later;
        });
        c.disconnect();
    });
    sig.emit(&1);
    assert_eq!(dropped.get(), 1);
    // The first slot and the one connected by the second guard's drop.
    assert_eq!(sig.receivers(), 2);
}

/// Runs a closure when dropped.
struct DropThen(Option<Box<dyn FnOnce()>>);

impl Drop for DropThen {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}
