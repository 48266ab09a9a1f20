//! The manager as a handle: clones are one manager, a weak handle for its own slots, and a
//! shared manager per thread.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::{app_lock, wait};
use cute_core::{CoreApplication, SignalSpy, Timer};
use cute_httpbin::Httpbin;
use cute_network::{NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
use cute_testkit::{Responder, Watchdog, hang};

#[test]
fn clones_are_one_manager_and_the_last_one_dropped_aborts_its_replies() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let silent = Responder::start(hang);
    let nam = NetworkAccessManager::new();
    let finished = SignalSpy::new(nam.finished());
    let clone = nam.clone();
    let reply = clone.get(&NetworkRequest::new(server.url("/get")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(finished.count(), 1, "the clone's reply went through the one manager's finished");

    let pending = clone.get(&NetworkRequest::new(silent.url("/never")));
    drop(nam);
    assert!(!pending.is_finished(), "a clone still holds the manager");
    assert_eq!(clone.live_replies(), 1);
    drop(clone);
    assert!(pending.is_finished(), "the last handle dropped aborts");
    assert_eq!(pending.error(), NetworkError::OperationCanceledError);
}

#[test]
fn a_weak_handle_serves_the_managers_own_slots_without_keeping_it_alive() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let weak = nam.downgrade();
    let (second, next) = (server.url("/get?step=2"), weak.clone());
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let s = seen.clone();
    nam.finished().connect(move |reply: &NetworkReply| {
        let url = reply.url().map(|u| u.to_string()).unwrap_or_default();
        s.borrow_mut().push(url.clone());
        // The follow-up request, made from the manager's own slot.
        if url.ends_with("step=1")
            && let Some(nam) = next.upgrade()
        {
            nam.get(&NetworkRequest::new(second.as_str()));
        }
    });
    nam.get(&NetworkRequest::new(server.url("/get?step=1")));
    let done = common::run_until(Duration::from_secs(30), || seen.borrow().len() == 2);
    assert!(done, "both requests finish: {:?}", seen.borrow());
    assert!(seen.borrow()[1].ends_with("step=2"));
    drop(nam);
    assert!(weak.upgrade().is_none(), "the slot's weak handle did not keep the manager");
}

#[test]
fn the_shared_manager_is_one_per_thread_and_ends_with_the_application() {
    let _lock = app_lock();
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let app = CoreApplication::new();
    let first = NetworkAccessManager::shared();
    let finished = SignalSpy::new(first.finished());
    let reply = NetworkAccessManager::shared().get(&NetworkRequest::new(server.url("/get")));
    wait(&reply);
    assert_eq!(finished.count(), 1, "shared() gave the same manager twice");
    let weak = first.downgrade();
    drop(first);
    assert!(weak.upgrade().is_some(), "the thread keeps its shared manager");

    // Another thread has its own.
    let url = server.url("/get");
    let other = std::thread::spawn(move || {
        let reply = NetworkAccessManager::shared().get(&NetworkRequest::new(url.as_str()));
        wait(&reply);
        let ok = reply.error() == NetworkError::NoError;
        NetworkAccessManager::drop_shared();
        ok
    });
    assert!(other.join().unwrap());
    assert_eq!(finished.count(), 1, "the other thread's request went through its own manager");

    Timer::single_shot(Duration::ZERO, CoreApplication::quit);
    assert_eq!(app.exec(), 0);
    assert!(weak.upgrade().is_none(), "the application's end let the shared manager go");
    let again = NetworkAccessManager::shared();
    assert!(again.live_replies() == 0);
    NetworkAccessManager::drop_shared();
}

#[test]
fn a_thread_that_ends_holding_its_shared_manager_ends_cleanly() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let url = server.url("/get");
    let silent = Responder::start(hang);
    let hanging = silent.url("/never");
    let ended = std::thread::spawn(move || {
        let nam = NetworkAccessManager::shared();
        let reply = nam.get(&NetworkRequest::new(url.as_str()));
        wait(&reply);
        // Left running: the thread-local's end must abort it without a panic.
        nam.get(&NetworkRequest::new(hanging.as_str()));
        reply.error()
    });
    assert_eq!(ended.join().unwrap(), NetworkError::NoError);
}

#[test]
fn a_connection_opened_ahead_serves_the_first_request() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Responder::start(cute_testkit::always(cute_testkit::response("200 OK", &[], b"warm")));
    let nam = NetworkAccessManager::new();
    // One connection per host: the request waits for the one being opened ahead, then
    // takes it from the pool.
    nam.set_max_connections_per_host(1).unwrap();
    nam.connect_to_host("127.0.0.1", server.port());
    assert!(
        common::run_until(Duration::from_secs(30), || server.accepted() == 1),
        "the connection was opened ahead"
    );
    let reply = common::fetch(&nam, server.url("/first"));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"warm");
    assert_eq!(server.accepted(), 1, "the request used the connection opened ahead");

    // A host that is not one is ignored, with no reply and no panic.
    nam.connect_to_host("no such host", 80);
    nam.connect_to_host_encrypted("127.0.0.1", 1);
}
