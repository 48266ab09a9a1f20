//! The async side: the accept loop, one hyper connection per task (HTTP/1.1, or HTTP/2: by
//! prior knowledge in clear text, by ALPN over TLS), and the service that reads a request
//! and runs its endpoint.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::body::Payload;
use crate::context::Ctx;
use crate::response::{self, Reply};
use crate::router::{self, Action};
use crate::shutdown::Shutdown;
use crate::stream;
use crate::tracker::TaskGuard;

/// How long a connection may go on finishing its response once the server stops (a `/delay`
/// answering 503, say) before it is closed regardless (a client that stopped reading).
const CONNECTION_GRACE: Duration = Duration::from_millis(300);

/// Pause after a failed `accept` (out of file descriptors, say) so as not to spin on it.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How a listener serves its connections.
#[derive(Clone)]
pub(crate) struct Protocols {
    /// TLS (offering `h2` and `http/1.1` by ALPN), or clear text (HTTP/1.1, and HTTP/2 by
    /// prior knowledge).
    pub(crate) tls: Option<TlsAcceptor>,
    /// The HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` announced.
    pub(crate) max_concurrent_streams: u32,
    /// Counts the connections accepted.
    pub(crate) accepted: Arc<std::sync::atomic::AtomicUsize>,
    /// Counts the requests answered.
    pub(crate) requests: Arc<std::sync::atomic::AtomicUsize>,
}

/// What every request on one connection shares.
#[derive(Debug)]
struct Peer {
    /// The client's address.
    remote: SocketAddr,
    /// The server's listening address.
    local: SocketAddr,
    /// Whether the connection is over TLS.
    tls: bool,
    shutdown: Shutdown,
    /// Counts the requests answered (the server's).
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

/// Accepts connections until the server stops, each served by a task of its own holding a
/// [`TaskGuard`] of the same tracker as this loop's `guard`.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shutdown: Shutdown,
    guard: TaskGuard,
    protocols: Protocols,
) {
    let local = match listener.local_addr() {
        Ok(local) => local,
        Err(e) => {
            log::error!("cute-httpbin: the listener has no address: {e}");
            return;
        }
    };
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.wait() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, remote)) => {
                protocols.accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let peer = Peer {
                    remote,
                    local,
                    tls: protocols.tls.is_some(),
                    shutdown: shutdown.clone(),
                    requests: protocols.requests.clone(),
                };
                let guard = guard.tracker().enter();
                tokio::spawn(accept(stream, peer, guard, protocols.clone()));
            }
            Err(e) => {
                log::warn!("cute-httpbin: accepting a connection: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    // Dropping the listener here closes the port before the connections are done.
    log::debug!("cute-httpbin on {local}: no longer accepting");
}

/// Completes the TLS handshake if the listener has TLS, then serves the connection.
async fn accept(stream: TcpStream, peer: Peer, guard: TaskGuard, protocols: Protocols) {
    if let Err(e) = stream.set_nodelay(true) {
        log::debug!("cute-httpbin: setting TCP_NODELAY: {e}");
    }
    let Some(acceptor) = &protocols.tls else {
        return serve(stream, peer, guard, protocols.max_concurrent_streams).await;
    };
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => handshake,
        () = peer.shutdown.wait() => return,
    };
    match handshake {
        Ok(Ok(tls)) => serve(tls, peer, guard, protocols.max_concurrent_streams).await,
        Ok(Err(e)) => log::debug!("cute-httpbin: TLS handshake with {}: {e}", peer.remote),
        Err(_) => log::debug!("cute-httpbin: TLS handshake with {} timed out", peer.remote),
    }
}

/// Serves one connection (HTTP/1.1 keep-alive and pipelining, or HTTP/2) until the client
/// closes it or the server stops: then the responses in progress get [`CONNECTION_GRACE`]
/// to finish.
async fn serve<I>(io: I, peer: Peer, _guard: TaskGuard, max_concurrent_streams: u32)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = Arc::new(peer);
    let shutdown = peer.shutdown.clone();
    let remote = peer.remote;
    let service = service_fn(move |request| {
        let peer = Arc::clone(&peer);
        async move { Ok::<_, Infallible>(handle(request, &peer).await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        // A client that shuts down its sending side after a request still gets the answer.
        .half_close(true)
        .title_case_headers(true);
    builder.http2().max_concurrent_streams(max_concurrent_streams);
    let mut connection = pin!(builder.serve_connection(TokioIo::new(io), service));
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.wait() => {
            connection.as_mut().graceful_shutdown();
            match tokio::time::timeout(CONNECTION_GRACE, connection.as_mut()).await {
                Ok(result) => result,
                Err(_) => {
                    log::debug!("cute-httpbin: closing the busy connection from {remote} at shutdown");
                    return;
                }
            }
        }
    };
    if let Err(e) = result {
        log::debug!("cute-httpbin: connection from {remote}: {e}");
    }
}

/// Answers one request: reads its body, routes it and runs its endpoint.
async fn handle(request: Request<Incoming>, peer: &Peer) -> Response<Payload> {
    peer.requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if request.uri().path() == "/upload" {
        return upload(request).await;
    }
    let ctx = match Ctx::read(request, peer.remote, peer.local, peer.tls).await {
        Ok(ctx) => ctx,
        Err(e) => {
            log::debug!("cute-httpbin: reading a request body: {e}");
            return response::text(400, "unreadable request body");
        }
    };
    log::trace!("cute-httpbin: {} {}", ctx.method, ctx.target);
    match router::route(&ctx, &peer.shutdown) {
        Action::Now(reply) => reply,
        Action::Later { wait, reply } => later(wait, reply, &peer.shutdown).await,
        Action::Drip(drip) => stream::drip(drip, &peer.shutdown).await,
    }
}

/// `/upload`: reads the request body as it comes, keeping none of it, and answers its
/// length and the wrapping sum of its bytes (for uploads of any size).
async fn upload(request: Request<Incoming>) -> Response<Payload> {
    use http_body_util::BodyExt as _;
    let mut body = request.into_body();
    let (mut bytes, mut sum) = (0u64, 0u64);
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    bytes += data.len() as u64;
                    sum = data.iter().fold(sum, |sum, &b| sum.wrapping_add(u64::from(b)));
                }
            }
            Err(e) => {
                log::debug!("cute-httpbin: reading an upload: {e}");
                return response::text(400, "unreadable request body");
            }
        }
    }
    response::json(200, &serde_json::json!({ "bytes": bytes, "sum": sum }))
}

/// `reply` after `wait`, or 503 if the server stops first.
async fn later(wait: Duration, reply: Reply, shutdown: &Shutdown) -> Reply {
    if shutdown.sleep(wait).await { reply } else { response::text(503, "server shutting down") }
}
