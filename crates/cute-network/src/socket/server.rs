//! [`TcpServer`] (Qt's `QTcpServer`): a listening socket on the loop that queues the
//! connections it accepts as [`TcpSocket`]s.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::{Rc, Weak};
use std::time::Duration;

use cute_core::mio::{Interest, net::TcpListener};
use cute_core::{IoWatcher, Signal, Timer};

use super::kinds::SocketError;
use super::tcp::TcpSocket;

/// Qt's default for [`TcpServer::set_max_pending_connections`].
const DEFAULT_MAX_PENDING: usize = 30;

/// How long accepting pauses after the system ran out of descriptors.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Accepts TCP connections on the loop (Qt's `QTcpServer`): [`listen`](Self::listen),
/// then [`new_connection`](Self::new_connection) for each connection accepted, taken
/// with [`next_pending_connection`](Self::next_pending_connection) as a connected
/// [`TcpSocket`].
///
/// At most [`max_pending_connections`](Self::max_pending_connections) (30, as in Qt) wait
/// to be taken; beyond that the server stops accepting until the application takes some,
/// and further connections wait in the kernel's backlog. When the system runs out of
/// descriptors, [`accept_error`](Self::accept_error) is emitted and accepting resumes
/// after 100 ms, instead of spinning.
///
/// # Examples
///
/// An echo server that keeps its clients until they disconnect:
///
/// ```no_run
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use cute_core::CoreApplication;
/// use cute_network::{TcpServer, TcpSocket};
///
/// let app = CoreApplication::new();
/// let server = TcpServer::new();
/// server.listen("0.0.0.0".parse().unwrap(), 7000).expect("listen");
/// let clients: Rc<RefCell<Vec<TcpSocket>>> = Rc::default();
/// let kept = Rc::downgrade(&clients);
/// server.new_connection().connect(move |server: &TcpServer| {
///     while let Some(peer) = server.next_pending_connection() {
///         peer.ready_read().connect(|peer: &TcpSocket| {
///             let _ = peer.write(&peer.read_all());
///         });
///         let list = kept.clone();
///         peer.disconnected().connect(move |peer: &TcpSocket| {
///             if let Some(list) = list.upgrade() {
///                 list.borrow_mut().retain(|p| p != peer);
///             }
///         });
///         if let Some(list) = kept.upgrade() {
///             list.borrow_mut().push(peer);
///         }
///     }
/// });
/// app.exec();
/// ```
#[doc(alias = "QTcpServer")]
#[derive(Clone)]
pub struct TcpServer {
    inner: Rc<Inner>,
}

struct Inner {
    listener: RefCell<Option<(TcpListener, IoWatcher)>>,
    pending: RefCell<VecDeque<TcpSocket>>,
    max_pending: Cell<usize>,
    /// Accepting stopped: too many pending, paused by the application, or out of descriptors.
    paused: Cell<bool>,
    paused_by_application: Cell<bool>,
    error: Cell<SocketError>,
    error_string: RefCell<String>,
    signals: OnceCell<Box<Signals>>,
}

#[derive(Default)]
struct Signals {
    new_connection: Signal<TcpServer>,
    accept_error: Signal<SocketError>,
}

impl fmt::Debug for TcpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpServer")
            .field("address", &self.server_address())
            .field("pending", &self.inner.pending.borrow().len())
            .finish()
    }
}

impl Default for TcpServer {
    fn default() -> Self {
        Self::new()
    }
}

impl TcpServer {
    /// A server that is not listening yet.
    pub fn new() -> TcpServer {
        TcpServer {
            inner: Rc::new(Inner {
                listener: RefCell::default(),
                pending: RefCell::default(),
                max_pending: Cell::new(DEFAULT_MAX_PENDING),
                paused: Cell::new(false),
                paused_by_application: Cell::new(false),
                error: Cell::new(SocketError::NoError),
                error_string: RefCell::default(),
                signals: OnceCell::new(),
            }),
        }
    }

    fn signals(&self) -> &Signals {
        self.inner.signals.get_or_init(Box::default)
    }

    /// Emitted for each connection accepted (Qt's `newConnection`).
    pub fn new_connection(&self) -> &Signal<TcpServer> {
        &self.signals().new_connection
    }

    /// Emitted when accepting fails (Qt's `acceptError`): out of descriptors, say.
    pub fn accept_error(&self) -> &Signal<SocketError> {
        &self.signals().accept_error
    }

    /// Listens on `address` and `port` (0: any free port; Qt's `listen`).
    ///
    /// # Errors
    ///
    /// The address is in use or not this host's, or the server listens already; the
    /// error is also kept for [`server_error`](Self::server_error).
    pub fn listen(&self, address: IpAddr, port: u16) -> io::Result<()> {
        if self.is_listening() {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "the server is listening already"));
        }
        let result = TcpListener::bind(SocketAddr::new(address, port)).and_then(|mut listener| {
            let weak = Rc::downgrade(&self.inner);
            let watcher = IoWatcher::new(&mut listener, Interest::READABLE, move |_| {
                if let Some(server) = upgrade(&weak) {
                    server.accept_all();
                }
            })?;
            Ok((listener, watcher))
        });
        match result {
            Ok(listening) => {
                *self.inner.listener.borrow_mut() = Some(listening);
                // A new listener accepts, whatever stopped the last one (as in Qt).
                self.inner.paused.set(false);
                self.inner.paused_by_application.set(false);
                self.inner.error.set(SocketError::NoError);
                Ok(())
            }
            Err(e) => {
                let (error, text) = SocketError::of(&e);
                self.inner.error.set(error);
                *self.inner.error_string.borrow_mut() = text;
                Err(e)
            }
        }
    }

    /// Whether it listens (Qt's `isListening`).
    pub fn is_listening(&self) -> bool {
        self.inner.listener.borrow().is_some()
    }

    /// The address listened on, while listening.
    pub fn server_address(&self) -> Option<SocketAddr> {
        self.inner.listener.borrow().as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// The port listened on (0 while not listening; Qt's `serverPort`).
    pub fn server_port(&self) -> u16 {
        self.server_address().map_or(0, |a| a.port())
    }

    /// The last error (Qt's `serverError`).
    pub fn server_error(&self) -> SocketError {
        self.inner.error.get()
    }

    /// The last error, in words (Qt's `errorString`).
    pub fn error_string(&self) -> String {
        self.inner.error_string.borrow().clone()
    }

    /// Stops listening (Qt's `close`); connections accepted and not taken are dropped.
    pub fn close(&self) {
        self.inner.listener.borrow_mut().take();
        self.inner.pending.borrow_mut().clear();
    }

    /// Whether accepted connections wait to be taken (Qt's `hasPendingConnections`).
    pub fn has_pending_connections(&self) -> bool {
        !self.inner.pending.borrow().is_empty()
    }

    /// Takes the next accepted connection (Qt's `nextPendingConnection`).
    pub fn next_pending_connection(&self) -> Option<TcpSocket> {
        let next = self.inner.pending.borrow_mut().pop_front();
        if next.is_some() {
            self.resume_soon();
        }
        next
    }

    /// How many accepted connections may wait (Qt's `maxPendingConnections`).
    pub fn max_pending_connections(&self) -> usize {
        self.inner.max_pending.get()
    }

    /// Sets how many accepted connections may wait to be taken (Qt's
    /// `setMaxPendingConnections`; 30 by default).
    pub fn set_max_pending_connections(&self, max: usize) {
        self.inner.max_pending.set(max.max(1));
        self.resume_soon();
    }

    /// Stops accepting (Qt's `pauseAccepting`): connections wait in the kernel's backlog.
    pub fn pause_accepting(&self) {
        self.inner.paused_by_application.set(true);
        self.inner.paused.set(true);
    }

    /// Accepts again (Qt's `resumeAccepting`).
    pub fn resume_accepting(&self) {
        self.inner.paused_by_application.set(false);
        self.resume_soon();
    }

    /// Accepting was paused and may go on: accept what waits, from the loop.
    fn resume_soon(&self) {
        if !self.inner.paused.get() || self.inner.paused_by_application.get() {
            return;
        }
        if self.inner.pending.borrow().len() >= self.inner.max_pending.get() {
            return;
        }
        self.inner.paused.set(false);
        let weak = Rc::downgrade(&self.inner);
        Timer::single_shot(Duration::ZERO, move || {
            if let Some(server) = upgrade(&weak) {
                server.accept_all();
            }
        });
    }

    /// Accepts what the kernel has (edge-triggered: until it would block), up to the
    /// pending limit; `new_connection` for each.
    fn accept_all(&self) {
        loop {
            if self.inner.paused.get() {
                return;
            }
            if self.inner.pending.borrow().len() >= self.inner.max_pending.get() {
                self.inner.paused.set(true);
                return;
            }
            let accepted = match &*self.inner.listener.borrow() {
                Some((listener, _)) => listener.accept(),
                None => return,
            };
            match accepted {
                Ok((stream, _)) => match TcpSocket::accepted(stream) {
                    Ok(socket) => {
                        self.inner.pending.borrow_mut().push_back(socket);
                        if let Some(signals) = self.inner.signals.get() {
                            signals.new_connection.emit(self);
                        }
                    }
                    Err(e) => self.accept_failed(&e),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => return self.accept_failed(&e),
            }
        }
    }

    /// Accepting failed (out of descriptors): report it, try again in a while.
    fn accept_failed(&self, e: &io::Error) {
        let (error, text) = SocketError::of(e);
        log::warn!("cute: accepting a connection: {e}");
        self.inner.error.set(error);
        *self.inner.error_string.borrow_mut() = text;
        if let Some(signals) = self.inner.signals.get() {
            signals.accept_error.emit(&error);
        }
        self.inner.paused.set(true);
        let weak = Rc::downgrade(&self.inner);
        Timer::single_shot(ACCEPT_RETRY, move || {
            if let Some(server) = upgrade(&weak) {
                server.resume_soon();
            }
        });
    }
}

fn upgrade(weak: &Weak<Inner>) -> Option<TcpServer> {
    weak.upgrade().map(|inner| TcpServer { inner })
}
