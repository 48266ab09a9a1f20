//! The server object: a tokio runtime of its own, running the accept loop and the
//! connections.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{self, Runtime};

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::connection::{Protocols, accept_loop};
use crate::shutdown::{self, Trigger};
use crate::tls;
use crate::tracker::Tracker;

/// Worker threads of the runtime: the endpoints never block, so two are plenty.
const WORKER_THREADS: usize = 2;

/// How long dropping the server waits for the connections to finish (each gets
/// `CONNECTION_GRACE` before it is closed regardless, so this is rarely reached).
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// How long dropping the server then waits for the runtime's threads.
const RUNTIME_TIMEOUT: Duration = Duration::from_millis(500);

/// HTTP/2's `SETTINGS_MAX_CONCURRENT_STREAMS` by default: nginx's default, 128.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 128;

/// A running httpbin-compatible server on a loopback address.
///
/// The server runs on a tokio runtime of its own (two worker threads named `cute-httpbin`),
/// so it works the same from synchronous and asynchronous code. Its clear-text port serves
/// HTTP/1.1 and HTTP/2 by prior knowledge (h2c); started with [`HttpbinBuilder::tls`], it
/// also has a TLS port offering HTTP/2 and HTTP/1.1 by ALPN, with a self-signed
/// certificate made at start-up for `localhost`, `127.0.0.1` and `::1`
/// ([`Httpbin::certificate_pem`], for clients to trust).
///
/// Dropping it (or calling [`Httpbin::shutdown`]) closes the ports, wakes the endpoints that
/// are waiting (`/delay`, `/drip`) or streaming (`/bytes`, `/big.bin`, ...) and closes the
/// idle keep-alive connections. A request still waiting is answered 503; a body being
/// streamed is cut short. A response that cannot finish within a few hundred milliseconds (a
/// client that stopped reading) has its connection closed, and the runtime is shut down with
/// a bounded wait: dropping the server never takes much more than a second.
///
/// ```
/// let server = cute_httpbin::Httpbin::start().unwrap();
/// assert!(server.url("/get").starts_with("http://127.0.0.1:"));
/// assert!(server.tls_url("/get").is_none());
/// server.shutdown();
///
/// let server = cute_httpbin::Httpbin::builder().tls(true).start().unwrap();
/// assert!(server.tls_url("/get").unwrap().starts_with("https://127.0.0.1:"));
/// assert!(server.certificate_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
pub struct Httpbin {
    addr: SocketAddr,
    tls: Option<(SocketAddr, String)>,
    accepted: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    trigger: Trigger,
    tracker: Arc<Tracker>,
    /// `None` only during drop.
    runtime: Option<Runtime>,
}

impl fmt::Debug for Httpbin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Httpbin")
            .field("addr", &self.addr)
            .field("tls_addr", &self.tls_addr())
            .finish_non_exhaustive()
    }
}

/// How to start an [`Httpbin`] ([`Httpbin::builder`]).
#[derive(Debug, Clone)]
pub struct HttpbinBuilder {
    tls: bool,
    max_concurrent_streams: u32,
    /// Client certificates required on the TLS port, issued by these CA certificates (PEM).
    client_ca: Option<String>,
}

impl HttpbinBuilder {
    /// Requires a client certificate on the TLS port (mutual TLS), issued by one of the CA
    /// certificates in `pem`; turns the TLS port on. A client without one fails the
    /// handshake.
    pub fn client_auth(mut self, pem: &str) -> Self {
        self.client_ca = Some(pem.to_owned());
        self.tls = true;
        self
    }

    /// Also listens on a TLS port (HTTP/2 and HTTP/1.1 by ALPN). Off by default.
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// The HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` the server announces (at least 1);
    /// [`DEFAULT_MAX_CONCURRENT_STREAMS`] by default.
    pub fn max_concurrent_streams(mut self, n: u32) -> Self {
        self.max_concurrent_streams = n.max(1);
        self
    }

    /// Starts the server on `127.0.0.1`, on ports the system picks.
    pub fn start(self) -> io::Result<Httpbin> {
        self.start_on("127.0.0.1:0")
    }

    /// Starts the server on `addr`, which must be a loopback address (`127.0.0.0/8` or
    /// `::1`); port 0 lets the system pick one. The TLS port, if any, is one the system
    /// picks on the same address. Fails with [`io::ErrorKind::InvalidInput`] for other
    /// addresses, and with the bind error if the address is taken.
    pub fn start_on(self, addr: impl ToSocketAddrs) -> io::Result<Httpbin> {
        let candidates: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        if candidates.is_empty() || candidates.iter().any(|a| !a.ip().is_loopback()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cute-httpbin only listens on loopback addresses",
            ));
        }
        let listener = TcpListener::bind(&candidates[..])?;
        let addr = listener.local_addr()?;
        let tls = if self.tls {
            let listener = TcpListener::bind((addr.ip(), 0))?;
            let (acceptor, pem) = tls::acceptor(self.client_ca.as_deref())?;
            Some((listener, acceptor, pem))
        } else {
            None
        };
        let runtime = runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("cute-httpbin")
            .enable_io()
            .enable_time()
            .build()?;
        let (trigger, shutdown) = shutdown::channel();
        let tracker = Arc::new(Tracker::default());
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let protocols = Protocols {
            tls: None,
            max_concurrent_streams: self.max_concurrent_streams,
            accepted: accepted.clone(),
            requests: requests.clone(),
        };
        let plain = match listen(&runtime, listener) {
            Ok(plain) => plain,
            Err(e) => {
                // Not a plain drop, which panics when `start_on` is called from async code.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let tls = match tls {
            None => None,
            Some((listener, acceptor, pem)) => {
                let tls_addr = listener.local_addr()?;
                match listen(&runtime, listener) {
                    Ok(listener) => Some((listener, tls_addr, acceptor, pem)),
                    Err(e) => {
                        runtime.shutdown_background();
                        return Err(e);
                    }
                }
            }
        };
        runtime.spawn(accept_loop(plain, shutdown.clone(), tracker.enter(), protocols.clone()));
        let tls = tls.map(|(listener, tls_addr, acceptor, pem)| {
            let protocols = Protocols { tls: Some(acceptor), ..protocols };
            runtime.spawn(accept_loop(listener, shutdown, tracker.enter(), protocols));
            log::debug!("cute-httpbin listening on https://{tls_addr}");
            (tls_addr, pem)
        });
        log::debug!("cute-httpbin listening on http://{addr}");
        Ok(Httpbin { addr, tls, accepted, requests, trigger, tracker, runtime: Some(runtime) })
    }
}

/// A standard listener made a tokio one (non-blocking, registered with `runtime`).
fn listen(runtime: &Runtime, listener: TcpListener) -> io::Result<tokio::net::TcpListener> {
    listener.set_nonblocking(true)?;
    let _context = runtime.enter();
    tokio::net::TcpListener::from_std(listener)
}

impl Httpbin {
    /// Starts a server on `127.0.0.1`, on a port the system picks (clear text only; see
    /// [`Httpbin::builder`] for TLS).
    pub fn start() -> io::Result<Httpbin> {
        Httpbin::builder().start()
    }

    /// Starts a server on `addr`, which must be a loopback address (`127.0.0.0/8` or `::1`);
    /// port 0 lets the system pick one. Fails with [`io::ErrorKind::InvalidInput`] for other
    /// addresses, and with the bind error if the address is taken.
    pub fn start_on(addr: impl ToSocketAddrs) -> io::Result<Httpbin> {
        Httpbin::builder().start_on(addr)
    }

    /// A builder, for TLS and HTTP/2 settings.
    pub fn builder() -> HttpbinBuilder {
        HttpbinBuilder { tls: false, max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS, client_ca: None }
    }

    /// The address the server listens on (with the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// [`Httpbin::base_url`] followed by `path`, which should start with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The TLS port's address, if the server has one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|(addr, _)| *addr)
    }

    /// `https://HOST:PORT` of the TLS port, without a trailing slash.
    pub fn tls_base_url(&self) -> Option<String> {
        self.tls_addr().map(|addr| format!("https://{addr}"))
    }

    /// [`Httpbin::tls_base_url`] followed by `path`, which should start with `/`.
    pub fn tls_url(&self, path: &str) -> Option<String> {
        self.tls_base_url().map(|base| format!("{base}{path}"))
    }

    /// The TLS port's self-signed certificate, PEM-encoded, for clients to trust.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|(_, pem)| pem.as_str())
    }

    /// Connections accepted so far, on both ports.
    pub fn connections_accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Requests answered so far, on both ports (a request a client's cache answered never
    /// counts here).
    pub fn requests_served(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Stops the server and its threads; the same as dropping it.
    pub fn shutdown(self) {}
}

impl Drop for Httpbin {
    fn drop(&mut self) {
        self.trigger.trigger();
        let live = self.tracker.wait_idle(DRAIN_TIMEOUT);
        if live > 0 {
            log::warn!("cute-httpbin: {live} task(s) still running at shutdown, cancelled");
        }
        if let Some(runtime) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Dropped from async code, where blocking on the runtime's threads would panic.
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(RUNTIME_TIMEOUT);
            }
        }
        log::debug!("cute-httpbin on {} stopped", self.addr);
    }
}
