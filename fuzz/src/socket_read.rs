//! The `socket_read` target's logic (shared with `tests/fuzz_regressions.rs` like
//! `harness.rs`): a peer on 127.0.0.1 sends the input to a `TcpSocket` in pieces and
//! closes; the socket's reader takes it with `read_line`, `peek` and `read` as the first
//! input byte decides. Checks: every byte arrives once and in order, `read_line` never
//! returns more than asked and ends at the first newline, `can_read_line` tells the truth,
//! the read buffer limit holds, and the end comes as `RemoteHostClosedError` then one
//! `disconnected`, within the time limit.
#![allow(unreachable_pub)] // public for the fuzz target, private inside the test binary

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::rc::Rc;
use std::time::{Duration, Instant};

use cute::EventLoop;
use cute::network::{SocketError, SocketState, TcpSocket};

/// Built by cargo-fuzz (`--cfg fuzzing`), as opposed to replayed by the tests.
#[allow(unexpected_cfgs)] // reason: only cargo-fuzz sets it
const FUZZING: bool = cfg!(fuzzing);

/// How long one input may take.
const GIVE_UP: Duration = if FUZZING { Duration::from_secs(2) } else { Duration::from_secs(20) };

/// Runs one input.
pub fn socket_read(data: &[u8]) {
    let (mode, payload) = match data.split_first() {
        Some((mode, payload)) => (*mode, payload.to_vec()),
        None => (0, Vec::new()),
    };
    let max_line = usize::from(mode % 16) + 1;
    let piece = usize::from(mode / 16) % 7 + 1;
    let limit = if mode & 0x80 != 0 { 8 } else { 0 };

    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let sent = payload.clone();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the socket connects");
        stream.set_nodelay(true).ok();
        for chunk in sent.chunks(piece) {
            if stream.write_all(chunk).is_err() {
                return;
            }
        }
    });

    let socket = TcpSocket::new();
    socket.set_read_buffer_size(limit);
    let received = Rc::new(RefCell::new(Vec::new()));
    let ended = Rc::new(Cell::new(0));
    let (r, l) = (received.clone(), limit);
    socket.ready_read().connect(move |socket: &TcpSocket| {
        assert!(l == 0 || socket.bytes_available() <= l, "over the read limit: {}", socket.bytes_available());
        let before = socket.peek(usize::MAX);
        assert_eq!(socket.can_read_line(), before.contains(&b'\n'), "can_read_line lies");
        if socket.can_read_line() {
            let line = socket.read_line(max_line);
            let first_newline = before.iter().position(|&b| b == b'\n').expect("a newline");
            assert!(line.len() <= max_line, "read_line returned more than asked");
            assert_eq!(line, before[..line.len()], "read_line took other bytes");
            assert!(line.len() == max_line || line.len() == first_newline + 1, "read_line stopped early");
            r.borrow_mut().extend(line);
        } else {
            r.borrow_mut().extend(socket.read(max_line));
        }
    });
    let e = ended.clone();
    socket.disconnected().connect(move |_| e.set(e.get() + 1));
    let closed = Rc::new(Cell::new(false));
    let c = closed.clone();
    socket.error_occurred().connect(move |&error| {
        assert_eq!(error, SocketError::RemoteHostClosedError, "an unexpected socket error");
        c.set(true);
    });
    socket.connect_to_host("127.0.0.1", port);
    let deadline = Instant::now() + GIVE_UP;
    // Until the peer's close was seen and everything buffered was read.
    while !(ended.get() > 0 && socket.bytes_available() == 0) {
        assert!(Instant::now() < deadline, "socket_read: no end within {GIVE_UP:?}");
        EventLoop::process_events(Duration::from_millis(10));
        // Data left in the buffer after the end: read it as the application would.
        if ended.get() > 0 {
            received.borrow_mut().extend(socket.read(max_line));
        }
    }
    peer.join().expect("the peer thread");
    assert_eq!(*received.borrow(), payload, "bytes lost, doubled or reordered");
    assert_eq!(ended.get(), 1, "disconnected once");
    assert!(closed.get(), "the end reported as RemoteHostClosedError");
    assert_eq!(socket.state(), SocketState::UnconnectedState);
}
