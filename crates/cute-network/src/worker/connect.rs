//! Opening a connection for a request: name resolution, TCP, an HTTP proxy's `CONNECT`
//! tunnel for https, TLS with ALPN, and the hyper handshake for the protocol picked
//! (HTTP/1.1, or HTTP/2 when the server chose it).
//!
//! All of it is one future bounded by the connect timeout; dropping it (an abort) stops
//! whatever step it is in at once.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper::client::conn::{http1, http2};
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::Url;

use super::headers::MAX_RESPONSE_HEAD;
use super::upload::UploadBody;
use crate::auth::challenge::{basic_header, choose, parse_challenges};
use crate::protocol::Credentials;
use crate::protocol::Wire;
use crate::proxy::Proxy;

/// How a request reaches its origin.
pub(crate) struct Route<'a> {
    pub(crate) url: &'a Url,
    pub(crate) proxy: Option<&'a Proxy>,
    /// Credentials for the proxy's `CONNECT`, if any.
    pub(crate) proxy_credentials: Option<&'a Credentials>,
    /// The TLS configuration, its ALPN offer made for `wire`.
    pub(crate) tls: &'a Arc<ClientConfig>,
    pub(crate) wire: Wire,
    pub(crate) connect_timeout: Option<Duration>,
}

/// Sends requests over one connection.
pub(crate) enum Sender {
    Http1(http1::SendRequest<UploadBody>),
    Http2(http2::SendRequest<UploadBody>),
}

/// A connection ready for requests.
pub(crate) struct Established {
    pub(crate) sender: Sender,
    /// The server's certificate chain (DER), if the connection is encrypted.
    pub(crate) encrypted: Encrypted,
    /// Requests go to an HTTP proxy in absolute form (plain http through a proxy).
    pub(crate) forward_proxy: bool,
    /// The pool's number for a shared (HTTP/2) connection.
    pub(crate) shared_id: Option<u64>,
    /// An HTTP/1.1 exchange's permit from the pool, held while the exchange runs.
    pub(crate) permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// A connection's TLS: the server's certificate chain (DER, its own first), or `None` for a
/// plain connection.
pub(crate) type Encrypted = Option<Arc<Vec<Vec<u8>>>>;

/// Why a connection could not be opened.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The name did not resolve (of the proxy, when one is in use).
    HostNotFound(String),
    /// Every address refused the connection (or was unreachable).
    Refused(io::Error),
    /// The connect timeout passed.
    Timeout,
    /// The TLS handshake failed.
    Tls(io::Error),
    /// The proxy answered `CONNECT` with 407.
    ProxyAuthenticationRequired {
        realm: String,
    },
    /// The proxy refused `CONNECT` otherwise.
    ProxyRefused(StatusCode),
    /// HTTP/2 by prior knowledge, and the server picked another protocol by ALPN.
    NotHttp2,
    /// Anything else on the way (the proxy closed, the HTTP handshake failed).
    Io(io::Error),
    Hyper(hyper::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::HostNotFound(host) => write!(f, "Host {host} not found"),
            ConnectError::Refused(e) => write!(f, "Connection refused ({e})"),
            ConnectError::Timeout => write!(f, "Connection timed out"),
            ConnectError::Tls(e) => write!(f, "SSL handshake failed: {e}"),
            ConnectError::ProxyAuthenticationRequired { .. } => write!(f, "Proxy requires authentication"),
            ConnectError::ProxyRefused(status) => write!(f, "Proxy CONNECT failed: {status}"),
            ConnectError::NotHttp2 => {
                write!(f, "The server does not speak HTTP/2 (Http2DirectAttribute is set)")
            }
            ConnectError::Io(e) => write!(f, "{e}"),
            ConnectError::Hyper(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Opens a connection for requests to `route.url`, within the connect timeout.
pub(crate) async fn connect(route: Route<'_>) -> Result<Established, ConnectError> {
    match route.connect_timeout {
        Some(limit) => tokio::time::timeout(limit, open(&route)).await.map_err(|_| ConnectError::Timeout)?,
        None => open(&route).await,
    }
}

async fn open(route: &Route<'_>) -> Result<Established, ConnectError> {
    let url = route.url;
    let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let https = url.scheme() == "https";
    // Plain http: HTTP/1.1, or HTTP/2 by prior knowledge (h2c).
    let h2c = route.wire == Wire::Http2Direct;
    let Some(proxy) = route.proxy else {
        let tcp = tcp(&host, port).await?;
        return if https { tls(tcp, &host, route).await } else { handshake(tcp, h2c, None, false).await };
    };
    let tcp = tcp(&proxy.host(), proxy.port()).await?;
    if proxy.is_socks5() {
        // SOCKS5: the proxy connects to the origin; requests go in origin form, as direct.
        let stream = socks5(tcp, &host, port, route.proxy_credentials).await?;
        return if https {
            tls(stream, &host, route).await
        } else {
            handshake(stream, h2c, None, false).await
        };
    }
    if !https && !h2c {
        // Plain http through an HTTP proxy: requests go to it in absolute form.
        return handshake(tcp, false, None, true).await;
    }
    // https, or h2c (which a forwarding proxy cannot carry): through a tunnel.
    let tunnel = tunnel(tcp, &host, port, route.proxy_credentials).await?;
    if https { tls(tunnel, &host, route).await } else { handshake(tunnel, true, None, false).await }
}

/// The SOCKS5 handshake on `tcp` (RFC 1928, tokio-socks), for `host:port` resolved by the
/// proxy, with username and password (RFC 1929) when there are credentials. A proxy that
/// wants credentials it was not given, or refuses them, is answered like a 407.
async fn socks5(
    tcp: TcpStream,
    host: &str,
    port: u16,
    credentials: Option<&Credentials>,
) -> Result<tokio_socks::tcp::Socks5Stream<TcpStream>, ConnectError> {
    use tokio_socks::Error as Socks;
    use tokio_socks::tcp::Socks5Stream;
    let target = (host, port);
    let connected = match credentials {
        Some(Credentials { user, password }) => {
            Socks5Stream::connect_with_password_and_socket(tcp, target, user, password).await
        }
        None => Socks5Stream::connect_with_socket(tcp, target).await,
    };
    connected.map_err(|e| match e {
        Socks::NoAcceptableAuthMethods | Socks::PasswordAuthFailure(_) => {
            ConnectError::ProxyAuthenticationRequired { realm: String::new() }
        }
        Socks::Io(e) => ConnectError::Io(e),
        Socks::HostUnreachable | Socks::NetworkUnreachable => ConnectError::HostNotFound(host.to_owned()),
        Socks::ConnectionRefused => {
            ConnectError::Io(io::Error::new(io::ErrorKind::ConnectionRefused, "refused (SOCKS5)"))
        }
        other => ConnectError::Io(io::Error::other(format!("SOCKS5: {other}"))),
    })
}

/// TCP to `host:port`: every resolved address in turn until one connects.
async fn tcp(host: &str, port: u16) -> Result<TcpStream, ConnectError> {
    let addrs: Vec<_> = match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            log::debug!("resolving {host}: {e}");
            return Err(ConnectError::HostNotFound(host.to_owned()));
        }
    };
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => ConnectError::Refused(e),
        Some(e) => ConnectError::Io(e),
        None => ConnectError::HostNotFound(host.to_owned()),
    })
}

/// Asks the proxy for a tunnel to `host:port` (`CONNECT`, through hyper) and returns it.
async fn tunnel(
    tcp: TcpStream,
    host: &str,
    port: u16,
    credentials: Option<&Credentials>,
) -> Result<TokioIo<hyper::upgrade::Upgraded>, ConnectError> {
    let (mut sender, connection) =
        http1::handshake::<_, UploadBody>(TokioIo::new(tcp)).await.map_err(ConnectError::Hyper)?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            log::debug!("proxy connection: {e}");
        }
    });
    let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let mut request = Request::connect(authority.as_str()).header(hyper::header::HOST, authority.as_str());
    if let Some(Credentials { user, password }) = credentials {
        request = request.header(hyper::header::PROXY_AUTHORIZATION, basic_header(user, password));
    }
    let request = request.body(UploadBody::empty()).map_err(|e| ConnectError::Io(io::Error::other(e)))?;
    let response = sender.send_request(request).await.map_err(ConnectError::Hyper)?;
    match response.status() {
        StatusCode::OK => {
            let upgraded = hyper::upgrade::on(response).await.map_err(ConnectError::Hyper)?;
            Ok(TokioIo::new(upgraded))
        }
        StatusCode::PROXY_AUTHENTICATION_REQUIRED => {
            let values = response.headers().get_all(hyper::header::PROXY_AUTHENTICATE);
            let challenges = parse_challenges(values.iter().filter_map(|v| v.to_str().ok()));
            let realm = choose(&challenges).map(|c| c.realm().to_owned()).unwrap_or_default();
            Err(ConnectError::ProxyAuthenticationRequired { realm })
        }
        status => Err(ConnectError::ProxyRefused(status)),
    }
}

/// TLS over `io` for `host`, then the protocol the server picked by ALPN.
async fn tls<T>(io: T, host: &str, route: &Route<'_>) -> Result<Established, ConnectError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| ConnectError::Tls(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let stream = tokio_rustls::TlsConnector::from(route.tls.clone())
        .connect(name, io)
        .await
        .map_err(ConnectError::Tls)?;
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    if route.wire == Wire::Http2Direct && !h2 {
        return Err(ConnectError::NotHttp2);
    }
    let chain: Vec<Vec<u8>> = stream
        .get_ref()
        .1
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| c.as_ref().to_vec())
        .collect();
    handshake(stream, h2, Some(Arc::new(chain)), false).await
}

/// The HTTP handshake over an open connection; its driver runs as a task of its own.
async fn handshake<T>(
    io: T,
    h2: bool,
    encrypted: Encrypted,
    forward_proxy: bool,
) -> Result<Established, ConnectError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let sender = if h2 {
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .max_header_list_size(MAX_RESPONSE_HEAD as u32)
            .handshake(io)
            .await
            .map_err(ConnectError::Hyper)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log::debug!("HTTP/2 connection: {e}");
            }
        });
        Sender::Http2(sender)
    } else {
        let (sender, connection) = http1::Builder::new()
            // RFC 9112 §5.2: a client must unfold obsolete line folding.
            .allow_obsolete_multiline_headers_in_responses(true)
            // hyper's default field limit is Qt's, 100 (`MAX_RESPONSE_FIELDS`); setting it
            // explicitly would make hyper allocate its parse buffers on every response.
            .max_header_size(MAX_RESPONSE_HEAD)
            .handshake(io)
            .await
            .map_err(ConnectError::Hyper)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log::debug!("HTTP/1.1 connection: {e}");
            }
        });
        Sender::Http1(sender)
    };
    Ok(Established { sender, encrypted, forward_proxy, shared_id: None, permit: None })
}
