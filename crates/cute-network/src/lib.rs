//! Network access for [cute](https://github.com/cute-rs/cute): a `QNetworkAccessManager`
//! for Rust, so a Qt or PyQt networking program ports line for line.
//!
//! ```
//! use std::time::Duration;
//! use cute_core::{CoreApplication, Timer};
//! use cute_network::{NetworkAccessManager, NetworkError, NetworkReply, NetworkRequest};
//! # let server = cute_httpbin::Httpbin::start().unwrap();
//! # let url = server.url("/get");
//!
//! let app = CoreApplication::new();
//! let nam = NetworkAccessManager::new();
//! nam.finished().connect(|reply: &NetworkReply| {
//!     if reply.error() == NetworkError::NoError {
//!         let json: serde_json::Value = reply.read_json().unwrap();
//!         println!("the server saw {}", json["url"]);
//!     } else {
//!         println!("Error occurred: {}", reply.error());
//!         println!("{}", reply.error_string());
//!     }
//!     CoreApplication::quit();
//! });
//! nam.get(&NetworkRequest::new(url)); // e.g. "https://httpbin.org/get"
//! Timer::single_shot(Duration::from_secs(10), || CoreApplication::exit(1)); // watchdog
//! assert_eq!(app.exec(), 0);
//! ```
//!
//! # Threading model
//!
//! The [`NetworkAccessManager`] lives on the thread that created it (usually the
//! application's) and works while that thread runs its event loop. Requests run as tasks
//! on the manager's network runtime (tokio, two I/O threads) with
//! [hyper](https://docs.rs/hyper) over connections the manager keeps per origin (rustls for
//! https); each task reports status, headers, body chunks, progress and completion back to
//! the manager's loop through a typed emitter, and every signal is emitted there. A request
//! that meets a 401 (Basic or Digest) asks the loop, which emits [`authentication_required`](NetworkAccessManager::authentication_required)
//! and hands the slot's answer back. Body chunks cross through a hand-off bounded in bytes
//! (1 MiB), so a slow consumer slows the transfer instead of buffering without bound; with
//! [`NetworkReply::set_read_buffer_size`] the reply's own buffer is bounded too.
//!
//! Requests to one host run at most 6 at a time (Qt's default) and the rest queue as
//! descriptors: 10,000 queued requests cost memory for their descriptors only, neither
//! threads nor tasks. An abort cancels its request's task wherever it waits (name
//! resolution, connect, TLS handshake, transfer).
//!
//! # Errors
//!
//! As in Qt, a failed request is not a `Result`: the reply finishes with a
//! [`NetworkError`] (Qt's values and numbers) and an [`error_string`](NetworkReply::error_string).
//! Every reply finishes exactly once, whatever happens: success, HTTP error, transport
//! failure, abort, timeout, the application quitting, or the manager being dropped (the
//! last two with [`OperationCanceledError`](NetworkError::OperationCanceledError)). Misuse of the set-up API returns
//! [`Error`].
//!
//! # Features
//!
//! - `get`, `post`, `put`, `delete_resource`, `head`, `send_custom_request`;
//! - http and https (rustls; [`set_ca_certificates`](NetworkAccessManager::set_ca_certificates)),
//!   `file:` and `data:` URLs;
//! - redirects with Qt 6's policies (50 hops; https→http refused); credentials and
//!   cookies never cross origins;
//! - HTTP Basic and Digest (MD5, SHA-256 and their `-sess` forms) authentication through
//!   `authentication_required`, with URL credentials and a per-manager cache; proxy
//!   authentication through `proxy_authentication_required`;
//! - zstd, brotli, gzip and deflate decoding with a decompression-bomb guard;
//! - connect and transfer (inactivity) timeouts on by default;
//! - streaming with back-pressure; HTTP error bodies stay readable;
//! - CR, LF or NUL in URLs, headers or verbs are refused before anything is sent;
//! - an HTTP cache as Qt's ([`NetworkAccessManager::set_cache`], [`NetworkDiskCache`],
//!   [`CacheLoadControl`]);
//! - async/await: `reply.await` or [`NetworkReply::finished_future`], on cute's loop
//!   ([`cute_core::spawn_local`], [`cute_core::block_on`]);
//! - sockets on the loop, beside the manager: [`TcpServer`], [`TcpSocket`], [`UdpSocket`],
//!   [`SslSocket`] (Qt's `QTcpServer`, `QTcpSocket`, `QUdpSocket`, `QSslSocket`).

mod auth;
mod authenticator;
mod body;
mod cache_meta;
mod control;
mod cookie;
mod disk_cache;
mod error;
mod exchange;
mod hsts;
mod http_cache;
mod id_hash;
mod known_header;
mod manager;
mod multipart;

mod protocol;
mod proxy;
mod proxy_factory;
mod reply;
mod request;
mod scheduler;
mod settings;
mod socket;
mod ssl;
mod sync;
mod tls;
mod url_query;
mod worker;

pub use authenticator::Authenticator;
pub use body::RequestBody;
pub use cache_meta::NetworkCacheMetaData;
pub use cookie::{NetworkCookie, NetworkCookieJar, RawForm, SameSite};
pub use disk_cache::{CacheWriter, DEFAULT_MAXIMUM_CACHE_SIZE, NetworkDiskCache};
pub use error::{Error, NetworkError};
pub use hsts::HstsPolicy;
pub use known_header::KnownHeaderValue;
pub use manager::NetworkAccessManager;
pub use multipart::{HttpMultiPart, HttpPart, MultiPartType};
pub use proxy::Proxy;
pub use proxy_factory::{ProxyFactory, SystemProxyFactory};
pub use reply::NetworkReply;
pub use reply::future::ReplyFinished;
pub use request::{
    Attribute, AttributeValue, CacheLoadControl, DEFAULT_DECOMPRESSION_THRESHOLD, DEFAULT_MAXIMUM_REDIRECTS,
    KnownHeaders, LoadControl, NetworkRequest, Operation, Priority, RedirectPolicy, RequestUrl,
};
pub use settings::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_CONNECTIONS_PER_HOST, DEFAULT_MAX_WORKERS, DEFAULT_TRANSFER_TIMEOUT,
};
pub use socket::{
    DEFAULT_WRITE_BUFFER_LIMIT, NetworkDatagram, SocketError, SocketState, SslMode, SslSocket, TcpServer,
    TcpSocket, UdpSocket,
};
pub use ssl::{SslError, SslErrorKind};
pub use tls::{SslConfiguration, SslProtocol};
pub use url;
pub use url::Url;
pub use url_query::{UrlExt, UrlQuery};
