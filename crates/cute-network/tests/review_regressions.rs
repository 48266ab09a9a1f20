//! Regressions found in review: sockets whose slots close them while more news waits,
//! TLS signals in Qt's order, a server listening again, and the cache with hostile headers.

mod common;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::rc::Rc;
use std::time::Duration;

use common::run_until;
use common::sockets::{count, record, self_signed, tls_echo_server};
use cute_network::{SocketState, SslSocket, TcpServer, TcpSocket};
use cute_testkit::Watchdog;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LIMIT: Duration = Duration::from_secs(10);

/// The peer sends data and closes at once: both are read in one go. A `ready_read` slot
/// that closes the socket must not get a second `disconnected` (nor an error and state
/// changes on a socket already unconnected).
#[test]
fn a_ready_read_slot_that_closes_the_socket_hears_disconnected_once() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let remote = TcpListener::bind((LOCALHOST, 0)).unwrap();
    let client = TcpSocket::new();
    client.connect_to_host("127.0.0.1", remote.local_addr().unwrap().port());
    let (mut peer, _) = remote.accept().unwrap();
    assert!(run_until(LIMIT, || client.state() == SocketState::ConnectedState));
    let log = record(&client);
    let read = Rc::new(RefCell::new(Vec::new()));
    let r = read.clone();
    client.ready_read().connect(move |socket: &TcpSocket| {
        r.borrow_mut().extend(socket.read_all());
        socket.disconnect_from_host();
    });
    // Data and the end, both in the kernel before the loop looks.
    peer.write_all(b"bye").unwrap();
    drop(peer);
    assert!(run_until(LIMIT, || count(&log, "disconnected") > 0));
    assert_eq!(*read.borrow(), b"bye");
    assert_eq!(*log.borrow(), ["ClosingState", "UnconnectedState", "disconnected"]);
}

/// A server that stopped accepting at its pending limit, closed and made to listen again,
/// accepts again (Qt's `listen` starts afresh).
#[test]
fn a_server_listening_again_after_its_pending_limit_accepts() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let server = TcpServer::new();
    server.set_max_pending_connections(1);
    server.listen(LOCALHOST, 0).unwrap();
    let first = TcpSocket::new();
    first.connect_to_host("127.0.0.1", server.server_port());
    let second = TcpSocket::new();
    second.connect_to_host("127.0.0.1", server.server_port());
    assert!(run_until(LIMIT, || server.has_pending_connections()
        && first.state() == SocketState::ConnectedState
        && second.state() == SocketState::ConnectedState));
    // The second waits in the backlog: the server is at its limit.
    server.close();
    server.listen(LOCALHOST, 0).unwrap();
    let third = TcpSocket::new();
    third.connect_to_host("127.0.0.1", server.server_port());
    assert!(
        run_until(Duration::from_secs(5), || server.has_pending_connections()),
        "the server listening again never accepted"
    );
}

/// `ignore_ssl_errors` in an `ssl_errors` slot goes on with that connection only: the
/// same socket connecting again is checked again (Qt resets it for each connection).
#[test]
fn ignoring_ssl_errors_holds_for_one_connection_only() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (server, _peers) = tls_echo_server(self_signed().0);
    let socket = SslSocket::new();
    let asked = Rc::new(Cell::new(0));
    let encrypted = Rc::new(Cell::new(0));
    let (a, handle) = (asked.clone(), socket.clone());
    socket.ssl_errors().connect(move |_| {
        a.set(a.get() + 1);
        // Only the first time: the application looked at this certificate once.
        if a.get() == 1 {
            handle.ignore_ssl_errors();
        }
    });
    let e = encrypted.clone();
    socket.encrypted().connect(move |_| e.set(e.get() + 1));
    socket.connect_to_host_encrypted("localhost", server.server_port());
    assert!(run_until(LIMIT, || encrypted.get() == 1));
    assert_eq!(asked.get(), 1);
    socket.disconnect_from_host();
    assert!(run_until(LIMIT, || socket.state() == SocketState::UnconnectedState));

    socket.connect_to_host_encrypted("localhost", server.server_port());
    assert!(run_until(LIMIT, || asked.get() == 2 || encrypted.get() == 2));
    assert_eq!(asked.get(), 2, "the second connection's certificate went unchecked");
    assert!(run_until(LIMIT, || socket.state() == SocketState::UnconnectedState));
    assert_eq!(encrypted.get(), 1);
}

/// Written and closed while connecting: Qt's order is `connected`, `encrypted`, then the
/// close (`disconnected` last), and the data reaches the peer.
#[test]
fn a_tls_socket_closed_while_connecting_is_encrypted_before_it_disconnects() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (configuration, _) = self_signed();
    let (server, peers) = tls_echo_server(configuration);
    let client = SslSocket::new();
    client.ignore_ssl_errors_list(&[cute_network::SslErrorKind::SelfSignedCertificate]);
    let log = record(&client);
    let l = log.clone();
    client.encrypted().connect(move |_| l.borrow_mut().push("encrypted".into()));
    client.connect_to_host_encrypted("localhost", server.server_port());
    client.write(b"line\n").unwrap();
    client.disconnect_from_host();
    assert!(run_until(LIMIT, || count(&log, "disconnected") > 0));
    let log = log.borrow().clone();
    let at = |what: &str| log.iter().position(|e| e == what).unwrap_or(usize::MAX);
    assert!(at("encrypted") < at("disconnected"), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("disconnected"), "{log:?}");
    assert!(
        run_until(LIMIT, || peers
            .borrow()
            .first()
            .is_some_and(|p| p.state() == SocketState::UnconnectedState)),
        "the server side never saw the end"
    );
}

/// As over plain TCP: the TLS peer sends a line and closes; a `ready_read` slot that closes
/// the socket hears `disconnected` once.
#[test]
fn a_tls_ready_read_slot_that_closes_the_socket_hears_disconnected_once() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let (configuration, _) = self_signed();
    let server = TcpServer::new();
    server.listen(LOCALHOST, 0).unwrap();
    let peers: Rc<RefCell<Vec<SslSocket>>> = Rc::default();
    let p = peers.clone();
    server.new_connection().connect(move |server: &TcpServer| {
        while let Some(peer) = server.next_pending_connection() {
            let peer = SslSocket::from(peer);
            peer.set_ssl_configuration(&configuration);
            peer.encrypted().connect(|peer: &TcpSocket| {
                peer.write(b"bye\n").unwrap();
                peer.disconnect_from_host();
            });
            peer.start_server_encryption();
            p.borrow_mut().push(peer);
        }
    });
    let client = SslSocket::new();
    client.ignore_ssl_errors_list(&[cute_network::SslErrorKind::SelfSignedCertificate]);
    let log = record(&client);
    let read = Rc::new(RefCell::new(Vec::new()));
    let r = read.clone();
    client.ready_read().connect(move |socket: &TcpSocket| {
        r.borrow_mut().extend(socket.read_all());
        socket.disconnect_from_host();
    });
    client.connect_to_host_encrypted("localhost", server.server_port());
    assert!(run_until(LIMIT, || count(&log, "disconnected") > 0));
    assert_eq!(*read.borrow(), b"bye\n");
    assert_eq!(count(&log, "disconnected"), 1, "{:?}", log.borrow());
    assert_eq!(count(&log, "SocketError.RemoteHostClosedError"), 0, "{:?}", log.borrow());
}

/// A server's `max-age` too large for a date (httpbin's `/cache/{n}` sends what it is
/// given) is stored as a long lifetime, not a panic on the loop's thread.
#[test]
fn a_huge_max_age_is_stored_without_a_panic() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let dir = std::env::temp_dir().join(format!("cute-review-max-age-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = cute_httpbin::Httpbin::start().unwrap();
    let nam = cute_network::NetworkAccessManager::new();
    nam.set_cache(Some(cute_network::NetworkDiskCache::new(&dir)));
    let url = server.url(&format!("/cache/{}", u64::MAX));
    let first = common::fetch(&nam, url.as_str());
    assert_eq!(first.error(), cute_network::NetworkError::NoError);
    let again = common::fetch(&nam, url.as_str());
    let from_cache = again.attribute(cute_network::Attribute::SourceIsFromCacheAttribute);
    assert_eq!(from_cache.and_then(|v| v.as_bool()), Some(true), "fresh for a long while");
    drop((first, again, nam));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Qt code reacts to `error_occurred` by aborting, or by connecting again: the socket must
/// not then close a second time, nor close the new connection.
#[test]
fn an_error_slot_may_abort_or_connect_again() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let remote = TcpListener::bind((LOCALHOST, 0)).unwrap();
    let port = remote.local_addr().unwrap().port();

    // Aborting in the slot: disconnected once.
    let client = TcpSocket::new();
    client.connect_to_host("127.0.0.1", port);
    let (peer, _) = remote.accept().unwrap();
    assert!(run_until(LIMIT, || client.state() == SocketState::ConnectedState));
    let log = record(&client);
    let handle = client.clone();
    client.error_occurred().connect(move |_| handle.abort());
    drop(peer);
    assert!(run_until(LIMIT, || count(&log, "disconnected") > 0));
    assert_eq!(
        *log.borrow(),
        ["SocketError.RemoteHostClosedError", "ClosingState", "UnconnectedState", "disconnected"]
    );
    client.error_occurred().disconnect_all();
    drop(log);

    // Connecting again in the slot: the new connection is made.
    let again = TcpSocket::new();
    again.connect_to_host("127.0.0.1", port);
    let (peer, _) = remote.accept().unwrap();
    assert!(run_until(LIMIT, || again.state() == SocketState::ConnectedState));
    let connects = Rc::new(RefCell::new(0));
    let c = connects.clone();
    again.connected().connect(move |_| *c.borrow_mut() += 1);
    // The peer closing is the error; the slot connects again.
    let handle = again.clone();
    again.error_occurred().connect(move |_| handle.connect_to_host("127.0.0.1", port));
    drop(peer);
    assert!(run_until(LIMIT, || *connects.borrow() == 1), "the new connection was never made");
    let (_second_peer, _) = remote.accept().unwrap();
    assert_eq!(again.state(), SocketState::ConnectedState);
    again.error_occurred().disconnect_all();
}
