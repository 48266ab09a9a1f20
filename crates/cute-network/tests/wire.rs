//! What goes on the wire, as Qt 6 sends it: its default request headers (a caller's header
//! of the same name wins), the body's real `Content-Length`, standard verbs in upper case,
//! and the content codings it offers and decodes (zstd, br, gzip, deflate).

mod common;

use std::time::Duration;

use common::{fetch, wait};
use cute_httpbin::Httpbin;
use cute_network::{Attribute, AttributeValue, NetworkAccessManager, NetworkError, NetworkRequest};
use cute_testkit::{Head, Responder, Watchdog, recording, response};

/// A responder recording each head and answering `200 OK` with `ok`.
fn recorder() -> (Responder, std::sync::mpsc::Receiver<Head>) {
    let (script, heads) = recording(response("200 OK", &[], b"ok"));
    (Responder::start(script), heads)
}

fn next(heads: &std::sync::mpsc::Receiver<Head>) -> Head {
    heads.recv_timeout(Duration::from_secs(20)).expect("a request head")
}

/// How many times header `name` appears in `head`.
fn count(head: &Head, name: &str) -> usize {
    head.text()
        .split("\r\n")
        .skip(1)
        .filter(|line| line.split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name)))
        .count()
}

#[test]
fn qt_default_headers_and_no_accept() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (server, heads) = recorder();
    let nam = NetworkAccessManager::new();
    let reply = fetch(&nam, server.url("/"));
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let head = next(&heads);
    assert_eq!(head.header("accept-encoding").as_deref(), Some("zstd, br, gzip, deflate"), "{}", head.text());
    assert_eq!(head.header("user-agent").as_deref(), Some("Mozilla/5.0"));
    assert_eq!(head.header("connection").as_deref(), Some("Keep-Alive"));
    assert!(!head.has_header("accept"), "no Accept unless the caller sets one: {}", head.text());
    let language = head.header("accept-language").expect("Accept-Language");
    assert!(
        language.ends_with(",*") && language.split(',').all(|tag| !tag.is_empty()),
        "Qt's form, e.g. `en,*` or `de-DE,en,*`: {language}"
    );
}

#[test]
fn a_callers_header_of_the_same_name_wins() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (server, heads) = recorder();
    let nam = NetworkAccessManager::new();
    let mut request = NetworkRequest::new(server.url("/"));
    for (name, value) in [
        ("Accept", "text/html"),
        ("User-Agent", "cute-test/1"),
        ("Accept-Language", "fr"),
        ("Connection", "close"),
        ("Accept-Encoding", "identity"),
    ] {
        request.set_raw_header(name, value);
    }
    let reply = nam.get(&request);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let head = next(&heads);
    for (name, value) in [
        ("accept", "text/html"),
        ("user-agent", "cute-test/1"),
        ("accept-language", "fr"),
        ("connection", "close"),
        ("accept-encoding", "identity"),
    ] {
        assert_eq!(head.header(name).as_deref(), Some(value), "{}", head.text());
        assert_eq!(count(&head, name), 1, "{name} sent twice: {}", head.text());
    }
}

#[test]
fn the_callers_content_length_is_replaced_by_the_bodys() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    // Too long (it would hang the exchange until the timeout), too short (the rest of the
    // body would be taken for the next request).
    for wrong in ["100", "2"] {
        let mut request = NetworkRequest::new(server.url("/post"));
        request.set_raw_header("Content-Type", "text/plain");
        request.set_raw_header("Content-Length", wrong);
        request.set_transfer_timeout(Duration::from_secs(5));
        let reply = nam.post(&request, b"hello".to_vec());
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "Content-Length {wrong}: {}", reply.error_string());
        let json: serde_json::Value = reply.read_json().unwrap();
        assert_eq!(json["data"], "hello");
        assert_eq!(json["headers"]["Content-Length"], "5");
    }

    // No body: no length for a GET, whatever the caller set; 0 for a POST.
    let (recorder, heads) = recorder();
    let mut get = NetworkRequest::new(recorder.url("/get"));
    get.set_raw_header("Content-Length", "10");
    wait(&nam.get(&get));
    let head = next(&heads);
    assert!(!head.has_header("content-length"), "{}", head.text());
    let mut post = NetworkRequest::new(recorder.url("/post"));
    post.set_raw_header("Content-Length", "10");
    wait(&nam.post(&post, Vec::new()));
    let head = next(&heads);
    assert_eq!(head.header("content-length").as_deref(), Some("0"), "{}", head.text());
}

#[test]
fn standard_verbs_go_out_in_upper_case_and_others_as_given() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (server, heads) = recorder();
    let nam = NetworkAccessManager::new();
    for (given, sent) in
        [("get", "GET"), ("Patch", "PATCH"), ("delete", "DELETE"), ("Frobnicate", "Frobnicate")]
    {
        let reply = nam.send_custom_request(&NetworkRequest::new(server.url("/v")), given, Vec::new());
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "{given}: {}", reply.error_string());
        assert_eq!(next(&heads).request_line(), format!("{sent} /v HTTP/1.1"));
        // The attribute keeps what the caller gave.
        assert_eq!(
            reply.attribute(Attribute::CustomVerbAttribute),
            Some(AttributeValue::Bytes(given.as_bytes().to_vec()))
        );
    }
}

#[test]
fn zstd_brotli_gzip_and_deflate_bodies_are_decoded() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    for (path, flag) in
        [("/zstd", "zstd"), ("/brotli", "brotli"), ("/gzip", "gzipped"), ("/deflate", "deflated")]
    {
        let reply = fetch(&nam, server.url(path));
        assert_eq!(reply.error(), NetworkError::NoError, "{path}: {}", reply.error_string());
        let json: serde_json::Value = reply.read_json().unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(json[flag], true, "{path}: {json}");
        assert_eq!(json["headers"]["Accept-Encoding"], "zstd, br, gzip, deflate");
    }
}

#[test]
fn a_caller_that_sets_accept_encoding_gets_the_body_as_sent() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let mut request = NetworkRequest::new(server.url("/gzip"));
    request.set_raw_header("Accept-Encoding", "gzip");
    let reply = nam.get(&request);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let length: usize =
        reply.raw_header("content-length").map(|v| String::from_utf8(v).unwrap().parse().unwrap()).unwrap();
    let body = reply.read_all();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip magic: the body was not decoded");
    assert_eq!(body.len(), length);
}
