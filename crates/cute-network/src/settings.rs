//! The manager's settings (private): one immutable snapshot, shared by every request made
//! under it (an immutable client configuration behind Qt's setters).
//!
//! A setter makes the next snapshot (copy on write: `Arc::make_mut` copies only while a
//! request still holds the current one), so a request keeps the settings it was made
//! with, and making a request costs one reference count.

use std::sync::Arc;
use std::time::Duration;

use crate::proxy::Proxy;
use crate::request::RedirectPolicy;
use crate::tls::Tls;

/// Qt's default: 6 connections per host and port.
pub const DEFAULT_CONNECTIONS_PER_HOST: usize = 6;
/// Default cap on a manager's network runtime threads (its I/O threads and those for
/// blocking work such as name resolution).
pub const DEFAULT_MAX_WORKERS: usize = 32;
/// Default connect timeout (Qt has none).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default transfer (inactivity) timeout (Qt's default is none, so replies can hang
/// forever on a half-open connection).
pub const DEFAULT_TRANSFER_TIMEOUT: Duration = Duration::from_secs(60);

/// `None` for a zero duration: the public setters spell "off" as `Duration::ZERO`.
pub(crate) fn unless_zero(duration: Duration) -> Option<Duration> {
    (!duration.is_zero()).then_some(duration)
}

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The transfer (inactivity) timeout for requests that set none; `None` is off.
    pub(crate) transfer_timeout: Option<Duration>,
    /// `None` is off.
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) redirect_policy: RedirectPolicy,
    pub(crate) per_host: usize,
    pub(crate) max_workers: usize,
    pub(crate) proxy: Option<Proxy>,
    /// Made once per `set_ca_certificates` and shared by the requests; connections are
    /// pooled per TLS settings, so other setting changes keep them.
    pub(crate) tls: Arc<Tls>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            transfer_timeout: Some(DEFAULT_TRANSFER_TIMEOUT),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            redirect_policy: RedirectPolicy::default(),
            per_host: DEFAULT_CONNECTIONS_PER_HOST,
            max_workers: DEFAULT_MAX_WORKERS,
            proxy: None,
            tls: Arc::default(),
        }
    }
}
