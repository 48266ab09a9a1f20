//! Query strings and form bodies built as Qt builds them, read back by a real server.

mod common;

use std::time::Duration;

use common::wait;
use cute_httpbin::Httpbin;
use cute_network::{KnownHeaders, NetworkAccessManager, NetworkError, NetworkRequest, UrlQuery};
use cute_testkit::Watchdog;

#[test]
fn a_form_built_with_url_query_is_read_by_the_server_as_qt_sends_it() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let query = UrlQuery::from([("name", "Peter Pan"), ("sum", "1+1=2"), ("city", "Zürich & Co")]);
    let mut request = NetworkRequest::new(server.url("/post"));
    request.set_header(KnownHeaders::ContentTypeHeader, "application/x-www-form-urlencoded");
    for (body, sum) in [(query.to_string(), "1 1=2"), (query.to_form_encoded(), "1+1=2")] {
        let reply = nam.post(&request, body.clone());
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
        let json: serde_json::Value = reply.read_json().unwrap();
        assert_eq!(json["form"]["name"], "Peter Pan", "{body}");
        assert_eq!(json["form"]["city"], "Zürich & Co", "{body}");
        // Qt leaves `+` as written, and a form decoder reads it as a space.
        assert_eq!(json["form"]["sum"], sum, "{body}");
    }
}

#[test]
fn a_query_set_on_a_request_reaches_the_server() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let mut request = NetworkRequest::new(server.url("/get?old=1"));
    request.set_query(&UrlQuery::from([("q", "café au lait"), ("page", "2")]));
    let reply = nam.get(&request);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["args"], serde_json::json!({"q": "café au lait", "page": "2"}));
}

#[test]
fn a_multipart_form_with_a_file_part_streamed_from_disk_reaches_the_server() {
    use cute_network::{HttpMultiPart, HttpPart, MultiPartType, RequestBody};
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let path = std::env::temp_dir().join(format!("cute-forms-{}.txt", std::process::id()));
    let content = "line one\nline two\n".repeat(10_000);
    std::fs::write(&path, &content).unwrap();

    let mut multi = HttpMultiPart::new(MultiPartType::FormDataType);
    let mut text = HttpPart::new();
    text.set_header(KnownHeaders::ContentDispositionHeader, r#"form-data; name="text""#);
    text.set_body("my text");
    multi.append(text);
    let mut file = HttpPart::new();
    file.set_header(KnownHeaders::ContentTypeHeader, "text/plain");
    file.set_header(
        KnownHeaders::ContentDispositionHeader,
        r#"form-data; name="file"; filename="notes.txt""#,
    );
    file.set_body_device(RequestBody::from_file(&path).unwrap());
    multi.append(file);
    let boundary = String::from_utf8(multi.boundary().to_vec()).unwrap();

    // A 307 first: the multipart body, file included, is sent twice.
    let to = format!("/redirect-to?url={}&status_code=307", server.url("/post"));
    let reply = nam.post(&NetworkRequest::new(server.url(&to)), multi);
    wait(&reply);
    let _ = std::fs::remove_file(&path);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let sent = reply.request();
    assert_eq!(
        sent.header(KnownHeaders::ContentTypeHeader).as_deref(),
        Some(format!("multipart/form-data; boundary=\"{boundary}\"").as_str())
    );
    assert_eq!(sent.raw_header("mime-version").as_deref(), Some(&b"1.0"[..]));
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["form"]["text"], "my text");
    assert_eq!(json["files"]["file"].as_str().map(str::len), Some(content.len()));
    assert_eq!(json["files"]["file"], content.as_str());
    assert_eq!(json["headers"]["Mime-Version"], "1.0");
}
