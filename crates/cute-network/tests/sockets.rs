//! Sockets on the loop, on loopback: a TCP echo with Qt's state and signal order, refused
//! and unresolvable hosts, back-pressure both ways, the server's pending limit, abort,
//! and UDP datagrams.

mod common;

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use common::run_until;
use common::sockets::record;
use cute_network::{SocketError, SocketState, TcpServer, TcpSocket, UdpSocket};
use cute_testkit::Watchdog;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LIMIT: Duration = Duration::from_secs(10);

fn server() -> TcpServer {
    let server = TcpServer::new();
    server.listen(LOCALHOST, 0).unwrap();
    assert!(server.is_listening());
    server
}

/// Takes the server's next connection, waiting for it.
fn accept(server: &TcpServer) -> TcpSocket {
    assert!(run_until(LIMIT, || server.has_pending_connections()), "no connection came");
    server.next_pending_connection().unwrap()
}

#[test]
fn an_echo_over_tcp_in_qts_order_of_signals() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let server = server();
    let announced = Rc::new(Cell::new(0));
    let a = announced.clone();
    server.new_connection().connect(move |_| a.set(a.get() + 1));

    let client = TcpSocket::new();
    let log = record(&client);
    client.connect_to_host("localhost", server.server_port());
    assert_eq!(client.state(), SocketState::HostLookupState, "the name is looked up off the loop");
    assert_eq!(client.peer_name(), "localhost");
    // Written while connecting: sent once connected.
    assert_eq!(client.write(b"hello\n").unwrap(), 6);
    let peer = accept(&server);
    assert_eq!(announced.get(), 1);
    assert_eq!(peer.state(), SocketState::ConnectedState);
    peer.ready_read().connect(|peer: &TcpSocket| {
        while peer.can_read_line() {
            let line = peer.read_line(1024);
            peer.write(&line).unwrap();
        }
    });
    assert!(run_until(LIMIT, || client.can_read_line()));
    assert_eq!(client.read_line(1024), b"hello\n");
    assert_eq!(
        *log.borrow(),
        ["HostLookupState", "host_found", "ConnectingState", "ConnectedState", "connected"],
    );
    assert_eq!(client.peer_address().unwrap().port(), server.server_port());
    assert_eq!(peer.peer_address(), client.local_address());

    // Several writes, one line split across them; peek leaves the bytes.
    let written = Rc::new(Cell::new(0u64));
    let w = written.clone();
    client.bytes_written().connect(move |&n| w.set(w.get() + n));
    client.write(b"one ").unwrap();
    client.write(b"two\nthree\n").unwrap();
    assert!(run_until(LIMIT, || client.bytes_available() == 14));
    assert_eq!(written.get(), 14, "bytes_written counts what went out");
    assert_eq!(client.peek(3), b"one");
    assert_eq!(client.read_line(1024), b"one two\n");
    assert_eq!(client.read_all(), b"three\n");

    // The client leaves: the peer hears the remote close, then its end.
    let peer_log = record(&peer);
    client.disconnect_from_host();
    assert_eq!(client.state(), SocketState::UnconnectedState);
    assert_eq!(log.borrow().last().unwrap(), "disconnected");
    assert!(run_until(LIMIT, || peer.state() == SocketState::UnconnectedState));
    assert_eq!(
        *peer_log.borrow(),
        ["SocketError.RemoteHostClosedError", "ClosingState", "UnconnectedState", "disconnected"],
    );
    assert_eq!(peer.error_string(), "The remote host closed the connection");
    assert!(client.write(b"late").is_err(), "not connected");
}

#[test]
fn a_refused_connection_and_an_unknown_host_fail_with_qts_errors() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    // A port nobody listens on: bound, then let go.
    let port = std::net::TcpListener::bind((LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let client = TcpSocket::new();
    let log = record(&client);
    client.connect_to_host("127.0.0.1", port);
    assert!(run_until(LIMIT, || client.error() != SocketError::NoError));
    assert_eq!(client.error(), SocketError::ConnectionRefusedError);
    assert_eq!(client.error_string(), "Connection refused");
    assert_eq!(
        *log.borrow(),
        [
            "HostLookupState",
            "host_found",
            "ConnectingState",
            "UnconnectedState",
            "SocketError.ConnectionRefusedError"
        ],
        "unconnected first, then the error (Qt's order); never connected",
    );

    let lost = TcpSocket::new();
    lost.connect_to_host("", 80);
    assert!(run_until(LIMIT, || lost.error() != SocketError::NoError));
    assert_eq!(lost.error(), SocketError::HostNotFoundError);
    assert_eq!(lost.state(), SocketState::UnconnectedState);

    // Connecting twice: an error, the first attempt goes on.
    let server = server();
    let twice = TcpSocket::new();
    twice.connect_to_host("127.0.0.1", server.server_port());
    twice.connect_to_host("127.0.0.1", server.server_port());
    assert!(run_until(LIMIT, || twice.error() == SocketError::OperationError));
    assert!(run_until(LIMIT, || twice.state() == SocketState::ConnectedState));

    // Closed while connecting (Qt's pending close): connected, what was written goes out,
    // then the connection ends.
    let hasty = TcpSocket::new();
    let log = record(&hasty);
    hasty.connect_to_host("localhost", server.server_port());
    hasty.write(b"last words\n").unwrap();
    hasty.disconnect_from_host();
    assert!(hasty.write(b"more").is_err(), "closing: no more writes");
    let _ = accept(&server); // the `twice` socket's
    let peer = accept(&server);
    assert!(run_until(LIMIT, || hasty.state() == SocketState::UnconnectedState));
    assert!(run_until(LIMIT, || peer.can_read_line()));
    assert_eq!(peer.read_line(100), b"last words\n");
    assert_eq!(log.borrow().last().unwrap(), "disconnected");
    assert!(log.borrow().contains(&"connected".to_owned()));

    // Aborted while connecting: back to unconnected at once, nothing more.
    let aborted = TcpSocket::new();
    let log = record(&aborted);
    aborted.connect_to_host("localhost", server.server_port());
    aborted.abort();
    assert_eq!(aborted.state(), SocketState::UnconnectedState);
    for _ in 0..5 {
        cute_core::EventLoop::process_events(Duration::from_millis(2));
    }
    assert!(!log.borrow().contains(&"connected".to_owned()), "{:?}", log.borrow());
}

#[test]
fn reading_pauses_at_the_read_limit_and_writes_stop_at_the_write_limit() {
    let _dog = Watchdog::new(Duration::from_secs(60));
    let server = server();
    let client = TcpSocket::new();
    client.connect_to_host("127.0.0.1", server.server_port());
    let peer = accept(&server);
    assert!(run_until(LIMIT, || client.state() == SocketState::ConnectedState));

    // The peer holds at most 4 KiB: the rest waits in the kernels (TCP's back-pressure).
    peer.set_read_buffer_size(4096);
    let most = Rc::new(Cell::new(0));
    let m = most.clone();
    peer.ready_read().connect(move |peer: &TcpSocket| m.set(m.get().max(peer.bytes_available())));
    let total = 8 * 1024 * 1024;
    let payload: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
    let offset = Cell::new(0);
    let received = RefCell::new(Vec::with_capacity(total));
    assert!(run_until(Duration::from_secs(30), || {
        if offset.get() < total {
            // The write buffer takes what fits (64 MiB by default: all of it).
            offset.set(offset.get() + client.write(&payload[offset.get()..]).unwrap_or(0));
        }
        received.borrow_mut().extend(peer.read(1500));
        received.borrow().len() == total
    }));
    assert_eq!(*received.borrow(), payload);
    assert!(most.get() <= 4096, "the read buffer stayed within its limit: {}", most.get());

    // A 1 MiB write limit with a peer that does not read: writes stop with WouldBlock.
    client.set_write_buffer_limit(1024 * 1024);
    peer.set_read_buffer_size(1);
    let mut accepted = 0;
    let refused = loop {
        match client.write(&payload[..256 * 1024]) {
            Ok(n) => accepted += n,
            Err(e) => break e,
        }
        assert!(accepted < 64 * 1024 * 1024, "the write buffer never filled");
        cute_core::EventLoop::process_events(Duration::ZERO);
    };
    assert_eq!(refused.kind(), std::io::ErrorKind::WouldBlock);
    assert_eq!(client.bytes_to_write(), 1024 * 1024);
    client.abort();
    assert_eq!(client.bytes_to_write(), 0);
}

#[test]
fn the_server_holds_at_most_its_pending_limit() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let server = server();
    server.set_max_pending_connections(2);
    let clients: Vec<TcpSocket> = (0..5)
        .map(|_| {
            let client = TcpSocket::new();
            client.connect_to_host("127.0.0.1", server.server_port());
            client
        })
        .collect();
    // The kernel completes all five handshakes; the server takes in two.
    assert!(run_until(LIMIT, || clients.iter().all(|c| c.state() == SocketState::ConnectedState)));
    assert!(run_until(LIMIT, || server.has_pending_connections()));
    for _ in 0..5 {
        cute_core::EventLoop::process_events(Duration::from_millis(5));
    }
    let taken = RefCell::new(Vec::new());
    while let Some(peer) = server.next_pending_connection() {
        taken.borrow_mut().push(peer);
        if taken.borrow().len() == 2 {
            break;
        }
    }
    assert_eq!(taken.borrow().len(), 2);
    assert!(!server.has_pending_connections(), "no more than two were taken in");
    // Taking them lets the rest in.
    assert!(run_until(LIMIT, || {
        while let Some(peer) = server.next_pending_connection() {
            taken.borrow_mut().push(peer);
        }
        taken.borrow().len() == 5
    }));
    server.close();
    assert!(!server.is_listening());
    assert_eq!(server.server_port(), 0);
    let busy = TcpServer::new();
    let in_use = TcpServer::new();
    in_use.listen(LOCALHOST, 0).unwrap();
    assert!(busy.listen(LOCALHOST, in_use.server_port()).is_err());
    assert_eq!(busy.server_error(), SocketError::AddressInUseError);
}

#[test]
fn udp_datagrams_arrive_whole_with_their_sender() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let receiver = UdpSocket::new();
    receiver.bind(LOCALHOST, 0).unwrap();
    assert_eq!(receiver.state(), SocketState::BoundState);
    let to: SocketAddr = receiver.local_address().unwrap();
    let signals = Rc::new(Cell::new(0));
    let s = signals.clone();
    receiver.ready_read().connect(move |_| s.set(s.get() + 1));
    let sender = UdpSocket::new();
    for payload in [&b"first"[..], b"second", b""] {
        assert_eq!(sender.write_datagram(payload, to).unwrap(), payload.len());
    }
    let from = sender.local_address().unwrap();
    assert!(run_until(LIMIT, || receiver.pending_datagram_size().is_some() && signals.get() > 0));
    let got = RefCell::new(Vec::new());
    assert!(run_until(LIMIT, || {
        while let Some(datagram) = receiver.receive_datagram() {
            assert_eq!(datagram.sender().port(), from.port());
            got.borrow_mut().push(datagram.into_data());
        }
        got.borrow().len() == 3
    }));
    assert_eq!(*got.borrow(), [b"first".to_vec(), b"second".to_vec(), Vec::new()]);

    sender.write_datagram(b"truncated", to).unwrap();
    assert!(run_until(LIMIT, || receiver.has_pending_datagrams()));
    let (data, _) = receiver.read_datagram(4).unwrap();
    assert_eq!(data, b"trun");

    let too_big = vec![0u8; 70_000];
    assert!(sender.write_datagram(&too_big, to).is_err());
    assert_eq!(sender.error(), SocketError::DatagramTooLargeError);
    assert!(receiver.bind(LOCALHOST, 0).is_err(), "bound already");
}

#[test]
fn a_task_awaits_a_socket_as_qasync_code_does() {
    let _dog = Watchdog::new(Duration::from_secs(30));
    let server = server();
    let port = server.server_port();
    let echo = cute_core::spawn_local(async move {
        let client = TcpSocket::new();
        let connected = client.connected().next();
        client.connect_to_host("127.0.0.1", port);
        connected.await.expect("connected");
        client.write(b"ping\n").unwrap();
        // `await reader.readline()`: the next ready_read, until a whole line is in.
        while !client.can_read_line() {
            client.ready_read().next().await.expect("more data");
        }
        client.read_line(100)
    });
    let peer = accept(&server);
    peer.ready_read().connect(|peer: &TcpSocket| {
        let data = peer.read_all();
        peer.write(&data).unwrap();
    });
    let line = cute_core::block_on(cute_core::timeout(LIMIT, echo)).expect("in time").expect("the task");
    assert_eq!(line, b"ping\n");
}
