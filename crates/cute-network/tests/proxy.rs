//! HTTP proxies, against a fake proxy written here: requests go through the proxy, a 407
//! asks `proxy_authentication_required`, credentials in the proxy URL are used, a proxy
//! that is down is a proxy error, and the environment's proxy variables are not read.

mod common;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};
use cute_core::SignalSpy;
use cute_httpbin::Httpbin;
use cute_network::{Error, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest, Proxy};
use cute_testkit::{Responder, Watchdog};

/// `Basic base64("puser:ppass")`.
const PROXY_AUTHORIZATION: &str = "Basic cHVzZXI6cHBhc3M=";

fn wait(reply: &NetworkReply) {
    if !reply.is_finished() {
        let spy = SignalSpy::new(reply.finished());
        assert!(spy.wait(Duration::from_secs(20)), "reply did not finish: {reply:?}");
    }
}

/// A fake HTTP proxy on 127.0.0.1 (a responder) for plain http, which goes to a proxy in
/// absolute-form (https tunnels through `CONNECT`: see tls.rs). Each request head it reads
/// is sent over `heads` and answered by the script; a connection serves heads until the
/// client closes it.
struct FakeProxy {
    server: Responder,
    heads: Receiver<String>,
}

impl FakeProxy {
    fn start(script: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> FakeProxy {
        let (tx, heads) = unbounded();
        let server = Responder::with_limit(Duration::from_secs(10), move |mut connection| {
            while let Some(head) = connection.read_head() {
                let head = head.text();
                let _ = tx.send(head.clone());
                let response = script(&head);
                if connection.write_all(&response).is_err() {
                    return;
                }
                if String::from_utf8_lossy(&response)
                    .to_ascii_lowercase()
                    .contains("\r\nconnection: close\r\n")
                {
                    return;
                }
            }
        });
        FakeProxy { server, heads }
    }

    fn url(&self) -> String {
        self.server.url("")
    }

    /// Every head received so far.
    fn received(&self) -> Vec<String> {
        self.heads.try_iter().collect()
    }
}

/// A 407 with a Basic challenge for `realm`.
fn refused(realm: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"{realm}\"\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn request_line(head: &str) -> &str {
    head.lines().next().unwrap_or("")
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A request meant for a proxy: absolute-form.
fn is_for_the_proxy(head: &str) -> bool {
    request_line(head).split(' ').nth(1).is_some_and(|t| t.starts_with("http://"))
}

fn ok(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        .into_bytes()
}

/// Answers every request with 200 "via proxy".
fn open_proxy(_head: &str) -> Vec<u8> {
    ok("via proxy")
}

/// Like [`open_proxy`], but a request for the proxy without `puser:ppass` gets a 407.
fn authenticating_proxy(head: &str) -> Vec<u8> {
    if is_for_the_proxy(head) && header(head, "proxy-authorization") != Some(PROXY_AUTHORIZATION) {
        return refused("proxy");
    }
    open_proxy(head)
}

/// The request for `target.test/hello` reached the proxy in absolute-form (plain http is
/// not tunnelled, as in Qt), never as a `CONNECT`.
fn assert_proxied_to_target(heads: &[String]) {
    let absolute = heads.iter().any(|h| request_line(h) == "GET http://target.test/hello HTTP/1.1");
    assert!(absolute, "the proxy did not see the request for target.test: {heads:#?}");
    assert!(!heads.iter().any(|h| request_line(h).starts_with("CONNECT ")), "{heads:#?}");
}

/// Counts `proxy_authentication_required` calls, answering with `credentials`.
fn answer(nam: &NetworkAccessManager, credentials: Option<(&'static str, &'static str)>) -> Rc<Cell<u32>> {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    nam.proxy_authentication_required().connect(move |(_proxy, auth)| {
        c.set(c.get() + 1);
        if let Some((user, password)) = credentials {
            auth.set_user(user);
            auth.set_password(password);
        }
    });
    calls
}

#[test]
fn requests_go_through_the_proxy() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let proxy = FakeProxy::start(open_proxy);
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::http(&proxy.url()).unwrap()));
    assert_eq!(nam.proxy().map(|p| p.port()), Some(proxy.server.port()));
    // target.test does not resolve: only the proxy can reach it.
    let reply = nam.get(&NetworkRequest::new("http://target.test/hello"));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"via proxy");
    assert_proxied_to_target(&proxy.received());
}

#[test]
fn plain_http_through_the_proxy_uses_absolute_form() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let proxy = FakeProxy::start(open_proxy);
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::http(&proxy.url()).unwrap()));
    let reply = nam.get(&NetworkRequest::new("http://target.test/hello"));
    wait(&reply);
    let heads = proxy.received();
    assert_eq!(
        heads.first().map(|h| request_line(h)),
        Some("GET http://target.test/hello HTTP/1.1"),
        "{heads:#?}"
    );
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"via proxy");
}

#[test]
fn a_407_asks_proxy_authentication_required_once() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let proxy = FakeProxy::start(authenticating_proxy);
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::http(&proxy.url()).unwrap()));
    let seen: Rc<RefCell<Vec<(String, u16, String)>>> = Rc::default();
    let s = seen.clone();
    nam.proxy_authentication_required().connect(move |(proxy, auth)| {
        s.borrow_mut().push((proxy.host(), proxy.port(), auth.realm()));
        auth.set_user("puser");
        auth.set_password("ppass");
    });
    let reply = nam.get(&NetworkRequest::new("http://target.test/hello"));
    wait(&reply);
    let heads = proxy.received();
    assert_eq!(reply.error(), NetworkError::NoError, "{}: {heads:#?}", reply.error_string());
    assert_eq!(reply.read_all(), b"via proxy");
    // The realm is the proxy's, from its challenge.
    assert_eq!(*seen.borrow(), [("127.0.0.1".to_owned(), proxy.server.port(), "proxy".to_owned())]);
    let for_proxy: Vec<&String> = heads.iter().filter(|h| is_for_the_proxy(h)).collect();
    assert_eq!(for_proxy.len(), 2, "{heads:#?}");
    assert_eq!(header(for_proxy[0], "proxy-authorization"), None, "{heads:#?}");
    assert_eq!(header(for_proxy[1], "proxy-authorization"), Some(PROXY_AUTHORIZATION), "{heads:#?}");
    assert_proxied_to_target(&heads);
}

#[test]
fn a_407_with_a_slot_that_sets_nothing_is_proxy_authentication_required() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let proxy = FakeProxy::start(authenticating_proxy);
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::http(&proxy.url()).unwrap()));
    let calls = answer(&nam, None);
    let reply = nam.get(&NetworkRequest::new("http://target.test/hello"));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::ProxyAuthenticationRequiredError, "{}", reply.error_string());
    assert_eq!(reply.error_string(), "Proxy requires authentication");
    assert_eq!(calls.get(), 1);
}

#[test]
fn a_proxy_slot_answering_the_same_rejected_credentials_ends_with_proxy_authentication_required() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let proxy = FakeProxy::start(authenticating_proxy);
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::http(&proxy.url()).unwrap()));
    let held: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
    let h = held.clone();
    nam.proxy_authentication_required().connect(move |(_proxy, auth)| {
        h.borrow_mut().push((auth.user(), auth.password()));
        auth.set_user("puser");
        auth.set_password("wrong");
    });
    let reply = nam.get(&NetworkRequest::new("http://target.test/hello"));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::ProxyAuthenticationRequiredError, "{}", reply.error_string());
    assert_eq!(
        *held.borrow(),
        [(String::new(), String::new()), ("puser".to_owned(), "wrong".to_owned())],
        "first asked empty, then holding what failed"
    );
}

#[test]
fn credentials_in_the_proxy_url_are_used_without_asking() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let proxy = FakeProxy::start(authenticating_proxy);
    let nam = NetworkAccessManager::new();
    let with_credentials =
        Proxy::http(&format!("http://puser:ppass@127.0.0.1:{}", proxy.server.port())).unwrap();
    assert_eq!(with_credentials.user(), "puser");
    let shown = format!("{with_credentials:?}");
    assert!(!shown.contains("ppass"), "the password leaked: {shown}");
    nam.set_proxy(Some(with_credentials));
    let calls = answer(&nam, Some(("wrong", "wrong")));
    let reply = nam.get(&NetworkRequest::new("http://target.test/hello"));
    wait(&reply);
    let heads = proxy.received();
    assert_eq!(reply.error(), NetworkError::NoError, "{}: {heads:#?}", reply.error_string());
    assert_eq!(reply.read_all(), b"via proxy");
    assert_eq!(calls.get(), 0);
    // Sent pre-emptively from the proxy URL: the first request carries it.
    let first = heads.iter().find(|h| is_for_the_proxy(h)).expect("a request for the proxy");
    assert_eq!(header(first, "proxy-authorization"), Some(PROXY_AUTHORIZATION), "{heads:#?}");
    assert_proxied_to_target(&heads);
}

#[test]
fn a_proxy_that_is_down_is_proxy_connection_refused() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::http(&format!("http://127.0.0.1:{port}")).unwrap()));
    let reply = nam.get(&NetworkRequest::new("http://target.test/hello"));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::ProxyConnectionRefusedError, "{}", reply.error_string());
}

#[test]
fn only_http_proxies_without_a_path_are_supported() {
    for url in
        ["socks5://127.0.0.1:1080", "http://h:1/path", "https://127.0.0.1:3128", "http://:8080", "nonsense"]
    {
        let result = Proxy::http(url);
        assert!(matches!(result, Err(Error::UnsupportedProxy(_))), "{url}: {result:?}");
    }
    let proxy = Proxy::http("http://proxy.test").unwrap();
    assert_eq!((proxy.host(), proxy.port(), proxy.user()), ("proxy.test".to_owned(), 80, String::new()));
}

/// Set in the environment of the child process `the_environment_proxy_is_not_read` runs.
const CHILD_MARKER: &str = "CUTE_PROXY_TEST_CHILD";

#[test]
fn the_environment_proxy_is_not_read() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let proxy = FakeProxy::start(open_proxy);
    // Setting variables in this process would need `unsafe` (forbidden here): run the
    // request in a child process, with the proxy variables in its environment.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.args(["env_child_requests_directly", "--exact", "--nocapture", "--test-threads=1"]);
    child.env(CHILD_MARKER, "1");
    for name in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        child.env(name, proxy.url());
    }
    child.env_remove("no_proxy").env_remove("NO_PROXY");
    let output = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child test did not run:\n{stdout}\n{stderr}");
    assert_eq!(proxy.received(), Vec::<String>::new());
}

/// The child half of `the_environment_proxy_is_not_read`; does nothing unless run by it.
#[test]
fn env_child_requests_directly() {
    if std::env::var_os(CHILD_MARKER).is_none() {
        return;
    }
    let _dog = Watchdog::new(Duration::from_secs(30));
    assert!(std::env::var("http_proxy").is_ok_and(|v| v.starts_with("http://127.0.0.1:")));
    let server = Httpbin::start().unwrap();
    let nam = NetworkAccessManager::new();
    assert!(nam.proxy().is_none());
    let reply = nam.get(&NetworkRequest::new(server.url("/get")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    // The fake proxy would have answered "via proxy": this is httpbin, reached directly.
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["url"], server.url("/get"));
}

#[test]
fn accepted_proxy_credentials_are_cached_until_clear_access_cache() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let proxy = FakeProxy::start(authenticating_proxy);
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::http(&proxy.url()).unwrap()));
    let calls = answer(&nam, Some(("puser", "ppass")));
    let get = |path: &str| {
        let reply = nam.get(&NetworkRequest::new(format!("http://target.test{path}")));
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "{path}: {}", reply.error_string());
        assert_eq!(reply.read_all(), b"via proxy", "{path}");
    };
    get("/first");
    assert_eq!(calls.get(), 1);
    let _ = proxy.received();
    // The second request sends the cached credentials pre-emptively: no 407, no signal.
    get("/second");
    assert_eq!(calls.get(), 1, "the cached proxy credentials were not used");
    let heads = proxy.received();
    assert_eq!(heads.len(), 1, "{heads:#?}");
    assert_eq!(header(&heads[0], "proxy-authorization"), Some(PROXY_AUTHORIZATION), "{heads:#?}");
    // clear_access_cache forgets them: asked again.
    nam.clear_access_cache();
    get("/third");
    assert_eq!(calls.get(), 2);
}

#[test]
fn rejected_cached_proxy_credentials_are_forgotten_and_asked_for() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // The proxy accepts puser:ppass for its first three requests (the first request's two,
    // the second request's one), then only new:secret.
    let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = requests.clone();
    let proxy = FakeProxy::start(move |head: &str| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        let wanted = if n < 3 { PROXY_AUTHORIZATION } else { "Basic bmV3OnNlY3JldA==" }; // new:secret
        if header(head, "proxy-authorization") == Some(wanted) { ok("ok") } else { refused("proxy") }
    });
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::http(&proxy.url()).unwrap()));
    let calls = Rc::new(Cell::new(0));
    let k = calls.clone();
    nam.proxy_authentication_required().connect(move |(_proxy, auth)| {
        k.set(k.get() + 1);
        let (user, password) = if k.get() == 1 { ("puser", "ppass") } else { ("new", "secret") };
        auth.set_user(user);
        auth.set_password(password);
    });
    for (i, expected_calls) in [(0, 1), (1, 1), (2, 2), (3, 2)] {
        let reply = nam.get(&NetworkRequest::new(format!("http://target.test/{i}")));
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "#{i}: {}", reply.error_string());
        assert_eq!(calls.get(), expected_calls, "#{i}");
    }
}

#[test]
fn a_proxy_factory_chooses_per_request_and_set_proxy_wins() {
    use cute_network::{NetworkRequest, Proxy, SystemProxyFactory};
    let _dog = cute_testkit::Watchdog::new(std::time::Duration::from_secs(60));
    // cute-httpbin answers absolute-form requests, so it serves as the proxy too: a
    // request reaches `proxied.invalid` (a name nothing resolves) only through it.
    let server = cute_httpbin::Httpbin::start().unwrap();
    let proxy = Proxy::http(&server.base_url()).unwrap();
    let nam = cute_network::NetworkAccessManager::new();
    let via_server = proxy.clone();
    nam.set_proxy_factory(Some(Box::new(move |url: &cute_network::Url| {
        (url.host_str() == Some("proxied.invalid")).then(|| via_server.clone())
    })));
    let json = |reply: &cute_network::NetworkReply| -> serde_json::Value {
        assert_eq!(reply.error(), cute_network::NetworkError::NoError, "{}", reply.error_string());
        reply.read_json().unwrap()
    };
    let proxied = common::fetch(&nam, "http://proxied.invalid/get?x=1");
    assert_eq!(json(&proxied)["url"], "http://proxied.invalid/get?x=1");
    let direct = common::fetch(&nam, server.url("/get"));
    assert_eq!(json(&direct)["args"], serde_json::json!({}));

    // The environment's way: no_proxy sends the local server direct, the rest through.
    let base = server.base_url();
    nam.set_proxy_factory(Some(Box::new(SystemProxyFactory::from_vars(move |name| match name {
        "http_proxy" => Some(base.clone()),
        "no_proxy" => Some("localhost,127.0.0.0/8".to_owned()),
        _ => None,
    }))));
    assert_eq!(json(&common::fetch(&nam, "http://proxied.invalid/get"))["url"], "http://proxied.invalid/get");
    assert_eq!(json(&common::fetch(&nam, server.url("/get?y=2")))["args"], serde_json::json!({"y": "2"}));

    // A manager-wide proxy wins over the factory (Qt's rule).
    nam.set_proxy_factory(Some(Box::new(|_: &cute_network::Url| None)));
    nam.set_proxy(Some(proxy));
    assert_eq!(json(&common::fetch(&nam, "http://proxied.invalid/get"))["url"], "http://proxied.invalid/get");
    nam.set_proxy(None);
    let failed = nam.get(&NetworkRequest::new("http://proxied.invalid/get"));
    common::wait(&failed);
    assert_eq!(
        failed.error(),
        cute_network::NetworkError::HostNotFoundError,
        "direct: the name does not resolve"
    );
}

/// A SOCKS5 server (fast-socks5) on loopback: with `password`, it wants those credentials.
/// Returns its address, the runtime serving it, and where each connection's target goes.
fn socks5_server(
    password: Option<(&'static str, &'static str)>,
) -> (std::net::SocketAddr, tokio::runtime::Runtime, crossbeam_channel::Receiver<String>) {
    use fast_socks5::server::{Socks5ServerProtocol, run_tcp_proxy};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let (targets, seen) = unbounded();
    runtime.spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let targets = targets.clone();
            tokio::spawn(async move {
                let accepted = match password {
                    None => Socks5ServerProtocol::accept_no_auth(socket).await,
                    Some((user, pass)) => {
                        Socks5ServerProtocol::accept_password_auth(socket, move |u, p| u == user && p == pass)
                            .await
                            .map(|(proto, _)| proto)
                    }
                };
                let Ok(proto) = accepted else { return };
                let Ok((proto, _command, target)) = proto.read_command().await else { return };
                let _ = targets.send(target.to_string());
                let _ = run_tcp_proxy(proto, &target, Duration::from_secs(10), false).await;
            });
        }
    });
    (addr, runtime, seen)
}

#[test]
fn requests_go_through_a_socks5_proxy_and_its_password_is_asked_for() {
    use cute_network::{NetworkAccessManager, NetworkError, Proxy};
    let _dog = cute_testkit::Watchdog::new(Duration::from_secs(60));
    let server = cute_httpbin::Httpbin::start().unwrap();
    let json = |reply: &cute_network::NetworkReply| -> serde_json::Value {
        assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
        reply.read_json().unwrap()
    };

    let (open_addr, _open, targets) = socks5_server(None);
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::socks5(&format!("socks5://{open_addr}")).unwrap()));
    let reply = common::fetch(&nam, server.url("/get?via=socks"));
    assert_eq!(json(&reply)["args"]["via"], "socks");
    let target = targets.recv_timeout(Duration::from_secs(5)).expect("the proxy was asked to connect");
    assert!(target.ends_with(&format!(":{}", server.addr().port())), "{target}");

    // A proxy that wants a password: asked for once, through proxy_authentication_required.
    let (locked_addr, _locked, _) = socks5_server(Some(("alice", "s3cret")));
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::socks5(&format!("socks5://{locked_addr}")).unwrap()));
    let asked = Rc::new(Cell::new(0));
    let a = asked.clone();
    nam.proxy_authentication_required().connect(move |(proxy, auth)| {
        assert!(proxy.is_socks5());
        a.set(a.get() + 1);
        auth.set_user("alice");
        auth.set_password("s3cret");
    });
    assert_eq!(json(&common::fetch(&nam, server.url("/get?n=1")))["args"]["n"], "1");
    assert_eq!(json(&common::fetch(&nam, server.url("/get?n=2")))["args"]["n"], "2");
    assert_eq!(asked.get(), 1, "the accepted credentials are reused");

    // Credentials in the proxy's URL are offered without asking; wrong ones end the reply.
    let nam = NetworkAccessManager::new();
    nam.set_proxy(Some(Proxy::socks5(&format!("socks5://alice:wrong@{locked_addr}")).unwrap()));
    let refused = common::fetch(&nam, server.url("/get"));
    assert_eq!(refused.error(), NetworkError::ProxyAuthenticationRequiredError, "{}", refused.error_string());
}
