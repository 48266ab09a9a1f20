//! The server object: a tokio runtime of its own, running the accept loop and the
//! connections.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{self, Runtime};

use crate::connection::accept_loop;
use crate::shutdown::{self, Trigger};
use crate::tracker::Tracker;

/// Worker threads of the runtime: the endpoints never block, so two are plenty.
const WORKER_THREADS: usize = 2;

/// How long dropping the server waits for the connections to finish (each gets
/// `CONNECTION_GRACE` before it is closed regardless, so this is rarely reached).
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// How long dropping the server then waits for the runtime's threads.
const RUNTIME_TIMEOUT: Duration = Duration::from_millis(500);

/// A running httpbin-compatible server on a loopback address.
///
/// The server runs on a tokio runtime of its own (two worker threads named `cute-httpbin`),
/// so it works the same from synchronous and asynchronous code.
///
/// Dropping it (or calling [`Httpbin::shutdown`]) closes the port, wakes the endpoints that
/// are waiting (`/delay`, `/drip`) or streaming (`/bytes`, `/big.bin`, ...) and closes the
/// idle keep-alive connections. A request still waiting is answered 503; a body being
/// streamed is cut short. A response that cannot finish within a few hundred milliseconds (a
/// client that stopped reading) has its connection closed, and the runtime is shut down with
/// a bounded wait: dropping the server never takes much more than a second.
///
/// ```
/// let server = cute_httpbin::Httpbin::start().unwrap();
/// assert!(server.url("/get").starts_with("http://127.0.0.1:"));
/// server.shutdown();
/// ```
pub struct Httpbin {
    addr: SocketAddr,
    trigger: Trigger,
    tracker: Arc<Tracker>,
    /// `None` only during drop.
    runtime: Option<Runtime>,
}

impl fmt::Debug for Httpbin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Httpbin").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Httpbin {
    /// Starts a server on `127.0.0.1`, on a port the system picks.
    pub fn start() -> io::Result<Httpbin> {
        Httpbin::start_on("127.0.0.1:0")
    }

    /// Starts a server on `addr`, which must be a loopback address (`127.0.0.0/8` or `::1`);
    /// port 0 lets the system pick one. Fails with [`io::ErrorKind::InvalidInput`] for other
    /// addresses, and with the bind error if the address is taken.
    pub fn start_on(addr: impl ToSocketAddrs) -> io::Result<Httpbin> {
        let candidates: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        if candidates.is_empty() || candidates.iter().any(|a| !a.ip().is_loopback()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cute-httpbin only listens on loopback addresses",
            ));
        }
        let listener = TcpListener::bind(&candidates[..])?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("cute-httpbin")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(listener)
        };
        let listener = match listener {
            Ok(listener) => listener,
            Err(e) => {
                // Not a plain drop, which panics when `start_on` is called from async code.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let (trigger, shutdown) = shutdown::channel();
        let tracker = Arc::new(Tracker::default());
        runtime.spawn(accept_loop(listener, shutdown, tracker.enter()));
        log::debug!("cute-httpbin listening on http://{addr}");
        Ok(Httpbin { addr, trigger, tracker, runtime: Some(runtime) })
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
