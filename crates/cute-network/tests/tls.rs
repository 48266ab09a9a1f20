//! https through rustls against a local TLS server with a CA made for the test: the bundled
//! roots refuse it, `set_ca_certificates` trusts it, wrong CAs and wrong names fail the
//! handshake, and redirects between http and https follow the no-less-safe policy.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cute_core::SignalSpy;
use cute_httpbin::Httpbin;
use cute_network::{
    Attribute, AttributeValue, Error, NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest,
    RedirectPolicy,
};
use cute_testkit::Watchdog;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Waits (bounded) for a reply to finish.
fn wait(reply: &NetworkReply) {
    if reply.is_finished() {
        return;
    }
    let spy = SignalSpy::new(reply.finished());
    assert!(spy.wait(Duration::from_secs(20)), "reply did not finish: {reply:?}");
}

/// A certificate authority made for one test.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { pem: cert.pem(), issuer: Issuer::new(params, key) }
    }

    /// A server certificate for `names` (DNS names or IP addresses) and its private key.
    fn leaf(&self, names: &[&str]) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0].as_str());
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key)
    }
}

/// Decides the response bytes from the request head.
type Script = dyn Fn(&str) -> Vec<u8> + Send + Sync;

/// A TLS server on 127.0.0.1: a thread per connection, one scripted response each.
struct TlsServer {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

impl TlsServer {
    fn start(
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
        script: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
    ) -> TlsServer {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        let config = Arc::new(config);
        let script: Arc<Script> = Arc::new(script);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let (config, script) = (config.clone(), script.clone());
                std::thread::spawn(move || serve(tcp, config, &*script));
            }
        });
        TlsServer { port, stop, accepted }
    }

    /// Connections accepted so far.
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

/// One connection: handshake, then for each request head the scripted response, until a
/// response says `Connection: close` (then the connection ends) or the client hangs up.
/// Any failure (a client refusing the certificate, above all) just ends the connection.
fn serve(tcp: TcpStream, config: Arc<rustls::ServerConfig>, script: &Script) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(connection) = rustls::ServerConnection::new(config) else { return };
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let mut buf = [0u8; 4096];
    loop {
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
            if head.len() > 64 * 1024 {
                return;
            }
        }
        let response = script(&String::from_utf8_lossy(&head));
        if tls.write_all(&response).and_then(|()| tls.flush()).is_err() {
            return;
        }
        if String::from_utf8_lossy(&response).to_ascii_lowercase().contains("connection: close") {
            break;
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn ok_hello(_head: &str) -> Vec<u8> {
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        .to_vec()
}

/// A CA and a server with a certificate from it for "localhost" and "127.0.0.1".
fn trusted_server(script: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> (Ca, TlsServer) {
    let ca = Ca::new("cute test CA");
    let (cert, key) = ca.leaf(&["localhost", "127.0.0.1"]);
    let server = TlsServer::start(cert, key, script);
    (ca, server)
}

fn assert_handshake_failed(reply: &NetworkReply) {
    assert_eq!(reply.error(), NetworkError::SslHandshakeFailedError, "{}", reply.error_string());
    let message = reply.error_string();
    assert!(message.starts_with("SSL handshake failed"), "{message}");
    assert!(message.to_lowercase().contains("certificate"), "the message names the problem: {message}");
    assert_eq!(reply.status_code(), None, "{message}");
}

#[test]
fn the_bundled_roots_do_not_trust_a_private_ca() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (_ca, server) = trusted_server(ok_hello);
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&reply);
    assert_handshake_failed(&reply);
    assert!(reply.read_all().is_empty());
}

#[test]
fn a_trusted_ca_makes_the_request_succeed_encrypted() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (ca, server) = trusted_server(ok_hello);
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(ca.pem.as_bytes()).unwrap();
    let reply = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.status_code(), Some(200));
    assert_eq!(reply.read_all(), b"hello");
    assert_eq!(reply.attribute(Attribute::ConnectionEncryptedAttribute), Some(AttributeValue::Bool(true)));
}

#[test]
fn trusting_another_ca_fails_the_handshake() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (_ca, server) = trusted_server(ok_hello);
    let other = Ca::new("some other CA");
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(other.pem.as_bytes()).unwrap();
    let reply = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&reply);
    assert_handshake_failed(&reply);
}

#[test]
fn a_certificate_for_another_name_fails_the_handshake() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let ca = Ca::new("cute test CA");
    let (cert, key) = ca.leaf(&["other.test"]);
    let server = TlsServer::start(cert, key, ok_hello);
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(ca.pem.as_bytes()).unwrap();
    let reply = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&reply);
    assert_handshake_failed(&reply);
}

#[test]
fn invalid_pem_is_refused_and_empty_pem_restores_the_bundled_roots() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (ca, server) = trusted_server(ok_hello);
    let nam = NetworkAccessManager::new();
    let result = nam.set_ca_certificates(b"not a pem");
    assert!(matches!(result, Err(Error::InvalidCertificate(_))), "{result:?}");

    nam.set_ca_certificates(ca.pem.as_bytes()).unwrap();
    let reply = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());

    // Back to the bundled roots: the private CA is not trusted any more.
    nam.set_ca_certificates(b"").unwrap();
    let reply = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&reply);
    assert_handshake_failed(&reply);
}

#[test]
fn https_to_http_redirects_are_refused_unless_manual() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let plain = Httpbin::start().unwrap();
    let target = plain.url("/get");
    let (ca, server) = trusted_server(move |_| {
        format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .into_bytes()
    });
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(ca.pem.as_bytes()).unwrap();

    let reply = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::InsecureRedirectError, "{}", reply.error_string());

    let mut request = NetworkRequest::new(server.url("/"));
    request.set_redirect_policy(RedirectPolicy::ManualRedirectPolicy);
    let reply = nam.get(&request);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.status_code(), Some(302));
    let expected = url::Url::parse(&plain.url("/get")).unwrap();
    assert_eq!(reply.attribute(Attribute::RedirectionTargetAttribute), Some(AttributeValue::Url(expected)));
}

#[test]
fn http_to_https_redirects_are_followed() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (ca, server) = trusted_server(ok_hello);
    let plain = Httpbin::start().unwrap();
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("url", &server.url("/"))
        .append_pair("status_code", "302")
        .finish();
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(ca.pem.as_bytes()).unwrap();
    let reply = nam.get(&NetworkRequest::new(plain.url(&format!("/redirect-to?{query}"))));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"hello");
    let url = reply.url().unwrap();
    assert_eq!(url.scheme(), "https", "{url}");
    assert_eq!(url.port(), Some(server.port));
    assert_eq!(reply.attribute(Attribute::ConnectionEncryptedAttribute), Some(AttributeValue::Bool(true)));
}

#[test]
fn a_request_made_before_set_ca_certificates_leaves_no_connection_the_new_roots_did_not_check() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // Keep-alive responses; /slow holds the host's only slot for a while.
    let (ca, server) = trusted_server(|head| {
        if head.starts_with("GET /slow") {
            std::thread::sleep(Duration::from_millis(300));
        }
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello".to_vec()
    });
    let other = Ca::new("some other CA");
    let nam = NetworkAccessManager::new();
    nam.set_max_connections_per_host(1).unwrap();
    nam.set_ca_certificates(ca.pem.as_bytes()).unwrap();
    let slow = nam.get(&NetworkRequest::new(server.url("/slow")));
    // Made while the test CA is trusted; it waits for the slot, so it connects only after
    // the roots change below, still verifying against the roots of when it was made.
    let queued = nam.get(&NetworkRequest::new(server.url("/queued")));
    nam.set_ca_certificates(other.pem.as_bytes()).unwrap();
    wait(&slow);
    wait(&queued);
    assert_eq!(slow.error(), NetworkError::NoError, "{}", slow.error_string());
    assert_eq!(queued.error(), NetworkError::NoError, "{}", queued.error_string());
    // A request made now trusts only the other CA: it must not reuse that connection.
    let after = nam.get(&NetworkRequest::new(server.url("/after")));
    wait(&after);
    eprintln!("DEBUG after: {:?} {}", after.error(), after.error_string());
    assert_handshake_failed(&after);
}

#[test]
fn https_connections_are_reused_when_the_ca_is_trusted_before_the_first_request() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (ca, server) = trusted_server(|_head| b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec());
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(ca.pem.as_bytes()).unwrap();
    for i in 0..3 {
        let reply = nam.get(&NetworkRequest::new(server.url(&format!("/{i}"))));
        wait(&reply);
        assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
        assert_eq!(reply.read_all(), b"hello");
    }
    assert_eq!(server.accepted(), 1, "one TLS connection for three sequential requests");
    // Other settings changing keeps the trusted roots the agent's own: still reused.
    nam.set_connect_timeout(Duration::from_secs(7));
    let reply = nam.get(&NetworkRequest::new(server.url("/after-a-setting-change")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(server.accepted(), 1, "a setting change stopped https connections being reused");
}

#[test]
fn a_self_signed_server_certificate_can_be_trusted_directly() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // A development server's self-signed certificate, not a CA: trusting it is enough (as
    // QSslConfiguration::addCaCertificate with it is in Qt).
    let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server = TlsServer::start(
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        ok_hello,
    );
    let nam = NetworkAccessManager::new();
    let untrusted = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&untrusted);
    assert_handshake_failed(&untrusted);

    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(cert.pem().as_bytes()).unwrap();
    let reply = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"hello");
}

#[test]
fn a_server_that_does_not_speak_tls_is_a_handshake_failure() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // A plain HTTP answer where the TLS server hello should be.
    let server = cute_testkit::Responder::start(|mut connection| {
        connection.await_request();
        let _ = connection.write_all(&cute_testkit::response("400 Bad Request", &[], b"plain http"));
        connection.close();
    });
    let nam = NetworkAccessManager::new();
    let reply = nam.get(&NetworkRequest::new(format!("https://127.0.0.1:{}/", server.port())));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::SslHandshakeFailedError, "{}", reply.error_string());
    assert!(reply.error_string().starts_with("SSL handshake failed"), "{}", reply.error_string());
    assert_eq!(reply.status_code(), None);
}

#[test]
fn a_self_signed_certificate_marked_as_a_ca_can_be_trusted_directly() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // What `openssl req -x509` makes by default: self-signed, with `CA:TRUE`. Used as the
    // server's own certificate, webpki calls it a CA used as an end entity; Qt and curl
    // accept it once the caller trusts it, and so does cute, for its names only.
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server = TlsServer::start(
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        ok_hello,
    );
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(cert.pem().as_bytes()).unwrap();
    let reply = nam.get(&NetworkRequest::new(format!("https://localhost:{}/", server.port)));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"hello");
    // The certificate names "localhost" only: for the address it is refused.
    let other_name = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&other_name);
    assert_handshake_failed(&other_name);
}

/// A CONNECT proxy on 127.0.0.1 that wants `puser:ppass` (a 407 for realm "tunnel"
/// otherwise) and then relays bytes to the port asked for. Each CONNECT head is sent over
/// the returned channel.
fn tunnelling_proxy() -> (cute_testkit::Responder, std::sync::mpsc::Receiver<String>) {
    let (tx, heads) = std::sync::mpsc::channel();
    let proxy = cute_testkit::Responder::start(move |mut connection| {
        while let Some(head) = connection.read_head() {
            let _ = tx.send(head.text());
            if head.header("proxy-authorization").as_deref() != Some("Basic cHVzZXI6cHBhc3M=") {
                let refused = cute_testkit::response(
                    "407 Proxy Authentication Required",
                    &["Proxy-Authenticate: Basic realm=\"tunnel\""],
                    b"",
                );
                if connection.write_all(&refused).is_err() {
                    return;
                }
                continue;
            }
            let target = head.request_line().split(' ').nth(1).unwrap_or("").to_owned();
            let Ok(mut upstream) = TcpStream::connect(target) else { return };
            let _ = connection.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            let _ = upstream.write_all(connection.pending());
            let (Ok(mut client_read), Ok(mut upstream_read)) =
                (connection.stream().try_clone(), upstream.try_clone())
            else {
                return;
            };
            let mut client_write = connection;
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut upstream_read, &mut client_write);
            });
            let _ = std::io::copy(&mut client_read, &mut upstream);
            return;
        }
    });
    (proxy, heads)
}

#[test]
fn https_through_a_proxy_is_tunnelled_and_proxy_credentials_stay_with_the_connect() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // The origin says whether the proxy's credentials reached it.
    let (ca, server) = trusted_server(|head: &str| {
        let leaked = head.to_ascii_lowercase().contains("\r\nproxy-authorization:");
        let body = if leaked { "leaked" } else { "clean" };
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    });
    let (proxy, heads) = tunnelling_proxy();
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(ca.pem.as_bytes()).unwrap();
    nam.set_proxy(Some(cute_network::Proxy::http(&proxy.url("")).unwrap()));
    let realms = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let r = realms.clone();
    nam.proxy_authentication_required().connect(move |(_proxy, auth)| {
        r.borrow_mut().push(auth.realm());
        auth.set_user("puser");
        auth.set_password("ppass");
    });
    let reply = nam.get(&NetworkRequest::new(server.url("/secret")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.read_all(), b"clean");
    assert_eq!(reply.attribute(Attribute::ConnectionEncryptedAttribute), Some(AttributeValue::Bool(true)));
    assert_eq!(*realms.borrow(), ["tunnel"]);
    let heads: Vec<String> = heads.try_iter().collect();
    let target = format!("CONNECT 127.0.0.1:{} HTTP/1.1", server.port);
    assert!(heads.iter().all(|h| h.starts_with(&target)), "{heads:#?}");
    assert_eq!(heads.len(), 2, "{heads:#?}");
    assert!(!heads[0].to_ascii_lowercase().contains("proxy-authorization"), "{heads:#?}");
}

#[test]
fn an_expired_certificate_trusted_by_value_is_still_refused() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server = TlsServer::start(
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        ok_hello,
    );
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(cert.pem().as_bytes()).unwrap();
    let reply = nam.get(&NetworkRequest::new(format!("https://localhost:{}/", server.port)));
    wait(&reply);
    assert_handshake_failed(&reply);
    assert!(reply.error_string().to_lowercase().contains("expired"), "{}", reply.error_string());
}

#[test]
fn a_server_that_does_not_offer_http2_is_spoken_to_in_http1() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    // The test server offers no ALPN protocol: HTTP/1.1, as Qt falls back.
    let (ca, server) = trusted_server(ok_hello);
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(ca.pem.as_bytes()).unwrap();
    let reply = nam.get(&NetworkRequest::new(server.url("/")));
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.attribute(Attribute::Http2WasUsedAttribute), Some(AttributeValue::Bool(false)));
    // With HTTP/2 by prior knowledge there is no fall-back.
    let mut request = NetworkRequest::new(server.url("/direct"));
    request.set_attribute(Attribute::Http2DirectAttribute, AttributeValue::Bool(true)).unwrap();
    let reply = nam.get(&request);
    wait(&reply);
    assert_eq!(reply.error(), NetworkError::ProtocolFailure, "{}", reply.error_string());
    assert!(reply.error_string().contains("HTTP/2"), "{}", reply.error_string());
}

#[test]
fn strict_transport_security_learnt_over_https_upgrades_plain_http() {
    use cute_network::{NetworkAccessManager, NetworkError, NetworkReply};
    let _dog = cute_testkit::Watchdog::new(std::time::Duration::from_secs(60));
    let server = cute_httpbin::Httpbin::builder().tls(true).start().unwrap();
    let port = server.tls_addr().unwrap().port();
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(server.certificate_pem().unwrap().as_bytes()).unwrap();
    let ok = |reply: &NetworkReply| {
        assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    };
    // Off by default: the header is not taken.
    let sts = format!("https://localhost:{port}/response-headers?Strict-Transport-Security=max-age%3D600");
    ok(&common::fetch(&nam, sts.as_str()));
    assert!(nam.strict_transport_security_hosts().is_empty());

    nam.set_strict_transport_security_enabled(true);
    ok(&common::fetch(&nam, sts.as_str()));
    let hosts = nam.strict_transport_security_hosts();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    assert_eq!((hosts[0].host(), hosts[0].includes_sub_domains()), ("localhost", false));

    // Plain http to that host now goes over https (to the TLS port: an explicit port stays).
    let reply = common::fetch(&nam, format!("http://localhost:{port}/get"));
    ok(&reply);
    assert_eq!(reply.url().unwrap().as_str(), format!("https://localhost:{port}/get"));
    let json: serde_json::Value = reply.read_json().unwrap();
    assert_eq!(json["url"], format!("https://localhost:{port}/get"));

    // max-age=0 forgets it.
    let forget = format!("https://localhost:{port}/response-headers?Strict-Transport-Security=max-age%3D0");
    ok(&common::fetch(&nam, forget.as_str()));
    assert!(nam.strict_transport_security_hosts().is_empty());
}

#[test]
fn a_tls_connection_opened_ahead_serves_the_first_https_request() {
    use cute_network::{Attribute, AttributeValue, NetworkAccessManager, NetworkError};
    let _dog = cute_testkit::Watchdog::new(std::time::Duration::from_secs(60));
    let server = cute_httpbin::Httpbin::builder().tls(true).start().unwrap();
    let port = server.tls_addr().unwrap().port();
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(server.certificate_pem().unwrap().as_bytes()).unwrap();
    nam.set_max_connections_per_host(1).unwrap();
    nam.connect_to_host_encrypted("127.0.0.1", port);
    let opened = common::run_until(std::time::Duration::from_secs(30), || server.connections_accepted() == 1);
    assert!(opened, "the connection was opened ahead");
    let reply = common::fetch(&nam, server.tls_url("/get").unwrap());
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    assert_eq!(reply.attribute(Attribute::Http2WasUsedAttribute), Some(AttributeValue::Bool(true)));
    assert_eq!(server.connections_accepted(), 1, "the request used the connection opened ahead");
}

#[test]
fn ssl_errors_are_reported_and_only_ignored_when_a_slot_says_so() {
    use std::cell::RefCell;
    use std::rc::Rc;

    use cute_network::{NetworkAccessManager, NetworkError, NetworkRequest, SslError, SslErrorKind};
    let _dog = cute_testkit::Watchdog::new(std::time::Duration::from_secs(60));
    // A self-signed certificate nobody told the manager to trust.
    let server = cute_httpbin::Httpbin::builder().tls(true).start().unwrap();
    let url = server.tls_url("/get").unwrap();
    let nam = NetworkAccessManager::new();
    let order: Rc<RefCell<Vec<String>>> = Rc::default();
    let o = order.clone();
    nam.ssl_errors()
        .connect(move |(_reply, errors)| o.borrow_mut().push(format!("manager {}", errors.len())));

    // Nobody ignores: the reply fails, saying why.
    let reply = nam.get(&NetworkRequest::new(url.as_str()));
    let seen: Rc<RefCell<Vec<SslError>>> = Rc::default();
    let (s, o) = (seen.clone(), order.clone());
    reply.ssl_errors().connect(move |errors| {
        s.borrow_mut().extend(errors.iter().cloned());
        o.borrow_mut().push("reply".to_owned());
    });
    common::wait(&reply);
    assert_eq!(reply.error(), NetworkError::SslHandshakeFailedError, "{}", reply.error_string());
    assert!(reply.error_string().contains("self-signed"), "{}", reply.error_string());
    assert_eq!(seen.borrow().len(), 1);
    assert_eq!(seen.borrow()[0].error(), SslErrorKind::SelfSignedCertificate);
    assert!(!seen.borrow()[0].certificate().is_empty(), "the peer's certificate comes with it");
    assert_eq!(*order.borrow(), ["reply", "manager 1"], "the reply's signal, then the manager's");

    // A slot ignores: the request goes through.
    let reply = nam.get(&NetworkRequest::new(url.as_str()));
    let handle = reply.clone();
    reply.ssl_errors().connect(move |_| handle.ignore_ssl_errors());
    common::wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());

    // The connection made in spite of the errors serves no request that did not ignore them.
    let strict = common::fetch(&nam, url.as_str());
    assert_eq!(strict.error(), NetworkError::SslHandshakeFailedError, "{}", strict.error_string());

    // Errors expected in advance, given right after making the request, without a slot.
    let reply = nam.get(&NetworkRequest::new(url.as_str()));
    reply.ignore_ssl_errors_list(&[SslError::new(SslErrorKind::SelfSignedCertificate, Vec::new())]);
    common::wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());
    let wrong_kind = nam.get(&NetworkRequest::new(url.as_str()));
    wrong_kind.ignore_ssl_errors_list(&[SslError::new(SslErrorKind::CertificateExpired, Vec::new())]);
    common::wait(&wrong_kind);
    assert_eq!(wrong_kind.error(), NetworkError::SslHandshakeFailedError);
}

#[test]
fn encrypted_comes_before_the_metadata_over_tls_only() {
    use std::cell::RefCell;
    use std::rc::Rc;

    use cute_network::{NetworkAccessManager, NetworkReply, NetworkRequest};
    let _dog = cute_testkit::Watchdog::new(std::time::Duration::from_secs(60));
    let server = cute_httpbin::Httpbin::builder().tls(true).start().unwrap();
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(server.certificate_pem().unwrap().as_bytes()).unwrap();
    let order = |reply: &NetworkReply| {
        let seen: Rc<RefCell<Vec<&str>>> = Rc::default();
        let (a, b) = (seen.clone(), seen.clone());
        reply.encrypted().connect(move |_| a.borrow_mut().push("encrypted"));
        reply.meta_data_changed().connect(move |_| b.borrow_mut().push("meta_data_changed"));
        seen
    };
    let reply = nam.get(&NetworkRequest::new(server.tls_url("/get").unwrap()));
    let seen = order(&reply);
    common::wait(&reply);
    assert_eq!(*seen.borrow(), ["encrypted", "meta_data_changed"]);
    // The server's certificate, as the reply saw it: the PEM the server made, decoded.
    let pem = server.certificate_pem().unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap();
    assert_eq!(reply.peer_certificate_chain(), vec![der]);
    let plain = nam.get(&NetworkRequest::new(server.url("/get")));
    let seen = order(&plain);
    common::wait(&plain);
    assert_eq!(*seen.borrow(), ["meta_data_changed"]);
    assert!(plain.peer_certificate_chain().is_empty());
}

/// A CA, and a client certificate it issued: (CA PEM, client certificate PEM, client key PEM).
fn client_identity() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["cute client".to_owned()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn a_client_certificate_opens_a_server_that_asks_for_one() {
    use cute_network::{
        Error, NetworkAccessManager, NetworkError, NetworkRequest, SslConfiguration, SslProtocol,
    };
    let _dog = cute_testkit::Watchdog::new(std::time::Duration::from_secs(60));
    let (ca, cert, key) = client_identity();
    let server = cute_httpbin::Httpbin::builder().client_auth(&ca).start().unwrap();
    let url = server.tls_url("/get").unwrap();
    let server_pem = server.certificate_pem().unwrap().as_bytes().to_vec();
    let nam = NetworkAccessManager::new();
    nam.set_ca_certificates(&server_pem).unwrap();

    // Without a client certificate the server refuses.
    let refused = common::fetch(&nam, url.as_str());
    assert_ne!(refused.error(), NetworkError::NoError, "the server asked for a certificate");

    // With one, for this request only.
    let mut ssl = SslConfiguration::new();
    ssl.set_ca_certificates(&server_pem).unwrap();
    ssl.set_local_certificate_chain_and_key(cert.as_bytes(), key.as_bytes()).unwrap();
    assert!(ssl.has_local_certificate());
    let mut request = NetworkRequest::new(url.as_str());
    request.set_ssl_configuration(&ssl);
    let reply = nam.get(&request);
    common::wait(&reply);
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());

    // For the whole manager, TLS 1.3 only.
    ssl.set_protocol(SslProtocol::TlsV1_3OrLater);
    nam.set_ssl_configuration(&ssl);
    let reply = common::fetch(&nam, url.as_str());
    assert_eq!(reply.error(), NetworkError::NoError, "{}", reply.error_string());

    // A key that is not the certificate's, or no key at all, is refused when set.
    let (_, _, other_key) = client_identity();
    let mut bad = SslConfiguration::new();
    assert!(matches!(
        bad.set_local_certificate_chain_and_key(cert.as_bytes(), other_key.as_bytes()),
        Err(Error::InvalidCertificate(_))
    ));
    assert!(bad.set_local_certificate_chain_and_key(cert.as_bytes(), b"").is_err());
    assert!(bad.set_ca_certificates(key.as_bytes()).is_err(), "a key is not a certificate");
}

#[test]
fn ignoring_one_certificate_error_never_lets_another_through() {
    use cute_network::{SslError, SslErrorKind};
    let _dog = Watchdog::new(Duration::from_secs(60));
    // Expired and self-signed (untrusted): webpki reports only the first it finds.
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server = TlsServer::start(
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        ok_hello,
    );
    let nam = NetworkAccessManager::new();
    let url = format!("https://localhost:{}/", server.port);
    let kinds_ignored = |kinds: &[SslErrorKind]| {
        let reply = nam.get(&NetworkRequest::new(url.as_str()));
        let errors: Vec<SslError> = kinds.iter().map(|k| SslError::new(*k, Vec::new())).collect();
        reply.ignore_ssl_errors_list(&errors);
        wait(&reply);
        reply
    };
    // Only the date ignored: the untrusted issuer still refuses it.
    let reply = kinds_ignored(&[SslErrorKind::CertificateExpired]);
    assert_handshake_failed(&reply);
    assert!(reply.error_string().contains("self-signed"), "{}", reply.error_string());
    // Only the issuer ignored: the date still refuses it.
    let reply = kinds_ignored(&[SslErrorKind::SelfSignedCertificate]);
    assert_handshake_failed(&reply);
    assert!(reply.error_string().contains("expired"), "{}", reply.error_string());
    // Both ignored, the name still checked: through.
    let reply = kinds_ignored(&[SslErrorKind::CertificateExpired, SslErrorKind::SelfSignedCertificate]);
    assert_eq!(reply.error(), cute_network::NetworkError::NoError, "{}", reply.error_string());
    let other_name = nam.get(&NetworkRequest::new(format!("https://127.0.0.1:{}/", server.port)));
    other_name.ignore_ssl_errors_list(&[
        SslError::new(SslErrorKind::CertificateExpired, Vec::new()),
        SslError::new(SslErrorKind::SelfSignedCertificate, Vec::new()),
    ]);
    wait(&other_name);
    assert_handshake_failed(&other_name);
    assert!(other_name.error_string().contains("host name"), "{}", other_name.error_string());
}
