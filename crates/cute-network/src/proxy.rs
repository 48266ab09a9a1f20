//! HTTP proxies ([`Proxy`], Qt's `QNetworkProxy`).

use std::fmt;

use url::Url;

use crate::error::Error;
use crate::protocol::Credentials;
use crate::request::{has_forbidden_bytes, redact};

/// A proxy for [`NetworkAccessManager::set_proxy`](crate::NetworkAccessManager::set_proxy)
/// (Qt's `QNetworkProxy`, HTTP proxies).
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

    /// The proxy's host.
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or("").to_owned()
    }

    /// The proxy's port (80 if not given).
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(80)
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
