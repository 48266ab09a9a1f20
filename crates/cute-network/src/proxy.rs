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
    /// The same proxy as ureq takes it, built once.
    wire: ureq::Proxy,
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
        let wire = ureq::Proxy::new(parsed.as_str()).map_err(|_| bad())?;
        Ok(Proxy { url: parsed, wire })
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

    /// The proxy as ureq takes it: as given, or presenting `credentials` (which travel to
    /// the proxy only, never to the origin).
    pub(crate) fn for_request(&self, credentials: Option<&Credentials>) -> Result<ureq::Proxy, ureq::Error> {
        let Some(credentials) = credentials else { return Ok(self.wire.clone()) };
        let mut with_credentials = self.url.clone();
        let _ = with_credentials.set_username(&credentials.user);
        let _ = with_credentials.set_password(Some(&credentials.password));
        ureq::Proxy::new(with_credentials.as_str())
    }
}
