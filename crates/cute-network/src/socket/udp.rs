//! [`UdpSocket`] (Qt's `QUdpSocket`): datagrams on the loop.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::{Rc, Weak};
use std::time::Duration;

use cute_core::mio::{Interest, net::UdpSocket as MioUdp};
use cute_core::{IoWatcher, Signal, Timer};

use super::kinds::{SocketError, SocketState};

/// The most datagrams held unread; beyond it reading pauses (the kernel then drops what
/// does not fit in its own buffer, as UDP does) until the application reads.
const MAX_QUEUED: usize = 4096;

/// The largest datagram (UDP over IPv4 and IPv6 without jumbograms).
const MAX_DATAGRAM: usize = 65_535;

/// A datagram and where it came from (Qt's `QNetworkDatagram`).
#[doc(alias = "QNetworkDatagram")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDatagram {
    data: Vec<u8>,
    sender: SocketAddr,
}

impl NetworkDatagram {
    /// The payload (Qt's `data`).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The payload, taken.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The sender's address and port (Qt's `senderAddress` and `senderPort`).
    pub fn sender(&self) -> SocketAddr {
        self.sender
    }
}

/// A UDP socket on the loop (Qt's `QUdpSocket`): [`bind`](Self::bind), then
/// [`ready_read`](Self::ready_read) when datagrams arrive, read with
/// [`receive_datagram`](Self::receive_datagram); send with
/// [`write_datagram`](Self::write_datagram).
///
/// Unread datagrams are held up to 4,096; past that, reading pauses until the application
/// reads (the kernel drops what its own buffer cannot hold, as UDP may).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{CoreApplication, Timer};
/// use cute_network::UdpSocket;
///
/// let app = CoreApplication::new();
/// let receiver = UdpSocket::new();
/// receiver.bind("127.0.0.1".parse().unwrap(), 0).unwrap();
/// receiver.ready_read().connect(|socket: &UdpSocket| {
///     while let Some(datagram) = socket.receive_datagram() {
///         assert_eq!(datagram.data(), b"ping");
///         CoreApplication::quit();
///     }
/// });
/// let sender = UdpSocket::new();
/// sender.write_datagram(b"ping", receiver.local_address().unwrap()).unwrap();
/// Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1)); // watchdog
/// assert_eq!(app.exec(), 0);
/// ```
#[doc(alias = "QUdpSocket")]
#[derive(Clone)]
pub struct UdpSocket {
    inner: Rc<Inner>,
}

struct Inner {
    socket: RefCell<Option<(MioUdp, IoWatcher)>>,
    queue: RefCell<VecDeque<NetworkDatagram>>,
    paused: Cell<bool>,
    error: Cell<SocketError>,
    error_string: RefCell<String>,
    ready_read: OnceCell<Signal<UdpSocket>>,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_address())
            .field("pending", &self.inner.queue.borrow().len())
            .finish()
    }
}

impl Default for UdpSocket {
    fn default() -> Self {
        Self::new()
    }
}

impl UdpSocket {
    /// An unbound socket (the first `write_datagram` binds it to any port, as in Qt).
    pub fn new() -> UdpSocket {
        UdpSocket {
            inner: Rc::new(Inner {
                socket: RefCell::default(),
                queue: RefCell::default(),
                paused: Cell::new(false),
                error: Cell::new(SocketError::NoError),
                error_string: RefCell::default(),
                ready_read: OnceCell::new(),
            }),
        }
    }

    /// Emitted when datagrams can be read (Qt's `readyRead`).
    pub fn ready_read(&self) -> &Signal<UdpSocket> {
        self.inner.ready_read.get_or_init(Signal::new)
    }

    /// Binds to `address` and `port` (0: any free port; Qt's `bind`).
    ///
    /// # Errors
    ///
    /// The address is in use or not this host's, or the socket is bound already.
    pub fn bind(&self, address: IpAddr, port: u16) -> io::Result<()> {
        if self.inner.socket.borrow().is_some() {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "the socket is bound already"));
        }
        let bound = MioUdp::bind(SocketAddr::new(address, port)).and_then(|mut socket| {
            let weak = Rc::downgrade(&self.inner);
            let watcher = IoWatcher::new(&mut socket, Interest::READABLE, move |_| {
                if let Some(socket) = upgrade(&weak) {
                    socket.receive_all();
                }
            })?;
            Ok((socket, watcher))
        });
        match bound {
            Ok(bound) => {
                *self.inner.socket.borrow_mut() = Some(bound);
                Ok(())
            }
            Err(e) => {
                self.set_error(&e);
                Err(e)
            }
        }
    }

    /// Bound (Qt's `BoundState`) or not.
    pub fn state(&self) -> SocketState {
        if self.inner.socket.borrow().is_some() {
            SocketState::BoundState
        } else {
            SocketState::UnconnectedState
        }
    }

    /// The address and port bound to.
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.inner.socket.borrow().as_ref().and_then(|(s, _)| s.local_addr().ok())
    }

    /// The last error (Qt's `error`).
    pub fn error(&self) -> SocketError {
        self.inner.error.get()
    }

    /// The last error, in words (Qt's `errorString`).
    pub fn error_string(&self) -> String {
        self.inner.error_string.borrow().clone()
    }

    /// Whether datagrams wait to be read (Qt's `hasPendingDatagrams`).
    pub fn has_pending_datagrams(&self) -> bool {
        !self.inner.queue.borrow().is_empty()
    }

    /// The size of the next datagram (Qt's `pendingDatagramSize`).
    pub fn pending_datagram_size(&self) -> Option<usize> {
        self.inner.queue.borrow().front().map(|d| d.data.len())
    }

    /// Takes the next datagram (Qt's `receiveDatagram`).
    pub fn receive_datagram(&self) -> Option<NetworkDatagram> {
        let next = self.inner.queue.borrow_mut().pop_front();
        if next.is_some() && self.inner.paused.replace(false) {
            let weak = Rc::downgrade(&self.inner);
            Timer::single_shot(Duration::ZERO, move || {
                if let Some(socket) = upgrade(&weak) {
                    socket.receive_all();
                }
            });
        }
        next
    }

    /// Takes the next datagram, at most `max` bytes of it (the rest is lost, as in Qt's
    /// `readDatagram`), with its sender.
    pub fn read_datagram(&self, max: usize) -> Option<(Vec<u8>, SocketAddr)> {
        let datagram = self.receive_datagram()?;
        let mut data = datagram.data;
        data.truncate(max);
        Some((data, datagram.sender))
    }

    /// Sends `data` to `to` (Qt's `writeDatagram`), binding to any port first if the
    /// socket is not bound. Returns the bytes sent.
    ///
    /// # Errors
    ///
    /// A datagram over 65,507 bytes (`DatagramTooLargeError`), a full send buffer
    /// (`WouldBlock`: try again later), an unreachable network.
    pub fn write_datagram(&self, data: &[u8], to: SocketAddr) -> io::Result<usize> {
        if self.inner.socket.borrow().is_none() {
            let any: IpAddr =
                if to.is_ipv4() { [0, 0, 0, 0].into() } else { std::net::Ipv6Addr::UNSPECIFIED.into() };
            self.bind(any, 0)?;
        }
        let sent = match &*self.inner.socket.borrow() {
            Some((socket, _)) => socket.send_to(data, to),
            None => Err(io::Error::from(io::ErrorKind::NotConnected)),
        };
        if let Err(e) = &sent {
            self.set_error(e);
            if e.raw_os_error() == Some(90) {
                self.inner.error.set(SocketError::DatagramTooLargeError);
            }
        }
        sent
    }

    /// Stops receiving and unbinds (Qt's `close`); unread datagrams are dropped.
    pub fn close(&self) {
        self.inner.socket.borrow_mut().take();
        self.inner.queue.borrow_mut().clear();
    }

    /// Reads what the kernel holds (up to the queue's limit), then `ready_read`.
    fn receive_all(&self) {
        let mut got = false;
        {
            let socket = self.inner.socket.borrow();
            let Some((socket, _)) = socket.as_ref() else { return };
            let mut queue = self.inner.queue.borrow_mut();
            let mut buf = vec![0u8; MAX_DATAGRAM];
            let mut errors = 0;
            loop {
                if queue.len() >= MAX_QUEUED {
                    self.inner.paused.set(true);
                    break;
                }
                match socket.recv_from(&mut buf) {
                    Ok((n, sender)) => {
                        queue.push_back(NetworkDatagram { data: buf[..n].to_vec(), sender });
                        got = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // An ICMP error for an earlier send (port unreachable): not fatal, and
                    // the datagrams behind it are still to be read (edge-triggered), up to
                    // a few errors in a row.
                    Err(e) => {
                        log::debug!("cute: udp receive: {e}");
                        errors += 1;
                        if errors > 16 {
                            break;
                        }
                    }
                }
            }
        }
        if got && let Some(signal) = self.inner.ready_read.get() {
            signal.emit(self);
        }
    }

    fn set_error(&self, e: &io::Error) {
        let (error, text) = SocketError::of(e);
        self.inner.error.set(error);
        *self.inner.error_string.borrow_mut() = text;
    }
}

fn upgrade(weak: &Weak<Inner>) -> Option<UdpSocket> {
    weak.upgrade().map(|inner| UdpSocket { inner })
}
