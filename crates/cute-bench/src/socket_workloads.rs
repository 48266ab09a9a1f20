//! The socket workloads: W6, a TCP echo round trip between two loops (cute's `TcpServer`
//! and `TcpSocket` against a raw mio echo in the same run), and C10K, 10,000 concurrent
//! connections on one loop thread (memory per connection).

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use cute_core::{EventLoop, Thread, Timer};
use cute_network::{TcpServer, TcpSocket};

use crate::Figure;

const ROUND_TRIPS: u32 = 20_000;
const MESSAGE: usize = 64;
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// W6: 64 bytes to an echo server on another thread and back, one at a time.
pub(crate) fn echo() -> Vec<Figure> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let server = Thread::start_with(move || {
        let server = TcpServer::new();
        server.listen(LOCALHOST, 0).expect("listen");
        server.new_connection().connect(|server: &TcpServer| {
            while let Some(peer) = server.next_pending_connection() {
                peer.set_low_delay(true).expect("nodelay");
                peer.ready_read().connect(|peer: &TcpSocket| {
                    let data = peer.read_all();
                    peer.write(&data).expect("echo");
                });
                // Kept by the server thread until it ends.
                KEEP.with(|k| k.borrow_mut().push(peer));
            }
        });
        tx.send(server.server_port()).unwrap();
        server
    })
    .expect("server thread");
    let port = rx.recv().unwrap();
    let event_loop = EventLoop::new();
    let client = TcpSocket::new();
    let done = Rc::new(Cell::new(0u32));
    let message = [7u8; MESSAGE];
    client.connected().connect(move |client: &TcpSocket| {
        client.set_low_delay(true).expect("nodelay");
        client.write(&message).expect("write");
    });
    let (d, l) = (done.clone(), event_loop.clone());
    client.ready_read().connect(move |client: &TcpSocket| {
        if client.bytes_available() < MESSAGE {
            return;
        }
        assert_eq!(client.read(MESSAGE), message, "W6: the echo differs");
        d.set(d.get() + 1);
        if d.get() == ROUND_TRIPS {
            l.quit();
        } else {
            client.write(&message).expect("write");
        }
    });
    let start = Instant::now();
    client.connect_to_host("127.0.0.1", port);
    let _dog = Timer::single_shot(Duration::from_secs(60), || std::process::exit(3));
    event_loop.exec();
    let elapsed = start.elapsed();
    assert_eq!(done.get(), ROUND_TRIPS);
    drop(client);
    drop(server);
    let cute = elapsed.as_secs_f64() * 1e6 / f64::from(ROUND_TRIPS);
    vec![
        Figure::new("W6", "cute", cute, "us/roundtrip"),
        Figure::new("W6", "raw", raw_echo(), "us/roundtrip"),
    ]
}

thread_local! {
    static KEEP: std::cell::RefCell<Vec<TcpSocket>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The W6 floor: a mio echo server thread and a mio client, edge-triggered, no buffering.
fn raw_echo() -> f64 {
    use mio::net::{TcpListener, TcpStream};
    use mio::{Events, Interest, Poll, Token};
    let mut listener = TcpListener::bind(SocketAddr::new(LOCALHOST, 0)).unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(8);
        poll.registry().register(&mut listener, Token(0), Interest::READABLE).unwrap();
        let mut peer: Option<TcpStream> = None;
        let mut buf = [0u8; 4096];
        loop {
            poll.poll(&mut events, Some(Duration::from_secs(10))).unwrap();
            for event in &events {
                if event.token() == Token(0) {
                    let (mut stream, _) = listener.accept().unwrap();
                    stream.set_nodelay(true).unwrap();
                    poll.registry().register(&mut stream, Token(1), Interest::READABLE).unwrap();
                    peer = Some(stream);
                    continue;
                }
                let Some(stream) = peer.as_mut() else { continue };
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => stream.write_all(&buf[..n]).unwrap(),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("raw echo: {e}"),
                    }
                }
            }
        }
    });
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let std_stream = std::net::TcpStream::connect(address).unwrap();
    std_stream.set_nonblocking(true).unwrap();
    std_stream.set_nodelay(true).unwrap();
    let mut stream = TcpStream::from_std(std_stream);
    poll.registry().register(&mut stream, Token(0), Interest::READABLE).unwrap();
    let message = [7u8; MESSAGE];
    let mut buf = [0u8; MESSAGE];
    let start = Instant::now();
    for _ in 0..ROUND_TRIPS {
        stream.write_all(&message).unwrap();
        let mut got = 0;
        while got < MESSAGE {
            match stream.read(&mut buf[got..]) {
                Ok(0) => panic!("raw echo: closed"),
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    poll.poll(&mut events, Some(Duration::from_secs(10))).unwrap();
                }
                Err(e) => panic!("raw echo: {e}"),
            }
        }
        assert_eq!(buf, message);
    }
    let elapsed = start.elapsed();
    drop(stream);
    server.join().unwrap();
    elapsed.as_secs_f64() * 1e6 / f64::from(ROUND_TRIPS)
}

/// Connections C10K opens.
const CONNECTIONS: usize = 10_000;

/// C10K: a cute `TcpServer` on this loop thread takes 10,000 connections from a child
/// process, echoes a byte on each, and holds them all; the heap each connection holds
/// (counted by the allocator) and the time to take them all.
pub(crate) fn c10k() -> Vec<Figure> {
    let event_loop = EventLoop::new();
    let server = TcpServer::new();
    server.listen(LOCALHOST, 0).expect("listen");
    server.set_max_pending_connections(1024);
    let held = Rc::new(std::cell::RefCell::new(Vec::with_capacity(CONNECTIONS)));
    let echoed = Rc::new(Cell::new(0usize));
    let (h, e, l) = (held.clone(), echoed.clone(), event_loop.clone());
    server.new_connection().connect(move |server: &TcpServer| {
        while let Some(peer) = server.next_pending_connection() {
            let (e, l) = (e.clone(), l.clone());
            peer.ready_read().connect(move |peer: &TcpSocket| {
                let byte = peer.read_all();
                peer.write(&byte).expect("echo");
                e.set(e.get() + 1);
                if e.get() == CONNECTIONS {
                    l.quit();
                }
            });
            h.borrow_mut().push(peer);
        }
    });
    let (before, rss_before) = (crate::live_bytes(), crate::net_workloads::rss_kib());
    let exe = std::env::current_exe().expect("own path");
    let mut child = std::process::Command::new(exe)
        .args(["c10k-child", &server.server_port().to_string(), &CONNECTIONS.to_string()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("c10k child");
    let start = Instant::now();
    let _dog = Timer::single_shot(Duration::from_secs(120), || std::process::exit(3));
    event_loop.exec();
    let elapsed = start.elapsed();
    let (after, rss_after) = (crate::live_bytes(), crate::net_workloads::rss_kib());
    eprintln!("# C10K RSS {rss_before} -> {rss_after} KiB (the first run in a process is the one to read)");
    assert_eq!(held.borrow().len(), CONNECTIONS, "C10K: every connection held");
    // Closing the child's stdin lets it go; its connections close with it.
    drop(child.stdin.take());
    let _ = child.wait();
    // The heap the connections hold (the kernel's socket buffers are not counted).
    let per_connection = after.saturating_sub(before) as f64 / CONNECTIONS as f64;
    vec![
        Figure::new("C10K", "cute", per_connection, "heap-bytes/connection"),
        Figure::new("C10K", "cute-setup", elapsed.as_secs_f64(), "s"),
    ]
}

/// The C10K child: opens `n` connections to `port`, sends a byte on each and reads its
/// echo, then waits for its standard input to close.
pub(crate) fn c10k_child(port: &str, n: &str) -> i32 {
    let (Ok(port), Ok(n)) = (port.parse::<u16>(), n.parse::<usize>()) else { return 2 };
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = match std::net::TcpStream::connect((LOCALHOST, port)) {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("c10k child: connecting: {e} (raise the open-files limit: ulimit -n 25000)");
                return 1;
            }
        };
        stream.write_all(b"x").expect("send");
        streams.push(stream);
    }
    for stream in &mut streams {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).expect("echo");
    }
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    0
}
