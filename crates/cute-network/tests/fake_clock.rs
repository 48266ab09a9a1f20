//! The transfer timeout obeys the thread's fake clock: a 60 s timeout against a server that
//! never answers fails with `TimeoutError` once the clock is advanced, in well under a
//! second of real time; a server that answers is not timed out.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use cute_core::testing::FakeClock;
use cute_core::{EventLoop, SignalSpy};
use cute_network::{NetworkAccessManager, NetworkError, NetworkRequest};
use cute_testkit::{Responder, Watchdog, always, response};

const SEC: Duration = Duration::from_secs(1);

/// A server that accepts connections and never says a word; the accepted sockets are kept
/// open until the listener's thread ends with the process.
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        for stream in listener.incoming() {
            kept.push(stream);
        }
    });
    format!("http://127.0.0.1:{port}/silent")
}

#[test]
fn a_60_s_transfer_timeout_fires_when_the_clock_passes_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let real = Instant::now();
    let clock = FakeClock::install();
    // Frozen: the loop waits for the worker in real time; only `advance` moves time.
    clock.set_auto_advance(false);
    let nam = NetworkAccessManager::new();
    let mut request = NetworkRequest::new(silent_server().as_str());
    request.set_transfer_timeout(60 * SEC);
    let reply = nam.get(&request);
    let finished = SignalSpy::new(reply.finished());

    clock.advance(59 * SEC);
    EventLoop::process_events(Duration::from_millis(20));
    assert!(!reply.is_finished(), "timed out a second early");

    clock.advance(SEC);
    assert!(finished.wait(Duration::from_secs(10)));
    assert_eq!(reply.error(), NetworkError::TimeoutError);
    assert!(reply.error_string().contains("timed out"), "{}", reply.error_string());
    assert!(real.elapsed() < 5 * SEC, "took {:?} of real time", real.elapsed());
}

#[test]
fn an_idle_loop_lets_the_fake_clock_run_into_the_timeout() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let real = Instant::now();
    let clock = FakeClock::install();
    let start = clock.now();
    let nam = NetworkAccessManager::new();
    nam.set_transfer_timeout(60 * SEC);
    let reply = nam.get(&NetworkRequest::new(silent_server().as_str()));
    let finished = SignalSpy::new(reply.finished());
    assert!(finished.wait(120 * SEC));
    assert_eq!(reply.error(), NetworkError::TimeoutError);
    assert_eq!(clock.now() - start, 60 * SEC, "at the timeout's deadline");
    assert!(real.elapsed() < 5 * SEC, "took {:?} of real time", real.elapsed());
}

#[test]
fn a_server_that_answers_is_not_timed_out_under_a_frozen_clock() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let server = Responder::start(always(response("200 OK", &[], b"hello")));
    let clock = FakeClock::install();
    clock.set_auto_advance(false);
    let nam = NetworkAccessManager::new();
    let mut request = NetworkRequest::new(server.url("/").as_str());
    request.set_transfer_timeout(60 * SEC);
    let reply = nam.get(&request);
    let finished = SignalSpy::new(reply.finished());
    assert!(finished.wait(Duration::from_secs(10)));
    assert_eq!(reply.error(), NetworkError::NoError);
    assert_eq!(reply.read_all(), b"hello");
    // The reply's timeout is gone with it: advancing past it changes nothing.
    clock.advance(120 * SEC);
    EventLoop::process_events(Duration::ZERO);
    assert_eq!(reply.error(), NetworkError::NoError);
}
