//! CoreApplication: exec/quit/exit from anywhere, nested loops, about_to_quit, panics,
//! the instance's quit and exit, arguments.
//!
//! One application may exist per process, so every test here holds `app_lock()`.

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::app_lock;
use cute_core::{CoreApplication, Error, EventLoop, Signal, Thread, Timer};
use cute_testkit::Watchdog;

#[test]
fn exit_code_from_another_thread() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let t = std::thread::spawn(|| CoreApplication::exit(17));
    assert_eq!(app.exec(), 17);
    t.join().unwrap();
}

#[test]
fn quit_from_a_slot_as_pyqt_scripts_do() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let done = Signal::<()>::new();
    done.connect(|_| CoreApplication::quit());
    let emitter = done.emitter();
    std::thread::spawn(move || emitter.emit(()).unwrap());
    assert_eq!(app.exec(), 0);
}

#[test]
fn quit_before_exec_is_kept_instead_of_hanging() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    CoreApplication::exit(3);
    assert_eq!(app.exec(), 3);
    // The request was spent by that exec: the next one runs until asked again.
    Timer::single_shot(Duration::from_millis(5), || CoreApplication::exit(4));
    assert_eq!(app.exec(), 4);
}

#[test]
fn a_second_application_is_a_clear_error() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    assert!(CoreApplication::exists());
    let second = CoreApplication::try_new();
    assert!(matches!(second, Err(Error::ApplicationExists)));
    let other_thread = std::thread::spawn(|| CoreApplication::try_new().map(|_| ()).unwrap_err().to_string());
    assert!(other_thread.join().unwrap().contains("already exists"));
    drop(app);
    assert!(!CoreApplication::exists());
    let again = CoreApplication::try_new().expect("a new one after the first is dropped");
    drop(again);
}

#[test]
fn exit_leaves_every_nested_loop_and_keeps_the_code() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let inner_returned = Rc::new(Cell::new(None));
    let r = inner_returned.clone();
    Timer::single_shot(Duration::ZERO, move || {
        let nested = EventLoop::new();
        Timer::single_shot(Duration::from_millis(5), || CoreApplication::exit(5));
        r.set(Some(nested.exec()));
    });
    assert_eq!(app.exec(), 5);
    assert_eq!(inner_returned.get(), Some(5));
}

#[test]
fn nested_loop_quit_returns_to_the_outer_loop_only() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l = log.clone();
    Timer::single_shot(Duration::ZERO, move || {
        let nested = EventLoop::new();
        let n = nested.clone();
        Timer::single_shot(Duration::from_millis(2), move || n.exit(11));
        let first = nested.exec();
        l.borrow_mut().push(format!("inner {first}"));
        // The quit is spent: a second exec runs until something else ends it.
        let second = nested.exec();
        l.borrow_mut().push(format!("inner again {second}"));
    });
    let l = log.clone();
    Timer::single_shot(Duration::from_millis(30), move || {
        l.borrow_mut().push("outer still running".into());
        CoreApplication::exit(6);
    });
    assert_eq!(app.exec(), 6);
    assert_eq!(*log.borrow(), ["inner 11", "outer still running", "inner again 6"]);
}

#[test]
fn reentering_exec_returns_minus_one() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = Rc::new(CoreApplication::new());
    let inner = Rc::new(Cell::new(0));
    let (a, i) = (Rc::downgrade(&app), inner.clone());
    Timer::single_shot(Duration::ZERO, move || {
        i.set(a.upgrade().unwrap().exec());
        CoreApplication::quit();
    });
    assert_eq!(app.exec(), 0);
    assert_eq!(inner.get(), -1);
}

#[test]
fn about_to_quit_is_emitted_before_exec_returns() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let emitted = Rc::new(Cell::new(false));
    let e = emitted.clone();
    app.about_to_quit().connect(move |_| e.set(true));
    Timer::single_shot(Duration::from_millis(1), CoreApplication::quit);
    assert_eq!(app.exec(), 0);
    assert!(emitted.get());
}

#[test]
fn quitting_with_work_queued_neither_hangs_nor_loses_the_code() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let posted = Arc::new(AtomicUsize::new(0));
    let handle = app.handle();
    // A flood from another thread that never stops on its own…
    let stop = Arc::new(AtomicUsize::new(0));
    let (r, p, s) = (ran.clone(), posted.clone(), stop.clone());
    let flood = std::thread::spawn(move || {
        while s.load(Ordering::SeqCst) == 0 {
            let r = r.clone();
            if handle
                .post(move || {
                    r.fetch_add(1, Ordering::SeqCst);
                })
                .is_err()
            {
                break;
            }
            p.fetch_add(1, Ordering::SeqCst);
        }
    });
    // …and an exit requested while it runs: the flood must not keep exec from returning
    // (the watchdog bounds it), and the code must come back intact.
    Timer::single_shot(Duration::from_millis(20), || CoreApplication::exit(8));
    assert_eq!(app.exec(), 8);
    stop.store(1, Ordering::SeqCst);
    flood.join().unwrap();
    let ran_in_exec = ran.load(Ordering::SeqCst);
    assert!(ran_in_exec > 0, "the loop ran none of the flood before the exit");
    // Quitting loses nothing: what is still queued runs on the next rounds, each closure
    // exactly once.
    while app.process_events(Duration::ZERO) > 0 {}
    let posted = posted.load(Ordering::SeqCst);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        posted,
        "{posted} closures posted, {ran_in_exec} ran in exec, the rest should have run after it"
    );
}

#[test]
fn panicking_slot_unwinds_out_of_exec_and_the_app_stays_usable() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let after = Rc::new(Cell::new(false));
    Timer::single_shot(Duration::ZERO, || panic!("bad slot"));
    let a = after.clone();
    Timer::single_shot(Duration::from_millis(1), move || {
        a.set(true);
        CoreApplication::exit(2);
    });
    let result = catch_unwind(AssertUnwindSafe(|| app.exec()));
    assert!(result.is_err(), "the panic propagated");
    assert!(!after.get());
    assert_eq!(app.exec(), 2, "the loop resumes with the remaining events");
    assert!(after.get());
}

#[test]
fn exit_codes_from_threads_and_from_the_app_are_independent() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let mut worker = Thread::start().unwrap();
    let h = worker.handle();
    worker
        .post(move || {
            h.exit(21).unwrap();
            CoreApplication::exit(12);
        })
        .unwrap();
    assert_eq!(app.exec(), 12);
    assert_eq!(worker.wait().unwrap(), 21);
}

#[test]
fn dropping_the_application_ends_it_even_if_a_slot_holds_a_handle() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    let handle = CoreApplication::instance().expect("instance on the application's thread");
    // A cycle: the application's signal holds a slot holding a handle to the application.
    app.about_to_quit().connect(move |_| {
        let _ = handle.handle();
    });
    let held = CoreApplication::instance().unwrap();
    drop(app);
    assert!(!CoreApplication::exists());
    assert!(CoreApplication::instance().is_none());
    drop(held);
    let again = CoreApplication::try_new().expect("a new application after the first was dropped");
    drop(again);
}

#[test]
fn a_quit_from_an_about_to_quit_slot_does_not_end_the_next_exec() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    app.about_to_quit().connect(|_| CoreApplication::exit(9));
    Timer::single_shot(Duration::from_millis(1), || CoreApplication::exit(1));
    assert_eq!(app.exec(), 1);
    // The 9 asked for after the loop ended is not kept for the next exec.
    Timer::single_shot(Duration::from_millis(20), || CoreApplication::exit(2));
    assert_eq!(app.exec(), 2);
}

#[test]
fn the_instance_quits_and_exits() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(30));
    let app = CoreApplication::new();
    // PyQt's QCoreApplication.instance().quit()
    Timer::single_shot(Duration::ZERO, || CoreApplication::instance().unwrap().quit());
    assert_eq!(app.exec(), 0);
    Timer::single_shot(Duration::ZERO, || CoreApplication::instance().unwrap().exit(4));
    assert_eq!(app.exec(), 4);
}

#[test]
fn arguments_are_the_program_and_its_arguments() {
    let args = CoreApplication::arguments();
    let expected: Vec<String> = std::env::args().collect();
    assert_eq!(args, expected);
    assert!(!args.is_empty());
}
