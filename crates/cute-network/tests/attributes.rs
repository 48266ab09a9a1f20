//! Request attributes and settings Qt scripts use (priority, cookie and authentication
//! control, upload progress), and the reply's reading conveniences.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::{fetch, run_until, wait};
use cute_core::SignalSpy;
use cute_httpbin::Httpbin;
use cute_network::{
    Attribute, AttributeValue, LoadControl, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest,
    Priority,
};
use cute_testkit::Watchdog;

fn json(reply: &NetworkReply) -> serde_json::Value {
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    reply.read_json().expect("JSON")
}

#[test]
fn a_hosts_waiting_requests_start_highest_priority_first() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    nam.set_max_connections_per_host(1).unwrap();
    // Occupies the host's one connection for a second, once its headers are in.
    let blocker = nam.get(&NetworkRequest::new(server.url("/drip?duration=1&numbytes=2")));
    let started = SignalSpy::new(blocker.meta_data_changed());
    assert!(started.wait(Duration::from_secs(30)), "the first request started");
    let order: Rc<RefCell<Vec<String>>> = Rc::default();
    let o = order.clone();
    nam.finished().connect(move |reply: &NetworkReply| {
        let query = reply.url().and_then(|u| u.query().map(str::to_owned)).unwrap_or_default();
        o.borrow_mut().push(query);
    });
    for (name, priority) in [
        ("low", Priority::LowPriority),
        ("normal1", Priority::NormalPriority),
        ("high", Priority::HighPriority),
        ("normal2", Priority::NormalPriority),
    ] {
        let mut request = NetworkRequest::new(server.url(&format!("/get?{name}")));
        request.set_priority(priority);
        assert_eq!(request.priority(), priority);
        nam.get(&request);
    }
    assert!(run_until(Duration::from_secs(30), || order.borrow().len() == 5), "{:?}", order.borrow());
    assert_eq!(*order.borrow(), ["duration=1&numbytes=2", "high", "normal1", "normal2", "low"]);
}

#[test]
fn cookie_load_and_save_control_keep_the_jar_out_of_a_request() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let manual = AttributeValue::Int(LoadControl::Manual as i64);

    // Not saved: the jar stays empty.
    let mut request = NetworkRequest::new(server.url("/cookies/set?unsaved=1"));
    request.set_attribute(Attribute::CookieSaveControlAttribute, manual.clone()).unwrap();
    let reply = nam.get(&request);
    wait(&reply);
    assert_eq!(json(&fetch(&nam, server.url("/cookies")))["cookies"], serde_json::json!({}));

    // Saved as usual, then kept out of one request only.
    json(&fetch(&nam, server.url("/cookies/set?flavour=oatmeal")));
    let mut request = NetworkRequest::new(server.url("/cookies"));
    request.set_attribute(Attribute::CookieLoadControlAttribute, manual.clone()).unwrap();
    assert_eq!(request.attribute(Attribute::CookieLoadControlAttribute), Some(manual));
    let reply = nam.get(&request);
    wait(&reply);
    assert_eq!(json(&reply)["cookies"], serde_json::json!({}));
    assert_eq!(
        json(&fetch(&nam, server.url("/cookies")))["cookies"],
        serde_json::json!({"flavour": "oatmeal"})
    );
}

#[test]
fn manual_authentication_reuse_asks_again_instead_of_using_the_cache() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let asked = Rc::new(RefCell::new(0));
    let a = asked.clone();
    nam.authentication_required().connect(move |(_reply, auth)| {
        *a.borrow_mut() += 1;
        auth.set_user("user");
        auth.set_password("passwd");
    });
    let url = server.url("/basic-auth/user/passwd");
    assert_eq!(json(&fetch(&nam, url.as_str()))["authenticated"], true);
    assert_eq!(json(&fetch(&nam, url.as_str()))["authenticated"], true);
    assert_eq!(*asked.borrow(), 1, "the second request used the cached credentials");
    let mut request = NetworkRequest::new(url.as_str());
    request.set_attribute(Attribute::AuthenticationReuseAttribute, AttributeValue::Int(1)).unwrap();
    let reply = nam.get(&request);
    wait(&reply);
    assert_eq!(json(&reply)["authenticated"], true);
    assert_eq!(*asked.borrow(), 2, "Manual: asked again");
}

#[test]
fn every_upload_progress_step_on_request() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let body = vec![b'x'; 1024 * 1024];
    let mut request = NetworkRequest::new(server.url("/post"));
    request.set_raw_header("Content-Type", "application/octet-stream");
    request
        .set_attribute(Attribute::EmitAllUploadProgressSignalsAttribute, AttributeValue::Bool(true))
        .unwrap();
    let reply = nam.post(&request, body.clone());
    let progress = SignalSpy::new(reply.upload_progress());
    wait(&reply);
    let steps = progress.take_all();
    // 1 MiB goes to hyper in 64 KiB pieces: every one is reported.
    assert_eq!(steps.len(), 16, "{steps:?}");
    assert_eq!(steps.last(), Some(&(body.len() as u64, Some(body.len() as u64))));
    assert!(
        request
            .set_attribute(Attribute::EmitAllUploadProgressSignalsAttribute, AttributeValue::Int(1))
            .is_err()
    );
    assert!(request.set_attribute(Attribute::CookieLoadControlAttribute, AttributeValue::Int(7)).is_err());
}

#[test]
fn lines_are_read_and_peeked_and_close_throws_the_rest_away() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = fetch(&nam, server.url("/html"));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert!(reply.can_read_line());
    let peeked = reply.peek(15);
    assert_eq!(peeked, b"<!DOCTYPE html>");
    let first = reply.read_line();
    assert_eq!(first, b"<!DOCTYPE html>\n", "peek left the bytes, read_line takes through the newline");
    let mut lines = 1;
    while reply.can_read_line() {
        let line = reply.read_line();
        assert!(!line.is_empty());
        lines += 1;
    }
    assert!(lines > 3, "{lines} lines");
    assert_eq!(reply.bytes_available(), 0);

    let reply = fetch(&nam, server.url("/html"));
    assert!(reply.bytes_available() > 0);
    reply.close();
    assert_eq!(reply.bytes_available(), 0, "close throws unread data away");
    assert_eq!(reply.error(), NetworkError::NoError, "closing a finished reply is not an error");
    assert!(reply.manager().is_some());

    let status = reply.attribute(Attribute::HttpStatusCodeAttribute).unwrap();
    assert_eq!(status.as_int(), Some(200));
    assert_eq!(status.as_str(), None);
    assert_eq!(reply.attribute(Attribute::HttpReasonPhraseAttribute).unwrap().as_str(), Some("OK"));
    assert_eq!(reply.attribute(Attribute::ConnectionEncryptedAttribute).unwrap().as_bool(), Some(false));
    drop(nam);
    assert!(reply.manager().is_none(), "the reply does not keep its manager");
}

#[test]
fn closing_a_running_reply_cancels_it() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(server.url("/drip?duration=5&numbytes=5")));
    let finished = SignalSpy::new(reply.finished());
    reply.close();
    assert_eq!(finished.count(), 1);
    assert_eq!(reply.error(), NetworkError::OperationCanceledError);
}

#[test]
fn known_headers_read_typed() {
    use cute_network::{KnownHeaderValue, KnownHeaders, RedirectPolicy};
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = fetch(&nam, server.url("/bytes/100"));
    assert_eq!(reply.header_value(KnownHeaders::ContentLengthHeader), Some(KnownHeaderValue::Int(100)));

    let reply = fetch(
        &nam,
        server.url("/response-headers?Set-Cookie=a%3D1%3B%20Path%3D%2F&Last-Modified=Sun%2C%2006%20Nov%201994%2008%3A49%3A37%20GMT"),
    );
    let Some(KnownHeaderValue::Cookies(cookies)) = reply.header_value(KnownHeaders::SetCookieHeader) else {
        panic!("{:?}", reply.raw_header("set-cookie"))
    };
    assert_eq!((cookies[0].name(), cookies[0].value(), cookies[0].path()), ("a", "1", "/"));
    let modified = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
    assert_eq!(reply.header_value(KnownHeaders::LastModifiedHeader), Some(KnownHeaderValue::Date(modified)));

    let mut request = NetworkRequest::new(server.url("/redirect-to?url=/get%3Fx%3D1"));
    request.set_redirect_policy(RedirectPolicy::ManualRedirectPolicy);
    let reply = nam.get(&request);
    wait(&reply);
    let Some(KnownHeaderValue::Url(location)) = reply.header_value(KnownHeaders::LocationHeader) else {
        panic!("{:?}", reply.raw_header("location"))
    };
    assert_eq!(location.as_str(), server.url("/get?x=1"), "resolved against the reply's URL");
}
