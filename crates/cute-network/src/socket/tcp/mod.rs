//! [`TcpSocket`] (Qt's `QTcpSocket`): a non-blocking TCP stream on the loop, with Qt's
//! states, signals and buffered reads and writes.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::rc::{Rc, Weak};

use cute_core::mio::{Interest, net::TcpStream};
use cute_core::{FutureWatcher, IoWatcher, Signal};

use super::buffer::Bytes;
use super::kinds::{DEFAULT_WRITE_BUFFER_LIMIT, SocketError, SocketState};

mod engine;
pub(crate) mod ssl;
pub(crate) mod tls;

/// The most read from the kernel in one call.
const READ_CHUNK: usize = 64 * 1024;

/// A TCP connection on the loop (Qt's `QTcpSocket`): connect with
/// [`connect_to_host`](Self::connect_to_host) (the name is resolved off the loop's thread),
/// or take one from a [`TcpServer`](crate::TcpServer); then
/// [`ready_read`](Self::ready_read) when data arrives, [`read`](Self::read) /
/// [`read_all`](Self::read_all) / [`read_line`](Self::read_line) to take it, and
/// [`write`](Self::write), which buffers what the kernel does not take at once and sends it
/// as the connection allows ([`bytes_written`](Self::bytes_written) reports it).
///
/// Signals, in Qt's order: [`state_changed`](Self::state_changed) at each step,
/// [`host_found`](Self::host_found), [`connected`](Self::connected); on failure
/// [`error_occurred`](Self::error_occurred) (after the state went back to unconnected, for a
/// failed connection; before it, for a connection that ended); [`disconnected`](Self::disconnected)
/// when a connection ends. Data received before the end stays readable after it.
///
/// Where Qt is poor, cute does better: writes are buffered only up to a limit
/// ([`set_write_buffer_limit`](Self::set_write_buffer_limit), 64 MiB by default; Qt has
/// none), and a read buffer limit pauses reading (back-pressure to the peer) instead of
/// growing without end.
///
/// `TcpSocket` is a handle: clones are the same socket. Slots get the socket as their
/// argument; one that captures a clone of the socket it is connected to keeps it alive
/// (a cycle): capture nothing, or drop the clone when done.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{CoreApplication, Timer};
/// use cute_network::{TcpServer, TcpSocket};
///
/// let app = CoreApplication::new();
/// let server = TcpServer::new();
/// server.listen("127.0.0.1".parse().unwrap(), 0).unwrap();
/// server.new_connection().connect(|server: &TcpServer| {
///     while let Some(peer) = server.next_pending_connection() {
///         peer.write(b"hello\n").unwrap();
///         peer.disconnect_from_host();
///     }
/// });
/// let socket = TcpSocket::new();
/// socket.ready_read().connect(|socket: &TcpSocket| {
///     if socket.can_read_line() {
///         assert_eq!(socket.read_line(1024), b"hello\n");
///         CoreApplication::quit();
///     }
/// });
/// socket.connect_to_host("localhost", server.server_port());
/// Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1)); // watchdog
/// assert_eq!(app.exec(), 0);
/// ```
#[doc(alias = "QTcpSocket")]
#[doc(alias = "QAbstractSocket")]
#[derive(Clone)]
pub struct TcpSocket {
    inner: Rc<Inner>,
}

struct Inner {
    state: Cell<SocketState>,
    error: Cell<SocketError>,
    error_string: RefCell<String>,
    conn: RefCell<Option<Conn>>,
    read: RefCell<Bytes>,
    write: RefCell<Bytes>,
    /// 0: unlimited (Qt's default).
    read_limit: Cell<usize>,
    write_limit: Cell<usize>,
    /// Reading stopped at the read limit; resumed when the application reads.
    paused: Cell<bool>,
    /// `disconnect_from_host` was called: close once everything is written.
    closing: Cell<bool>,
    /// Addresses still to try, and the name they came from.
    addresses: RefCell<VecDeque<SocketAddr>>,
    peer_name: RefCell<String>,
    lookup: RefCell<Option<FutureWatcher<io::Result<Vec<SocketAddr>>>>>,
    in_ready_read: Cell<bool>,
    /// Bytes written and not reported through `bytes_written` yet.
    unreported: Cell<u64>,
    signals: OnceCell<Box<Signals>>,
    /// TLS on the connection (`SslSocket`), once asked for.
    tls: RefCell<Option<Box<tls::TlsState>>>,
    /// A TLS connection being made again (certificate errors ignored): the application
    /// sees it connected all along.
    reconnecting: Cell<bool>,
}

/// The connection: the stream and its registration with the loop.
struct Conn {
    stream: TcpStream,
    watcher: IoWatcher,
    interest: Interest,
}

#[derive(Default)]
struct Signals {
    connected: Signal<TcpSocket>,
    disconnected: Signal<TcpSocket>,
    ready_read: Signal<TcpSocket>,
    bytes_written: Signal<u64>,
    error_occurred: Signal<SocketError>,
    state_changed: Signal<SocketState>,
    host_found: Signal<TcpSocket>,
    encrypted: Signal<TcpSocket>,
    ssl_errors: Signal<Vec<crate::ssl::SslError>>,
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("state", &self.state())
            .field("peer", &self.peer_address())
            .field("bytes_available", &self.bytes_available())
            .field("bytes_to_write", &self.bytes_to_write())
            .finish()
    }
}

impl PartialEq for TcpSocket {
    /// The same socket (handles compare by identity).
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for TcpSocket {}

impl Default for TcpSocket {
    fn default() -> Self {
        Self::new()
    }
}

impl TcpSocket {
    /// An unconnected socket.
    pub fn new() -> TcpSocket {
        TcpSocket {
            inner: Rc::new(Inner {
                state: Cell::new(SocketState::UnconnectedState),
                error: Cell::new(SocketError::NoError),
                error_string: RefCell::default(),
                conn: RefCell::default(),
                read: RefCell::default(),
                write: RefCell::default(),
                read_limit: Cell::new(0),
                write_limit: Cell::new(DEFAULT_WRITE_BUFFER_LIMIT),
                paused: Cell::new(false),
                closing: Cell::new(false),
                addresses: RefCell::default(),
                peer_name: RefCell::default(),
                lookup: RefCell::default(),
                in_ready_read: Cell::new(false),
                unreported: Cell::new(0),
                signals: OnceCell::new(),
                tls: RefCell::default(),
                reconnecting: Cell::new(false),
            }),
        }
    }

    /// A connected socket for a stream a listener accepted.
    pub(crate) fn accepted(stream: TcpStream) -> io::Result<TcpSocket> {
        let socket = TcpSocket::new();
        socket.attach(stream, Interest::READABLE)?;
        socket.inner.state.set(SocketState::ConnectedState);
        Ok(socket)
    }

    fn signals(&self) -> &Signals {
        self.inner.signals.get_or_init(Box::default)
    }

    fn emit<T: 'static>(&self, signal: impl FnOnce(&Signals) -> &Signal<T>, value: &T) {
        if let Some(signals) = self.inner.signals.get() {
            signal(signals).emit(value);
        }
    }

    /// Emitted when the connection is made (Qt's `connected`).
    pub fn connected(&self) -> &Signal<TcpSocket> {
        &self.signals().connected
    }

    /// Emitted when the connection has ended (Qt's `disconnected`).
    pub fn disconnected(&self) -> &Signal<TcpSocket> {
        &self.signals().disconnected
    }

    /// Emitted when new data can be read (Qt's `readyRead`); not again while a slot of it
    /// runs (a nested loop in the slot does not re-emit it, as in Qt).
    pub fn ready_read(&self) -> &Signal<TcpSocket> {
        &self.signals().ready_read
    }

    /// Emitted with the number of bytes the kernel took since the last emission (Qt's
    /// `bytesWritten`), from the loop, never inside [`write`](Self::write).
    pub fn bytes_written(&self) -> &Signal<u64> {
        &self.signals().bytes_written
    }

    /// Emitted when an error occurs (Qt's `errorOccurred`); [`error_string`](Self::error_string)
    /// describes it.
    pub fn error_occurred(&self) -> &Signal<SocketError> {
        &self.signals().error_occurred
    }

    /// Emitted when the state changes (Qt's `stateChanged`).
    pub fn state_changed(&self) -> &Signal<SocketState> {
        &self.signals().state_changed
    }

    /// Emitted when the host name was resolved (Qt's `hostFound`).
    pub fn host_found(&self) -> &Signal<TcpSocket> {
        &self.signals().host_found
    }

    /// The state (Qt's `state`).
    pub fn state(&self) -> SocketState {
        self.inner.state.get()
    }

    /// The last error (Qt's `error`); `NoError` if there was none.
    pub fn error(&self) -> SocketError {
        self.inner.error.get()
    }

    /// The last error, in words (Qt's `errorString`).
    pub fn error_string(&self) -> String {
        match &*self.inner.error_string.borrow() {
            text if text.is_empty() => "Unknown error".to_owned(),
            text => text.clone(),
        }
    }

    /// Whether it is connected, or being connected or closed (Qt's `isValid` and
    /// `isOpen` together).
    pub fn is_open(&self) -> bool {
        self.state() != SocketState::UnconnectedState
    }

    /// The peer's address, while connected.
    pub fn peer_address(&self) -> Option<SocketAddr> {
        self.inner.conn.borrow().as_ref().and_then(|c| c.stream.peer_addr().ok())
    }

    /// The name given to [`connect_to_host`](Self::connect_to_host) (Qt's `peerName`).
    pub fn peer_name(&self) -> String {
        self.inner.peer_name.borrow().clone()
    }

    /// The local address, while connected.
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.inner.conn.borrow().as_ref().and_then(|c| c.stream.local_addr().ok())
    }

    /// Sets Qt's `LowDelayOption` (`TCP_NODELAY`: small writes go out at once).
    ///
    /// # Errors
    ///
    /// The socket is not connected, or the system refuses.
    pub fn set_low_delay(&self, on: bool) -> io::Result<()> {
        match &*self.inner.conn.borrow() {
            Some(conn) => conn.stream.set_nodelay(on),
            None => Err(io::Error::from(io::ErrorKind::NotConnected)),
        }
    }

    /// Connects to `host` (a name or an address) on `port` (Qt's `connectToHost`). A name
    /// is resolved on the core's thread pool; each address found is tried in turn. The
    /// outcome arrives as signals; a socket that is not unconnected reports
    /// `OperationError` and stays as it is.
    pub fn connect_to_host(&self, host: &str, port: u16) {
        if self.state() != SocketState::UnconnectedState {
            self.fail_soon(SocketError::OperationError, "The socket is already connecting or connected");
            return;
        }
        self.reset();
        *self.inner.peer_name.borrow_mut() = host.to_owned();
        self.set_state(SocketState::HostLookupState);
        let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
        if let Some(ip) = literal {
            self.inner.addresses.borrow_mut().push_back(SocketAddr::new(ip, port));
            self.emit(|s| &s.host_found, self);
            self.connect_next();
            return;
        }
        let name = host.to_owned();
        let lookup = cute_core::concurrent::run(move || {
            (name.as_str(), port).to_socket_addrs().map(|found| found.collect::<Vec<_>>())
        });
        let weak = Rc::downgrade(&self.inner);
        lookup.finished().connect(move |()| {
            if let Some(socket) = upgrade(&weak) {
                socket.resolved();
            }
        });
        *self.inner.lookup.borrow_mut() = Some(lookup);
    }

    /// Queues `data` for sending (Qt's `write`): what the kernel takes now goes at once,
    /// the rest when the connection allows. Allowed while connecting (sent once
    /// connected). Returns how many bytes were accepted: all of them, unless the write
    /// buffer would pass its limit (then what fits).
    ///
    /// # Errors
    ///
    /// `NotConnected` when the socket is unconnected or closing; `WouldBlock` when the
    /// write buffer is full (wait for [`bytes_written`](Self::bytes_written)).
    pub fn write(&self, data: &[u8]) -> io::Result<usize> {
        match self.state() {
            SocketState::HostLookupState | SocketState::ConnectingState | SocketState::ConnectedState => {}
            _ => return Err(io::Error::new(io::ErrorKind::NotConnected, "the socket is not connected")),
        }
        if self.inner.closing.get() {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "the socket is closing"));
        }
        let buffered = self.inner.write.borrow().len();
        let room = self.inner.write_limit.get().saturating_sub(buffered);
        if room == 0 && !data.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the write buffer is full: wait for bytes_written before writing more",
            ));
        }
        let accepted = data.len().min(room);
        let data = &data[..accepted];
        let mut direct = 0;
        // Over TLS, everything goes through the session (`flush`).
        let tls = self.inner.tls.borrow().is_some();
        if buffered == 0 && self.state() == SocketState::ConnectedState && !tls {
            let mut conn = self.inner.conn.borrow_mut();
            if let Some(conn) = conn.as_mut() {
                // Straight to the kernel; an error shows at the next readiness.
                while direct < data.len() {
                    match conn.stream.write(&data[direct..]) {
                        Ok(n) => direct += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            }
        }
        if direct < data.len() {
            self.inner.write.borrow_mut().push(data[direct..].to_vec());
            if self.state() == SocketState::ConnectedState {
                if tls {
                    self.flush();
                } else {
                    self.set_interest();
                }
            }
        }
        self.report(direct as u64);
        Ok(accepted)
    }

    /// Bytes that can be read now (Qt's `bytesAvailable`).
    pub fn bytes_available(&self) -> usize {
        self.inner.read.borrow().len()
    }

    /// Bytes buffered for writing (Qt's `bytesToWrite`).
    pub fn bytes_to_write(&self) -> usize {
        self.inner.write.borrow().len()
    }

    /// Takes up to `max` bytes (Qt's `read`).
    pub fn read(&self, max: usize) -> Vec<u8> {
        let data = self.inner.read.borrow_mut().take(max);
        self.resume_reading();
        data
    }

    /// Takes everything readable (Qt's `readAll`).
    pub fn read_all(&self) -> Vec<u8> {
        self.read(usize::MAX)
    }

    /// Takes a line with its `\n`, at most `max` bytes (Qt's `readLine`); everything
    /// readable when there is no whole line.
    pub fn read_line(&self, max: usize) -> Vec<u8> {
        let data = self.inner.read.borrow_mut().take_line(max);
        self.resume_reading();
        data
    }

    /// Whether a whole line can be read (Qt's `canReadLine`).
    pub fn can_read_line(&self) -> bool {
        self.inner.read.borrow().find_newline().is_some()
    }

    /// Up to `max` bytes, left in the buffer (Qt's `peek`).
    pub fn peek(&self, max: usize) -> Vec<u8> {
        self.inner.read.borrow().peek(max)
    }

    /// Limits the bytes buffered for reading; 0 is unlimited (Qt's `setReadBufferSize`).
    /// When the buffer is full, reading pauses (the peer is held back by TCP) until the
    /// application reads.
    pub fn set_read_buffer_size(&self, size: usize) {
        self.inner.read_limit.set(size);
        self.resume_reading();
    }

    /// The read buffer limit (0: unlimited).
    pub fn read_buffer_size(&self) -> usize {
        self.inner.read_limit.get()
    }

    /// Limits the bytes buffered for writing (64 MiB by default; not in Qt, where the
    /// buffer grows without end).
    pub fn set_write_buffer_limit(&self, limit: usize) {
        self.inner.write_limit.set(limit);
    }

    /// Closes the connection once everything buffered is written (Qt's
    /// `disconnectFromHost`); at once if nothing is. While connecting, the connection
    /// is closed as soon as it is made and what was written is out (use
    /// [`abort`](Self::abort) to give up the attempt).
    pub fn disconnect_from_host(&self) {
        match self.state() {
            SocketState::ConnectedState if !self.inner.write.borrow().is_empty() => {
                self.inner.closing.set(true);
                self.set_state(SocketState::ClosingState);
            }
            SocketState::ConnectedState => {
                // Over TLS, the peer is told the session ends (Qt's order).
                self.send_close_notify();
                self.close_now(true)
            }
            // Qt's pending close: once connected, what was written goes out, then it closes.
            SocketState::HostLookupState | SocketState::ConnectingState => self.inner.closing.set(true),
            _ => {}
        }
    }

    /// Closes the connection as [`disconnect_from_host`](Self::disconnect_from_host), and
    /// discards what was not read (Qt's `close`).
    pub fn close(&self) {
        self.disconnect_from_host();
        self.inner.read.borrow_mut().clear();
    }

    /// Ends the connection at once, discarding what was not written (Qt's `abort`).
    pub fn abort(&self) {
        self.inner.write.borrow_mut().clear();
        self.inner.closing.set(false);
        self.inner.lookup.borrow_mut().take();
        self.inner.addresses.borrow_mut().clear();
        if self.state() != SocketState::UnconnectedState {
            let was_connected =
                matches!(self.state(), SocketState::ConnectedState | SocketState::ClosingState);
            self.close_now(was_connected);
        }
    }
}

fn upgrade(weak: &Weak<Inner>) -> Option<TcpSocket> {
    weak.upgrade().map(|inner| TcpSocket { inner })
}
