//! TLS sockets on loopback: a client to cute-httpbin's https port (trusted, refused,
//! ignored in the slot, expected up front) and a server side presenting its own
//! certificate to a cute client.

mod common;

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::Duration;

use common::run_until;
use common::sockets::{self_signed, tls_echo_server};
use cute_httpbin::Httpbin;
use cute_network::{
    SocketError, SocketState, SslConfiguration, SslErrorKind, SslMode, SslSocket, TcpServer, TcpSocket,
};
use cute_testkit::Watchdog;

const LIMIT: Duration = Duration::from_secs(10);

fn https_server() -> (Httpbin, u16, String) {
    let server = Httpbin::builder().tls(true).start().unwrap();
    let port = server.tls_addr().unwrap().port();
    let pem = server.certificate_pem().unwrap().to_owned();
    (server, port, pem)
}

/// Sends a request for `/get` once encrypted, and gathers the answer until the server
/// closes; counts `connected` and `encrypted`.
struct Exchange {
    answer: Rc<RefCell<Vec<u8>>>,
    connected: Rc<Cell<u32>>,
    encrypted: Rc<Cell<u32>>,
    errors: Rc<RefCell<Vec<SocketError>>>,
}

fn exchange(socket: &SslSocket) -> Exchange {
    let x = Exchange {
        answer: Rc::default(),
        connected: Rc::default(),
        encrypted: Rc::default(),
        errors: Rc::default(),
    };
    let c = x.connected.clone();
    socket.connected().connect(move |_| c.set(c.get() + 1));
    let e = x.encrypted.clone();
    socket.encrypted().connect(move |socket: &TcpSocket| {
        e.set(e.get() + 1);
        socket.write(b"GET /get HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    });
    let a = x.answer.clone();
    socket.ready_read().connect(move |socket: &TcpSocket| a.borrow_mut().extend(socket.read_all()));
    let errors = x.errors.clone();
    socket.error_occurred().connect(move |&error| errors.borrow_mut().push(error));
    x
}

#[test]
fn a_client_speaks_tls_to_a_trusted_server() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (_server, port, pem) = https_server();
    let mut configuration = SslConfiguration::new();
    configuration.set_ca_certificates(pem.as_bytes()).unwrap();
    let socket = SslSocket::new();
    socket.set_ssl_configuration(&configuration);
    let x = exchange(&socket);
    let errors_seen = Rc::new(Cell::new(0));
    let s = errors_seen.clone();
    socket.ssl_errors().connect(move |_| s.set(s.get() + 1));
    socket.connect_to_host_encrypted("localhost", port);
    assert_eq!(socket.mode(), SslMode::SslClientMode);
    assert!(run_until(LIMIT, || x.encrypted.get() == 1));
    assert!(socket.is_encrypted());
    assert!(!socket.peer_certificate_chain().is_empty());
    assert!(run_until(LIMIT, || socket.state() == SocketState::UnconnectedState), "the server closes");
    let answer = String::from_utf8_lossy(&x.answer.borrow()).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"url\": \"https://localhost"), "{answer}");
    assert_eq!((x.connected.get(), errors_seen.get()), (1, 0));
    assert_eq!(*x.errors.borrow(), [SocketError::RemoteHostClosedError]);
}

#[test]
fn an_untrusted_certificate_is_refused_unless_the_slot_ignores_it() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (_server, port, _pem) = https_server();

    // The bundled roots do not know httpbin's certificate: refused.
    let refused = SslSocket::new();
    let x = exchange(&refused);
    let reported = Rc::new(RefCell::new(Vec::new()));
    let r = reported.clone();
    refused.ssl_errors().connect(move |errors| r.borrow_mut().extend(errors.iter().map(|e| e.error())));
    refused.connect_to_host_encrypted("localhost", port);
    assert!(run_until(LIMIT, || !x.errors.borrow().is_empty()));
    assert_eq!(*x.errors.borrow(), [SocketError::SslHandshakeFailedError]);
    assert!(refused.error_string().starts_with("The TLS/SSL handshake failed"), "{}", refused.error_string());
    assert_eq!(*reported.borrow(), [SslErrorKind::SelfSignedCertificate]);
    assert_eq!((x.encrypted.get(), refused.state()), (0, SocketState::UnconnectedState));
    assert!(x.answer.borrow().is_empty(), "nothing was read over an unverified connection");

    // The slot ignores it: the handshake is made again and goes through; `connected`
    // came once.
    let ignored = SslSocket::new();
    let x = exchange(&ignored);
    let asked = Rc::new(Cell::new(0));
    let (a, handle) = (asked.clone(), ignored.clone());
    ignored.ssl_errors().connect(move |errors| {
        a.set(a.get() + 1);
        if errors.iter().all(|e| e.error() == SslErrorKind::SelfSignedCertificate) {
            handle.ignore_ssl_errors();
        }
    });
    ignored.connect_to_host_encrypted("localhost", port);
    assert!(run_until(LIMIT, || x.encrypted.get() == 1));
    assert!(run_until(LIMIT, || ignored.state() == SocketState::UnconnectedState));
    assert!(String::from_utf8_lossy(&x.answer.borrow()).starts_with("HTTP/1.1 200"));
    assert_eq!((asked.get(), x.connected.get()), (1, 1));
    drop(ignored);

    // Expected up front: no ssl_errors at all.
    let expected = SslSocket::new();
    expected.ignore_ssl_errors_list(&[SslErrorKind::SelfSignedCertificate]);
    let x = exchange(&expected);
    let asked = Rc::new(Cell::new(0));
    let a = asked.clone();
    expected.ssl_errors().connect(move |_| a.set(a.get() + 1));
    expected.connect_to_host_encrypted("127.0.0.1", port);
    assert!(run_until(LIMIT, || x.encrypted.get() == 1));
    assert_eq!(asked.get(), 0);

    // A list of other kinds does not ignore this one.
    let other_kinds = SslSocket::new();
    other_kinds.ignore_ssl_errors_list(&[SslErrorKind::HostNameMismatch, SslErrorKind::CertificateExpired]);
    let x = exchange(&other_kinds);
    other_kinds.connect_to_host_encrypted("localhost", port);
    assert!(run_until(LIMIT, || !x.errors.borrow().is_empty()));
    assert_eq!(*x.errors.borrow(), [SocketError::SslHandshakeFailedError]);
    assert_eq!(x.encrypted.get(), 0);
}

#[test]
fn a_server_side_socket_presents_its_certificate() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let (server_side, cert_pem) = self_signed();
    let (server, peers) = tls_echo_server(server_side);

    let mut client_side = SslConfiguration::new();
    client_side.set_ca_certificates(cert_pem.as_bytes()).unwrap();
    let client = SslSocket::new();
    client.set_ssl_configuration(&client_side);
    client.connect_to_host_encrypted("localhost", server.server_port());
    // Written before the handshake: sent once encrypted.
    client.write(b"secret line\n").unwrap();
    assert!(run_until(LIMIT, || client.can_read_line()));
    assert_eq!(client.read_line(100), b"secret line\n");
    assert!(client.is_encrypted());
    assert!(peers.borrow()[0].is_encrypted());
    assert_eq!(peers.borrow()[0].mode(), SslMode::SslServerMode);
    assert!(peers.borrow()[0].peer_certificate_chain().is_empty(), "the client presented none");
    assert_eq!(client.peer_certificate_chain().len(), 1);

    // A server socket without a certificate cannot start.
    let bare = TcpServer::new();
    bare.listen(IpAddr::V4(Ipv4Addr::LOCALHOST), 0).unwrap();
    let plain = TcpSocket::new();
    plain.connect_to_host("127.0.0.1", bare.server_port());
    assert!(run_until(LIMIT, || bare.has_pending_connections()));
    let accepted = SslSocket::from(bare.next_pending_connection().unwrap());
    let failed = Rc::new(Cell::new(None));
    let f = failed.clone();
    accepted.error_occurred().connect(move |&e| f.set(Some(e)));
    accepted.start_server_encryption();
    assert_eq!(failed.get(), Some(SocketError::SslHandshakeFailedError));
    assert!(
        accepted.error_string().contains("set_local_certificate_chain_and_key"),
        "{}",
        accepted.error_string()
    );
    assert_eq!(accepted.state(), SocketState::UnconnectedState);
}
