//! The server object: a tiny_http listener, a pool of handler threads and the worker threads
//! of the slow endpoints.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tiny_http::{Request, Server};

use crate::context::Ctx;
use crate::response::{self, Reply};
use crate::router::{self, Action};
use crate::shutdown::Shutdown;
use crate::stream::run_drip;

/// Handler threads calling `recv()`.
const POOL_SIZE: usize = 8;

/// How long dropping the server waits for worker threads still writing to a client that does
/// not read (they stop by themselves once their socket write fails or completes).
const WORKER_GRACE: Duration = Duration::from_millis(500);

/// A running httpbin-compatible server on a loopback address.
///
/// Dropping it (or calling [`Httpbin::shutdown`]) stops accepting requests, wakes the
/// handler threads and the endpoints that are waiting (`/delay`, `/drip`) or streaming
/// (`/bytes`, `/big.bin`, ...), and joins them. A request still waiting is answered 503; a
/// body being streamed is cut short. A worker blocked writing to a client that stopped
/// reading cannot be woken (tiny_http keeps the socket): it is waited for at most half a
/// second, then left to end when that client reads or disconnects.
///
/// ```
/// let server = cute_httpbin::Httpbin::start().unwrap();
/// assert!(server.url("/get").starts_with("http://127.0.0.1:"));
/// server.shutdown();
/// ```
pub struct Httpbin {
    addr: SocketAddr,
    server: Arc<Server>,
    shared: Arc<Shared>,
    pool: Vec<JoinHandle<()>>,
}

impl fmt::Debug for Httpbin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Httpbin").field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// State shared by the handler pool and the workers.
#[derive(Debug, Default)]
struct Shared {
    shutdown: Arc<Shutdown>,
    workers: Workers,
}

/// The worker threads of the slow endpoints, counted so that shutdown can wait for them.
#[derive(Debug, Default)]
struct Workers {
    /// Handles of the workers started so far (finished ones are pruned as new ones start).
    handles: Mutex<Vec<JoinHandle<()>>>,
    /// How many workers are still running.
    running: Mutex<usize>,
    /// Signalled each time a worker ends.
    ended: Condvar,
}

/// Decrements [`Workers::running`] when a worker ends, even by panic.
struct WorkerGuard<'a>(&'a Workers);

impl Drop for WorkerGuard<'_> {
    fn drop(&mut self) {
        let mut running = self.0.running.lock().unwrap_or_else(PoisonError::into_inner);
        *running -= 1;
        self.0.ended.notify_all();
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
        let server = Arc::new(Server::from_listener(listener, None).map_err(io::Error::other)?);
        let shared = Arc::new(Shared::default());
        let mut pool = Vec::with_capacity(POOL_SIZE);
        for i in 0..POOL_SIZE {
            let (thread_server, thread_shared) = (Arc::clone(&server), Arc::clone(&shared));
            let spawned = thread::Builder::new()
                .name(format!("cute-httpbin-{i}"))
                .spawn(move || serve(&thread_server, &thread_shared, addr));
            match spawned {
                Ok(handle) => pool.push(handle),
                Err(e) => {
                    // Stop the threads already started before reporting the failure.
                    drop(Httpbin { addr, server, shared, pool });
                    return Err(e);
                }
            }
        }
        log::debug!("cute-httpbin listening on http://{addr}");
        Ok(Httpbin { addr, server, shared, pool })
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

    /// Stops the server and joins its threads; the same as dropping it.
    pub fn shutdown(self) {}
}

impl Drop for Httpbin {
    fn drop(&mut self) {
        self.shared.shutdown.trigger();
        // Each unblock wakes exactly one thread blocked in recv(): one per pool thread.
        for _ in 0..self.pool.len() {
            self.server.unblock();
        }
        for handle in self.pool.drain(..) {
            if handle.join().is_err() {
                log::error!("cute-httpbin: a handler thread panicked");
            }
        }
        let workers = &self.shared.workers;
        let deadline = Instant::now() + WORKER_GRACE;
        let mut running = workers.running.lock().unwrap_or_else(PoisonError::into_inner);
        while *running > 0 {
            let now = Instant::now();
            if now >= deadline {
                log::warn!("cute-httpbin: {} worker(s) still writing at shutdown, detached", *running);
                break;
            }
            running =
                workers.ended.wait_timeout(running, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
        drop(running);
        let handles = std::mem::take(&mut *workers.handles.lock().unwrap_or_else(PoisonError::into_inner));
        for handle in handles.into_iter().filter(JoinHandle::is_finished) {
            let _ = handle.join();
        }
        log::debug!("cute-httpbin on {} stopped", self.addr);
        // Dropping the last `Arc<Server>` stops tiny_http's accept thread.
    }
}

/// A handler thread: takes requests until the server shuts down.
fn serve(server: &Server, shared: &Arc<Shared>, addr: SocketAddr) {
    while !shared.shutdown.is_set() {
        match server.recv() {
            Ok(request) => handle(request, shared, addr),
            Err(e) if !shared.shutdown.is_set() => log::warn!("cute-httpbin: receiving a request: {e}"),
            Err(_) => break,
        }
    }
}

/// Answers one request, or hands it to a worker thread.
fn handle(mut request: Request, shared: &Arc<Shared>, addr: SocketAddr) {
    let ctx = match Ctx::read(&mut request, addr) {
        Ok(ctx) => ctx,
        Err(e) => {
            log::debug!("cute-httpbin: reading a request body: {e}");
            respond(request, response::text(400, "unreadable request body"));
            return;
        }
    };
    log::trace!("cute-httpbin: {} {}", ctx.method, ctx.target);
    match router::route(&ctx, &shared.shutdown) {
        Action::Now(reply) => respond(request, reply),
        Action::Later { wait, reply } => spawn_worker(shared, move |shutdown| {
            if shutdown.sleep(wait) {
                respond(request, reply);
            } else {
                respond(request, response::text(503, "server shutting down"));
            }
        }),
        Action::Drip(drip) => spawn_worker(shared, move |shutdown| {
            if let Err(e) = run_drip(request, &drip, shutdown) {
                log::debug!("cute-httpbin: /drip ended early: {e}");
            }
        }),
    }
}

/// Sends `reply`, logging (not failing on) a client that went away.
fn respond(request: Request, reply: Reply) {
    if let Err(e) = request.respond(reply) {
        log::debug!("cute-httpbin: sending a response: {e}");
    }
}

/// Runs `job` on its own thread so that it never holds up the handler pool.
fn spawn_worker(shared: &Arc<Shared>, job: impl FnOnce(&Shutdown) + Send + 'static) {
    let workers = &shared.workers;
    *workers.running.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    let inner = Arc::clone(shared);
    let spawned = thread::Builder::new().name("cute-httpbin-worker".into()).spawn(move || {
        let _guard = WorkerGuard(&inner.workers);
        job(&inner.shutdown);
    });
    let mut handles = workers.handles.lock().unwrap_or_else(PoisonError::into_inner);
    handles.retain(|h| !h.is_finished());
    match spawned {
        Ok(handle) => handles.push(handle),
        Err(e) => {
            // The job (and its request, answered 500 by tiny_http) was dropped unrun.
            log::error!("cute-httpbin: cannot start a worker thread: {e}");
            drop(WorkerGuard(workers));
        }
    }
}
