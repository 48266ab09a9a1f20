//! HTTP Basic authentication as Qt does it: URL credentials, the cache, the signal,
//! retries on rejection, abort from the slot, and no credential leaks in Debug output.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use common::{Watchdog, wait};
use cute::SignalSpy;
use cute::network::{NetworkAccessManager, NetworkError, NetworkRequest};
use cute_httpbin::Httpbin;

/// Connects a slot answering every challenge with `user`/`password`, counting calls and
/// aborting on call `abort_on` (0: never).
fn answer(
    nam: &NetworkAccessManager,
    user: &'static str,
    password: &'static str,
    abort_on: u32,
) -> Rc<Cell<u32>> {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    nam.authentication_required().connect(move |(reply, auth)| {
        c.set(c.get() + 1);
        assert_eq!(auth.realm(), "Fake Realm");
        if abort_on != 0 && c.get() >= abort_on {
            reply.abort();
        }
        auth.set_user(user);
        auth.set_password(password);
    });
    calls
}

#[test]
fn the_tutorial_flow_authenticates_once() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer(&nam, "user7", "passwd7", 3);
    let reply = nam.get(&NetworkRequest::new(server.url("/basic-auth/user7/passwd7")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["authenticated"], true);
    assert_eq!(json["user"], "user7");
    assert_eq!(calls.get(), 1);

    // Accepted credentials are cached: the next request to that host does not ask.
    let again = nam.get(&NetworkRequest::new(server.url("/basic-auth/user7/passwd7")));
    wait(&again);
    assert_eq!(again.error(), NetworkError::NoError);
    assert_eq!(calls.get(), 1);

    // clear_access_cache forgets them.
    nam.clear_access_cache();
    let third = nam.get(&NetworkRequest::new(server.url("/basic-auth/user7/passwd7")));
    wait(&third);
    assert_eq!(third.error(), NetworkError::NoError);
    assert_eq!(calls.get(), 2);
}

#[test]
fn rejected_credentials_ask_again_until_the_slot_aborts() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer(&nam, "user7", "wrong", 3);
    let finished = SignalSpy::new(nam.finished());
    let reply = nam.get(&NetworkRequest::new(server.url("/basic-auth/user7/passwd7")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::OperationCanceledError);
    assert_eq!(reply.error_string(), "Operation canceled");
    assert_eq!(calls.get(), 3);
    assert_eq!(finished.count(), 1);
    // The worker stopped: nothing more arrives.
    assert!(!finished.wait(Duration::from_millis(200)));
    assert_eq!(calls.get(), 3);
}

#[test]
fn a_slot_that_sets_nothing_ends_with_authentication_required() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    nam.authentication_required().connect(move |_| c.set(c.get() + 1));
    let reply = nam.get(&NetworkRequest::new(server.url("/basic-auth/a/b")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::AuthenticationRequiredError);
    assert_eq!(reply.error_string(), "Host requires authentication");
    assert_eq!(reply.status_code(), Some(401));
    assert_eq!(calls.get(), 1);
}

#[test]
fn no_slot_connected_ends_with_authentication_required() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(server.url("/basic-auth/a/b")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::AuthenticationRequiredError);
}

#[test]
fn credentials_in_the_url_are_used_without_asking() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer(&nam, "x", "y", 0);
    let url = server.url("/basic-auth/user7/passwd7").replace("http://", "http://user7:passwd7@");
    let reply = nam.get(&NetworkRequest::new(url));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(calls.get(), 0);
    // Wrong URL credentials: then the signal is asked, once, with the right ones.
    let calls_before = calls.get();
    let nam2 = NetworkAccessManager::new();
    let calls2 = answer(&nam2, "user7", "passwd7", 0);
    let url = server.url("/basic-auth/user7/passwd7").replace("http://", "http://user7:bad@");
    let reply = nam2.get(&NetworkRequest::new(url));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError);
    assert_eq!(calls2.get(), 1);
    assert_eq!(calls.get(), calls_before);
}

#[test]
fn hidden_basic_auth_is_a_plain_404_without_asking() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer(&nam, "user7", "passwd7", 0);
    let reply = nam.get(&NetworkRequest::new(server.url("/hidden-basic-auth/user7/passwd7")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::ContentNotFoundError);
    assert_eq!(calls.get(), 0);
}

#[test]
fn debug_output_never_shows_credentials() {
    let mut req = NetworkRequest::new("http://user:hunter2@example.invalid/x");
    req.set_raw_header("Authorization", "Basic c2VjcmV0");
    req.set_raw_header("Cookie", "session=topsecret");
    let shown = format!("{req:?}");
    for secret in ["hunter2", "c2VjcmV0", "topsecret"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    let _dog = Watchdog::new(Duration::from_secs(60));
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&req);
    let shown = format!("{reply:?} {nam:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    reply.abort();
}

/// A raw-socket server with two realms on one origin: `/a` wants `ua:pa` in realm "A",
/// `/b` wants `ub:pb` in realm "B" (`Basic dWE6cGE=` and `Basic dWI6cGI=`). Keep-alive; the
/// listener thread ends with the test process.
fn two_realm_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || serve_two_realms(stream));
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn serve_two_realms(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        };
        let head = String::from_utf8_lossy(&pending[..end]).into_owned();
        pending.drain(..end);
        let path = head.split(' ').nth(1).unwrap_or("");
        let authorization = head.lines().skip(1).find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("authorization").then(|| value.trim().to_owned())
        });
        let (realm, expected) =
            if path.starts_with("/a") { ("A", "Basic dWE6cGE=") } else { ("B", "Basic dWI6cGI=") };
        let response = if authorization.as_deref() == Some(expected) {
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{realm}", realm.len())
        } else {
            format!(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"{realm}\"\r\nContent-Length: 0\r\n\r\n"
            )
        };
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn two_realms_on_one_origin_are_each_asked_once() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let base = two_realm_server();
    let nam = NetworkAccessManager::new();
    let asked: Rc<RefCell<HashMap<String, u32>>> = Rc::default();
    let a = asked.clone();
    nam.authentication_required().connect(move |(_reply, auth)| {
        let realm = auth.realm();
        *a.borrow_mut().entry(realm.clone()).or_default() += 1;
        let (user, password) = if realm == "A" { ("ua", "pa") } else { ("ub", "pb") };
        auth.set_user(user);
        auth.set_password(password);
    });
    for path in ["/a", "/b", "/a", "/b", "/a", "/b"] {
        let reply = nam.get(&NetworkRequest::new(format!("{base}{path}")));
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "{path}: {}", reply.error_string());
        assert_eq!(reply.read_all(), path[1..].to_uppercase().as_bytes(), "{path}");
    }
    let asked = asked.borrow();
    assert_eq!(asked.get("A"), Some(&1), "{asked:?}");
    assert_eq!(asked.get("B"), Some(&1), "{asked:?}");
    assert_eq!(asked.len(), 2, "{asked:?}");
}
