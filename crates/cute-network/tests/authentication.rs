//! HTTP Basic and Digest authentication as Qt does it: URL credentials, the cache, the
//! signal, retries on rejection, abort from the slot, Digest preferred to Basic, stale
//! nonces, and no credential leaks in Debug output.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fetch, wait};
use cute_core::SignalSpy;
use cute_httpbin::Httpbin;
use cute_network::{NetworkAccessManager, NetworkError, NetworkRequest};
use cute_testkit::{Responder, Watchdog};

/// Connects a slot answering every challenge with `user`/`password`, counting calls and
/// aborting on call `abort_on` (0: never).
fn answer(
    nam: &NetworkAccessManager,
    user: &'static str,
    password: &'static str,
    abort_on: u32,
) -> Rc<Cell<u32>> {
    answer_in(nam, "Fake Realm", user, password, abort_on)
}

/// The realm of cute-httpbin's (and httpbin's) Digest challenges.
const DIGEST_REALM: &str = "me@kennethreitz.com";

/// As [`answer`], for challenges of `realm`.
fn answer_in(
    nam: &NetworkAccessManager,
    realm: &'static str,
    user: &'static str,
    password: &'static str,
    abort_on: u32,
) -> Rc<Cell<u32>> {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    nam.authentication_required().connect(move |(reply, auth)| {
        c.set(c.get() + 1);
        assert_eq!(auth.realm(), realm);
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
    let reply = fetch(&nam, server.url("/basic-auth/user7/passwd7"));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["authenticated"], true);
    assert_eq!(json["user"], "user7");
    assert_eq!(calls.get(), 1);

    // Accepted credentials are cached: the next request to that host does not ask.
    let again = fetch(&nam, server.url("/basic-auth/user7/passwd7"));
    assert_eq!(again.error(), NetworkError::NoError);
    assert_eq!(calls.get(), 1);

    // clear_access_cache forgets them.
    nam.clear_access_cache();
    let third = fetch(&nam, server.url("/basic-auth/user7/passwd7"));
    assert_eq!(third.error(), NetworkError::NoError);
    assert_eq!(calls.get(), 2);
}

#[test]
fn a_slot_answering_the_same_rejected_credentials_ends_with_authentication_required() {
    // Qt: the authenticator comes back holding the credentials that failed, and setting the
    // same values is no change: the tutorial's slot is called twice, never a third time.
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let held: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
    let h = held.clone();
    nam.authentication_required().connect(move |(_reply, auth)| {
        h.borrow_mut().push((auth.user(), auth.password()));
        auth.set_user("user7");
        auth.set_password("wrong");
    });
    let finished = SignalSpy::new(nam.finished());
    let reply = fetch(&nam, server.url("/basic-auth/user7/passwd7"));
    assert_eq!(reply.error(), NetworkError::AuthenticationRequiredError);
    assert_eq!(reply.error_string(), "Host requires authentication");
    assert_eq!(reply.status_code(), Some(401));
    assert_eq!(
        *held.borrow(),
        [(String::new(), String::new()), ("user7".to_owned(), "wrong".to_owned())],
        "first asked empty, then holding what failed"
    );
    assert_eq!(finished.count(), 1);
    assert!(!finished.wait(Duration::from_millis(200)), "the worker stopped");
}

#[test]
fn rejected_credentials_ask_again_until_the_slot_aborts() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    nam.authentication_required().connect(move |(reply, auth)| {
        c.set(c.get() + 1);
        if c.get() >= 3 {
            reply.abort();
        }
        // A different wrong password each time: each one is tried.
        auth.set_user("user7");
        auth.set_password(&format!("wrong{}", c.get()));
    });
    let finished = SignalSpy::new(nam.finished());
    let reply = fetch(&nam, server.url("/basic-auth/user7/passwd7"));
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
    let reply = fetch(&nam, server.url("/basic-auth/a/b"));
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
    let reply = fetch(&nam, server.url("/basic-auth/a/b"));
    assert_eq!(reply.error(), NetworkError::AuthenticationRequiredError);
}

#[test]
fn credentials_in_the_url_are_used_without_asking() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer(&nam, "x", "y", 0);
    let url = server.url("/basic-auth/user7/passwd7").replace("http://", "http://user7:passwd7@");
    let reply = fetch(&nam, url);
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
    let reply = fetch(&nam, server.url("/hidden-basic-auth/user7/passwd7"));
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

/// Two realms on one origin: `/a` wants `ua:pa` in realm "A", `/b` wants `ub:pb` in realm
/// "B" (`Basic dWE6cGE=` and `Basic dWI6cGI=`).
fn two_realms(path: &str, authorization: Option<&str>) -> String {
    let (realm, expected) =
        if path.starts_with("/a") { ("A", "Basic dWE6cGE=") } else { ("B", "Basic dWI6cGI=") };
    if authorization == Some(expected) {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{realm}", realm.len())
    } else {
        format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"{realm}\"\r\nContent-Length: 0\r\n\r\n"
        )
    }
}

#[test]
fn two_realms_on_one_origin_are_each_asked_once() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (server, _) = scripted_server(two_realms);
    let base = server.url("");
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
        let reply = fetch(&nam, format!("{base}{path}"));
        assert_eq!(reply.error(), NetworkError::NoError, "{path}: {}", reply.error_string());
        assert_eq!(reply.read_all(), path[1..].to_uppercase().as_bytes(), "{path}");
    }
    let asked = asked.borrow();
    assert_eq!(asked.get("A"), Some(&1), "{asked:?}");
    assert_eq!(asked.get("B"), Some(&1), "{asked:?}");
    assert_eq!(asked.len(), 2, "{asked:?}");
}

#[test]
fn digest_md5_authenticates_through_the_slot() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer_in(&nam, DIGEST_REALM, "user7", "passwd7", 3);
    let reply = fetch(&nam, server.url("/digest-auth/auth/user7/passwd7"));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json, serde_json::json!({"authenticated": true, "user": "user7"}));
    assert_eq!(calls.get(), 1);
}

#[test]
fn digest_sha256_authenticates_through_the_slot() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer_in(&nam, DIGEST_REALM, "user7", "passwd7", 3);
    // The query is part of the request-target the response covers (the server checks).
    let url = server.url("/digest-auth/auth/user7/passwd7/SHA-256?x=1&y=%2F");
    let reply = fetch(&nam, url);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["user"], "user7");
    assert_eq!(calls.get(), 1);
    // HEAD is hashed as HEAD.
    let head = nam.head(&NetworkRequest::new(server.url("/digest-auth/auth/user7/passwd7/SHA-256")));
    wait(&head);
    assert_eq!(head.error(), NetworkError::NoError, "{}", head.error_string());
    assert_eq!(head.status_code(), Some(200));
}

#[test]
fn digest_rejected_password_asks_again_until_the_slot_gives_up() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    nam.authentication_required().connect(move |(_reply, auth)| {
        c.set(c.get() + 1);
        assert_eq!(auth.realm(), DIGEST_REALM);
        // Three different wrong answers, then none.
        if c.get() <= 3 {
            auth.set_user("user7");
            auth.set_password(&format!("wrong{}", c.get()));
        }
    });
    let reply = fetch(&nam, server.url("/digest-auth/auth/user7/passwd7"));
    assert_eq!(reply.error(), NetworkError::AuthenticationRequiredError);
    assert_eq!(reply.error_string(), "Host requires authentication");
    assert_eq!(reply.status_code(), Some(401));
    assert_eq!(calls.get(), 4);
    // Nothing wrong was cached: a new request asks again.
    let again = fetch(&nam, server.url("/digest-auth/auth/user7/passwd7"));
    assert_eq!(again.error(), NetworkError::AuthenticationRequiredError);
    assert_eq!(calls.get(), 5);
}

#[test]
fn digest_credentials_in_the_url_are_used_without_asking() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer_in(&nam, DIGEST_REALM, "x", "y", 0);
    let url =
        server.url("/digest-auth/auth/user7/passwd7/SHA-256").replace("http://", "http://user7:passwd7@");
    let reply = fetch(&nam, url);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_json::<serde_json::Value>().unwrap()["user"], "user7");
    assert_eq!(calls.get(), 0);
}

#[test]
fn digest_cached_credentials_answer_the_next_challenge_without_asking() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer_in(&nam, DIGEST_REALM, "user7", "passwd7", 0);
    for round in 0..3 {
        let reply = fetch(&nam, server.url("/digest-auth/auth/user7/passwd7"));
        assert_eq!(reply.error(), NetworkError::NoError, "round {round}: {}", reply.error_string());
        assert_eq!(calls.get(), 1, "round {round}");
    }
    // Another path of the same realm (same origin) too.
    let reply = fetch(&nam, server.url("/digest-auth/auth/user7/passwd7/SHA-256"));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(calls.get(), 1);
    nam.clear_access_cache();
    let reply = fetch(&nam, server.url("/digest-auth/auth/user7/passwd7"));
    assert_eq!(reply.error(), NetworkError::NoError);
    assert_eq!(calls.get(), 2);
}

#[test]
fn unsupported_digest_challenges_finish_without_asking() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let calls = answer_in(&nam, DIGEST_REALM, "user7", "passwd7", 0);
    // qop auth-int only (we do not hash bodies), and httpbin's non-RFC "SHA-512".
    for path in ["/digest-auth/auth-int/user7/passwd7", "/digest-auth/auth/user7/passwd7/SHA-512"] {
        let reply = fetch(&nam, server.url(path));
        assert_eq!(reply.error(), NetworkError::AuthenticationRequiredError, "{path}");
    }
    assert_eq!(calls.get(), 0);
}

/// The requests a [`scripted_server`] received: their paths and `Authorization` headers.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A responder answering each request with `respond(path, authorization)` and recording
/// what it received (keep-alive).
fn scripted_server(respond: fn(&str, Option<&str>) -> String) -> (Responder, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let server = Responder::start(move |mut connection| {
        while let Some(head) = connection.read_head() {
            let (path, authorization) = (head.path(), head.header("authorization"));
            let response = respond(&path, authorization.as_deref());
            log.lock().unwrap().push((path, authorization));
            if connection.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    });
    (server, seen)
}

fn unauthorized(challenges: &[&str]) -> String {
    let mut response = String::from("HTTP/1.1 401 Unauthorized\r\n");
    for challenge in challenges {
        response.push_str(&format!("WWW-Authenticate: {challenge}\r\n"));
    }
    response + "Content-Length: 0\r\n\r\n"
}

fn ok() -> String {
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_owned()
}

/// A Digest param of an Authorization header (quoted or not; test values have no escapes).
fn param(authorization: &str, name: &str) -> Option<String> {
    let start = authorization.find(&format!(" {name}="))? + name.len() + 2;
    let rest = &authorization[start..];
    Some(match rest.strip_prefix('"') {
        Some(quoted) => quoted[..quoted.find('"')?].to_owned(),
        None => rest.split(',').next()?.trim().to_owned(),
    })
}

/// `/stale`: nonce `n1` is answered with `stale=true` and nonce `n2`, which is accepted.
/// `/always-stale`: every answer is stale. `/same-nonce`: always nonce `n`, user `good` in.
fn stale_script(path: &str, authorization: Option<&str>) -> String {
    let nonce = authorization.and_then(|a| param(a, "nonce"));
    match (path, nonce.as_deref()) {
        ("/stale?q=1", Some("n2")) => ok(),
        ("/stale?q=1", Some(_)) => {
            unauthorized(&[r#"Digest realm="stale", nonce="n2", qop="auth", stale=true"#])
        }
        ("/stale?q=1", None) => unauthorized(&[r#"Digest realm="stale", nonce="n1", qop="auth""#]),
        ("/always-stale", None) => unauthorized(&[r#"Digest realm="stale", nonce="s0", qop="auth""#]),
        ("/always-stale", Some(n)) => {
            let next = format!("s{}", n[1..].parse::<u32>().unwrap_or(0) + 1);
            unauthorized(&[&format!(r#"Digest realm="stale", nonce="{next}", qop="auth", stale=true"#)])
        }
        ("/same-nonce", _)
            if authorization.is_some_and(|a| param(a, "username").as_deref() == Some("good")) =>
        {
            ok()
        }
        _ => unauthorized(&[r#"Digest realm="stale", nonce="n", qop="auth", algorithm=MD5"#]),
    }
}

#[test]
fn a_stale_nonce_is_retried_once_without_asking() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (server, seen) = scripted_server(stale_script);
    let base = server.url("");
    let nam = NetworkAccessManager::new();
    let calls = answer_in(&nam, "stale", "u", "p", 0);
    let reply = fetch(&nam, format!("{base}/stale?q=1"));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"ok");
    assert_eq!(calls.get(), 1, "the stale 401 is not the application's business");
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let sent: Vec<_> = seen.iter().map(|(_, a)| a.clone()).collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[0], None);
    let (first, second) = (sent[1].clone().unwrap(), sent[2].clone().unwrap());
    for (value, nonce) in [(&first, "n1"), (&second, "n2")] {
        assert!(value.starts_with("Digest "), "{value}");
        assert_eq!(param(value, "nonce").as_deref(), Some(nonce), "{value}");
        assert_eq!(param(value, "nc").as_deref(), Some("00000001"), "a new nonce counts from 1: {value}");
        assert_eq!(param(value, "uri").as_deref(), Some("/stale?q=1"), "{value}");
        assert_eq!(param(value, "username").as_deref(), Some("u"), "{value}");
        assert_eq!(param(value, "response").map(|r| r.len()), Some(32), "MD5 by default: {value}");
        assert!(!value.contains("\"p\""), "{value}");
    }
    assert_ne!(param(&first, "cnonce"), param(&second, "cnonce"), "a fresh cnonce each time");
}

/// Connects a slot that answers with each of `answers` in turn, then with nothing;
/// returns the realms it was asked for.
fn answer_each(
    nam: &NetworkAccessManager,
    answers: &'static [(&'static str, &'static str)],
) -> Rc<RefCell<Vec<String>>> {
    let asked: Rc<RefCell<Vec<String>>> = Rc::default();
    let a = asked.clone();
    nam.authentication_required().connect(move |(_reply, auth)| {
        let n = a.borrow().len();
        a.borrow_mut().push(auth.realm());
        if let Some((user, password)) = answers.get(n) {
            auth.set_user(user);
            auth.set_password(password);
        }
    });
    asked
}

#[test]
fn a_server_that_is_always_stale_gets_one_silent_retry_per_answer() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (server, seen) = scripted_server(stale_script);
    let base = server.url("");
    let nam = NetworkAccessManager::new();
    let asked = answer_each(&nam, &[("u", "p")]);
    let reply = fetch(&nam, format!("{base}/always-stale"));
    assert_eq!(reply.error(), NetworkError::AuthenticationRequiredError);
    assert_eq!(reply.status_code(), Some(401));
    // Asked, answered, stale, retried silently, stale again: asked again, no answer.
    assert_eq!(*asked.borrow(), ["stale", "stale"]);
    let nonces: Vec<_> =
        seen.lock().unwrap().iter().map(|(_, a)| a.as_deref().and_then(|a| param(a, "nonce"))).collect();
    assert_eq!(nonces, [None, Some("s0".into()), Some("s1".into())]);
}

#[test]
fn the_nonce_count_grows_while_a_nonce_is_reused() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (server, seen) = scripted_server(stale_script);
    let base = server.url("");
    let nam = NetworkAccessManager::new();
    let asked = answer_each(&nam, &[("bad", "x"), ("good", "y")]);
    let reply = fetch(&nam, format!("{base}/same-nonce"));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(asked.borrow().len(), 2);
    let seen = seen.lock().unwrap();
    let counts: Vec<_> = seen.iter().map(|(_, a)| a.as_deref().and_then(|a| param(a, "nc"))).collect();
    assert_eq!(counts, [None, Some("00000001".into()), Some("00000002".into())]);
    let last = seen[2].1.as_deref().unwrap();
    assert_eq!(param(last, "algorithm").as_deref(), Some("MD5"), "echoed from the challenge: {last}");
}

/// `/both`: a 401 offering Basic first, then Digest; only a Digest answer gets in.
/// `/both-one-line`: the same in one header line.
fn both_script(path: &str, authorization: Option<&str>) -> String {
    if authorization.is_some_and(|a| a.starts_with("Digest ")) {
        return ok();
    }
    match path {
        "/both" => {
            unauthorized(&[r#"Basic realm="basic""#, r#"Digest realm="digest", nonce="n", qop="auth""#])
        }
        _ => unauthorized(&[
            r#"Basic realm="basic", Digest realm="digest", nonce="n", qop="auth", algorithm=SHA-256"#,
        ]),
    }
}

#[test]
fn digest_is_preferred_to_basic() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (server, seen) = scripted_server(both_script);
    let base = server.url("");
    for (path, hex_len) in [("/both", 32), ("/both-one-line", 64)] {
        let nam = NetworkAccessManager::new();
        let asked = answer_each(&nam, &[("u", "p")]);
        let reply = fetch(&nam, format!("{base}{path}"));
        assert_eq!(reply.error(), NetworkError::NoError, "{path}: {}", reply.error_string());
        assert_eq!(*asked.borrow(), ["digest"], "{path}");
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(seen.len(), 2, "{path}: {seen:?}");
        let sent = seen[1].1.as_deref().unwrap();
        assert!(sent.starts_with("Digest "), "{path}: {sent}");
        assert_eq!(param(sent, "realm").as_deref(), Some("digest"));
        assert_eq!(param(sent, "response").map(|r| r.len()), Some(hex_len), "{path}: {sent}");
    }
}
