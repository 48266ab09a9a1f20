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
