//! Helpers for the socket tests: a record of what a socket emits, and a TLS echo server
//! with a self-signed certificate.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;

use cute_network::{SslConfiguration, SslSocket, TcpServer, TcpSocket};

/// Everything `socket` emits from now on, in order, as text.
pub fn record(socket: &TcpSocket) -> Rc<RefCell<Vec<String>>> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    socket.state_changed().connect(move |state| l.borrow_mut().push(format!("{state:?}")));
    let l = log.clone();
    socket.host_found().connect(move |_| l.borrow_mut().push("host_found".into()));
    let l = log.clone();
    socket.connected().connect(move |_| l.borrow_mut().push("connected".into()));
    let l = log.clone();
    socket.error_occurred().connect(move |e| l.borrow_mut().push(format!("{e}")));
    let l = log.clone();
    socket.disconnected().connect(move |_| l.borrow_mut().push("disconnected".into()));
    log
}

/// How many times `what` is in `log`.
pub fn count(log: &Rc<RefCell<Vec<String>>>, what: &str) -> usize {
    log.borrow().iter().filter(|e| *e == what).count()
}

/// A server-side configuration with a new self-signed certificate for `localhost`, and
/// that certificate (PEM) for clients to trust.
pub fn self_signed() -> (SslConfiguration, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = certified.cert.pem();
    let mut server_side = SslConfiguration::new();
    server_side
        .set_local_certificate_chain_and_key(pem.as_bytes(), certified.signing_key.serialize_pem().as_bytes())
        .unwrap();
    (server_side, pem)
}

/// A TLS server on 127.0.0.1 answering each line with itself; the sockets it keeps.
pub fn tls_echo_server(configuration: SslConfiguration) -> (TcpServer, Rc<RefCell<Vec<SslSocket>>>) {
    let server = TcpServer::new();
    server.listen(IpAddr::V4(Ipv4Addr::LOCALHOST), 0).unwrap();
    let peers: Rc<RefCell<Vec<SslSocket>>> = Rc::default();
    let p = peers.clone();
    server.new_connection().connect(move |server: &TcpServer| {
        while let Some(peer) = server.next_pending_connection() {
            let peer = SslSocket::from(peer);
            peer.set_ssl_configuration(&configuration);
            peer.ready_read().connect(|peer: &TcpSocket| {
                while peer.can_read_line() {
                    let line = peer.read_line(1024);
                    let _ = peer.write(&line);
                }
            });
            peer.start_server_encryption();
            p.borrow_mut().push(peer);
        }
    });
    (server, peers)
}
