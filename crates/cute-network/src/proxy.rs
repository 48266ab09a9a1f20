//! HTTP proxies ([`Proxy`], Qt's `QNetworkProxy`).

use std::fmt;

use url::Url;

use crate::error::Error;
use crate::protocol::Credentials;
use crate::request::{has_forbidden_bytes, redact};

/// A proxy for [`NetworkAccessManager::set_proxy`](crate::NetworkAccessManager::set_proxy)
/// (Qt's `QNetworkProxy`): an HTTP proxy ([`http`](Self::http)) or a SOCKS5 proxy
/// ([`socks5`](Self::socks5)).
#[doc(alias = "QNetworkProxy")]
#[derive(Clone)]
pub struct Proxy {
    url: Url,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy").field("url", &redact(&self.url)).finish()
    }
}

impl PartialEq for Proxy {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
    }
}

impl Eq for Proxy {}

impl Proxy {
    /// An HTTP proxy from `http://[user:password@]host:port`.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedProxy`] for anything else (other schemes, no host, a path).
    ///
    /// # Examples
    ///
    /// ```
    /// let proxy = cute_network::Proxy::http("http://proxy.example:3128").unwrap();
    /// assert_eq!(proxy.host(), "proxy.example");
    /// assert_eq!(proxy.port(), 3128);
    /// assert!(cute_network::Proxy::http("socks5://proxy.example:1080").is_err());
    /// ```
    pub fn http(url: &str) -> Result<Proxy, Error> {
        let bad = || Error::UnsupportedProxy(url.to_owned());
        if has_forbidden_bytes(url.as_bytes()) {
            return Err(bad());
        }
        let parsed = Url::parse(url).map_err(|_| bad())?;
        if parsed.scheme() != "http" || parsed.host_str().is_none_or(str::is_empty) || parsed.path().len() > 1
        {
            return Err(bad());
        }
        Ok(Proxy { url: parsed })
    }

    /// A SOCKS5 proxy from `socks5://[user:password@]host[:port]` (port 1080 if not given;
    /// Qt's `QNetworkProxy::Socks5Proxy`). Host names are resolved by the proxy
    /// (`socks5h://` is accepted and means the same). Credentials in the URL are offered to
    /// the proxy; without them a proxy that wants some makes the manager emit
    /// `proxy_authentication_required`, as for an HTTP proxy's 407.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedProxy`] for anything else.
    ///
    /// # Examples
    ///
    /// ```
    /// let proxy = cute_network::Proxy::socks5("socks5://127.0.0.1").unwrap();
    /// assert_eq!(proxy.port(), 1080);
    /// assert!(cute_network::Proxy::socks5("http://127.0.0.1:1080").is_err());
    /// ```
    #[doc(alias = "Socks5Proxy")]
    pub fn socks5(url: &str) -> Result<Proxy, Error> {
        let bad = || Error::UnsupportedProxy(url.to_owned());
        if has_forbidden_bytes(url.as_bytes()) {
            return Err(bad());
        }
        let parsed = Url::parse(url).map_err(|_| bad())?;
        if !matches!(parsed.scheme(), "socks5" | "socks5h")
            || parsed.host_str().is_none_or(str::is_empty)
            || parsed.path().len() > 1
        {
            return Err(bad());
        }
        Ok(Proxy { url: parsed })
    }

    /// Whether it is a SOCKS5 proxy.
    pub fn is_socks5(&self) -> bool {
        self.url.scheme() != "http"
    }

    /// The proxy's host.
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or("").to_owned()
    }

    /// The proxy's port (80 for an HTTP proxy and 1080 for SOCKS5 if not given).
    pub fn port(&self) -> u16 {
        match self.url.port_or_known_default() {
            Some(port) => port,
            None if self.is_socks5() => 1080,
            None => 80,
        }
    }

    /// The user name given in the proxy URL.
    pub fn user(&self) -> String {
        self.url.username().to_owned()
    }

    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The credentials given in the proxy URL, if any (percent-decoded).
    pub(crate) fn credentials(&self) -> Option<Credentials> {
        crate::auth::state::url_credentials(&self.url)
    }
}
