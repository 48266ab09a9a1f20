//! The manager's settings (private): one immutable snapshot, shared by every request made
//! under it (ureq's config idea behind Qt's setters).
//!
//! A setter makes the next snapshot (copy on write: `Arc::make_mut` copies only while a
//! request still holds the current one), so a request keeps the settings it was made
//! with, and making a request costs one reference count.

use std::time::Duration;

use ureq::tls::TlsConfig;

use crate::proxy::Proxy;
use crate::request::RedirectPolicy;

/// Qt's default: 6 connections per host and port.
pub const DEFAULT_CONNECTIONS_PER_HOST: usize = 6;
/// Default cap on worker threads across all hosts.
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
    /// Built once per `set_ca_certificates` and shared by the requests: ureq pools a
    /// request's connection only if its TLS settings are the agent's own, comparing
    /// specific root certificates by identity, so rebuilding them per request (or per
    /// settings change) would stop https connections from being reused.
    pub(crate) tls: TlsConfig,
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
            tls: TlsConfig::default(),
        }
    }
}
