//! Redirects: Qt 6's default policy and the others, method rewriting, hop limits, cookies.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::{fetch, wait};
use cute_core::SignalSpy;
use cute_httpbin::Httpbin;
use cute_network::{
    Attribute, AttributeValue, KnownHeaders, NetworkAccessManager, NetworkError, NetworkRequest,
    RedirectPolicy, Url,
};
use cute_testkit::Watchdog;

fn redirect_to(server: &Httpbin, target: &str, status: u16) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("url", target)
        .append_pair("status_code", &status.to_string())
        .finish();
    server.url(&format!("/redirect-to?{query}"))
}

#[test]
fn follows_redirect_chains_and_reports_each_hop() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(server.url("/redirect/3")));
    let hops = SignalSpy::new(reply.redirected());
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(hops.count(), 3);
    assert_eq!(reply.url().unwrap().path(), "/get");
    assert_eq!(hops.take_all().last().map(|u| u.path().to_owned()).as_deref(), Some("/get"));
    let json: serde_json::Value = reply.read_json().unwrap();
    assert!(json["url"].as_str().unwrap().ends_with("/get"));
}

#[test]
fn absolute_redirects_are_followed_too() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = fetch(&nam, server.url("/absolute-redirect/2"));
    assert_eq!(reply.error(), NetworkError::NoError);
    assert_eq!(reply.url().unwrap().path(), "/get");
}

#[test]
fn manual_policy_hands_back_the_3xx_with_its_target() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let mut req = NetworkRequest::new(server.url("/redirect/1"));
    req.set_redirect_policy(RedirectPolicy::ManualRedirectPolicy);
    let reply = nam.get(&req);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError);
    assert_eq!(reply.status_code(), Some(302));
    let expected = Url::parse(&server.url("/get")).unwrap();
    assert_eq!(reply.attribute(Attribute::RedirectionTargetAttribute), Some(AttributeValue::Url(expected)));
    assert_eq!(reply.header(KnownHeaders::LocationHeader).as_deref(), Some("/get"));
}

#[test]
fn too_many_redirects() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let mut req = NetworkRequest::new(server.url("/redirect/5"));
    req.set_maximum_redirects_allowed(2);
    let reply = nam.get(&req);
    let hops = SignalSpy::new(reply.redirected());
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::TooManyRedirectsError);
    assert_eq!(reply.error_string(), "Too many redirects");
    assert_eq!(hops.count(), 2);
    // The reply keeps the last 3xx, as in Qt.
    assert_eq!(reply.status_code(), Some(302));
    assert!(reply.has_raw_header("location"), "{:?}", reply.raw_header_list());
}

#[test]
fn post_becomes_get_on_302_and_303_but_307_and_308_resend_the_body() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let mut results = Vec::new();
    for status in [301, 302, 303, 307, 308] {
        let mut req = NetworkRequest::new(redirect_to(&server, "/anything", status));
        req.set_header(KnownHeaders::ContentTypeHeader, "application/x-www-form-urlencoded");
        let reply = nam.post(&req, b"name=Peter&age=34".to_vec());
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "{status}: {}", reply.error_string());
        let json: serde_json::Value = reply.read_json().unwrap();
        results.push((status, json["method"].as_str().unwrap().to_owned(), json["form"]["name"].clone()));
    }
    assert_eq!(results[0].1, "GET");
    assert_eq!(results[1].1, "GET");
    assert_eq!(results[2].1, "GET");
    assert_eq!(results[2].2, serde_json::Value::Null, "the body is dropped with the method");
    for (status, method, name) in &results[3..] {
        assert_eq!(method, "POST", "{status}");
        assert_eq!(name, "Peter", "{status} resends the body");
    }
}

#[test]
fn same_origin_policy_refuses_another_origin() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let other = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    nam.set_redirect_policy(RedirectPolicy::SameOriginRedirectPolicy);
    let reply = fetch(&nam, redirect_to(&server, &other.url("/get"), 302));
    assert_eq!(reply.error(), NetworkError::InsecureRedirectError);
    assert_eq!(reply.status_code(), Some(302), "the refused 3xx stays on the reply");
    assert_eq!(reply.header(KnownHeaders::LocationHeader), Some(other.url("/get")));
    let same = fetch(&nam, redirect_to(&server, &server.url("/get"), 302));
    assert_eq!(same.error(), NetworkError::NoError);
}

#[test]
fn user_verified_policy_follows_only_when_allowed() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let mut req = NetworkRequest::new(server.url("/redirect/2"));
    req.set_redirect_policy(RedirectPolicy::UserVerifiedRedirectPolicy);
    let allowed = nam.get(&req);
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let (s, r) = (seen.clone(), allowed.clone());
    allowed.redirected().connect(move |url| {
        s.borrow_mut().push(url.path().to_owned());
        // While `redirected` is emitted, the reply's URL is the target (as for any policy).
        assert_eq!(r.url().as_ref(), Some(url));
        r.redirect_allowed();
    });
    wait(&allowed);
    assert_eq!(allowed.error(), NetworkError::NoError);
    assert_eq!(*seen.borrow(), ["/relative-redirect/1", "/get"]);

    let refused = nam.get(&req);
    wait(&refused);
    assert_eq!(refused.error(), NetworkError::NoError);
    assert_eq!(refused.status_code(), Some(302), "not allowed: the 3xx is the answer");
}

#[test]
fn redirect_to_a_non_http_scheme_is_refused() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = fetch(&nam, redirect_to(&server, "file:///etc/passwd", 302));
    assert_eq!(reply.error(), NetworkError::ProtocolUnknownError);
}

#[test]
fn cookies_set_by_a_redirecting_response_are_sent_to_its_target() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let reply = fetch(&nam, server.url("/cookies/set?flavour=oatmeal"));
    assert_eq!(reply.error(), NetworkError::NoError);
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["cookies"]["flavour"], "oatmeal");
}

#[test]
fn caller_credentials_do_not_follow_a_cross_origin_redirect() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let other = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let mut req = NetworkRequest::new(redirect_to(&server, &other.url("/headers"), 302));
    req.set_raw_header("Authorization", "Basic dXNlcjpwYXNz");
    req.set_raw_header("Cookie", "session=secret");
    req.set_raw_header("X-Kept", "yes");
    let reply = nam.get(&req);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError);
    let json: serde_json::Value = reply.read_json().unwrap();
    let headers = &json["headers"];
    assert_eq!(headers["X-Kept"], "yes");
    assert!(headers.get("Authorization").is_none(), "{headers}");
    assert!(headers.get("Cookie").is_none(), "{headers}");

    // Same origin: they are kept.
    let mut req = NetworkRequest::new(redirect_to(&server, "/headers", 302));
    req.set_raw_header("Authorization", "Basic dXNlcjpwYXNz");
    let reply = nam.get(&req);
    wait(&reply);
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["headers"]["Authorization"], "Basic dXNlcjpwYXNz");
}

#[test]
fn cookies_survive_setting_changes_and_clear_access_cache() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    let set = fetch(&nam, server.url("/cookies/set?flavour=oatmeal"));
    assert_eq!(set.error(), NetworkError::NoError, "{}", set.error_string());
    type Change = Box<dyn Fn(&NetworkAccessManager)>;
    let changes: [(&str, Change); 6] = [
        ("set_connect_timeout", Box::new(|n| n.set_connect_timeout(Duration::from_secs(7)))),
        ("set_max_connections_per_host", Box::new(|n| n.set_max_connections_per_host(3).unwrap())),
        ("set_max_worker_threads", Box::new(|n| n.set_max_worker_threads(5).unwrap())),
        (
            "set_proxy there and back",
            Box::new(|n| {
                n.set_proxy(Some(cute_network::Proxy::http("http://127.0.0.1:9").unwrap()));
                n.set_proxy(None);
            }),
        ),
        ("set_ca_certificates", Box::new(|n| n.set_ca_certificates(b"").unwrap())),
        // Qt's clearAccessCache forgets credentials and connections, not cookies.
        ("clear_access_cache", Box::new(NetworkAccessManager::clear_access_cache)),
    ];
    for (what, change) in &changes {
        change(&nam);
        let reply = fetch(&nam, server.url("/cookies"));
        assert_eq!(reply.error(), NetworkError::NoError, "after {what}: {}", reply.error_string());
        let json: serde_json::Value = reply.read_json().unwrap();
        assert_eq!(json["cookies"]["flavour"], "oatmeal", "the cookie is gone after {what}: {json}");
    }
}

#[test]
fn every_verb_but_head_becomes_get_on_301_302_303_as_in_qt() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    for status in [301, 302, 303] {
        let mut req = NetworkRequest::new(redirect_to(&server, "/anything", status));
        req.set_header(KnownHeaders::ContentTypeHeader, "text/plain");
        for (verb, reply) in [
            ("PUT", nam.put(&req, b"payload".to_vec())),
            ("DELETE", nam.delete_resource(&req)),
            ("PATCH", nam.send_custom_request(&req, "PATCH", b"payload".to_vec())),
        ] {
            wait(&reply);
            assert_eq!(reply.error(), NetworkError::NoError, "{verb} {status}: {}", reply.error_string());
            let json: serde_json::Value = reply.read_json().unwrap();
            assert_eq!(json["method"], "GET", "{verb} on {status}");
            assert_eq!(json["data"], "", "{verb} on {status}: the body is dropped with the method");
            assert!(json["headers"].get("Content-Type").is_none(), "{verb} on {status}: {json}");
        }
        // HEAD stays HEAD: /get answers it with headers only.
        let head = nam.head(&NetworkRequest::new(redirect_to(&server, "/get", status)));
        wait(&head);
        assert_eq!(head.error(), NetworkError::NoError, "HEAD {status}: {}", head.error_string());
        assert_eq!(head.url().unwrap().path(), "/get");
        assert!(head.read_all().is_empty(), "HEAD became GET on {status}");
        assert!(head.has_raw_header("content-length"), "HEAD on {status}");
    }
}

#[test]
fn an_empty_location_and_305_are_not_followed() {
    use cute_testkit::{Responder, always, response};
    let _dog = Watchdog::new(Duration::from_secs(60));
    let nam = NetworkAccessManager::new();
    for (status, location) in [
        ("302 Found", "Location: "),
        ("301 Moved Permanently", "Location:    "),
        ("305 Use Proxy", "Location: http://127.0.0.1:9/"),
    ] {
        let server = Responder::start(always(response(status, &[location], b"the 3xx's body")));
        let reply = nam.get(&NetworkRequest::new(server.url("/")));
        let hops = SignalSpy::new(reply.redirected());
        wait(&reply);
        // The 3xx is the final response: no error, its body readable.
        assert_eq!(reply.error(), NetworkError::NoError, "{status}: {}", reply.error_string());
        assert_eq!(hops.count(), 0, "{status}");
        assert_eq!(reply.read_all(), b"the 3xx's body", "{status}");
        assert_eq!(server.accepted(), 1, "{status}");
    }
}
