//! Replies as futures: `finished_future()` and `reply.await`, with `block_on`, in tasks,
//! concurrently with `futures` combinators, after the reply finished, and with a timeout.

mod common;

use std::time::Duration;

use cute_core::{Elapsed, block_on, spawn_local, timeout};
use cute_httpbin::Httpbin;
use cute_network::{NetworkAccessManager, NetworkError, NetworkRequest};
use cute_testkit::Watchdog;
use futures_util::future::join;

const LONG: Duration = Duration::from_secs(30);

#[test]
fn a_reply_awaited_with_block_on_resolves_once_finished() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = block_on(timeout(LONG, nam.get(&NetworkRequest::new(server.url("/get"))).finished_future()))
        .expect("the reply never finished");
    assert!(reply.is_finished());
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.status_code(), Some(200));
    let json: serde_json::Value = reply.read_json().unwrap();
    assert!(json["url"].as_str().unwrap().ends_with("/get"));

    // Already finished: resolves at once, without running the loop for a signal.
    let again = block_on(reply.finished_future());
    assert_eq!(again.status_code(), Some(200));
    assert_eq!(block_on(&reply).status_code(), Some(200));
}

#[test]
fn replies_awaited_in_tasks_and_joined_run_concurrently() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let first = nam.get(&NetworkRequest::new(server.url("/status/404")));
    let second = nam.get(&NetworkRequest::new(server.url("/bytes/1000")));
    let task = spawn_local(async move {
        let (first, second) = join(first.finished_future(), second.finished_future()).await;
        (first.status_code(), first.error(), second.read_all().len())
    });
    let (status, error, len) = block_on(timeout(LONG, task)).expect("timed out").unwrap();
    assert_eq!(status, Some(404));
    assert_eq!(error, NetworkError::ContentNotFoundError);
    assert_eq!(len, 1000);
}

#[test]
fn an_aborted_reply_resolves_and_a_slow_one_can_time_out() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let slow = nam.get(&NetworkRequest::new(server.url("/delay/10")));
    let waited = block_on(timeout(Duration::from_millis(50), slow.finished_future()));
    assert_eq!(waited.unwrap_err(), Elapsed);
    assert!(!slow.is_finished());
    let pending = slow.finished_future();
    slow.abort();
    let reply = block_on(timeout(LONG, pending)).unwrap();
    assert_eq!(reply.error(), NetworkError::OperationCanceledError);
}
