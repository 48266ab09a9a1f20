//! GET and friends against the local httpbin: bodies, JSON, headers, status mapping.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::{fetch, run_until, wait};
use cute_core::{EventLoop, Timer};
use cute_httpbin::Httpbin;
use cute_network::{KnownHeaders, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
use cute_testkit::Watchdog;

#[test]
fn get_html_page() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(server.url("/html")));
    assert!(!reply.is_finished());
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.status_code(), Some(200));
    let body = reply.read_all();
    assert_eq!(body.len(), 347);
    assert!(String::from_utf8_lossy(&body).contains("Today is a beautiful day"));
    assert_eq!(reply.header(KnownHeaders::ContentTypeHeader).as_deref(), Some("text/html; charset=utf-8"));
}

#[test]
fn signal_order_and_post_json() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l = log.clone();
    nam.finished().connect(move |_| l.borrow_mut().push("manager finished".into()));
    let mut req = NetworkRequest::new(server.url("/post"));
    req.set_header(KnownHeaders::ContentTypeHeader, "application/x-www-form-urlencoded");
    let reply = nam.post(&req, b"name=Peter&age=34".to_vec());
    let l = log.clone();
    reply.meta_data_changed().connect(move |_| l.borrow_mut().push("meta".into()));
    let l = log.clone();
    reply.ready_read().connect(move |_| l.borrow_mut().push("ready_read".into()));
    let l = log.clone();
    reply.finished().connect(move |_| l.borrow_mut().push("reply finished".into()));
    wait(&reply);
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["form"]["name"], "Peter");
    assert_eq!(json["form"]["age"], "34");
    let log = log.borrow();
    assert_eq!(log.first().map(String::as_str), Some("meta"));
    assert_eq!(&log[log.len() - 2..], ["manager finished", "reply finished"]);
    assert!(log.iter().any(|e| e == "ready_read"));
}

#[test]
fn http_errors_map_like_qt_and_keep_the_body() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let cases = [
        (404, NetworkError::ContentNotFoundError),
        (403, NetworkError::ContentAccessDenied),
        (500, NetworkError::InternalServerError),
        (418, NetworkError::ProtocolInvalidOperationError),
        (429, NetworkError::UnknownContentError),
        (502, NetworkError::UnknownServerError),
    ];
    let replies: Vec<(u16, NetworkError, NetworkReply)> = cases
        .iter()
        .map(|&(code, e)| (code, e, nam.get(&NetworkRequest::new(server.url(&format!("/status/{code}"))))))
        .collect();
    for (code, expected, reply) in &replies {
        wait(reply);
        assert_eq!(reply.error(), *expected, "HTTP {code}");
        assert_eq!(reply.status_code(), Some(*code));
        assert!(reply.error_string().contains("server replied"), "{}", reply.error_string());
    }
    let teapot = &replies[3].2;
    assert!(!teapot.read_all().is_empty(), "the error body stays readable");
}

#[test]
fn head_of_a_plain_resource_has_headers_and_no_body() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = nam.head(&NetworkRequest::new(server.url("/get")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.status_code(), Some(200));
    assert_eq!(reply.header(KnownHeaders::ContentTypeHeader).as_deref(), Some("application/json"));
    assert!(reply.has_raw_header("content-length"));
    assert!(reply.read_all().is_empty());
}

#[test]
fn head_of_a_gzip_resource_is_not_a_corrupt_body() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    for path in ["/gzip", "/deflate"] {
        let reply = nam.head(&NetworkRequest::new(server.url(path)));
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "{path}: {}", reply.error_string());
        assert_eq!(reply.status_code(), Some(200), "{path}");
        assert!(reply.has_raw_header("content-encoding"), "{path}: {:?}", reply.raw_header_list());
        assert!(reply.read_all().is_empty(), "{path}");
    }
}

/// Records a reply's signals (and the manager's `finished`) in emission order.
fn record(nam: &NetworkAccessManager, reply: &NetworkReply) -> Rc<RefCell<Vec<String>>> {
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let l = log.clone();
    let me = reply.clone();
    nam.finished().connect(move |r| {
        if *r == me {
            l.borrow_mut().push("manager finished".into());
        }
    });
    let l = log.clone();
    reply.meta_data_changed().connect(move |_| l.borrow_mut().push("meta".into()));
    let l = log.clone();
    reply.ready_read().connect(move |_| l.borrow_mut().push("ready_read".into()));
    let l = log.clone();
    reply
        .download_progress()
        .connect(move |(n, total)| l.borrow_mut().push(format!("progress {n} {total:?}")));
    let l = log.clone();
    reply.error_occurred().connect(move |e| l.borrow_mut().push(format!("error {e:?}")));
    let l = log.clone();
    reply.finished().connect(move |_| l.borrow_mut().push("reply finished".into()));
    log
}

#[test]
fn a_final_download_progress_comes_before_finished() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let gzip_len = {
        let probe = fetch(&nam, server.url("/gzip"));
        probe.read_all().len()
    };
    let gzip_last = format!("progress {gzip_len} Some({gzip_len})");
    // (path, HEAD?, the final progress)
    let cases = [
        ("/bytes/200000", false, "progress 200000 Some(200000)"),
        ("/stream-bytes/200000", false, "progress 200000 Some(200000)"),
        ("/gzip", false, gzip_last.as_str()),
        ("/status/204", false, "progress 0 Some(0)"),
        ("/get", true, "progress 0 Some(0)"),
    ];
    for (path, head, last) in cases {
        let request = NetworkRequest::new(server.url(path));
        let reply = if head { nam.head(&request) } else { nam.get(&request) };
        let log = record(&nam, &reply);
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "{path}: {}", reply.error_string());
        let log = log.borrow();
        let n = log.len();
        assert!(n >= 4, "{path}: {log:?}");
        assert_eq!(log[0], "meta", "{path}: {log:?}");
        assert_eq!(log[n - 3..], [last, "manager finished", "reply finished"], "{path}: {log:?}");
        assert!(
            log[1..n - 2].iter().all(|e| e == "ready_read" || e.starts_with("progress ")),
            "{path}: {log:?}"
        );
        // Never the same progress twice in a row.
        assert!(log.windows(2).all(|w| w[0] != w[1] || w[0] == "ready_read"), "{path}: {log:?}");
    }

    // An HTTP error status with a body completes like a success, the error first (Qt's
    // thread delegate reports it, then the download's end): error, the final progress,
    // then finished.
    let reply = nam.get(&NetworkRequest::new(server.url("/status/404")));
    let log = record(&nam, &reply);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::ContentNotFoundError);
    let body_len = reply.read_all().len();
    let log = log.borrow();
    let n = log.len();
    let last = format!("progress {body_len} Some({body_len})");
    assert_eq!(
        log[n - 4..],
        ["error ContentNotFoundError", last.as_str(), "manager finished", "reply finished"],
        "{log:?}"
    );
}

#[test]
fn a_status_line_without_a_reason_still_has_one() {
    use cute_testkit::{Responder, always};
    let _dog = Watchdog::new(Duration::from_secs(60));
    let nam = NetworkAccessManager::new();
    for (code, expected) in
        [(599, NetworkError::UnknownServerError), (499, NetworkError::UnknownContentError)]
    {
        // An empty reason phrase (allowed by RFC 9112): the code stands in for it.
        let server =
            Responder::start(always(format!("HTTP/1.1 {code} \r\nContent-Length: 0\r\n\r\n").into_bytes()));
        let reply = fetch(&nam, server.url("/"));
        assert_eq!(reply.error(), expected, "{code}");
        assert_eq!(reply.status_code(), Some(code));
        assert_eq!(reply.reason_phrase(), code.to_string());
        let text = reply.error_string();
        assert!(text.ends_with(&format!("server replied: {code}")), "{text:?}");
    }
    // hyper (cute-httpbin) sends "Unknown" for a code it has no phrase for, and the
    // standard phrase for the others: the reply says what the server said.
    let server = Httpbin::start().unwrap();
    let reply = fetch(&nam, server.url("/status/599"));
    assert_eq!(reply.reason_phrase(), "Unknown");
    let reply = fetch(&nam, server.url("/status/404"));
    assert_eq!(reply.reason_phrase(), "Not Found");
    assert!(reply.error_string().ends_with("server replied: Not Found"), "{}", reply.error_string());
}

#[test]
fn a_finished_slot_may_wait_for_another_reply_in_a_nested_loop() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = Rc::new(NetworkAccessManager::new());
    let inner_result: Rc<RefCell<Option<(NetworkError, usize)>>> = Rc::default();
    let (n, r, url) = (Rc::downgrade(&nam), inner_result.clone(), server.url("/html"));
    let first = nam.get(&NetworkRequest::new(server.url("/get")));
    first.finished().connect(move |_| {
        // Qt's synchronous idiom, inside a slot the manager itself is calling.
        let nam = n.upgrade().unwrap();
        let second = nam.get(&NetworkRequest::new(url.as_str()));
        let local = EventLoop::new();
        let l = local.clone();
        second.finished().connect(move |_| l.quit());
        let give_up = Timer::new();
        give_up.set_single_shot(true);
        let g = local.clone();
        give_up.timeout().connect(move |_| g.exit(1));
        give_up.start_with(Duration::from_secs(20));
        assert_eq!(local.exec(), 0, "the second reply never finished inside the nested loop");
        *r.borrow_mut() = Some((second.error(), second.read_all().len()));
    });
    wait(&first);
    assert!(run_until(Duration::from_secs(30), || inner_result.borrow().is_some()));
    let (error, len) = inner_result.borrow().unwrap();
    assert_eq!(error, NetworkError::NoError);
    assert!(len > 0);
}

#[test]
fn the_servers_reason_phrase_is_kept() {
    use cute_testkit::{Responder, always};
    let _dog = Watchdog::new(Duration::from_secs(60));
    let nam = NetworkAccessManager::new();
    let server =
        Responder::start(always(b"HTTP/1.1 404 NOT FOUND HERE\r\nContent-Length: 4\r\n\r\ngone".to_vec()));
    let reply = fetch(&nam, server.url("/x"));
    assert_eq!(reply.error(), NetworkError::ContentNotFoundError);
    assert_eq!(reply.reason_phrase(), "NOT FOUND HERE");
    assert_eq!(
        reply.error_string(),
        format!("Error transferring {} - server replied: NOT FOUND HERE", server.url("/x"))
    );
    let ok = Responder::start(always(b"HTTP/1.1 200 Okey-dokey\r\nContent-Length: 2\r\n\r\nok".to_vec()));
    let reply = fetch(&nam, ok.url("/"));
    assert_eq!(reply.error(), NetworkError::NoError);
    assert_eq!(
        reply.attribute(cute_network::Attribute::HttpReasonPhraseAttribute),
        Some(cute_network::AttributeValue::Bytes(b"Okey-dokey".to_vec()))
    );
}
