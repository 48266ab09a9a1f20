//! Unix signals delivered on the loop: a raised SIGUSR1 arrives as `activated`, and SIGINT
//! quits the application with `about_to_quit` run (the Ctrl-C recipe).
#![cfg(unix)]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::{app_lock, run_until};
use cute_core::{CoreApplication, Timer, UnixSignals};
use cute_testkit::Watchdog;

fn raise(signal: i32) {
    signal_hook::low_level::raise(signal).expect("raise");
}

#[test]
fn a_raised_signal_arrives_on_the_loop_with_its_number() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let _app = app_lock();
    let signals = UnixSignals::new(&[UnixSignals::SIGUSR1, UnixSignals::SIGUSR2]).unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let thread = std::thread::current().id();
    signals.activated().connect(move |&signal| {
        assert_eq!(std::thread::current().id(), thread, "on the loop's thread");
        s.borrow_mut().push(signal);
    });
    raise(UnixSignals::SIGUSR1);
    assert!(run_until(Duration::from_secs(10), || !seen.borrow().is_empty()));
    // From another thread too: the process's signal, delivered to the loop that asked.
    std::thread::spawn(|| raise(UnixSignals::SIGUSR2)).join().unwrap();
    assert!(run_until(Duration::from_secs(10), || seen.borrow().len() == 2));
    assert_eq!(&seen.borrow()[..], [UnixSignals::SIGUSR1, UnixSignals::SIGUSR2]);
    let refused = UnixSignals::new(&[9]).unwrap_err();
    assert!(refused.to_string().contains("signal 9 cannot be handled"), "{refused}");
    assert!(UnixSignals::new(&[100_000]).is_err(), "no such signal");
}

#[test]
fn sigint_quits_the_application_and_about_to_quit_runs() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let _app = app_lock();
    let app = CoreApplication::new();
    let signals = UnixSignals::new(&[UnixSignals::SIGINT, UnixSignals::SIGTERM]).unwrap();
    signals.activated().connect(|&signal| {
        assert_eq!(signal, UnixSignals::SIGINT);
        CoreApplication::quit();
    });
    let saved = Rc::new(RefCell::new(false));
    let s = saved.clone();
    app.about_to_quit().connect(move |()| *s.borrow_mut() = true);
    Timer::single_shot(Duration::from_millis(10), || raise(UnixSignals::SIGINT));
    Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1));
    assert_eq!(app.exec(), 0, "quit by the signal, not the watchdog");
    assert!(*saved.borrow());
}
