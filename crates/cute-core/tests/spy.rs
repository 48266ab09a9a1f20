//! SignalSpy: recording, bounded waits that succeed and time out.

mod common;

use std::time::{Duration, Instant};

use cute_core::{Signal, SignalSpy, Timer};
use cute_testkit::Watchdog;

#[test]
fn records_values_in_order_and_takes_them() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<String>::new();
    let spy = SignalSpy::new(&sig);
    for word in ["a", "b", "c"] {
        sig.emit(&word.to_owned());
    }
    assert_eq!(spy.count(), 3);
    assert_eq!(spy.get(1).as_deref(), Some("b"));
    assert_eq!(spy.take_first().as_deref(), Some("a"));
    assert_eq!(spy.take_all(), ["b", "c"]);
    assert!(spy.is_empty());
    assert_eq!(spy.total(), 3);
}

#[test]
fn wait_returns_true_when_an_emission_arrives_from_another_thread() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<u32>::new();
    let spy = SignalSpy::new(&sig);
    let emitter = sig.emitter();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        emitter.emit(7).unwrap();
    });
    assert!(spy.wait(Duration::from_secs(10)));
    assert_eq!(spy.take_first(), Some(7));
    t.join().unwrap();
}

#[test]
fn wait_times_out_no_earlier_than_asked() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<()>::new();
    let spy = SignalSpy::new(&sig);
    let start = Instant::now();
    assert!(!spy.wait(Duration::from_millis(50)));
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[test]
fn emissions_before_wait_do_not_satisfy_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<()>::new();
    let spy = SignalSpy::new(&sig);
    sig.emit(&());
    assert!(!spy.wait(Duration::from_millis(20)));
    Timer::single_shot(Duration::from_millis(5), move || sig.emit(&()));
    assert!(spy.wait(Duration::from_secs(10)));
    assert_eq!(spy.count(), 2);
}

#[test]
fn dropping_the_spy_disconnects_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let sig = Signal::<u8>::new();
    let spy = SignalSpy::new(&sig);
    assert_eq!(sig.receivers(), 1);
    drop(spy);
    assert_eq!(sig.receivers(), 0);
}
