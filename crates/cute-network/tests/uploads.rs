//! Streamed request bodies: from any reader, of known length or chunked, from files, sent
//! again when they can be rewound, and failing clearly when they cannot or break.

mod common;

use std::io::{self, Cursor, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::wait;
use cute_core::SignalSpy;
use cute_httpbin::Httpbin;
use cute_network::{
    Attribute, AttributeValue, KnownHeaders, NetworkAccessManager, NetworkError, NetworkReply,
    NetworkRequest, RequestBody,
};
use cute_testkit::Watchdog;

/// Text of `len` bytes that httpbin echoes back verbatim in `data`.
fn text(len: usize) -> Vec<u8> {
    b"0123456789abcdefghijklmnopqrstuvwxyz\n".iter().copied().cycle().take(len).collect()
}

fn json(reply: &NetworkReply) -> serde_json::Value {
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    reply.read_json().expect("httpbin answers JSON")
}

fn request(server: &Httpbin, path: &str) -> NetworkRequest {
    let mut request = NetworkRequest::new(server.url(path));
    request.set_header(KnownHeaders::ContentTypeHeader, "text/plain");
    request
}

/// A reader that hands out `data` in small reads, then fails or ends.
struct Trickle {
    data: Cursor<Vec<u8>>,
    fail_at_end: bool,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let max = buf.len().min(1000);
        let n = self.data.read(&mut buf[..max])?;
        if n == 0 && self.fail_at_end {
            return Err(io::Error::other("the disk went away"));
        }
        Ok(n)
    }
}

#[test]
fn a_reader_of_known_length_is_sent_whole_with_progress() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let body = text(300 * 1024);
    let len = body.len() as u64;
    let reply =
        nam.post(&request(&server, "/post"), RequestBody::from_reader(Cursor::new(body.clone()), Some(len)));
    let progress = SignalSpy::new(reply.upload_progress());
    wait(&reply);
    let json = json(&reply);
    assert_eq!(json["data"].as_str().unwrap().as_bytes(), body);
    assert_eq!(json["headers"]["Content-Length"], len.to_string());
    assert_eq!(progress.take_all().last(), Some(&(len, Some(len))));
}

#[test]
fn a_reader_of_unknown_length_goes_out_chunked_over_http1_and_in_frames_over_http2() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let body = text(200 * 1024 + 7);
    for http2 in [false, true] {
        let mut request = request(&server, "/post");
        request.set_attribute(Attribute::Http2DirectAttribute, AttributeValue::Bool(http2)).unwrap();
        let source = Trickle { data: Cursor::new(body.clone()), fail_at_end: false };
        let reply = nam.post(&request, RequestBody::from_reader(source, None));
        let progress = SignalSpy::new(reply.upload_progress());
        wait(&reply);
        let json = json(&reply);
        assert_eq!(json["data"].as_str().unwrap().as_bytes(), body, "HTTP/2: {http2}");
        if !http2 {
            assert_eq!(json["headers"]["Transfer-Encoding"], "chunked");
        }
        assert_eq!(progress.take_all().last(), Some(&(body.len() as u64, None)), "HTTP/2: {http2}");
    }
}

fn temp_path(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("cute-uploads-{tag}-{}-{n}", std::process::id()))
}

/// Removes a file when dropped, even if the test fails.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_file_is_put_and_sent_again_after_a_307() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let file = TempFile(temp_path("put"));
    let body = text(150 * 1024);
    std::fs::write(&file.0, &body).unwrap();
    let reply = nam.put(&request(&server, "/put"), RequestBody::from_file(&file.0).unwrap());
    wait(&reply);
    assert_eq!(json(&reply)["data"].as_str().unwrap().as_bytes(), body);

    // A 307 keeps the verb and the body: the file is read again from its start.
    let to = format!("/redirect-to?url={}&status_code=307", server.url("/post"));
    let reply = nam.post(&request(&server, &to), RequestBody::from_file(&file.0).unwrap());
    wait(&reply);
    assert_eq!(json(&reply)["data"].as_str().unwrap().as_bytes(), body);
    assert!(reply.url().unwrap().path().ends_with("/post"));
}

#[test]
fn a_plain_reader_that_must_be_sent_again_fails_with_content_resend_error() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let to = format!("/redirect-to?url={}&status_code=308", server.url("/post"));
    let body = text(10 * 1024);
    let reply = nam.post(&request(&server, &to), RequestBody::from_reader(Cursor::new(body.clone()), None));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::ContentReSendError, "{}", reply.error_string());
    assert!(reply.error_string().contains("cannot be read a second time"), "{}", reply.error_string());

    // The same through a seekable source goes.
    let reply = nam.post(&request(&server, &to), RequestBody::from_seekable(Cursor::new(body.clone()), None));
    wait(&reply);
    assert_eq!(json(&reply)["data"].as_str().unwrap().as_bytes(), body);
}

#[test]
fn a_source_that_breaks_or_falls_short_of_its_length_fails_the_reply_with_its_reason() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let broken = Trickle { data: Cursor::new(text(100 * 1024)), fail_at_end: true };
    let reply = nam.post(&request(&server, "/post"), RequestBody::from_reader(broken, None));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::UnknownContentError, "{}", reply.error_string());
    assert!(reply.error_string().contains("the disk went away"), "{}", reply.error_string());

    let short = RequestBody::from_reader(Cursor::new(text(10)), Some(1000));
    let reply = nam.post(&request(&server, "/post"), short);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::UnknownContentError, "{}", reply.error_string());
    assert!(
        reply.error_string().contains("after 10 of its announced 1000 bytes"),
        "{}",
        reply.error_string()
    );

    // A longer one is read up to its announced length only.
    let long = RequestBody::from_reader(Cursor::new(text(2000)), Some(1000));
    let reply = nam.post(&request(&server, "/post"), long);
    wait(&reply);
    assert_eq!(json(&reply)["data"].as_str().unwrap().as_bytes(), text(1000));
}

#[test]
fn a_stream_put_to_a_file_url_writes_the_file() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let nam = NetworkAccessManager::new();
    let file = TempFile(temp_path("file-put"));
    let body = text(200 * 1024 + 3);
    let url = cute_network::Url::from_file_path(&file.0).unwrap();
    let source = Trickle { data: Cursor::new(body.clone()), fail_at_end: false };
    let reply = nam.put(&NetworkRequest::new(url), RequestBody::from_reader(source, None));
    let progress = SignalSpy::new(reply.upload_progress());
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(std::fs::read(&file.0).unwrap(), body);
    assert_eq!(progress.take_all().last(), Some(&(body.len() as u64, Some(body.len() as u64))));
}
