//! The manager's disk cache against cute-httpbin: fresh responses answered from it,
//! stale ones revalidated (a 304 answering from it), each `CacheLoadControl`, what is not
//! stored, `Vary`, and a cache that cannot write.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::wait;
use cute_core::SignalSpy;
use cute_httpbin::Httpbin;
use cute_network::{
    Attribute, CacheLoadControl, NetworkAccessManager, NetworkDiskCache, NetworkError, NetworkReply,
    NetworkRequest, Url,
};
use cute_testkit::Watchdog;

/// A fresh cache directory for one test, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("cute-cache-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

fn manager(dir: &Dir) -> NetworkAccessManager {
    let nam = NetworkAccessManager::new();
    nam.set_cache(Some(NetworkDiskCache::new(&dir.0)));
    nam
}

fn send(nam: &NetworkAccessManager, request: &NetworkRequest) -> NetworkReply {
    let reply = nam.get(request);
    wait(&reply);
    reply
}

fn get(nam: &NetworkAccessManager, url: &str) -> NetworkReply {
    send(nam, &NetworkRequest::new(url))
}

fn with_control(url: &str, control: CacheLoadControl) -> NetworkRequest {
    let mut request = NetworkRequest::new(url);
    request.set_attribute(Attribute::CacheLoadControlAttribute, control.into()).unwrap();
    request
}

fn from_cache(reply: &NetworkReply) -> bool {
    reply.attribute(Attribute::SourceIsFromCacheAttribute).and_then(|v| v.as_bool()).unwrap()
}

fn ok(reply: &NetworkReply) -> Vec<u8> {
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.status_code(), Some(200));
    reply.read_all()
}

/// The request headers the server saw, from `/get`'s answer.
fn headers_seen(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice::<serde_json::Value>(body).expect("JSON")["headers"].clone()
}

#[test]
fn a_fresh_response_is_answered_from_the_cache_with_the_signals_of_a_download() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let dir = Dir::new("fresh");
    let nam = manager(&dir);
    let url = server.url("/cache/60");

    let first = get(&nam, &url);
    assert!(!from_cache(&first));
    let body = ok(&first);
    assert_eq!(server.requests_served(), 1);
    assert!(nam.cache().unwrap().cache_size() > body.len() as u64, "stored");

    let reply = nam.get(&NetworkRequest::new(url.as_str()));
    let meta = SignalSpy::new(reply.meta_data_changed());
    let ready = SignalSpy::new(reply.ready_read());
    let progress = SignalSpy::new(reply.download_progress());
    let finished = SignalSpy::new(reply.finished());
    assert!(!reply.is_finished(), "answered from the loop, never inside get()");
    assert!(finished.wait(Duration::from_secs(10)));
    assert_eq!((meta.count(), ready.count(), finished.count()), (1, 1, 1));
    let n = body.len() as u64;
    assert_eq!(progress.take_all().last(), Some(&(n, Some(n))));
    assert!(from_cache(&reply));
    assert_eq!(reply.raw_header("cache-control").as_deref(), Some(&b"public, max-age=60"[..]));
    assert_eq!(reply.reason_phrase(), "OK");
    assert_eq!(ok(&reply), body, "the stored body");
    assert_eq!(server.requests_served(), 1, "the server was not asked again");

    // A HEAD is answered from the GET's entry too, without a body.
    let head = nam.head(&NetworkRequest::new(url.as_str()));
    wait(&head);
    assert!(from_cache(&head));
    assert_eq!(head.status_code(), Some(200));
    assert!(head.read_all().is_empty());
    assert_eq!(server.requests_served(), 1);
}

#[test]
fn a_stale_response_is_revalidated_and_a_304_answers_from_the_cache() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let dir = Dir::new("revalidate");
    let nam = manager(&dir);

    // An ETag and no lifetime: stale at once, so always revalidated.
    let url = server.url("/etag/v1");
    let first = ok(&get(&nam, &url));
    assert!(headers_seen(&first).get("If-None-Match").is_none());
    let second = get(&nam, &url);
    assert!(from_cache(&second), "the server's 304 confirmed the cached copy");
    assert_eq!(second.status_code(), Some(200), "the cached status, not the 304");
    assert_eq!(ok(&second), first);
    assert_eq!(server.requests_served(), 2, "asked, and answered 304");

    // `/cache` sends Last-Modified (now) and an ETag; the 304 came to a request that
    // carried both validators (httpbin answers 304 to either).
    let url = server.url("/cache");
    let first = ok(&get(&nam, &url));
    let second = get(&nam, &url);
    assert!(from_cache(&second));
    assert_eq!(ok(&second), first);
    assert_eq!(server.requests_served(), 4);

    // A resource that changed answers 200: the new response replaces the entry.
    let url = server.url("/response-headers?ETag=%22x%22&Cache-Control=no-cache&n=1");
    let first = get(&nam, &url);
    assert!(!from_cache(&first));
    let again = get(&nam, &url);
    assert!(!from_cache(&again), "/response-headers never answers 304");
    assert_eq!(server.requests_served(), 6);
}

#[test]
fn each_cache_load_control_does_what_qt_documents() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let dir = Dir::new("controls");
    let nam = manager(&dir);
    let fresh = server.url("/cache/60");
    ok(&get(&nam, &fresh));
    assert_eq!(server.requests_served(), 1);

    // AlwaysNetwork: the network, telling caches on the way not to answer; still stored.
    let reply = send(&nam, &with_control(&fresh, CacheLoadControl::AlwaysNetwork));
    assert!(!from_cache(&reply));
    let seen = headers_seen(&ok(&reply));
    assert_eq!(
        (seen["Cache-Control"].as_str(), seen["Pragma"].as_str()),
        (Some("no-cache"), Some("no-cache"))
    );
    assert_eq!(server.requests_served(), 2);

    // `/cache` is stale at once by Qt's heuristic (Last-Modified is now), with no explicit
    // lifetime: PreferCache answers from the cache, PreferNetwork revalidates.
    let heuristic = server.url("/cache");
    let body = ok(&get(&nam, &heuristic));
    assert_eq!(server.requests_served(), 3);
    let reply = send(&nam, &with_control(&heuristic, CacheLoadControl::PreferCache));
    assert!(from_cache(&reply));
    assert_eq!(ok(&reply), body);
    assert_eq!(server.requests_served(), 3, "PreferCache did not ask");
    let reply = send(&nam, &with_control(&heuristic, CacheLoadControl::PreferNetwork));
    assert!(from_cache(&reply), "answered by a 304");
    assert_eq!(server.requests_served(), 4, "PreferNetwork asked");

    // An expired response (`max-age=0`): PreferCache revalidates too.
    let expired = server.url("/cache/0");
    ok(&get(&nam, &expired));
    let reply = send(&nam, &with_control(&expired, CacheLoadControl::PreferCache));
    assert!(!from_cache(&reply), "/cache/0 answers 200 again");
    assert_eq!(server.requests_served(), 6);

    // AlwaysCache: whatever the age, and nothing is ever sent.
    let reply = send(&nam, &with_control(&expired, CacheLoadControl::AlwaysCache));
    assert!(from_cache(&reply));
    ok(&reply);
    let missing = server.url("/cache/61");
    let reply = send(&nam, &with_control(&missing, CacheLoadControl::AlwaysCache));
    assert_eq!(reply.error(), NetworkError::ContentNotFoundError);
    assert!(reply.error_string().starts_with("Error opening http://127.0.0.1:"), "{}", reply.error_string());
    let head = nam.head(&with_control(&fresh, CacheLoadControl::AlwaysCache));
    wait(&head);
    assert_eq!(head.error(), NetworkError::ContentNotFoundError, "Qt's cache answers only a GET");
    assert_eq!(server.requests_served(), 6, "AlwaysCache never sends");
}

#[test]
fn what_is_not_stored_and_what_removes_an_entry() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let dir = Dir::new("not-stored");
    let nam = manager(&dir);
    let fresh = server.url("/cache/60");

    // CacheSaveControlAttribute false: the response is not stored.
    let mut unsaved = NetworkRequest::new(fresh.as_str());
    unsaved.set_attribute(Attribute::CacheSaveControlAttribute, false.into()).unwrap();
    ok(&send(&nam, &unsaved));
    assert!(!from_cache(&get(&nam, &fresh)), "nothing was stored");
    assert!(from_cache(&get(&nam, &fresh)), "the plain request stored it");
    assert_eq!(server.requests_served(), 2);

    // Any other operation on the URL removes its entry (Qt's rule).
    let post = nam.post(&NetworkRequest::new(fresh.as_str()), b"x".to_vec());
    wait(&post);
    assert_eq!(post.error(), NetworkError::ContentOperationNotPermittedError, "405 from /cache/60");
    assert!(!from_cache(&get(&nam, &fresh)), "the POST removed the entry");
    assert_eq!(server.requests_served(), 4);

    // no-store is never stored.
    let no_store = server.url("/response-headers?Cache-Control=no-store%2C%20max-age%3D60");
    ok(&get(&nam, &no_store));
    assert!(!from_cache(&get(&nam, &no_store)));
    assert_eq!(server.requests_served(), 6);

    // Nor a request that says no-store.
    let url = server.url("/cache/60?n=2");
    let mut request = NetworkRequest::new(url.as_str());
    request.set_raw_header("Cache-Control", "no-store");
    ok(&send(&nam, &request));
    assert!(!from_cache(&get(&nam, &url)));
    assert_eq!(server.requests_served(), 8);

    // A request that says no-cache is not answered from a fresh entry (Qt would).
    let mut request = NetworkRequest::new(url.as_str());
    request.set_raw_header("Cache-Control", "no-cache");
    assert!(!from_cache(&send(&nam, &request)));
    assert_eq!(server.requests_served(), 9);
}

#[test]
fn a_response_that_varies_answers_only_its_own_variant() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let dir = Dir::new("vary");
    let nam = manager(&dir);
    let url = server.url("/response-headers?Cache-Control=max-age%3D60&Vary=Accept");
    let accepting = |value: &str| {
        let mut request = NetworkRequest::new(url.as_str());
        request.set_raw_header("Accept", value);
        request
    };
    ok(&send(&nam, &accepting("text/a")));
    assert!(from_cache(&send(&nam, &accepting("text/a"))));
    assert!(!from_cache(&send(&nam, &accepting("text/b"))), "another variant");
    assert_eq!(server.requests_served(), 2);

    // Accept-Encoding always counts: a body kept decoded never answers a request that
    // asked for the coded bytes.
    let plain = server.url("/cache/60");
    ok(&get(&nam, &plain));
    let mut coded = NetworkRequest::new(plain.as_str());
    coded.set_raw_header("Accept-Encoding", "gzip");
    assert!(!from_cache(&send(&nam, &coded)));
    assert_eq!(server.requests_served(), 4);
}

#[test]
fn a_cache_that_cannot_write_leaves_requests_to_the_network() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    // A file where the directory should be: nothing can be written under it.
    let dir = Dir::new("blocked");
    std::fs::write(&dir.0, b"not a directory").unwrap();
    let nam = manager(&dir);
    let url = server.url("/cache/60");
    for _ in 0..2 {
        let reply = get(&nam, &url);
        assert!(!from_cache(&reply));
        ok(&reply);
    }
    assert_eq!(server.requests_served(), 2);
    assert_eq!(nam.cache().unwrap().cache_size(), 0);

    // A cache whose maximum is smaller than the body stores nothing either.
    let small = Dir::new("small");
    let nam = manager(&small);
    nam.cache().unwrap().set_maximum_cache_size(64);
    ok(&get(&nam, &url));
    assert!(!from_cache(&get(&nam, &url)));
    assert_eq!(nam.cache().unwrap().cache_size(), 0);
}

#[test]
fn a_reply_from_the_cache_finishes_once_when_aborted_and_cached_bodies_survive_a_new_manager() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::start().unwrap();
    let dir = Dir::new("abort");
    let nam = manager(&dir);
    let url = server.url("/cache/60");
    let body = ok(&get(&nam, &url));

    let reply = nam.get(&NetworkRequest::new(url.as_str()));
    let finished = SignalSpy::new(reply.finished());
    let meta = SignalSpy::new(reply.meta_data_changed());
    reply.abort();
    assert_eq!(finished.count(), 1);
    assert_eq!(reply.error(), NetworkError::OperationCanceledError);
    // The loop turns; the cache's answer must not come after the abort.
    let later = get(&nam, &url);
    assert!(from_cache(&later));
    assert_eq!((finished.count(), meta.count()), (1, 0));

    // The entry is on disk: a new manager (a restart) is answered from it.
    drop(nam);
    let restarted = manager(&dir);
    let reply = get(&restarted, &url);
    assert!(from_cache(&reply));
    assert_eq!(ok(&reply), body);
    assert_eq!(reply.url(), Some(Url::parse(&url).unwrap()));
    assert_eq!(server.requests_served(), 1);
}
