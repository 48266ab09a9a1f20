//! Properties and bindings: change-only notification, dependency tracking (static and
//! dynamic), glitch freedom, long chains, binding loops, update groups, memory, reentrancy.

mod common;

use common::DropCount;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use cute_core::{BindingError, Property, PropertyBinding, PropertyUpdateGroup, SignalSpy};

/// Records every value a signal emits.
fn record<T: Clone + PartialEq + 'static>(p: &Property<T>) -> Rc<RefCell<Vec<T>>> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    p.changed().connect(move |v: &T| s.borrow_mut().push(v.clone()));
    seen
}

/// A counter, and a closure that bumps it.
fn counter() -> (Rc<Cell<usize>>, impl Fn() + Clone) {
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    (count, move || c.set(c.get() + 1))
}

#[test]
fn set_emits_only_on_a_real_change() {
    let p = Property::new(1);
    let seen = record(&p);
    p.set(1);
    p.set(2);
    p.set(2);
    p.set(3);
    assert_eq!(*seen.borrow(), [2, 3]);
    assert_eq!(p.get(), 3);
    assert!(!p.has_binding());
    assert_eq!(p.binding_error(), None);
}

#[test]
fn replace_and_update_emit_only_on_a_real_change() {
    let p = Property::new(vec![1]);
    let seen = record(&p);
    assert_eq!(p.replace(vec![1, 2]), [1]);
    assert_eq!(p.replace(vec![1, 2]), [1, 2]); // equal: no signal
    p.update(|v| v.push(3));
    p.update(|_| {}); // unchanged: no signal
    assert_eq!(p.with(|v| v.len()), 3);
    assert_eq!(*seen.borrow(), [vec![1, 2], vec![1, 2, 3]]);
}

#[test]
fn a_binding_tracks_what_it_reads_and_follows_it() {
    let (a, b) = (Property::new(1), Property::new(2));
    let (runs, run) = counter();
    let (a2, b2) = (a.clone(), b.clone());
    let sum = Property::computed(move || {
        run();
        a2.get() + b2.get()
    });
    assert!(sum.has_binding());
    assert_eq!(runs.get(), 1);
    assert_eq!(sum.get(), 3);
    let seen = record(&sum);
    a.set(10);
    assert_eq!(sum.get(), 12);
    b.set(20);
    assert_eq!(sum.get(), 30);
    assert_eq!(*seen.borrow(), [12, 30]);
    assert_eq!(runs.get(), 3);
    // A property read through `with` is a dependency too.
    let words = Property::new(vec!["a", "b"]);
    let w = words.clone();
    let count = Property::computed(move || w.with(|v| v.len()));
    words.update(|v| v.push("c"));
    assert_eq!(count.get(), 3);
}

#[test]
fn an_unwatched_binding_runs_when_read_and_a_watched_one_at_once() {
    let a = Property::new(1);
    let (runs, run) = counter();
    let a2 = a.clone();
    let lazy = Property::computed(move || {
        run();
        a2.get() * 2
    });
    assert_eq!(runs.get(), 1);
    a.set(2);
    a.set(3);
    assert_eq!(runs.get(), 1, "nobody read it or watches it");
    assert_eq!(lazy.get(), 6);
    assert_eq!(lazy.get(), 6);
    assert_eq!(runs.get(), 2);

    let seen = record(&lazy);
    a.set(4);
    assert_eq!(runs.get(), 3, "watched: updated before set returns");
    assert_eq!(*seen.borrow(), [8]);
}

#[test]
fn a_dependency_that_recomputes_to_the_same_value_stops_the_update() {
    let a = Property::new(1);
    let a2 = a.clone();
    let parity = Property::computed(move || a2.get() % 2);
    let (runs, run) = counter();
    let p2 = parity.clone();
    let label = Property::computed(move || {
        run();
        if p2.get() == 0 { "even" } else { "odd" }
    });
    let seen = record(&label);
    a.set(3);
    a.set(5);
    assert_eq!(runs.get(), 1, "parity did not change, so label did not run again");
    a.set(6);
    assert_eq!(runs.get(), 2);
    assert_eq!(*seen.borrow(), ["even"]);
}

#[test]
fn a_branch_not_taken_is_not_a_dependency() {
    let flag = Property::new(true);
    let (a, b) = (Property::new(1), Property::new(2));
    let (runs, run) = counter();
    let (f, a2, b2) = (flag.clone(), a.clone(), b.clone());
    let picked = Property::computed(move || {
        run();
        if f.get() { a2.get() } else { b2.get() }
    });
    let seen = record(&picked);
    b.set(20); // not read: nothing runs
    assert_eq!(runs.get(), 1);
    a.set(10);
    assert_eq!(runs.get(), 2);
    flag.set(false); // switches to b, drops a
    assert_eq!(runs.get(), 3);
    assert_eq!(picked.get(), 20);
    a.set(100); // the old branch: nothing runs
    assert_eq!(runs.get(), 3);
    b.set(30);
    assert_eq!(runs.get(), 4);
    assert_eq!(*seen.borrow(), [10, 20, 30]);
}

/// The properties of a diamond, and how many times `d`'s binding ran.
type Diamond = (Property<i32>, Property<i32>, Property<i32>, Property<i32>, Rc<Cell<usize>>);

/// `d = b + c`, `b = 2a`, `c = 3a`.
fn diamond() -> Diamond {
    let a = Property::new(0);
    let (a1, a2) = (a.clone(), a.clone());
    let b = Property::computed(move || a1.get() * 2);
    let c = Property::computed(move || a2.get() * 3);
    let (runs, run) = counter();
    let (b2, c2) = (b.clone(), c.clone());
    let d = Property::computed(move || {
        run();
        b2.get() + c2.get()
    });
    (a, b, c, d, runs)
}

#[test]
fn a_diamond_runs_once_per_change_and_shows_no_intermediate_value() {
    let (a, _b, _c, d, runs) = diamond();
    let seen = record(&d);
    for i in 1..=5 {
        a.set(i);
    }
    assert_eq!(runs.get(), 1 + 5);
    assert_eq!(*seen.borrow(), [5, 10, 15, 20, 25]); // always 5a: never 2a + 3(a-1)
}

#[test]
fn slots_on_every_node_of_a_diamond_see_consistent_values() {
    let (a, b, c, d, runs) = diamond();
    let log = Rc::new(RefCell::new(Vec::new()));
    for (name, p) in [("a", &a), ("b", &b), ("c", &c), ("d", &d)] {
        let (l, a, b, c, d) = (log.clone(), a.clone(), b.clone(), c.clone(), d.clone());
        p.changed().connect(move |v| {
            // Whatever a slot reads is consistent with the new `a`.
            let (av, bv, cv, dv) = (a.get(), b.get(), c.get(), d.get());
            assert_eq!((bv, cv, dv), (2 * av, 3 * av, 5 * av), "in {name}'s slot");
            l.borrow_mut().push((name, *v));
        });
    }
    a.set(1);
    a.set(2);
    assert_eq!(runs.get(), 3);
    // Each value once, the written property first, then the bindings, sources first.
    assert_eq!(
        *log.borrow(),
        [("a", 1), ("b", 2), ("c", 3), ("d", 5), ("a", 2), ("b", 4), ("c", 6), ("d", 10)]
    );
}

/// A chain `p[i] = p[i - 1] + 1` of `n` bindings.
fn chain(n: usize) -> Vec<Property<u64>> {
    let mut chain = vec![Property::new(0u64)];
    for _ in 0..n {
        let prev = chain.last().unwrap().clone();
        chain.push(Property::computed(move || prev.get() + 1));
    }
    chain
}

#[test]
fn a_chain_of_a_thousand_bindings_updates_without_deep_recursion() {
    // A small stack: the update walks an explicit stack, not the call stack.
    let worker = std::thread::Builder::new().stack_size(256 * 1024).spawn(|| {
        let chain = chain(1000);
        let last = chain.last().unwrap().clone();
        assert_eq!(last.get(), 1000);
        // Unwatched: updated by the read.
        chain[0].set(1);
        assert_eq!(last.get(), 1001);
        // Watched: updated by the write.
        let seen = record(&last);
        chain[0].set(5);
        assert_eq!(*seen.borrow(), [1005]);
        assert_eq!(chain[500].get(), 505);
        // Unwatched and never read in between: one read catches up.
        drop(seen);
        last.changed().disconnect_all();
        for i in 10..20 {
            chain[0].set(i);
        }
        assert_eq!(last.get(), 1019);
        // Dropped from the tail: each binding holds the property before it.
        drop(last);
        let mut chain = chain;
        while chain.pop().is_some() {}
    });
    worker.unwrap().join().unwrap();
}

#[test]
fn dropping_a_long_chain_head_first_frees_it() {
    let (drops, _) = counter();
    let mut chain = chain(1000);
    let marker = DropCount(drops.clone());
    let first = chain[1].clone();
    let tail = chain.last().unwrap().clone();
    tail.set_binding({
        let prev = chain[999].clone();
        move || {
            let _ = &marker;
            prev.get() + 1
        }
    });
    assert_eq!(tail.get(), 1000);
    chain.clear(); // only the bindings hold the chain now
    drop(first);
    assert_eq!(drops.get(), 0);
    drop(tail); // frees the whole chain, recursively
    assert_eq!(drops.get(), 1);
}

#[test]
fn a_binding_that_reads_itself_is_a_loop_and_keeps_the_last_value() {
    let p = Property::new(7);
    let me = p.downgrade();
    let (runs, run) = counter();
    let old = p.set_binding(move || {
        run();
        me.upgrade().map_or(0, |p| p.get()) + 1
    });
    assert!(old.is_none());
    assert_eq!(p.binding_error(), Some(BindingError::Loop));
    assert_eq!(p.get(), 7);
    assert!(p.has_binding());
    assert_eq!(runs.get(), 1);
    assert_eq!(BindingError::Loop.to_string(), "binding loop: the binding depends on its own value");
    // A write removes the binding and the error.
    p.set(1);
    assert!(!p.has_binding());
    assert_eq!(p.binding_error(), None);
}

#[test]
fn a_loop_through_other_bindings_is_refused_and_the_rest_stays_consistent() {
    let a = Property::new(1);
    let a2 = a.clone();
    let b = Property::computed(move || a2.get() + 1);
    let b2 = b.clone();
    let c = Property::computed(move || b2.get() * 10);
    let seen_c = record(&c);
    let c2 = c.clone();
    a.set_binding(move || c2.get() + 1); // a -> b -> c -> a
    assert_eq!(a.binding_error(), Some(BindingError::Loop));
    assert_eq!((a.get(), b.get(), c.get()), (1, 2, 20));
    assert!(seen_c.borrow().is_empty());
    // Breaking the loop: a plain value again, and everything follows it.
    assert!(a.clear_binding());
    a.set(2);
    assert_eq!((a.get(), b.get(), c.get()), (2, 3, 30));
    assert_eq!(*seen_c.borrow(), [30]);
}

#[test]
fn a_loop_formed_by_switching_branches_is_refused() {
    let flag = Property::new(false);
    let a = Property::new(0);
    let a2 = a.clone();
    let b = Property::computed(move || a2.get() + 1);
    let (f, b2) = (flag.clone(), b.clone());
    a.set_binding(move || if f.get() { b2.get() } else { 10 });
    assert_eq!((a.get(), b.get(), a.binding_error()), (10, 11, None));
    flag.set(true); // now a would read b, which reads a
    assert_eq!(a.binding_error(), Some(BindingError::Loop));
    assert_eq!((a.get(), b.get()), (10, 11));
    flag.set(false); // out of the loop: a good value again
    assert_eq!(a.binding_error(), None);
    assert_eq!((a.get(), b.get()), (10, 11));
}

#[test]
fn set_on_a_bound_property_removes_the_binding() {
    let src = Property::new(1);
    let s = src.clone();
    let p = Property::computed(move || s.get() * 2);
    let seen = record(&p);
    p.set(2); // equal to the bound value: no signal, but the binding is gone
    assert!(!p.has_binding());
    src.set(5);
    assert_eq!(p.get(), 2);
    assert!(seen.borrow().is_empty());
    // `replace` and `update` are writes too.
    let s = src.clone();
    p.set_binding(move || s.get() * 2);
    assert_eq!(p.get(), 10);
    p.update(|v| *v += 1);
    assert!(!p.has_binding());
    assert_eq!(*seen.borrow(), [10, 11]);
}

#[test]
fn set_binding_returns_the_old_binding_and_take_binding_keeps_the_value() {
    let src = Property::new(3);
    let s = src.clone();
    let p = Property::new(0);
    assert!(p.set_binding(move || s.get() + 1).is_none());
    let s = src.clone();
    let old = p.set_binding(PropertyBinding::new(move || s.get() * 100)).expect("the first binding");
    assert_eq!(p.get(), 300);
    let other = Property::new(0);
    other.set_binding(old);
    assert_eq!(other.get(), 4);
    src.set(4); // stale, not yet read
    let taken = p.take_binding().expect("a binding");
    assert_eq!(p.get(), 400, "take_binding keeps the value the binding gives");
    assert!(!p.has_binding() && p.take_binding().is_none() && !p.clear_binding());
    src.set(5);
    assert_eq!(p.get(), 400);
    p.set_binding(taken);
    assert_eq!(p.get(), 500);
}

#[test]
fn an_update_group_notifies_once_at_its_end() {
    let (x, y) = (Property::new(0), Property::new(0));
    let (runs, run) = counter();
    let (x2, y2) = (x.clone(), y.clone());
    let sum = Property::computed(move || {
        run();
        x2.get() + y2.get()
    });
    let (seen_x, seen_sum) = (record(&x), record(&sum));
    {
        let _group = PropertyUpdateGroup::begin();
        x.set(1);
        x.set(2);
        y.set(3);
        {
            let _inner = PropertyUpdateGroup::begin();
            y.set(4);
        } // the inner group ends: nothing yet
        assert!(seen_x.borrow().is_empty() && seen_sum.borrow().is_empty());
        assert_eq!(runs.get(), 1, "nothing ran yet");
    }
    assert_eq!(*seen_x.borrow(), [2]);
    assert_eq!(*seen_sum.borrow(), [6]);
    assert_eq!(runs.get(), 2, "the binding ran once for four writes");

    // `end` is the same as dropping; a read inside a group is up to date.
    let group = PropertyUpdateGroup::begin();
    x.set(10);
    assert_eq!(sum.get(), 14);
    group.end();
    assert_eq!(*seen_sum.borrow(), [6, 14]);
    assert_eq!(runs.get(), 3);
}

#[test]
fn removing_a_binding_or_dropping_a_property_frees_the_closure() {
    let drops = Rc::new(Cell::new(0));
    let src = Property::new(1);
    let p = Property::new(0);
    let (s, token) = (src.clone(), DropCount(drops.clone()));
    p.set_binding(move || {
        let _ = &token;
        s.get()
    });
    assert!(p.clear_binding());
    assert_eq!(drops.get(), 1);

    let (s, token) = (src.clone(), DropCount(drops.clone()));
    p.set_binding(move || {
        let _ = &token;
        s.get()
    });
    let (s, token) = (src.clone(), DropCount(drops.clone()));
    drop(p.set_binding(move || {
        let _ = &token;
        s.get()
    }));
    assert_eq!(drops.get(), 2, "the replaced binding");
    p.set(0);
    assert_eq!(drops.get(), 3, "removed by a write");

    let (s, token) = (src.clone(), DropCount(drops.clone()));
    let q = Property::computed(move || {
        let _ = &token;
        s.get()
    });
    let seen = record(&q);
    drop(q);
    assert_eq!(drops.get(), 4, "dropped with its property, slots and all");
    src.set(2); // nothing left to update
    assert!(seen.borrow().is_empty());
}

#[test]
fn dependencies_do_not_keep_each_other_alive() {
    let marker = Rc::new(());
    let src = Property::new(marker.clone()); // Rc<()>: PartialEq, so it can be a value
    let s = src.clone();
    let mid = Property::computed(move || Rc::strong_count(&s.get()));
    let m = mid.clone();
    let top = Property::computed(move || m.get() + 1);
    drop((src, mid));
    assert!(top.get() > 0);
    assert!(Rc::strong_count(&marker) > 1, "held through top's binding");
    drop(top);
    assert_eq!(Rc::strong_count(&marker), 1, "the whole graph is gone");

    // A source held weakly by its dependent's binding goes away; the dependent stays.
    let src = Property::new(5);
    let weak = src.downgrade();
    let dep = Property::computed(move || weak.upgrade().map_or(-1, |p| p.get()));
    assert_eq!(dep.get(), 5);
    drop(src);
    assert_eq!(dep.get(), 5, "nothing told it; it keeps its value");
    assert!(dep.downgrade().upgrade().is_some());
}

#[test]
fn a_slot_on_changed_may_write_other_properties() {
    let a = Property::new(0);
    let b = Property::new(0);
    let b2 = b.clone();
    let c = Property::computed(move || b2.get() + 1);
    let seen_c = record(&c);
    let seen_b = record(&b);
    let b3 = b.clone();
    let c2 = c.clone();
    a.changed().connect(move |v| {
        b3.set(v * 10);
        // The write has been delivered when `set` returns.
        assert_eq!(c2.get(), v * 10 + 1);
    });
    a.set(1);
    a.set(2);
    assert_eq!(*seen_b.borrow(), [10, 20]);
    assert_eq!(*seen_c.borrow(), [11, 21]);
}

#[test]
fn a_slot_may_write_the_property_it_watches() {
    let p = Property::new(0);
    let me = p.downgrade();
    let seen = record(&p);
    // Clamp to 10: a write from the slot, re-entering the notification.
    p.changed().connect(move |v| {
        if *v > 10 {
            me.upgrade().unwrap().set(10);
        }
    });
    p.set(5);
    p.set(50);
    assert_eq!(p.get(), 10);
    assert_eq!(*seen.borrow(), [5, 50, 10]);
}

#[test]
fn a_slot_reading_its_own_property_sees_the_new_value() {
    let p = Property::new(1);
    let me = p.downgrade();
    let read = Rc::new(Cell::new(0));
    let r = read.clone();
    p.changed().connect(move |v| {
        let now = me.upgrade().unwrap().get();
        assert_eq!(now, *v);
        r.set(now);
    });
    p.set(2);
    assert_eq!(read.get(), 2);
    // And for a bound property.
    let src = Property::new(1);
    let s = src.clone();
    let q = Property::computed(move || s.get() * 3);
    let me = q.downgrade();
    let r = read.clone();
    q.changed().connect(move |v| {
        assert_eq!(me.upgrade().unwrap().get(), *v);
        r.set(*v);
    });
    src.set(4);
    assert_eq!(read.get(), 12);
}

#[test]
fn changed_works_with_receivers_spies_and_blocking() {
    struct Label {
        text: RefCell<String>,
    }
    impl Label {
        fn on_count(&self, n: &u32) {
            *self.text.borrow_mut() = format!("{n} items");
        }
    }
    let count = Property::new(0u32);
    let label = Rc::new(Label { text: RefCell::default() });
    count.changed().connect_to(&label, Label::on_count);
    let spy = SignalSpy::new(count.changed());
    count.set(3);
    assert_eq!(*label.text.borrow(), "3 items");
    assert_eq!(spy.take_first(), Some(3));
    count.changed().block_signals(true);
    count.set(4); // the value changes; the signal is blocked
    assert_eq!(count.get(), 4);
    assert_eq!(spy.count(), 0);
    count.changed().block_signals(false);
    drop(label); // the receiver is gone: its slot is disconnected
    count.set(5);
    assert_eq!(spy.take_first(), Some(5));
}

#[test]
fn a_panicking_binding_propagates_and_runs_again_on_the_next_read() {
    let src = Property::new(1);
    let s = src.clone();
    let p = Property::computed(move || {
        let v = s.get();
        assert!(v < 100, "too big");
        v
    });
    src.set(200); // p is not watched: nothing runs yet
    let panicked = catch_unwind(AssertUnwindSafe(|| p.get()));
    assert!(panicked.is_err());
    assert!(p.has_binding());
    src.set(2);
    assert_eq!(p.get(), 2, "the binding runs again");

    // Watched: the panic comes out of the write, which has stored its value.
    let seen = record(&p);
    let panicked = catch_unwind(AssertUnwindSafe(|| src.set(300)));
    assert!(panicked.is_err());
    assert_eq!(src.get(), 300);
    src.set(3);
    assert_eq!(p.get(), 3);
    assert_eq!(*seen.borrow(), [3]);
}

#[test]
fn properties_are_handles_and_debug_shows_the_value() {
    let p = Property::new(String::from("x"));
    let q = p.clone();
    q.set("y".into());
    assert_eq!(p.get(), "y");
    let shown = format!("{p:?}");
    assert!(shown.contains("\"y\""), "{shown}");
    assert_eq!(Property::<i32>::default().get(), 0);
    let weak = p.downgrade();
    drop((p, q));
    assert!(weak.upgrade().is_none());
}

#[test]
fn a_binding_that_writes_another_property_delivers_after_the_read() {
    let src = Property::new(1);
    let side = Property::new(0);
    let seen_side = record(&side);
    let (s, out) = (src.clone(), side.clone());
    let p = Property::computed(move || {
        let v = s.get();
        out.set(v * 100); // a side effect: not recommended, but nothing breaks
        v
    });
    assert_eq!(*seen_side.borrow(), [100]);
    src.set(2); // p is unwatched: nothing runs
    assert!(seen_side.borrow().len() == 1);
    assert_eq!(p.get(), 2); // runs the binding; side's notification follows the read
    assert_eq!(*seen_side.borrow(), [100, 200]);
    let seen_p = record(&p);
    src.set(3); // watched: runs inside the flush, side notified in the same flush
    assert_eq!(*seen_p.borrow(), [3]);
    assert_eq!(*seen_side.borrow(), [100, 200, 300]);
}

#[test]
fn a_binding_that_replaces_or_clears_its_own_binding() {
    let src = Property::new(1);
    let p = Property::new(0);
    let (s, me) = (src.clone(), p.downgrade());
    p.set_binding(move || {
        let v = s.get();
        if v > 1 {
            let me = me.upgrade().unwrap();
            let s = s.clone();
            me.set_binding(move || s.get() * 1000); // runs at once, for the same read
        }
        v
    });
    assert_eq!(p.get(), 1);
    src.set(2);
    assert_eq!(p.get(), 2000);
    assert!(p.has_binding());

    let q = Property::new(0);
    let (s, me) = (src.clone(), q.downgrade());
    q.set_binding(move || {
        me.upgrade().unwrap().clear_binding();
        s.get()
    });
    assert!(!q.has_binding());
    assert_eq!(q.get(), 0, "the evaluation that removed its binding is discarded");
    src.set(5);
    assert_eq!(q.get(), 0);
}
