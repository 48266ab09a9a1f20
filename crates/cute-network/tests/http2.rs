//! HTTP/2, as Qt 6 has it: negotiated by ALPN over https (cute-httpbin's TLS port), by
//! prior knowledge with `Http2DirectAttribute` (h2c), one multiplexed connection per
//! origin, the server's stream limit, refused streams and GOAWAY, an abort resetting one
//! stream, flow control holding a slow reader, and the reply model unchanged on top.
//!
//! The protocol-level faults are served by test servers built on the `h2` crate's server
//! side, which lets a test refuse a stream, send GOAWAY or watch a reset.

mod common;

use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{run_until, wait};
use cute_httpbin::Httpbin;
use cute_network::{
    Attribute, AttributeValue, Error, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest,
};
use cute_testkit::{Responder, Watchdog, always, response};

/// A request for `url` with HTTP/2 by prior knowledge.
fn direct(url: impl Into<cute_network::RequestUrl>) -> NetworkRequest {
    let mut request = NetworkRequest::new(url);
    request.set_attribute(Attribute::Http2DirectAttribute, AttributeValue::Bool(true)).unwrap();
    request
}

fn http2_used(reply: &NetworkReply) -> bool {
    reply.attribute(Attribute::Http2WasUsedAttribute) == Some(AttributeValue::Bool(true))
}

fn assert_ok(reply: &NetworkReply) {
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.status_code(), Some(200), "{}", reply.error_string());
}

// ---------------------------------------------------------------------------------------
// A scriptable HTTP/2 server (clear text, prior knowledge) on the h2 crate
// ---------------------------------------------------------------------------------------

/// One stream as the server received it.
struct Stream {
    request: hyper::Request<h2::RecvStream>,
    respond: h2::server::SendResponse<Bytes>,
    /// Its order among all the streams the server accepted (0 first).
    index: usize,
}

impl Stream {
    fn path(&self) -> String {
        self.request.uri().path().to_owned()
    }

    /// Answers 200 with `body`.
    fn reply(mut self, body: impl Into<Bytes>) {
        let body = body.into();
        let head = hyper::Response::builder().status(200).body(()).unwrap();
        if let Ok(mut send) = self.respond.send_response(head, body.is_empty())
            && !body.is_empty()
        {
            let _ = send.send_data(body, true);
        }
    }
}

type Handler = Arc<dyn Fn(Stream) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// How the server treats its connections.
#[derive(Clone, Copy, Default)]
struct Settings {
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`.
    max_streams: Option<u32>,
    /// On the first connection, after accepting this many streams: GOAWAY (`NO_ERROR`),
    /// refusing the streams after them.
    go_away_after: Option<usize>,
}

struct H2Server {
    port: u16,
    connections: Arc<AtomicUsize>,
    streams: Arc<AtomicUsize>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl H2Server {
    fn start<F, Fut>(settings: Settings, handler: F) -> H2Server
    where
        F: Fn(Stream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |stream| Box::pin(handler(stream)));
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let streams = Arc::new(AtomicUsize::new(0));
        let (c, s) = (connections.clone(), streams.clone());
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let nth = c.fetch_add(1, Ordering::SeqCst);
                let (handler, streams) = (handler.clone(), s.clone());
                tokio::spawn(async move {
                    let mut builder = h2::server::Builder::new();
                    if let Some(max) = settings.max_streams {
                        builder.max_concurrent_streams(max);
                    }
                    let Ok(mut connection) = builder.handshake::<_, Bytes>(tcp).await else { return };
                    let mut accepted = 0;
                    while let Some(Ok((request, respond))) = connection.accept().await {
                        let index = streams.fetch_add(1, Ordering::SeqCst);
                        tokio::spawn(handler(Stream { request, respond, index }));
                        accepted += 1;
                        if nth == 0 && settings.go_away_after == Some(accepted) {
                            connection.abrupt_shutdown(h2::Reason::NO_ERROR);
                        }
                    }
                });
            }
        });
        H2Server { port, connections, streams, runtime: Some(runtime) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn streams(&self) -> usize {
        self.streams.load(Ordering::SeqCst)
    }
}

impl Drop for H2Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Negotiation (cute-httpbin over TLS) and the reply model on HTTP/2
// ---------------------------------------------------------------------------------------

/// A manager trusting `server`'s certificate.
fn trusting(server: &Httpbin) -> NetworkAccessManager {
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(server.certificate_pem().unwrap().as_bytes()).unwrap();
    nam
}

#[test]
fn https_negotiates_http2_by_alpn_and_says_so() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::builder().tls(true).start().unwrap();
    let nam = trusting(&server);
    let url = server.tls_url("/get?x=1").unwrap();
    let reply = nam.get(&NetworkRequest::new(url.as_str()));
    wait(&reply);
    assert_ok(&reply);
    assert!(http2_used(&reply));
    assert_eq!(reply.attribute(Attribute::ConnectionEncryptedAttribute), Some(AttributeValue::Bool(true)));
    // HTTP/2 has no reason phrase: the standard one stands in.
    assert_eq!(reply.reason_phrase(), "OK");
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["url"], url);
    assert_eq!(json["args"]["x"], "1");
}

#[test]
fn http2_disallowed_or_plain_http_stays_on_http1() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::builder().tls(true).start().unwrap();
    let nam = trusting(&server);
    let mut request = NetworkRequest::new(server.tls_url("/get").unwrap());
    assert_eq!(request.attribute(Attribute::Http2AllowedAttribute), Some(AttributeValue::Bool(true)));
    request.set_attribute(Attribute::Http2AllowedAttribute, AttributeValue::Bool(false)).unwrap();
    let reply = nam.get(&request);
    wait(&reply);
    assert_ok(&reply);
    assert!(!http2_used(&reply));
    // Plain http: no upgrade, HTTP/1.1 (the server would speak h2c if asked directly).
    let reply = nam.get(&NetworkRequest::new(server.url("/get")));
    wait(&reply);
    assert_ok(&reply);
    assert!(!http2_used(&reply));
    let reply = nam.get(&direct(server.url("/get")));
    wait(&reply);
    assert_ok(&reply);
    assert!(http2_used(&reply), "h2c by prior knowledge");
}

#[test]
fn the_reply_model_is_the_same_over_http2() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = Httpbin::builder().tls(true).start().unwrap();
    let nam = trusting(&server);
    let tls = |path: &str| server.tls_url(path).unwrap();

    // A form POST, read back as JSON.
    let mut request = NetworkRequest::new(tls("/post"));
    request.set_header(cute_network::KnownHeaders::ContentTypeHeader, "application/x-www-form-urlencoded");
    let reply = nam.post(&request, b"user=cute&lang=rust".to_vec());
    wait(&reply);
    assert_ok(&reply);
    assert!(http2_used(&reply));
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["form"]["user"], "cute");

    // A large upload, which goes through HTTP/2's flow control.
    let big = vec![b'x'; 3 * 1024 * 1024];
    let mut request = NetworkRequest::new(tls("/anything"));
    request.set_header(cute_network::KnownHeaders::ContentTypeHeader, "text/plain");
    let reply = nam.put(&request, big.clone());
    let uploaded = common::run_until(Duration::from_secs(20), || reply.is_finished());
    assert!(uploaded);
    assert_ok(&reply);
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["data"].as_str().map(str::len), Some(big.len()));

    // Compressed bodies are decoded.
    let reply = nam.get(&NetworkRequest::new(tls("/gzip")));
    wait(&reply);
    assert_ok(&reply);
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["gzipped"], true);

    // Authentication asks, then succeeds on the same connection.
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    nam.authentication_required().connect(move |(_reply, auth)| {
        a.fetch_add(1, Ordering::SeqCst);
        auth.set_user("user");
        auth.set_password("passwd");
    });
    let reply = nam.get(&NetworkRequest::new(tls("/basic-auth/user/passwd")));
    wait(&reply);
    assert_ok(&reply);
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    // An HTTP error keeps its body readable.
    let reply = nam.get(&NetworkRequest::new(tls("/status/404")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::ContentNotFoundError);
    assert!(http2_used(&reply));

    // A redirect from HTTP/1.1 (clear text) to HTTP/2 (https) is followed.
    let target = tls("/get");
    let reply = nam.get(&NetworkRequest::new(server.url(&format!("/redirect-to?url={target}"))));
    wait(&reply);
    assert_ok(&reply);
    assert!(http2_used(&reply));
    assert_eq!(reply.url().map(|u| u.to_string()), Some(target));

    // All the https requests shared one connection.
    assert_eq!(server.connections_accepted(), 2, "one TLS connection and one clear-text one");
}

#[test]
fn request_attributes_are_checked() {
    let mut request = NetworkRequest::new("https://example.test/");
    assert_eq!(request.attribute(Attribute::Http2DirectAttribute), Some(AttributeValue::Bool(false)));
    assert_eq!(request.attribute(Attribute::RedirectPolicyAttribute), None);
    for (attribute, value) in [
        (Attribute::Http2AllowedAttribute, AttributeValue::Int(1)),
        (Attribute::Http2WasUsedAttribute, AttributeValue::Bool(true)),
        (Attribute::HttpStatusCodeAttribute, AttributeValue::Int(200)),
        (Attribute::RedirectPolicyAttribute, AttributeValue::Int(9)),
    ] {
        let set = request.set_attribute(attribute, value.clone());
        assert!(matches!(set, Err(Error::InvalidSetting(_))), "{attribute:?} = {value:?}: {set:?}");
    }
    request.set_attribute(Attribute::RedirectPolicyAttribute, AttributeValue::Int(0)).unwrap();
    assert_eq!(request.redirect_policy(), Some(cute_network::RedirectPolicy::ManualRedirectPolicy));
}

// ---------------------------------------------------------------------------------------
// One connection, many streams
// ---------------------------------------------------------------------------------------

#[test]
fn requests_to_one_origin_multiplex_on_one_connection() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    const N: usize = 20;
    // Each stream is answered only once all N are open at once: far more than HTTP/1.1's
    // six connections could carry.
    let open = Arc::new(AtomicUsize::new(0));
    let o = open.clone();
    let server = H2Server::start(Settings::default(), move |stream| {
        let open = o.clone();
        async move {
            open.fetch_add(1, Ordering::SeqCst);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while open.load(Ordering::SeqCst) < N && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let all = open.load(Ordering::SeqCst) >= N;
            stream.reply(if all { "together" } else { "alone" });
        }
    });
    let nam = NetworkAccessManager::new();
    let replies: Vec<NetworkReply> = (0..N).map(|i| nam.get(&direct(server.url(&format!("/{i}"))))).collect();
    assert!(run_until(Duration::from_secs(30), || replies.iter().all(NetworkReply::is_finished)));
    for reply in &replies {
        assert_ok(reply);
        assert!(http2_used(reply));
        assert_eq!(reply.read_all(), b"together");
    }
    assert_eq!(server.connections(), 1);
}

#[test]
fn the_servers_stream_limit_queues_the_rest() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (open, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (o, p) = (open.clone(), peak.clone());
    let server = H2Server::start(Settings { max_streams: Some(2), ..Settings::default() }, move |stream| {
        let (open, peak) = (o.clone(), p.clone());
        async move {
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            open.fetch_sub(1, Ordering::SeqCst);
            stream.reply("ok");
        }
    });
    let nam = NetworkAccessManager::new();
    let replies: Vec<NetworkReply> =
        (0..10).map(|i| nam.get(&direct(server.url(&format!("/{i}"))))).collect();
    assert!(run_until(Duration::from_secs(30), || replies.iter().all(NetworkReply::is_finished)));
    for reply in &replies {
        assert_ok(reply);
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2, "the limit is used, and never passed");
    assert_eq!(server.connections(), 1);
}

// ---------------------------------------------------------------------------------------
// Refused streams, GOAWAY, aborts, flow control
// ---------------------------------------------------------------------------------------

#[test]
fn a_refused_stream_is_sent_again_even_for_a_post() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = H2Server::start(Settings::default(), |mut stream| async move {
        if stream.index == 0 {
            // RFC 9113 §8.7: the request was not processed.
            stream.respond.send_reset(h2::Reason::REFUSED_STREAM);
        } else {
            let method = stream.request.method().to_string();
            stream.reply(method);
        }
    });
    let nam = NetworkAccessManager::new();
    let reply = nam.post(&direct(server.url("/form")), b"a=1".to_vec());
    wait(&reply);
    assert_ok(&reply);
    assert_eq!(reply.read_all(), b"POST");
    assert_eq!(server.streams(), 2);
}

#[test]
fn streams_past_a_goaway_are_sent_again_on_a_new_connection() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // One stream at a time; the first connection goes away (and closes) after its first
    // stream, so the requests queued behind it were never processed there. (The first
    // stream is cut with the connection: a GET, it is replayed once.)
    let settings = Settings { max_streams: Some(1), go_away_after: Some(1) };
    let server = H2Server::start(settings, |stream| async move {
        let path = stream.path();
        stream.reply(path);
    });
    let nam = NetworkAccessManager::new();
    let replies = [
        nam.get(&direct(server.url("/a"))),
        nam.get(&direct(server.url("/b"))),
        nam.get(&direct(server.url("/c"))),
    ];
    assert!(run_until(Duration::from_secs(30), || replies.iter().all(NetworkReply::is_finished)));
    for (reply, path) in replies.iter().zip(["/a", "/b", "/c"]) {
        assert_ok(reply);
        assert_eq!(reply.read_all(), path.as_bytes());
    }
    assert_eq!(server.connections(), 2);
}

#[test]
fn abort_resets_only_its_own_stream() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let resets: Arc<Mutex<Vec<h2::Reason>>> = Arc::default();
    let reset_seen = Arc::new(tokio::sync::Notify::new());
    let (r, n) = (resets.clone(), reset_seen.clone());
    let server = H2Server::start(Settings::default(), move |mut stream| {
        let (resets, reset_seen) = (r.clone(), n.clone());
        async move {
            if stream.path() == "/held" {
                // Never answered: the client's reset ends it.
                let reason = std::future::poll_fn(|cx| stream.respond.poll_reset(cx)).await;
                if let Ok(reason) = reason {
                    resets.lock().unwrap().push(reason);
                }
                reset_seen.notify_one();
            } else {
                // Answered once the other stream was reset, on the same connection.
                let _ = tokio::time::timeout(Duration::from_secs(10), reset_seen.notified()).await;
                stream.reply("still here");
            }
        }
    });
    let nam = NetworkAccessManager::new();
    let held = nam.get(&direct(server.url("/held")));
    let other = nam.get(&direct(server.url("/other")));
    assert!(run_until(Duration::from_secs(20), || server.streams() == 2), "both streams open");
    held.abort();
    assert_eq!(held.error(), NetworkError::OperationCanceledError);
    wait(&other);
    assert_ok(&other);
    assert_eq!(other.read_all(), b"still here");
    assert_eq!(*resets.lock().unwrap(), [h2::Reason::CANCEL]);
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_slow_reader_holds_the_server_back_by_flow_control() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    const TOTAL: usize = 32 * 1024 * 1024;
    let sent = Arc::new(AtomicUsize::new(0));
    let s = sent.clone();
    let server = H2Server::start(Settings::default(), move |mut stream| {
        let sent = s.clone();
        async move {
            let head = hyper::Response::builder().status(200).body(()).unwrap();
            let Ok(mut body) = stream.respond.send_response(head, false) else { return };
            let chunk = Bytes::from(vec![b'z'; 16 * 1024]);
            while sent.load(Ordering::SeqCst) < TOTAL {
                // Only what the client's windows allow.
                body.reserve_capacity(chunk.len());
                let Some(Ok(n)) = std::future::poll_fn(|cx| body.poll_capacity(cx)).await else { return };
                let n = n.min(TOTAL - sent.load(Ordering::SeqCst));
                if body.send_data(chunk.slice(..n), false).is_err() {
                    return;
                }
                sent.fetch_add(n, Ordering::SeqCst);
            }
            let _ = body.send_data(Bytes::new(), true);
        }
    });
    let nam = NetworkAccessManager::new();
    let mut request = direct(server.url("/big"));
    request.set_read_buffer_size(16 * 1024);
    let reply = nam.get(&request);
    assert!(run_until(Duration::from_secs(20), || sent.load(Ordering::SeqCst) > 0));
    // Nobody reads: the reply's buffer, the hand-off and HTTP/2's windows fill, and the
    // server must stop far short of the whole body.
    let overran = run_until(Duration::from_secs(1), || sent.load(Ordering::SeqCst) >= 8 * 1024 * 1024);
    assert!(!overran, "{} bytes sent to a reader that reads nothing", sent.load(Ordering::SeqCst));
    assert!(!reply.is_finished());
    // Reading lets it all through.
    let received = std::cell::Cell::new(0);
    let done = run_until(Duration::from_secs(30), || {
        received.set(received.get() + reply.read_all().len());
        reply.is_finished() && reply.bytes_available() == 0
    });
    let received = received.get() + reply.read_all().len();
    assert!(done);
    assert_ok(&reply);
    assert_eq!(received, TOTAL);
}

#[test]
fn http2_direct_to_a_server_without_http2_fails_without_falling_back() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // An HTTP/1.1 server: it answers the preface as if it were a request.
    let server = Responder::start(always(response("200 OK", &[], b"http/1.1")));
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&direct(server.url("/")));
    wait(&reply);
    assert!(
        matches!(reply.error(), NetworkError::ProtocolFailure | NetworkError::RemoteHostClosedError),
        "{:?}: {}",
        reply.error(),
        reply.error_string()
    );
    assert!(!reply.error_string().is_empty());
    assert_eq!(reply.status_code(), None);
}

#[test]
fn dropping_the_manager_cancels_its_streams() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // Streams never answered.
    let server = H2Server::start(Settings::default(), |stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    });
    let nam = NetworkAccessManager::new();
    let replies: Vec<NetworkReply> = (0..5).map(|i| nam.get(&direct(server.url(&format!("/{i}"))))).collect();
    assert!(run_until(Duration::from_secs(20), || server.streams() == 5));
    drop(nam);
    for reply in &replies {
        assert!(reply.is_finished());
        assert_eq!(reply.error(), NetworkError::OperationCanceledError);
    }
}
